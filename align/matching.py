"""Which documents of two collections may translate which, and the one-to-one choice.

Candidates: a cheap score for every zh x en pair (prescores), the mean best-match
sentence cosine plus CUE_WEIGHT times the number and length cues (align.cues);
each document keeps its best partners by it (candidate_pairs). Assignment: one
pair a document at most, among the pairs scoring at least the threshold, with the
greatest total score (assign). See align.pairing for how they are used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from align.cues import length_cues, number_cues
from align.documents import DocumentInfo
from align.geometry import centred

DEFAULT_THRESHOLD = 0.45  # least score of a kept pair
DEFAULT_CANDIDATES = 3    # best partners by the cheap score each document keeps
ALL_PAIRS_LIMIT = 64      # up to this many zh x en pairs, every pair is scored in full
BLOCK_SENTENCES = 4096    # sentences a side in one block of the candidate stage's cosines (64 MB in float32)
CUE_WEIGHT = 0.2          # of the number and the length cue in the candidate score. They had 0.5 beside the pooled
                          # cosine, which spreads true pairs from the rest (0.48 between their means on the MAC-Dev
                          # bench collection) over twice as far as the best-match score does (0.21); on that bench
                          # 0.05-0.2 put 199 of 200 true partners among 3 candidates, 0.5 only 192


@dataclass
class PairScore:
    zh: int
    en: int
    score: float
    aligned: float
    numbers: float | None
    length: float


def _sentence_rows(docs: Sequence[DocumentInfo]) -> tuple[np.ndarray, np.ndarray]:
    """All the documents' sentence vectors in one array, and where each document's rows start and
    the last ends (len(docs) + 1 bounds). Centred on the collection's mean sentence vector of that
    language when it has three or more documents: what all its sentences share (e5's large common
    direction) does not count; with fewer, that mean is mostly those documents' own content."""
    vectors = np.concatenate([d.side.vectors for d in docs]).astype(np.float32, copy=False)
    if len(docs) >= 3:
        vectors = centred(vectors, min_rows=1)
    return vectors, np.cumsum([0] + [len(d.side.vectors) for d in docs])


def _blocks(bounds: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Runs of whole documents [first, last) with at most `budget` sentences between them (a
    longer document is a run of its own)."""
    runs, first = [], 0
    for last in range(1, len(bounds)):
        if last + 1 == len(bounds) or bounds[last + 1] - bounds[first] > budget:
            runs.append((first, last))
            first = last
    return runs


def best_match_similarity(
    zhs: Sequence[DocumentInfo], ens: Sequence[DocumentInfo], block_sentences: int = BLOCK_SENTENCES
) -> np.ndarray:
    """Mean best-match sentence cosine of every zh x en pair (n x m): each sentence's best cosine
    among the other document's sentences, averaged over the sentences of both documents.

    A translation has a close partner for nearly every sentence; a piece that shares half its
    sentences with this one has one for half of them, however alike the two documents' mean vectors
    are (those of a piece and of its half-overlapping neighbour nearly coincide). Computed as matrix
    products of blocks of whole documents, at most `block_sentences` sentences a side (or one
    longer document), so memory holds one block of cosines (float32: 64 MB at 4096 x 4096) and its
    per-document maxima, whatever the number of documents."""
    zh_rows, zh_bounds = _sentence_rows(zhs)
    en_rows, en_bounds = _sentence_rows(ens)
    total = np.zeros((len(zhs), len(ens)))
    for zh_first, zh_last in _blocks(zh_bounds, block_sentences):
        zh_lo, zh_hi = zh_bounds[zh_first], zh_bounds[zh_last]
        zh_cuts = zh_bounds[zh_first:zh_last] - zh_lo
        for en_first, en_last in _blocks(en_bounds, block_sentences):
            en_lo, en_hi = en_bounds[en_first], en_bounds[en_last]
            en_cuts = en_bounds[en_first:en_last] - en_lo
            cosines = zh_rows[zh_lo:zh_hi] @ en_rows[en_lo:en_hi].T
            # Each zh sentence's best cosine in each en document, summed by zh document; then the other way round.
            zh_best = np.add.reduceat(np.maximum.reduceat(cosines, en_cuts, axis=1), zh_cuts, axis=0)
            en_best = np.add.reduceat(np.maximum.reduceat(cosines, zh_cuts, axis=0), en_cuts, axis=1)
            total[zh_first:zh_last, en_first:en_last] = zh_best + en_best
    sentences = np.diff(zh_bounds)[:, None] + np.diff(en_bounds)[None, :]
    return total / sentences


def prescores(zhs: Sequence[DocumentInfo], ens: Sequence[DocumentInfo]) -> np.ndarray:
    """The cheap candidate score of every zh x en pair (n x m): the mean best-match sentence
    cosine, plus the number and length cues."""
    similarity = best_match_similarity(zhs, ens)
    numbers = number_cues([d.numbers for d in zhs], [d.numbers for d in ens])
    length = length_cues([d.length for d in zhs], [d.length for d in ens])
    return similarity + CUE_WEIGHT * (numbers + length)


def candidate_pairs(pre: np.ndarray, per_document: int) -> list[tuple[int, int]]:
    """Each document's `per_document` best partners by the cheap score, both ways."""
    n, m = pre.shape
    if n * m <= ALL_PAIRS_LIMIT:
        return [(i, j) for i in range(n) for j in range(m)]
    chosen = set()
    for i in range(n):
        chosen.update((i, int(j)) for j in np.argsort(-pre[i])[:per_document])
    for j in range(m):
        chosen.update((int(i), j) for i in np.argsort(-pre[:, j])[:per_document])
    return sorted(chosen)


def assign(scores: Sequence[PairScore], n: int, m: int, threshold: float = DEFAULT_THRESHOLD) -> list[PairScore]:
    """One-to-one pairs, each at least `threshold`, maximising their total score."""
    from scipy.optimize import linear_sum_assignment

    # Only pairs that can be kept take part: a pair under the threshold is never kept, so it must not win a
    # document away from one that would be (two pairs at 0.31 and 0.28 outweigh one at 0.48 and nothing).
    eligible = [s for s in scores if s.score >= threshold]
    if not eligible:
        return []
    matrix = np.zeros((n, m))
    by_cell = {}
    for s in eligible:
        matrix[s.zh, s.en] = s.score
        by_cell[s.zh, s.en] = s
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    kept = [by_cell[r, c] for r, c in zip(rows, cols) if (r, c) in by_cell]
    return sorted(kept, key=lambda s: (s.zh, s.en))


__all__ = ["PairScore", "prescores", "best_match_similarity", "candidate_pairs", "assign", "DEFAULT_THRESHOLD",
           "DEFAULT_CANDIDATES", "ALL_PAIRS_LIMIT"]
