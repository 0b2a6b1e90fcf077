"""Bead features: what each one reads about a bead, and the registry of them.

A bead zh[i-a:i] + en[j-b:j] is described by features (FEATURES, one entry
each: a name, which is also its weight's name in align.weights.Weights, and
how it is computed from the band's tables, Cells). The per-sentence numbers
they compare across languages are a `SentenceStats` a side (align.marks makes
them from texts); word matches come from a `DictionaryEvidence`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from align.geometry import CosineTables
from align.search import BandTable


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


# --- what a feature reads ---------------------------------------------------------

class DocumentPairTables(Protocol):
    """What Cells read of a document pair (align.scoring.BeadContext holds it)."""

    weights: object                  # align.weights.Weights: the length spreads
    zh_stats: SentenceStats
    en_stats: SentenceStats
    zh_prefix: dict[str, np.ndarray]  # prefix sums of each statistic, and of the neighbours' mean cosines
    en_prefix: dict[str, np.ndarray]
    log_ratio: float                 # the pair's log length ratio, English over Chinese

    def dictionary_coverage(self, c: "Cells") -> np.ndarray: ...


class Cells:
    """What the features of one bead shape (a, b) read, for every cell (i, j)
    of a band table (or a chunk of its rows) at once: cosines of any windows,
    sums of per-sentence statistics over the bead's sentences, and
    per-document baselines."""

    def __init__(self, context: DocumentPairTables, table: BandTable, cosines: CosineTables, a: int, b: int):
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


# Every registered feature's name: a weights file holds a weight for each (align.weights.Weights.validate).
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
