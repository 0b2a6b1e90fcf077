"""Re-aligning around anchors: seconds to align a MAC-Dev chapter with about one
gold bead in ten given as an anchor, once the vectors are at hand.

    python scripts/bench_anchors.py [BENCH_DIR] [--chapter 001] [--every 10] [--repeats 3]

The chapter's sentences are embedded first (from the embedding cache when
$ZHALIGN_CACHE holds them) and not timed; then the alignment without anchors
and the one with every `--every`-th gold bead as an anchor are each timed
`--repeats` times (the best is printed: the machine is shared), with the
dictionary evidence made afresh each time, as a re-alignment after an edit
would. Prints the seconds and how many anchors came back as given.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from align import __version__
from align.aligning import align_vectors
from align.bench import bench_dir, read_sentences
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.evaluating import read_alignment
from align.preparing import prepare_pair, prepare_side
from align.profile import Profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", type=Path, help="benchmark folder (default: $ZHALIGN_BENCH)")
    parser.add_argument("--chapter", default="001", help="gold file name (default: 001, 295 x 316 sentences)")
    parser.add_argument("--every", type=int, default=10, help="every N-th gold bead is an anchor (default: 10)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default: 3; the best is shown)")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()

    bench = bench_dir(args.bench)
    zh, en = read_sentences(bench / "zh" / args.chapter), read_sentences(bench / "en" / args.chapter)
    gold = read_alignment(bench / "gold" / args.chapter)
    anchors = gold[::args.every]
    encoder = attach_cache(load_encoder(args.model))
    zh_side, en_side = prepare_side(encoder, zh), prepare_side(encoder, en)
    zh_vectors, en_vectors = zh_side.aligned_vectors, en_side.aligned_vectors
    weights = Profile.for_model(encoder).weights

    def timed(given) -> tuple[float, object]:
        best, alignment = float("inf"), None
        for _ in range(args.repeats):
            clock = time.perf_counter()
            evidence = prepare_pair(zh_side, en_side)  # the dictionary's evidence, as the pipeline makes it
            alignment = align_vectors(zh_vectors, en_vectors, weights=weights, anchors=given, **evidence.arguments())
            best = min(best, time.perf_counter() - clock)
        return best, alignment

    timed(anchors[:1])  # compile numba's functions and load the dictionary before timing
    plain_seconds, _ = timed(None)
    anchored_seconds, anchored = timed(anchors)
    kept = {(tuple(b.zh), tuple(b.en)) for b in anchored.beads}
    print(f"zhalign {__version__}, model {encoder.name}, weights {weights.id}")
    print(f"MAC-Dev {args.chapter}: {len(zh)} zh x {len(en)} en sentences, {len(gold)} gold beads, "
          f"{len(anchors)} anchors (every {args.every}th)")
    print(f"without anchors: {plain_seconds:.2f} s; with anchors: {anchored_seconds:.2f} s "
          f"(best of {args.repeats}, embedding excluded); anchors kept: "
          f"{sum(tuple(map(tuple, a)) in kept for a in anchors)}/{len(anchors)}")


if __name__ == "__main__":
    main()
