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
better its best match is than the document's median, plus skip_repeat for a
word-for-word repeat of the sentence before it (its copy translates nothing). A bead's score is
sigmoid(slope * similarity + offset): the chance that it is exactly right.

Every tuned number is in a `Weights` file (align/weights.json), written by
scripts/tune_scorer.py with its provenance. This module works on arrays
only: vectors, per-sentence statistics and optional dictionary evidence.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass, field, fields
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
    repeats: np.ndarray | None = None  # 1 where the sentence repeats the one before it word for word

    def __post_init__(self):
        if self.repeats is None:
            self.repeats = np.zeros(len(self.length))

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

def is_paired(kind: str) -> bool:
    """Whether a bead shape "a-b" pairs both sides (not 1-0 or 0-1)."""
    return "0" not in kind.split("-")


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
    calibration: tuple[float, ...]      # the score's sigmoid: slope, offset; or slope, context slope, offset (bead_score)
    skip_repeat: float = 0.0            # added to the value of leaving out a word-for-word repeat of the sentence before
    # With shape_counts, the paired shapes' biases are not fitted one by one but read from how
    # often each shape is in the gold (with_shape_prior): shape_prior is the one knob fitted.
    shape_prior: float = 0.0
    shape_counts: dict[str, int] | None = None
    provenance: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path = WEIGHTS_FILE) -> "Weights":
        data = json.loads(Path(path).read_text("utf-8"))
        data["calibration"] = tuple(data["calibration"])
        return cls(**data)

    def numbers(self) -> dict:
        """Everything that changes an alignment or its scores (not the provenance).
        A knob added later (one with a default) is left out while it has its
        default value: weights that do not use it keep their id."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "provenance"
                and (f.default is MISSING or getattr(self, f.name) != f.default)}
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

    def with_shape_prior(self, strength: float, counts: dict[str, int] | None = None) -> "Weights":
        """Every paired shape's bias from the gold's shape counts (these weights' own
        by default): strength * log((count + 1) / (count of 1-1 + 1)). One knob
        instead of a bias per shape, so that a shape seen a handful of times is
        not fitted to those few beads (MAC-Dev CV strict F1 0.896 with a bias per
        shape, 0.903 with this: docs/experiments.md). 1-0 and 0-1 keep their biases:
        deletions are fitted on the synthetic set, whose rate is made up."""
        counts = dict(self.shape_counts if counts is None else counts)
        one_one = counts.get("1-1", 0) + 1
        shapes = {kind: round(strength * math.log((counts.get(kind, 0) + 1) / one_one), 4) if is_paired(kind) else bias
                  for kind, bias in self.shapes.items()}
        return self.replace(shapes=shapes, shape_prior=strength, shape_counts=counts)

    def neutral(self, keep: Iterable[str] = ()) -> "Weights":
        """Where a fit starts that owes nothing to earlier tuning: the cosine
        alone, every shape's bias 0, a flat skip cost of 1 (a random 1-1 pair's
        distance). The same features, shapes, length spreads and calibration;
        the features named in `keep` keep their weights."""
        keep = set(keep)
        return self.replace(features={name: (value if name in keep else float(name == "cos"))
                                      for name, value in self.features.items()},
                            shapes={kind: 0.0 if is_paired(kind) else -1.0 for kind in self.shapes},
                            skip_best_match=0.0, skip_repeat=0.0, size_power=1.0, shape_prior=0.0,
                            provenance={"name": "neutral"})


_SHIPPED: dict[str, Weights] = {}


def default_weights(name: str = WEIGHTS_FILE.name) -> Weights:
    """Weights shipped in the package, by file name (loaded once): weights.json
    is the default model's; a model's registry entry names its own (`scorer`)."""
    if name not in _SHIPPED:
        _SHIPPED[name] = Weights.load(WEIGHTS_FILE.with_name(name))
    return _SHIPPED[name]


# --- the band's tables -------------------------------------------------------------

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


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values) + 1)
    np.cumsum(np.asarray(values, dtype=float), out=out[1:])
    return out


class Cells:
    """What the features of one bead shape (a, b) read, for every cell (i, j)
    of a band table (or a chunk of its rows) at once: cosines of any windows,
    sums of per-sentence statistics over the bead's sentences, and
    per-document baselines."""

    def __init__(self, context: "BeadContext", table: BandTable, cosines: CosineTables, a: int, b: int):
        self.context, self.table, self.cosines, self.a, self.b = context, table, cosines, a, b
        self.i = table.rows[:, None]
        self.j = table.columns

    def cos(self, a: int | None = None, b: int | None = None, di: int = 0, dj: int = 0) -> np.ndarray:
        """Cosine of zh[i-di-a : i-di] with en[j-dj-b : j-dj] (this bead's sizes by default)."""
        a, b = a or self.a, b or self.b
        table = self.cosines(a, b)
        return table if di == dj == 0 else self.table.shifted(table, di, dj)

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
                total += weights.features.get(name, 0.0) * values
            return total
        for f in FEATURES:
            weight = weights.features.get(f.name, 0.0)
            if weight:
                total += weight * np.nan_to_num(f.compute(cells), nan=0.0)
        return total

    def features(self, a: int, b: int, i: int, j: int) -> dict[str, float]:
        """Every feature of one bead zh[i-a:i] + en[j-b:j] (for inspection and tests)."""
        table, cosines = self._chunk_cells(i, i + 1)
        cells = Cells(self, table, cosines, a, b)
        row, column = i - table.first, j - table.left[i - table.first]
        return {f.name: float(np.asarray(f.compute(cells))[row, column]) for f in FEATURES}

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


# Paired beads each side whose similarities make a bead's context (bead_score).
CONTEXT_BEADS = 3


def context_similarity(similarity: np.ndarray, beads: int = CONTEXT_BEADS) -> np.ndarray:
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


def bead_score(similarity: np.ndarray, weights: Weights) -> np.ndarray:
    """The chance that each bead of an alignment (its beads' similarities in order,
    NaN for unaligned ones) is exactly right. With three calibration numbers the
    bead's context counts too: a weak bead among strong ones is mostly a free
    translation, among weak ones mostly unrelated text (MAC-Dev, held-out chapters:
    calibration error 0.133 -> 0.062; docs/experiments.md)."""
    similarity = np.asarray(similarity, dtype=float)
    if len(weights.calibration) == 2:
        slope, offset = weights.calibration
        return 1 / (1 + np.exp(-(slope * similarity + offset)))
    slope, context_slope, offset = weights.calibration
    return 1 / (1 + np.exp(-(slope * similarity + context_slope * context_similarity(similarity) + offset)))


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
    zh_mean = {a: _window_mean(zh, a) for a in sizes_a}
    en_mean = {b: _window_mean(en, b) for b in sizes_b}
    out = np.full((len(shapes), *j.shape), -np.inf, dtype=np.float32)
    for s, (a, b) in enumerate(shapes):
        ok = inside & (i[:, None] >= a) & (j >= b)
        if a == 0 or b == 0:
            out[s] = np.where(ok, -skip, -np.inf)
            continue
        if a not in sizes_a or b not in sizes_b:  # no bead of this shape fits
            continue
        zh_base = _window_dots(zh, a, en_mean[b], i)
        en_base = _window_dots(en, b, zh_mean[a], np.arange(len(en) + 1))[j.clip(0, len(en))]
        base = (zh_base[:, None] + en_base) / 2
        distance = (1 - cosines(a, b)) / (1 - base).clip(1e-3)
        out[s] = np.where(ok, -a * b * distance, -np.inf)
    return out


_WINDOW_BLOCK = 4096  # rows of windows made at once (a long document's windows need not all exist)


def _window_mean(vectors: np.ndarray, size: int) -> np.ndarray:
    """The mean of the normalised windows of `size` sentences."""
    ends = np.arange(size, len(vectors) + 1)
    total = sum(window_vectors(vectors, size, ends[k:k + _WINDOW_BLOCK])[-1].sum(axis=0, dtype=np.float64)
                for k in range(0, len(ends), _WINDOW_BLOCK))
    return (total / max(len(ends), 1)).astype(np.float32)


def _window_dots(vectors: np.ndarray, size: int, direction: np.ndarray, ends: np.ndarray) -> np.ndarray:
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
