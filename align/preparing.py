"""Preparing a document for the aligner: its sentences in, what the aligner reads about them out.

One way for every caller (align_pair, `zhalign pair`, the batch, the benchmark,
tune_scorer): `prepare_side` embeds one document's sentences and reads their
lengths (in the model's tokens) and marks (quotations, questions, repeats, and
the roles reading gave them: a credit line is marked as one); `prepare_pair`
adds what needs both sides, the dictionary's word matches. The aligner itself
(align.aligning) sees only the arrays.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from align.embedding import Encoder, MemberCentring
from align.features import SentenceStats
from align.lexicon import Lexicon
from align.marks import PairEvidence, sentence_stats


@dataclass
class Side:
    """One document's sentences as the aligner reads them."""

    texts: list[str]
    vectors: np.ndarray        # Encoder.encode's: comparable across documents (pairing's candidate stage)
    stats: SentenceStats       # lengths in the model's tokens and the marks (align.marks.sentence_stats)
    centring: MemberCentring | None = None  # the encoder's (None: a single model, encode's vectors as they are)

    @property
    def aligned_vectors(self) -> np.ndarray:
        """What the aligner compares: Encoder.encode_document's vectors (an ensemble's
        members each centred over this document), made from `vectors` when asked."""
        return self.vectors if self.centring is None else self.centring(self.vectors)

    def __len__(self) -> int:
        return len(self.texts)


def side_of(texts: Sequence[str], vectors: np.ndarray, lengths: Sequence[float],
            roles: Sequence[str] | None = None, centring: MemberCentring | None = None) -> Side:
    """A Side from vectors and lengths already made (prepare_side makes them with an encoder)."""
    return Side(list(texts), vectors, sentence_stats(texts, lengths, roles), centring)


def prepare_side(encoder: Encoder, texts: Sequence[str], roles: Sequence[str] | None = None,
                 progress: bool | None = False, desc: str = "embedding") -> Side:
    """One document's sentences embedded (Encoder.encode; a bar as
    align.progress.show_progress(progress) says), measured in the model's tokens
    (Encoder.lengths) and marked; roles: each sentence's role from reading
    (align.segmenting.Sentence.role; None: no roles, so no credit marked)."""
    texts = list(texts)
    return side_of(texts, encoder.encode(texts, progress, desc), encoder.lengths(texts), roles, encoder.centring)


def prepare_pair(zh: Side, en: Side) -> PairEvidence:
    """What the aligner reads about a document pair besides the vectors: both
    sides' statistics and the dictionary's word matches between them."""
    return PairEvidence(zh.stats, en.stats, Lexicon(zh.texts, en.texts))


__all__ = ["Side", "prepare_pair", "prepare_side", "side_of"]
