"""Fitting the scorer's weights to gold alignments, and judging a fit fairly.

`fit` is coordinate ascent on pooled strict F1: each weight in turn moves up
or down by a step while that improves F1; steps halve each round. Features
are computed once per document (their tables do not depend on the weights
being fitted), so one evaluation costs only the search. With a shape prior
(Weights.with_shape_prior) the paired shapes' biases are not knobs: they come
from the fitted gold's shape counts and one strength, chosen from PRIOR_GRID.

After the ascent, `attach_drop` (align.attaching: how much a sentence the search
left unaligned may lower its neighbour's similarity and still join it) is chosen
from ATTACH_GRID by the same F1; nothing attached wins a tie.

`cross_validate` judges the fitting procedure, not one set of weights: for
each chapter, fit on all the others starting from the same weights, align the
chapter left out with that fit, and pool the held-out results. That figure is
the one that says how the aligner does on chapters it was never tuned on.
A chapter may come in several versions ("001" and "deletions/001": the same
chapter with sentences left untranslated, scripts/make_deletions.py); they are
held out together, so no fit sees any version of the chapter it is judged on.

`calibrate` fits the score's sigmoid, on a bead's similarity, its
neighbours' (and how weak they are) and whether it sits beside a sentence left
unaligned (scoring.score_inputs), over predicted beads of the gold files
(exactly right or not) and the paired beads of their null alignments (never
right), so that a score means the same on parallel and unrelated text.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from align.passes import AlignParams, best_alignment, bead_context
from align.checking import null_alignments
from align.evaluating import evaluate
from align.geometry import centred
from align.scoring import SCORE_INPUTS, WEAK_CONTEXT_BELOW, BeadContext, score_inputs
from align.weights import Weights, is_paired

# Knobs the gold cannot fit, held at their hand-set values in every fit: MAC-Dev
# has no staff credits or bylines (credit_diff keeps the sample pair's credits apart).
HAND_SET = ("credit_diff",)
# Knobs and their first step. cos stays at 1 (the scale); 1-1 stays at 0 (the origin).
FEATURE_STEP, SHAPE_STEP = 0.1, 0.3
# Strengths of the shape prior tried, each with the other knobs fitted after it. A grid, not a
# step of the ascent: from 0, one step changes no bead F1 can see, so the ascent never leaves it.
PRIOR_GRID = (0.1, 0.2, 0.3, 0.4, 0.5)
OTHER_STEPS = {"size_power": 0.15, "skip_best_match": 0.5, "skip_repeat": 0.5}
# Largest similarity drops at which a sentence left unaligned joins its neighbour (align.attaching),
# tried after the ascent; None (attach nothing) first, so that it wins a tie.
ATTACH_GRID = (None, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass
class TuningDocument:
    context: BeadContext
    gold: list


def tuning_documents(docs: dict, weights: Weights, params: AlignParams | None = None) -> dict[str, TuningDocument]:
    """name -> TuningDocument, from bench.BenchDocument-like objects (vectors, evidence, gold).
    The tables read only the weights' table_settings, which a fit never moves: one
    preparation serves every fit from weights with the same settings (neutral ones too)."""
    params = params or AlignParams()
    return {name: TuningDocument(bead_context(centred(d.zh_vectors), centred(d.en_vectors), d.evidence.zh_stats,
                                              d.evidence.en_stats, params, weights, d.evidence.dictionary,
                                              keep_features=True), d.gold)
            for name, d in docs.items()}


def table_settings(weights: Weights) -> tuple:
    """What of the weights the prepared tables depend on: the first pass's skip cost, the
    band's bead shapes, the length spreads and the margin's k (none of them fitted)."""
    return weights.rough_skip, tuple(sorted(weights.shapes)), weights.length_sigma, weights.length_noise, weights.neighbours


def predict(docs: dict[str, TuningDocument], weights: Weights, params: AlignParams | None = None,
            scored: bool = True) -> dict[str, list]:
    """name -> beads (zh, en, score); scored=False: scores NaN, no doubt computed (passes.best_alignment)."""
    params = params or AlignParams()
    return {name: [(tuple(b.zh), tuple(b.en), b.score) for b in best_alignment(d.context, params, weights, scored).beads]
            for name, d in docs.items()}


def strict_f1(docs: dict[str, TuningDocument], weights: Weights) -> float:
    predicted = predict(docs, weights, scored=False)  # the F1 reads no score
    return evaluate({name: (d.gold, [(z, e) for z, e, _ in predicted[name]]) for name, d in docs.items()}
                    )["pooled"]["strict_f1"]


def knobs(weights: Weights, hold: Iterable[str] = ()) -> list[tuple[str, str | None, float]]:
    """(group, key, step) of every fitted weight; a knob named in `hold` (a
    group, a feature or a shape) stays as it is. With a shape prior
    (Weights.shape_counts) the paired shapes are not knobs: fit sets them by its strength."""
    hold = set(hold)
    out = [("features", name, FEATURE_STEP) for name in weights.features if name != "cos"]
    out += [(group, None, step) for group, step in OTHER_STEPS.items()]
    prior = weights.shape_counts is not None
    out += [("shapes", kind, SHAPE_STEP) for kind in weights.shapes
            if kind != "1-1" and not (prior and is_paired(kind))]
    return [(group, key, step) for group, key, step in out if group not in hold and key not in hold]


def moved(weights: Weights, group: str, key: str | None, delta: float) -> Weights:
    # Rounded: steps are powers of two of 0.1-ish, and 0.15000000000000002 reads badly in the file.
    if key is None:
        return weights.replace(**{group: round(getattr(weights, group) + delta, 6)})
    return weights.replace(**{group: getattr(weights, group) | {key: round(getattr(weights, group)[key] + delta, 6)}})


def fit(docs: dict[str, TuningDocument], weights: Weights, rounds: int = 3, hold: Iterable[str] = (),
        log=None) -> tuple[Weights, float]:
    """Coordinate ascent on pooled strict F1 (see the module's doc). With a
    shape prior, the counts are read from these documents' gold only (what a
    fold may see), and the ascent runs from each strength of PRIOR_GRID: the
    best fit wins (the weakest strength on a tie). Then attach_drop is chosen
    from ATTACH_GRID (_choose_attach), unless `hold` names it. attach_doubt is the
    start's (the fit runs without it: align.attach_choice chooses it held out)."""
    if any(table_settings(d.context.weights) != table_settings(weights) for d in docs.values()):
        raise ValueError("documents prepared with other table settings than the weights to fit")
    hold = tuple(hold)
    # attach_doubt is chosen on held-out alignments (align.attach_choice), never in sample: the fit
    # runs without it and hands back the start's.
    attach_doubt, weights = weights.attach_doubt, weights.replace(attach_doubt=None)
    if "attach_drop" not in hold:  # the ascent fits the search alone; what is attached is chosen after it
        weights = weights.replace(attach_drop=None)
    if weights.shape_counts is None:
        fitted = _ascend(docs, weights, rounds, hold, log)
    else:
        counts = shape_counts(docs)
        fits = []
        for strength in PRIOR_GRID:
            if log:
                log(f"shape prior {strength}:")
            fits.append(_ascend(docs, weights.with_shape_prior(strength, counts), rounds, hold, log))
        fitted = max(fits, key=lambda fitted: fitted[1])
    fitted = fitted if "attach_drop" in hold else _choose_attach(docs, *fitted, log)
    return fitted[0].replace(attach_doubt=attach_doubt), fitted[1]


def _choose_attach(docs: dict[str, TuningDocument], weights: Weights, f1: float, log=None) -> tuple[Weights, float]:
    """The fitted weights with the attach_drop of ATTACH_GRID that gives the best F1 (align.attaching).
    A grid after the ascent, not a knob of it: the ascent's other knobs are fitted with nothing
    attached, and from None no step of the ascent moves it."""
    best = (weights, f1)
    for drop in ATTACH_GRID[1:]:
        candidate = weights.replace(attach_drop=drop)
        score = strict_f1(docs, candidate)
        if log:
            log(f"attach_drop {drop}: strict F1 {score:.4f}")
        if score > best[1] + 1e-4:
            best = (candidate, score)
    return best


def _ascend(docs: dict[str, TuningDocument], weights: Weights, rounds: int, hold: Iterable[str],
            log=None) -> tuple[Weights, float]:
    """The coordinate ascent itself, from `weights`."""
    say = log or (lambda text: None)
    best = strict_f1(docs, weights)
    say(f"start: strict F1 {best:.4f}")
    for round_ in range(rounds):
        scale = 0.5 ** round_
        for group, key, step in knobs(weights, hold):
            for delta in (step * scale, -step * scale):
                improved = False
                while True:
                    candidate = moved(weights, group, key, delta)
                    f1 = strict_f1(docs, candidate)
                    if f1 <= best + 1e-4:
                        break
                    weights, best, improved = candidate, f1, True
                    say(f"  {group} {key or ''}: {delta:+.3f} -> {best:.4f}")
                if improved:
                    break
        say(f"round {round_ + 1}: strict F1 {best:.4f}")
    return weights, best


def shape_counts(docs: dict[str, TuningDocument]) -> dict[str, int]:
    """Gold beads of each shape ("a-b") in these documents, each chapter counted
    once (its deletion-set version would count its beads twice)."""
    counts = Counter(f"{len(zh)}-{len(en)}" for name, d in docs.items() if chapter(name) == name for zh, en in d.gold)
    return dict(sorted(counts.items()))


def chapter(name: str) -> str:
    """The chapter a file is a version of: "deletions/001" -> "001"."""
    return name.rsplit("/", 1)[-1]


def neutral_start(weights: Weights, keep: Iterable[str] = ()) -> Weights:
    """The start of the fitting procedure that CV judges and tune_scorer ships:
    neutral weights, with the hand-set knobs and the features in `keep` as given
    (the fit is to hold those: tune_scorer --keep, the weights' provenance `kept`)."""
    return weights.neutral(keep=HAND_SET + tuple(keep))


def kept(weights: Weights) -> tuple[str, ...]:
    """The features the procedure that fitted these weights kept at their start value."""
    return tuple(weights.provenance.get("kept", ()))


def held(weights: Weights) -> tuple[str, ...]:
    """The knobs the procedure that fitted these weights left as they were (kept ones included)."""
    return tuple(weights.provenance.get("held", ()))


def cross_validate(prepared: dict[str, TuningDocument], weights: Weights, rounds: int = 3, hold: Iterable[str] = (),
                   log=None, processes: int | None = None) -> tuple[dict[str, list], dict[str, Weights]]:
    """Leave-one-chapter-out on documents from tuning_documents: (held-out predictions
    by file, the weights fitted without each chapter). The folds are fitted side by side
    in `processes` forked processes (default: one per core this process may use), with
    the same results as one after the other (each fold's fit is deterministic); the
    feature tables are computed first, so the processes share them."""
    hold = tuple(hold) + HAND_SET
    chapters = sorted({chapter(name) for name in prepared})
    processes = len(os.sched_getaffinity(0)) if processes is None else processes
    global _FOLDS
    _FOLDS = (prepared, weights, rounds, hold)
    try:
        if processes > 1 and len(chapters) > 1:
            predict(prepared, weights)  # fills every document's feature tables before the fork
            with multiprocessing.get_context("fork").Pool(min(processes, len(chapters))) as pool:
                folds = pool.imap(_fold, chapters)  # in order, each as soon as it and those before are done
                return _pooled(folds, log)
        return _pooled(map(_fold, chapters), log)
    finally:
        _FOLDS = None


_FOLDS = None  # what cross_validate's folds read: set before they run (and before a fork)


def _fold(left_out: str) -> tuple[str, Weights, float, int, dict[str, list]]:
    prepared, weights, rounds, hold = _FOLDS
    rest = {name: d for name, d in prepared.items() if chapter(name) != left_out}
    fold_weights, f1 = fit(rest, weights, rounds, hold)
    held_out = predict({name: d for name, d in prepared.items() if chapter(name) == left_out}, fold_weights)
    return left_out, fold_weights, f1, len(rest), held_out


def _pooled(folds, log=None) -> tuple[dict[str, list], dict[str, Weights]]:
    held_out, fitted = {}, {}
    for left_out, fold_weights, f1, rest, predicted in folds:
        fitted[left_out] = fold_weights
        held_out |= predicted
        if log:
            log(f"fold {left_out}: fitted on the other {rest} files to strict F1 {f1:.4f}")
    return held_out, fitted


def cross_validate_by(prepared: dict[str, TuningDocument], weights: Weights, group: Callable[[str], str],
                      rounds: int = 3, hold: Iterable[str] = (), log=None,
                      processes: int | None = None) -> tuple[dict[str, list], dict[str, Weights]]:
    """As cross_validate, but holding out a whole group of chapters at a time: group(chapter)
    names the chapter's group (align.bench.read_novels: its novel), and every version of every
    chapter of the group is left out together. (held-out predictions by file, the weights
    fitted without each group). A new book is a novel the fit never saw; leaving out one
    chapter of it still lets the fit see the novel's other chapters."""
    hold = tuple(hold) + HAND_SET
    groups = sorted({group(chapter(name)) for name in prepared})
    processes = len(os.sched_getaffinity(0)) if processes is None else processes
    global _GROUP_FOLDS
    _GROUP_FOLDS = (prepared, weights, rounds, hold, group)
    try:
        if processes > 1 and len(groups) > 1:
            predict(prepared, weights)  # fills every document's feature tables before the fork
            with multiprocessing.get_context("fork").Pool(min(processes, len(groups))) as pool:
                return _pooled(pool.imap(_group_fold, groups), log)
        return _pooled(map(_group_fold, groups), log)
    finally:
        _GROUP_FOLDS = None


_GROUP_FOLDS = None  # what cross_validate_by's folds read: set before they run (and before a fork)


def _group_fold(left_out: str) -> tuple[str, Weights, float, int, dict[str, list]]:
    prepared, weights, rounds, hold, group = _GROUP_FOLDS
    rest = {name: d for name, d in prepared.items() if group(chapter(name)) != left_out}
    fold_weights, f1 = fit(rest, weights, rounds, hold)
    held_out = predict({name: d for name, d in prepared.items() if group(chapter(name)) == left_out}, fold_weights)
    return left_out, fold_weights, f1, len(rest), held_out


@dataclass
class CalibrationData:
    """What a score calibration is fitted on: scoring.score_inputs of paired beads (name ->
    one value a bead) and whether each is exactly a gold bead (null beads: never)."""

    inputs: dict[str, np.ndarray]
    right: np.ndarray

    @classmethod
    def joined(cls, parts: list["CalibrationData"]) -> "CalibrationData":
        names = SCORE_INPUTS if not parts else tuple(parts[0].inputs)
        return cls({name: np.concatenate([np.zeros(0)] + [p.inputs[name] for p in parts]) for name in names},
                   np.concatenate([np.zeros(0, dtype=bool)] + [p.right for p in parts]))

    def __len__(self) -> int:
        return len(self.right)


def alignment_calibration_data(alignment, gold: set, context_beads: int) -> CalibrationData:
    """CalibrationData of the paired beads of one alignment (gold: its (zh, en) gold beads; empty for a null one)."""
    shapes = [(len(b.zh), len(b.en)) for b in alignment.beads]
    values = score_inputs(np.array(alignment.similarity, dtype=float), context_beads, shapes, WEAK_CONTEXT,
                          np.array(alignment.doubt, dtype=float))
    paired = np.array([bool(b.zh and b.en) for b in alignment.beads], dtype=bool)
    right = np.array([(tuple(b.zh), tuple(b.en)) in gold for b in alignment.beads], dtype=bool)
    return CalibrationData({name: v[paired] for name, v in values.items()}, right[paired])


def calibration_data(docs: dict, weights: Weights) -> CalibrationData:
    """CalibrationData of every paired bead the weights predict on the gold files (docs:
    bench.BenchDocument-like) and on their null alignments (checking.null_alignments, never right)."""
    from align.aligning import align_vectors

    parts = []
    for d in docs.values():
        arguments = d.evidence.arguments()
        alignment = align_vectors(d.zh_vectors, d.en_vectors, weights=weights, **arguments)
        parts.append(alignment_calibration_data(alignment, set(d.gold), weights.context_beads))
        for _, _, null in null_alignments(alignment, d.zh_vectors, d.en_vectors, weights=weights,
                                          **arguments).alignments:
            parts.append(alignment_calibration_data(null, set(), weights.context_beads))
    return CalibrationData.joined(parts)


# The inputs a new calibration reads (scoring.SCORE_INPUTS), and where its weak context starts
# (about the highest context unrelated text reaches with e5+use: 99% of null beads' are below 0.21).
# By novel on the 18 MAC chapters: calibration error 0.091 -> 0.02 (docs/experiments.md, stop 30); with the
# search's doubt, 0.020 -> 0.013 and beads at >= 0.9 exactly right 95.0% -> 97.5% out of fold (stop 31).
CALIBRATION_INPUTS = ("similarity", "context", "weak_context", "beside_unaligned", "doubt")
WEAK_CONTEXT = 0.3


def calibrate(data: CalibrationData, inputs: Iterable[str] = CALIBRATION_INPUTS) -> dict[str, float]:
    """Logistic fit of 'exactly right' on the named inputs of calibration_data: input name ->
    coefficient, "offset" and where the weak context starts, as scoring.bead_score reads a
    mapping. (The data's weak_context must have been made with WEAK_CONTEXT: calibration_data.)"""
    from sklearn.linear_model import LogisticRegression

    inputs = tuple(inputs)
    model = LogisticRegression(C=100.0, max_iter=1000).fit(np.column_stack([data.inputs[n] for n in inputs]),
                                                           data.right)
    coefficients = {name: round(float(c), 4) for name, c in zip(inputs, model.coef_[0])}
    return coefficients | {"offset": round(float(model.intercept_[0]), 4), WEAK_CONTEXT_BELOW: WEAK_CONTEXT}


def stderr_log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
