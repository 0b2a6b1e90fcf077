"""Scoring beads: what each possible bead is worth to the path, for every
cell of the band at once, and how sure each bead of an alignment is.

A bead's similarity is the weighted sum of its features (align.features;
about its cosine); its value to the path is

    bias(a-b) - (a * b) ** size_power * (1 - similarity) - 0.01 * (a + b - 2)

so a merged bead must be much closer than the beads it replaces, as in
Vecalign, and among perfect beads the smaller wins. Leaving a sentence
unaligned is worth the bias of 1-0 / 0-1 plus skip_best_match times how much
better its best match is than the document's median, plus skip_repeat for a
word-for-word repeat of the sentence before it (its copy translates nothing).
A bead's score is the chance that it is exactly right: a sigmoid of its
similarity, of its neighbours' and of its shape (bead_score, score_inputs). The first pass's values
(rough_values) are Vecalign's cost alone.

Every tuned number is in a `Weights` file (align.weights), written by
scripts/tune_scorer.py with its provenance. This module works on arrays
only: vectors, per-sentence statistics and optional dictionary evidence.
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np

from align.features import FEATURES, Cells, DictionaryEvidence, SentenceStats
from align.geometry import CosineTables, cosine_sizes, neighbour_means, window_dots, window_mean
from align.search import BandTable
from align.weights import SCORE_INPUTS, WEAK_CONTEXT_BELOW, Weights


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values) + 1)
    np.cumsum(np.asarray(values, dtype=float), out=out[1:])
    return out


# --- from features to values -----------------------------------------------------

class BeadContext:
    """Everything the features of one document pair read, over one band.

    The band's rows are scored a chunk at a time (ROWS_PER_CHUNK), so that the
    tables of a long document never all exist at once; a chunk also holds the
    rows just above it that its beads' members and neighbours sit in."""

    ROWS_PER_CHUNK = 2048

    def __init__(self, zh: np.ndarray, en: np.ndarray, zh_stats: SentenceStats, en_stats: SentenceStats,
                 table: BandTable, shapes: list[tuple[int, int]], weights: Weights,
                 dictionary: DictionaryEvidence | None = None, keep_features: bool = False):
        # Of the weights, the features read only the length spreads and the neighbours' k.
        self.zh, self.en, self.table, self.weights = zh, en, table, weights
        self.zh_stats, self.en_stats = zh_stats, en_stats
        self.sizes = cosine_sizes(shapes)
        self.reach = max(max(a, b) for a, b in shapes)  # the most sentences a bead has on one side
        self._kept: dict | None = {} if keep_features else None
        zh_knn, en_knn, zh_top1, en_top1 = neighbour_means(zh, en, table.band, weights.neighbours)
        # How much closer each sentence's best match is than the document's typical best match.
        self.zh_best_match, self.en_best_match = zh_top1 - np.median(zh_top1), en_top1 - np.median(en_top1)
        self.zh_prefix = {f.name: _prefix(getattr(zh_stats, f.name)) for f in fields(zh_stats)}
        self.en_prefix = {f.name: _prefix(getattr(en_stats, f.name)) for f in fields(en_stats)}
        self.zh_prefix["neighbours"], self.en_prefix["neighbours"] = _prefix(zh_knn), _prefix(en_knn)
        # Expected log length ratio for this document pair.
        self.log_ratio = np.log(max(en_stats.length.sum(), 1.0) / max(zh_stats.length.sum(), 1.0))
        self._dictionary = None
        if dictionary is not None:
            self._dictionary = dictionary.coverage(*table.band.columns_near(self.reach))

    def chunks(self) -> list[tuple[int, int]]:
        """[start, stop) of each chunk of DP rows."""
        n = self.table.band.n
        return [(start, min(n + 1, start + self.ROWS_PER_CHUNK)) for start in range(0, n + 1, self.ROWS_PER_CHUNK)]

    def _chunk_cells(self, start: int, stop: int) -> tuple[BandTable, CosineTables]:
        """The table of rows [start - reach, stop) and its cosines."""
        table = self.table.rows_of(max(0, start - self.reach), stop)
        return table, CosineTables(self.zh, self.en, table, self.sizes)

    def dictionary_coverage(self, c: Cells) -> np.ndarray:
        out = np.zeros(c.j.shape)
        if self._dictionary is None:
            return out
        i = np.broadcast_to(c.i, c.j.shape)
        ok = c.table.inside & (i >= c.a) & (c.j >= c.b) & (c.j <= len(self.en_stats))
        out[ok] = self._dictionary(i[ok], c.a, c.j[ok], c.b)
        return out

    def _features(self, key, cells: Cells) -> dict[str, np.ndarray]:
        if self._kept is not None and key in self._kept:
            return self._kept[key]
        features = {f.name: np.nan_to_num(f.compute(cells), nan=0.0) for f in FEATURES}
        if self._kept is not None:
            self._kept[key] = features
        return features

    def _similarity(self, key, cells: Cells, weights: Weights) -> np.ndarray:
        """Features . weights for every cell of the chunk."""
        total = np.zeros(cells.j.shape)
        if self._kept is not None:
            for name, values in self._features(key, cells).items():
                total += weights.features[name] * values
            return total
        for f in FEATURES:
            weight = weights.features[f.name]
            if weight:
                total += weight * np.nan_to_num(f.compute(cells), nan=0.0)
        return total

    def features(self, a: int, b: int, i: int, j: int) -> dict[str, float]:
        """Every feature of one bead zh[i-a:i] + en[j-b:j] (for inspection and tests)."""
        table, cosines = self._chunk_cells(i, i + 1)
        cells = Cells(self, table, cosines, a, b)
        row, column = i - table.first, j - table.left[i - table.first]
        return {f.name: float(np.asarray(f.compute(cells))[row, column]) for f in FEATURES}

    def bead_similarity(self, a: int, b: int, i: int, j: int, weights: Weights) -> float:
        """The similarity of one bead zh[i-a:i] + en[j-b:j] (features . weights), as the search sees it."""
        return sum(weights.features[name] * (0.0 if np.isnan(value) else value)
                   for name, value in self.features(a, b, i, j).items())

    def values(self, shapes: list[tuple[int, int]], weights: Weights, fixed_skip: float | None = None):
        """For each chunk of rows, in order: (start, values, similarities):
        values[s] what a bead of shapes[s] ending at each cell of rows
        start.. adds to the path (-inf outside the band; float32, the largest
        arrays here), similarities[s] its similarity (NaN for 1-0 and 0-1)."""
        for start, stop in self.chunks():
            table, cosines = self._chunk_cells(start, stop)
            own = slice(start - table.first, None)  # the chunk's own rows, below the ones it reads
            inside, i, j = table.inside[own], table.rows[own, None], table.columns[own]
            out = np.full((len(shapes), *j.shape), -np.inf, dtype=np.float32)
            similarities = np.full(out.shape, np.nan, dtype=np.float32)
            for s, (a, b) in enumerate(shapes):
                ok = inside & (i >= a) & (j >= b)
                if a == 0 or b == 0:
                    if fixed_skip is not None:
                        value = np.full(j.shape, -fixed_skip)
                    else:
                        # Leaving out a sentence that has a close match nearby costs more.
                        sentence = (i - 1).clip(0, None) if b == 0 else (j - 1).clip(0, len(self.en_best_match) - 1)
                        best_match = (self.zh_best_match if b == 0 else self.en_best_match)[sentence]
                        repeats = (self.zh_stats if b == 0 else self.en_stats).repeats[sentence]
                        value = (weights.bias(a, b) + weights.skip_best_match * best_match
                                 + weights.skip_repeat * repeats + np.zeros(j.shape))
                else:
                    cells = Cells(self, table, cosines, a, b)
                    similarity = self._similarity((start, a, b), cells, weights)[own]
                    similarities[s] = similarity
                    distance = (1 - similarity).clip(0, None)
                    value = weights.bias(a, b) - (a * b) ** weights.size_power * distance - 0.01 * (a + b - 2)
                out[s] = np.where(ok, value, -np.inf)
            yield start, out, similarities


def context_similarity(similarity: np.ndarray, beads: int) -> np.ndarray:
    """For each bead of an alignment, in order, the median similarity of up to `beads`
    paired beads before it and as many after (unaligned ones, NaN, skipped; a bead
    with no paired neighbour is its own context). NaN stays NaN."""
    similarity = np.asarray(similarity, dtype=float)
    out = similarity.copy()
    paired = np.flatnonzero(~np.isnan(similarity))
    if len(paired) > 1:
        padded = np.pad(similarity[paired], beads, constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * beads + 1).copy()
        windows[:, beads] = np.nan  # not the bead itself
        out[paired] = np.nanmedian(windows, axis=1)
    return out


def score_inputs(similarity: np.ndarray, context_beads: int, shapes: list[tuple[int, int]] | None = None,
                 weak_context_below: float = 0.0, doubt: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """SCORE_INPUTS for each bead of an alignment (its similarities in order, NaN for
    unaligned ones; shapes: (zh, en) sentences of each bead, needed for beside_unaligned;
    doubt: the search's doubt of each bead, needed for doubt):
    similarity; context, the median similarity of up to context_beads paired beads either
    side (context_similarity); weak_context, how far the context falls below
    weak_context_below (0 above it: unrelated text's context is low, a translation's is
    not, and how much higher a translation's is says little more); beside_unaligned, 1 for a
    bead next to a sentence left unaligned (a boundary there is often off by one); doubt,
    log1p(min(doubt, DOUBT_CAP)) (see DOUBT_CAP)."""
    similarity = np.asarray(similarity, dtype=float)
    context = context_similarity(similarity, context_beads)
    out = {"similarity": similarity, "context": context, "weak_context": (weak_context_below - context).clip(0, None)}
    if shapes is not None:
        if len(shapes) != len(similarity):
            raise ValueError(f"{len(shapes)} bead shapes for {len(similarity)} similarities")
        unaligned = np.array([not (a and b) for a, b in shapes], dtype=bool).reshape(len(similarity))
        beside = np.zeros(len(unaligned), dtype=bool)
        beside[1:] |= unaligned[:-1]
        beside[:-1] |= unaligned[1:]
        out["beside_unaligned"] = beside.astype(float)
    if doubt is not None:
        doubt = np.asarray(doubt, dtype=float)
        if doubt.shape != similarity.shape:
            raise ValueError(f"{doubt.size} doubts for {len(similarity)} similarities")
        out["doubt"] = np.log1p(doubt.clip(0, DOUBT_CAP))
    return out


# The search's doubt of a bead (align.search.PathSearch.path_doubt: the best path's value less
# the best value of a path without the bead) says how much the path loses if the bead is wrong:
# right beads' is high, wrong ones' low (AUC 0.857 on 3,764 held-out beads of the 18 MAC chapters,
# the similarity's 0.688; docs/experiments.md, stop 31). The score reads log1p of it (better than
# any cap alone there), capped so that a bead no path avoids (inf: an anchor, or a bead with no
# rival in the band) is a finite number: MAC's held-out beads' doubts are below 2 but for a few,
# and beads above 1 were all but all right, so a cap at 10 changes nothing else.
DOUBT_CAP = 10.0
# What a calibration's inputs need, besides the similarities (score_inputs' arguments).
_NEEDS = {"beside_unaligned": "the beads' shapes", "doubt": "the beads' doubts"}


def bead_score(similarity: np.ndarray, weights: Weights, shapes: list[tuple[int, int]] | None = None,
               doubt: np.ndarray | None = None) -> np.ndarray:
    """The chance that each bead of an alignment (its beads' similarities in order,
    NaN for unaligned ones; shapes: each bead's (zh, en) sentence counts; doubt: the
    search's doubt of each bead) is exactly right.
    With three calibration numbers the bead's context counts too: a weak bead among strong
    ones is mostly a free translation, among weak ones mostly unrelated text (MAC-Dev,
    held-out chapters: calibration error 0.133 -> 0.062; docs/experiments.md). A calibration
    given as a mapping weighs the named score_inputs (tuning.calibrate; by novel on the 18 MAC
    chapters, calibration error 0.091 -> 0.02: docs/experiments.md, stop 30)."""
    similarity = np.asarray(similarity, dtype=float)
    calibration = weights.calibration
    if isinstance(calibration, dict):
        inputs = score_inputs(similarity, weights.context_beads, shapes, calibration.get(WEAK_CONTEXT_BELOW, 0.0),
                              doubt)
        read = {name: coefficient for name, coefficient in calibration.items() if name in SCORE_INPUTS}
        missing = [name for name in read if name not in inputs]
        if missing:
            raise ValueError(f"the calibration reads {', '.join(missing)}: give "
                             + " and ".join(sorted({_NEEDS[name] for name in missing})))
        total = calibration["offset"] + sum(coefficient * inputs[name] for name, coefficient in read.items())
        return 1 / (1 + np.exp(-total))
    if len(calibration) == 2:
        slope, offset = calibration
        return 1 / (1 + np.exp(-(slope * similarity + offset)))
    slope, context_slope, offset = calibration
    context = context_similarity(similarity, weights.context_beads)
    return 1 / (1 + np.exp(-(slope * similarity + context_slope * context + offset)))


def rough_values(zh: np.ndarray, en: np.ndarray, table: BandTable, shapes: list[tuple[int, int]],
                 skip: float) -> np.ndarray:
    """First pass: Vecalign's cost, the bead's cosine distance relative to
    random beads of the same sizes, times the sentences it pairs."""
    cosines = CosineTables(zh, en, table, cosine_sizes(shapes))
    inside, i, j = table.inside, table.rows, table.columns
    sizes_a = {a for a, b in shapes if a and b and len(zh) >= a}
    sizes_b = {b for a, b in shapes if a and b and len(en) >= b}
    # Mean cosine with random beads of the other side's size is the dot with
    # the mean of all such beads: Vecalign's normaliser, exactly.
    zh_mean = {a: window_mean(zh, a) for a in sizes_a}
    en_mean = {b: window_mean(en, b) for b in sizes_b}
    out = np.full((len(shapes), *j.shape), -np.inf, dtype=np.float32)
    for s, (a, b) in enumerate(shapes):
        ok = inside & (i[:, None] >= a) & (j >= b)
        if a == 0 or b == 0:
            out[s] = np.where(ok, -skip, -np.inf)
            continue
        if a not in sizes_a or b not in sizes_b:  # no bead of this shape fits
            continue
        zh_base = window_dots(zh, a, en_mean[b], i)
        en_base = window_dots(en, b, zh_mean[a], np.arange(len(en) + 1))[j.clip(0, len(en))]
        base = (zh_base[:, None] + en_base) / 2
        distance = (1 - cosines(a, b)) / (1 - base).clip(1e-3)
        out[s] = np.where(ok, -a * b * distance, -np.inf)
    return out


