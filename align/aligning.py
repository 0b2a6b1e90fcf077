"""Aligning: dynamic programming over sentence beads, in a band, in linear time.

The search runs twice, as in Vecalign. A first pass finds a rough path with
small beads (1-1, 1-2, 2-1, 1-0, 0-1): on the full similarity grid when the
documents are short, otherwise on a band around the path found for the same
documents at half resolution (adjacent sentences averaged), recursively. The
second pass searches every bead shape up to `max_bead` sentences a side in a
band around that rough path. Cells outside the band are never computed, so
time and memory grow with n * band width, not n * m.

A bead's value is its size times its score; a bead's score is the cosine of the
summed sentence vectors on each side, minus the mean similarity of those
sentences to their nearest neighbours (a margin, as in Bertalign and LASER,
that makes scores comparable across sentences, bead sizes and documents),
minus a length-ratio penalty. Each unaligned sentence costs `skip`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Cells of the full grid we are willing to fill before switching to a band.
FULL_GRID_LIMIT = 1_000_000


@dataclass
class AlignParams:
    max_bead: int = 4         # most sentences on one side of a bead
    max_total: int = 5        # most sentences in a bead, both sides together
    skip: float = 1.0         # cost of leaving a sentence unaligned (a random pair costs about 1)
    merge_penalty: float = 0.0    # extra cost per sentence beyond a 1-1 bead
    length_weight: float = 0.05   # weight of the squared z-score of the bead's length ratio
    length_sigma: float = 0.35    # spread of log(en chars / zh chars) in true beads
    knn: int = 4              # neighbours in the margin
    weighting: str = "product"
    band: int = 8             # half width of the second-pass band, in sentences
    coarse_band: int = 6      # half width of the band projected from a coarser level


@dataclass
class Bead:
    zh: list[int]
    en: list[int]
    score: float

    @property
    def type(self) -> str:
        return f"{len(self.zh)}-{len(self.en)}"


@dataclass
class Alignment:
    beads: list[Bead]
    band: tuple[np.ndarray, np.ndarray] = field(repr=False)  # allowed columns [lo, hi) per DP row


def bead_shapes(max_bead: int, max_total: int) -> list[tuple[int, int]]:
    """(zh sentences, en sentences) of every bead kind searched, 1-0 and 0-1 included."""
    shapes = [(a, b) for a in range(1, max_bead + 1) for b in range(1, max_bead + 1) if a + b <= max_total]
    return shapes + [(1, 0), (0, 1)]


def align_vectors(
    zh: np.ndarray,
    en: np.ndarray,
    zh_chars: np.ndarray | None = None,
    en_chars: np.ndarray | None = None,
    params: AlignParams | None = None,
) -> Alignment:
    """Beads covering every sentence of both sides once, in order.

    zh, en: L2-normalised sentence vectors (n x d, m x d).
    zh_chars, en_chars: sentence lengths in characters (for the length term).
    """
    params = params or AlignParams()
    n, m = len(zh), len(en)
    if n == 0 or m == 0:
        beads = [Bead([i], [], 0.0) for i in range(n)] + [Bead([], [j], 0.0) for j in range(m)]
        return Alignment(beads, (np.zeros(n + 1, int), np.full(n + 1, m + 1)))
    zh, en = _centred(zh), _centred(en)
    zh_chars = np.ones(n) if zh_chars is None else np.asarray(zh_chars, float)
    en_chars = np.ones(m) if en_chars is None else np.asarray(en_chars, float)

    rough_band = _rough_band(zh, en, params)
    rough_path = _search(_Scorer(zh, en, zh_chars, en_chars, rough_band, params, bead_shapes(2, 3)), rough_band)
    band = _band_around(rough_path, n, m, params.band)
    scorer = _Scorer(zh, en, zh_chars, en_chars, band, params, bead_shapes(params.max_bead, params.max_total))
    path = _search(scorer, band)
    return Alignment(_beads_from_path(path, scorer), band)


def _centred(vectors: np.ndarray) -> np.ndarray:
    """Subtract the document's mean vector and renormalise. Sentence embeddings
    share a large common direction per language (e5 puts unrelated sentences
    at cosine 0.8); removing it spreads true and false pairs apart."""
    if len(vectors) < 2:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    return centred / np.linalg.norm(centred, axis=1, keepdims=True).clip(1e-9)


# --- bands -----------------------------------------------------------------

def _rough_band(zh: np.ndarray, en: np.ndarray, params: AlignParams) -> tuple[np.ndarray, np.ndarray]:
    """Where the first pass may look: the full grid if small, else a band
    around the path of the half-resolution documents (Vecalign's recursion)."""
    n, m = len(zh), len(en)
    if (n + 1) * (m + 1) <= FULL_GRID_LIMIT or min(n, m) < 8:
        return np.zeros(n + 1, dtype=np.int64), np.full(n + 1, m + 1, dtype=np.int64)
    zh_half, en_half = _halve(zh), _halve(en)
    half_band = _rough_band(zh_half, en_half, params)
    ones_zh, ones_en = np.ones(len(zh_half)), np.ones(len(en_half))
    half_path = _search(_Scorer(zh_half, en_half, ones_zh, ones_en, half_band, params, bead_shapes(2, 3)), half_band)
    doubled = [(min(2 * i, n), min(2 * j, m)) for i, j in half_path]
    return _band_around(doubled, n, m, params.coarse_band)


def _halve(vectors: np.ndarray) -> np.ndarray:
    """Average each pair of adjacent sentences (a last odd one stands alone)."""
    even = vectors[: len(vectors) // 2 * 2].reshape(-1, 2, vectors.shape[1]).sum(axis=1)
    if len(vectors) % 2:
        even = np.vstack([even, vectors[-1:]])
    return even / np.linalg.norm(even, axis=1, keepdims=True).clip(1e-9)


def _band_around(path: list[tuple[int, int]], n: int, m: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns [lo, hi) allowed in each DP row: the path's columns near that
    row, widened by `width`, made monotone so every bead shape can chain."""
    lo = np.full(n + 1, m + 1, dtype=np.int64)
    hi = np.zeros(n + 1, dtype=np.int64)
    for i, j in path:
        rows = slice(max(0, i - width), min(n, i + width) + 1)
        lo[rows] = np.minimum(lo[rows], j - width)
        hi[rows] = np.maximum(hi[rows], j + width + 1)
    lo = np.minimum.accumulate(lo[::-1])[::-1].clip(0, m)
    hi = np.maximum.accumulate(hi).clip(1, m + 1)
    lo[0], hi[n] = 0, m + 1
    hi[:-1] = np.maximum(hi[:-1], lo[1:] + 1)  # each row overlaps the next: a 1-0 bead can always step down
    return lo, hi


# --- scoring ---------------------------------------------------------------

class _Scorer:
    """Bead scores for one DP row at a time, from prefix sums of the vectors:
    the sum of sentences s..t is P[t+1] - P[s], so every bead's cosine costs
    one dot product per shape instead of an embedding."""

    def __init__(self, zh, en, zh_chars, en_chars, band, params: AlignParams, shapes):
        self.params, self.shapes = params, shapes
        self.n, self.m = len(zh), len(en)
        self.zh_sum = _prefix(zh)
        self.en_sum = _prefix(en)
        self.max_a = max(a for a, _ in shapes)
        self.max_b = max(b for _, b in shapes)
        # Norms of every window sum, by window size: en_norm[b][j] = |P[j] - P[j-b]|.
        self.en_norm = _window_norms(self.en_sum, self.max_b)
        self.zh_norm = _window_norms(self.zh_sum, self.max_a)
        self.zh_mean = _window_means(self.zh_sum, self.zh_norm)
        self.en_mean = _window_means(self.en_sum, self.en_norm)
        self.zh_len, self.en_len = _prefix(zh_chars[:, None])[:, 0], _prefix(en_chars[:, None])[:, 0]
        # Expected log length ratio for this document pair.
        self.log_ratio = np.log(max(en_chars.sum(), 1.0) / max(zh_chars.sum(), 1.0))

    def scores(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        """Scores of beads zh[i-a:i] + en[j-b:j] for each j in js: 1 minus the
        bead's distance relative to random beads of the same sizes."""
        if a == 0 or b == 0:
            return np.full(len(js), 1.0 - self.params.skip)
        zh_vec = (self.zh_sum[i] - self.zh_sum[i - a]) / max(self.zh_norm[a][i], 1e-9)
        en_vecs = (self.en_sum[js] - self.en_sum[js - b]) / self.en_norm[b][js, None].clip(1e-9)
        cos = en_vecs @ zh_vec
        # Mean cosine of each side with random beads of the other side's size:
        # the dot with the mean of all such beads (Vecalign's normaliser, exact).
        base = (zh_vec @ self.en_mean[b] + en_vecs @ self.zh_mean[a]) / 2
        distance = (1 - cos) / (1 - base).clip(1e-3)
        zh_len = self.zh_len[i] - self.zh_len[i - a]
        en_len = self.en_len[js] - self.en_len[js - b]
        z = (np.log((en_len + 1) / (zh_len + 1)) - self.log_ratio) / self.params.length_sigma
        return 1 - distance - self.params.length_weight * z * z

    def values(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        """What a bead adds to the path: minus its distance, weighted by size."""
        weight = max(a * b, 1) if self.params.weighting == "product" else (a + b) / 2
        return -weight * (1 - self.scores(i, a, b, js)) - self.params.merge_penalty * max(a + b - 2, 0)


def _prefix(vectors: np.ndarray) -> np.ndarray:
    out = np.zeros((len(vectors) + 1, vectors.shape[1]), dtype=np.float64)
    np.cumsum(vectors, axis=0, out=out[1:])
    return out


def _window_norms(prefix: np.ndarray, max_size: int) -> list[np.ndarray]:
    norms = [np.ones(len(prefix))]
    for size in range(1, max_size + 1):
        row = np.ones(len(prefix))
        row[size:] = np.linalg.norm(prefix[size:] - prefix[:-size], axis=1)
        norms.append(row)
    return norms


def _window_means(prefix: np.ndarray, norms: list[np.ndarray]) -> list[np.ndarray]:
    """Mean of the normalised sums of every window of each size."""
    means = [np.zeros(prefix.shape[1])]
    for size in range(1, len(norms)):
        windows = (prefix[size:] - prefix[:-size]) / norms[size][size:, None].clip(1e-9)
        means.append(windows.mean(axis=0) if len(windows) else np.zeros(prefix.shape[1]))
    return means


def _neighbour_means(zh, en, band, k, chunk=512):
    """Mean cosine of each sentence with its k most similar sentences on the
    other side, looking only inside the band (plus a margin of rows)."""
    lo, hi = band
    n, m = len(zh), len(en)
    zh_best = np.full((n, k), np.nan)
    en_best = np.full((m, k), -np.inf)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        # Sentence s sits in DP rows s+1; its candidate columns j-1 for j in [lo, hi).
        col_lo = max(0, int(lo[start + 1]) - 1 - k)
        col_hi = min(m, int(hi[stop]) + k)
        sims = zh[start:stop] @ en[col_lo:col_hi].T
        cols = np.arange(col_lo, col_hi)
        rows_lo = (lo[start + 1: stop + 1] - 1 - k)[:, None]
        rows_hi = (hi[start + 1: stop + 1] + k)[:, None]
        sims = np.where((cols >= rows_lo) & (cols < rows_hi), sims, -np.inf)
        kk = min(k, sims.shape[1])
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        zh_best[start:stop, :kk] = top
        # Columns: merge this chunk's best rows into each en sentence's top k.
        col_top = -np.partition(-sims, min(k, sims.shape[0]) - 1, axis=0)[: min(k, sims.shape[0])]
        merged = np.vstack([en_best[col_lo:col_hi].T, col_top])
        en_best[col_lo:col_hi] = (-np.partition(-merged, k - 1, axis=0)[:k]).T
    return _finite_mean(zh_best), _finite_mean(en_best)


def _finite_mean(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, np.nan)
    means = np.nanmean(values, axis=1) if values.size else np.zeros(len(values))
    return np.nan_to_num(means, nan=float(np.nanmean(means)) if np.isfinite(means).any() else 0.0)


# --- the dynamic program -----------------------------------------------------

def _search(scorer: _Scorer, band: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int]]:
    """Best path of DP nodes (i, j) = (zh sentences used, en sentences used)
    from (0, 0) to (n, m), filling only the band, one row at a time."""
    lo, hi = band
    n, m = scorer.n, scorer.m
    width = int((hi - lo).max())
    total = np.full((n + 1, width), -np.inf)
    came_by = np.full((n + 1, width), -1, dtype=np.int8)  # index into scorer.shapes
    shapes = scorer.shapes
    en_skip = shapes.index((0, 1))
    skip_value = scorer.values(0, 0, 1, np.zeros(1, dtype=np.int64))[0]
    for i in range(n + 1):
        js = np.arange(lo[i], hi[i])
        best = np.full(len(js), -np.inf)
        how = np.full(len(js), -1, dtype=np.int8)
        if i == 0:
            best[js == 0] = 0.0
        for k, (a, b) in enumerate(shapes):
            if a == 0 or a > i:
                continue
            prev_cols = js - b
            idx = prev_cols - lo[i - a]
            ok = (prev_cols >= 0) & (idx >= 0) & (idx < hi[i - a] - lo[i - a])
            if not ok.any():
                continue
            value = np.full(len(js), -np.inf)
            value[ok] = total[i - a, idx[ok]] + scorer.values(i, a, b, js[ok])
            better = value > best
            best[better], how[better] = value[better], k
        # 0-1 beads chain along the row: total[j] = max over k <= j of
        # best[k] + (j - k) * skip, a running maximum of best[k] - k * skip.
        steps = np.arange(len(js)) * skip_value
        chained = np.maximum.accumulate(best - steps) + steps
        by_skip = chained > best + 1e-9  # not where only rounding differs
        best[by_skip], how[by_skip] = chained[by_skip], en_skip
        total[i, : len(js)], came_by[i, : len(js)] = best, how
    path = [(n, m)]
    i, j = n, m
    while (i, j) != (0, 0):
        a, b = shapes[came_by[i, j - lo[i]]]
        i, j = i - a, j - b
        path.append((i, j))
    return path[::-1]


def _beads_from_path(path: list[tuple[int, int]], scorer: _Scorer) -> list[Bead]:
    beads = []
    for (i0, j0), (i1, j1) in zip(path, path[1:]):
        a, b = i1 - i0, j1 - j0
        score = 0.0 if a == 0 or b == 0 else float(scorer.scores(i1, a, b, np.array([j1]))[0])
        beads.append(Bead(list(range(i0, i1)), list(range(j0, j1)), score))
    return beads
