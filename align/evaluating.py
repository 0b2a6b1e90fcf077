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

The gold defines the sentences of each side: every gold sentence is in exactly
one gold bead. A prediction must cover the same sentences, each once; one that
repeats, leaves out or invents a sentence is an InputError naming it, as is a
gold file that repeats one.
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
        text = path.read_text(encoding="utf-8-sig")  # a BOM is no bead
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


def _match_unaligned(reference: list[Bead], candidates: Iterable[Bead]) -> Counts:
    """How many reference 1-0 / 0-1 beads the candidates find: strictly the same
    bead, laxly each of its sentences left unaligned (the per-sentence count of
    deletion_scores)."""
    exact = set(candidates)
    unaligned = unaligned_sentences(exact)
    counts = Counts()
    for zh, en in reference:
        strict = (zh, en) in exact
        lax = all(s in unaligned for s in [("zh", i) for i in zh] + [("en", j) for j in en])
        counts.strict_tp += strict
        counts.strict_fp += not strict
        counts.lax_tp += lax
        counts.lax_fp += not lax
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
            # Recall of 1-0 and 0-1 gold beads: found when the prediction leaves their sentences unaligned
            # (the standard metric's recall leaves them out, which would read as all missed).
            found = _match(pred, _both_sides(gold_k)) if "0" not in kind.split("-") else _match_unaligned(gold_k, pred)
            part = Scores(_match(gold, pred_k), found)
            total = type_counts.setdefault(kind, Scores(Counts(), Counts()))
            total.precision += part.precision
            total.recall += part.recall
            gold_types[kind] += len(gold_k)
    for kind, scores in sorted(type_counts.items(), key=lambda kv: -gold_types[kv[0]]):
        by_type[kind] = scores.as_dict() | {"gold_beads": gold_types[kind]}
    return {"pooled": pooled.as_dict(), "by_file": by_file, "by_type": by_type, "deletions": deletion_scores(pairs)}


def looks_like_alignment(path: Path) -> bool:
    """Whether a file's first non-blank line is a bead line or a zhalign TSV header:
    what makes a file of a gold folder a gold file (data/gold also holds a README
    and the sentences)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    return bool(_BEAD_LINE.fullmatch(line.rstrip("\r\n"))) or "zh_ids" in line.rstrip("\r\n").split("\t")
    except OSError:
        return True  # let read_alignment name the problem
    return False


def _named_like(gold: Path, pred: Path) -> bool:
    """A prediction for that gold file: the same name, or the same stem (`001.tsv` for gold `001`,
    `core-technology.tsv` for `core-technology.gold`)."""
    return pred.name == gold.name or pred.stem in (gold.name, gold.stem)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def pair_files(gold: str | Path, pred: str | Path) -> dict[str, tuple[Path, Path | None]]:
    """Gold and predicted files matched by name: {gold name: (gold, prediction or None
    when there is none)}. Two folders: every gold file of GOLD (a file that looks
    like an alignment) with the file of PRED of its name or stem. A gold folder and
    one prediction: the gold file named like it, else the folder's only gold file."""
    gold, pred = Path(gold), Path(pred)
    for path in (gold, pred):
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
    if gold.is_file() and pred.is_file():
        return {gold.name: (gold, pred)}
    if gold.is_file():
        named = [p for p in _files(pred) if _named_like(gold, p) and p.suffix != ".signature"]
        if len(named) != 1:
            raise UsageError(f"{'no file' if not named else 'several files'} in {pred} named like {gold.name}: "
                             "give the prediction file, or two folders")
        return {gold.name: (gold, named[0])}
    gold_files = [g for g in _files(gold) if looks_like_alignment(g)]
    if not gold_files:
        raise InputError(f"{gold}: no gold file (a file of bead lines such as [0]:[0], or a zhalign TSV)")
    if pred.is_file():
        named = [g for g in gold_files if _named_like(g, pred)]
        if len(named) == 1 or len(gold_files) == 1:
            chosen = (named or gold_files)[0]
            return {chosen.name: (chosen, pred)}
        raise UsageError(f"{gold} holds {len(gold_files)} gold files ({_some([g.name for g in gold_files])}) and "
                         f"none is named like {pred.name}: give the gold file, or a folder of predictions named "
                         "like them")
    candidates = [p for p in _files(pred) if p.suffix != ".signature"]  # the signature beside an index output
    matched: dict[str, tuple[Path, Path | None]] = {}
    for g in gold_files:
        exact = [p for p in candidates if p.name == g.name]
        named = exact or [p for p in candidates if _named_like(g, p)]
        if len(named) > 1:
            raise InputError(f"{pred}: several predictions for gold file {g.name} "
                             f"({', '.join(p.name for p in named)}); keep one")
        matched[g.name] = (g, named[0] if named else None)
    if all(p is None for _, p in matched.values()):
        raise InputError(f"no file in {pred} matches a gold file in {gold} by name")
    return matched


def _some(items: list, shown: int = 5) -> str:
    """The first few of a list, comma-separated, and how many more."""
    text = ", ".join(str(item) for item in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


def check_beads(beads: list[Bead], path: str | Path) -> None:
    """InputError naming `path` when a sentence is in more than one of its beads."""
    for side, index in (("zh", 0), ("en", 1)):
        counts = Counter(i for bead in beads for i in bead[index])
        repeated = sorted(i for i, n in counts.items() if n > 1)
        if repeated:
            raise InputError(f"{path}: {side} sentence{'s' if len(repeated) > 1 else ''} {_some(repeated)} "
                             f"{'are' if len(repeated) > 1 else 'is'} in more than one bead")


def check_prediction(gold: list[Bead], pred: list[Bead], gold_path: str | Path, pred_path: str | Path) -> None:
    """InputError naming the file when the gold repeats a sentence, or the prediction
    does not hold exactly the gold's sentences, each once."""
    check_beads(gold, gold_path)
    check_beads(pred, pred_path)
    for side, index in (("zh", 0), ("en", 1)):
        gold_ids = {i for bead in gold for i in bead[index]}
        pred_ids = {i for bead in pred for i in bead[index]}
        unknown, missing = sorted(pred_ids - gold_ids), sorted(gold_ids - pred_ids)
        plural = "s" if len(unknown or missing) > 1 else ""
        if unknown:
            span = f"0-{max(gold_ids)}" if gold_ids == set(range(len(gold_ids))) else "others"
            raise InputError(f"{pred_path}: {side} sentence{plural} {_some(unknown)} "
                             f"{'are' if plural else 'is'} not in the gold {gold_path} "
                             f"(it has {len(gold_ids)} {side} sentences, {span})" if gold_ids else
                             f"{pred_path}: {side} sentence{plural} {_some(unknown)} {'are' if plural else 'is'} "
                             f"not in the gold {gold_path} (it has no {side} sentence)")
        if missing:
            raise InputError(f"{pred_path}: leaves out {side} sentence{plural} {_some(missing)} of the gold "
                             f"{gold_path} (every sentence must be in one bead, a 1-0 or 0-1 bead if unaligned)")


def evaluate_paths(gold: str | Path, pred: str | Path, partial: bool = False) -> dict:
    """evaluate() over files or directories of files matched by name, each pair
    checked (check_prediction). A gold file with no prediction is an InputError,
    or with `partial` left out and listed under "missing"."""
    pairs = pair_files(gold, pred)
    missing = [name for name, (_, p) in pairs.items() if p is None]
    if missing and not partial:
        raise InputError(f"{pred}: no prediction for {len(missing)} of {len(pairs)} gold files in {gold} "
                         f"({_some(missing)}); --partial scores those there are")
    beads = {}
    for name, (g, p) in pairs.items():
        if p is not None:
            beads[name] = (read_alignment(g), read_alignment(p))
            check_prediction(*beads[name], g, p)
    result = evaluate(beads)
    if partial:
        result["missing"] = missing
        result["gold_files"] = len(pairs)
    return result


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
    if result.get("missing"):
        missing = result["missing"]
        lines.append(f"not scored: {len(missing)} of {result['gold_files']} gold files have no prediction "
                     f"({_some(missing)})")
    deletions = result.get("deletions")
    if deletions and (deletions["gold"] or deletions["predicted"]):
        lines.append(f"unaligned sentences (1-0, 0-1): precision {deletions['precision']:.3f}, "
                     f"recall {deletions['recall']:.3f} ({deletions['correct']} right of {deletions['predicted']} "
                     f"predicted; {deletions['gold']} in gold)")
    return "\n".join(lines)
