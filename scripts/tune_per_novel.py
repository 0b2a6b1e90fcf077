"""Does `zhalign tune` help a user with a few chapters of their own book? For each
of MAC's six novels: fit on two of its chapters, score its third, against the shipped weights.

    python scripts/tune_per_novel.py ../shared/bench/mac-dev ../shared/bench/mac-train [--rounds 3] [--one-way]

Each novel has three hand-aligned chapters: one in MAC-Dev (NNN = its book id) and
two in MAC-Train (meta_data.tsv's book_id). The shipped weights were fitted on
MAC-Dev, so the chapter scored is always a MAC-Train one, which neither fit saw:
fit on the MAC-Dev chapter and one MAC-Train chapter, score the other, both ways
round (12 held-out chapters). The fit is `zhalign tune`'s (align.tuning.fit from
the model's shipped weights, its held knobs held; align.tune). Prints a Markdown
table: per held-out chapter, strict F1 with the shipped weights and with the tuned ones.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from align import __version__
from align.bench import BenchDocument, load_bench, scores_of
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.profile import Profile
from align.tuning import fit, held, predict, stderr_log, tuning_documents


def books(folder: Path) -> dict[str, str]:
    """text_id -> book_id, from the folder's meta_data.tsv."""
    with open(folder / "meta_data.tsv", encoding="utf-8") as table:
        return {row["text_id"]: row["book_id"] for row in csv.DictReader(table, delimiter="\t")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dev", type=Path)
    parser.add_argument("train", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--one-way", action="store_true",
                        help="score only each novel's second MAC-Train chapter (6 fits, not 12)")
    args = parser.parse_args()

    encoder = attach_cache(load_encoder(args.model))
    docs: dict[str, BenchDocument] = load_bench(args.dev, encoder) | load_bench(args.train, encoder)
    book_of = books(args.dev) | books(args.train)
    start = Profile.for_model(encoder).weights
    print(f"zhalign {__version__}, model {encoder.name}, shipped weights {start.id}, rounds {args.rounds}\n")
    print("| novel | fitted on | scored | shipped strict F1 | tuned strict F1 |")
    print("| --- | --- | --- | --- | --- |")
    totals = {"shipped": [], "tuned": []}
    for book in sorted(set(book_of.values())):
        dev = [name for name in sorted(docs) if book_of[name] == book and name <= "006"]
        train = [name for name in sorted(docs) if book_of[name] == book and name > "006"]
        prepared = tuning_documents({name: docs[name] for name in dev + train}, start)
        for scored in train[1:] if args.one_way else train:
            fitted_on = dev + [name for name in train if name != scored]
            tuned, _ = fit({name: prepared[name] for name in fitted_on}, start, args.rounds, held(start),
                           log=stderr_log)
            row = {}
            for label, weights in (("shipped", start), ("tuned", tuned)):
                predicted = predict({scored: prepared[scored]}, weights)
                pooled = scores_of({scored: docs[scored]}, predicted)["pooled"]
                row[label] = pooled["strict_f1"]
                totals[label].append(pooled)
            print(f"| {book} | {' + '.join(fitted_on)} | {scored} | {row['shipped']:.4f} | {row['tuned']:.4f} |",
                  flush=True)
    for label in totals:
        print(f"{label}: mean strict F1 over the {len(totals[label])} scored chapters "
              f"{sum(p['strict_f1'] for p in totals[label]) / len(totals[label]):.4f}")


if __name__ == "__main__":
    main()
