"""Anchors: beads a person fixed, kept as given, and the rest aligned around them.

An anchor is a bead (Chinese sentence ids, English sentence ids). A paired
anchor (sentences on both sides) fixes two corners of the path: the
stretches of sentences between consecutive paired anchors are aligned each
as its own document pair, with the same features and weights, and joined
with the anchors in order. An unaligned anchor (1-0, 0-1, or several
sentences of one side) says that those sentences pair with nothing: inside
its stretch, every bead that would pair them is ruled out, so the search
leaves them in 1-0 / 0-1 beads (several of one anchor are joined again).

What a stretch reads of the whole document: its vectors are centred on the
whole document's mean, and the expected length ratio is the document's, so
a bead is compared with the same baselines as without anchors. What it
reads only within itself: its band (the first pass runs on the stretch),
its sentences' nearest neighbours (the margin feature) and the median best
match (the skip cost). So beads inside a stretch may differ from an
unconstrained run even far from the anchor, but a stretch's beads depend
on nothing outside it: adding an anchor changes only the beads of the
stretch it falls in.

Scores: an anchor is scored by the same features and weights as any bead,
its similarity read in a window of `AlignParams.band` sentences either side
of it (neighbours and length ratio as above), and every bead's score comes
from the calibration over the joined alignment (align.scoring.bead_score),
so a bead's context counts across anchors. An unaligned anchor scores 0,
as unaligned beads do. Anchors are kept whatever they score; no path avoids
an anchor, so its doubt (Alignment.doubt, a score input) is inf, read capped.

Works on arrays only, as align.passes does; reading anchors from a file is
the caller's (align.evaluating.read_alignment reads the index format).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from align.passes import (Alignment, AlignParams, Bead, Profile, bead_context, bead_scores, bead_shapes, searched_beads,
                          weights_and_params)
from align.errors import InputError
from align.features import DictionaryEvidence, SentenceStats
from align.geometry import CentredRows
from align.scoring import BeadContext
from align.search import Band, BandTable, PathSearch
from align.weights import Weights


@dataclass(frozen=True)
class Anchor:
    """A bead fixed by a person: consecutive sentence ids of each side."""

    zh: tuple[int, ...]
    en: tuple[int, ...]

    @property
    def paired(self) -> bool:
        return bool(self.zh) and bool(self.en)

    def __str__(self) -> str:
        return f"[{', '.join(map(str, self.zh))}]:[{', '.join(map(str, self.en))}]"


class AnchorError(InputError):
    """An anchor that cannot be kept; `index` is its place in the list given
    (the command line turns it into the file's line), `reason` the problem."""

    def __init__(self, index: int, anchor: object, reason: str):
        super().__init__(f"anchor {index} {anchor}: {reason}")
        self.index, self.reason = index, reason


AnchorLike = Anchor | Bead | tuple[Sequence[int], Sequence[int]]


def as_anchor(index: int, anchor: AnchorLike) -> Anchor:
    """An Anchor from an Anchor, an aligning.Bead or a (zh ids, en ids) pair."""
    try:
        zh, en = (anchor.zh, anchor.en) if isinstance(anchor, (Anchor, Bead)) else anchor
        made = Anchor(tuple(int(i) for i in zh), tuple(int(j) for j in en))
    except (TypeError, ValueError):
        raise AnchorError(index, repr(anchor), "not a bead: give (zh ids, en ids)") from None
    return made


def check_anchors(anchors: Iterable[AnchorLike], n: int, m: int) -> list[Anchor]:
    """The anchors as Anchors, in the order given, once each is known to be
    keepable in an alignment of n Chinese and m English sentences: ids that
    exist, consecutive and ascending on each side; no sentence in two anchors;
    paired anchors in the same order on both sides (they cannot cross).
    Otherwise an AnchorError naming the anchor."""
    anchors = [as_anchor(k, a) for k, a in enumerate(anchors)]
    zh_owner, en_owner = np.full(n, -1), np.full(m, -1)
    for k, anchor in enumerate(anchors):
        if not anchor.zh and not anchor.en:
            raise AnchorError(k, anchor, "no sentence on either side")
        for side, ids, count, owner in (("Chinese", anchor.zh, n, zh_owner), ("English", anchor.en, m, en_owner)):
            if not ids:
                continue
            if min(ids) < 0 or max(ids) >= count:
                raise AnchorError(k, anchor, f"no {side} sentence {max(ids) if max(ids) >= count else min(ids)} "
                                             f"(the {side} side has {count}: 0 to {count - 1})")
            if list(ids) != list(range(ids[0], ids[0] + len(ids))):
                raise AnchorError(k, anchor, f"the {side} sentences are not consecutive and ascending")
            taken = owner[list(ids)]
            if (taken >= 0).any():
                other = int(taken[taken >= 0][0])
                raise AnchorError(k, anchor, f"overlaps anchor {anchors[other]} on the {side} side")
            owner[list(ids)] = k
    paired = sorted((a.zh[0], k) for k, a in enumerate(anchors) if a.paired)
    for (_, before), (_, after) in zip(paired, paired[1:]):
        if anchors[after].en[0] < anchors[before].en[-1]:
            raise AnchorError(after, anchors[after], f"crosses anchor {anchors[before]} "
                                                     "(later in Chinese, earlier in English)")
    return anchors


def anchors_digest(anchors: Iterable[AnchorLike]) -> str:
    """How many anchors and a digest of them (`12#3f2a9c01b4d2`), for the
    signature: the same beads give the same digest however the file spelled them."""
    lines = "\n".join(str(as_anchor(k, a)) for k, a in enumerate(anchors))
    count = lines.count("\n") + 1 if lines else 0
    return f"{count}#{hashlib.sha256(lines.encode()).hexdigest()[:12]}"


def align_with_anchors(
    zh: np.ndarray,
    en: np.ndarray,
    anchors: Iterable[AnchorLike],
    zh_stats: SentenceStats | None = None,
    en_stats: SentenceStats | None = None,
    params: AlignParams | None = None,
    *,
    weights: Weights | Profile,
    dictionary: DictionaryEvidence | None = None,
) -> Alignment:
    """align_vectors' alignment with every anchor kept as given (see the module's
    doc); the same arguments, and the anchors (check_anchors says which may be given)."""
    weights, params = weights_and_params(weights, params)
    n, m = len(zh), len(en)
    anchors = check_anchors(anchors, n, m)
    zh_stats = zh_stats if zh_stats is not None else SentenceStats.from_lengths(np.ones(n))
    en_stats = en_stats if en_stats is not None else SentenceStats.from_lengths(np.ones(m))
    whole = _Document(CentredRows(zh), CentredRows(en), zh_stats, en_stats, dictionary, params, weights, anchors)

    pieces: list[tuple[list[int], list[int], float, float]] = []  # zh ids, en ids, similarity, doubt
    zh_done = en_done = 0
    band_rows: list[tuple[int, int, Band]] = []  # where each stretch's band sits
    for anchor in sorted((a for a in anchors if a.paired), key=lambda a: a.zh[0]):
        band_rows.append((zh_done, en_done, whole.align_stretch(zh_done, anchor.zh[0], en_done, anchor.en[0], pieces)))
        # No path avoids an anchor: its doubt is inf (the score reads it capped: scoring.DOUBT_CAP).
        pieces.append((list(anchor.zh), list(anchor.en), whole.anchor_similarity(anchor), float("inf")))
        zh_done, en_done = anchor.zh[-1] + 1, anchor.en[-1] + 1
    band_rows.append((zh_done, en_done, whole.align_stretch(zh_done, n, en_done, m, pieces)))

    pieces = _joined(pieces, whole)
    similarity = [s for _, _, s, _ in pieces]
    doubt = [d for _, _, _, d in pieces]
    shapes = [(len(zh_ids), len(en_ids)) for zh_ids, en_ids, _, _ in pieces]
    scores = bead_scores(similarity, shapes, doubt, weights)
    beads = [Bead(zh_ids, en_ids, float(score)) for (zh_ids, en_ids, _, _), score in zip(pieces, scores)]
    return Alignment(beads, _joined_band(band_rows, beads, n, m), similarity, doubt)


class _Document:
    """The whole document pair, centred once, and how to align a stretch of it."""

    def __init__(self, zh: CentredRows, en: CentredRows, zh_stats: SentenceStats, en_stats: SentenceStats,
                 dictionary: DictionaryEvidence | None, params: AlignParams, weights: Weights,
                 anchors: list[Anchor]):
        self.zh, self.en, self.zh_stats, self.en_stats = zh, en, zh_stats, en_stats
        self.dictionary, self.params, self.weights = dictionary, params, weights
        self.n, self.m = len(zh), len(en)
        # The document's expected log length ratio, as scoring.BeadContext reads it for a whole pair.
        self.log_ratio = np.log(max(en_stats.length.sum(), 1.0) / max(zh_stats.length.sum(), 1.0))
        # Which anchor leaves each sentence unaligned (-1: none), and the anchors' order given.
        self.zh_unaligned, self.en_unaligned = np.full(self.n, -1), np.full(self.m, -1)
        for k, anchor in enumerate(anchors):
            if not anchor.en:
                self.zh_unaligned[list(anchor.zh)] = k
            if not anchor.zh:
                self.en_unaligned[list(anchor.en)] = k

    def context(self, z0: int, z1: int, e0: int, e1: int, shapes=None) -> BeadContext:
        """A bead context for zh[z0:z1] x en[e0:e1] read with the document's baselines:
        the second pass's (bead_context) or, with shapes, a full grid for those shapes."""
        zh, en = self.zh[z0:z1], self.en[e0:e1]
        zh_stats, en_stats = self.zh_stats.take(slice(z0, z1)), self.en_stats.take(slice(e0, e1))
        dictionary = self.dictionary.take(slice(z0, z1), slice(e0, e1)) if self.dictionary is not None else None
        if shapes is None:
            context = bead_context(zh, en, zh_stats, en_stats, self.params, self.weights, dictionary)
        else:
            table = BandTable.for_band(Band.full(z1 - z0, e1 - e0), max(a for a, _ in shapes),
                                       max(b for _, b in shapes))
            context = BeadContext(zh, en, zh_stats, en_stats, table, shapes, self.weights, dictionary)
        context.log_ratio = self.log_ratio  # read lazily by the features: the document's, not the stretch's
        return context

    def align_stretch(self, z0: int, z1: int, e0: int, e1: int, out: list) -> Band:
        """Append the beads of zh[z0:z1] x en[e0:e1] to out; return the band searched (stretch coordinates)."""
        zh_free = self.zh_unaligned[z0:z1] < 0
        en_free = self.en_unaligned[e0:e1] < 0
        if not zh_free.any() or not en_free.any():  # nothing to pair (or nothing at all)
            out.extend(self._unaligned(z0, z1, e0, e1))
            return Band.full(z1 - z0, e1 - e0)
        context = self.context(z0, z1, e0, e1)
        shapes = bead_shapes(self.params, self.weights)
        search = PathSearch(shapes, context.table, keep_values=True)
        zh_fixed, en_fixed = _prefix_count(~zh_free), _prefix_count(~en_free)
        table = context.table
        for start, values, similarities in context.values(shapes, self.weights, self.params.skip):
            rows = np.arange(start, start + values.shape[1])
            columns = table.columns[start:start + values.shape[1]]
            for s, (a, b) in enumerate(shapes):
                if a and b:  # a bead that would pair a sentence an anchor leaves unaligned
                    pairs_fixed = ((zh_fixed[rows] - zh_fixed[(rows - a).clip(0, None)]) > 0)[:, None] | (
                        (en_fixed[columns.clip(0, e1 - e0)] - en_fixed[(columns - b).clip(0, e1 - e0)]) > 0)
                    values[s][pairs_fixed] = -np.inf
            search.add(values, start, similarities)
        # As the search without anchors, never attaching an anchor's 1-0 / 0-1; the doubt is within the
        # stretch (its paths all pass the anchors).
        path, similarity, doubt = searched_beads(search, context, shapes, self.params, self.weights,
                                                 kept_out=(~zh_free, ~en_free))
        for ((i0, j0), (i1, j1)), value, sure in zip(zip(path, path[1:]), similarity, doubt):
            out.append((list(range(z0 + i0, z0 + i1)), list(range(e0 + j0, e0 + j1)), value,
                        float(sure) if i1 > i0 and j1 > j0 else float("nan")))
        return table.band

    def _unaligned(self, z0: int, z1: int, e0: int, e1: int) -> list:
        """Every sentence of a stretch unaligned, the two sides interleaved in
        the anchors' order (a sentence no anchor names follows the one before it)."""
        def keyed(owners: np.ndarray) -> list[int]:
            keys, last = [], -1
            for owner in owners:
                last = int(owner) if owner >= 0 else last
                keys.append(last)
            return keys

        zh_keys, en_keys = keyed(self.zh_unaligned[z0:z1]), keyed(self.en_unaligned[e0:e1])
        out, i, j = [], 0, 0
        while i < len(zh_keys) or j < len(en_keys):
            if j == len(en_keys) or (i < len(zh_keys) and zh_keys[i] <= en_keys[j]):
                out.append(([z0 + i], [], float("nan"), float("nan")))
                i += 1
            else:
                out.append(([], [e0 + j], float("nan"), float("nan")))
                j += 1
        return out

    def anchor_similarity(self, anchor: Anchor) -> float:
        """The similarity the scorer gives the anchor bead, its features read in a
        window of params.band sentences either side of it."""
        reach = self.params.band
        z0, z1 = max(0, anchor.zh[0] - reach), min(self.n, anchor.zh[-1] + 1 + reach)
        e0, e1 = max(0, anchor.en[0] - reach), min(self.m, anchor.en[-1] + 1 + reach)
        a, b = len(anchor.zh), len(anchor.en)
        features = self.context(z0, z1, e0, e1, [(a, b)]).features(a, b, anchor.zh[-1] + 1 - z0,
                                                                   anchor.en[-1] + 1 - e0)
        return float(sum(self.weights.features[name] * np.nan_to_num(value)
                         for name, value in features.items()))


def _prefix_count(flags: np.ndarray) -> np.ndarray:
    out = np.zeros(len(flags) + 1, dtype=np.int64)
    np.cumsum(flags, out=out[1:])
    return out


def _joined(pieces: list, whole: _Document) -> list:
    """The single-sentence beads the search made of an unaligned anchor of several
    sentences, joined into that anchor's bead where its first sentence is."""
    out, seen = [], set()
    for zh_ids, en_ids, similarity, doubt in pieces:
        owner = (whole.zh_unaligned[zh_ids[0]] if zh_ids and not en_ids
                 else whole.en_unaligned[en_ids[0]] if en_ids and not zh_ids else -1)
        if owner < 0:
            out.append((zh_ids, en_ids, similarity, doubt))
            continue
        if owner in seen:
            continue
        seen.add(owner)
        zh_all = [int(i) for i in np.flatnonzero(whole.zh_unaligned == owner)] if zh_ids else []
        en_all = [int(j) for j in np.flatnonzero(whole.en_unaligned == owner)] if en_ids else []
        out.append((zh_all, en_all, float("nan"), float("nan")))
    return out


def _joined_band(band_rows: list[tuple[int, int, Band]], beads: list[Bead], n: int, m: int) -> Band:
    """The columns searched in each row of the whole grid: each stretch's band where
    it sits, and each anchor's own corner-to-corner rectangle."""
    lo, hi = np.full(n + 1, m + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
    for z0, e0, band in band_rows:
        rows = slice(z0, z0 + band.n + 1)
        lo[rows] = np.minimum(lo[rows], band.lo + e0)
        hi[rows] = np.maximum(hi[rows], band.hi + e0)
    i = j = 0
    for bead in beads:  # every node of the path is inside
        i1, j1 = i + len(bead.zh), j + len(bead.en)
        lo[i:i1 + 1] = np.minimum(lo[i:i1 + 1], j)
        hi[i:i1 + 1] = np.maximum(hi[i:i1 + 1], j1 + 1)
        i, j = i1, j1
    return Band(lo, hi)


__all__ = ["Anchor", "AnchorError", "align_with_anchors", "anchors_digest", "as_anchor", "check_anchors"]
