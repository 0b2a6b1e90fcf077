"""The whole job for one document pair: documents -> sentences -> vectors -> beads -> rows.

`align_pair` is the Python API behind `zhalign align`; it returns the bead
table and keeps every intermediate product for inspection.
"""
from __future__ import annotations

import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from align.aligning import Alignment, AlignParams, align_vectors
from align.anchoring import anchors_digest, check_anchors
from align.checking import ParallelReport, check_languages, parallelism
from align.embedding import DEFAULT_MODEL, Encoder, ModelSpec, load_encoder, resolve_model
from align.errors import AlignWarning, InputError, UsageError
from align.interrupting import raise_if_interrupted
from align.preparing import prepare_pair, prepare_side
from align.profile import Profile
from align.reading import MAX_INPUT_BYTES, Document, per_side, read_document
from align.weights import Weights
from align.progress import show_progress, status
from align.segmenting import Sentence, split_document
from align.writing import beads_to_frame

Source = str | Path | Document

# A translation has about as many sentences as its original: English over Chinese
# is 0.89-1.66 for MAC-Dev's six chapters (read one sentence a line or as text) and
# 1.17 for the sample pair. Shorter runs vary more (one 1-6 bead is 6 to 1), so ten
# sentences are added to each side before comparing: over every run of consecutive
# gold beads in MAC-Dev the ratio so counted is then at most 1.91 (13 zh, 34 en).
# Five is far outside all of that; 31 Chinese sentences against 200,000 English
# give 4,900.
MAX_COUNT_RATIO = 5.0
COUNT_SLACK = 10


@dataclass
class PairSummary:
    """What `zhalign align` reports of one alignment (describe, the batch's records)."""

    zh_sentences: int
    en_sentences: int
    beads: int
    types: dict[str, int]            # bead type -> beads of it, most frequent first
    mean_score: float                # of the beads that pair both sides
    seconds: dict[str, float]
    model: str
    weights: str                     # the weights' id
    device: str
    parallel: bool | None
    parallel_report: ParallelReport | None
    warnings: list[str]
    signature: str

    def to_dict(self) -> dict:
        """For JSON: the fields, the parallel report as its own dict (`parallel_evidence`)."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "parallel_report"}
        data["parallel_evidence"] = self.parallel_report.as_dict() if self.parallel_report else None
        return data

    def describe(self) -> str:
        """The summary line, then the signature line (what `zhalign align` prints)."""
        types = ", ".join(f"{kind} {count}" for kind, count in self.types.items())
        seconds = self.seconds
        total = sum(seconds.values())
        parallel = f"; {self.parallel_report.describe()}" if self.parallel_report else ""
        return (
            f"{self.zh_sentences} zh and {self.en_sentences} en sentences -> "
            f"{self.beads} beads ({types}); mean score {self.mean_score:.3f}; "
            f"{total:.1f} s (embedding {seconds.get('embed', 0):.1f} s, aligning {seconds.get('align', 0):.1f} s) "
            f"with {self.model}" + parallel + f"\nsignature: {self.signature}"
        )


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
    weights_id: str = ""                     # which tuned weights scored it (weights.Weights.id)
    signature: str = ""                      # what made it (align.signature)
    device: str = "cpu"            # where the model ran (cpu or cuda)
    profile: Profile | None = None           # the model, weights and settings that made it

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

    def summary(self) -> PairSummary:
        types = Counter(self.frame["type"])
        paired = self.frame[(self.frame["zh"] != "") & (self.frame["en"] != "")]
        return PairSummary(
            zh_sentences=len(self.zh),
            en_sentences=len(self.en),
            beads=len(self.frame),
            types=dict(sorted(types.items(), key=lambda kv: -kv[1])),
            mean_score=float(paired["score"].mean()) if len(paired) else 0.0,
            seconds=self.seconds,
            model=self.model,
            weights=self.weights_id,
            device=self.device,
            parallel=self.parallel.parallel if self.parallel else None,
            parallel_report=self.parallel,
            warnings=list(self.warnings),
            signature=self.signature,
        )


def read_pair(
    zh: Source,
    en: Source,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    max_bytes: int | None = MAX_INPUT_BYTES,
) -> tuple[Document, Document]:
    """Both documents; input_format and encoding are given once or as (zh, en);
    a file over max_bytes is an InputError (align.reading.check_input_file)."""
    zh_format, en_format = per_side(input_format)
    zh_encoding, en_encoding = per_side(encoding)
    zh_doc = zh if isinstance(zh, Document) else read_document(zh, zh_format, zh_encoding, max_bytes)
    en_doc = en if isinstance(en, Document) else read_document(en, en_format, en_encoding, max_bytes)
    return zh_doc, en_doc


def pair_settings(split_semicolon: bool = False, input_format: str | tuple[str, str] = "auto",
                  encoding: str | None | tuple[str | None, str | None] = None, anchors: list | None = None) -> dict:
    """The settings of align_pair beyond the profile's that change the beads (the signature names them;
    anchors only when there are some)."""
    settings = {"split_semicolon": split_semicolon, "input_format": per_side(input_format),
                "encoding": per_side(encoding)}
    if anchors:
        settings["anchors"] = anchors_digest(anchors)
    return settings


def alignment_signature(
    model: ModelSpec | str = DEFAULT_MODEL,
    params: AlignParams | None = None,
    split_semicolon: bool = False,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    weights: Weights | None = None,
    anchors: list | None = None,
) -> str:
    """The signature (align.signature) of what align_pair does with this model and these settings.

    model: a ModelSpec (an Encoder's is `encoder.spec`) or a name resolve_model
    takes (a registry name, a folder), as align_pair's `model`; the signature
    names its model_id. weights: as given to align_pair; without them, those of
    the model's profile (align.profile.Profile.for_model), which align_pair uses then.
    anchors: as given to align_pair; named (how many, and a digest of them) only when there are some."""
    if isinstance(model, str):
        if re.fullmatch(r".+#[0-9a-f]{12}", model) and not Path(model).expanduser().exists():
            raise ValueError(f"alignment_signature takes the model (a ModelSpec or a name), not a model id: {model!r}")
        model = resolve_model(model)
    profile = Profile.for_model(model, weights, params)
    return profile.signature(pair_settings(split_semicolon, input_format, encoding, anchors))


def check_sentence_counts(zh_count: int, en_count: int, zh_name: str, en_name: str, force: bool = False) -> list[str]:
    """Raise InputError when one side has far more sentences than a translation
    has (MAX_COUNT_RATIO); with force, warn and return the problem instead."""
    ratio = (max(zh_count, en_count) + COUNT_SLACK) / (min(zh_count, en_count) + COUNT_SLACK)
    if ratio <= MAX_COUNT_RATIO:
        return []
    problem = (f"{zh_name} has {zh_count:,} sentences and {en_name} {en_count:,}: far more on one side than "
               f"a translation has; are they the right files?")
    if not force:
        raise InputError(problem + " (use --force to align anyway)")
    warnings.warn(problem, AlignWarning, stacklevel=3)
    return [problem]


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
    device: str = "auto",
    anchors: list | None = None,
    max_input_bytes: int | None = MAX_INPUT_BYTES,
    profile: Profile | None = None,
) -> PairResult:
    """Align a Chinese document with its English translation.

    zh, en: paths (a Path is always a path), texts (a str holding a newline), or Documents.
    model: a registry name (see `zhalign models`), a sentence-transformers
    folder, or an Encoder already loaded (reuse one across many pairs).
    input_format, encoding: one for both sides, or (Chinese side, English side);
    encoding None detects it.
    weights: the scorer's tuned numbers (default: those of the model's profile,
    align.profile.Profile.for_model: align/weights-e5+use.json for e5+use).
    progress: bars and status lines on stderr: None on a terminal only,
    True always, False never (align.progress).
    force: a side in the wrong language, or with far more sentences than the
    other (check_sentence_counts), is a warning, not an InputError.
    strict: a pair that does not look parallel is an InputError, not a warning.
    device: auto, cpu or cuda, for a model that is not loaded yet (align.embedding.resolve_device).
    anchors: beads to keep as given, (zh ids, en ids) pairs or Beads, ids counted as
    the sentences split (align.anchoring); one that cannot be kept is an InputError
    (anchoring.AnchorError, naming it) before anything is embedded.
    max_input_bytes: the largest file read (None: no limit); a device or FIFO is never read.
    profile: the model, weights and settings at once (align.profile.Profile); `model`
    then is its model (a name) or an Encoder of it, and weights or params given
    replace the profile's.
    """
    show = show_progress(progress)
    clock = time.perf_counter()
    with status("reading", show):
        zh_doc, en_doc = read_pair(zh, en, input_format, encoding, max_input_bytes)
        zh_sents = split_document(zh_doc, "zh", split_semicolon)
        en_sents = split_document(en_doc, "en")
    if not zh_sents or not en_sents:
        side = zh_doc.source if not zh_sents else en_doc.source
        raise InputError(f"{side}: no sentences found")
    problems = check_languages(zh_sents, en_sents, zh_doc.source, en_doc.source, force=force)
    problems += check_sentence_counts(len(zh_sents), len(en_sents), zh_doc.source, en_doc.source, force=force)
    if anchors:
        anchors = check_anchors(anchors, len(zh_sents), len(en_sents))
    seconds = {"read": time.perf_counter() - clock}

    clock = time.perf_counter()
    if profile is not None and isinstance(model, str):
        if model not in (DEFAULT_MODEL, profile.model.name):
            raise UsageError(f"model {model!r} and a profile of model {profile.model.name!r}: give one")
        model = profile.model.name
    with status(f"loading model {model if isinstance(model, str) else model.name}", show and isinstance(model, str)):
        encoder = load_encoder(profile.model if profile is not None and isinstance(model, str) else model, device)
    raise_if_interrupted()  # loading runs library code that may swallow a Ctrl-C (align.interrupting)
    profile = profile_of(encoder, profile, weights, params)
    if profile.warning:
        warnings.warn(profile.warning, AlignWarning, stacklevel=2)
        problems.append(profile.warning)
    seconds["load_model"] = time.perf_counter() - clock
    clock = time.perf_counter()
    zh_side = prepare_side(encoder, [s.text for s in zh_sents], [s.role for s in zh_sents], show, "embedding zh")
    en_side = prepare_side(encoder, [s.text for s in en_sents], [s.role for s in en_sents], show, "embedding en")
    zh_vectors, en_vectors = zh_side.aligned_vectors, en_side.aligned_vectors
    raise_if_interrupted()
    seconds["embed"] = time.perf_counter() - clock

    clock = time.perf_counter()
    evidence = prepare_pair(zh_side, en_side)
    with status(f"aligning {len(zh_sents):,} x {len(en_sents):,} sentences", show):
        alignment = align_vectors(zh_vectors, en_vectors, weights=profile, anchors=anchors, **evidence.arguments())
    seconds["align"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with status("checking that the pair is parallel", show):
        report = parallelism(alignment, zh_vectors, en_vectors, weights=profile, **evidence.arguments())
    seconds["check"] = time.perf_counter() - clock
    if report.parallel is False:
        message = f"{zh_doc.source} and {en_doc.source} do not look parallel: {report.reason}"
        if strict:
            raise InputError(message)
        warnings.warn(message, AlignWarning, stacklevel=2)
        problems.append(message)
    made_by = profile.signature(pair_settings(split_semicolon, input_format, encoding, anchors))
    frame = beads_to_frame(alignment.beads, zh_sents, en_sents, report.parallel, made_by)
    raise_if_interrupted()  # before any output, to stdout too
    return PairResult(frame, zh_sents, en_sents, zh_vectors, en_vectors, alignment, zh_doc, en_doc, encoder.name, seconds,
                      report, problems, profile.weights.id, made_by, encoder.device, profile)


def profile_of(encoder: Encoder, profile: Profile | None = None, weights: Weights | None = None,
               params: AlignParams | None = None) -> Profile:
    """The profile an encoder aligns with: `profile` (which must be of the encoder's
    model), else the model's own (Profile.for_model); weights and params given replace its."""
    if profile is None:
        return Profile.for_model(encoder, weights, params)
    if profile.model_id != encoder.model_id:
        raise UsageError(f"a profile of model {profile.model_id} given with an encoder of {encoder.model_id}")
    if weights is not None:
        profile = Profile.for_model(profile.model, weights, profile.params)
    return profile.with_params(params)


def align_texts(zh: Source, en: Source, **options) -> pd.DataFrame:
    """The bead table for a pair: columns zh, en, score, type, zh_ids, en_ids (lists),
    zh_roles, en_roles (lists), parallel, signature (align.writing.COLUMNS)."""
    return align_pair(zh, en, **options).frame


__all__ = ["align_pair", "align_texts", "alignment_signature", "PairResult", "PairSummary", "profile_of", "read_pair",
           "check_sentence_counts"]
