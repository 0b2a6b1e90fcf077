"""A synthetic deletion benchmark: a gold benchmark with sentences left unaligned on purpose.

    python scripts/make_deletions.py ../shared/bench/mac-dev /tmp/mac-del [--seed 0]
    python scripts/make_deletions.py ../shared/bench/mac-dev ../shared/bench/mac-train /tmp/mac-del18
    python -m align.bench /tmp/mac-del

Hand-aligned gold has almost no unaligned sentences, so nothing measures
whether the aligner finds them. From BENCH_DIR (zh/, en/, gold/ in the index
format, like MAC-Dev) this writes OUT_DIR in the same layout and with the same
file names (from several BENCH_DIRs, all their files in one OUT_DIR; the names must
differ), where about 5% of each chapter's sentences (Chinese and English
together) are made unaligned, the gold updated to match:

- an English omission: a gold 1-1 bead's English line is dropped, so its
  Chinese sentence becomes a 1-0 bead (a translator left it out);
- a Chinese omission: the reverse, the Chinese line dropped, the English 0-1;
- a repeated line: the last sentence of a bead on one side is written twice,
  and the copy (the second) is a 1-0 or 0-1 bead;
- one English-only byline or credit line per chapter, at its start or end (0-1).

Changed beads are never next to each other nor to a bead the gold already
leaves unaligned (an untouched bead lies between), so every unaligned sentence
has aligned neighbours. The choice is
deterministic by --seed and the file's name. OUT_DIR/deletions.json records the
source, seed, rate and counts. The output never goes into the shared folder,
the project or the input, nor over a folder this script did not make.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

from align.evaluating import read_alignment
from align.writing import format_ids

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
RECORD = "deletions.json"  # marks a folder this script made (and may replace)
RATE = 0.05
OMISSIONS_AND_REPEATS = ("english_omitted", "chinese_omitted", "repeated_line")
BYLINES = (
    "Translated from the Chinese by the translator.",
    "English translation copyright © the translator. All rights reserved.",
    "Reprinted by permission of the publisher.",
    "This chapter first appeared in English in a literary magazine.",
    "Translation supported by a grant from the Chinese Fiction Translation Fund.",
)

BeadTexts = tuple[list[str], list[str]]  # the Chinese and the English lines of one bead


def read_chapter(bench: Path, name: str) -> list[BeadTexts]:
    """The gold beads of one file with their lines; the gold must cover every line once, in order."""
    zh = (bench / "zh" / name).read_text("utf-8").splitlines()
    en = (bench / "en" / name).read_text("utf-8").splitlines()
    gold = read_alignment(bench / "gold" / name)
    for side, lines, ids in (("zh", zh, [i for z, _ in gold for i in z]), ("en", en, [j for _, e in gold for j in e])):
        if ids != list(range(len(lines))):
            raise ValueError(f"{bench / 'gold' / name}: the beads do not cover the {len(lines)} lines of "
                             f"{side}/{name} once each, in order")
    return [([zh[i] for i in z], [en[j] for j in e]) for z, e in gold]


def corrupt_chapter(beads: list[BeadTexts], rng: random.Random, rate: float = RATE) -> tuple[list[BeadTexts], Counter]:
    """The beads with about `rate` of their sentences made unaligned, and how many of each kind."""
    sentences = sum(len(zh) + len(en) for zh, en in beads)
    wanted = [OMISSIONS_AND_REPEATS[k % 3] for k in range(max(1, round(rate * sentences)) - 1)]  # one is the byline
    rng.shuffle(wanted)
    byline_first = rng.random() < 0.5
    changed: dict[int, str] = {-1 if byline_first else len(beads): "byline"}
    already_unaligned = {k for k, (zh, en) in enumerate(beads) if not zh or not en}
    order = list(range(len(beads)))
    rng.shuffle(order)
    for k in order:
        if not wanted:
            break
        if any(n in changed or n in already_unaligned for n in (k - 1, k, k + 1)):
            continue
        one_to_one = len(beads[k][0]) == len(beads[k][1]) == 1
        kind = wanted[0] if one_to_one else "repeated_line" if "repeated_line" in wanted else None
        if kind is not None:
            wanted.remove(kind)
            changed[k] = kind

    result: list[BeadTexts] = []
    for k, (zh, en) in enumerate(beads):
        kind = changed.get(k)
        if kind == "english_omitted":
            result.append((zh, []))
        elif kind == "chinese_omitted":
            result.append(([], en))
        else:
            result.append((zh, en))
        if kind == "repeated_line":
            side = rng.choice([s for s, lines in (("zh", zh), ("en", en)) if lines])
            result.append(([zh[-1]], []) if side == "zh" else ([], [en[-1]]))
    byline: BeadTexts = ([], [rng.choice(BYLINES)])
    result.insert(0 if byline_first else len(result), byline)
    return result, Counter(changed.values())


def write_chapter(folder: Path, name: str, beads: list[BeadTexts]) -> None:
    zh_lines, en_lines, gold_lines = [], [], []
    for zh, en in beads:
        zh_ids = list(range(len(zh_lines), len(zh_lines) + len(zh)))
        en_ids = list(range(len(en_lines), len(en_lines) + len(en)))
        zh_lines += zh
        en_lines += en
        gold_lines.append(f"{format_ids(zh_ids)}:{format_ids(en_ids)}")
    for side, lines in (("zh", zh_lines), ("en", en_lines), ("gold", gold_lines)):
        (folder / side / name).write_text("".join(line + "\n" for line in lines), "utf-8")


def check_output(bench: Path, out: Path) -> None:
    """Refuse an output that would write into shared data, the project or the input, or over another folder."""
    bench, out = bench.resolve(), out.resolve()
    if out == bench or bench in out.parents or out in bench.parents:
        raise ValueError(f"{out}: the output must not be the input {bench}, inside it or around it")
    for guarded, what in ((SHARED, "the shared folder"), (PROJECT, "the project")):
        if out == guarded or guarded in out.parents:
            raise ValueError(f"{out}: refusing to write into {what} {guarded}")
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / RECORD).is_file())):
        raise ValueError(f"{out}: exists and is not a deletion set made by this script; give a new folder")


def make_deletion_set(bench: Path | list[Path], out: Path, seed: int = 0, rate: float = RATE) -> dict:
    """Write the deletion benchmark of `bench` (one folder or several) to `out`, whole or not at
    all; returns its counts."""
    benches, out = ([Path(bench)] if isinstance(bench, (str, Path)) else [Path(b) for b in bench]), Path(out)
    chapters: dict[str, list[BeadTexts]] = {}
    for bench in benches:
        check_output(bench, out)
        names = sorted(p.name for p in (bench / "gold").iterdir() if p.is_file())
        if not names:
            raise ValueError(f"{bench}/gold has no files")
        if clash := sorted(set(names) & set(chapters)):
            raise ValueError(f"{bench}: files {', '.join(clash[:3])} also in an earlier benchmark folder")
        chapters |= {name: read_chapter(bench, name) for name in names}
    names = sorted(chapters)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.part-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for side in ("zh", "en", "gold"):
            (staging / side).mkdir(parents=True)
        per_file = {}
        for name, beads in chapters.items():
            corrupted, kinds = corrupt_chapter(beads, random.Random(f"{seed}:{name}"), rate)
            write_chapter(staging, name, corrupted)
            per_file[name] = {
                "zh_sentences": sum(len(zh) for zh, _ in corrupted),
                "en_sentences": sum(len(en) for _, en in corrupted),
                "unaligned_before": sum(len(zh) + len(en) for zh, en in beads if not zh or not en),
                "unaligned": sum(len(zh) + len(en) for zh, en in corrupted if not zh or not en),
            } | {kind: kinds[kind] for kind in (*OMISSIONS_AND_REPEATS, "byline")}
        counts = {key: sum(f[key] for f in per_file.values()) for key in next(iter(per_file.values()))}
        source = [str(b.resolve()) for b in benches]
        record = {"made_by": "scripts/make_deletions.py", "source": source[0] if len(source) == 1 else source,
                  "seed": seed, "rate": rate,
                  "files": len(names), "counts": counts, "per_file": per_file}
        (staging / RECORD).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", "utf-8")
        if out.exists():  # a set this script made before (check_output): swap it for the new one
            previous = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.rename(out, previous)
            os.rename(staging, out)
            shutil.rmtree(previous)
        else:
            os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make_deletions.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, nargs="+", help="gold benchmark folders (zh/, en/, gold/)")
    parser.add_argument("out", type=Path, help="new folder for the deletion benchmark")
    parser.add_argument("--seed", type=int, default=0, help="which sentences are changed (default: 0)")
    parser.add_argument("--rate", type=float, default=RATE, help=f"share of sentences made unaligned (default: {RATE})")
    args = parser.parse_args(argv)
    try:
        counts = make_deletion_set(args.bench, args.out, args.seed, args.rate)
    except (OSError, ValueError) as error:
        print(f"make_deletions.py: error: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {counts['zh_sentences']} zh and {counts['en_sentences']} en sentences, "
          f"{counts['unaligned']} unaligned ({counts['unaligned_before']} in the source gold): "
          f"{counts['english_omitted']} English and {counts['chinese_omitted']} Chinese omissions, "
          f"{counts['repeated_line']} repeated lines, {counts['byline']} bylines; seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
