"""What the benchmark reports beyond bead F1: the pairs an export keeps, false deletions, and
the scores' calibration out of fold.

    python -m align.bench_report BENCH_DIR [BENCH_DIR ...] --predicted bertalign-labse

scores another aligner's stored output (BENCH_DIR/NAME/NNN, index format, no scores) with the
same metrics as `python -m align.bench` (which calls the functions here for its own beads).

- Pair quality at a minimum score: of the predicted beads with both sides scoring at least
  that, the share that are exactly right: a gold bead, or the union of consecutive gold beads
  that all have both sides (merging whole beads loses no translation); and the share of the
  gold's sentences those right pairs cover. What an MT engineer gets from `export --min-score`.
- False deletions: sentences left unaligned that the gold aligns, per 1,000 sentences; and on
  the chapters whose gold leaves nothing unaligned, every sentence left unaligned per 1,000
  (the mirror of the deletion set: text with no omissions should lose nothing).
- Calibration out of fold (align.bench.out_of_fold_calibrated makes the scores these read).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from align.bench_folders import bench_dir
from align.evaluating import Bead, evaluate, format_report, read_alignment, unaligned_sentences

SCORE_FLOORS = (0.5, 0.9)  # the --min-score values the report gives pair quality at


def exactly_right(bead: Bead, zh_owner: dict[int, int], en_owner: dict[int, int], gold: list[Bead]) -> bool:
    """Is this paired bead a gold bead, or the union of consecutive whole gold beads that all have
    both sides? zh_owner/en_owner: sentence -> index of its gold bead."""
    zh, en = bead
    if not zh or not en or any(i not in zh_owner for i in zh) or any(j not in en_owner for j in en):
        return False
    owners = sorted({zh_owner[i] for i in zh} | {en_owner[j] for j in en})
    if owners != list(range(owners[0], owners[-1] + 1)):
        return False
    run = [gold[k] for k in owners]
    return (all(z and e for z, e in run) and sorted(i for z, _ in run for i in z) == sorted(zh)
            and sorted(j for _, e in run for j in e) == sorted(en))


def owners(gold: list[Bead]) -> tuple[dict[int, int], dict[int, int]]:
    zh_owner = {i: k for k, (zh, _) in enumerate(gold) for i in zh}
    en_owner = {j: k for k, (_, en) in enumerate(gold) for j in en}
    return zh_owner, en_owner


def pair_quality(golds: dict[str, list[Bead]], predicted: dict[str, list], min_score: float | None) -> dict:
    """Over the predicted paired beads scoring at least min_score (None: all of them; beads are
    (zh, en) or (zh, en, score)): how many, the share exactly right (exactly_right), and the share
    of the gold's sentences (both sides) that the right ones cover."""
    kept = right = covered = sentences = 0
    for name, gold in golds.items():
        gold = [(tuple(z), tuple(e)) for z, e in gold]
        zh_owner, en_owner = owners(gold)
        sentences += len(zh_owner) + len(en_owner)
        for bead in predicted[name]:
            zh, en = tuple(bead[0]), tuple(bead[1])
            if not zh or not en or (min_score is not None and bead[2] < min_score):
                continue
            kept += 1
            if exactly_right((zh, en), zh_owner, en_owner, gold):
                right += 1
                covered += len(zh) + len(en)
    return {"min_score": min_score, "pairs": kept, "right": right, "right_share": right / kept if kept else 0.0,
            "coverage": covered / sentences if sentences else 0.0}


def false_deletions(golds: dict[str, list[Bead]], predicted: dict[str, list]) -> dict:
    """Sentences left unaligned that the gold aligns, per 1,000 sentences of all the files; and every
    sentence left unaligned, per 1,000, on the files whose gold leaves none unaligned."""
    wrong = total = clean_unaligned = clean_total = clean_files = 0
    for name, gold in golds.items():
        pred = [(tuple(b[0]), tuple(b[1])) for b in predicted[name]]
        size = sum(len(z) + len(e) for z, e in gold)
        gold_unaligned, pred_unaligned = unaligned_sentences(gold), unaligned_sentences(pred)
        wrong += len(pred_unaligned - gold_unaligned)
        total += size
        if not gold_unaligned:
            clean_files += 1
            clean_unaligned += len(pred_unaligned)
            clean_total += size
    return {"wrong": wrong, "sentences": total, "wrong_per_1000": 1000 * wrong / total if total else 0.0,
            "clean_files": clean_files, "clean_sentences": clean_total, "clean_unaligned": clean_unaligned,
            "clean_per_1000": 1000 * clean_unaligned / clean_total if clean_total else 0.0}


def quality(golds: dict[str, list[Bead]], predicted: dict[str, list], scored: bool = True) -> dict:
    """Pair quality (at SCORE_FLOORS when the beads are scored, else over all pairs) and false deletions."""
    floors = SCORE_FLOORS if scored else (None,)
    return {"pairs": [pair_quality(golds, predicted, floor) for floor in floors],
            "false_deletions": false_deletions(golds, predicted)}


def format_quality(table: dict) -> str:
    lines = []
    for row in table["pairs"]:
        which = f"score >= {row['min_score']}" if row["min_score"] is not None else "all"
        lines.append(f"pairs ({which}): {row['pairs']}, {row['right_share']:.1%} exactly right (a gold bead or a union "
                     f"of whole two-sided gold beads), covering {row['coverage']:.1%} of the gold's sentences")
    d = table["false_deletions"]
    lines.append(f"false deletions: {d['wrong']} sentences left unaligned that the gold aligns, "
                 f"{d['wrong_per_1000']:.1f} per 1,000 sentences; on the {d['clean_files']} files whose gold leaves "
                 f"none unaligned, {d['clean_unaligned']} left unaligned, {d['clean_per_1000']:.1f} per 1,000")
    return "\n".join(lines)


def headline(scores: dict) -> str:
    """One line: strict and lax F1, 1-2 and 2-1 recall, unaligned precision and recall."""
    pooled, types, deleted = scores["pooled"], scores["by_type"], scores["deletions"]
    recall = " ".join(f"{kind} R {types[kind]['strict_recall']:.3f}" for kind in ("1-2", "2-1", "2-2") if kind in types)
    return (f"strict F1 {pooled['strict_f1']:.3f}, lax F1 {pooled['lax_f1']:.3f}; {recall}; unaligned "
            f"P {deleted['precision']:.3f} R {deleted['recall']:.3f} ({deleted['predicted']} predicted, {deleted['gold']} gold)")


def main(argv: list[str] | None = None) -> int:
    from align.errors import InputError

    parser = argparse.ArgumentParser(prog="python -m align.bench_report", description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="+", type=Path, help="benchmark folders (zh/, en/, gold/)")
    parser.add_argument("--predicted", required=True, metavar="NAME",
                        help="the folder inside each benchmark folder with another aligner's output (index format)")
    args = parser.parse_args(argv)
    try:
        golds, predicted = {}, {}
        for folder in args.bench:
            folder = bench_dir(folder)
            for path in sorted((folder / "gold").iterdir()):
                if path.name in golds:
                    raise InputError(f"{path}: a file of this name is in an earlier folder too")
                golds[path.name] = read_alignment(path)
                predicted[path.name] = read_alignment(folder / args.predicted / path.name)
    except InputError as error:
        print(f"bench_report: error: {error}", file=sys.stderr)
        return 1
    scores = evaluate({name: (golds[name], predicted[name]) for name in golds})
    print(f"{args.predicted}: {len(golds)} files")
    print(format_report(scores, by_file=True, by_type=True))
    print(headline(scores))
    print(format_quality(quality(golds, predicted, scored=False)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
