"""Reading the three input kinds, on the sample pair and on small crafted texts."""
import pytest

from align.reading import InputError, parse_lines, parse_text, read_document, remove_zaker_spaces
from conftest import EN_SAMPLE, ZH_SAMPLE


@pytest.fixture(scope="module")
def zaker():
    return read_document(ZH_SAMPLE)


def test_zaker_front_matter_is_metadata(zaker):
    assert zaker.format == "zaker"
    assert zaker.metadata["title"] == "关键核心技术是要不来、买不来、讨不来的"
    assert zaker.metadata["date"] == "Thu, 08 Jul 2021 21:09:06 GMT"
    assert zaker.metadata["author"] == "ZAKER"
    assert not any("title:" in p.text for p in zaker.paragraphs)


def test_zaker_headings_and_captions(zaker):
    headings = [p.text for p in zaker.paragraphs if p.role == "heading"]
    assert headings == ["科技创新要服务于社会发展和广大人民", "给农业现代化插上科技的翅膀", "科技创新力的根本源泉在于人"]
    captions = [p.text for p in zaker.paragraphs if p.role == "caption"]
    assert "2020年12月23日，科兴中维工作人员在新冠病毒灭活疫苗质检实验室内进行检验工作。新华社记者 张玉薇 摄" in captions
    assert len(captions) == 12  # one after each of the 12 image boxes


def test_zaker_body_in_order_without_html(zaker):
    texts = [p.text for p in zaker.paragraphs]
    assert texts[1].startswith("2021年5月15日，我国首次火星探测任务着陆火星取得成功")
    assert texts[-1] == '"青年一代有理想、有本领、有担当，科技就有前途，创新就有希望。"习近平总书记这样寄语。'
    joined = "\n".join(texts)
    for leftover in ("<", ">", "img_box", "http", "&quot;", "&amp;"):
        assert leftover not in joined


def test_zaker_spaces_removed_only_next_to_digits_latin_quotes(zaker):
    joined = "\n".join(p.text for p in zaker.paragraphs)
    assert "2021年5月15日" in joined and "2021 年" not in joined
    assert "P3实验室" in joined
    assert '拍摄的"着巡合影"图' in joined
    assert "新华社记者 张玉薇 摄" in joined  # spaces between Chinese characters stay
    assert remove_zaker_spaces("截至 2019 年 ， 有 " + '" 独角兽 "' + " 企业") == '截至2019年 ， 有"独角兽"企业'


def test_zaker_entities_decoded_and_scripts_dropped():
    text = "---\ntitle: t\n---\n<div><p>A&amp;B 公司 &lt;3</p><script>var x=1;</script><!-- c --><p><strong>标题</strong></p></div>"
    document = read_document(text)
    assert [(p.text, p.role) for p in document.paragraphs] == [("A&B公司 <3", "body"), ("标题", "heading")]


def test_text_paragraphs_by_indentation():
    document = read_document(EN_SAMPLE)
    assert document.format == "text"
    mars = next(p for p in document.paragraphs if p.text.startswith("On May 15, 2021"))
    # The unindented line after it continues the same paragraph.
    assert "This major achievement" in mars.text
    roles = {p.text: p.role for p in document.paragraphs}
    assert roles["Photo by Xinhua News Agency reporter Zhang Yuwei"] == "credit"  # a photo credit line
    assert roles["Technological innovation should serve the development of society and the people"] == "heading"


def test_text_paragraphs_by_blank_lines():
    document = parse_text("First line\nsame paragraph.\n\nSecond paragraph.\n")
    assert [p.text for p in document.paragraphs] == ["First line\nsame paragraph.", "Second paragraph."]


def test_lines_kept_as_is():
    document = parse_lines("一句。\n  two  spaces \n三句。\n")
    assert [p.text for p in document.paragraphs] == ["一句。", "  two  spaces ", "三句。"]


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_document(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_document(empty)


# --- front matter ---------------------------------------------------------------------

def test_front_matter_errors_name_the_file(tmp_path):
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: [unclosed\n---\n<p>正文。</p>\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.md: front matter is not valid YAML"):
        read_document(path)


def test_tabs_in_front_matter_are_read_as_spaces():
    document = read_document("---\ntitle:\t标题\ncategories:\n\t- 新闻\n---\n<p>正文第一句。</p>\n")
    assert document.metadata == {"title": "标题", "categories": ["新闻"]}
    assert [p.text for p in document.paragraphs] == ["正文第一句。"]


def test_unclosed_front_matter_is_metadata_not_a_sentence():
    document = read_document("---\ntitle: 标题\nauthor: ZAKER\n<p>正文第一句。</p><p>第二段。</p>\n")
    assert document.metadata == {"title": "标题", "author": "ZAKER"}
    assert [p.text for p in document.paragraphs] == ["正文第一句。", "第二段。"]


# --- roles -----------------------------------------------------------------------------

def test_a_photo_credit_inside_a_caption_is_a_credit_sentence(zaker):
    from align.segmenting import split_document

    sentences = split_document(zaker, "zh")
    roles = {s.text: s.role for s in sentences}
    assert roles["2020年12月23日，科兴中维工作人员在新冠病毒灭活疫苗质检实验室内进行检验工作。"] == "caption"
    assert roles["新华社记者 张玉薇 摄"] == "credit"
    assert roles["新华社发（国家航天局供图）"] == "credit"
    assert {s.role for s in sentences} == {"body", "heading", "caption", "credit"}


def test_a_byline_fused_to_a_paragraph_is_a_sentence_of_its_own():
    from align.segmenting import split_document

    document = read_document('Xinhua News Agency reporter Dong Ruifeng "Make new contributions!" he wrote.\n\n'
                             "BEIJING, July 8 (Xinhua) -- China launched a satellite. It works.\n")
    sentences = [(s.text, s.role, s.paragraph) for s in split_document(document, "en")]
    assert sentences == [("Xinhua News Agency reporter Dong Ruifeng", "credit", 0),
                         ('"Make new contributions!" he wrote.', "body", 0),
                         ("BEIJING, July 8 (Xinhua) --", "credit", 1),
                         ("China launched a satellite.", "body", 1), ("It works.", "body", 1)]
    # A reporter who is the subject of the sentence is no byline; a question to a reporter no credit.
    for text in ("Xinhua News Agency reporter Dong Ruifeng visited the laboratory.", "Reporter: What do you think?"):
        assert [s.role for s in split_document(read_document(text + "\n"), "en")] == ["body"]


def test_lines_format_gives_roles_without_splitting():
    from align.segmenting import split_document

    document = read_document("新华社记者 张玉薇 摄\n这是一句话。\n", "lines")
    assert [(s.text, s.role) for s in split_document(document, "zh")] == [("新华社记者 张玉薇 摄", "credit"),
                                                                          ("这是一句话。", "body")]


def test_zero_width_joiner_is_kept_inside_an_emoji_only():
    from align.reading import normalise_text

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalise_text(f"家庭{family}。") == f"家庭{family}。"
    assert normalise_text("zero\u200dwidth\u200b join\u200d") == "zerowidth join"


def test_a_device_or_fifo_is_refused_and_a_file_over_the_limit_too(tmp_path):
    """/dev/zero was read until MemoryError; a FIFO blocked. Neither is opened now."""
    import os

    from align.reading import check_input_file

    for endless in ("/dev/null", "/dev/zero"):
        with pytest.raises(InputError, match=f"^{endless}: not a regular file"):
            read_document(endless)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_document(fifo)
    big = tmp_path / "big.txt"
    big.write_text("A sentence.\n" * 100_000, encoding="utf-8")  # 1.2 MB
    with pytest.raises(InputError, match=r"big.txt: 1.2 MB, more than the 1 MB an input may hold \(--max-input-mb\)"):
        read_document(big, max_bytes=1_000_000)
    assert len(read_document(big, "lines", max_bytes=None).paragraphs) == 100_000
    assert check_input_file(big) == 1_200_000
