"""Writing beads: the bitext table, its TSV and the index format.

TSV quoting rule: fields are written with csv.QUOTE_MINIMAL, so a text that
holds a tab, a double quote or a newline is put in double quotes with inner
quotes doubled; everything else is written as is. Reading the file back with
pandas.read_csv(path, sep="\\t", keep_default_na=False) gives exactly the texts.
Files are written whole or not at all: to a temporary file, then renamed.
"""
from __future__ import annotations

import contextlib
import csv
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from align.aligning import Bead
from align.segmenting import Sentence

COLUMNS = ["zh", "en", "score", "type", "zh_ids", "en_ids"]
OUTPUT_FORMATS = ("tsv", "index")


def format_ids(ids: Sequence[int]) -> str:
    """Sentence numbers as in the index format: [0, 1]."""
    return "[" + ", ".join(str(i) for i in ids) + "]"


def parse_ids(text: str) -> list[int]:
    inner = str(text).strip().strip("[]").strip()
    return [int(part) for part in inner.replace(",", " ").split()] if inner else []


def beads_to_frame(beads: Sequence[Bead], zh: Sequence[Sentence], en: Sequence[Sentence]) -> pd.DataFrame:
    """One row a bead, in document order. Chinese sentences are joined with
    nothing between them, English ones with a space."""
    rows = [
        {
            "zh": "".join(zh[i].text for i in bead.zh),
            "en": " ".join(en[j].text for j in bead.en),
            "score": round(bead.score, 4),
            "type": bead.type,
            "zh_ids": format_ids(bead.zh),
            "en_ids": format_ids(bead.en),
        }
        for bead in beads
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def frame_to_tsv(frame: pd.DataFrame) -> str:
    return frame.to_csv(sep="\t", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def frame_to_index(frame: pd.DataFrame) -> str:
    """The index format: `[0, 1]:[0]`, one bead a line, 0-based."""
    return "".join(f"{zh_ids}:{en_ids}\n" for zh_ids, en_ids in zip(frame["zh_ids"], frame["en_ids"]))


def read_tsv(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", keep_default_na=False, dtype={"zh": str, "en": str, "zh_ids": str, "en_ids": str})


def write_output(frame: pd.DataFrame, path: str | Path | None, output_format: str = "tsv") -> None:
    """Write the table as TSV or index to a path, or to stdout for None or '-'."""
    text = frame_to_tsv(frame) if output_format == "tsv" else frame_to_index(frame)
    if path in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(path, text)


def write_atomically(path: str | Path, text: str) -> None:
    """Write text to path so that the path holds the old file or the whole
    new one, never a part, even on Ctrl-C or a full disk."""
    try:
        with atomic_path(path) as temporary:
            temporary.write_text(text, encoding="utf-8")
    except OSError as error:  # one line naming the file, for the CLI
        failure = OSError(f"cannot write {path}: {error.strerror or error}")
        failure.errno = error.errno
        raise failure from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the output gets the usual mode
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
