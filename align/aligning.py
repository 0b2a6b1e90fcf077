"""Aligning: sentence vectors in, beads out, in two passes as in Vecalign
(align.passes), around the beads a person fixed when there are any (align.anchoring).

Vectors are first centred per document (sentence embeddings share a large
common direction). Everything here works on arrays: vectors, per-sentence
statistics (align.marks makes them from texts) and optional dictionary
evidence (align.lexicon).
"""
from __future__ import annotations

import numpy as np

from align.anchoring import align_with_anchors
from align.features import DictionaryEvidence, SentenceStats
from align.passes import Alignment, AlignParams, Bead, Profile, two_passes, weights_and_params
from align.weights import Weights


def align_vectors(
    zh: np.ndarray,
    en: np.ndarray,
    zh_stats: SentenceStats | None = None,
    en_stats: SentenceStats | None = None,
    params: AlignParams | None = None,
    *,
    weights: Weights | Profile,
    dictionary: DictionaryEvidence | None = None,
    anchors: list | None = None,
) -> Alignment:
    """Beads covering every sentence of both sides once, in order.

    zh, en: L2-normalised sentence vectors (n x d, m x d).
    zh_stats, en_stats: per-sentence lengths and marks (align.marks.sentence_stats);
    without them every sentence has length 1 and no marks.
    weights: the scorer's Weights fitted for the vectors' model, or an
    align.profile.Profile (its weights, and its params unless `params` are given).
    dictionary: word-match evidence between the sides (align.lexicon.Lexicon).
    anchors: beads to keep as given, (zh ids, en ids) or Beads; the stretches
    between them are aligned (align.anchoring.align_with_anchors)."""
    weights, params = weights_and_params(weights, params)
    if anchors:
        return align_with_anchors(zh, en, anchors, zh_stats, en_stats, params, weights=weights, dictionary=dictionary)
    return two_passes(zh, en, zh_stats, en_stats, params, weights, dictionary)

__all__ = ["align_vectors", "AlignParams", "Alignment", "Bead", "Profile", "weights_and_params"]
