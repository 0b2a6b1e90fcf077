"""Checks on a document pair: are the sides in the right languages, and are they parallel?

Languages are checked on the sentences, before anything is embedded: the
Chinese side must be mostly Han characters, the English side mostly Latin
letters. A failed check raises InputError, or with force=True becomes a warning.

Parallelism is judged after aligning, mostly by relative tests that survive a
recalibration of the aligner's scores (one absolute floor, below). The null model is the
aligner run on a pair known not to be parallel, made from the same two
documents: the first half of the Chinese against the English that follows the
point the alignment puts opposite the Chinese middle, and the second half
against the English before it, the English each time in reverse order. For a
true translation the two share no content (and were they to share some, as in
a document that repeats itself, the reversed order keeps the aligner from
following it), so they show what the aligner scores on unrelated text of the
same style, topic, lengths and model. Two comparisons, both relative:

- auc: the chance that a paired bead of the real alignment is more similar than a
  paired bead of the null alignments (0.5 = no better than unrelated text;
  the sample pair scores about 0.96, the sample Chinese against an unrelated
  English article about 0.5);
- unaligned: the share of sentences the real alignment leaves in 1-0 and 0-1
  beads, against the same share in the null alignments.

The pair is parallel when auc >= MIN_AUC and the real alignment leaves at most
half as many sentences unaligned as the null does (this second test is skipped
when the null leaves fewer than a fifth unaligned: then it says nothing).

Both comparisons are relative, and on a short pair they are weak: with ten beads
a side, two unrelated literary pieces can beat their own null halves (the null
of unrelated text is, reversed, even more unrelated). So one absolute test is
added, in the calibrated scores' own terms (the chance a bead is exactly right):
the median paired bead must score at least the weights' min_median_score
(align.weights: 0.3 in both shipped files). On MAC-Dev pieces of 6-40 beads, with
the default model, the true pairs' medians are 0.37 and above, the unrelated pairs'
0.27 and below (docs/benchmarks.md). This floor reads the calibration, so it lives
in the weights file beside it: a refit that moves the scores must restate it.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from align.aligning import Alignment, AlignParams, Profile, align_vectors, weights_and_params
from align.errors import AlignWarning, InputError
from align.features import DictionaryEvidence, SentenceStats
from align.script import script_profile
from align.weights import Weights

MIN_AUC = 0.75           # real beads must beat null beads this often (the median floor is the weights')
MIN_SENTENCES = 4        # shorter documents are not judged (parallel = None)
MAX_NULL = 2000          # sentences a side in each null alignment, for long documents
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


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
    zh_ok, en_ok = zh.looks_chinese(), en.looks_english()
    problems = []
    if not zh_ok and not en_ok and zh.looks_english() and en.looks_chinese():
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
    auc: float | None               # P(real bead similarity > null bead similarity) (paired_similarity)
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
        median = f", median bead score {self.scores[2]:.2f}" if self.scores else ""
        return f"parallel: {verdict} (AUC {self.auc:.2f} against unrelated halves{median}, {unaligned})"


def null_pairs(alignment: Alignment, n: int, m: int, max_null: int = MAX_NULL) -> list[tuple[np.ndarray, np.ndarray]]:
    """(zh sentences, en sentences) of the non-parallel pairs made from a
    document pair: the first half of the Chinese against the English after
    the point the alignment puts opposite the Chinese middle, the second half
    against the English before it, the English each time in reverse order
    (see the module's doc). Each holds at most max_null sentences a side."""
    middle, used_zh, opposite = n // 2, 0, 0
    for bead in alignment.beads:
        if used_zh >= middle:
            break
        used_zh += len(bead.zh)
        opposite += len(bead.en)
    halves = [(np.arange(max(0, middle - max_null), middle), np.arange(opposite, min(m, opposite + max_null))),
              (np.arange(middle, min(n, middle + max_null)), np.arange(max(0, opposite - max_null), opposite))]
    return [(zh_part, en_part[::-1]) for zh_part, en_part in halves if len(zh_part) and len(en_part)]


@dataclass
class NullAlignments:
    """What the aligner makes of non-parallel pairs cut from the same documents."""

    scores: np.ndarray      # of their paired beads
    similarity: np.ndarray  # of the same beads: what the relative tests compare (see paired_similarity)
    unaligned: float | None # share of their sentences left in 1-0 and 0-1 beads
    alignments: list[tuple[np.ndarray, np.ndarray, Alignment]]  # (zh sentences, en sentences, alignment)


def null_alignments(
    alignment: Alignment,
    zh_vectors: np.ndarray,
    en_vectors: np.ndarray,
    zh_stats: SentenceStats | None = None,
    en_stats: SentenceStats | None = None,
    params: AlignParams | None = None,
    *,
    weights: Weights | Profile,
    dictionary: DictionaryEvidence | None = None,
    max_null: int = MAX_NULL,
) -> NullAlignments:
    """Align the null pairs of `null_pairs` with the same statistics, dictionary
    and weights the real alignment had, so that they differ from it only in
    being unrelated. The parallel check and `zhalign pair` both judge against them."""
    n, m = len(zh_vectors), len(en_vectors)
    scores, similarity, unaligned, total, made = [], [], 0, 0, []
    for zh_part, en_part in null_pairs(alignment, n, m, max_null):
        zh_part_stats = None if zh_stats is None else zh_stats.take(zh_part)
        en_part_stats = None if en_stats is None else en_stats.take(en_part)
        null = align_vectors(zh_vectors[zh_part], en_vectors[en_part], zh_part_stats, en_part_stats, params,
                             weights=weights, dictionary=None if dictionary is None else dictionary.take(zh_part, en_part))
        paired, left, counted = _paired_scores(null, zh_part_stats, en_part_stats)
        scores.append(paired)
        similarity.append(paired_similarity(null))
        unaligned += left
        total += counted
        made.append((zh_part, en_part, null))
    return NullAlignments(np.concatenate(scores) if scores else np.zeros(0),
                          np.concatenate(similarity) if similarity else np.zeros(0),
                          unaligned / total if total else None, made)


def parallelism(
    alignment: Alignment,
    zh_vectors: np.ndarray,
    en_vectors: np.ndarray,
    zh_stats: SentenceStats | None = None,
    en_stats: SentenceStats | None = None,
    params: AlignParams | None = None,
    *,
    weights: Weights | Profile,
    dictionary: DictionaryEvidence | None = None,
    max_null: int = MAX_NULL,
) -> ParallelReport:
    """Compare an alignment's beads with the aligner's beads on non-parallel
    pairs made from the same documents (see the module docstring). Give the
    statistics, dictionary and weights (or profile) the alignment was made with."""
    weights, params = weights_and_params(weights, params)
    n, m = len(zh_vectors), len(en_vectors)
    real, left, counted = _paired_scores(alignment, zh_stats, en_stats)
    unaligned = left / counted if counted else 0.0
    if min(n, m) < MIN_SENTENCES:
        return ParallelReport(None, None, unaligned, None, len(real), 0, _quantiles(real),
                              reason=f"fewer than {MIN_SENTENCES} sentences on a side")
    nulls = null_alignments(alignment, zh_vectors, en_vectors, zh_stats, en_stats, params, weights=weights,
                            dictionary=dictionary, max_null=max_null)
    parallel, auc, reason = judge(paired_similarity(alignment), nulls.similarity, float(np.median(real)) if len(real)
                                  else 0.0, unaligned, nulls.unaligned, weights.min_median_score)
    return ParallelReport(parallel, round(auc, 4), round(unaligned, 4),
                          None if nulls.unaligned is None else round(nulls.unaligned, 4),
                          len(real), len(nulls.scores), _quantiles(real), _quantiles(nulls.scores), reason)


def paired_similarity(alignment: Alignment) -> np.ndarray:
    """The similarity of each bead that pairs both sides. The relative tests (the AUC
    here, `zhalign pair`'s aligned share) compare these, not the scores: the score reads
    a bead's neighbours too, and in unrelated text the real alignment's beads, all a
    little closer than the reversed null's, would lift each other."""
    return np.array([v for b, v in zip(alignment.beads, alignment.similarity) if b.zh and b.en], dtype=float)


def judge(real: np.ndarray, null: np.ndarray, median: float, unaligned: float,
          null_unaligned: float | None, min_median: float) -> tuple[bool, float, str]:
    """(parallel, AUC, why) from the paired beads' similarities in the real and the
    null alignments (paired_similarity), the median paired-bead score of the real
    one, the shares of sentences each leaves unaligned (module docstring) and the
    weights' floor on that median (Weights.min_median_score)."""
    auc = _auc(real, null)
    parallel, reason = decide(auc, median, unaligned, null_unaligned, len(real), min_median)
    return parallel, auc, reason


def decide(auc: float, median: float, unaligned: float, null_unaligned: float | None, beads: int,
           min_median: float) -> tuple[bool, str]:
    """judge's verdict and why, from the AUC, the median paired-bead score, the
    unaligned shares and the number of paired beads; min_median=0 gives the relative
    tests alone (0.4.2's check, scripts/bench_parallel_check.py)."""
    coverage_ok = null_unaligned is None or null_unaligned < 0.2 or unaligned <= 0.5 * null_unaligned
    parallel = bool(auc >= MIN_AUC and median >= min_median and coverage_ok and beads >= 3)
    if parallel:
        reason = "bead scores well above those of unrelated halves of the same documents"
    elif auc < MIN_AUC:
        reason = f"bead scores no better than those of unrelated halves of the same documents (AUC {auc:.2f} < {MIN_AUC})"
    elif median < min_median:
        reason = f"most beads are unlikely to be translations (median bead score {median:.2f} < {min_median})"
    elif not coverage_ok:
        reason = f"{unaligned:.0%} of sentences unaligned, about as many as between unrelated halves ({null_unaligned:.0%})"
    else:
        reason = f"only {beads} beads pair sentences"
    return parallel, reason


def _paired_scores(alignment: Alignment, zh_stats: SentenceStats | None = None,
                   en_stats: SentenceStats | None = None) -> tuple[np.ndarray, int, int]:
    """Scores of the beads with sentences on both sides; how many sentences
    are left in 1-0 and 0-1 beads, and of how many. Credits and bylines are
    not counted: one side often has them and the other not, in a true
    translation as much as in unrelated text."""
    zh_credit = np.zeros(0) if zh_stats is None else zh_stats.credits
    en_credit = np.zeros(0) if en_stats is None else en_stats.credits

    def counted(ids: list[int], credit: np.ndarray) -> int:
        return sum(1 for k in ids if not (k < len(credit) and credit[k]))

    scores = np.array([b.score for b in alignment.beads if b.zh and b.en], dtype=float)
    left = sum(counted(b.zh, zh_credit) + counted(b.en, en_credit) for b in alignment.beads if not (b.zh and b.en))
    total = sum(counted(b.zh, zh_credit) + counted(b.en, en_credit) for b in alignment.beads)
    return scores, left, total


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


__all__ = ["MIN_AUC", "ParallelReport", "check_languages", "decide", "judge", "null_alignments", "paired_similarity", "parallelism"]
