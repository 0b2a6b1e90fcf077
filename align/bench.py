"""Benchmark: align a folder of pre-split pairs, score it against gold, time it.

    python -m align.bench [BENCH_DIR] [--model NAME] [--out DIR]

BENCH_DIR holds zh/NNN, en/NNN (one sentence a line) and gold/NNN (index
format), like ../shared/bench/mac-dev (the default). Prints strict and lax
F1 pooled over the files, and wall seconds split into embedding (every
distinct sentence once) and aligning, with their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from align.aligning import align_vectors
from align.embedding import DEFAULT_MODEL, load_encoder
from align.evaluating import evaluate, format_report, read_alignment
from align.reading import parse_lines
from align.writing import format_ids, write_atomically

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "mac-dev"


def read_sentences(path: Path) -> list[str]:
    return [p.text for p in parse_lines(path.read_text(encoding="utf-8")).paragraphs]


def run_bench(bench: Path, model: str = DEFAULT_MODEL, out: Path | None = None) -> dict:
    """Scores and timings for every gold file in bench/gold."""
    names = sorted(p.name for p in (bench / "gold").iterdir() if p.is_file())
    if not names:
        raise ValueError(f"{bench}/gold has no files")
    docs = {name: (read_sentences(bench / "zh" / name), read_sentences(bench / "en" / name)) for name in names}
    start = time.perf_counter()
    encoder = load_encoder(model)
    load_seconds = time.perf_counter() - start

    start = time.perf_counter()
    all_texts = [t for zh, en in docs.values() for t in zh + en]
    encoder.encode(all_texts, progress=None, desc="embedding")
    embed_seconds = time.perf_counter() - start

    start = time.perf_counter()
    pairs = {}
    for name, (zh, en) in docs.items():
        beads = align_vectors(encoder.encode(zh), encoder.encode(en), zh_texts=zh, en_texts=en).beads
        predicted = [(tuple(b.zh), tuple(b.en)) for b in beads]
        pairs[name] = (read_alignment(bench / "gold" / name), predicted)
        if out is not None:
            write_atomically(out / name, "".join(f"{format_ids(z)}:{format_ids(e)}\n" for z, e in predicted))
    align_seconds = time.perf_counter() - start
    return {
        "scores": evaluate(pairs),
        "files": len(names),
        "zh_sentences": sum(len(zh) for zh, _ in docs.values()),
        "en_sentences": sum(len(en) for _, en in docs.values()),
        "distinct_texts_embedded": encoder.texts_embedded,
        "seconds": {"load_model": load_seconds, "embed": embed_seconds, "align": align_seconds},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m align.bench", description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="?", type=Path, default=DEFAULT_BENCH,
                        help=f"folder with zh/, en/, gold/ (default: {DEFAULT_BENCH})")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model (default: {DEFAULT_MODEL})")
    parser.add_argument("--out", type=Path, help="also write the predicted alignments (index format) here")
    args = parser.parse_args(argv)
    try:
        result = run_bench(args.bench, args.model, args.out)
    except (OSError, ValueError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    seconds = result["seconds"]
    total = seconds["embed"] + seconds["align"]
    print(f"{result['files']} files, {result['zh_sentences']} zh and {result['en_sentences']} en sentences, "
          f"{result['distinct_texts_embedded']} distinct texts embedded, model {args.model}")
    print(format_report(result["scores"], by_file=True, by_type=True))
    print(f"seconds: embedding {seconds['embed']:.1f} ({result['distinct_texts_embedded'] / seconds['embed']:.0f}"
          f" texts/s), aligning {seconds['align']:.1f}, total {total:.1f} "
          f"= {total / seconds['embed']:.2f} x embedding; model load {seconds['load_model']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
