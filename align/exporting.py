"""Exporting training pairs: aligned TSVs -> filtered sentence pairs -> training files.

    frame, report = filter_pairs(read_aligned(["out/"]))
    export(frame, "train", ["tsv", "jsonl", "moses", "tmx"])

Filters run in a fixed order and each counts the pairs it removed (a pair
removed by one filter is not seen by the later ones): documents judged not
parallel, unaligned beads, bead shape, score, boilerplate (a bead holding a
credit, byline or dateline: the sentence roles the aligned TSV carries),
language, length, length ratio, duplicates. Text is cleaned first: every run
of whitespace, line or paragraph separator becomes one space and control
characters go, so that the one-pair-a-line formats (TSV, Moses) stay one pair
a line and the TMX stays valid XML.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from align import __version__
from align.errors import InputError, UsageError
from align.reading import Document, Paragraph
from align.script import HAN_CHARS, han_share, latin_share
from align.segmenting import split_document
from align.writing import (as_ids, as_roles, atomic_paths, frame_to_tsv, read_tsv, refuse_unwritable_outputs, same_file,
                           verdict)

FORMATS = ("tsv", "full-tsv", "jsonl", "moses", "tmx")
# What each format writes, as suffixes added to the output prefix.
SUFFIXES = {"tsv": [".tsv"], "full-tsv": [".full.tsv"], "jsonl": [".jsonl"], "moses": [".zh", ".en"], "tmx": [".tmx"]}
FULL_COLUMNS = ["zh", "en", "score", "type", "source", "zh_ids", "en_ids", "zh_roles", "en_roles", "parallel",
                "signature"]
NEEDED_COLUMNS = ["zh", "en", "score", "type"]

# Defaults of the filters (the CLI shows the same ones).
MIN_SCORE = "weights"    # each pair's weights' min_export_score (min_scores): a score's meaning is its calibration's
MAX_TYPE = "3-3"         # the aligner makes beads up to 6 sentences a side; the largest are the least sure
MIN_LENGTH = 2           # Chinese characters / English words on each side: drops one-word fragments
MAX_LENGTH = 250         # the same units: drops runaway beads, not long sentences
MIN_SCRIPT = 0.5         # share of letters in the side's own script
LENGTH_RATIO = "auto"    # fit from the data when there are enough pairs, else the published ratio
DEDUP = "near"

# Chinese characters per English word in translation: the translators' rule of thumb
# "1000 Chinese characters give about 600-750 English words; 1000 English words give
# 1300-1800 characters" (Tianheng Consulting and AnyCount word-count notes), i.e.
# 1.3-1.8 characters a word over a whole document. One sentence varies more, so the
# published bounds widen that range by a factor 2 each way.
PUBLISHED_RATIO = (1.3, 1.8)
PUBLISHED_BOUNDS = (PUBLISHED_RATIO[0] / 2, PUBLISHED_RATIO[1] * 2)
MIN_FIT_PAIRS = 30       # fewer pairs than this: the median and spread are too rough to trust
FIT_WIDTH = 3.0          # bounds at median +- 3 robust standard deviations of log(ratio)
FIT_MIN_SIGMA = 0.2      # a very uniform corpus still gets bounds of at least x/ 1.8
RATIO_PRIOR_WORDS = 2.0  # short pairs are pulled toward the centre by 2 words at the central ratio

# Chinese length unit: a Han character, or a run of Latin letters/digits (GDP, 2020, 2.4).
_ZH_UNIT = re.compile(rf"[{HAN_CHARS}]|[A-Za-z0-9]+(?:[.,][0-9]+)*")
_WORD = re.compile(r"\w")
_SPACES = re.compile(r"\s+")
# Cc controls (tab/newline are already spaces by then), zero-width space, BOM, XML non-characters,
# and bidirectional controls (marks, embeddings, overrides, isolates): invisible, they reorder how a
# line displays (so a pair can read other than it is) and carry nothing a translation model should learn.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b\ufeff\ufffe\uffff\ud800-\udfff"
                      r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NOT_WORD = re.compile(r"[\W_]+")


def clean_text(text: str) -> str:
    """One line of text: whitespace runs (tabs, newlines, U+2028 ...) become one space, controls go."""
    return _CONTROL.sub("", _SPACES.sub(" ", str(text))).strip()


def text_roles(text: str, lang: str) -> list[str]:
    """The roles of the sentences of one side of a bead, for a table written
    before the TSV kept them: the side's text split into sentences again and
    each given the role reading would give it (align.reading.sentence_role)."""
    if not str(text).strip():
        return []
    return [s.role for s in split_document(Document([Paragraph(str(text))], "text"), lang)]


def zh_length(text: str) -> int:
    """Chinese characters, counting a run of Latin letters or digits as one."""
    return len(_ZH_UNIT.findall(text))


def en_length(text: str) -> int:
    """English words: whitespace tokens holding a letter or digit."""
    return sum(1 for token in text.split() if _WORD.search(token))




def normalize(text: str) -> str:
    """The text for near-duplicate matching: NFKC, case-folded, letters and digits only."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def parse_type(bead_type: str) -> tuple[int, int]:
    """'2-1' -> (2, 1)."""
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", str(bead_type))
    if not match:
        raise UsageError(f"bead type {bead_type!r} is not of the form M-N, e.g. 1-1 or 2-2")
    return int(match.group(1)), int(match.group(2))


def parse_ratio_option(option: str | tuple[float, float] | None) -> str | tuple[float, float]:
    """'auto' | 'published' | 'off' | 'LOW:HIGH' (Chinese characters per English word)."""
    if option is None:
        return "off"
    if isinstance(option, tuple):
        low, high = option
    elif option in ("auto", "published", "off"):
        return option
    else:
        match = re.fullmatch(r"\s*([0-9.]+)\s*[:,-]\s*([0-9.]+)\s*", str(option))
        if not match:
            raise UsageError(f"length ratio {option!r}: give auto, published, off or LOW:HIGH, e.g. 0.7:3")
        low, high = float(match.group(1)), float(match.group(2))
    if not 0 < low < high:
        raise UsageError(f"length ratio bounds {low}:{high}: need 0 < LOW < HIGH")
    return (float(low), float(high))


@dataclass
class FilterStep:
    """What one filter removed: its id (e.g. `score`, one of FILTER_IDS), the label a person reads
    (with the filter's bounds), and how many pairs."""

    id: str
    label: str
    removed: int


FILTER_IDS = ("not_parallel", "unaligned", "bead_type", "score", "boilerplate", "language", "length",
              "length_ratio", "duplicates_exact", "duplicates_near")  # in the order the filters run


@dataclass
class FilterReport:
    """How many pairs came in, what each filter removed (in the order they ran), how many are
    left, and what made them."""

    beads: int = 0
    steps: list[FilterStep] = field(default_factory=list)
    kept: int = 0
    not_parallel_sources: int = 0   # documents judged not parallel among the inputs
    signatures: dict[str, int] = field(default_factory=dict)  # beads in by signature ("" for none)
    ratio_bounds: tuple[float, float] | None = None
    ratio_source: str = "off"

    def removed(self, filter_id: str) -> int | None:
        """How many pairs the filter `filter_id` removed (None: it did not run)."""
        return next((step.removed for step in self.steps if step.id == filter_id), None)

    def to_dict(self) -> dict:
        return {
            "beads": self.beads, "steps": [asdict(step) for step in self.steps], "kept": self.kept,
            "not_parallel_sources": self.not_parallel_sources, "signatures": dict(self.signatures),
            "ratio_bounds": list(self.ratio_bounds) if self.ratio_bounds else None, "ratio_source": self.ratio_source,
        }

    def format(self) -> str:
        width = max((len(step.label) for step in self.steps), default=0)
        lines = [f"{self.beads} beads in"]
        for step in self.steps:
            lines.append(f"  {step.label:<{width}}  -{step.removed}")
        if self.ratio_bounds:
            low, high = self.ratio_bounds
            lines.append(f"  length ratio bounds {low:.2f}-{high:.2f} Chinese characters per English word, "
                         f"{self.ratio_source}")
        lines.append(f"{self.kept} pairs kept")
        for made_by, count in self.signatures.items():
            lines.append(f"made by {made_by or 'an unknown aligner (the table has no signature column)'}"
                         f" ({count} beads in)")
        return "\n".join(lines)


Frames = pd.DataFrame | Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame]


def combine(frames: Frames) -> pd.DataFrame:
    """One table from one or many aligned tables; a mapping's keys become the `source` column
    (unless the table already names its sources: an exported full TSV's `source`, a batch
    corpus's `pair`). Ids become lists; a table without role columns gets the roles of its
    sentences (text_roles), one without a verdict `unjudged`, one without a signature ''."""
    if isinstance(frames, pd.DataFrame):
        items: list[tuple[str | None, pd.DataFrame]] = [(None, frames)]
    elif isinstance(frames, Mapping):
        items = [(str(name), frame) for name, frame in frames.items()]
    else:
        items = [(None, frame) for frame in frames]
    parts = []
    for name, frame in items:
        where = f"{name}: " if name else ""
        missing = [column for column in NEEDED_COLUMNS if column not in frame.columns]
        if missing:
            raise InputError(f"{where}not an aligned table: missing column(s) {', '.join(missing)}")
        part = frame.copy()
        scores = pd.to_numeric(part["score"], errors="coerce")
        if scores.isna().any():
            bad = part.loc[scores.isna(), "score"].iloc[0]
            raise InputError(f"{where}score {bad!r} is not a number: not an aligned table?")
        part["score"] = scores.astype(float)
        for bead_type in part["type"]:
            try:
                parse_type(bead_type)
            except UsageError as error:
                raise InputError(f"{where}{error}: not an aligned table?") from None
        if "source" not in part.columns or (part["source"].fillna("").astype(str) == "").all():
            part["source"] = part["pair"] if "pair" in part.columns else name or ""
        for column in ("zh_ids", "en_ids"):
            part[column] = [as_ids(v) for v in part[column]] if column in part.columns else [[] for _ in range(len(part))]
        for side in ("zh", "en"):
            column = f"{side}_roles"
            part[column] = ([as_roles(v) for v in part[column]] if column in part.columns
                            else [text_roles(text, side) for text in part[side]])
        part["parallel"] = part["parallel"].astype(str) if "parallel" in part.columns else verdict(None)
        part["signature"] = part["signature"].astype(str) if "signature" in part.columns else ""
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=FULL_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    for column in ("zh", "en", "type", "source", "parallel", "signature"):
        table[column] = table[column].fillna("").astype(str)
    return table[FULL_COLUMNS]


def fit_ratio_bounds(zh_lengths: np.ndarray, en_lengths: np.ndarray) -> tuple[float, float]:
    """Bounds of Chinese characters per English word from aligned pairs: median of
    log(ratio) +- 3 robust standard deviations (1.4826 x median absolute deviation)."""
    logs = np.log(zh_lengths / en_lengths)
    centre = float(np.median(logs))
    sigma = max(1.4826 * float(np.median(np.abs(logs - centre))), FIT_MIN_SIGMA)
    return (math.exp(centre - FIT_WIDTH * sigma), math.exp(centre + FIT_WIDTH * sigma))


def min_scores(signatures: pd.Series) -> np.ndarray:
    """The least score of a kept pair, for each row: the min_export_score of the
    weights its signature names (align.signature: `weights:ID`) when those are
    shipped weights (align/weights-*.json), else the default model's. Unrelated
    text scores about 0.01-0.02 and a translation 0.9 and up with both shipped
    files, whose floor is 0.1: only clear misses go."""
    from align.embedding import DEFAULT_MODEL
    from align.profile import Profile
    from align.weights import shipped_files, shipped_weights

    by_id = {w.id: w.min_export_score for w in (shipped_weights(path.name) for path in shipped_files())}
    default = Profile.for_model(DEFAULT_MODEL).weights.min_export_score

    def least(signature: str) -> float:
        named = [part[len("weights:"):] for part in str(signature).split("|") if part.startswith("weights:")]
        return by_id.get(named[0], default) if named else default

    floors = {signature: least(signature) for signature in set(signatures)}
    return np.array([floors[signature] for signature in signatures], dtype=float)


def filter_pairs(
    frames: Frames,
    *,
    min_score: float | str | None = MIN_SCORE,
    max_type: str | None = MAX_TYPE,
    boilerplate: bool = True,
    min_script: float = MIN_SCRIPT,
    min_length: int = MIN_LENGTH,
    max_length: int | None = MAX_LENGTH,
    length_ratio: str | tuple[float, float] | None = LENGTH_RATIO,
    dedup: str = DEDUP,
    keep_not_parallel: bool = False,
) -> tuple[pd.DataFrame, FilterReport]:
    """Training pairs from aligned tables (one DataFrame, a list, or {source: DataFrame}).

    min_score: drop pairs scoring below it (None keeps all); "weights": below the
        least score the weights that scored each pair name (min_scores).
    max_type: 'M-N' keeps beads of at most M Chinese and N English sentences
        ('1-1' for 1-1 only; None or 'all' keeps every shape). Unaligned beads always go.
    boilerplate: drop every pair holding a credit (photo or staff credit, byline,
        dateline: a sentence whose role is `credit`) on either side.
    min_script: least share of Han letters on the Chinese side and of Latin letters
        on the English side (0 turns the language check off).
    min_length, max_length: each side's length in Chinese characters / English words.
    length_ratio: 'auto' (fit from the pairs, or the published ratio for fewer than
        30), 'published', 'off', or (low, high) Chinese characters per English word.
    dedup: 'near' (exact and normalized-text duplicates), 'exact' or 'off'; the first stays.
    keep_not_parallel: keep the pairs of documents the aligner judged not parallel
        (column `parallel` = no); by default none of them is kept.
    Returns the kept rows (FULL_COLUMNS) and the report.
    """
    if dedup not in ("near", "exact", "off"):
        raise UsageError(f"dedup {dedup!r}: choose near, exact or off")
    limits = None if max_type in (None, "all", "any") else parse_type(max_type)
    ratio_option = parse_ratio_option(length_ratio)
    if min_length < 0 or (max_length is not None and max_length < max(min_length, 1)):
        raise UsageError(f"length bounds {min_length}..{max_length} keep nothing")

    table = combine(frames)
    not_parallel = (table["parallel"] == verdict(False)).to_numpy()
    report = FilterReport(beads=len(table), not_parallel_sources=table.loc[not_parallel, "source"].nunique(),
                          signatures=dict(Counter(table["signature"])))
    table["zh"] = table["zh"].map(clean_text)
    table["en"] = table["en"].map(clean_text)

    def drop(filter_id: str, label: str, remove: pd.Series | np.ndarray) -> None:
        nonlocal table
        remove = np.asarray(remove, dtype=bool)
        report.steps.append(FilterStep(filter_id, label, int(remove.sum())))
        table = table[~remove].reset_index(drop=True)

    if not keep_not_parallel:
        sources = report.not_parallel_sources
        drop("not_parallel", f"document judged not parallel ({sources} document{'' if sources == 1 else 's'})",
             not_parallel)
    drop("unaligned", "unaligned (1-0, 0-1)", (table["zh"] == "") | (table["en"] == ""))
    if limits is not None:
        shapes = [parse_type(t) for t in table["type"]]
        drop("bead_type", f"bead type beyond {limits[0]}-{limits[1]}",
             [m > limits[0] or n > limits[1] for m, n in shapes])
    if min_score is not None:
        least = min_scores(table["signature"]) if min_score == MIN_SCORE else np.full(len(table), float(min_score))
        drop("score", "score below " + "/".join(f"{x:g}" for x in sorted(set(least))) if len(table) else "score below",
             table["score"].to_numpy(dtype=float) < least)
    if boilerplate:
        def holds_credit(roles: pd.Series) -> np.ndarray:
            return np.array(["credit" in r for r in roles], dtype=bool)

        drop("boilerplate", "boilerplate (credits, bylines)",
             holds_credit(table["zh_roles"]) | holds_credit(table["en_roles"]))
    if min_script > 0:
        drop("language", f"language (under {min_script:.0%} Han / Latin letters)",
             (table["zh"].map(han_share) < min_script) | (table["en"].map(latin_share) < min_script))
    zh_len = table["zh"].map(zh_length).to_numpy(dtype=float)
    en_len = table["en"].map(en_length).to_numpy(dtype=float)
    too_short = (zh_len < min_length) | (en_len < min_length)
    too_long = (zh_len > max_length) | (en_len > max_length) if max_length is not None else np.zeros(len(table), bool)
    bound = f"{min_length}-{max_length}" if max_length is not None else f"at least {min_length}"
    keep = ~(too_short | too_long)
    drop("length", f"length outside {bound} (zh characters, en words)", ~keep)
    zh_len, en_len = zh_len[keep], en_len[keep]

    if ratio_option != "off":
        usable = (zh_len > 0) & (en_len > 0)
        if isinstance(ratio_option, tuple):
            bounds, source = ratio_option, "given"
        elif ratio_option == "auto" and usable.sum() >= MIN_FIT_PAIRS:
            bounds = fit_ratio_bounds(zh_len[usable], en_len[usable])
            source = f"fitted from {int(usable.sum())} pairs"
        else:
            bounds = PUBLISHED_BOUNDS
            source = (f"published ({PUBLISHED_RATIO[0]}-{PUBLISHED_RATIO[1]} characters a word, widened x/ 2)"
                      + (f"; too few pairs to fit ({int(usable.sum())} < {MIN_FIT_PAIRS})"
                         if ratio_option == "auto" else ""))
        report.ratio_bounds, report.ratio_source = (round(bounds[0], 3), round(bounds[1], 3)), source
        # Short pairs say little about the ratio: add a couple of words at the central ratio.
        centre = math.sqrt(bounds[0] * bounds[1])
        ratio = (zh_len + centre * RATIO_PRIOR_WORDS) / (en_len + RATIO_PRIOR_WORDS)
        drop("length_ratio", f"length ratio outside {bounds[0]:.2f}-{bounds[1]:.2f}",
             (ratio < bounds[0]) | (ratio > bounds[1]))

    if dedup != "off":
        exact_seen: set[tuple[str, str]] = set()
        near_seen: set[tuple[str, str]] = set()
        exact, near = [], []
        for zh, en in zip(table["zh"], table["en"]):
            key = (normalize(zh), normalize(en))
            exact.append((zh, en) in exact_seen)
            near.append(not exact[-1] and dedup == "near" and key in near_seen)
            exact_seen.add((zh, en))
            near_seen.add(key)
        exact_mask, near_mask = np.array(exact, bool), np.array(near, bool)
        report.steps.append(FilterStep("duplicates_exact", "duplicates (exact)", int(exact_mask.sum())))
        if dedup == "near":
            report.steps.append(FilterStep("duplicates_near", "duplicates (near: same letters and digits)",
                                           int(near_mask.sum())))
        table = table[~(exact_mask | near_mask)].reset_index(drop=True)
    report.kept = len(table)
    return table, report


# ---- reading aligned TSVs --------------------------------------------------------

BATCH_SUMMARY, BATCH_CORPUS = "summary.tsv", "corpus.tsv"


def is_batch_folder(folder: Path) -> bool:
    """A `zhalign batch` output folder: its corpus.tsv holds every bead of its pairs/."""
    return (folder / BATCH_SUMMARY).is_file() and (folder / BATCH_CORPUS).is_file()


def _folder_tables(folder: Path) -> list[Path]:
    """The *.tsv files below a folder, sorted, each batch output folder by its corpus.tsv alone
    (its summary.tsv is no bitext, and pairs/ holds the same beads again)."""
    found = []
    for root, folders, files in os.walk(folder):
        here = Path(root)
        if is_batch_folder(here):
            found.append(here / BATCH_CORPUS)
            folders.clear()
            continue
        folders.sort()
        found += [here / name for name in files if name.endswith(".tsv") and (here / name).is_file()]
    return sorted(found)


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Files, folders (their *.tsv, recursively; a batch folder's corpus.tsv) and glob patterns
    -> TSV paths, each once."""
    paths: list[Path] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            found = _folder_tables(path)
            if not found:
                raise InputError(f"{given}: no .tsv files in this folder")
        elif path.exists():
            found = [path]
        elif glob.has_magic(str(given)):
            found = sorted(Path(p) for p in glob.glob(str(given), recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(f"{given}: no files match")
        else:
            raise InputError(f"{given}: no such file")
        paths.extend(found)
    unique = list(dict.fromkeys(paths))
    if not unique:
        raise InputError("no aligned TSV files to read")
    return unique


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as handle:  # a BOM is not part of the header
            return handle.readline().rstrip("\r\n").split("\t")
    except OSError:
        return []


def read_aligned(inputs: Iterable[str | Path], outputs: Iterable[str | Path] = ()) -> dict[str, pd.DataFrame]:
    """{path: table} for every aligned TSV among the inputs (files, folders, globs).

    outputs: the files the export will write. One of them that is an input (a
    file named, or an aligned TSV found in a folder) is refused with an
    InputError, never overwritten; an earlier export's plain files found in a
    folder (train.tsv without a header) are simply not read."""
    inputs = list(inputs)
    written = [Path(p) for p in outputs if Path(p).exists()]

    def is_output(path: Path) -> bool:
        return any(same_file(path, output) for output in written)

    named = [Path(given) for given in inputs if Path(given).is_file()]
    tables = {}
    for path in expand_inputs(inputs):
        if is_output(path):
            if path in named or all(column in _header(path) for column in NEEDED_COLUMNS):
                raise InputError(f"export would overwrite its input {path}: refusing; choose another -o")
            continue
        try:
            frame = read_tsv(path)
        except pd.errors.EmptyDataError:
            raise InputError(f"{path}: file is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
            raise InputError(f"{path}: not a readable TSV ({str(error).splitlines()[0]})") from None
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory") from None
        except OSError as error:
            raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
        missing = [column for column in NEEDED_COLUMNS if column not in frame.columns]
        if missing:
            raise InputError(f"{path}: not an aligned TSV (missing column(s) {', '.join(missing)})")
        tables[str(path)] = frame
    if not tables:
        raise InputError("no aligned TSV files to read (the only ones found are this export's own outputs)")
    return tables


# ---- writers -----------------------------------------------------------------------

def _texts(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    return [clean_text(t) for t in frame["zh"]], [clean_text(t) for t in frame["en"]]


def _column(frame: pd.DataFrame, name: str, default: object = "") -> list:
    return frame[name].tolist() if name in frame.columns else [default] * len(frame)


def tsv_text(frame: pd.DataFrame) -> str:
    """`zh<TAB>en` a line, no header, no quoting: what Marian/OpenNMT-style TSV readers take."""
    zh, en = _texts(frame)
    return "".join(f"{z}\t{e}\n" for z, e in zip(zh, en))


def full_tsv_text(frame: pd.DataFrame) -> str:
    """The kept pairs with score, type, source, sentence ids and roles, verdict and signature;
    header and quoting as `zhalign align`."""
    zh, en = _texts(frame)
    table = pd.DataFrame({"zh": zh, "en": en, **{c: _column(frame, c) for c in FULL_COLUMNS[2:]}})
    return frame_to_tsv(table)


def jsonl_text(frame: pd.DataFrame) -> str:
    """Hugging Face datasets' translation shape, plus the metadata, one JSON object a line."""
    zh, en = _texts(frame)
    lines = []
    for z, e, score, kind, source, zh_ids, en_ids, made_by in zip(
        zh, en, _column(frame, "score", 0.0), _column(frame, "type"), _column(frame, "source"),
        _column(frame, "zh_ids"), _column(frame, "en_ids"), _column(frame, "signature"),
    ):
        record = {"translation": {"zh": z, "en": e}, "score": float(score), "type": str(kind),
                  "source": str(source), "zh_ids": as_ids(zh_ids), "en_ids": as_ids(en_ids),
                  "signature": str(made_by)}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def moses_texts(frame: pd.DataFrame) -> tuple[str, str]:
    """Two plain files, line k of each is pair k."""
    zh, en = _texts(frame)
    return "".join(z + "\n" for z in zh), "".join(e + "\n" for e in en)


def tmx_bytes(frame: pd.DataFrame, zh_lang: str = "zh-CN", en_lang: str = "en") -> bytes:
    """TMX 1.4b: one <tu> a pair, Chinese as the source language, score/type/source as x- props."""
    from lxml import etree

    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    root = etree.Element("tmx", version="1.4")
    header = etree.SubElement(root, "header", {
        "creationtool": "zhalign", "creationtoolversion": __version__, "segtype": "sentence",
        "o-tmf": "zhalign TSV", "adminlang": "en", "srclang": zh_lang, "datatype": "plaintext",
    })
    for made_by in dict.fromkeys(str(value) for value in _column(frame, "signature") if str(value)):
        etree.SubElement(header, "prop", type="x-signature").text = made_by
    body = etree.SubElement(root, "body")
    zh, en = _texts(frame)
    metadata = zip(_column(frame, "score", None), _column(frame, "type", None), _column(frame, "source", None))
    for number, (z, e, (score, kind, source)) in enumerate(zip(zh, en, metadata), start=1):
        unit = etree.SubElement(body, "tu", tuid=str(number))
        # TMX puts <prop> before the <tuv>s.
        for name, value in (("x-score", score), ("x-type", kind), ("x-source", source)):
            if value is not None and str(value) != "":
                etree.SubElement(unit, "prop", type=name).text = clean_text(str(value))
        for lang, text in ((zh_lang, z), (en_lang, e)):
            variant = etree.SubElement(unit, "tuv", {xml_lang: lang})
            etree.SubElement(variant, "seg").text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True,
                          doctype='<!DOCTYPE tmx SYSTEM "tmx14.dtd">')


def write_tsv(frame: pd.DataFrame, path: str | Path) -> None:
    _write_all({Path(path): tsv_text(frame)})


def write_full_tsv(frame: pd.DataFrame, path: str | Path) -> None:
    _write_all({Path(path): full_tsv_text(frame)})


def write_jsonl(frame: pd.DataFrame, path: str | Path) -> None:
    _write_all({Path(path): jsonl_text(frame)})


def write_moses(frame: pd.DataFrame, zh_path: str | Path, en_path: str | Path) -> None:
    zh_text, en_text = moses_texts(frame)
    _write_all({Path(zh_path): zh_text, Path(en_path): en_text})


def write_tmx(frame: pd.DataFrame, path: str | Path) -> None:
    _write_all({Path(path): tmx_bytes(frame)})


def output_paths(prefix: str | Path, formats: Iterable[str] = FORMATS) -> list[Path]:
    return [Path(f"{prefix}{suffix}") for name in formats for suffix in SUFFIXES[name]]


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """'tsv,moses' or ['tsv', 'moses'] or 'all' -> format names, checked."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [n.strip() for n in names if n.strip()]
    if "all" in names:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise UsageError(f"unknown export format {', '.join(unknown) or '(none)'}; choose from "
                         f"{', '.join(FORMATS)} or all")
    return list(dict.fromkeys(names))


def export(frame: pd.DataFrame, prefix: str | Path, formats: str | Iterable[str] = FORMATS) -> list[Path]:
    """Write the pairs as PREFIX.tsv, .full.tsv, .jsonl, .zh + .en, .tmx (the formats asked
    for); all files are written, or none. Returns the paths written."""
    names = parse_formats(formats)
    contents: dict[Path, str | bytes] = {}
    for name in names:
        paths = output_paths(prefix, [name])
        if name == "tsv":
            contents[paths[0]] = tsv_text(frame)
        elif name == "full-tsv":
            contents[paths[0]] = full_tsv_text(frame)
        elif name == "jsonl":
            contents[paths[0]] = jsonl_text(frame)
        elif name == "moses":
            contents[paths[0]], contents[paths[1]] = moses_texts(frame)
        else:
            contents[paths[0]] = tmx_bytes(frame)
    _write_all(contents)
    return list(contents)


def _write_all(contents: Mapping[Path, str | bytes]) -> None:
    # Every target is checked, then every file goes to a temporary file; the renames happen only
    # once all are written, and a failed one puts back those done (atomic_paths).
    refuse_unwritable_outputs(contents)
    with atomic_paths(list(contents)) as temporaries:
        for temporary, content in zip(temporaries, contents.values()):
            if isinstance(content, bytes):
                temporary.write_bytes(content)
            else:
                temporary.write_text(content, encoding="utf-8", newline="\n")


__all__ = [
    "FORMATS", "FilterReport", "FilterStep", "FILTER_IDS", "clean_text", "export", "filter_pairs", "fit_ratio_bounds", "read_aligned",
    "text_roles", "write_full_tsv", "write_jsonl", "write_moses", "write_tmx", "write_tsv",
]
