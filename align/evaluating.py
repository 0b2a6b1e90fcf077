"""Evaluating alignments: strict and lax bead precision, recall and F1.

The standard metric of Sennrich & Volk (2010) as Vecalign and Bertalign score
it. Precision is taken over predicted beads (1-0 and 0-1 included); recall is
the same computation the other way round over beads with sentences on both
sides. A bead is right strictly when it equals a gold bead, laxly when it
shares a source and a target sentence with one gold bead. Counts are pooled
over files before dividing.

Deletions are scored per sentence: of the sentences predicted unaligned (in
1-0 and 0-1 beads), the share that gold leaves unaligned (precision), and of
the gold-unaligned sentences, the share predicted unaligned (recall).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from align.errors import InputError, UsageError
from align.writing import parse_ids, read_tsv

Bead = tuple[tuple[int, ...], tuple[int, ...]]


# `[0, 1]:[0]`, or Vecalign's own output with a cost after a second colon: `[0, 1]:[0]:0.1234`.
_BEAD_LINE = re.compile(r"\s*\[([\d,\s]*)\]\s*:\s*\[([\d,\s]*)\]\s*(?::\s*[-+0-9.eE]+\s*)?")


def bead_lines(beads: list[Bead], zh_lines: list[str], en_lines: list[str]) -> tuple[list[str], list[str]] | None:
    """The Chinese and English lines a run of consecutive gold beads covers: a small
    pair that translates itself exactly (benchmarks and tests cut MAC-Dev so). None
    when the run has no sentence on a side."""
    zh_ids = [i for zh, _ in beads for i in zh]
    en_ids = [j for _, en in beads for j in en]
    if not zh_ids or not en_ids:
        return None
    return zh_lines[min(zh_ids):max(zh_ids) + 1], en_lines[min(en_ids):max(en_ids) + 1]


def read_alignment(path: str | Path) -> list[Bead]:
    """Beads from the index format (`[0, 1]:[0]` a line, with or without Vecalign's
    `:cost` after it) or from our TSV. A line of neither kind is an InputError naming it."""
    return [bead for _, bead in read_numbered_alignment(path)]


def read_numbered_alignment(path: str | Path) -> list[tuple[int, Bead]]:
    """read_alignment's beads, each with the number of the file's line it is on."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    if "zh_ids" in text.split("\n", 1)[0].split("\t"):
        try:
            frame = read_tsv(path)
        except ValueError as error:  # pandas' ParserError, or ids that are not numbers
            raise InputError(f"{path}: not a readable aligned TSV ({str(error).splitlines()[0]})") from None
        return [(row + 2, (tuple(z), tuple(e))) for row, (z, e) in enumerate(zip(frame["zh_ids"], frame["en_ids"]))]
    beads = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _BEAD_LINE.fullmatch(line)
        if not match:
            raise InputError(f"{path}:{number}: not a bead line ([i, j]:[k] or [i, j]:[k]:cost): {line[:60]!r}")
        beads.append((number, (tuple(parse_ids(match.group(1))), tuple(parse_ids(match.group(2))))))
    return beads


@dataclass
class Counts:
    """True and false positives, strict and lax, for precision or recall."""

    strict_tp: int = 0
    strict_fp: int = 0
    lax_tp: int = 0
    lax_fp: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        self.strict_tp += other.strict_tp
        self.strict_fp += other.strict_fp
        self.lax_tp += other.lax_tp
        self.lax_fp += other.lax_fp
        return self

    def rate(self, strict: bool) -> float:
        tp, fp = (self.strict_tp, self.strict_fp) if strict else (self.lax_tp, self.lax_fp)
        return tp / (tp + fp) if tp + fp else 0.0


def _match(reference: list[Bead], candidates: Iterable[Bead]) -> Counts:
    """How many candidate beads equal (strict) or overlap (lax) a reference bead."""
    exact = set(reference)
    zh_owner: dict[int, list[int]] = {}
    for k, (zh, _) in enumerate(reference):
        for i in zh:
            zh_owner.setdefault(i, []).append(k)
    counts = Counts()
    for zh, en in candidates:
        if not zh and not en:
            continue
        if (zh, en) in exact:
            counts.strict_tp += 1
            counts.lax_tp += 1
            continue
        counts.strict_fp += 1
        en_set = set(en)
        overlaps = any(en_set & set(reference[k][1]) for i in zh for k in zh_owner.get(i, ()))
        if overlaps:
            counts.lax_tp += 1
        else:
            counts.lax_fp += 1
    return counts


def _both_sides(beads: list[Bead]) -> list[Bead]:
    return [b for b in beads if b[0] and b[1]]


@dataclass
class Scores:
    precision: Counts
    recall: Counts

    def as_dict(self) -> dict[str, float]:
        out = {}
        for kind, strict in (("strict", True), ("lax", False)):
            p, r = self.precision.rate(strict), self.recall.rate(strict)
            out[f"{kind}_precision"] = p
            out[f"{kind}_recall"] = r
            out[f"{kind}_f1"] = 2 * p * r / (p + r) if p + r else 0.0
        return out


def score_pair(gold: list[Bead], pred: list[Bead]) -> Scores:
    gold = [(tuple(z), tuple(e)) for z, e in gold]
    pred = [(tuple(z), tuple(e)) for z, e in pred]
    return Scores(_match(gold, pred), _match(_both_sides(pred), _both_sides(gold)))


def bead_type(bead: Bead) -> str:
    return f"{len(bead[0])}-{len(bead[1])}"


def unaligned_sentences(beads: Iterable[Bead]) -> set[tuple[str, int]]:
    """("zh", i) and ("en", j) of the sentences in 1-0 and 0-1 beads."""
    found = set()
    for zh, en in beads:
        if not en:
            found.update(("zh", i) for i in zh)
        if not zh:
            found.update(("en", j) for j in en)
    return found


def deletion_scores(pairs: dict[str, tuple[list[Bead], list[Bead]]]) -> dict[str, float | int]:
    """Deletion precision and recall over sentences, pooled over named (gold, predicted) pairs."""
    gold_count = predicted_count = correct = 0
    for gold, pred in pairs.values():
        gold_unaligned, predicted_unaligned = unaligned_sentences(gold), unaligned_sentences(pred)
        gold_count += len(gold_unaligned)
        predicted_count += len(predicted_unaligned)
        correct += len(gold_unaligned & predicted_unaligned)
    return {"precision": correct / predicted_count if predicted_count else 0.0,
            "recall": correct / gold_count if gold_count else 0.0,
            "gold": gold_count, "predicted": predicted_count, "correct": correct}


def evaluate(pairs: dict[str, tuple[list[Bead], list[Bead]]]) -> dict:
    """Pooled scores over named (gold, predicted) pairs, with per-file and
    per-bead-type breakdowns and deletion scores. Per type, precision counts
    predicted beads of that type and recall gold beads of that type."""
    pooled = Scores(Counts(), Counts())
    by_file, by_type = {}, {}
    type_counts: dict[str, Scores] = {}
    gold_types: Counter = Counter()
    for name, (gold, pred) in pairs.items():
        scores = score_pair(gold, pred)
        pooled.precision += scores.precision
        pooled.recall += scores.recall
        by_file[name] = scores.as_dict() | {"gold_beads": len(gold), "pred_beads": len(pred)}
        for kind in {bead_type(b) for b in gold} | {bead_type(b) for b in pred}:
            gold_k = [b for b in gold if bead_type(b) == kind]
            pred_k = [b for b in pred if bead_type(b) == kind]
            part = Scores(_match(gold, pred_k), _match(pred, _both_sides(gold_k)))
            total = type_counts.setdefault(kind, Scores(Counts(), Counts()))
            total.precision += part.precision
            total.recall += part.recall
            gold_types[kind] += len(gold_k)
    for kind, scores in sorted(type_counts.items(), key=lambda kv: -gold_types[kv[0]]):
        by_type[kind] = scores.as_dict() | {"gold_beads": gold_types[kind]}
    return {"pooled": pooled.as_dict(), "by_file": by_file, "by_type": by_type, "deletions": deletion_scores(pairs)}


def pair_files(gold: str | Path, pred: str | Path) -> dict[str, tuple[Path, Path]]:
    """Gold and predicted files matched by name (a predicted `001.tsv` matches gold `001`)."""
    gold, pred = Path(gold), Path(pred)
    for path in (gold, pred):
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
    if gold.is_file() and pred.is_file():
        return {gold.name: (gold, pred)}
    if not (gold.is_dir() and pred.is_dir()):
        kinds = ", ".join(f"{p} is a {'directory' if p.is_dir() else 'file'}" for p in (gold, pred))
        raise UsageError(f"give two files or two directories ({kinds})")
    predicted = {p.name: p for p in pred.iterdir() if p.is_file()} | {p.stem: p for p in pred.iterdir() if p.is_file()}
    matched = {g.name: (g, predicted[g.name]) for g in sorted(gold.iterdir()) if g.is_file() and g.name in predicted}
    if not matched:
        raise InputError(f"no file in {pred} matches a gold file in {gold} by name")
    return matched


def evaluate_paths(gold: str | Path, pred: str | Path) -> dict:
    """evaluate() over files or directories of files matched by name."""
    return evaluate({name: (read_alignment(g), read_alignment(p)) for name, (g, p) in pair_files(gold, pred).items()})


def format_report(result: dict, by_file: bool = False, by_type: bool = False) -> str:
    """A plain-text table of evaluate()'s numbers."""
    header = f"{'':12} {'strict P':>9} {'strict R':>9} {'strict F1':>9} {'lax P':>7} {'lax R':>7} {'lax F1':>7}"

    def line(name: str, s: dict, extra: str = "") -> str:
        return (f"{name:12} {s['strict_precision']:9.3f} {s['strict_recall']:9.3f} {s['strict_f1']:9.3f} "
                f"{s['lax_precision']:7.3f} {s['lax_recall']:7.3f} {s['lax_f1']:7.3f}{extra}")

    lines = [header, line("all", result["pooled"])]
    if by_file:
        lines += [line(name, s, f"  ({s['gold_beads']} gold beads)") for name, s in result["by_file"].items()]
    if by_type:
        lines += [line(kind, s, f"  ({s['gold_beads']} gold beads)") for kind, s in result["by_type"].items()]
    deletions = result.get("deletions")
    if deletions and (deletions["gold"] or deletions["predicted"]):
        lines.append(f"unaligned sentences (1-0, 0-1): precision {deletions['precision']:.3f}, "
                     f"recall {deletions['recall']:.3f} ({deletions['correct']} right of {deletions['predicted']} "
                     f"predicted; {deletions['gold']} in gold)")
    return "\n".join(lines)
