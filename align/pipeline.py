"""The whole job for one document pair: documents -> sentences -> vectors -> beads -> rows.

`align_pair` is the Python API behind `zhalign align`; it returns the bead
table and keeps every intermediate product for inspection.
"""
from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from align.aligning import Alignment, AlignParams, align_vectors
from align.checking import AlignWarning, ParallelReport, check_languages, parallelism
from align.embedding import DEFAULT_MODEL, Encoder, load_encoder
from align.errors import InputError
from align.marks import PairEvidence
from align.reading import Document, per_side, read_document
from align.scoring import Weights, default_weights
from align.segmenting import Sentence, split_document
from align.signature import signature
from align.writing import beads_to_frame

Source = str | Path | Document


@dataclass
class PairResult:
    """Everything one alignment produced."""

    frame: pd.DataFrame            # the bitext: one row a bead
    zh: list[Sentence]
    en: list[Sentence]
    zh_vectors: np.ndarray
    en_vectors: np.ndarray
    alignment: Alignment
    zh_document: Document
    en_document: Document
    model: str
    seconds: dict[str, float] = field(default_factory=dict)
    parallel: ParallelReport | None = None   # is the pair parallel? (align.checking)
    warnings: list[str] = field(default_factory=list)
    weights_id: str = ""                     # which tuned weights scored it (scoring.Weights.id)
    signature: str = ""                      # what made it (align.signature)

    def similarity(self) -> np.ndarray:
        """Sentence-by-sentence cosine similarity (n x m); for inspection of short documents."""
        return self.zh_vectors @ self.en_vectors.T

    def path(self) -> list[tuple[int, int]]:
        """The DP path as (zh sentences used, en sentences used) after each bead."""
        i = j = 0
        points = [(0, 0)]
        for bead in self.alignment.beads:
            i, j = i + len(bead.zh), j + len(bead.en)
            points.append((i, j))
        return points

    def summary(self) -> dict:
        types = Counter(self.frame["type"])
        paired = self.frame[(self.frame["zh"] != "") & (self.frame["en"] != "")]
        return {
            "zh_sentences": len(self.zh),
            "en_sentences": len(self.en),
            "beads": len(self.frame),
            "types": dict(sorted(types.items(), key=lambda kv: -kv[1])),
            "mean_score": float(paired["score"].mean()) if len(paired) else 0.0,
            "seconds": self.seconds,
            "model": self.model,
            "weights": self.weights_id,
            "parallel": self.parallel.parallel if self.parallel else None,
            "parallel_evidence": self.parallel.as_dict() if self.parallel else None,
            "warnings": list(self.warnings),
            "signature": self.signature,
        }


def read_pair(
    zh: Source,
    en: Source,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
) -> tuple[Document, Document]:
    """Both documents; input_format and encoding are given once or as (zh, en)."""
    zh_format, en_format = per_side(input_format)
    zh_encoding, en_encoding = per_side(encoding)
    zh_doc = zh if isinstance(zh, Document) else read_document(zh, zh_format, zh_encoding)
    en_doc = en if isinstance(en, Document) else read_document(en, en_format, en_encoding)
    return zh_doc, en_doc


def alignment_signature(
    model_id: str,
    params: AlignParams | None = None,
    split_semicolon: bool = False,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    weights: Weights | None = None,
) -> str:
    """The signature (align.signature) of what align_pair does with these settings."""
    settings = asdict(params or AlignParams()) | {"split_semicolon": split_semicolon,
                                                  "input_format": per_side(input_format),
                                                  "encoding": per_side(encoding)}
    return signature(model_id, (weights or default_weights()).id, settings)


def align_pair(
    zh: Source,
    en: Source,
    model: str | Encoder = DEFAULT_MODEL,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    params: AlignParams | None = None,
    weights: Weights | None = None,
    split_semicolon: bool = False,
    progress: bool | None = None,
    force: bool = False,
    strict: bool = False,
) -> PairResult:
    """Align a Chinese document with its English translation.

    zh, en: paths, texts (a str holding a newline), or Documents.
    model: a registry name (see `zhalign models`), a sentence-transformers
    folder, or an Encoder already loaded (reuse one across many pairs).
    input_format, encoding: one for both sides, or (Chinese side, English side);
    encoding None detects it.
    force: a side in the wrong language is a warning, not an InputError.
    strict: a pair that does not look parallel is an InputError, not a warning.
    weights: the scorer's tuned numbers (default: the shipped align/weights.json).
    """
    clock = time.perf_counter()
    zh_doc, en_doc = read_pair(zh, en, input_format, encoding)
    zh_sents = split_document(zh_doc, "zh", split_semicolon)
    en_sents = split_document(en_doc, "en")
    if not zh_sents or not en_sents:
        side = zh_doc.source if not zh_sents else en_doc.source
        raise InputError(f"{side}: no sentences found")
    problems = check_languages(zh_sents, en_sents, zh_doc.source, en_doc.source, force=force)
    seconds = {"read": time.perf_counter() - clock}

    clock = time.perf_counter()
    encoder = load_encoder(model)
    weights = weights or default_weights()
    seconds["load_model"] = time.perf_counter() - clock
    clock = time.perf_counter()
    zh_vectors = encoder.encode([s.text for s in zh_sents], progress, desc="embedding zh")
    en_vectors = encoder.encode([s.text for s in en_sents], progress, desc="embedding en")
    seconds["embed"] = time.perf_counter() - clock

    clock = time.perf_counter()
    zh_texts, en_texts = [s.text for s in zh_sents], [s.text for s in en_sents]
    evidence = PairEvidence.of(zh_texts, en_texts, encoder.lengths(zh_texts), encoder.lengths(en_texts),
                               [s.role for s in zh_sents], [s.role for s in en_sents])
    alignment = align_vectors(zh_vectors, en_vectors, params=params, weights=weights, **evidence.arguments())
    seconds["align"] = time.perf_counter() - clock
    clock = time.perf_counter()
    report = parallelism(alignment, zh_vectors, en_vectors, params=params, weights=weights, **evidence.arguments())
    seconds["check"] = time.perf_counter() - clock
    if report.parallel is False:
        message = f"{zh_doc.source} and {en_doc.source} do not look parallel: {report.reason}"
        if strict:
            raise InputError(message)
        warnings.warn(message, AlignWarning, stacklevel=2)
        problems.append(message)
    made_by = alignment_signature(encoder.model_id, params, split_semicolon, input_format, encoding, weights)
    frame = beads_to_frame(alignment.beads, zh_sents, en_sents, report.parallel, made_by)
    return PairResult(frame, zh_sents, en_sents, zh_vectors, en_vectors, alignment, zh_doc, en_doc, encoder.name, seconds,
                      report, problems, weights.id, made_by)


def align_texts(zh: Source, en: Source, **options) -> pd.DataFrame:
    """The bead table for a pair: columns zh, en, score, type, zh_ids, en_ids (lists),
    zh_roles, en_roles (lists), parallel, signature (align.writing.COLUMNS)."""
    return align_pair(zh, en, **options).frame


__all__ = ["align_pair", "align_texts", "alignment_signature", "PairResult", "read_pair"]
