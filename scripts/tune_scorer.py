"""Tune the bead scorer's weights on gold alignments (MAC-Dev by default).

    python scripts/tune_scorer.py [BENCH_DIR] [--rounds 3] [--hold skip_best_match]

Coordinate ascent on pooled strict F1: each weight in turn is moved up or
down by a step while that improves F1; steps halve each round. Then the
score calibration: a logistic fit of "this predicted bead is a gold bead"
on the bead's similarity. Prints the BEAD_WEIGHTS literal for
align/aligning.py. Tune on the development set only; judge on held-out data.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from align import aligning
from align.aligning import align_vectors
from align.bench import DEFAULT_BENCH, read_sentences
from align.embedding import load_encoder
from align.evaluating import evaluate, read_alignment


def load_bench(bench: Path) -> dict:
    """name -> (zh vectors, en vectors, zh sentences, en sentences, gold beads)."""
    encoder = load_encoder()
    files = {}
    for gold in sorted((bench / "gold").iterdir()):
        zh, en = read_sentences(bench / "zh" / gold.name), read_sentences(bench / "en" / gold.name)
        files[gold.name] = (encoder.encode(zh), encoder.encode(en), zh, en, read_alignment(gold))
    return files


def strict_f1(files: dict, weights: dict) -> float:
    aligning.BEAD_WEIGHTS = weights
    pairs = {}
    for name, (zh_vecs, en_vecs, zh, en, gold) in files.items():
        beads = align_vectors(zh_vecs, en_vecs, zh_texts=zh, en_texts=en).beads
        pairs[name] = (gold, [(tuple(b.zh), tuple(b.en)) for b in beads])
    return evaluate(pairs)["pooled"]["strict_f1"]


def knobs(weights: dict, hold: set[str]) -> list[tuple[str, object, float]]:
    """(group, key, step) for every tunable weight; the cosine weight stays 1
    (the scale). Knobs named in `hold` (a group, a shape or a feature) stay put."""
    out = [("features", k, 0.1) for k in range(1, len(weights["features"]))]
    out += [("size_power", None, 0.15), ("skip_best_match", None, 0.5)]
    out += [("shapes", kind, 0.3) for kind in weights["shapes"] if kind != "1-1"]
    names = {k: aligning.FEATURES[k] for k in range(len(aligning.FEATURES))}
    return [(group, key, step) for group, key, step in out
            if group not in hold and names.get(key, key) not in hold]


def moved(weights: dict, group: str, key, delta: float) -> dict:
    new = copy.deepcopy(weights)
    if key is None:
        new[group] += delta
    else:
        new[group][key] += delta
    return new


def tune(files: dict, weights: dict, rounds: int, hold: set[str] = frozenset()) -> tuple[dict, float]:
    best = strict_f1(files, weights)
    print(f"start: strict F1 {best:.4f}", file=sys.stderr)
    for round_ in range(rounds):
        scale = 0.5 ** round_
        for group, key, step in knobs(weights, hold):
            for delta in (step * scale, -step * scale):
                improved = False
                while True:
                    candidate = moved(weights, group, key, delta)
                    f1 = strict_f1(files, candidate)
                    if f1 <= best + 1e-4:
                        break
                    weights, best, improved = candidate, f1, True
                    print(f"  {group} {key}: {delta:+.3f} -> {best:.4f}", file=sys.stderr)
                if improved:
                    break
        print(f"round {round_ + 1}: strict F1 {best:.4f}", file=sys.stderr)
    return weights, best


def calibrate(files: dict, weights: dict) -> tuple[float, float]:
    """Logistic fit of 'predicted bead is a gold bead' on the bead's similarity
    (read back from its score through the calibration it was made with)."""
    aligning.BEAD_WEIGHTS = weights
    slope, offset = weights["calibration"]
    similarity, right = [], []
    for zh_vecs, en_vecs, zh, en, gold in files.values():
        gold_beads = set(gold)
        for bead in align_vectors(zh_vecs, en_vecs, zh_texts=zh, en_texts=en).beads:
            if bead.zh and bead.en:
                p = min(max(bead.score, 1e-12), 1 - 1e-12)
                similarity.append((np.log(p / (1 - p)) - offset) / slope)
                right.append((tuple(bead.zh), tuple(bead.en)) in gold_beads)
    model = LogisticRegression(C=100.0).fit(np.array(similarity)[:, None], np.array(right))
    return float(model.coef_[0][0]), float(model.intercept_[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hold", nargs="*", default=[],
                        help="knobs left as they are: skip_best_match, size_power, features, a feature or a shape (2-2)")
    args = parser.parse_args()
    files = load_bench(args.bench)
    weights, best = tune(files, copy.deepcopy(aligning.BEAD_WEIGHTS), args.rounds, set(args.hold))
    weights["calibration"] = calibrate(files, weights)
    print(f"# strict F1 {best:.4f} on {args.bench}")
    print("BEAD_WEIGHTS = {")
    print(f'    "features": np.array([{", ".join(f"{w:.3g}" for w in weights["features"])}]),')
    print(f'    "size_power": {weights["size_power"]:.3g},')
    print('    "shapes": {' + ", ".join(f'"{k}": {v:.3g}' for k, v in weights["shapes"].items()) + "},")
    print(f'    "skip_best_match": {weights["skip_best_match"]:.3g},')
    print(f'    "calibration": ({weights["calibration"][0]:.3g}, {weights["calibration"][1]:.3g}),')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
