"""The search's doubt of each bead of its path (align.search.PathSearch.path_doubt): the
best path's value less the best value of a path that avoids the bead, checked against
every path of small random grids."""
from __future__ import annotations

import numpy as np
import pytest

import align.search as search_module
from align.search import Band, BandTable, PathSearch

SHAPE_SETS = [
    [(1, 1), (1, 0), (0, 1)],
    [(1, 1), (1, 2), (2, 1), (1, 0), (0, 1)],
    [(1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (3, 1), (1, 0), (0, 1)],
]


def random_grid(rng: np.random.Generator, trial: int):
    """(shapes, table, values) of a small grid: full or narrow band, some beads barred,
    values on a coarse grid now and then (ties)."""
    shapes = SHAPE_SETS[trial % len(SHAPE_SETS)]
    n, m = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    if trial % 4 == 3 and n > 2 and m > 2:
        band = Band.around([(0, 0)] + [(min(k, n), min(k, m)) for k in range(1, max(n, m) + 1)], n, m, 1)
    else:
        band = Band.full(n, m)
    table = BandTable.for_band(band, max(a for a, _ in shapes), max(b for _, b in shapes))
    values = rng.normal(size=(len(shapes), n + 1, table.width)).astype(np.float32)
    values[rng.random(values.shape) < 0.15] = -np.inf
    if trial % 5 == 0:  # ties
        values = np.where(np.isinf(values), values, np.round(values)).astype(np.float32)
    i, j = table.rows[:, None], table.columns
    for s, (a, b) in enumerate(shapes):
        values[s][~(table.inside & (i >= a) & (j >= b))] = -np.inf
    return shapes, table, values


def every_path(shapes, table: BandTable, values: np.ndarray) -> list[tuple[set, float]]:
    """(beads as (start node, end node), value) of every path from (0, 0) to (n, m)."""
    band = table.band
    n, m = band.n, band.m
    paths = []

    def walk(node, beads, total):
        if node == (n, m):
            paths.append((set(beads), total))
            return
        for s, (a, b) in enumerate(shapes):
            i, j = node[0] + a, node[1] + b
            if i <= n and band.lo[i] <= j < band.hi[i]:
                value = float(values[s, i, j - table.left[i]])
                if value > -np.inf:
                    walk((i, j), beads + [(node, (i, j))], total + value)

    walk((0, 0), [], 0.0)
    return paths


@pytest.mark.parametrize("block_rows", [2048, 2])  # the kept values read all at once, or two rows at a time
def test_doubt_is_the_best_path_less_the_best_path_avoiding_the_bead(monkeypatch, block_rows):
    monkeypatch.setattr(search_module, "DOUBT_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(0)
    checked = infinite = tied = 0
    for trial in range(300):
        shapes, table, values = random_grid(rng, trial)
        search = PathSearch(shapes, table, keep_values=True)
        search.add(values[:, :2], 0)  # in two chunks, as the aligner gives them
        search.add(values[:, 2:], 2)
        try:
            path = search.path()
        except RuntimeError:  # no path through this grid's allowed beads
            continue
        paths = every_path(shapes, table, values)
        best = max(total for _, total in paths)
        doubt = search.path_doubt(path)
        assert len(doubt) == len(path) - 1
        for bead, got in zip(zip(path, path[1:]), doubt):
            avoiding = [total for beads, total in paths if bead not in beads]
            want = best - max(avoiding) if avoiding else np.inf
            assert got == pytest.approx(want, abs=1e-5), (trial, bead)
            checked += 1
            infinite += np.isinf(want)
            tied += want == 0
    assert checked > 1000 and infinite > 10 and tied > 10  # every case came up


@pytest.mark.parametrize("block_rows", [2048, 2])
def test_kept_values_in_a_temporary_file_give_the_same_doubt(monkeypatch, block_rows):
    monkeypatch.setattr(search_module, "DOUBT_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(1)
    shapes, table, values = random_grid(rng, 1)
    assert table.band.n >= 3  # more than one block of two rows
    in_ram = PathSearch(shapes, table, keep_values=True)
    monkeypatch.setattr(search_module, "KEPT_VALUES_IN_RAM", 16)
    in_file = PathSearch(shapes, table, keep_values=True)
    assert in_file.values_in_file and not in_ram.values_in_file
    for search in (in_ram, in_file):
        for start in range(0, table.band.n + 1, 2):
            search.add(values[:, start:start + 2], start)
    path = in_ram.path()
    assert in_file.path() == path
    np.testing.assert_array_equal(in_file.path_doubt(path), in_ram.path_doubt(path))
    assert (in_ram.path_doubt(path) > 0).any()
    in_file.release()
    assert not in_file.values_in_file
    with pytest.raises(RuntimeError, match="keep_values"):
        in_file.path_doubt(path)


def test_a_search_keeps_no_values_unless_asked():
    rng = np.random.default_rng(2)
    shapes, table, values = random_grid(rng, 0)
    search = PathSearch(shapes, table)
    search.add(values, 0)
    assert search.values is None and not search.values_in_file
    with pytest.raises(RuntimeError, match="keep_values"):
        search.path_doubt(search.path())
