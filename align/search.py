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

import tempfile
from dataclasses import dataclass
from functools import cached_property

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
    [i - first, j - left[i - first]], for j in [left[.], left[.] + width).
    A table may hold only the rows first .. first + len(left) - 1 (a chunk)."""

    band: Band
    left: np.ndarray
    width: int
    first: int = 0

    @classmethod
    def for_band(cls, band: Band, max_a: int, max_b: int) -> "BandTable":
        n = band.n
        left = (band.lo - max_b).clip(0, None)
        # Row i is read as the member row i - k of beads ending up to max_a rows below.
        right = band.hi[np.minimum(np.arange(n + 1) + max_a, n)]
        return cls(band, left, int((right - left).max()))

    def rows_of(self, start: int, stop: int) -> "BandTable":
        """The same layout for DP rows [start, stop) only."""
        return BandTable(self.band, self.left[start - self.first: stop - self.first], self.width, start)

    @cached_property
    def rows(self) -> np.ndarray:
        """i of every row held."""
        return self.first + np.arange(len(self.left))

    @cached_property
    def columns(self) -> np.ndarray:
        """j of every cell, (n + 1) x width."""
        return self.left[:, None] + np.arange(self.width)[None, :]

    @cached_property
    def inside(self) -> np.ndarray:
        """True for the cells of the band proper."""
        held = slice(self.first, self.first + len(self.left))
        return (self.columns >= self.band.lo[held, None]) & (self.columns < self.band.hi[held, None])

    def shifted(self, table: np.ndarray, di: int, dj: int) -> np.ndarray:
        """table's value at (i - di, j - dj) for every cell (i, j); NaN outside the rows held."""
        held = len(self.left)
        rows = np.arange(held) - di
        ok_rows = rows >= 0
        rows = rows.clip(0, held - 1)
        c = self.columns - dj - self.left[rows][:, None]
        ok = ok_rows[:, None] & (c >= 0) & (c < self.width)
        values = table[rows[:, None], c.clip(0, self.width - 1)]
        return np.where(ok, values, np.nan)


# The bead values a search keeps for path_doubt are held in RAM up to this many bytes, beyond it in an
# unnamed temporary file: they are band cells x shapes x 4 bytes (148 MB for a 40,000 x 53,327 sentence
# pair whose whole run peaks near 880 MiB without them). The file is written and read with plain I/O,
# a block of rows at a time, not memory-mapped: a mapping's touched pages count in the process's
# resident memory as if the values were in RAM (measured: +88 MiB at the peak on that pair).
KEPT_VALUES_IN_RAM = 64 * 2**20
DOUBT_BLOCK_ROWS = 2048  # rows of kept values read at a time from the file


class PathSearch:
    """The best path from (0, 0) to (n, m), filled one chunk of rows at a time.

    `add(values, start, labels)`: values[s] holds, for DP rows start .. start + k - 1
    in `table`'s layout, what a bead of shapes[s] ending at each cell adds
    (-inf where it may not end); float32 (the sums are float64). labels, of
    the same layout, is a number to keep for the bead that wins each cell
    (the aligner's bead similarity): only the winners' are kept, not the
    tables of every shape. Chunks come in order. Ties go to the shape listed
    first; a 0-1 bead wins only by more than rounding. `path()` once every
    row is in; `label(i, j)` is the kept number of the bead ending at (i, j).

    With keep_values, the search also keeps every value it is given (in RAM up to
    KEPT_VALUES_IN_RAM bytes, else in a temporary file) so that `path_doubt(path)`
    can say how sure it is of each bead of the path; `release()` lets them go."""

    def __init__(self, shapes: list[tuple[int, int]], table: BandTable, keep_values: bool = False):
        self.table = table
        self.a = np.array([s[0] for s in shapes], dtype=np.int64)
        self.b = np.array([s[1] for s in shapes], dtype=np.int64)
        self.total = np.full((table.band.n + 1, table.width), -np.inf)
        self.came_by = np.full((table.band.n + 1, table.width), -1, dtype=np.int16)
        self.labels = np.full((table.band.n + 1, table.width), np.nan, dtype=np.float32)
        self.total[0, 0] = 0.0  # the origin (row 0 starts at column 0)
        self.keep_values = keep_values
        self.values: np.ndarray | None = None  # (shapes, n + 1, width) when kept in RAM
        self._values_file = None  # else rows in this file, each row's shapes together
        if keep_values:
            size = len(shapes) * (table.band.n + 1) * table.width * 4
            if size <= KEPT_VALUES_IN_RAM:
                self.values = np.full((len(shapes), table.band.n + 1, table.width), -np.inf, dtype=np.float32)
            else:
                self._values_file = tempfile.TemporaryFile(prefix="zhalign-values-")

    @property
    def values_in_file(self) -> bool:
        return self._values_file is not None

    def release(self) -> None:
        """Let the kept values go (and the temporary file, if any, with them)."""
        self.keep_values, self.values = False, None
        if self._values_file is not None:
            self._values_file.close()
            self._values_file = None

    def _row_bytes(self) -> int:
        return len(self.a) * self.table.width * 4

    def _kept_rows(self, start: int, stop: int) -> np.ndarray:
        """The kept values of rows [start, stop), (shapes, rows, width)."""
        if self.values is not None:
            return np.ascontiguousarray(self.values[:, start:stop])
        rows = np.empty((stop - start, len(self.a), self.table.width), dtype=np.float32)
        self._values_file.seek(start * self._row_bytes())
        if self._values_file.readinto(memoryview(rows).cast("B")) != rows.nbytes:
            raise RuntimeError("path_doubt: rows of the kept values are missing (was every row added?)")
        return np.ascontiguousarray(rows.transpose(1, 0, 2))

    def add(self, values: np.ndarray, start: int, labels: np.ndarray | None = None) -> None:
        band = self.table.band
        values = np.ascontiguousarray(values, dtype=np.float32)
        keep = labels is not None
        labels = np.ascontiguousarray(labels, dtype=np.float32) if keep else np.empty((0, 0, 0), dtype=np.float32)
        _fill(values, labels, keep, self.a, self.b, band.lo, band.hi, self.table.left, self.total, self.came_by,
              self.labels, start)
        if self.values is not None:
            self.values[:, start:start + values.shape[1]] = values
        elif self._values_file is not None:
            rows = np.ascontiguousarray(values.transpose(1, 0, 2))
            self._values_file.seek(start * self._row_bytes())
            self._values_file.write(memoryview(rows).cast("B"))

    def label(self, i: int, j: int) -> float:
        return float(self.labels[i, j - self.table.left[i]])

    def path_labels(self, path: list[tuple[int, int]]) -> list[float]:
        """The kept label (similarity) of each bead of a path of nodes; NaN for 1-0 and 0-1 beads."""
        return [self.label(i1, j1) if i1 > i0 and j1 > j0 else float("nan") for (i0, j0), (i1, j1) in zip(path, path[1:])]

    def path(self) -> list[tuple[int, int]]:
        """Nodes (i, j) of the best path, from (0, 0)."""
        band, left = self.table.band, self.table.left
        path = [(band.n, band.m)]
        i, j = band.n, band.m
        while (i, j) != (0, 0):
            s = self.came_by[i, j - left[i]]
            if s < 0:
                raise RuntimeError(f"no path reaches ({i}, {j}): the band is broken")
            i, j = i - self.a[s], j - self.b[s]
            path.append((int(i), int(j)))
        return path[::-1]

    def path_doubt(self, path: list[tuple[int, int]]) -> np.ndarray:
        """How sure the search is of each bead of a path (`path()`'s): the best path's value less
        the best value of a path that does not contain the bead (>= 0; inf when every path
        contains it). From the forward table and a backward pass over the kept values: for each
        anti-diagonal i + j = d, the best path that sits on a node off the path at d or crosses d
        inside a bead off the path; a path avoids a bead exactly when it does so at some d the
        bead spans. Needs keep_values."""
        if not self.keep_values:
            raise RuntimeError("path_doubt needs the values: make the PathSearch with keep_values=True")
        band, left = self.table.band, self.table.left
        n, block, reach = band.n, DOUBT_BLOCK_ROWS, int(self.a.max())
        to_go = np.full((n + 1, self.table.width), -np.inf)
        to_go[n, band.m - left[n]] = 0.0
        for stop in range(n + 1, 0, -block):  # backwards; a block reads the rows its beads end on
            start = max(0, stop - block)
            _backward(self._kept_rows(start, min(n + 1, stop + reach)), start, start, stop, self.a, self.b,
                      band.lo, band.hi, left, n, to_go)
        nodes = np.array(path, dtype=np.int64).reshape(-1, 2)
        steps = nodes[1:] - nodes[:-1]
        shape_index = {(int(a), int(b)): s for s, (a, b) in enumerate(zip(self.a, self.b))}
        path_shapes = np.array([shape_index[(int(a), int(b))] for a, b in steps], dtype=np.int64)
        on_path, came_by = _path_cells(nodes, path_shapes, left, n, self.table.width)
        rival = np.full(n + band.m + 1, -np.inf)
        for start in range(0, n + 1, block):
            stop = min(n + 1, start + block)
            _rivals(self._kept_rows(start, stop), start, start, stop, self.a, self.b, band.lo, band.hi, left,
                    self.total, to_go, on_path, came_by, rival)
        best = self.total[n, band.m - left[n]]
        diagonal = nodes.sum(axis=1)
        doubt = np.array([best - rival[d0:d1 + 1].max() for d0, d1 in zip(diagonal[:-1], diagonal[1:])])
        return doubt.clip(0, None)  # a 0-1 bead's tie rule may leave the best a rounding below a rival


def best_path(values: np.ndarray, shapes: list[tuple[int, int]], table: BandTable) -> list[tuple[int, int]]:
    """The best path when every row's values are at hand (see PathSearch)."""
    search = PathSearch(shapes, table)
    search.add(values, 0)
    return search.path()


@numba.njit(cache=True)
def _fill(values, labels, keep, a, b, lo, hi, left, total, came_by, kept_labels, start):  # pragma: no cover - compiled
    for i in range(start, start + values.shape[1]):
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
                value = total[pi, pj - left[pi]] + values[s, i - start, c]
                if value > best:
                    best, how = value, s
            if en_skip >= 0:
                value = total[i, j - 1 - left[i]] + values[en_skip, i - start, c]
                if value > best + 1e-9:
                    best, how = value, en_skip
            total[i, c] = best
            came_by[i, c] = how
            if keep and how >= 0:
                kept_labels[i, c] = labels[how, i - start, c]


@numba.njit(cache=True)
def _backward(values, first, start, stop, a, b, lo, hi, left, n, to_go):  # pragma: no cover - compiled
    """to_go[i, c]: the best value from node (i, left[i] + c) to (n, m), over the same beads as
    _fill, for rows [start, stop) (the rows below done already); values: rows from `first`."""
    for i in range(stop - 1, start - 1, -1):
        for j in range(hi[i] - 1, lo[i] - 1, -1):
            c = j - left[i]
            best = to_go[i, c]
            for s in range(len(a)):
                ei, ej = i + a[s], j + b[s]
                if ei > n or ej < lo[ei] or ej >= hi[ei]:
                    continue
                value = values[s, ei - first, ej - left[ei]] + to_go[ei, ej - left[ei]]
                if value > best:
                    best = value
            to_go[i, c] = best


@numba.njit(cache=True)
def _path_cells(nodes, path_shapes, left, n, width):  # pragma: no cover - compiled
    """Which cells are nodes of the path, and the shape of the path's bead into each (-1: none)."""
    on_path = np.zeros((n + 1, width), dtype=np.bool_)
    came_by = np.full((n + 1, width), -1, dtype=np.int16)
    for k in range(len(nodes)):
        i, j = nodes[k, 0], nodes[k, 1]
        on_path[i, j - left[i]] = True
        if k > 0:
            came_by[i, j - left[i]] = path_shapes[k - 1]
    return on_path, came_by


@numba.njit(cache=True)
def _rivals(values, first, start, stop, a, b, lo, hi, left, total, to_go, on_path, came_by,
            rival):  # pragma: no cover - compiled
    """rival[d]: the best value of a path that, at anti-diagonal i + j = d, sits on a node
    off the path (on_path, came_by) or crosses d strictly inside a bead off it; from the
    cells of rows [start, stop) (values: rows from `first`)."""
    for i in range(start, stop):
        for j in range(lo[i], hi[i]):
            c = j - left[i]
            if not on_path[i, c]:
                through = total[i, c] + to_go[i, c]
                if through > rival[i + j]:
                    rival[i + j] = through
            for s in range(len(a)):
                if a[s] + b[s] < 2 or came_by[i, c] == s:  # crosses no diagonal strictly, or the path's own
                    continue
                pi, pj = i - a[s], j - b[s]
                if pi < 0 or pj < 0 or pj < lo[pi] or pj >= hi[pi]:
                    continue
                through = total[pi, pj - left[pi]] + values[s, i - first, c] + to_go[i, c]
                for d in range(pi + pj + 1, i + j):
                    if through > rival[d]:
                        rival[d] = through
