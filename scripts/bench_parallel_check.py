"""Benchmark the parallel check on short documents: MAC-Dev pieces against their own
translation and against other chapters' English.

A piece is a run of gold beads of one chapter (the Chinese and English lines they
cover), taken every 20 beads from the start. Each piece's Chinese is aligned with
its own English (a true pair) and with the English of every other chapter's piece
at the same offset (an unrelated pair, 30 per offset), by the pipeline a user runs
(`align_pair`, lines in). For each size the table counts the true pairs judged not
parallel and the unrelated pairs judged parallel, by the shipped check and by its
relative tests alone (AUC and unaligned share, without the median-score floor),
with the largest median bead score among unrelated pairs and the smallest among true
ones. Pairs too short to judge are left out.

    python scripts/bench_parallel_check.py [BENCH_DIR] [--model e5+use] [--sizes 6 10 20 40] [--weights FILE]

The calibration behind the scores was fitted on MAC-Dev's beads, so read the medians
as in-sample.
"""
from __future__ import annotations

import argparse
import itertools
import warnings
from pathlib import Path

from align import __version__
from align.bench import bench_dir
from align.checking import MIN_AUC, ParallelReport, decide
from align.embedding import DEFAULT_MODEL, load_encoder
from align.profile import Profile
from align.evaluating import bead_lines, read_alignment
from align.pipeline import align_pair
from align.weights import Weights

OFFSETS = range(0, 200, 20)


def relative_only(report: ParallelReport) -> bool:
    """The verdict of the check's relative tests alone (0.4.2's check)."""
    return decide(report.auc, report.scores[2], report.unaligned, report.null_unaligned, report.beads, min_median=0)[0]


def reports(bench: Path, encoder, size: int, weights=None) -> list[tuple[bool, ParallelReport]]:
    chapters = {c.name: (read_alignment(c), (bench / "zh" / c.name).read_text("utf-8").splitlines(),
                         (bench / "en" / c.name).read_text("utf-8").splitlines())
                for c in sorted((bench / "gold").iterdir())}
    out = []
    for first in OFFSETS:
        pieces = {}
        for name, (beads, zh, en) in chapters.items():
            run = beads[first:first + size]
            if len(run) == size and (lines := bead_lines(run, zh, en)):
                pieces[name] = ("\n".join(lines[0]) + "\n", "\n".join(lines[1]) + "\n")
        for zh_of, en_of in itertools.product(pieces, pieces):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unrelated pairs warn, as they should
                report = align_pair(pieces[zh_of][0], pieces[en_of][1], encoder, input_format="lines",
                                    weights=weights, progress=False).parallel
            if report.parallel is not None:
                out.append((zh_of == en_of, report))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", nargs="?", type=Path, help="MAC-Dev (default: $ZHALIGN_BENCH)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--sizes", type=int, nargs="+", default=[6, 10, 20, 40])
    parser.add_argument("--weights", type=Path, help="a weights file (default: the model's shipped one)")
    args = parser.parse_args(argv)
    bench, encoder = bench_dir(args.bench), load_encoder(args.model)
    weights = Profile.for_model(encoder, Weights.load(args.weights) if args.weights else None).weights
    print(f"zhalign {__version__}, model {encoder.name}, weights {weights.id}; "
          f"median floor {weights.min_median_score}, AUC {MIN_AUC}")
    print("| beads | true pairs | judged not parallel (shipped / relative only) | smallest true median "
          "| unrelated pairs | judged parallel (shipped / relative only) | largest unrelated median |")
    print("| --- " * 7 + "|")
    for size in args.sizes:
        rows = reports(bench, encoder, size, weights)
        true = [r for is_true, r in rows if is_true]
        unrelated = [r for is_true, r in rows if not is_true]
        print(f"| {size} | {len(true)} | {sum(not r.parallel for r in true)} / {sum(not relative_only(r) for r in true)} "
              f"| {min(r.scores[2] for r in true):.2f} | {len(unrelated)} | {sum(r.parallel for r in unrelated)} / "
              f"{sum(relative_only(r) for r in unrelated)} | {max(r.scores[2] for r in unrelated):.2f} |", flush=True)


if __name__ == "__main__":
    main()
