"""Fit the bead scorer's weights on gold alignments and write the weights file.

    python scripts/tune_scorer.py BENCH_DIR [--rounds 3] [--hold skip_best_match ...]
        [--start align/weights.json] [-o align/weights.json] [--name NAME] [--no-cv]

1. Cross-validation first (leave one file out, align.tuning.cross_validate):
   the figure that says how well this fitting procedure does on files it was
   not fitted on. It is written into the file's provenance.
2. The fit on all files (coordinate ascent on pooled strict F1).
3. The calibration of the scores on the fitted weights: predicted beads of
   the gold files and the paired beads of their null alignments.
Needs the `tune` extra (scikit-learn). Tune on development data only.
"""
from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from align.bench import bench_dir, load_bench, scores_of
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.scoring import WEIGHTS_FILE, Weights
from align.tuning import calibrate, calibration_data, cross_validate, fit, stderr_log, strict_f1, tuning_documents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", type=Path, help="folder with zh/, en/, gold/ (default: $ZHALIGN_BENCH)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold", nargs="*", default=[],
                        help="knobs left as they are: skip_best_match, size_power, features, shapes, a feature or a shape")
    parser.add_argument("--start", type=Path, default=WEIGHTS_FILE, help="weights to start from (default: the shipped ones)")
    parser.add_argument("--neutral", action="store_true",
                        help="start from the neutral weights (the cosine alone) instead: a fit owing nothing to earlier tuning")
    parser.add_argument("-o", "--output", type=Path, default=WEIGHTS_FILE, help="weights file to write")
    parser.add_argument("--name", default=f"mac-dev-{datetime.date.today():%Y-%m-%d}", help="name in the weights id")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation (its figure stays empty)")
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the start weights, refit only the score calibration (no CV, no fit)")
    args = parser.parse_args()
    bench = bench_dir(args.bench)
    start = Weights.load(args.start)
    start = start.neutral() if args.neutral else start
    docs = load_bench(bench, attach_cache(load_encoder(args.model)))

    cv_f1 = start.provenance.get("cv_strict_f1") if args.calibrate_only else None
    if not (args.no_cv or args.calibrate_only):
        # The fitting procedure is judged from a neutral start, as align.bench --cv does.
        held_out, _ = cross_validate(docs, start.neutral(), args.rounds, args.hold, log=stderr_log)
        cv_f1 = round(scores_of(docs, held_out)["pooled"]["strict_f1"], 4)
        stderr_log(f"cross-validated strict F1 {cv_f1:.4f}")
    if args.calibrate_only:
        weights, in_sample = start, strict_f1(tuning_documents(docs, start), start)
    else:
        weights, in_sample = fit(tuning_documents(docs, start), start, args.rounds, args.hold, log=stderr_log)
    weights = weights.replace(calibration=calibrate(*calibration_data(docs, weights)))
    weights.provenance = {
        "name": args.name,
        "data": f"{bench} ({len(docs)} files)",
        "command": "python scripts/tune_scorer.py " + " ".join(sys.argv[1:]),
        "date": f"{datetime.date.today():%Y-%m-%d}",
        "model": args.model,
        "in_sample_strict_f1": round(in_sample, 4),
        "cv_strict_f1": cv_f1,
        "fitted_from": start.id,
        "calibration": "logistic fit of 'exactly a gold bead' on similarity, over the predicted beads of the gold "
                       "files and the paired beads of their null alignments (never right)",
    }
    weights.save(args.output)
    print(f"wrote {args.output}: {weights.id}, in-sample strict F1 {in_sample:.4f}, cross-validated {cv_f1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
