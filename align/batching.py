"""Aligning many document pairs on Dask: `zhalign batch MANIFEST -o OUT_DIR`.

The manifest is a TSV with columns zh_path and en_path (what `zhalign pair`
writes; other columns such as score are kept in the summary). Each pair is one
task on a dask.distributed cluster: a local one with one single-threaded
process per core by default, or an existing one (`scheduler=ADDRESS`; its
workers must see the input paths and OUT_DIR). A worker loads the model once
and keeps it for every pair it runs; with a persistent embedding cache
(align.caching) a sentence is embedded once across runs and workers.

OUT_DIR holds:
    pairs/NAME.tsv     the bitext of one pair (as `zhalign align` writes it)
    pairs/NAME.json    its record (PairRecord: counts, score, verdict, seconds, status,
                       error, the SHA-256 of both inputs, the aligner's signature, and
                       the rows and SHA-256 of NAME.tsv), written after the TSV: a pair
                       is done when both exist and the TSV is the one its record names
    summary.tsv        one row a pair: pair, status, sentences, beads, mean score,
                       parallel verdict and its AUC, signature, seconds, error
    corpus.tsv         every bead of every finished pair, with a first column `pair`
    corpus.parquet     the same as Parquet

A pair's status is ok, not-parallel (aligned, but the documents do not look
parallel: its pairs/ TSV is kept and it stays out of corpus.* unless
keep_not_parallel; so also when an earlier run aligned it), skipped (aligned
ok by an earlier run), failed or pending.
Rerunning skips a pair only when both its inputs (by SHA-256) and the
aligner's signature (align.signature: version, model, weights, settings) are
those of its record, and its pairs/ TSV is the one the record was written
with (same SHA-256), so a run that was interrupted loses only the pairs in
flight, and a changed file or setting, or a damaged TSV, is aligned again. A pair that fails
(unreadable or empty file, ...) is recorded with its error and the others go
on; it is tried again on the next run.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import pandas as pd
from distributed import as_completed

from align.aligning import AlignParams
from align.cluster import check_scheduler_address, dask_client, model_loads, worker_encoder
from align.embedding import DEFAULT_MODEL
from align.errors import USER_ERRORS, InputError, OutputError
from align.interrupting import acknowledge
from align.writing import COLUMNS, atomic_path, frame_to_tsv, read_tsv, verdict, write_atomically, write_output

SUMMARY_COLUMNS = ["pair", "zh_path", "en_path", "status", "zh_sentences", "en_sentences", "beads", "mean_score",
                   "parallel", "auc", "seconds", "embedded", "error", "warnings", "worker", "signature"]
PAIR_DIR = "pairs"
DONE = ("ok", "not-parallel")            # statuses of a pair aligned in this run
MAX_NAME_BYTES = 200                     # a pair's file names stay under the usual 255-byte limit


@dataclass
class BatchSettings:
    """Everything that changes a pair's output (plus the cache, which does not)."""

    model: str = DEFAULT_MODEL
    input_format: tuple[str, str] = ("auto", "auto")
    encoding: str | None | tuple[str | None, str | None] = None
    split_semicolon: bool = False
    params: dict = field(default_factory=lambda: asdict(AlignParams()))
    align_options: dict = field(default_factory=dict)  # further keyword arguments of align_pair
    cache_dir: str | None = None  # None: no persistent cache
    device: str = "auto"          # where a sentence-transformers model runs (align.embedding.resolve_device)

    def signature(self) -> str:
        """The signature every pair aligned with these settings carries (align.signature);
        known before any model is loaded."""
        from align.pipeline import alignment_signature

        encoding = tuple(self.encoding) if isinstance(self.encoding, list) else self.encoding
        return alignment_signature(self.model, AlignParams(**self.params), self.split_semicolon,
                                   tuple(self.input_format), encoding)


def file_sha256(path: str | Path) -> str | None:
    """The SHA-256 of a file's bytes, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


# --- the manifest ----------------------------------------------------------------

def read_manifest(path: str | Path) -> pd.DataFrame:
    """The pairs of a manifest TSV, with absolute, resolved paths and a unique `pair` name each.

    Relative paths are taken relative to the manifest's folder; a path found
    only relative to the current folder (a manifest `zhalign pair` 0.5.0 wrote
    from another folder) is read from there, with a warning. Blank lines are
    skipped; a row with an empty zh_path or en_path, or more fields than the
    header, is an InputError naming the manifest and its line. Rows that name
    the same two files (by another spelling: a.txt, ../corpus/a.txt, an
    absolute path) are one pair, aligned once, with a warning."""
    from align.errors import AlignWarning

    path = Path(path)
    header, rows, lines = _manifest_rows(path)
    missing = [c for c in ("zh_path", "en_path") if c not in header]
    if missing:
        raise InputError(f"{path}: the manifest needs columns zh_path and en_path (missing {', '.join(missing)})")
    if not rows:
        raise InputError(f"{path}: the manifest lists no pairs")
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    base = path.resolve().parent
    from_here: list[int] = []
    for column in ("zh_path", "en_path"):
        resolved = [_resolve(text, base) for text in frame[column]]
        from_here += [line for line, (_, beside) in zip(lines, resolved) if not beside]
        frame[column] = [where for where, _ in resolved]
    if from_here:
        shown = ", ".join(str(line) for line in sorted(set(from_here))[:5])
        warnings.warn(f"{path}: {len(set(from_here))} row(s) (line {shown}) name a file that is not there relative "
                      "to the manifest's folder but is relative to the current folder: read from the current folder",
                      AlignWarning, stacklevel=2)
    repeated = frame.duplicated(["zh_path", "en_path"])
    if repeated.any():
        shown = ", ".join([str(line) for line, again in zip(lines, repeated) if again][:5])
        warnings.warn(f"{path}: {int(repeated.sum())} row(s) (line {shown}) list a pair already listed, "
                      "perhaps by another path to the same files: aligned once", AlignWarning, stacklevel=2)
    frame = frame[~repeated].reset_index(drop=True)  # one output a pair
    frame.insert(0, "pair", pair_names(frame["zh_path"], frame["en_path"]))
    return frame


def _manifest_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the rows (padded to the header's width) and each row's line number.
    Read with the csv module, not pandas: pandas takes the extra fields of a row as
    its index and drops line numbers."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t")
            header: list[str] | None = None
            rows, lines = [], []
            for fields_ in reader:
                line = reader.line_num
                if not any(f.strip() for f in fields_):
                    continue  # a blank line
                if header is None:
                    header = [f.strip() for f in fields_]
                    if len(set(header)) < len(header):
                        raise InputError(f"{path}: line {line}: the header repeats a column ({', '.join(header)})")
                    continue
                where = f"{path}: line {line}"
                if len(fields_) > len(header):
                    raise InputError(f"{where}: {len(fields_)} fields under a header of {len(header)} columns "
                                     f"({', '.join(header)})")
                row = dict(zip(header, fields_))
                for column in ("zh_path", "en_path"):
                    if column in header and not row.get(column, "").strip():
                        raise InputError(f"{where}: empty {column}")
                rows.append(fields_ + [""] * (len(header) - len(fields_)))
                lines.append(line)
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a folder, not a manifest TSV") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a manifest TSV (not UTF-8 text)") from None
    except csv.Error as error:
        raise InputError(f"{path}: not a manifest TSV ({error})") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the manifest ({error.strerror or error})") from None
    if header is None:
        raise InputError(f"{path}: not a manifest TSV (empty)")
    return header, rows, lines


def _resolve(text: str, base: Path) -> tuple[str, bool]:
    """The absolute path `text` names, and whether it was found from `base` (else from the current folder)."""
    path = Path(text.strip()).expanduser()
    if path.is_absolute():
        return str(path.resolve()), True
    beside = base / path
    if beside.exists() or not path.exists():
        return str(beside.resolve()), True
    return str(path.resolve()), False


def pair_names(zh_paths, en_paths) -> list[str]:
    """A stable file name for each pair: both stems (cut to MAX_NAME_BYTES in UTF-8)
    and a digest of both paths."""
    names = []
    for zh, en in zip(zh_paths, en_paths):
        digest = hashlib.sha1(f"{zh}\0{en}".encode()).hexdigest()[:8]
        stem = f"{_safe(Path(zh).stem)}--{_safe(Path(en).stem)}"
        stem = stem.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", errors="ignore")
        names.append(f"{stem}-{digest}")
    return names


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "doc"


# --- on a worker -------------------------------------------------------------------

@dataclass
class PairRecord:
    """What a batch knows of one pair: pairs/NAME.json on disk (as JSON, one key a
    field) and a row of summary.tsv (SUMMARY_COLUMNS)."""

    pair: str
    zh_path: str
    en_path: str
    status: str = "failed"
    zh_sentences: int = 0
    en_sentences: int = 0
    beads: int = 0
    mean_score: float = 0.0
    parallel: str = ""
    auc: float | str = ""
    seconds: float = 0.0
    embedded: int = 0
    error: str = ""
    warnings: str = ""
    worker: str = ""
    signature: str = ""
    zh_sha256: str | None = None
    en_sha256: str | None = None
    align_options: dict = field(default_factory=dict)
    rows: int | None = None         # beads in pairs/NAME.tsv (None: no TSV written)
    tsv_sha256: str | None = None   # of pairs/NAME.tsv as written
    device: str = ""
    model_loads: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PairRecord:
        """A record from its JSON; keys it does not know are ignored. ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("pair", "zh_path", "en_path")):
            raise ValueError("not a pair record")
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def summary_row(self) -> dict:
        return {column: getattr(self, column) for column in SUMMARY_COLUMNS}

    def made_from(self, zh_sha256: str | None, en_sha256: str | None, signature: str, align_options: dict) -> bool:
        """Whether this pair was aligned, in full, from these inputs with this aligner."""
        return (self.status in DONE and None not in (zh_sha256, en_sha256)
                and (self.zh_sha256, self.en_sha256, self.signature, self.align_options)
                == (zh_sha256, en_sha256, signature, align_options))

    def output_intact(self, output: Path) -> bool:
        """Whether `output` is the TSV this record was written after (its SHA-256; a record
        without one, from before 0.6, never is)."""
        return self.tsv_sha256 is not None and file_sha256(output) == self.tsv_sha256


@dataclass
class PairTask:
    """One pair for a worker: its inputs, where its TSV and record go, the settings (as a dict)."""

    pair: str
    zh_path: str
    en_path: str
    output: str
    record: str
    settings: dict


def align_one(task: PairTask) -> PairRecord:
    """Align one pair, write its TSV and then its record; never raises: a bad
    pair, or an output that cannot be written, is a record with its error."""
    from align.pipeline import align_pair
    from align.profile import Profile

    settings = BatchSettings(**task.settings)
    clock = time.perf_counter()
    record = PairRecord(task.pair, task.zh_path, task.en_path, worker=f"{os.uname().nodename}:{os.getpid()}",
                        zh_sha256=file_sha256(task.zh_path), en_sha256=file_sha256(task.en_path),
                        align_options=settings.align_options)
    try:
        # An old record goes first: were this run stopped after the new TSV, the pair must not look done.
        Path(task.record).unlink(missing_ok=True)
        encoder = worker_encoder(settings.model, settings.cache_dir, settings.device)
        record.device = encoder.device
        embedded_before = encoder.texts_embedded
        with warnings.catch_warnings(record=True) as caught:  # into the summary, not the worker's stderr
            warnings.simplefilter("always")
            result = align_pair(
                Path(task.zh_path), Path(task.en_path), model=encoder, input_format=tuple(settings.input_format),
                encoding=settings.encoding, profile=Profile.for_model(encoder, params=AlignParams(**settings.params)),
                split_semicolon=settings.split_semicolon, progress=False, **settings.align_options,
            )
        record.warnings = "; ".join(dict.fromkeys(str(w.message).splitlines()[0] for w in caught if str(w.message)))
        write_output(result.frame, task.output, "tsv")
        summary = result.summary()
        record.status = "ok" if result.parallel.parallel is not False else "not-parallel"
        record.zh_sentences, record.en_sentences = summary.zh_sentences, summary.en_sentences
        record.beads, record.mean_score = summary.beads, round(summary.mean_score, 4)
        record.parallel = verdict(result.parallel.parallel)
        record.auc = "" if result.parallel.auc is None else result.parallel.auc
        record.embedded = encoder.texts_embedded - embedded_before
        record.signature = result.signature
        record.rows, record.tsv_sha256 = len(result.frame), file_sha256(task.output)
    except Exception as error:  # noqa: BLE001 - one bad pair must not stop the batch
        record.status = "failed"
        record.error = error_line(error)
    record.seconds = round(time.perf_counter() - clock, 3)
    record.model_loads = model_loads()
    try:
        write_atomically(task.record, record.to_json())
    except OSError as error:  # the pair is not done: it runs again next time
        record.status, record.error = "failed", record.error or error_line(error)
    return record


def error_line(error: BaseException) -> str:
    """One line for the summary: the message of the project's own errors (they name
    the file), the exception's name before any other (a bug, or the machine's)."""
    message = str(error).splitlines()[0] if str(error) else ""
    kind = "" if isinstance(error, USER_ERRORS) else f"{error.__class__.__name__}: "
    return (kind + message).strip() or error.__class__.__name__


# --- the batch ------------------------------------------------------------------------

def read_record(record_path: Path) -> PairRecord | None:
    """The record in pairs/NAME.json, or None when there is none or it cannot be read."""
    try:
        return PairRecord.from_json(record_path.read_text("utf-8"))
    except (OSError, ValueError, TypeError):
        return None


def pair_done(record_path: Path, output_path: Path, zh_sha256: str | None, en_sha256: str | None,
              signature: str, align_options: dict) -> PairRecord | None:
    """The record of a pair finished from these very inputs with this aligner, its
    TSV intact, or None."""
    record = read_record(record_path)
    if record is None or not record.made_from(zh_sha256, en_sha256, signature, align_options):
        return None
    return record if record.output_intact(output_path) else None


@dataclass
class BatchResult:
    summary: pd.DataFrame
    out_dir: Path
    seconds: float
    workers: int
    write_error: str = ""  # why summary.tsv or the corpus could not be written ("" when they were)

    def counts(self) -> dict[str, int]:
        return self.summary["status"].value_counts().to_dict()


def remove_empty(folders: list[Path]) -> None:
    """Remove each of `folders` (innermost first) that is still empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone: keep what is there
            return


def run_batch(
    manifest: str | Path | pd.DataFrame,
    out_dir: str | Path,
    settings: BatchSettings | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    threads: int = 1,
    redo: bool = False,
    progress: bool | None = False,
    client=None,
    keep_not_parallel: bool = False,
) -> BatchResult:
    """Align every pair of the manifest on Dask; see the module's doc.

    client: a distributed.Client to use as is (else one is made from
    `scheduler` or a LocalCluster of `workers` processes). progress: a bar on
    stderr as align.progress.show_progress says (None: on a terminal).
    keep_not_parallel: put the beads of pairs judged not parallel into corpus.* too.
    A pair that fails is in the summary with its error; when summary.tsv or
    the corpus cannot be written (a full disk), write_error says why."""
    from align.errors import AlignWarning
    from align.progress import progress_bar, show_progress

    clock = time.perf_counter()
    if scheduler and client is None:
        check_scheduler_address(scheduler)  # before any folder is made
    settings = settings or BatchSettings()
    pairs = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
    out_dir = Path(out_dir).resolve()
    pair_dir = out_dir / PAIR_DIR
    made = [folder for folder in (pair_dir, out_dir, *out_dir.parents) if not folder.exists()]  # innermost first
    try:
        pair_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {pair_dir}: {error.strerror or error}") from None
    made_by = settings.signature()
    records: dict[str, PairRecord] = {}
    tasks: list[PairTask] = []
    inputs: dict[str, tuple[str | None, str | None]] = {}
    damaged = []
    for row in pairs.itertuples(index=False):
        output, record_path = pair_dir / f"{row.pair}.tsv", pair_dir / f"{row.pair}.json"
        inputs[row.pair] = (file_sha256(row.zh_path), file_sha256(row.en_path))
        record = None if redo else read_record(record_path)
        if record is not None and record.made_from(*inputs[row.pair], made_by, settings.align_options):
            if record.output_intact(output):
                record.status = "skipped" if record.status == "ok" else record.status
                record.embedded = 0
                records[row.pair] = record
                continue
            damaged.append(output.name)
        tasks.append(PairTask(row.pair, row.zh_path, row.en_path, str(output), str(record_path), asdict(settings)))
    if damaged:
        warnings.warn(f"{len(damaged)} pair file(s) in {pair_dir} ({', '.join(damaged[:3])}"
                      f"{', ...' if len(damaged) > 3 else ''}) are not the ones their records were written with "
                      "(cut short, changed, or written before 0.6): aligned again", AlignWarning, stacklevel=2)

    used_workers = 0
    interrupted: BaseException | None = None
    if tasks:
        with contextlib.ExitStack() as stack:
            if client is None:
                try:
                    client = stack.enter_context(dask_client(scheduler, workers, threads))
                except BaseException:  # no scheduler to reach: nothing was done, so leave no empty folders behind
                    remove_empty(made)
                    raise
            used_workers = len(client.nthreads())
            run_id = uuid.uuid4().hex[:8]  # keys unique to this run: never a result of an earlier one
            futures = client.map(align_one, tasks, key=[f"align-{t.pair}-{run_id}" for t in tasks])
            by_key = {f.key: t for f, t in zip(futures, tasks)}
            bar = progress_bar(len(pairs), "aligning pairs", "pair", show_progress(progress), initial=len(records))
            try:
                for future in as_completed(futures):
                    task = by_key[future.key]
                    try:
                        record = future.result()
                    except Exception as error:  # noqa: BLE001 - a worker died on it: record and go on
                        record = PairRecord(task.pair, task.zh_path, task.en_path, error=error_line(error))
                    records[task.pair] = record
                    bar.update(1)
                    if record.status == "failed":
                        bar.set_postfix_str(f"{sum(r.status == 'failed' for r in records.values())} failed")
            except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM as the command line raises it
                interrupted = stop
                acknowledge()  # handled here: the summary below is written on purpose
                client.cancel(futures)
            finally:
                bar.close()
        # The cluster is closed (a local one): no worker writes a record any more. A pair finished
        # while the run was being stopped is counted as its record says; the others are pending.
        if interrupted is not None:
            for task in tasks:
                if task.pair not in records:
                    done = pair_done(Path(task.record), Path(task.output), *inputs[task.pair], made_by,
                                     settings.align_options)
                    if done is not None:
                        records[task.pair] = done

    summary = summary_frame(pairs, records)
    write_error = ""
    try:
        write_atomically(out_dir / "summary.tsv", frame_to_tsv(summary))
        if interrupted is None:
            write_corpus(summary, pair_dir, out_dir, keep_not_parallel, records)
    except OutputError as error:
        write_error = str(error)
    if interrupted is not None:
        raise interrupted
    return BatchResult(summary, out_dir, time.perf_counter() - clock, used_workers, write_error)


def summary_frame(pairs: pd.DataFrame, records: dict[str, PairRecord]) -> pd.DataFrame:
    """One row a manifest pair, in manifest order; `pending` for pairs not run."""
    rows = []
    for row in pairs.itertuples(index=False):
        record = records.get(row.pair)
        values = record.summary_row() if record is not None else dict.fromkeys(SUMMARY_COLUMNS, "") | {
            "status": "pending"}
        rows.append(values | {"pair": row.pair, "zh_path": row.zh_path, "en_path": row.en_path})
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if "score" in pairs.columns:  # the pairing confidence, when the manifest has it
        frame.insert(3, "pair_score", list(pairs["score"]))
    return frame


def in_corpus(status: str, keep_not_parallel: bool = False) -> bool:
    """Whether a pair of this status has its beads in corpus.tsv and corpus.parquet."""
    return status in ("ok", "skipped") or (keep_not_parallel and status == "not-parallel")


def write_corpus(summary: pd.DataFrame, pair_dir: Path, out_dir: Path, keep_not_parallel: bool = False,
                 records: dict[str, PairRecord] | None = None) -> pd.DataFrame:
    """corpus.tsv and corpus.parquet: the beads of every finished pair (see in_corpus), with a column `pair`.
    records: each pair's PairRecord, whose row count its TSV must have (an OutputError if not: it
    changed during the run)."""
    frames = []
    for name, status in zip(summary["pair"], summary["status"]):
        if in_corpus(status, keep_not_parallel):
            path = pair_dir / f"{name}.tsv"
            expected = records[name].rows if records and name in records else None
            try:
                frame = read_tsv(path)
            except (OSError, ValueError) as error:
                raise OutputError(f"cannot read {path} back for the corpus ({error_line(error)}): "
                                  "it changed during the run; run the batch again") from None
            if expected is not None and len(frame) != expected:
                raise OutputError(f"{path} has {len(frame)} rows, its record {expected}: it changed during the "
                                  "run; run the batch again")
            frame.insert(0, "pair", name)
            frames.append(frame)
    corpus = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["pair", *COLUMNS])
    write_output(corpus, out_dir / "corpus.tsv", "tsv")
    with atomic_path(out_dir / "corpus.parquet") as temporary:
        corpus.to_parquet(temporary, engine="pyarrow", index=False)
    return corpus


__all__ = ["run_batch", "read_manifest", "BatchSettings", "BatchResult", "PairRecord", "PairTask", "align_one",
           "file_sha256", "in_corpus", "SUMMARY_COLUMNS"]
