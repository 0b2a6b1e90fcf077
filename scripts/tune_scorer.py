"""Fit the bead scorer's weights on gold alignments and write the weights file.

    python scripts/tune_scorer.py BENCH_DIR [BENCH_DIR ...] [--cv novel] [--deletions DIR] [--neutral] [--shape-prior]
        [--model NAME] [--rounds 3] [--hold skip_best_match ...] [--keep margin ...] [--start align/weights-MODEL.json]
        [-o align/weights-MODEL.json] [--name NAME] [--no-cv] [--calibrate-only | --attach-doubt-only]

The start weights and the file written are by default those the model's
registry entry names (align.profile.Profile.for_model), never another model's.
The thresholds in the calibrated scores' terms (context_beads, min_median_score,
min_export_score) are carried over from the start file: restate them after a refit.

The shipped weights come from the fitting procedure the cross-validation
judges: from neutral weights (--neutral), on MAC-Dev and its deletion set
(--deletions, made by scripts/make_deletions.py), so that the fit also learns
when to leave a sentence unaligned, and with --shape-prior, so that the
paired shapes' biases come from how often the gold has each shape (one
strength fitted, not a bias per shape). Knobs the gold cannot fit
(align.tuning.HAND_SET), and features named with --keep, stay at their values
in the start file.

1. Cross-validation first (leave one chapter out, align.tuning.cross_validate;
   with --cv novel a whole novel, align.tuning.cross_validate_by, reading each
   folder's meta_data.tsv): the figure that says how well this fitting procedure
   does on files it was not fitted on. It is written into the file's provenance.
   Several BENCH_DIRs are fitted on as one benchmark (MAC-Dev and MAC-Train).
   With --deletions, `attach_doubt` (how narrowly the search may have left a sentence
   out for it to join its neighbour) is chosen on the CV's held-out files, each
   searched with its own fold's weights (align.attach_choice; in sample the folds tried chose
   None), unless held.
2. The fit on all files (coordinate ascent on pooled strict F1; then `attach_drop`,
   what a sentence left unaligned may cost its neighbour to join it, from a grid:
   align.tuning.ATTACH_GRID, unless held). --attach-doubt-only keeps the start
   weights' fit instead and sets only attach_doubt (then step 3):
       python scripts/tune_scorer.py ../shared/bench/mac-dev ../shared/bench/mac-train --cv novel \
           --deletions /tmp/accuracy/mac-del18 --model e5+use --attach-doubt-only \
           --start align/weights-e5+use.json -o align/weights-e5+use.json
3. The calibration of the scores on the fitted weights (a bead's similarity, its
   neighbours' and how weak they are, and whether it sits beside a sentence left
   unaligned: align.tuning.calibrate), over predicted beads of the gold files and
   the paired beads of their null alignments. --calibrate-only keeps the start
   weights and refits only this, e.g. for the default model on the 18 MAC chapters
   and their deletion set (minutes, no cross-validation):
       python scripts/tune_scorer.py ../shared/bench/mac-dev ../shared/bench/mac-train \
           --deletions /tmp/accuracy/mac-del18 --model e5+use --calibrate-only \
           --start align/weights-e5+use.json -o align/weights-e5+use.json --min-median-score 0.5
   (the parallel check's floor restated for these scores: docs/experiments.md, stop 30).
Needs the `tune` extra (scikit-learn). Tune on development data only.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from align.attach_choice import cross_validated_attach_doubt
from align.bench import bench_dir, is_deletion, load_benches, load_deletion_set, novel_of, read_novels, scores_of
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.profile import Profile
from align.weights import WEIGHTS_DIR, Weights
from align.writing import write_atomically
from align.scoring import SCORE_INPUTS
from align.tuning import (CALIBRATION_INPUTS, HAND_SET, calibrate, calibration_data, chapter, cross_validate,
                          cross_validate_by, fit, held, kept, neutral_start, stderr_log, strict_f1, tuning_documents)


def deletion_record(folder: Path | None) -> dict | None:
    """How the deletion set was made (its deletions.json, without the per-file counts)."""
    record = folder / "deletions.json" if folder else None
    if record is None or not record.exists():
        return None
    return {k: v for k, v in json.loads(record.read_text("utf-8")).items() if k != "per_file"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="*", type=Path,
                        help="folders with zh/, en/, gold/, fitted on as one (default: $ZHALIGN_BENCH)")
    parser.add_argument("--cv", choices=("chapter", "novel"), default="chapter",
                        help="leave out a chapter (default) or a whole novel (meta_data.tsv) at a time")
    parser.add_argument("--deletions", type=Path, metavar="DIR",
                        help="the same chapters with sentences left untranslated (scripts/make_deletions.py), fitted on too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold", nargs="*", default=[],
                        help="knobs left as they are: skip_best_match, size_power, attach_drop, features, shapes, a feature or a shape")
    parser.add_argument("--keep", nargs="*", default=[], metavar="FEATURE",
                        help="features kept at the start file's value, even from a neutral start, and held there")
    parser.add_argument("--start", type=Path,
                        help="weights to start from (default: the model's, as its registry entry names them)")
    parser.add_argument("--neutral", action="store_true",
                        help="start from the neutral weights (the cosine alone) instead: a fit owing nothing to earlier tuning")
    parser.add_argument("-o", "--output", type=Path,
                        help="weights file to write (default: the one the model's registry entry names, in align/)")
    parser.add_argument("--name", default=f"mac-dev-{datetime.date.today():%Y-%m-%d}", help="name in the weights id")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--shape-prior", action="store_true",
                        help="paired shapes' biases from the gold's shape counts, one strength fitted (Weights.with_shape_prior) "
                             "instead of a bias per shape; weights that have shape counts keep using them")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation (its figure stays empty)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the start weights, refit only the score calibration (no CV, no fit)")
    parser.add_argument("--attach-doubt-only", action="store_true",
                        help="keep the start weights, choose only attach_doubt on the CV's held-out files "
                             "(needs --deletions) and recalibrate (no fit)")
    parser.add_argument("--min-median-score", type=float,
                        help="restate the parallel check's floor in the new scores' terms (default: the start file's)")
    parser.add_argument("--calibration-inputs", nargs="+", default=list(CALIBRATION_INPUTS), choices=SCORE_INPUTS,
                        help=f"what the score reads of each bead (default: {' '.join(CALIBRATION_INPUTS)})")
    args = parser.parse_args()
    if args.attach_doubt_only and (args.no_cv or args.calibrate_only or not args.deletions):
        parser.error("--attach-doubt-only needs the cross-validation and --deletions")
    if args.attach_doubt_only and (args.hold or args.keep or args.neutral):
        parser.error("--attach-doubt-only judges the procedure that fitted the start file: its holds, kept features "
                     "and start come from that file's provenance, not from --hold, --keep or --neutral")
    benches = [bench_dir(folder) for folder in args.bench] or [bench_dir(None)]
    bench = " and ".join(str(folder) for folder in benches)
    encoder = attach_cache(load_encoder(args.model))
    profile = Profile.for_model(encoder, Weights.load(args.start) if args.start else None)
    start = profile.weights
    if args.attach_doubt_only:  # the CV judges the procedure that fitted the start weights, as align.bench --cv does
        keep = list(kept(start))
        hold = tuple(held(start)) + HAND_SET
    else:
        keep = list(args.keep)
        hold = tuple(args.hold) + tuple(keep) + HAND_SET
    start = neutral_start(start, keep) if args.neutral else start
    if args.shape_prior and start.shape_counts is None:
        start = start.with_shape_prior(start.shape_prior, {})  # the fit reads the counts from the gold it fits
    if args.output is None and not profile.model.scorer:
        parser.error(f"model {args.model} names no weights file in the registry: give -o")
    output = args.output or WEIGHTS_DIR / profile.model.scorer
    docs = load_benches(benches, encoder)
    if args.deletions:
        docs |= load_deletion_set(args.deletions, encoder)
    bench_only = [name for name in docs if not is_deletion(name)]
    keep_fit = args.calibrate_only or args.attach_doubt_only
    cv_f1 = start.provenance.get("cv_strict_f1") if keep_fit else None
    cv_deletions = start.provenance.get("cv_deletions") if keep_fit else None
    attach_doubt = start.attach_doubt  # unless chosen on the CV's held-out files below
    prepared = tuning_documents(docs, start)  # once: the CV's neutral start has the same table settings
    if not (args.no_cv or args.calibrate_only):
        # The fitting procedure is judged from a neutral start, as align.bench --cv does.
        if args.cv == "novel":
            fold_of = novel_of(read_novels(benches))
            held_out, folds = cross_validate_by(prepared, neutral_start(start, keep), fold_of,
                                                args.rounds, hold, log=stderr_log)
        else:
            fold_of = chapter
            held_out, folds = cross_validate(prepared, neutral_start(start, keep), args.rounds, hold,
                                             log=stderr_log)
        if args.deletions and "attach_doubt" not in hold:  # align.attach_choice: chosen held out, never in sample
            choice = cross_validated_attach_doubt(prepared, folds, fold_of, is_deletion, log=stderr_log)
            held_out, attach_doubt = choice.held_out, choice.overall  # the CV's figures with each fold's choice
            stderr_log(f"attach_doubt {attach_doubt}, chosen on the cross-validation's held-out files")
        cv = scores_of({n: docs[n] for n in bench_only}, {n: held_out[n] for n in bench_only})
        cv_f1 = round(cv["pooled"]["strict_f1"], 4)
        if args.deletions:
            deleted = [name for name in docs if name not in bench_only]
            found = scores_of({n: docs[n] for n in deleted}, {n: held_out[n] for n in deleted})["deletions"]
            cv_deletions = {"precision": round(found["precision"], 4), "recall": round(found["recall"], 4)}
        stderr_log(f"cross-validated strict F1 {cv_f1:.4f}")
    weights = start if keep_fit else fit(prepared, start, args.rounds, hold, log=stderr_log)[0]
    weights = weights.replace(attach_doubt=attach_doubt)
    in_sample = strict_f1({name: prepared[name] for name in bench_only}, weights)  # on the bench alone
    weights = weights.replace(calibration=calibrate(calibration_data(docs, weights), args.calibration_inputs))
    if args.min_median_score is not None:
        weights = weights.replace(min_median_score=args.min_median_score)
    weights.provenance = {
        "name": args.name,
        "data": f"{bench}" + (f" and {args.deletions}" if args.deletions else "") + f" ({len(docs)} files)",
        "command": "python scripts/tune_scorer.py " + " ".join(sys.argv[1:]),
        "date": f"{datetime.date.today():%Y-%m-%d}",
        "model": args.model,
        "in_sample_strict_f1": round(in_sample, 4),
        "cv_strict_f1": cv_f1,
        "cv_by": args.cv,
        "cv_deletions": cv_deletions,
        "deletion_set": deletion_record(args.deletions),
        "held": sorted(hold),  # knobs the fit left as they were; align.bench --cv holds them too
        "kept": sorted(keep),  # features held at the start file's value, not at neutral's
        "fitted_from": start.id,
        "calibration": "logistic fit of 'exactly a gold bead' on " + ", ".join(args.calibration_inputs)
                       + f" (scoring.score_inputs; context: up to {start.context_beads} paired beads either side), "
                       "over the predicted beads of the gold files and the paired beads of their null alignments "
                       "(never right)",
    }
    if attach_doubt is not None and not args.calibrate_only:
        weights.provenance["attach_doubt"] = (f"chosen on the {args.cv} cross-validation's held-out files "
                                              f"(align.attach_choice); that CV's strict F1 {cv_f1}")
    if keep_fit:  # the same fit, newly calibrated: its provenance stays, the calibration's is added
        weights.provenance = start.provenance | {
            "calibration": weights.provenance["calibration"],
            "calibrated_by": weights.provenance["command"] + f" (on {weights.provenance['data']})",
            "calibrated_on": weights.provenance["date"],
            "calibrated_from": start.id} | (
            {"attach_doubt": weights.provenance["attach_doubt"]} if "attach_doubt" in weights.provenance else {})
    write_atomically(output, weights.to_json())
    print(f"wrote {output}: {weights.id}, in-sample strict F1 {in_sample:.4f}, cross-validated {cv_f1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
