"""Vector geometry the aligner reads: centred rows, windows of consecutive
sentences, the cosines of every band cell, and each sentence's nearest neighbours.

Arrays in, arrays out; nothing here knows of weights or features.
"""
from __future__ import annotations

import numpy as np

from align.search import BandTable


def centred(vectors: np.ndarray, min_rows: int = 2) -> np.ndarray:
    """Subtract the mean vector and renormalise. Sentence embeddings share a
    large common direction per language (e5 puts unrelated sentences at
    cosine 0.8); removing it spreads true and false pairs apart. Fewer than
    min_rows rows are returned as they are: their mean says nothing."""
    return CentredRows(vectors, min_rows)[:]


class CentredRows:
    """centred(vectors), made a block of rows at a time as they are read
    (slices only): the aligner then never holds a centred copy of a long
    document beside the caller's vectors (a third of a GiB for 90,000
    sentences of e5+use). The same numbers as centred, row for row."""

    BLOCK = 8192  # rows centred at once to find the norms

    def __init__(self, vectors: np.ndarray, min_rows: int = 2):
        self._vectors = vectors
        self._mean = vectors.mean(axis=0) if len(vectors) >= min_rows else None
        self.shape, self.dtype = vectors.shape, vectors.dtype
        if self._mean is not None:  # once: the aligner reads most rows several times
            self._norms = np.empty(len(vectors), dtype=vectors.dtype)
            for start in range(0, len(vectors), self.BLOCK):
                block = vectors[start:start + self.BLOCK] - self._mean
                self._norms[start:start + self.BLOCK] = np.sqrt(np.einsum("ij,ij->i", block, block))
            np.maximum(self._norms, 1e-9, out=self._norms)

    def __len__(self) -> int:
        return len(self._vectors)

    def __getitem__(self, rows: slice) -> np.ndarray:
        assert isinstance(rows, slice), "CentredRows are read a slice at a time"
        if self._mean is None:
            return self._vectors[rows]
        out = self._vectors[rows] - self._mean
        out /= self._norms[rows][:, None]  # in place: long documents
        return out


def window_vectors(vectors: np.ndarray, max_size: int, ends: np.ndarray) -> list[np.ndarray]:
    """[sizes 1 .. max_size]: the normalised sum of vectors[e-size:e] for each
    e in ends, a run of consecutive numbers (rows with e < size are 0)."""
    first, count = int(ends[0]) if len(ends) else 0, len(ends)
    assert count == 0 or int(ends[-1]) - first == count - 1, "ends must be consecutive"
    total = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    lo = max(0, first - max_size)
    rows = vectors[lo: first + count]  # read once (CentredRows centre each block they give)
    out = []
    for size in range(1, max_size + 1):
        skip = max(0, size - first)  # windows that would start before the first sentence
        if skip < count:
            total[skip:] += rows[first + skip - size - lo: first + count - size - lo]
        window = total / np.maximum(np.sqrt(np.einsum("ij,ij->i", total, total)), 1e-9)[:, None]
        window[:min(skip, count)] = 0.0
        out.append(window)
    return out


def cosine_sizes(shapes: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The window sizes whose cosines the features of these bead shapes read:
    the bead, the bead less an end sentence, and each member against the other side."""
    sizes = set()
    for a, b in shapes:
        if a and b:
            sizes |= {(a, b), (1, b), (a, 1)} | ({(a, b - 1)} if b > 1 else set()) | ({(a - 1, b)} if a > 1 else set())
    return sizes


class CosineTables:
    """cos(zh[i-a:i], en[j-b:j]) for every cell of a BandTable, per (a, b).
    All the sizes asked for at first are computed in one pass over blocks of
    rows: each block's windows once, one matrix product per (a, b)."""

    ROWS_PER_BLOCK = 256   # rows whose windows are made at once
    ROWS_PER_PRODUCT = 64  # rows multiplied at once: only the columns their band cells read (a 256-row
                           # block's span of columns is ~12 times its band's width; 64 rows' is ~4 times)

    def __init__(self, zh: np.ndarray, en: np.ndarray, table: BandTable, sizes: set[tuple[int, int]]):
        self.zh, self.en, self.table = zh, en, table
        self._sizes, self._tables = set(sizes), {}

    def __call__(self, a: int, b: int) -> np.ndarray:
        if not self._tables:
            self._tables = self._compute(self._sizes | {(a, b)})
        if (a, b) not in self._tables:
            self._tables |= self._compute({(a, b)})
        return self._tables[a, b]

    def _compute(self, sizes: set[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
        table, m = self.table, len(self.en)
        held = len(table.left)
        out = {size: np.full((held, table.width), np.nan, dtype=np.float32) for size in sizes}
        max_a, max_b = max(a for a, _ in sizes), max(b for _, b in sizes)
        for r0 in range(0, held, self.ROWS_PER_BLOCK):
            r1 = min(held, r0 + self.ROWS_PER_BLOCK)
            c0, c1 = int(table.left[r0]), min(m + 1, int(table.left[r1 - 1]) + table.width)
            rows = table.rows[r0:r1]
            zh_windows = window_vectors(self.zh, max_a, rows)
            en_windows = window_vectors(self.en, max_b, np.arange(c0, c1))
            for p0 in range(r0, r1, self.ROWS_PER_PRODUCT):
                p1 = min(r1, p0 + self.ROWS_PER_PRODUCT)
                d0, d1 = int(table.left[p0]) - c0, min(c1, int(table.left[p1 - 1]) + table.width) - c0
                j, i = table.columns[p0:p1], table.rows[p0:p1]
                cells = (np.arange(p1 - p0)[:, None], (j - c0 - d0).clip(0, d1 - d0 - 1))
                for a, b in sizes:
                    block = zh_windows[a - 1][p0 - r0:p1 - r0] @ en_windows[b - 1][d0:d1].T
                    ok = (j >= b) & (j <= m) & (i >= a)[:, None]
                    out[a, b][p0:p1] = np.where(ok, block[cells], np.nan)
        return out


_WINDOW_BLOCK = 4096  # rows of windows made at once (a long document's windows need not all exist)


def window_mean(vectors: np.ndarray, size: int) -> np.ndarray:
    """The mean of the normalised windows of `size` sentences."""
    ends = np.arange(size, len(vectors) + 1)
    total = sum(window_vectors(vectors, size, ends[k:k + _WINDOW_BLOCK])[-1].sum(axis=0, dtype=np.float64)
                for k in range(0, len(ends), _WINDOW_BLOCK))
    return (total / max(len(ends), 1)).astype(np.float32)


def window_dots(vectors: np.ndarray, size: int, direction: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The normalised window of `size` sentences ending at each of ends, dotted with direction."""
    return np.concatenate([window_vectors(vectors, size, ends[k:k + _WINDOW_BLOCK])[-1] @ direction
                           for k in range(0, len(ends), _WINDOW_BLOCK)])


def neighbour_means(zh, en, band, k, chunk=512):
    """Mean cosine of each sentence with its k most similar sentences on the
    other side, and the cosine of the most similar one, looking only inside
    the band (plus a margin of rows)."""
    lo, hi = band.lo, band.hi
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
    return _finite_mean(zh_best), _finite_mean(en_best), _finite_max(zh_best), _finite_max(en_best)


def _finite_max(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, -1.0)
    return values.max(axis=1) if values.size else np.zeros(len(values))


def _finite_mean(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, np.nan)
    means = np.nanmean(values, axis=1) if values.size else np.zeros(len(values))
    return np.nan_to_num(means, nan=float(np.nanmean(means)) if np.isfinite(means).any() else 0.0)
