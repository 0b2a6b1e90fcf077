"""Benchmark `zhalign batch`: a corpus of 200+ document pairs on 1 and 2 Dask workers.

The corpus is built in a temporary folder from the MAC-Dev chapters (read from
the folder $ZHALIGN_BENCH names, never copied into the project) and the sample pair:
each chapter is cut into runs of gold beads (so both halves of a piece
translate each other), once from the first bead and again from half a piece
on ("cut and repeated"), written as plain text (a blank line between
sentences), and the sample pair is added whole twice. Repeated text is
what a real corpus has too (boilerplate, reprints); the table gives the
number of distinct sentences beside the total.

Runs, each on a fresh local cluster, timed from the first task to the corpus
written (cluster start-up reported apart):
  1. 1 worker (1 OpenMP thread), empty embedding cache
  2. 1 worker with 2 OpenMP threads, empty cache
  3. 2 workers (1 thread each), empty cache
  4. 2 workers again with other settings (--skip 0.3): every vector from the cache

    python scripts/bench_corpus.py [--pairs 200] [--beads 12] [--json results.json]

Prints a Markdown table (pairs/s, sentences/s, texts embedded, peak memory per worker).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from align.evaluating import bead_lines, read_alignment

ROOT = Path(__file__).resolve().parent.parent
# The MAC-Dev folder, from the environment (e.g. ZHALIGN_BENCH=../shared/bench/mac-dev).
MAC = Path(os.environ.get("ZHALIGN_BENCH") or "$ZHALIGN_BENCH (not set)")
SAMPLE = (ROOT / "data" / "zaker-zh-core-technology.md", ROOT / "data" / "xinhua-en-core-technology.txt")


def gold_beads(text_id: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return read_alignment(MAC / "gold" / text_id)


def build_corpus(folder: Path, pairs: int, beads_per_piece: int, sample_copies: int = 2) -> Path:
    """Write pieces and a manifest into folder; returns the manifest path."""
    rows, samples = [], []
    chapters = sorted(p.name for p in (MAC / "gold").iterdir())
    for copy in range(sample_copies):  # copies under their own names: one output each
        zh, en = folder / f"sample{copy}-zh.md", folder / f"sample{copy}-en.txt"
        shutil.copyfile(SAMPLE[0], zh)
        shutil.copyfile(SAMPLE[1], en)
        samples.append((zh, en))
    offset_round = 0
    while len(rows) < pairs - len(samples):
        offset = (offset_round * beads_per_piece // 2) % beads_per_piece
        for text_id in chapters:
            beads = gold_beads(text_id)
            zh_lines = (MAC / "zh" / text_id).read_text("utf-8").splitlines()
            en_lines = (MAC / "en" / text_id).read_text("utf-8").splitlines()
            for start in range(offset, len(beads) - beads_per_piece + 1, beads_per_piece):
                if len(rows) >= pairs - len(samples):
                    break
                lines = bead_lines(beads[start:start + beads_per_piece], zh_lines, en_lines)
                if lines is None:
                    continue
                name = f"mac{text_id}-r{offset_round}-b{start:04d}"
                zh, en = folder / f"{name}-zh.txt", folder / f"{name}-en.txt"
                # a blank line between sentences: read as plain text, one paragraph each, like the sample
                zh.write_text("\n\n".join(lines[0]) + "\n", "utf-8")
                en.write_text("\n\n".join(lines[1]) + "\n", "utf-8")
                rows.append((zh, en))
        offset_round += 1
    # the sample copies spread over the run, not aligned at the same time by two workers
    for k, sample in enumerate(samples):
        rows.insert(k * len(rows) // len(samples), sample)
    manifest = folder / "manifest.tsv"
    manifest.write_text("zh_path\ten_path\n" + "".join(f"{z}\t{e}\n" for z, e in rows), "utf-8")
    return manifest


def run(name: str, manifest: Path, out: Path, cache: Path, workers: int, threads: int, skip: float | None = None):
    from align.aligning import AlignParams
    from align.batching import BatchSettings, run_batch
    from align.cluster import dask_client, worker_peak_memory

    params = asdict(AlignParams())
    if skip is not None:
        params["skip"] = skip
    settings = BatchSettings(input_format=("auto", "auto"), params=params, cache_dir=str(cache))
    load = os.getloadavg()[0]
    clock = time.perf_counter()
    with dask_client(workers=workers, threads=threads) as client:
        client.wait_for_workers(workers)
        startup = time.perf_counter() - clock
        clock = time.perf_counter()
        result = run_batch(manifest, out, settings, client=client, progress=None)
        seconds = time.perf_counter() - clock
        memory = client.run(worker_peak_memory)
    summary = result.summary
    ok = summary[summary["status"] == "ok"]
    sentences = int((ok["zh_sentences"] + ok["en_sentences"]).sum())
    row = {
        "run": name, "workers": workers, "threads": threads, "pairs": len(ok), "failed": int((summary["status"] == "failed").sum()),
        "sentences": sentences, "embedded": int(ok["embedded"].sum()), "seconds": round(seconds, 1),
        "startup": round(startup, 1), "pairs_per_s": round(len(ok) / seconds, 2),
        "sentences_per_s": round(sentences / seconds, 1),
        "peak_mb_per_worker": sorted(round(m["peak_mb"]) for m in memory.values()),
        "model_loads_per_worker": sorted(m["model_loads"] for m in memory.values()),
        "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def table(rows: list[dict], distinct: int) -> str:
    lines = ["| run | workers × threads | pairs | sentences | embedded | seconds | pairs/s | sentences/s | peak MB per worker |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['workers']} × {r['threads']} | {r['pairs']} | {r['sentences']} | {r['embedded']} | "
                     f"{r['seconds']} | {r['pairs_per_s']} | {r['sentences_per_s']} | "
                     f"{', '.join(map(str, r['peak_mb_per_worker']))} |")
    return "\n".join(lines) + f"\n\n{distinct} distinct sentences in the corpus."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="at least this many pairs (default: 200)")
    parser.add_argument("--beads", type=int, default=12, help="gold beads per MAC piece (default: 12)")
    parser.add_argument("--skip-threads", action="store_true", help="leave out the 1 worker x 2 threads run")
    parser.add_argument("--json", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if not MAC.is_dir():
        print(f"bench_corpus: MAC-Dev not found at {MAC}: set ZHALIGN_BENCH to its folder", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="zhalign-bench-") as temporary:
        folder = Path(temporary)
        (folder / "docs").mkdir()
        manifest = build_corpus(folder / "docs", args.pairs, args.beads)
        from align.batching import read_manifest
        from align.reading import read_document
        from align.segmenting import split_document

        pairs = read_manifest(manifest)
        distinct = set()
        for zh, en in zip(pairs["zh_path"], pairs["en_path"]):
            distinct |= {s.text for s in split_document(read_document(zh), "zh")}
            distinct |= {s.text for s in split_document(read_document(en), "en")}
        print(f"corpus: {len(pairs)} pairs, {len(distinct)} distinct sentences, in {folder}", file=sys.stderr)
        rows = [run("cold cache", manifest, folder / "out1", folder / "cache1", 1, 1)]
        if not args.skip_threads:
            rows.append(run("cold cache", manifest, folder / "out1t", folder / "cache1t", 1, 2))
        rows.append(run("cold cache", manifest, folder / "out2", folder / "cache2", 2, 1))
        rows.append(run("warm cache, other --skip", manifest, folder / "out2b", folder / "cache2", 2, 1, skip=0.3))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    print(table(rows, len(distinct)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
