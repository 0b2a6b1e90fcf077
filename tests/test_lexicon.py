"""Dictionary matches between Chinese and English sentences (CC-CEDICT)."""
import numpy as np

from align.aligning import AlignParams, align_vectors
from align.marks import PairEvidence
from align.lexicon import WordMatches, chinese_keys, english_words

ZH = ["王二说火星探测器着陆了。", "陈清扬是医生。", "她来找我。"]
EN = ["Wang Er said the Mars probe had landed.", "Chen Qingyang was a doctor.", "She came to see me."]


def test_english_words_are_stemmed_content_words_and_numbers():
    assert english_words("The Mars probe landed in 2018.") == {"mar", "probe", "land", "2018"}


def test_chinese_words_find_their_translations_and_names_their_pinyin():
    keys = chinese_keys("火星探测器着陆。")
    assert any("mar" in k for k in keys) and any("probe" in k for k in keys) and any("land" in k for k in keys)
    assert any("chen" in k for k in chinese_keys("陈清扬是医生。"))  # surname of a name jieba keeps whole


def test_coverage_is_high_for_translations_and_zero_for_unrelated_sentences():
    words = WordMatches.count(ZH, EN, np.zeros(3, dtype=int), np.full(3, 3))
    # zh sentence 0 (bead ending on row 1) against en sentence 0 and en sentence 1
    right, wrong = words.coverage(1, 1, np.array([1, 2]), 1)
    assert right > 0.5 and wrong == 0
    # a merged bead is counted over all its sentence pairs
    assert words.coverage(2, 2, np.array([2]), 2)[0] > 0.5


def test_dictionary_decides_when_the_vectors_cannot():
    # Random vectors in many dimensions are all about equally far apart: the
    # dictionary alone must tell that the second English sentence belongs
    # with the first Chinese one (1-2), not with the second (1-1, 1-2).
    zh_texts = [ZH[0] + ZH[1], ZH[2]]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 1024)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    evidence = PairEvidence.of(zh_texts, EN, [len(t) for t in zh_texts], [len(t) for t in EN])
    beads = align_vectors(vectors[:2], vectors[2:], **evidence.arguments()).beads
    assert [(b.zh, b.en) for b in beads] == [([0], [0, 1]), ([1], [2])]
    without_texts = align_vectors(vectors[:2], vectors[2:]).beads  # no dictionary: these vectors mislead
    assert [(b.zh, b.en) for b in without_texts] == [([0], [0]), ([1], [1, 2])]
