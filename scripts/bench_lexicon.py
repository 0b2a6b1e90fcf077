"""Time the dictionary feature (align.lexicon) alone: counting word matches and bead coverage.

Two sizes: one MAC-Dev chapter (read from ../shared/bench/mac-dev, never
copied) and the long documents of scripts/bench_long.py (the chapters
repeated to --sentences Chinese sentences, about 53,000 English ones).
The band is the one the aligner searches, drawn around the gold path instead
of the rough path: each Chinese sentence is matched with the English
sentences within BAND of the gold path, widened by MAX_BEAD (as
align.search.Band.columns_near widens the aligner's band). Coverage is asked
for every bead shape the second pass searches (up to 6 sentences a side, 8 in
all) at every cell of that band: per DP row with `coverage`, and for all cells
of a shape at once with `coverage_cells`, as the aligner does
(align.lexicon.Lexicon.coverage); the two are compared.

    python scripts/bench_lexicon.py                    # chapter 001 and 40,000 sentences
    python scripts/bench_lexicon.py --sentences 10000 --chapter 002
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_long import MAC_DEV, build_pair, load_corpus  # noqa: E402

from align.lexicon import WordMatches, chinese_keys  # noqa: E402

BAND = 8        # AlignParams.band
MAX_BEAD = 6    # AlignParams.max_bead
MAX_TOTAL = 8   # AlignParams.max_total


def path_columns(gold, n: int) -> np.ndarray:
    """English sentences used when the gold path has used i Chinese ones, i = 0..n."""
    zh_done, en_done = [0], [0]
    for zh_ids, en_ids in gold:
        zh_done.append(zh_done[-1] + len(zh_ids))
        en_done.append(en_done[-1] + len(en_ids))
    return np.interp(np.arange(n + 1), zh_done, en_done).round().astype(np.int64)


def band_of(gold, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """DP columns [lo, hi) for rows 0..n: the gold path's column +- BAND."""
    column = path_columns(gold, n)
    return (column - BAND).clip(0, m), (column + BAND + 1).clip(1, m + 1)


def columns_near(lo: np.ndarray, hi: np.ndarray, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(n)
    start = (lo[rows + 1] - MAX_BEAD).clip(0, m)
    stop = hi[np.minimum(rows + MAX_BEAD, n)].clip(0, m)
    return start, np.maximum(stop, start)


def band_cells(lo: np.ndarray, hi: np.ndarray, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """(zh_end, en_end) of every a-b bead the DP scores in the band, row by row."""
    rows = np.arange(a, len(lo))
    lows = np.maximum(lo[rows], b)
    sizes = np.maximum(hi[rows] - lows, 0)
    first = np.cumsum(sizes) - sizes
    return np.repeat(rows, sizes), np.repeat(lows, sizes) + np.arange(sizes.sum()) - np.repeat(first, sizes)


def shapes() -> list[tuple[int, int]]:
    return [(a, b) for a in range(1, MAX_BEAD + 1) for b in range(1, MAX_BEAD + 1) if a + b <= MAX_TOTAL]


def time_case(name: str, zh_texts: list[str], en_texts: list[str], gold) -> dict:
    n, m = len(zh_texts), len(en_texts)
    lo, hi = band_of(gold, n, m)
    start, stop = columns_near(lo, hi, n, m)
    for text in dict.fromkeys(zh_texts):  # dictionary and jieba warmed up: the aligner's reading did this
        chinese_keys(text)
    clock = time.perf_counter()
    words = WordMatches.count(zh_texts, en_texts, start, stop)
    count_seconds = time.perf_counter() - clock

    per_row, cells = {}, 0
    clock = time.perf_counter()
    for a, b in shapes():
        for i in range(a, n + 1):
            js = np.arange(max(lo[i], b), hi[i])
            if len(js):
                per_row[i, a, b] = words.coverage(i, a, js, b)
                cells += len(js)
    row_seconds = time.perf_counter() - clock
    row = {"case": name, "zh": n, "en": m, "cells": cells, "count_s": count_seconds, "coverage_rows_s": row_seconds}

    if hasattr(words, "coverage_cells"):
        beads = {(a, b): band_cells(lo, hi, a, b) for a, b in shapes()}
        clock = time.perf_counter()
        at_once = {shape: words.coverage_cells(zh_end, shape[0], en_end, shape[1])
                   for shape, (zh_end, en_end) in beads.items()}
        row["coverage_cells_s"] = time.perf_counter() - clock
        row["same_values"] = all(
            np.array_equal(np.concatenate([per_row[i, a, b] for i in np.unique(zh_end)]), at_once[a, b])
            for (a, b), (zh_end, _) in beads.items())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="001", help="MAC-Dev chapter of the small case (default: 001)")
    parser.add_argument("--sentences", type=int, default=40_000, help="Chinese sentences of the long case")
    args = parser.parse_args()
    from align.evaluating import read_alignment

    chapter = (MAC_DEV / "zh" / args.chapter).read_text("utf-8").rstrip("\n").split("\n"), \
        (MAC_DEV / "en" / args.chapter).read_text("utf-8").rstrip("\n").split("\n"), \
        read_alignment(MAC_DEV / "gold" / args.chapter)
    corpus = load_corpus()
    zh_all = [s for zh, _, _ in corpus for s in zh]
    en_all = [s for _, en, _ in corpus for s in en]
    zh_index, en_index, gold = build_pair(corpus, args.sentences)
    chinese_keys("火星。")  # the dictionary is read once per process
    clock = time.perf_counter()  # numba compiles (or loads from its disk cache) once per process
    warm = WordMatches.count(["火星。"], ["Mars."], np.zeros(1, dtype=int), np.ones(1, dtype=int))
    if hasattr(warm, "coverage_cells"):
        warm.coverage_cells(np.ones(1, dtype=int), 1, np.ones(1, dtype=int), 1)
    print(f"first call (compiling or loading the kernels): {time.perf_counter() - clock:.2f} s")
    rows = [time_case(f"MAC-Dev {args.chapter}", *chapter),
            time_case("bench_long", [zh_all[k] for k in zh_index], [en_all[k] for k in en_index], gold)]
    print("| case | zh x en | band cells x shapes | WordMatches.count | coverage per DP row | coverage_cells | same |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        cells_s = f"{r['coverage_cells_s']:.2f} s" if "coverage_cells_s" in r else "-"
        print(f"| {r['case']} | {r['zh']:,} x {r['en']:,} | {r['cells']:,} | {r['count_s']:.2f} s | "
              f"{r['coverage_rows_s']:.2f} s | {cells_s} | {r.get('same_values', '-')} |")


if __name__ == "__main__":
    main()
