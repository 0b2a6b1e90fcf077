"""Fit the bead scorer's logistic weights on gold alignments (MAC-Dev by default).

    python scripts/fit_scorer.py [BENCH_DIR] [--cv]

Candidates are the beads of every shape that start at a gold path node or one
step off it; a candidate is positive when it is a gold bead. Prints the weights
as the BEAD_WEIGHTS literal for align/aligning.py. --cv also reports
leave-one-file-out F1 of the aligner with weights fitted on the other files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from align import aligning
from align.aligning import AlignParams, SentenceStats, _BeadScorer, _centred, align_vectors, bead_shapes
from align.embedding import load_encoder
from align.evaluating import evaluate, read_alignment

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "mac-dev"


def read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def load_bench(bench: Path, encoder) -> dict:
    """name -> (zh vectors, en vectors, zh lines, en lines, gold beads)."""
    files = {}
    for gold in sorted((bench / "gold").iterdir()):
        zh, en = read_lines(bench / "zh" / gold.name), read_lines(bench / "en" / gold.name)
        files[gold.name] = (encoder.encode(zh), encoder.encode(en), zh, en, read_alignment(gold))
    return files


def path_features(scorer: _BeadScorer, beads, kinds: list[str]) -> np.ndarray:
    """Sum over a path's beads of [features, one-hot shape]."""
    total = np.zeros(len(aligning.FEATURES) + len(kinds))
    i = j = 0
    for z, e in beads:
        a, b = len(z), len(e)
        i, j = i + a, j + b
        if f"{a}-{b}" not in kinds:  # a gold shape the search does not try
            continue
        if a and b:
            total[: len(aligning.FEATURES)] += scorer.features(i, a, b, np.array([j]))[0]
        total[len(aligning.FEATURES) + kinds.index(f"{a}-{b}")] += 1
    return total


def fit(files: dict, params: AlignParams, epochs: int = 12) -> dict:
    """Averaged structured perceptron: align each file with the current
    weights, then move them towards the gold path's features and away from
    the predicted path's."""
    kinds = [f"{a}-{b}" for a, b in bead_shapes(params.max_bead, params.max_total)]
    k = len(aligning.FEATURES)
    weights = np.concatenate([aligning.BEAD_WEIGHTS["features"],
                              [aligning.BEAD_WEIGHTS["shapes"].get(kind, -3.0) for kind in kinds]])
    total, steps = np.zeros_like(weights), 0
    scorers = {}
    for epoch in range(epochs):
        for name, (zh_vecs, en_vecs, zh, en, gold) in files.items():
            aligning.BEAD_WEIGHTS = _as_weights(weights, kinds)
            beads = align_vectors(zh_vecs, en_vecs, params=params, zh_texts=zh, en_texts=en).beads
            pred = [(tuple(b.zh), tuple(b.en)) for b in beads]
            if name not in scorers:
                n, m = len(zh), len(en)
                band = (np.zeros(n + 1, dtype=np.int64), np.full(n + 1, m + 1, dtype=np.int64))
                scorers[name] = _BeadScorer(_centred(zh_vecs), _centred(en_vecs), SentenceStats.from_texts(zh),
                                            SentenceStats.from_texts(en), band, params,
                                            bead_shapes(params.max_bead, params.max_total))
            rate = 0.1 / (1 + epoch)
            weights = weights + rate * (path_features(scorers[name], gold, kinds) - path_features(scorers[name], pred, kinds))
            total += weights
            steps += 1
    fitted = _as_weights(total / steps, kinds)
    fitted["calibration"] = calibrate(files, params, fitted)
    return fitted


def _as_weights(vector: np.ndarray, kinds: list[str]) -> dict:
    k = len(aligning.FEATURES)
    return {"features": vector[:k], "shapes": dict(zip(kinds, vector[k:].tolist())), "calibration": (1.0, 0.0)}


def calibrate(files: dict, params: AlignParams, weights: dict) -> tuple[float, float]:
    """Logistic fit of 'predicted bead is a gold bead' on the bead's value."""
    aligning.BEAD_WEIGHTS = weights
    values, right = [], []
    for zh_vecs, en_vecs, zh, en, gold in files.values():
        gold_set = set(gold)
        beads = align_vectors(zh_vecs, en_vecs, params=params, zh_texts=zh, en_texts=en).beads
        for bead in beads:
            if bead.zh and bead.en:
                # score = sigmoid(value) with calibration (1, 0): recover the value.
                p = min(max(bead.score, 1e-9), 1 - 1e-9)
                values.append(np.log(p / (1 - p)))
                right.append((tuple(bead.zh), tuple(bead.en)) in gold_set)
    model = LogisticRegression(C=100.0).fit(np.array(values)[:, None], np.array(right))
    return float(model.coef_[0][0]), float(model.intercept_[0])


def run(files: dict, names: list[str], params: AlignParams) -> dict:
    pairs = {}
    for name in names:
        zh_vecs, en_vecs, zh, en, gold = files[name]
        beads = align_vectors(zh_vecs, en_vecs, params=params, zh_texts=zh, en_texts=en).beads
        pairs[name] = (gold, [(tuple(b.zh), tuple(b.en)) for b in beads])
    return evaluate(pairs)["pooled"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", type=Path, default=DEFAULT_BENCH)
    parser.add_argument("--cv", action="store_true", help="also report leave-one-file-out F1")
    args = parser.parse_args()
    params = AlignParams()
    files = load_bench(args.bench, load_encoder())
    if args.cv:
        folds = {}
        for held_out in files:
            aligning.BEAD_WEIGHTS = fit({k: v for k, v in files.items() if k != held_out}, params)
            zh_vecs, en_vecs, zh, en, gold = files[held_out]
            beads = align_vectors(zh_vecs, en_vecs, params=params, zh_texts=zh, en_texts=en).beads
            folds[held_out] = (gold, [(tuple(b.zh), tuple(b.en)) for b in beads])
        pooled = evaluate(folds)["pooled"]
        print(f"leave-one-file-out: strict F1 {pooled['strict_f1']:.4f}, lax F1 {pooled['lax_f1']:.4f}", file=sys.stderr)
    weights = fit(files, params)
    print("BEAD_WEIGHTS = {")
    print(f'    "features": np.array([{", ".join(f"{w:.3f}" for w in weights["features"])}]),')
    print('    "shapes": {' + ", ".join(f'"{k}": {v:.3f}' for k, v in weights["shapes"].items()) + "},")
    print(f'    "calibration": ({weights["calibration"][0]:.3f}, {weights["calibration"][1]:.3f}),')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
