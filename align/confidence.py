"""How sure it is that two documents translate each other, in [0, 1].

    score = 0.7 * aligned + 0.15 * numbers + 0.15 * length

aligned: the share of both documents' sentences that the aligner puts in beads
pairing both sides and more similar than NULL_QUANTILE of the beads it finds
between unrelated parts of the same documents (aligned_share,
collection_shares); numbers and length: align.cues (numbers takes the value of
`aligned` when a side has too few). See align.pairing for the figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from align.aligning import align_vectors
from align.checking import null_alignments, paired_similarity
from align.documents import DocumentInfo
from align.embedding import DEFAULT_MODEL
from align.preparing import prepare_pair
from align.profile import Profile

WEIGHTS = {"aligned": 0.7, "numbers": 0.15, "length": 0.15}
NULL_QUANTILE = 0.90      # a bead counts as aligned when it beats this share of the null pairs' beads
MIN_NULL_BEADS = 100      # a pair with fewer null beads is cut at the quantile of the collection's null beads


@dataclass
class ShareEvidence:
    """What one candidate pair's aligned share is computed from: the similarities and
    sizes of its beads that pair both sides, and the similarities of its null pairs'
    paired beads (checking.paired_similarity: a relative test, so not the scores)."""

    similarity: np.ndarray  # of the beads that pair both sides
    sizes: np.ndarray       # sentences in each of them, both sides counted
    sentences: int          # sentences of both documents
    null: np.ndarray        # similarities of the null alignments' paired beads

    def share(self, cut: float) -> float:
        """Share of the documents' sentences in paired beads more similar than `cut`."""
        return float(self.sizes[self.similarity > cut].sum()) / self.sentences


def share_evidence(zh: DocumentInfo, en: DocumentInfo, profile: Profile | None = None) -> ShareEvidence:
    """The pair aligned, and its null pairs, as aligned_share does it."""
    profile = profile or Profile.for_model(zh.model or DEFAULT_MODEL)
    zh_side, en_side = zh.side, en.side
    zh_vectors, en_vectors = zh_side.aligned_vectors, en_side.aligned_vectors
    evidence = prepare_pair(zh_side, en_side).arguments()
    alignment = align_vectors(zh_vectors, en_vectors, weights=profile, **evidence)
    paired = [b for b in alignment.beads if b.zh and b.en]
    null = null_alignments(alignment, zh_vectors, en_vectors, weights=profile, **evidence).similarity
    return ShareEvidence(paired_similarity(alignment), np.array([len(b.zh) + len(b.en) for b in paired], dtype=int),
                         len(zh_side) + len(en_side), null)


def shares_evidence(pairs: Sequence[tuple[DocumentInfo, DocumentInfo]],
                    profile: Profile | None = None) -> list[ShareEvidence]:
    """share_evidence of each (zh, en) pair: one task's work in pair_documents."""
    return [share_evidence(zh, en, profile) for zh, en in pairs]


def null_cut(null: np.ndarray) -> float:
    return float(np.quantile(null, NULL_QUANTILE)) if len(null) else -np.inf


def aligned_share(zh: DocumentInfo, en: DocumentInfo, profile: Profile | None = None) -> float:
    """Share of both documents' sentences in beads that pair both sides and are more
    similar than what the aligner finds between unrelated parts of the same documents.

    The documents are aligned as align_pair aligns them: prepared alike
    (align.preparing: Encoder.encode_document's vectors, lengths, marks and
    credit lines), with `profile` (None: the profile of the model that
    embedded them, align.profile.Profile.for_model). The null pairs
    (checking.null_alignments, the parallel check's null model) have the same
    kind of sentences, lengths and vectors but cannot be parallel, so their
    beads' similarities, with the same profile, are the null: a bead counts when
    it beats the NULL_QUANTILE of them. (Similarities, not scores: a score reads
    the bead's neighbours too, checking.paired_similarity.)
    In a collection, collection_shares judges short pairs against a larger null."""
    evidence = share_evidence(zh, en, profile)
    return evidence.share(null_cut(evidence.null))


def collection_shares(evidence: Sequence[ShareEvidence]) -> list[float]:
    """The aligned share of each candidate pair of a collection. A pair with
    MIN_NULL_BEADS null beads or more is cut at their NULL_QUANTILE, as
    aligned_share does; a shorter one at the quantile of all the candidate
    pairs' null beads together: of ten beads, the quantile is one or two of
    them, and the pair's score turns on them."""
    pooled = null_cut(np.concatenate([e.null for e in evidence])) if evidence else -np.inf
    return [e.share(null_cut(e.null) if len(e.null) >= MIN_NULL_BEADS else pooled) for e in evidence]


def combine(aligned: float, numbers: float | None, length: float) -> float:
    """The confidence from its three parts (numbers None: no evidence, it takes aligned's value)."""
    numbers = aligned if numbers is None else numbers
    return WEIGHTS["aligned"] * aligned + WEIGHTS["numbers"] * numbers + WEIGHTS["length"] * length


__all__ = ["ShareEvidence", "share_evidence", "shares_evidence", "aligned_share", "collection_shares", "combine",
           "NULL_QUANTILE", "MIN_NULL_BEADS"]
