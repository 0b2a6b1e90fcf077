"""Checks on a document pair: are the sides in the right languages, and are they parallel?

Languages are checked on the sentences, before anything is embedded: the
Chinese side must be mostly Han characters, the English side mostly Latin
letters. A failed check raises InputError, or with force=True becomes a warning.

Parallelism is judged after aligning, without any absolute score threshold, so
it survives a recalibration of the aligner's scores. The null model is the
aligner run on a pair known not to be parallel, made from the same two
documents: the first half of the Chinese against the English that follows the
point the alignment puts opposite the Chinese middle, and the second half
against the English before it, the English each time in reverse order. For a
true translation the two share no content (and were they to share some, as in
a document that repeats itself, the reversed order keeps the aligner from
following it), so they show what the aligner scores on unrelated text of the
same style, topic, lengths and model. Two comparisons, both relative:

- auc: the chance that a paired bead of the real alignment scores higher than a
  paired bead of the null alignments (0.5 = no better than unrelated text;
  the sample pair scores about 0.96, the sample Chinese against an unrelated
  English article about 0.5);
- unaligned: the share of sentences the real alignment leaves in 1-0 and 0-1
  beads, against the same share in the null alignments.

The pair is parallel when auc >= MIN_AUC and the real alignment leaves at most
half as many sentences unaligned as the null does (this second test is skipped
when the null leaves fewer than a fifth unaligned: then it says nothing).
"""
from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from align.aligning import Alignment, AlignParams, align_vectors
from align.reading import InputError

MIN_AUC = 0.75           # real beads must beat null beads this often
MIN_SENTENCES = 4        # shorter documents are not judged (parallel = None)
MAX_NULL = 2000          # sentences a side in each null alignment, for long documents
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)

# A side must hold at least this share of its script.
MIN_HAN = 0.5            # Chinese side: Han characters / (non-Latin letters + Latin words)
MIN_LATIN = 0.6          # English side: Latin letters / all letters

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_LETTER = re.compile(r"[^\W\d_]")
_SAMPLE_CHARS = 400_000  # enough text to judge a script; long documents are sampled


class AlignWarning(UserWarning):
    """A problem the aligner works around (with --force) or can only point out."""


@dataclass
class ScriptProfile:
    letters: int        # letters of any script
    han: int            # Han characters
    latin: int          # Latin letters
    latin_words: int    # runs of Latin letters

    @property
    def han_share(self) -> float:
        """Han characters among the 'words': a Han character counts as one, so
        does a Latin word, every other letter as one (kana, hangul, Cyrillic);
        Chinese with English terms stays high, Japanese falls below half."""
        units = self.letters - self.latin + self.latin_words
        return self.han / units if units else 0.0

    @property
    def latin_share(self) -> float:
        return self.latin / self.letters if self.letters else 0.0

    def describe(self) -> str:
        """What the text looks like, to follow 'it': 'looks Chinese (98% Han)'."""
        if not self.letters:
            return "has no letters at all"
        if self.han_share >= MIN_HAN:
            return f"looks Chinese ({self.han_share:.0%} Han)"
        if self.latin_share >= MIN_LATIN:
            return f"looks English ({self.latin_share:.0%} Latin letters, {self.han_share:.0%} Han)"
        return f"looks neither Chinese nor English ({self.han_share:.0%} Han, {self.latin_share:.0%} Latin letters)"


def script_profile(sentences: Sequence) -> ScriptProfile:
    """Letter counts of sentences (Sentence objects or strings), from up to
    _SAMPLE_CHARS characters spread over the document."""
    texts = [getattr(s, "text", s) for s in sentences]
    total = sum(len(t) for t in texts)
    if total > _SAMPLE_CHARS:  # every k-th sentence: spread over the document
        step = -(-total // _SAMPLE_CHARS)
        texts = texts[::step]
    text = "\n".join(texts)
    return ScriptProfile(
        letters=len(_LETTER.findall(text)),
        han=len(_HAN.findall(text)),
        latin=len(_LATIN_LETTER.findall(text)),
        latin_words=len(_LATIN_WORD.findall(text)),
    )


def check_languages(
    zh_sentences: Sequence,
    en_sentences: Sequence,
    zh_name: str = "Chinese side",
    en_name: str = "English side",
    force: bool = False,
) -> list[str]:
    """Raise InputError if the Chinese side is not mostly Chinese or the English
    side not mostly Latin script; with force, return the problems (and issue
    them as AlignWarning) instead. Returns [] when both sides look right."""
    zh, en = script_profile(zh_sentences), script_profile(en_sentences)
    zh_ok, en_ok = zh.han_share >= MIN_HAN, en.latin_share >= MIN_LATIN and en.han_share < MIN_HAN
    problems = []
    if not zh_ok and not en_ok and zh.latin_share >= MIN_LATIN and en.han_share >= MIN_HAN:
        problems.append(f"the sides look swapped: {zh_name}, given as Chinese, {zh.describe()} and "
                        f"{en_name}, given as English, {en.describe()}; put the Chinese document first")
    else:
        if not zh_ok:
            problems.append(f"{zh_name}: given as the Chinese side but it {zh.describe()}")
        if not en_ok:
            problems.append(f"{en_name}: given as the English side but it {en.describe()}")
    if problems and not force:
        raise InputError(problems[0] + ("" if len(problems) == 1 else "; " + problems[1])
                         + " (use --force to align anyway)")
    for problem in problems:
        warnings.warn(problem, AlignWarning, stacklevel=2)
    return problems


@dataclass
class ParallelReport:
    """The verdict on a pair and its evidence; see the module docstring."""

    parallel: bool | None           # None: too short to judge
    auc: float | None               # P(real bead score > null bead score)
    unaligned: float                # share of sentences the alignment leaves unaligned
    null_unaligned: float | None    # the same share in the null alignments
    beads: int                      # paired beads (both sides non-empty) in the alignment
    null_beads: int                 # paired beads in the null alignments
    scores: list[float] = field(default_factory=list)       # quantiles 10, 25, 50, 75, 90 %
    null_scores: list[float] = field(default_factory=list)  # the same, null alignments
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.parallel is None:
            return f"parallel: not judged ({self.reason})"
        verdict = "yes" if self.parallel else "NO"
        unaligned = f"{self.unaligned:.0%} unaligned"
        if self.null_unaligned is not None:
            unaligned += f" vs {self.null_unaligned:.0%} by chance"
        return f"parallel: {verdict} (AUC {self.auc:.2f} against unrelated halves, {unaligned})"


def _part(items: list[str] | None, part: slice) -> list[str] | None:
    return None if items is None else items[part]


def parallelism(
    alignment: Alignment,
    zh_vectors: np.ndarray,
    en_vectors: np.ndarray,
    zh_lengths: np.ndarray | None = None,
    en_lengths: np.ndarray | None = None,
    params: AlignParams | None = None,
    max_null: int = MAX_NULL,
    *,
    zh_texts: list[str] | None = None,
    en_texts: list[str] | None = None,
    zh_roles: list[str] | None = None,
    en_roles: list[str] | None = None,
) -> ParallelReport:
    """Compare an alignment's bead scores with the aligner's scores on a
    non-parallel pair made from the same documents (see the module docstring).
    Give the texts and roles the alignment was made with, so that the null
    pair is scored with the same features (dictionary, quotes, credits)."""
    n, m = len(zh_vectors), len(en_vectors)
    zh_lengths = np.ones(n) if zh_lengths is None else np.asarray(zh_lengths, float)
    en_lengths = np.ones(m) if en_lengths is None else np.asarray(en_lengths, float)
    real, unaligned = _paired_scores(alignment, n + m)
    if min(n, m) < MIN_SENTENCES:
        return ParallelReport(None, None, unaligned, None, len(real), 0, _quantiles(real),
                              reason=f"fewer than {MIN_SENTENCES} sentences on a side")

    # The English sentence the alignment puts opposite the Chinese middle.
    middle, used_zh, opposite = n // 2, 0, 0
    for bead in alignment.beads:
        if used_zh >= middle:
            break
        used_zh += len(bead.zh)
        opposite += len(bead.en)
    halves = [
        (slice(max(0, middle - max_null), middle), slice(opposite, min(m, opposite + max_null))),
        (slice(middle, min(n, middle + max_null)), slice(max(0, opposite - max_null), opposite)),
    ]
    null_scores, null_unaligned_count, null_total = [], 0, 0
    for zh_part, en_part in halves:
        size_zh, size_en = zh_part.stop - zh_part.start, en_part.stop - en_part.start
        if size_zh == 0 or size_en == 0:
            continue
        reverse = slice(en_part.stop - 1, en_part.start - 1 if en_part.start else None, -1)
        null = align_vectors(zh_vectors[zh_part], np.ascontiguousarray(en_vectors[reverse]), zh_lengths[zh_part],
                             np.ascontiguousarray(en_lengths[reverse]), params,
                             zh_texts=_part(zh_texts, zh_part), en_texts=_part(en_texts, reverse),
                             zh_roles=_part(zh_roles, zh_part), en_roles=_part(en_roles, reverse))
        scores, share = _paired_scores(null, size_zh + size_en)
        null_scores.append(scores)
        null_unaligned_count += share * (size_zh + size_en)
        null_total += size_zh + size_en
    null = np.concatenate(null_scores) if null_scores else np.zeros(0)
    null_unaligned = null_unaligned_count / null_total if null_total else None

    auc = _auc(real, null)
    coverage_ok = null_unaligned is None or null_unaligned < 0.2 or unaligned <= 0.5 * null_unaligned
    parallel = bool(auc >= MIN_AUC and coverage_ok and len(real) >= 3)
    if parallel:
        reason = "bead scores well above those of unrelated halves of the same documents"
    elif auc < MIN_AUC:
        reason = f"bead scores no better than those of unrelated halves of the same documents (AUC {auc:.2f} < {MIN_AUC})"
    else:
        reason = f"{unaligned:.0%} of sentences unaligned, about as many as between unrelated halves ({null_unaligned:.0%})"
    return ParallelReport(parallel, round(auc, 4), round(unaligned, 4),
                          None if null_unaligned is None else round(null_unaligned, 4),
                          len(real), len(null), _quantiles(real), _quantiles(null), reason)


def _paired_scores(alignment: Alignment, sentences: int) -> tuple[np.ndarray, float]:
    """Scores of the beads with sentences on both sides, and the share of
    sentences left in 1-0 and 0-1 beads."""
    scores = np.array([b.score for b in alignment.beads if b.zh and b.en], dtype=float)
    unaligned = sum(len(b.zh) + len(b.en) for b in alignment.beads if not (b.zh and b.en))
    return scores, unaligned / sentences if sentences else 0.0


def _auc(real: np.ndarray, null: np.ndarray) -> float:
    """Mann-Whitney: P(real > null) + P(real == null) / 2, by sorting (n log n)."""
    if len(real) == 0:
        return 0.0
    if len(null) == 0:
        return 1.0  # the aligner pairs nothing in unrelated text, and something here
    ordered = np.sort(null)
    below = np.searchsorted(ordered, real, side="left")
    at_or_below = np.searchsorted(ordered, real, side="right")
    return float(((below + at_or_below) / 2).mean() / len(null))


def _quantiles(values: np.ndarray) -> list[float]:
    return [round(float(q), 4) for q in np.quantile(values, QUANTILES)] if len(values) else []


__all__ = ["AlignWarning", "ParallelReport", "check_languages", "parallelism", "script_profile"]
