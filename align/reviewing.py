"""Reviewing an alignment: beads a person corrects, with undo, a journal and a save.

Pure Python on bead lists; the page (align.review_server) only shows a
ReviewState and asks for operations. Every operation returns a new state and
keeps the invariant: every sentence of each side is in exactly one bead, in
order, and no bead is empty. `check_beads` checks it again before a save.

A bead's status is `auto` (as the aligner made it), `edited` (an edit made it:
it has no aligner score) or `confirmed` (a reviewer said it is right).

Splitting (one bead into two, the first sentences going first):
  pair  the first sentence of each side | the rest    ([a, b]:[x, y] -> [a]:[x] + [b]:[y])
  zh    the first Chinese sentence alone | the rest   ([a]:[x] -> [a]:[] + []:[x])
  en    the first English sentence alone | the rest   ([a]:[x] -> []:[x] + [a]:[])
Moving: a bead's first sentence of a side goes to the end of the bead before,
its last sentence to the start of the bead after; a bead left empty goes.

Files beside the output OUT.tsv: OUT.index (the index format, a gold file for
`zhalign eval`) when saved, and the journal OUT.review.json, written after
every edit, from which a review resumes (beads, statuses, cursor, sources).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from align.errors import InputError, UsageError
from align.writing import COLUMNS, as_ids, as_roles, write_atomically, write_output

if TYPE_CHECKING:
    import pandas as pd

    from align.pipeline import PairResult

STATUSES = ("auto", "edited", "confirmed")
SPLIT_MODES = ("pair", "zh", "en")
SIDES = ("zh", "en")
EDGES = ("first", "last")
JOURNAL_FORMAT = "zhalign-review"
JOURNAL_VERSION = 1
# A bead scoring under this needs a look before any other (a translation scores 0.9 and up).
LOW_SCORE = 0.5
# Undo steps kept: each is a tuple of bead references (16 KB for 2,000 beads).
UNDO_LIMIT = 1000


class ReviewError(UsageError):
    """An operation that cannot be done (merge the last bead, split a 1-1 bead into
    pairs, ...), or beads that break the invariant; one line for the reviewer."""


@dataclass(frozen=True)
class ReviewBead:
    zh: tuple[int, ...]
    en: tuple[int, ...]
    score: float | None = None  # the aligner's; None for a bead an edit made
    confirmed: bool = False

    @property
    def type(self) -> str:
        return f"{len(self.zh)}-{len(self.en)}"

    @property
    def status(self) -> str:
        if self.confirmed:
            return "confirmed"
        return "edited" if self.score is None else "auto"


@dataclass(frozen=True)
class ReviewDocument:
    """The sentences of both sides, and what the aligner said of the pair."""

    zh: tuple[str, ...]
    en: tuple[str, ...]
    zh_roles: tuple[str, ...]
    en_roles: tuple[str, ...]
    parallel: str = "unjudged"  # the aligner's verdict as written (align.writing.verdict)
    signature: str = ""         # what made the alignment (align.signature)


def _edited(zh: Sequence[int], en: Sequence[int]) -> ReviewBead:
    return ReviewBead(tuple(zh), tuple(en), None, False)


@dataclass(frozen=True)
class ReviewState:
    """The document and its beads; every operation returns a new state."""

    document: ReviewDocument
    beads: tuple[ReviewBead, ...]

    def __post_init__(self):
        check_beads(self.beads, len(self.document.zh), len(self.document.en))

    def _bead(self, k: int) -> ReviewBead:
        if not 0 <= k < len(self.beads):
            raise ReviewError(f"no bead {k} (there are {len(self.beads)})")
        return self.beads[k]

    def _with(self, start: int, stop: int, new: Sequence[ReviewBead]) -> ReviewState:
        """Beads start..stop-1 replaced by new (the empty ones dropped)."""
        kept = tuple(bead for bead in new if bead.zh or bead.en)
        return ReviewState(self.document, self.beads[:start] + kept + self.beads[stop:])

    def merge(self, k: int) -> ReviewState:
        """Bead k and the bead after it become one bead."""
        first = self._bead(k)
        if k + 1 >= len(self.beads):
            raise ReviewError("the last bead has no bead after it to merge with")
        second = self.beads[k + 1]
        return self._with(k, k + 2, [_edited(first.zh + second.zh, first.en + second.en)])

    def split(self, k: int, mode: str = "pair") -> ReviewState:
        """Bead k as two beads, the first holding (see the module's table) the first
        sentence of each side (pair), the first Chinese (zh) or English (en) one."""
        bead = self._bead(k)
        if mode == "pair":
            head, tail = (bead.zh[:1], bead.en[:1]), (bead.zh[1:], bead.en[1:])
        elif mode == "zh":
            head, tail = (bead.zh[:1], ()), (bead.zh[1:], bead.en)
        elif mode == "en":
            head, tail = ((), bead.en[:1]), (bead.zh, bead.en[1:])
        else:
            raise ReviewError(f"unknown split {mode!r}; choose from {', '.join(SPLIT_MODES)}")
        if not any(head) or not any(tail):
            what = {"pair": "a sentence pair and a rest", "zh": "its first Chinese sentence and a rest",
                    "en": "its first English sentence and a rest"}[mode]
            raise ReviewError(f"a {bead.type} bead cannot be split into {what}")
        return self._with(k, k + 1, [_edited(*head), _edited(*tail)])

    def move(self, k: int, side: str, edge: str) -> ReviewState:
        """Bead k's first sentence of `side` to the end of bead k-1 (edge first), or
        its last one to the start of bead k+1 (edge last)."""
        bead = self._bead(k)
        if side not in SIDES or edge not in EDGES:
            raise ReviewError(f"move takes a side ({', '.join(SIDES)}) and an edge ({', '.join(EDGES)})")
        ids = getattr(bead, side)
        if not ids:
            raise ReviewError(f"bead {k} has no {'Chinese' if side == 'zh' else 'English'} sentence to move")
        if edge == "first":
            if k == 0:
                raise ReviewError("the first bead has no bead before it")
            other = self.beads[k - 1]
            moved = {side: getattr(other, side) + ids[:1]}
            rest = {side: ids[1:]}
            return self._with(k - 1, k + 1, [_edited(**({"zh": other.zh, "en": other.en} | moved)),
                                             _edited(**({"zh": bead.zh, "en": bead.en} | rest))])
        if k + 1 >= len(self.beads):
            raise ReviewError("the last bead has no bead after it")
        other = self.beads[k + 1]
        moved = {side: ids[-1:] + getattr(other, side)}
        rest = {side: ids[:-1]}
        return self._with(k, k + 2, [_edited(**({"zh": bead.zh, "en": bead.en} | rest)),
                                     _edited(**({"zh": other.zh, "en": other.en} | moved))])

    def confirm(self, k: int) -> ReviewState:
        """Confirm bead k, or take a confirmation back (the bead is auto or edited again)."""
        bead = self._bead(k)
        return self._with(k, k + 1, [replace(bead, confirmed=not bead.confirmed)])

    def confirm_through(self, k: int) -> ReviewState:
        """Confirm every bead from the first to bead k."""
        self._bead(k)
        return self._with(0, k + 1, [bead if bead.confirmed else replace(bead, confirmed=True)
                                     for bead in self.beads[:k + 1]])

    def realigned(self, beads: Sequence[tuple[Sequence[int], Sequence[int], float]]) -> ReviewState:
        """The aligner's new beads (zh ids, en ids, score) for everything not confirmed.
        Every confirmed bead must be among them, unchanged; it stays confirmed."""
        confirmed = {(bead.zh, bead.en) for bead in self.beads if bead.confirmed}
        new = []
        for zh, en, score in beads:
            key = (tuple(zh), tuple(en))
            new.append(ReviewBead(key[0], key[1], float(score), key in confirmed))
        missing = confirmed - {(bead.zh, bead.en) for bead in new}
        if missing:
            zh, en = sorted(missing)[0]
            raise ReviewError(f"the aligner did not keep the confirmed bead {list(zh)}:{list(en)}")
        return ReviewState(self.document, tuple(new))

    def needs_look(self, cursor: int, walking: bool = False) -> int | None:
        """The bead that needs a look most: unconfirmed beads scoring under LOW_SCORE
        (lowest first), then the unconfirmed beads that are not 1-1, then the other
        unconfirmed ones (in document order). walking (n pressed again): the one after
        bead `cursor` in that order, round again at the end. None when all are confirmed."""
        def tier(k: int) -> tuple:
            bead = self.beads[k]
            if bead.score is not None and bead.score < LOW_SCORE:
                return (0, bead.score, k)
            return (1, 0.0, k) if bead.type != "1-1" else (2, 0.0, k)

        order = sorted((k for k, bead in enumerate(self.beads) if not bead.confirmed), key=tier)
        if not order:
            return None
        if cursor in order and (walking or order[0] == cursor):
            return order[(order.index(cursor) + 1) % len(order)]
        return order[0]


def check_beads(beads: Sequence[ReviewBead], zh_count: int, en_count: int) -> None:
    """Raise ReviewError unless every sentence is in exactly one bead, in order, and no bead is empty."""
    for side, count in (("zh", zh_count), ("en", en_count)):
        expected = 0
        for k, bead in enumerate(beads):
            for i in getattr(bead, side):
                if i != expected:
                    raise ReviewError(f"bead {k} holds {side} sentence {i} where sentence {expected} belongs: "
                                      "every sentence must be in exactly one bead, in order")
                expected += 1
        if expected != count:
            raise ReviewError(f"the beads hold {expected} {side} sentences of {count}")
    for k, bead in enumerate(beads):
        if not bead.zh and not bead.en:
            raise ReviewError(f"bead {k} is empty")


def changed_span(old: Sequence[ReviewBead], new: Sequence[ReviewBead]) -> tuple[int, int, int]:
    """(start, removed, added): new is old with old[start:start+removed] replaced by
    new[start:start+added]. Beads are shared between states, so identity compares."""
    start, limit = 0, min(len(old), len(new))
    while start < limit and old[start] is new[start]:
        start += 1
    end = 0
    while end < limit - start and old[len(old) - 1 - end] is new[len(new) - 1 - end]:
        end += 1
    return start, len(old) - start - end, len(new) - start - end


@dataclass
class Review:
    """A review in progress: the state, the undo and redo stacks and the cursor."""

    state: ReviewState
    cursor: int = 0
    undo_stack: list[ReviewState] = field(default_factory=list)
    redo_stack: list[ReviewState] = field(default_factory=list)
    edits: int = 0  # edits since the review was opened or last saved

    def apply(self, new: ReviewState) -> tuple[int, int, int]:
        """Make `new` the state (undoable); returns changed_span(old, new)."""
        old = self.state
        self.undo_stack.append(old)
        del self.undo_stack[:-UNDO_LIMIT]
        self.redo_stack.clear()
        return self._go(old, new)

    def undo(self) -> tuple[int, int, int]:
        if not self.undo_stack:
            raise ReviewError("nothing to undo")
        self.redo_stack.append(self.state)
        return self._go(self.state, self.undo_stack.pop())

    def redo(self) -> tuple[int, int, int]:
        if not self.redo_stack:
            raise ReviewError("nothing to redo")
        self.undo_stack.append(self.state)
        return self._go(self.state, self.redo_stack.pop())

    def _go(self, old: ReviewState, new: ReviewState) -> tuple[int, int, int]:
        self.state = new
        self.edits += 1
        self.cursor = min(self.cursor, len(new.beads) - 1)
        return changed_span(old.beads, new.beads)


# --- making a state: from an alignment, or from a TSV `zhalign align` wrote ------------------

def state_from_result(result: PairResult) -> ReviewState:
    """The aligner's beads of a PairResult, all auto."""
    document = ReviewDocument(tuple(s.text for s in result.zh), tuple(s.text for s in result.en),
                              tuple(s.role for s in result.zh), tuple(s.role for s in result.en),
                              str(result.frame["parallel"].iloc[0]) if len(result.frame) else "unjudged",
                              result.signature)
    beads = tuple(ReviewBead(tuple(b.zh), tuple(b.en), float(b.score)) for b in result.alignment.beads)
    return ReviewState(document, beads)


def state_from_frame(frame: pd.DataFrame, source: str,
                     zh_sentences: Sequence[tuple[str, str]] | None = None,
                     en_sentences: Sequence[tuple[str, str]] | None = None) -> ReviewState:
    """The beads of an aligned table (align.writing.read_tsv; a `status` column, as a
    review saves, gives the statuses). The sentences are the documents' (text, role)
    when given, checked against the rows; otherwise they are read from the rows, a
    side of several sentences split again as the aligner split it. InputError naming
    `source` when the rows do not hold an alignment or do not match the documents."""
    from align.segmenting import split_paragraph

    missing = [column for column in ("zh", "en", "score", "zh_ids", "en_ids") if column not in frame.columns]
    if missing:
        raise InputError(f"{source}: not an aligned TSV (no column {', '.join(missing)})")
    statuses = list(frame["status"]) if "status" in frame.columns else ["auto"] * len(frame)
    given = {"zh": zh_sentences, "en": en_sentences}
    texts: dict[str, dict[int, str]] = {"zh": {}, "en": {}}
    roles: dict[str, dict[int, str]] = {"zh": {}, "en": {}}
    beads = []
    for row, (record, status) in enumerate(zip(frame.to_dict("records"), statuses), start=2):
        where = f"{source}: row {row}"
        if status not in STATUSES:
            raise InputError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
        ids = {side: as_ids(record[f"{side}_ids"]) for side in SIDES}
        for side in SIDES:
            side_roles = as_roles(record.get(f"{side}_roles", ""))
            joiner = "" if side == "zh" else " "
            text = str(record[side])
            if given[side] is not None:
                if ids[side] and max(ids[side]) >= len(given[side]):
                    raise InputError(f"{where}: {side} sentence {max(ids[side])} is not in the {side} document "
                                     f"({len(given[side])} sentences): another document, or other reading options?")
                pieces = [given[side][i][0] for i in ids[side]]
                if joiner.join(pieces) != text:
                    raise InputError(f"{where}: the {side} text is not that of sentences {ids[side]} of the "
                                     f"{side} document: another document, or other reading options?")
                side_roles = [given[side][i][1] for i in ids[side]]
            elif len(ids[side]) <= 1:
                pieces = [text] if ids[side] else []
            else:
                pieces = split_paragraph(text, side)
                if len(pieces) != len(ids[side]) or joiner.join(pieces) != text:
                    raise InputError(f"{where}: cannot tell the {len(ids[side])} {side} sentences of this bead "
                                     "apart from its text; give the ZH and EN documents too")
            if len(side_roles) != len(pieces):
                side_roles = ["body"] * len(pieces)
            for i, piece, role in zip(ids[side], pieces, side_roles):
                texts[side][i], roles[side][i] = piece, role
        try:
            score = float(record["score"])
        except (TypeError, ValueError):
            raise InputError(f"{where}: score {record['score']!r} is not a number") from None
        if not math.isfinite(score):
            raise InputError(f"{where}: score {record['score']!r} is not a number")
        beads.append(ReviewBead(tuple(ids["zh"]), tuple(ids["en"]), None if status == "edited" else score,
                                status == "confirmed"))
    sides = {}
    for side in SIDES:
        if given[side] is not None:
            sides[side] = (tuple(t for t, _ in given[side]), tuple(r for _, r in given[side]))
        else:
            count = len(texts[side])
            if sorted(texts[side]) != list(range(count)):
                raise InputError(f"{source}: the {side} sentence numbers are not 0 to {count - 1}, each once")
            sides[side] = (tuple(texts[side][i] for i in range(count)), tuple(roles[side][i] for i in range(count)))
    first = frame.iloc[0] if len(frame) else None
    document = ReviewDocument(sides["zh"][0], sides["en"][0], sides["zh"][1], sides["en"][1],
                              str(first["parallel"]) if first is not None and "parallel" in frame.columns else "unjudged",
                              str(first["signature"]) if first is not None and "signature" in frame.columns else "")
    try:
        return ReviewState(document, tuple(beads))
    except ReviewError as error:
        raise InputError(f"{source}: {error}") from None


# --- saving ------------------------------------------------------------------------------------

REVIEWED_COLUMNS = COLUMNS + ["status"]
# The score written for a bead an edit made (it has no aligner score): the reviewer's judgement.
EDITED_SCORE = 1.0


@dataclass(frozen=True)
class ReviewPaths:
    """What a review of OUT.tsv writes: the TSV, the index format beside it, the journal."""

    tsv: Path
    index: Path
    journal: Path

    @classmethod
    def of(cls, output: str | Path) -> ReviewPaths:
        output = Path(output)
        stem = output.with_suffix("") if output.suffix.lower() == ".tsv" else output
        return cls(output, stem.with_name(stem.name + ".index"), stem.with_name(stem.name + ".review.json"))

    def written(self) -> list[Path]:
        """Every file a save and the journal write (the index's signature beside it too)."""
        return [self.tsv, self.index, Path(f"{self.index}.signature"), self.journal]


def reviewed_signature(signature: str) -> str:
    """The aligner's signature with the review named after it."""
    base = signature.split("|reviewed:")[0]
    return f"{base}|reviewed:yes" if base else "reviewed:yes"


def reviewed_frame(state: ReviewState) -> pd.DataFrame:
    """The table `zhalign align` writes, plus `status`. `score` is the aligner's
    score, or EDITED_SCORE for a bead an edit made (its status says so)."""
    import pandas as pd

    document = state.document
    check_beads(state.beads, len(document.zh), len(document.en))
    made_by = reviewed_signature(document.signature)
    rows = [{
        "zh": "".join(document.zh[i] for i in bead.zh),
        "en": " ".join(document.en[j] for j in bead.en),
        "score": round(EDITED_SCORE if bead.score is None else bead.score, 4),
        "type": bead.type,
        "zh_ids": list(bead.zh),
        "en_ids": list(bead.en),
        "zh_roles": [document.zh_roles[i] for i in bead.zh],
        "en_roles": [document.en_roles[j] for j in bead.en],
        "parallel": document.parallel,
        "signature": made_by,
        "status": bead.status,
    } for bead in state.beads]
    return pd.DataFrame(rows, columns=REVIEWED_COLUMNS)


def save_review(state: ReviewState, paths: ReviewPaths) -> list[Path]:
    """Write the TSV (with `status`) and the index format (and its signature), each
    whole or not at all, after checking the invariant; returns the paths written."""
    frame = reviewed_frame(state)
    write_output(frame, paths.index, "index")
    write_output(frame, paths.tsv, "tsv")
    return [paths.tsv, paths.index]


# --- the journal: every edit, kept beside the output until the next save and after ------------

@dataclass(frozen=True)
class ReviewSources:
    """Where the sentences came from, so that a resumed review can align again: the
    input TSV and/or the documents (absolute paths) and the aligner's settings
    (reading and aligning options, by their command-line names)."""

    tsv: str | None = None
    zh: str | None = None
    en: str | None = None
    settings: dict = field(default_factory=dict)


class Journal:
    """The journal file of a review: sources, sentences, beads, cursor, written whole
    after every edit (the sentences' JSON made once)."""

    def __init__(self, path: str | Path, sources: ReviewSources):
        self.path = Path(path)
        self.sources = sources
        self._document_json: tuple[ReviewDocument, str] | None = None

    def write(self, review: Review) -> None:
        document = review.state.document
        if self._document_json is None or self._document_json[0] is not document:
            self._document_json = (document, json.dumps(asdict(document), ensure_ascii=False))
        head = {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "sources": asdict(self.sources),
                "cursor": review.cursor, "unsaved_edits": review.edits}
        beads = [[list(b.zh), list(b.en), b.score, b.confirmed] for b in review.state.beads]
        text = (json.dumps(head, ensure_ascii=False)[:-1] + ', "document": ' + self._document_json[1]
                + ', "beads": ' + json.dumps(beads, separators=(",", ":")) + "}\n")
        write_atomically(self.path, text)

    @staticmethod
    def read(path: str | Path) -> tuple[Review, ReviewSources]:
        """The review a journal holds (with its edits not saved yet) and its sources; InputError naming it."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != JOURNAL_FORMAT:
                raise ValueError("not a review journal")
            if data.get("version") != JOURNAL_VERSION:
                raise ValueError(f"journal version {data.get('version')}, this zhalign reads {JOURNAL_VERSION}")
            doc = data["document"]
            document = ReviewDocument(tuple(doc["zh"]), tuple(doc["en"]), tuple(doc["zh_roles"]),
                                      tuple(doc["en_roles"]), doc.get("parallel", "unjudged"), doc.get("signature", ""))
            beads = tuple(ReviewBead(tuple(zh), tuple(en), None if score is None else float(score), bool(confirmed))
                          for zh, en, score, confirmed in data["beads"])
            state = ReviewState(document, beads)
            sources = ReviewSources(**data["sources"])
            cursor = min(max(int(data.get("cursor", 0)), 0), len(beads) - 1)
            unsaved = int(data.get("unsaved_edits", 0))
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}: not a review journal zhalign can resume ({error})") from None
        return Review(state, cursor, edits=unsaved), sources


def resume_cursor(state: ReviewState) -> int:
    """Where a review read from a saved TSV goes on: the first bead not confirmed."""
    return next((k for k, bead in enumerate(state.beads) if not bead.confirmed), max(len(state.beads) - 1, 0))


__all__ = [
    "EDITED_SCORE", "Journal", "LOW_SCORE", "REVIEWED_COLUMNS", "Review", "ReviewBead", "ReviewDocument",
    "ReviewError", "ReviewPaths", "ReviewSources", "ReviewState", "SPLIT_MODES", "STATUSES", "changed_span",
    "check_beads", "resume_cursor", "reviewed_frame", "reviewed_signature", "save_review", "state_from_frame",
    "state_from_result",
]
