"""The pipeline (align_pair): sentence counts far apart are refused before embedding, and
a 50,000-character paragraph without sentence punctuation is cut, aligned and kept whole."""
import re
import warnings

import numpy as np
import pytest

from align.errors import AlignWarning
from align.pipeline import align_pair
from align.reading import InputError, read_document
from align.segmenting import MAX_CHARS, PIECE_CHARS, split_document
from conftest import EN_LINES, EN_SAMPLE, ZH_LINES, ZH_SAMPLE, assert_one_line_error, run_cli
from mac_corpus import SHARED

SAMPLE_ZH_TEXT = "\n\n".join(p.text for p in read_document(ZH_SAMPLE).paragraphs)


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
