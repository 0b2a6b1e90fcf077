"""Scoring beads: what each possible bead is worth to the path, for every
cell of the band at once.

A bead zh[i-a:i] + en[j-b:j] is described by features (FEATURES, one entry
each: a name, which is also its weight's name, and how it is computed from
the band's tables). Its similarity is the weighted sum of its features
(about its cosine); its value to the path is

    bias(a-b) - (a * b) ** size_power * (1 - similarity) - 0.01 * (a + b - 2)

so a merged bead must be much closer than the beads it replaces, as in
Vecalign, and among perfect beads the smaller wins. Leaving a sentence
unaligned is worth the bias of 1-0 / 0-1 plus skip_best_match times how much
better its best match is than the document's median. A bead's score is
sigmoid(slope * similarity + offset): the chance that it is exactly right.

Every tuned number is in a `Weights` file (align/weights.json), written by
scripts/tune_scorer.py with its provenance. This module works on arrays
only: vectors, per-sentence statistics and optional dictionary evidence.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Protocol

import numpy as np

from align.search import BandTable

WEIGHTS_FILE = Path(__file__).with_name("weights.json")


# --- what the aligner reads about each sentence ----------------------------------

@dataclass
class SentenceStats:
    """Per-sentence numbers the bead features compare across languages."""

    length: np.ndarray      # in the embedding model's tokens (or characters): any one unit per pair
    opens: np.ndarray       # 1 where the sentence starts by opening a quotation
    closes: np.ndarray      # 1 where it ends by closing one
    credits: np.ndarray     # 1 for a staff credit or byline
    quotations: np.ndarray  # quotations the sentence opens minus those it closes (-1, 0, 1)
    questions: np.ndarray   # 1 where the sentence asks

    @classmethod
    def from_lengths(cls, lengths: np.ndarray) -> "SentenceStats":
        """Lengths only: every mark (quotes, credits, questions) absent."""
        zeros = np.zeros(len(lengths))
        return cls(np.asarray(lengths, dtype=float), *[zeros] * (len(fields(cls)) - 1))

    def take(self, index: np.ndarray | slice) -> "SentenceStats":
        """The statistics of some sentences, in the order given."""
        return SentenceStats(*[np.asarray(getattr(self, f.name))[index] for f in fields(self)])

    def __len__(self) -> int:
        return len(self.length)


class DictionaryEvidence(Protocol):
    """Word matches between the two sides (align.lexicon.Lexicon is one)."""

    def coverage(self, start: np.ndarray, stop: np.ndarray) -> Callable[[np.ndarray, int, np.ndarray, int], np.ndarray]:
        """For Chinese sentence r paired with English sentences start[r]..stop[r]-1:
        a function (zh_end, a, en_end, b) -> share of each bead's words found on the other side."""

    def take(self, zh_index: np.ndarray, en_index: np.ndarray) -> "DictionaryEvidence":
        """The same evidence for a pair made of some sentences of each side."""


# --- the tuned numbers -----------------------------------------------------------

@dataclass
class Weights:
    features: dict[str, float]          # feature name -> weight
    shapes: dict[str, float]            # "a-b" -> bias, for every shape the search may use
    skip_best_match: float
    size_power: float
    length_sigma: float                 # spread of log(en length / zh length) in true beads, long sentences
    length_noise: float                 # weight of short sentences' counting noise in that spread
    neighbours: int                     # k of the margin's k nearest neighbours
    rough_skip: float                   # skip cost of the first pass (a random 1-1 pair costs about 1 there)
    calibration: tuple[float, float]    # slope, offset of the score's sigmoid
    provenance: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS_FILE) -> "Weights":
        data = json.loads(Path(path).read_text("utf-8"))
        data["calibration"] = tuple(data["calibration"])
        return cls(**data)

    def numbers(self) -> dict:
        """Everything that changes an alignment or its scores (not the provenance)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "provenance"}
        data["calibration"] = list(self.calibration)
        return data

    @property
    def id(self) -> str:
        """name#digest: the digest of the numbers, so any change shows."""
        digest = hashlib.sha256(json.dumps(self.numbers(), sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.provenance.get('name', 'weights')}#{digest}"

    def save(self, path: str | Path) -> None:
        data = self.numbers() | {"provenance": self.provenance}
        Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")

    def replace(self, **changes) -> "Weights":
        data = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return Weights(**data)

    def bias(self, a: int, b: int) -> float:
        return self.shapes[f"{a}-{b}"]


_DEFAULT: Weights | None = None


def default_weights() -> Weights:
    """The weights shipped in the package (loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Weights.load()
    return _DEFAULT


# --- the band's tables -------------------------------------------------------------

def centred(vectors: np.ndarray, min_rows: int = 2) -> np.ndarray:
    """Subtract the mean vector and renormalise. Sentence embeddings share a
    large common direction per language (e5 puts unrelated sentences at
    cosine 0.8); removing it spreads true and false pairs apart. Fewer than
    min_rows rows are returned as they are: their mean says nothing."""
    if len(vectors) < min_rows:
        return vectors
    out = vectors - vectors.mean(axis=0)
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)


def window_vectors(vectors: np.ndarray, size: int, ends: np.ndarray) -> np.ndarray:
    """The normalised sum of vectors[e-size:e] for each e in ends (rows with e < size are 0)."""
    out = np.zeros((len(ends), vectors.shape[1]), dtype=np.float32)
    for k in range(size):
        rows = ends - 1 - k
        ok = rows >= 0
        out[ok] += vectors[rows[ok]]
    out[ends < size] = 0.0
    out /= np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)
    return out


class CosineTables:
    """cos(zh[i-a:i], en[j-b:j]) for every cell of a BandTable, per (a, b),
    computed on first use by blocks of rows (one matrix product each)."""

    ROWS_PER_BLOCK = 256

    def __init__(self, zh: np.ndarray, en: np.ndarray, table: BandTable):
        self.zh, self.en, self.table = zh, en, table
        self._tables: dict[tuple[int, int], np.ndarray] = {}

    def __call__(self, a: int, b: int) -> np.ndarray:
        if (a, b) not in self._tables:
            self._tables[a, b] = self._compute(a, b)
        return self._tables[a, b]

    def _compute(self, a: int, b: int) -> np.ndarray:
        table, n, m = self.table, len(self.zh), len(self.en)
        out = np.full((n + 1, table.width), np.nan, dtype=np.float32)
        for r0 in range(0, n + 1, self.ROWS_PER_BLOCK):
            r1 = min(n + 1, r0 + self.ROWS_PER_BLOCK)
            c0, c1 = int(table.left[r0]), min(m + 1, int(table.left[r1 - 1]) + table.width)
            block = window_vectors(self.zh, a, np.arange(r0, r1)) @ window_vectors(self.en, b, np.arange(c0, c1)).T
            j = table.columns()[r0:r1]
            ok = (j >= b) & (j <= m) & (np.arange(r0, r1) >= a)[:, None]
            out[r0:r1] = np.where(ok, block[np.arange(r1 - r0)[:, None], (j - c0).clip(0, c1 - c0 - 1)], np.nan)
        return out


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values) + 1)
    np.cumsum(np.asarray(values, dtype=float), out=out[1:])
    return out


class Cells:
    """What the features of one bead shape (a, b) read, for every cell (i, j)
    of the band's table at once: cosines of any windows, sums of per-sentence
    statistics over the bead's sentences, and per-document baselines."""

    def __init__(self, context: "BeadContext", a: int, b: int):
        self.context, self.a, self.b = context, a, b
        table = context.table
        self.i = np.arange(table.band.n + 1)[:, None]
        self.j = table.columns()

    def cos(self, a: int | None = None, b: int | None = None, di: int = 0, dj: int = 0) -> np.ndarray:
        """Cosine of zh[i-di-a : i-di] with en[j-dj-b : j-dj] (this bead's sizes by default)."""
        a, b = a or self.a, b or self.b
        table = self.context.cosines(a, b)
        return table if di == dj == 0 else self.context.table.shifted(table, di, dj)

    def zh_sum(self, name: str, count: int | None = None, end: int = 0) -> np.ndarray:
        """Sum of zh statistic `name` over sentences i-end-count .. i-end-1 (column vector)."""
        count = self.a if count is None else count
        prefix = self.context.zh_prefix[name]
        hi = (self.i - end).clip(0, len(prefix) - 1)
        return prefix[hi] - prefix[(hi - count).clip(0, None)]

    def en_sum(self, name: str, count: int | None = None, end: int = 0) -> np.ndarray:
        """Sum of en statistic `name` over sentences j-end-count .. j-end-1."""
        count = self.b if count is None else count
        prefix = self.context.en_prefix[name]
        hi = (self.j - end).clip(0, len(prefix) - 1)
        return prefix[hi] - prefix[(hi - count).clip(0, None)]

    def zh_at(self, name: str, sentence_offset: int) -> np.ndarray:
        """zh statistic of sentence i - sentence_offset."""
        values = getattr(self.context.zh_stats, name)
        return values[(self.i - sentence_offset).clip(0, len(values) - 1)]

    def en_at(self, name: str, sentence_offset: int) -> np.ndarray:
        values = getattr(self.context.en_stats, name)
        return values[(self.j - sentence_offset).clip(0, len(values) - 1)]

    def difference(self, name: str) -> np.ndarray:
        """How many more of the bead's sentences are marked `name` on one side than on the other (at most 2)."""
        return np.abs(self.zh_sum(name) - self.en_sum(name)).clip(0, 2)

    def length_z(self, a: int | None = None, b: int | None = None, end: int = 0) -> np.ndarray:
        """How far the log length ratio of zh[i-end-a:i-end] + en[j-end-b:j-end]
        is from the document's, in standard deviations. A length of k tokens is
        a count, noisy by about sqrt(k), so the log ratio of short sentences
        spreads more: its variance is sigma^2 + length_noise * (1/zh + 1/en),
        as for the log ratio of two Poisson counts."""
        weights = self.context.weights
        zh = self.zh_sum("length", a, end) + 1
        en = self.en_sum("length", b, end) + 1
        spread = np.sqrt(weights.length_sigma ** 2 + weights.length_noise * (1 / zh + 1 / en))
        return (np.log(en / zh) - self.context.log_ratio) / spread


@dataclass(frozen=True)
class Feature:
    name: str                               # also the name of its weight
    compute: Callable[[Cells], np.ndarray]  # (n + 1) x width, in the band table's layout


FEATURES: list[Feature] = []


def feature(compute: Callable[[Cells], np.ndarray]) -> Callable[[Cells], np.ndarray]:
    """Register a bead feature under its function's name."""
    FEATURES.append(Feature(compute.__name__, compute))
    return compute


@feature
def cos(c: Cells) -> np.ndarray:
    """Cosine of the bead's summed sentence vectors."""
    return c.cos()


@feature
def margin(c: Cells) -> np.ndarray:
    """The cosine against each sentence's nearest neighbours on the other side
    (as in Bertalign and LASER): a bead of sentences that are close to
    everything is no evidence."""
    return c.cos() - (c.zh_sum("neighbours") / c.a + c.en_sum("neighbours") / c.b) / 2


@feature
def length_z2(c: Cells) -> np.ndarray:
    """The squared length z-score (Cells.length_z)."""
    return c.length_z() ** 2


@feature
def merge_loss(c: Cells) -> np.ndarray:
    """A sentence at either end of the bead that lowers its similarity does not
    belong there (a credit line tacked onto a sentence): the loss against the
    better of the beads without an end sentence."""
    loss = np.zeros_like(c.cos())
    if c.b > 1:
        loss += np.minimum(0, c.cos() - np.fmax(c.cos(b=c.b - 1, dj=1), c.cos(b=c.b - 1)))
    if c.a > 1:
        loss += np.minimum(0, c.cos() - np.fmax(c.cos(a=c.a - 1, di=1), c.cos(a=c.a - 1)))
    return loss


@feature
def weakest_member(c: Cells) -> np.ndarray:
    """The sentence of the bead least like the other side's window, against the
    bead's cosine (0 in a 1-1 bead): a merge is only as good as its weakest member."""
    members = [c.cos(a=1, di=k) for k in range(c.a)] + [c.cos(b=1, dj=k) for k in range(c.b)]
    return np.minimum.reduce(members) - c.cos()


def _agreement(zh_flag: np.ndarray, en_flag: np.ndarray) -> np.ndarray:
    """+1 where both sides are marked, 0 where neither is, -1 where only one is."""
    return np.where(en_flag == zh_flag, zh_flag, -1.0)


@feature
def quote_edges(c: Cells) -> np.ndarray:
    """Dialogue marks survive translation: +1 for each edge where both sides
    open (close) a quotation, -1 where only one does."""
    return (_agreement(c.zh_at("opens", c.a), c.en_at("opens", c.b))
            + _agreement(c.zh_at("closes", 1), c.en_at("closes", 1)))


@feature
def credit_diff(c: Cells) -> np.ndarray:
    """A staff credit or byline pairs only with another one."""
    return c.difference("credits")


@feature
def dictionary(c: Cells) -> np.ndarray:
    """Share of the bead's words the dictionary finds on the other side."""
    return c.context.dictionary_coverage(c)


@feature
def split_lengths(c: Cells) -> np.ndarray:
    """A sentence boundary moved in translation (part of one side's first
    sentence went into the other side's second): a 2-2 bead whose lengths
    balance while its two 1-1 halves are off in opposite directions. (For
    larger beads the same term admitted wrong merges.)"""
    if c.a == c.b == 2:
        return np.clip(-c.length_z(1, 1, end=1) * c.length_z(1, 1), 0, 4)
    return np.zeros_like(c.cos())


@feature
def quotes_left_open(c: Cells) -> np.ndarray:
    """A quotation the bead leaves open on one side but not on the other."""
    return c.difference("quotations")


@feature
def questions_diff(c: Cells) -> np.ndarray:
    """Questions stay questions in translation."""
    return c.difference("questions")


@feature
def turns_inside(c: Cells) -> np.ndarray:
    """A turn of dialogue ends or starts inside the bead: an English sentence
    before its last closes a quotation, or a Chinese one after its first opens
    one. (MAC-Dev gold: 3 of 196 English sentences that close a quotation sit
    inside a bead, 0 of 72 Chinese that open one.)"""
    return c.en_sum("closes", c.b - 1, end=1) + c.zh_sum("opens", c.a - 1)


# --- from features to values -----------------------------------------------------

class BeadContext:
    """Everything the features of one document pair read, over one band."""

    def __init__(self, zh: np.ndarray, en: np.ndarray, zh_stats: SentenceStats, en_stats: SentenceStats,
                 table: BandTable, weights: Weights, dictionary: DictionaryEvidence | None = None,
                 keep_features: bool = False):
        # Of the weights, the features read only the length spreads and the neighbours' k.
        self.table, self.weights = table, weights
        self._kept: dict[tuple[int, int], dict[str, np.ndarray]] | None = {} if keep_features else None
        self.zh_stats, self.en_stats = zh_stats, en_stats
        self.cosines = CosineTables(zh, en, table)
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
            self._dictionary = dictionary.coverage(*table.band.columns_near(max(table.width, 1)))

    def dictionary_coverage(self, c: Cells) -> np.ndarray:
        out = np.zeros(c.j.shape)
        if self._dictionary is None:
            return out
        i = np.broadcast_to(c.i, c.j.shape)
        ok = self.table.inside() & (i >= c.a) & (c.j >= c.b) & (c.j <= len(self.en_stats))
        out[ok] = self._dictionary(i[ok], c.a, c.j[ok], c.b)
        return out

    def similarity(self, a: int, b: int, weights: Weights) -> np.ndarray:
        """Features . weights for every cell (n + 1) x width."""
        if self._kept is not None and (a, b) not in self._kept:
            cells = Cells(self, a, b)
            self._kept[a, b] = {f.name: np.nan_to_num(f.compute(cells), nan=0.0) for f in FEATURES}
        cells = None if self._kept is not None else Cells(self, a, b)
        total = np.zeros(self.table.columns().shape)
        for f in FEATURES:
            weight = weights.features.get(f.name, 0.0)
            if weight:
                values = self._kept[a, b][f.name] if cells is None else np.nan_to_num(f.compute(cells), nan=0.0)
                total += weight * values
        return total

    def features(self, a: int, b: int, i: int, j: int) -> dict[str, float]:
        """Every feature of one bead zh[i-a:i] + en[j-b:j] (for inspection and tests)."""
        cells = Cells(self, a, b)
        c = j - self.table.left[i]
        return {f.name: float(np.asarray(f.compute(cells))[i, c]) for f in FEATURES}

    def values(self, shapes: list[tuple[int, int]], weights: Weights,
               fixed_skip: float | None = None) -> tuple[np.ndarray, dict]:
        """What a bead of each shape ending at each cell adds to the path
        (-inf outside the band), and the similarity tables of the paired shapes."""
        table = self.table
        inside = table.inside()
        i = np.arange(table.band.n + 1)[:, None]
        j = table.columns()
        out = np.full((len(shapes), *j.shape), -np.inf)
        similarities = {}
        for s, (a, b) in enumerate(shapes):
            ok = inside & (i >= a) & (j >= b)
            if a == 0 or b == 0:
                if fixed_skip is not None:
                    value = np.full(j.shape, -fixed_skip)
                else:
                    # Leaving out a sentence that has a close match nearby costs more.
                    best_match = (self.zh_best_match[(i - 1).clip(0, None)] if b == 0
                                  else self.en_best_match[(j - 1).clip(0, len(self.en_best_match) - 1)])
                    value = weights.bias(a, b) + weights.skip_best_match * best_match + np.zeros(j.shape)
            else:
                similarity = self.similarity(a, b, weights)
                similarities[a, b] = similarity
                distance = (1 - similarity).clip(0, None)
                value = weights.bias(a, b) - (a * b) ** weights.size_power * distance - 0.01 * (a + b - 2)
            out[s] = np.where(ok, value, -np.inf)
        return out, similarities



def bead_score(similarity: np.ndarray | float, weights: Weights) -> np.ndarray:
    """The chance that a bead with this similarity is exactly right."""
    slope, offset = weights.calibration
    return 1 / (1 + np.exp(-(slope * np.asarray(similarity) + offset)))


def rough_values(zh: np.ndarray, en: np.ndarray, table: BandTable, shapes: list[tuple[int, int]],
                 skip: float) -> np.ndarray:
    """First pass: Vecalign's cost, the bead's cosine distance relative to
    random beads of the same sizes, times the sentences it pairs."""
    cosines = CosineTables(zh, en, table)
    inside = table.inside()
    i = np.arange(len(zh) + 1)
    j = table.columns()
    out = np.full((len(shapes), *j.shape), -np.inf)
    for s, (a, b) in enumerate(shapes):
        ok = inside & (i[:, None] >= a) & (j >= b)
        if a == 0 or b == 0:
            out[s] = np.where(ok, -skip, -np.inf)
            continue
        if len(zh) < a or len(en) < b:  # no bead of this shape fits
            continue
        zh_windows = window_vectors(zh, a, i)
        en_windows = window_vectors(en, b, np.arange(len(en) + 1))
        # Mean cosine with random beads of the other side's size is the dot
        # with the mean of all such beads: Vecalign's normaliser, exactly.
        zh_mean, en_mean = zh_windows[a:].mean(axis=0), en_windows[b:].mean(axis=0)
        en_base = (en_windows @ zh_mean)[j.clip(0, len(en))]
        base = ((zh_windows @ en_mean)[:, None] + en_base) / 2
        distance = (1 - cosines(a, b)) / (1 - base).clip(1e-3)
        out[s] = np.where(ok, -a * b * distance, -np.inf)
    return out


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
