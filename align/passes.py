"""The two passes of the search, as in Vecalign, and what an alignment is made of.

A first pass finds a rough path with small beads (1-1, 1-2, 2-1, 1-0, 0-1)
and Vecalign's cost: on the full similarity grid when the documents are
short, otherwise on a band around the path found for the same documents at
half resolution (adjacent sentences averaged), recursively. The second pass
scores every bead shape the weights have a bias for (align.scoring) in a
band around that rough path and searches it again (align.search).

Works on arrays only; align.aligning.align_vectors is the way in (and
align.anchoring builds on these passes for the stretches between anchors).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from align.attaching import attach_unaligned, carried_over
from align.features import DictionaryEvidence, SentenceStats
from align.geometry import CentredRows
from align.scoring import BeadContext, bead_score, rough_values
from align.search import Band, BandTable, PathSearch, best_path
from align.weights import Weights

# Cells of the full grid we are willing to fill before switching to a band.
FULL_GRID_LIMIT = 1_000_000
ROUGH_SHAPES = [(1, 1), (1, 2), (2, 1), (1, 0), (0, 1)]


@dataclass
class AlignParams:
    """What a user may set; every tuned number is in the Weights."""

    max_bead: int = 6          # most sentences on one side of a bead (1-5 and 1-6 occur in novels)
    max_total: int = 8         # most sentences in a bead, both sides together
    skip: float | None = None  # a fixed cost of leaving a sentence unaligned (default: the fitted one)
    band: int = 8              # half width of the second-pass band, in sentences
    coarse_band: int = 6       # half width of the band projected from a coarser level


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
    band: Band = field(repr=False)  # the second pass's band: allowed columns [lo, hi) per DP row
    similarity: list[float] = field(default_factory=list, repr=False)  # of each bead (NaN for unaligned ones)
    # The search's doubt of each bead (PathSearch.path_doubt; inf for an anchor, NaN for unaligned beads).
    doubt: list[float] = field(default_factory=list, repr=False)


def bead_shapes(params: AlignParams, weights: Weights) -> list[tuple[int, int]]:
    """(zh sentences, en sentences) of every bead kind searched: those the
    weights have a bias for (only those were tuned, so only those can win),
    within the user's size limits; 1-0 and 0-1 last."""
    shapes = [tuple(int(x) for x in kind.split("-")) for kind in weights.shapes]
    paired = [(a, b) for a, b in shapes if a and b and max(a, b) <= params.max_bead and a + b <= params.max_total]
    return paired + [(1, 0), (0, 1)]


class Profile(Protocol):
    """What the aligner reads of an align.profile.Profile (which also names the model)."""

    weights: Weights
    params: AlignParams


def weights_and_params(weights: Weights | Profile, params: AlignParams | None) -> tuple[Weights, AlignParams]:
    """The Weights and the AlignParams to align with: given weights and params,
    or a profile's (params given override the profile's)."""
    if isinstance(weights, Weights):
        return weights, params or AlignParams()
    if weights is None or not hasattr(weights, "weights"):
        raise TypeError(f"weights must be Weights or a Profile, not {type(weights).__name__}")
    return weights.weights, params or weights.params


def two_passes(
    zh: np.ndarray,
    en: np.ndarray,
    zh_stats: SentenceStats | None,
    en_stats: SentenceStats | None,
    params: AlignParams,
    weights: Weights,
    dictionary: DictionaryEvidence | None = None,
) -> Alignment:
    """Beads covering every sentence of both sides once, in order, from both passes
    (align.aligning.align_vectors says what the arguments are)."""
    n, m = len(zh), len(en)
    if n == 0 or m == 0:
        beads = [Bead([i], [], 0.0) for i in range(n)] + [Bead([], [j], 0.0) for j in range(m)]
        return Alignment(beads, Band.full(n, m), [float("nan")] * len(beads), [float("nan")] * len(beads))
    zh, en = CentredRows(zh), CentredRows(en)  # centred as they are read: long documents held once
    zh_stats = zh_stats if zh_stats is not None else SentenceStats.from_lengths(np.ones(n))
    en_stats = en_stats if en_stats is not None else SentenceStats.from_lengths(np.ones(m))

    return best_alignment(bead_context(zh, en, zh_stats, en_stats, params, weights, dictionary), params, weights)


def bead_context(
    zh: np.ndarray,
    en: np.ndarray,
    zh_stats: SentenceStats,
    en_stats: SentenceStats,
    params: AlignParams,
    weights: Weights,
    dictionary: DictionaryEvidence | None = None,
    keep_features: bool = False,
) -> BeadContext:
    """The first pass, the second pass's band and what its features read.
    zh, en centred already (arrays, or CentredRows: read only by slices). keep_features keeps every feature table, so that
    best_alignment with other feature weights costs only the search (tuning)."""
    rough_path = _rough_path(zh, en, params, weights)
    band = Band.around(rough_path, len(zh), len(en), params.band)
    shapes = bead_shapes(params, weights)
    table = BandTable.for_band(band, max(a for a, _ in shapes), max(b for _, b in shapes))
    return BeadContext(zh, en, zh_stats, en_stats, table, shapes, weights, dictionary, keep_features)


def best_alignment(context: BeadContext, params: AlignParams, weights: Weights, scored: bool = True) -> Alignment:
    """The second pass: every bead shape scored over the band, chunk by chunk,
    and the best path found, with the search's doubt of each of its beads.
    scored=False: the beads alone, every score NaN and every doubt NaN unless
    attaching reads it (a fit's F1 reads none, and the doubt's backward pass would
    cost it about 40% more a search)."""
    shapes = bead_shapes(params, weights)
    search = filled_search(context, shapes, params, weights, needs_doubt(weights, params, scored))
    path, similarity, doubt = searched_beads(search, context, shapes, params, weights, scored)
    return alignment_of(path, similarity, doubt, search.table.band, weights, scored)


def filled_search(context: BeadContext, shapes: list[tuple[int, int]], params: AlignParams, weights: Weights,
                  keep_values: bool) -> PathSearch:
    """A search over the context's band with every bead of `shapes` valued, chunk by chunk."""
    search = PathSearch(shapes, context.table, keep_values=keep_values)
    for start, values, similarities in context.values(shapes, weights, params.skip):
        search.add(values, start, similarities)  # the search keeps the winning beads' similarities
    return search


def searched_beads(search: PathSearch, context: BeadContext, shapes: list[tuple[int, int]], params: AlignParams,
                   weights: Weights, scored: bool = True, kept_out: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[list[tuple[int, int]], list[float], list[float]]:
    """A filled search's path (its DP nodes), each bead's similarity and the search's doubt of it
    (NaN unless needs_doubt; the kept values are let go after), with the sentences align.attaching
    joins to their neighbours (never those `kept_out`) unless the skip cost is fixed."""
    path, similarity, doubt = searched_path(search, needs_doubt(weights, params, scored))
    return attached(path, similarity, doubt, context, shapes, params, weights, kept_out)


def searched_path(search: PathSearch, doubted: bool) -> tuple[list[tuple[int, int]], list[float], list[float]]:
    """A filled search's best path, each bead's similarity and (when `doubted`: the search
    kept its values) its doubt, else NaN; nothing attached yet. The kept values are let go."""
    path = search.path()
    doubt = list(search.path_doubt(path)) if doubted else [float("nan")] * (len(path) - 1)
    search.release()  # the kept values (an unnamed temporary file beyond KEPT_VALUES_IN_RAM)
    return path, list(search.path_labels(path)), doubt


def attached(path: list[tuple[int, int]], similarity: list[float], doubt: list[float], context: BeadContext,
             shapes: list[tuple[int, int]], params: AlignParams, weights: Weights,
             kept_out: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[list[tuple[int, int]], list[float], list[float]]:
    """searched_path's lists with the sentences align.attaching joins to a neighbour (none when the
    skip cost is fixed: that is the user's say on what is left out); a merged bead takes the
    smallest of its members' doubts (attaching.carried_over)."""
    if params.skip is not None:
        return path, similarity, doubt
    joined, similarity = attach_unaligned(path, similarity, context, shapes, weights, kept_out, doubt)
    return joined, similarity, carried_over(path, doubt, joined)


def needs_doubt(weights: Weights, params: AlignParams, scored: bool = True) -> bool:
    """Whether the search must keep its values for the doubt of its beads: for their scores,
    or for attaching a sentence left out by a hair (align.attaching; never with a fixed skip cost)."""
    return scored or (weights.attach_doubt is not None and params.skip is None)


def bead_scores(similarity: list[float], shapes: list[tuple[int, int]], doubt: list[float],
                weights: Weights) -> np.ndarray:
    """scoring.bead_score of an alignment's beads, 0 for unaligned ones."""
    return np.nan_to_num(bead_score(np.array(similarity, dtype=float), weights, shapes, np.array(doubt, dtype=float)),
                         nan=0.0)


def _rough_path(zh: np.ndarray, en: np.ndarray, params: AlignParams, weights: Weights) -> list[tuple[int, int]]:
    """The first pass: the full grid if small, else a band around the path of
    the half-resolution documents (Vecalign's recursion)."""
    n, m = len(zh), len(en)
    if (n + 1) * (m + 1) <= FULL_GRID_LIMIT or min(n, m) < 8:
        band = Band.full(n, m)
    else:
        half = _rough_path(_halve(zh), _halve(en), params, weights)
        band = Band.around([(min(2 * i, n), min(2 * j, m)) for i, j in half], n, m, params.coarse_band)
    table = BandTable.for_band(band, 2, 2)
    return best_path(rough_values(zh, en, table, ROUGH_SHAPES, weights.rough_skip), ROUGH_SHAPES, table)


def _halve(vectors: np.ndarray | CentredRows, block: int = 8192) -> np.ndarray:
    """Average each pair of adjacent sentences (a last odd one stands alone),
    a block of rows at a time (CentredRows are made as they are read)."""
    n, dim = vectors.shape
    out = np.empty(((n + 1) // 2, dim), dtype=vectors.dtype)
    for start in range(0, n, block):  # block is even: pairs never straddle two blocks
        rows = vectors[start:min(n, start + block)]
        pairs = len(rows) // 2
        out[start // 2: start // 2 + pairs] = rows[: 2 * pairs].reshape(pairs, 2, dim).sum(axis=1)
        if len(rows) % 2:
            out[-1] = rows[-1]
    out /= np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)
    return out


def alignment_of(path: list[tuple[int, int]], similarity: list[float], doubt: list[float], band: Band,
                 weights: Weights, scored: bool = True) -> Alignment:
    """The Alignment a path makes: its beads, their similarities, doubts and (when scored) scores."""
    spans = list(zip(path, path[1:]))
    shapes = [(i1 - i0, j1 - j0) for (i0, j0), (i1, j1) in spans]
    doubt = [float(d) if i1 > i0 and j1 > j0 else float("nan") for ((i0, j0), (i1, j1)), d in zip(spans, doubt)]
    scores = bead_scores(similarity, shapes, doubt, weights) if scored else np.full(len(spans), np.nan)
    beads = [Bead(list(range(i0, i1)), list(range(j0, j1)), float(score))
             for ((i0, j0), (i1, j1)), score in zip(spans, scores)]
    return Alignment(beads, band, similarity, doubt)
