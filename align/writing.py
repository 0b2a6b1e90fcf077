"""Writing beads: the bitext table and its formats (TSV, index, Vecalign, JSON Lines).

In the table (`beads_to_frame`, the API's DataFrame) the sentence numbers
`zh_ids`, `en_ids` and the sentence roles `zh_roles`, `en_roles` are lists;
they become text only when written: ids as `[0, 1]`, roles comma-joined
(`body,credit`). `read_tsv` turns them back into lists.

TSV quoting rule: a field holding a tab, a double quote, a line feed or a
carriage return is put in double quotes with inner quotes doubled; every other
field is written as is. Reading the file back with
pandas.read_csv(path, sep="\\t", keep_default_na=False) gives exactly the texts.
Files are written whole or not at all: to a temporary file, then renamed; a
file that cannot be written raises OutputError naming it.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from align.errors import InputError, OutputError, UsageError
from align.interrupting import raise_if_interrupted

if TYPE_CHECKING:
    import pandas as pd

    from align.aligning import Bead
    from align.segmenting import Sentence

COLUMNS = ["zh", "en", "score", "type", "zh_ids", "en_ids", "zh_roles", "en_roles", "parallel", "signature"]
ID_COLUMNS = ("zh_ids", "en_ids")
ROLE_COLUMNS = ("zh_roles", "en_roles")
OUTPUT_FORMATS = ("tsv", "index", "vecalign", "jsonl")
# Formats with no room for the signature (other tools read every line as a bead): it goes beside them, in PATH.signature.
UNSIGNED_FORMATS = ("index", "vecalign")
# The document's parallel verdict (align.checking.ParallelReport.parallel) as written.
VERDICTS = {True: "yes", False: "no", None: "unjudged"}


def verdict(parallel: bool | None) -> str:
    """'yes', 'no' or 'unjudged' (too short to judge)."""
    return VERDICTS[parallel]


def format_ids(ids: Sequence[int]) -> str:
    """Sentence numbers as in the index format: [0, 1]."""
    return "[" + ", ".join(str(i) for i in ids) + "]"


def parse_ids(text: str) -> list[int]:
    """'[0, 1]' (or '0 1') -> [0, 1]; raises ValueError on anything else."""
    inner = str(text).strip().strip("[]").strip()
    return [int(part) for part in inner.replace(",", " ").split()] if inner else []


def as_ids(value: object) -> list[int]:
    """Sentence numbers from a list (the table) or from their text (an older table, a TSV)."""
    if isinstance(value, str):
        return parse_ids(value)
    if value is None or (isinstance(value, float) and value != value):  # NaN: a table without ids
        return []
    return [int(i) for i in value]


def as_roles(value: object) -> list[str]:
    """Sentence roles from a list (the table) or from their comma-joined text (a TSV)."""
    if isinstance(value, str):
        return [role.strip() for role in value.split(",") if role.strip()]
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [str(role) for role in value]


def beads_to_frame(
    beads: Sequence[Bead],
    zh: Sequence[Sentence],
    en: Sequence[Sentence],
    parallel: bool | None = None,
    signature: str = "",
) -> pd.DataFrame:
    """One row a bead, in document order. Chinese sentences are joined with
    nothing between them, English ones with a space. `parallel` is the
    document's verdict, `signature` what made the alignment (align.signature);
    both are the same on every row, so that each row says where it came from."""
    import pandas as pd

    rows = [
        {
            "zh": "".join(zh[i].text for i in bead.zh),
            "en": " ".join(en[j].text for j in bead.en),
            "score": round(bead.score, 4),
            "type": bead.type,
            "zh_ids": list(bead.zh),
            "en_ids": list(bead.en),
            "zh_roles": [zh[i].role for i in bead.zh],
            "en_roles": [en[j].role for j in bead.en],
            "parallel": verdict(parallel),
            "signature": signature,
        }
        for bead in beads
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def written_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its list columns as the text they are written as."""
    table = frame.copy()
    for column in ID_COLUMNS:
        if column in table.columns:
            table[column] = [format_ids(as_ids(value)) for value in table[column]]
    for column in ROLE_COLUMNS:
        if column in table.columns:
            table[column] = [",".join(as_roles(value)) for value in table[column]]
    return table


_NEEDS_QUOTES = re.compile(r'[\t\n\r"]')


def _tsv_field(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value)
    # csv.QUOTE_MINIMAL would leave a bare CR unquoted, and readers take it for a line end.
    return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text


def frame_to_tsv(frame: pd.DataFrame) -> str:
    """The table as TSV with a header row (see the module's quoting rule)."""
    table = written_frame(frame)
    lines = ["\t".join(_tsv_field(name) for name in table.columns)]
    lines += ["\t".join(_tsv_field(value) for value in row) for row in table.itertuples(index=False, name=None)]
    return "\n".join(lines) + "\n"


def frame_to_index(frame: pd.DataFrame) -> str:
    """The index format: `[0, 1]:[0]`, one bead a line, 0-based."""
    return "".join(f"{format_ids(as_ids(z))}:{format_ids(as_ids(e))}\n" for z, e in zip(frame["zh_ids"], frame["en_ids"]))


def frame_to_vecalign(frame: pd.DataFrame) -> str:
    """Vecalign's output format: `[0, 1]:[0]:0.0123`, the third field a cost, 1 - score."""
    return "".join(f"{format_ids(as_ids(z))}:{format_ids(as_ids(e))}:{1 - float(score):.4f}\n"
                   for z, e, score in zip(frame["zh_ids"], frame["en_ids"], frame["score"]))


def frame_to_jsonl(frame: pd.DataFrame) -> str:
    """One bead a line as a JSON object: texts, score, type, ids and roles as lists, verdict, signature."""
    lines = []
    for record in frame.to_dict("records"):
        for column in ID_COLUMNS:
            if column in record:
                record[column] = as_ids(record[column])
        for column in ROLE_COLUMNS:
            if column in record:
                record[column] = as_roles(record[column])
        if "score" in record:
            record["score"] = float(record["score"])
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


_WRITERS = {"tsv": frame_to_tsv, "index": frame_to_index, "vecalign": frame_to_vecalign, "jsonl": frame_to_jsonl}


def read_tsv(path: str | Path) -> pd.DataFrame:
    """A TSV written by `zhalign align` (or `batch`, or `export`'s full TSV) as a table:
    texts exactly as written, ids and roles as lists again."""
    import pandas as pd

    text_columns = {"zh": str, "en": str, "type": str, "parallel": str, "signature": str,
                    **dict.fromkeys(ID_COLUMNS + ROLE_COLUMNS, str)}
    frame = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=text_columns)
    for column in ID_COLUMNS:
        if column in frame.columns:
            frame[column] = [parse_ids(value) for value in frame[column]]
    for column in ROLE_COLUMNS:
        if column in frame.columns:
            frame[column] = [as_roles(value) for value in frame[column]]
    return frame


def write_output(frame: pd.DataFrame, path: str | Path | None, output_format: str = "tsv") -> None:
    """Write the table in one of OUTPUT_FORMATS to a path, or to stdout for None or '-'."""
    if output_format not in _WRITERS:
        raise UsageError(f"unknown output format {output_format!r}; choose from {', '.join(OUTPUT_FORMATS)}")
    text = _WRITERS[output_format](frame)
    if path in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    beads_path, *sidecar = output_paths(path, output_format)
    if sidecar:
        # Never an earlier run's signature beside this output, even when this one has none to write.
        # The new one follows the beads: a crash between the two leaves no signature, never a wrong one.
        sidecar[0].unlink(missing_ok=True)
    write_atomically(beads_path, text)
    if sidecar and "signature" in frame.columns and len(frame):
        write_atomically(sidecar[0], f"{frame['signature'].iloc[0]}\n")


def signature_path(path: str | Path) -> Path:
    """Where an index or Vecalign output's signature is written: PATH.signature."""
    return Path(f"{path}.signature")


def output_paths(path: str | Path | None, output_format: str) -> list[str | Path | None]:
    """The files write_output(frame, path, output_format) writes (none for stdout)."""
    if path in (None, "-"):
        return []
    # No FILE.signature beside /dev/null or /dev/stdout.
    return [path, signature_path(path)] if output_format in UNSIGNED_FORMATS and not writes_through(path) else [path]


def write_atomically(path: str | Path, text: str | bytes) -> None:
    """Write text (UTF-8) or bytes to path so that the path holds the old file or
    the whole new one, never a part, even on Ctrl-C or a full disk."""
    with atomic_path(path) as temporary:
        if isinstance(text, bytes):
            temporary.write_bytes(text)
        else:
            temporary.write_text(text, encoding="utf-8", newline="\n")


def _temporary_beside(path: Path) -> Path:
    # The name must stay a legal one when path's own name is near the 255-byte limit.
    stem = path.name.encode("utf-8")[:120].decode("utf-8", errors="ignore")
    return path.with_name(f".{stem}.{uuid.uuid4().hex[:8]}.part")


# A process's open files (/dev/stdout -> /proc/self/fd/1): written to, never replaced.
_DESCRIPTOR_LINKS = ("/proc/", "/dev/fd/")


def output_target(path: str | Path) -> tuple[Path, bool]:
    """Where writing `path` goes, and whether it is written through rather than replaced.

    A regular file (or none yet) is replaced by renaming a temporary file over
    it; through a symlink, over the file the link leads to, so that the link
    stays. A device (/dev/null, a terminal), a FIFO, a socket, or a process's
    file descriptor (/dev/stdout) is opened and written to: renaming over it
    would put a regular file in its place."""
    current = Path(path)
    for _ in range(40):  # as many links as the kernel follows
        if str(current).startswith(_DESCRIPTOR_LINKS):
            return Path(path), True
        if not current.is_symlink():
            break
        target = Path(os.readlink(current))
        current = target if target.is_absolute() else current.parent / target
    try:
        mode = os.stat(current).st_mode
    except OSError:  # not there yet (or a link loop, which the write reports)
        return Path(os.path.realpath(current)), False
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):  # a folder: the rename fails and says so
        return Path(os.path.realpath(current)), False
    return Path(path), True


def writes_through(path: str | Path | None) -> bool:
    """Whether an output path is a device, FIFO or file descriptor (see output_target)."""
    return path not in (None, "-") and output_target(path)[1]


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write to; renamed over `path` only if the block
    succeeds, and removed in every other case (an error, Ctrl-C at any point).
    A symlink is followed (the file it leads to is replaced, the link stays); a
    device, FIFO or /dev/stdout gets the temporary file's bytes written to it
    (output_target). An OSError on the way becomes OutputError naming `path`."""
    with atomic_paths([path]) as (temporary,):
        yield temporary


def _new_temporary(target: Path, through: bool, made: list[Path]) -> None:
    """Make an empty temporary file for target and add it to `made`, named there
    before it exists, so that an interrupt at any point leaves nothing behind."""
    if through:  # the device's folder (/dev) may not be writable: the temporary file goes elsewhere
        handle, name = tempfile.mkstemp(prefix=".zhalign-", suffix=".part")
        made.append(Path(name))
        os.close(handle)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        made.append(_temporary_beside(target))
        try:  # created with the usual mode (0666 less the umask), unlike mkstemp's 0600
            os.close(os.open(made[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return
        except FileExistsError:
            made.pop()


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Temporary paths to write several outputs to, all put in place once the
    block succeeds, or none: when one rename fails, the files already renamed
    are put back as they were (atomic_path, for several files at once)."""
    paths = [Path(path) for path in paths]
    temporaries: list[Path] = []
    backups: list[Path] = []
    placed: list[tuple[Path, Path | None]] = []  # (target renamed over, its old file's backup)
    current = paths[0] if paths else Path()
    try:
        targets = []
        for current in paths:
            targets.append(output_target(current))
            _new_temporary(*targets[-1], temporaries)
        yield list(temporaries)
        raise_if_interrupted()  # a Ctrl-C a library swallowed: never replace an output after one
        regular = [(path, target, temporary) for path, (target, through), temporary in zip(paths, targets, temporaries)
                   if not through]
        for current, target, temporary in regular:
            with contextlib.suppress(OSError):  # the file replaced keeps its permissions
                os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
            backup = None
            if len(regular) > 1 and target.is_file():  # kept until every rename has worked
                backup = _temporary_beside(target)
                with contextlib.suppress(OSError):
                    os.link(target, backup)
                    backups.append(backup)
                backup = backup if backup in backups else None
            os.replace(temporary, target)
            placed.append((target, backup))
        for current, (target, through), temporary in zip(paths, targets, temporaries):
            if through:
                with open(temporary, "rb") as source, open(current, "ab") as sink:  # append: a shell's file stays
                    shutil.copyfileobj(source, sink)
    except OutputError:
        _put_back(placed)
        raise
    except OSError as error:  # one line naming the file asked for, for the CLI
        _put_back(placed)
        failure = OutputError(f"cannot write {current}: {error.strerror or error}")
        failure.errno = error.errno
        raise failure from None
    except BaseException:
        _put_back(placed)
        raise
    finally:
        # The names are chosen before the files exist: an interrupt anywhere leaves nothing behind.
        for leftover in temporaries + backups:
            with contextlib.suppress(OSError):
                leftover.unlink()


def _put_back(placed: list[tuple[Path, Path | None]]) -> None:
    """Undo the renames of a failed atomic_paths: old files back, new ones gone."""
    for target, backup in reversed(placed):
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink()


def _identity(path: str | Path | None) -> tuple[int, int] | None:
    """(device, inode) of an existing file, what os.path.samefile compares; None otherwise."""
    if path in (None, "-"):
        return None
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one existing file (os.path.samefile; False when either is missing)."""
    identity = _identity(a)
    return identity is not None and identity == _identity(b)


def refuse_overwriting_inputs(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]) -> None:
    """Raise InputError when an output path is one of the input files (documents,
    manifests, lists, aligned TSVs): the same file as os.path.samefile decides
    (also through a symlink, a hard link or another spelling). An output that
    does not exist yet cannot be an input. Call it before any work."""
    by_identity: dict[tuple[int, int], str] = {}
    for given in inputs:
        identity = _identity(given)
        if identity is not None:
            by_identity.setdefault(identity, str(given))
    for output in outputs:
        given = by_identity.get(_identity(output))  # type: ignore[arg-type]
        if given is not None:
            same = "" if str(output) == given else f" (the same file as {given})"
            raise InputError(f"output {output} is an input{same}: refusing to overwrite it; choose another output path")


def _nearest_existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            return folder
    return Path(".")


def refuse_unwritable_outputs(outputs: Iterable[str | Path | None], make_folders: bool = True) -> None:
    """Raise OutputError, naming the path, for an output file that cannot be
    written where asked: an existing folder, a path under a regular file
    (somefile.txt/out.tsv), a folder that does not exist and cannot be made
    (that does not exist, without make_folders), or is not writable. A device, FIFO or /dev/stdout
    passes (it is written through). Call it before any work, so that nothing
    is aligned for an output that would fail."""
    for output in outputs:
        if output in (None, "-"):
            continue
        target, through = output_target(output)
        if through:
            continue
        if target.is_dir():
            raise OutputError(f"cannot write {output}: it is a folder")
        folder = target.parent
        if not folder.is_dir():
            existing = _nearest_existing(folder)
            if existing.exists() and not existing.is_dir():
                raise OutputError(f"cannot write {output}: {existing} is a file, not a folder")
            if not make_folders:
                raise OutputError(f"cannot write {output}: folder {folder} does not exist")
            folder = existing
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write {output}: folder {folder} is not writable")


def refuse_unusable_folder(folder: str | Path, files: Iterable[str] = (), folders: Iterable[str] = ()) -> None:
    """Raise OutputError for an output folder that is a file or cannot be made
    (a path under a regular file, a folder not writable), or whose named
    `files` inside are folders or whose named `folders` inside are files."""
    folder = Path(folder)
    existing = _nearest_existing(folder)
    if existing.exists() and not existing.is_dir():
        raise OutputError(f"cannot write to {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK) and existing != folder:
        raise OutputError(f"cannot create {folder}: folder {existing} is not writable")
    if existing != folder:
        return  # made by the run: nothing in it yet
    refuse_unwritable_outputs(folder / name for name in files)
    for name in folders:
        inside = folder / name
        if inside.exists() and not inside.is_dir():
            raise OutputError(f"cannot write to {inside}: it is a file, not a folder")


def check_outputs(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None] = ()) -> None:
    """Before any work: no output is an input (InputError), and each can be written where asked (OutputError)."""
    outputs = list(outputs)
    refuse_overwriting_inputs(outputs, inputs)
    refuse_unwritable_outputs(outputs)


__all__ = [
    "check_outputs", "COLUMNS", "OUTPUT_FORMATS", "UNSIGNED_FORMATS", "as_ids", "as_roles", "atomic_path", "atomic_paths", "beads_to_frame", "format_ids",
    "frame_to_index", "frame_to_jsonl", "frame_to_tsv", "frame_to_vecalign", "output_paths", "parse_ids", "read_tsv",
    "output_target", "refuse_overwriting_inputs", "refuse_unusable_folder", "refuse_unwritable_outputs", "same_file",
    "signature_path", "verdict", "write_atomically", "write_output",
    "writes_through", "written_frame",
]
