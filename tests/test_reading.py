"""Reading the three input kinds, on the sample pair and on small crafted texts."""
import pytest

from align.pipeline import read_pair
from align.reading import InputError, decode_file, parse_lines, parse_text, read_document, remove_zaker_spaces
from align.segmenting import split_document
from align.writing import read_tsv
from conftest import EN_LINES, EN_SAMPLE, EN_TEXT, ZH_LINES, ZH_SAMPLE, ZH_TEXT, assert_one_line_error, run_cli


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


# --- encodings ---------------------------------------------------------------

SAMPLE_ZH_TEXT = "\n\n".join(p.text for p in read_document(ZH_SAMPLE).paragraphs)


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le", "utf-16-be",
                                   "utf-32"])
def test_encodings_detected(tmp_path, codec):
    text = SAMPLE_ZH_TEXT
    if codec == "gbk":
        text = text.encode("gbk", errors="ignore").decode("gbk")
    path = tmp_path / f"zh-{codec}.txt"
    path.write_bytes(text.encode(codec))
    assert decode_file(path).lstrip("\ufeff") == text
    document = read_document(path)
    assert "\n\n".join(p.text for p in document.paragraphs) == text


@pytest.mark.parametrize("text", ["中文测试。", "你好", "科技创新是第一动力。", "關鍵核心技術\n",
                                  "關鍵核心技術是要不來、買不來、討不來的。科技創新是第一動力。\n"])
def test_short_gb18030_is_not_taken_for_korean_or_big5(tmp_path, text):
    # Short GB18030 texts are equally valid CP949, Big5 or UTF-16 to the detector; Chinese wins the tie.
    path = tmp_path / "short.txt"
    path.write_bytes(text.encode("gb18030"))
    assert decode_file(path) == text


def test_big5_detected(tmp_path):
    text = "關鍵核心技術是要不來、買不來、討不來的。科技創新是第一動力。"
    path = tmp_path / "big5.txt"
    path.write_bytes(text.encode("big5"))
    assert decode_file(path) == text


def test_encoding_override(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_bytes(ZH_TEXT.encode("gb18030"))
    assert decode_file(path, "gb18030") == ZH_TEXT
    with pytest.raises(InputError, match=r"zh\.txt: cannot decode as utf-8"):
        decode_file(path, "utf-8")
    with pytest.raises(InputError, match=r"zh\.txt: unknown encoding 'no-such-codec'"):
        decode_file(path, "no-such-codec")


@pytest.mark.slow
def test_cli_gb18030_and_utf16_sides_align(tmp_path, small_pair):
    """Both sides in other encodings, detected, aligned, and written as UTF-8."""
    zh, en = small_pair
    zh.write_bytes(ZH_TEXT.encode("gb18030"))
    en.write_bytes(EN_TEXT.replace("\n", "\r\n").encode("utf-16"))
    out = tmp_path / "out.tsv"
    done = run_cli(zh, en, "-o", out)
    assert done.returncode == 0, done.stderr
    frame = read_tsv(out)
    assert "".join(frame["zh"]) == "".join(ZH_LINES)
    assert " ".join(t for t in frame["en"] if t) == " ".join(EN_LINES)
    assert (frame["type"] == "1-1").all()


def test_binary_decoded_with_forced_single_byte_encoding_is_still_refused(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(InputError, match="blob.bin: binary file"):
        decode_file(path, "latin-1")


def test_truncated_utf16_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes("中文".encode("utf-16") + b"\x41")  # odd number of bytes after the BOM
    with pytest.raises(InputError, match="broken.txt: has a utf-16 byte-order mark"):
        decode_file(path)


LATIN_EN = "The Ångström is named after Anders Ångström. Café society met in the façade's shade.\n"


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_western_single_byte_english_is_decoded_as_western(tmp_path, codec):
    path = tmp_path / f"en-{codec}.txt"
    path.write_bytes(LATIN_EN.encode(codec))
    assert decode_file(path) == LATIN_EN  # not CP1250's 'Ĺngström'


@pytest.mark.slow  # the model in a subprocess
def test_each_side_has_its_own_encoding(tmp_path, small_pair):
    zh, en = small_pair
    zh.write_bytes(ZH_TEXT.encode("gb18030"))
    en.write_bytes((EN_TEXT + LATIN_EN).encode("cp1252"))
    out = tmp_path / "out.tsv"
    done = run_cli(zh, en, "-o", out, "--zh-encoding", "gb18030", "--en-encoding", "cp1252")
    assert done.returncode == 0, done.stderr
    frame = read_tsv(out)
    assert "".join(frame["zh"]) == "".join(ZH_LINES) and "Ångström" in " ".join(frame["en"])
    assert "encoding:gb18030+cp1252" in frame["signature"][0]
    # --encoding for both sides cannot serve here: the English side is no GB18030.
    line = assert_one_line_error(run_cli(zh, en, "--encoding", "gb18030", "-o", out), str(en))
    assert "gb18030" in line
    documents = read_pair(zh, en, encoding=("gb18030", "cp1252"))  # the same in the API
    assert "Ångström" in documents[1].paragraphs[-1].text


# --- line endings, invisible characters, HTML ----------------------------------

@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_read_like_lf(tmp_path, newline):
    for source, fmt in ((EN_SAMPLE, "auto"), (ZH_SAMPLE, "auto"), (EN_SAMPLE, "lines")):
        text = source.read_text(encoding="utf-8")
        path = tmp_path / f"converted-{source.name}"
        path.write_bytes(text.replace("\n", newline).encode("utf-8"))
        expected = read_document(source, fmt)
        got = read_document(path, fmt)
        assert got.format == expected.format
        assert [(p.text, p.role) for p in got.paragraphs] == [(p.text, p.role) for p in expected.paragraphs]
        assert not any("\r" in p.text for p in got.paragraphs)


def test_zero_width_and_no_break_spaces_normalised():
    text = "科技\u200b创新\ufeff是第一\u200d动力。\u00a0 2021\u00a0年\u2060就是\u00ad这样。\n\nThe\u00a0key\u200b core\u202ftechnology.\n"
    document = read_document(text)
    joined = "\n".join(p.text for p in document.paragraphs)
    for invisible in "\u200b\ufeff\u200d\u2060\u00ad\u00a0\u202f":
        assert invisible not in joined
    assert joined == "科技创新是第一动力。  2021 年就是这样。\nThe key core technology."
    sentences = split_document(document, "zh")
    assert [s.text for s in sentences][:2] == ["科技创新是第一动力。", "2021 年就是这样。"]


def test_zero_width_and_nbsp_entities_in_zaker_html():
    text = "---\ntitle: t\n---\n<p>截至&nbsp;2019&nbsp;年，有&#8203;独角兽&#xFEFF;企业。</p>\n"
    assert [p.text for p in read_document(text).paragraphs] == ["截至2019年，有独角兽企业。"]


def test_lines_format_keeps_line_numbers_with_unicode_separators():
    document = read_document("一句\u2028还是一句。\n二句。\r\n三句\u200b。\n", "lines")
    assert [p.text for p in document.paragraphs] == ["一句 还是一句。", "二句。", "三句。"]


BROKEN_HTML = (
    "---\ntitle: t\n---\n"
    "<div><p>第一段<b>粗体没有关闭<p>第二段</div></span></p>"
    "<script>document.write('<p>脚本里的段落</p>');</script>"
    "<style>p { color: red } /* <p>样式</p> */</style>"
    "<!-- 注释里的<p>段落</p> -->"
    "<p>a<<>>b & c</p></p></p><p <p>第三段。</p>"
)


def test_broken_html_script_style_comments():
    document = read_document(BROKEN_HTML)
    texts = [p.text for p in document.paragraphs]
    assert texts == ["第一段粗体没有关闭", "第二段", "a<<>>b & c", "第三段。"]
    joined = "".join(texts)
    for junk in ("脚本", "样式", "注释", "color", "document.write"):
        assert junk not in joined


def test_unclosed_script_and_comment_do_not_crash():
    for body in ("<p>好</p><script>var a = '<p>x</p>'", "<p>好</p><!-- 没有关闭 <p>坏</p>",
                 "<p>好</p><style>p{}"):
        document = read_document("---\ntitle: t\n---\n" + body + "\n")
        assert [p.text for p in document.paragraphs] == ["好"]


def test_plain_html_page_is_read_as_html():
    page = ("<!DOCTYPE html>\n<html><head><title>t</title><style>body{}</style></head>"
            "<body><p>Hello world.</p><!-- nav --><p>Second &amp; <i>last</i> paragraph.</p>"
            "<script>track()</script></body></html>\n")
    document = read_document(page)
    assert [p.text for p in document.paragraphs] == ["Hello world.", "Second & last paragraph."]
