"""The aligner against the hand alignment of the sample pair (data/gold/)."""
from align.evaluating import read_alignment, score_pair
from align.pipeline import align_pair
from align.reading import read_document
from align.segmenting import split_document
from conftest import DATA, EN_SAMPLE, ZH_SAMPLE

GOLD = DATA / "gold"


def gold_lines(suffix: str) -> list[str]:
    return (GOLD / f"core-technology.{suffix}").read_text(encoding="utf-8").splitlines()


def test_gold_sentences_are_the_segmenters():
    """The gold refers to sentences as zhalign splits them; if the segmenter changes, the gold must be redone."""
    assert [s.text for s in split_document(read_document(ZH_SAMPLE), "zh")] == gold_lines("zh")
    assert [s.text for s in split_document(read_document(EN_SAMPLE), "en")] == gold_lines("en")


def test_sample_pair_against_hand_gold(sample_result):
    gold = read_alignment(GOLD / "core-technology.gold")
    predicted = [(tuple(b.zh), tuple(b.en)) for b in sample_result.alignment.beads]
    scores = score_pair(gold, predicted).as_dict()
    assert scores["strict_f1"] >= 0.95, scores
    assert scores["lax_f1"] >= 0.99, scores


def test_english_only_byline_and_credits_unaligned(sample_result):
    en_only = {tuple(b.en) for b in sample_result.alignment.beads if not b.zh}
    for k in (2, 124, 125, 126, 127, 128, 129):  # byline, then the six closing credits
        assert (k,) in en_only, sample_result.en[k].text


def test_presplit_gold_sentences_align_the_same(encoder):
    zh = "\n".join(gold_lines("zh")) + "\n"
    en = "\n".join(gold_lines("en")) + "\n"
    result = align_pair(zh, en, model=encoder, input_format="lines", progress=False)
    assert len(result.zh) == 111 and len(result.en) == 130
    assert score_pair(read_alignment(GOLD / "core-technology.gold"),
                      [(tuple(b.zh), tuple(b.en)) for b in result.alignment.beads]).as_dict()["strict_f1"] >= 0.95
