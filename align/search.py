"""The search: the best monotone path of beads through a band of the
sentence grid, by dynamic programming (compiled with numba).

A DP node (i, j) means "the first i Chinese and j English sentences are
aligned". A bead of shape (a, b) steps from (i - a, j - b) to (i, j) and adds
its value; the best path from (0, 0) to (n, m) maximises the sum. Only the
cells of a band are filled: row i may use columns [lo[i], hi[i]), so time and
memory grow with n times the band's width, not n * m.

Values come in a `BandTable` layout: row i holds columns L[i] .. L[i] + width,
a little wider than the band (L[i] = lo[i] - max_b), so that a bead's
neighbours (one sentence shorter, one row up) are in the table too. This
module knows nothing of vectors or features: it takes arrays of values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Band:
    """Columns [lo[i], hi[i]) allowed in each DP row i = 0..n (hi <= m + 1)."""

    lo: np.ndarray
    hi: np.ndarray

    def __iter__(self):  # lo, hi = band
        return iter((self.lo, self.hi))

    @property
    def n(self) -> int:
        return len(self.lo) - 1

    @property
    def m(self) -> int:
        return int(self.hi[-1]) - 1

    @classmethod
    def full(cls, n: int, m: int) -> "Band":
        return cls(np.zeros(n + 1, dtype=np.int64), np.full(n + 1, m + 1, dtype=np.int64))

    @classmethod
    def around(cls, path: list[tuple[int, int]], n: int, m: int, width: int) -> "Band":
        """The path's columns near each row, widened by `width`, made monotone
        so that every bead shape can chain."""
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
        return cls(lo, hi)

    def columns_near(self, max_bead: int) -> tuple[np.ndarray, np.ndarray]:
        """English sentences [start, stop) that any bead of the band can pair with
        each Chinese sentence r (r sits in the beads ending on rows r+1 .. r+max_bead)."""
        rows = np.arange(self.n)
        start = (self.lo[rows + 1] - max_bead).clip(0, self.m)
        stop = self.hi[np.minimum(rows + max_bead, self.n)].clip(0, self.m)
        return start, np.maximum(stop, start)


@dataclass(frozen=True)
class BandTable:
    """The layout of every per-cell table: row i, column j sits at
    [i, j - left[i]], for j in [left[i], left[i] + width)."""

    band: Band
    left: np.ndarray
    width: int

    @classmethod
    def for_band(cls, band: Band, max_a: int, max_b: int) -> "BandTable":
        n = band.n
        left = (band.lo - max_b).clip(0, None)
        # Row i is read as the member row i - k of beads ending up to max_a rows below.
        right = band.hi[np.minimum(np.arange(n + 1) + max_a, n)]
        return cls(band, left, int((right - left).max()))

    def columns(self) -> np.ndarray:
        """j of every cell, (n + 1) x width."""
        return self.left[:, None] + np.arange(self.width)[None, :]

    def inside(self) -> np.ndarray:
        """True for the cells of the band proper."""
        j = self.columns()
        return (j >= self.band.lo[:, None]) & (j < self.band.hi[:, None])

    def shifted(self, table: np.ndarray, di: int, dj: int) -> np.ndarray:
        """table's value at (i - di, j - dj) for every cell (i, j); NaN outside."""
        n = self.band.n
        rows = np.arange(n + 1) - di
        ok_rows = rows >= 0
        rows = rows.clip(0, n)
        c = self.columns() - dj - self.left[rows][:, None]
        ok = ok_rows[:, None] & (c >= 0) & (c < self.width)
        values = table[rows[:, None], c.clip(0, self.width - 1)]
        return np.where(ok, values, np.nan)


def best_path(values: np.ndarray, shapes: list[tuple[int, int]], table: BandTable) -> list[tuple[int, int]]:
    """Nodes (i, j) of the best path from (0, 0) to (n, m).

    values[s] holds, in `table`'s layout, what a bead of shapes[s] ending at
    each cell adds (-inf where it may not end). Ties go to the shape listed
    first; a 0-1 bead wins only by more than rounding."""
    band = table.band
    a = np.array([s[0] for s in shapes], dtype=np.int64)
    b = np.array([s[1] for s in shapes], dtype=np.int64)
    came_by = _fill(np.ascontiguousarray(values, dtype=np.float64), a, b, band.lo, band.hi, table.left)
    path = [(band.n, band.m)]
    i, j = band.n, band.m
    while (i, j) != (0, 0):
        s = came_by[i, j - table.left[i]]
        if s < 0:
            raise RuntimeError(f"no path reaches ({i}, {j}): the band is broken")
        i, j = i - a[s], j - b[s]
        path.append((int(i), int(j)))
    return path[::-1]


@numba.njit(cache=True)
def _fill(values, a, b, lo, hi, left):  # pragma: no cover - compiled
    n = len(lo) - 1
    width = values.shape[2]
    total = np.full((n + 1, width), -np.inf)
    came_by = np.full((n + 1, width), -1, dtype=np.int16)
    total[0, 0 - left[0]] = 0.0
    for i in range(n + 1):
        for j in range(lo[i], hi[i]):
            c = j - left[i]
            best = total[i, c]
            how = came_by[i, c]
            en_skip = -1
            for s in range(len(a)):
                pi, pj = i - a[s], j - b[s]
                if pi < 0 or pj < 0 or pj < lo[pi] or pj >= hi[pi]:
                    continue
                if a[s] == 0:  # 0-1 beads: along the row, after the others
                    en_skip = s
                    continue
                value = total[pi, pj - left[pi]] + values[s, i, c]
                if value > best:
                    best, how = value, s
            if en_skip >= 0:
                value = total[i, j - 1 - left[i]] + values[en_skip, i, c]
                if value > best + 1e-9:
                    best, how = value, en_skip
            total[i, c] = best
            came_by[i, c] = how
    return came_by
