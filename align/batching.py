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
    pairs/NAME.json    its record (counts, score, verdict, seconds, status, error,
                       the SHA-256 of both inputs and the aligner's signature),
                       written after the TSV: a pair is done when both exist
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
those of its record, so a run that was interrupted loses only the pairs in
flight, and a changed file or setting is aligned again. A pair that fails
(unreadable or empty file, ...) is recorded with its error and the others go
on; it is tried again on the next run.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from distributed import Client, LocalCluster, WorkerPlugin, as_completed
from distributed.core import Status

from align.aligning import AlignParams
from align.embedding import DEFAULT_MODEL
from align.errors import InputError, OutputError, UsageError
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

    Relative paths are taken relative to the manifest's folder, or to the
    current folder when they exist only there. Rows that name the same two
    files (by another spelling: a.txt, ../corpus/a.txt, an absolute path) are
    one pair, aligned once, with a warning."""
    from align.errors import AlignWarning

    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str, comment=None)
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a manifest TSV ({str(error).splitlines()[0] if str(error) else 'empty'})") \
            from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the manifest ({error.strerror or error})") from None
    missing = [c for c in ("zh_path", "en_path") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the manifest needs columns zh_path and en_path (missing {', '.join(missing)})")
    frame = frame[frame["zh_path"].str.strip() != ""].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{path}: the manifest lists no pairs")
    base = path.resolve().parent
    frame["zh_path"] = [_resolve(p, base) for p in frame["zh_path"]]
    frame["en_path"] = [_resolve(p, base) for p in frame["en_path"]]
    repeated = frame.duplicated(["zh_path", "en_path"])
    if repeated.any():
        rows = ", ".join(str(k + 2) for k in frame.index[repeated][:5])  # +2: the header is line 1
        warnings.warn(f"{path}: {int(repeated.sum())} row(s) (line {rows}) list a pair already listed, "
                      "perhaps by another path to the same files: aligned once", AlignWarning, stacklevel=2)
    frame = frame[~repeated].reset_index(drop=True)  # one output a pair
    frame.insert(0, "pair", pair_names(frame["zh_path"], frame["en_path"]))
    return frame


def _resolve(text: str, base: Path) -> str:
    path = Path(text.strip()).expanduser()
    if path.is_absolute():
        return str(path.resolve())
    beside = base / path
    return str((beside if beside.exists() or not path.exists() else path).resolve())


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

MODEL_LOADS = 0  # models this process has loaded; the worker_encoder cache keeps it at one per model


@functools.lru_cache(maxsize=2)
def worker_encoder(model: str, cache_dir: str | None, device: str = "auto"):
    """The encoder of this worker process: loaded on its first task, kept for the rest."""
    global MODEL_LOADS
    from align.caching import attach_cache
    from align.embedding import load_encoder

    encoder = load_encoder(model, device)
    MODEL_LOADS += 1
    if cache_dir is not None:
        attach_cache(encoder, cache_dir)
    return encoder


def align_one(task: dict) -> dict:
    """Align one pair, write its TSV and then its record; never raises: a bad
    pair, or an output that cannot be written, is a record with its error."""
    from align.pipeline import align_pair
    from align.profile import Profile

    settings = BatchSettings(**task["settings"])
    clock = time.perf_counter()
    record = {"pair": task["pair"], "zh_path": task["zh_path"], "en_path": task["en_path"], "status": "failed",
              "zh_sentences": 0, "en_sentences": 0, "beads": 0, "mean_score": 0.0, "parallel": "", "auc": "",
              "seconds": 0.0, "embedded": 0, "error": "", "warnings": "", "worker": f"{os.uname().nodename}:{os.getpid()}",
              "signature": "", "zh_sha256": file_sha256(task["zh_path"]), "en_sha256": file_sha256(task["en_path"]),
              "align_options": settings.align_options}
    try:
        # An old record goes first: were this run stopped after the new TSV, the pair must not look done.
        Path(task["record"]).unlink(missing_ok=True)
        encoder = worker_encoder(settings.model, settings.cache_dir, settings.device)
        record["device"] = encoder.device
        embedded_before = encoder.texts_embedded
        with warnings.catch_warnings(record=True) as caught:  # into the summary, not the worker's stderr
            warnings.simplefilter("always")
            result = align_pair(
                task["zh_path"], task["en_path"], model=encoder, input_format=tuple(settings.input_format),
                encoding=settings.encoding, profile=Profile.for_model(encoder, params=AlignParams(**settings.params)),
                split_semicolon=settings.split_semicolon, progress=False, **settings.align_options,
            )
        record["warnings"] = "; ".join(dict.fromkeys(str(w.message).splitlines()[0] for w in caught if str(w.message)))
        write_output(result.frame, task["output"], "tsv")
        summary = result.summary()
        record.update(status="ok" if result.parallel.parallel is not False else "not-parallel",
                      zh_sentences=summary.zh_sentences, en_sentences=summary.en_sentences,
                      beads=summary.beads, mean_score=round(summary.mean_score, 4),
                      parallel=verdict(result.parallel.parallel),
                      auc="" if result.parallel.auc is None else result.parallel.auc,
                      embedded=encoder.texts_embedded - embedded_before, signature=result.signature)
    except Exception as error:  # noqa: BLE001 - one bad pair must not stop the batch
        record["error"] = error_line(error)
    record["seconds"] = round(time.perf_counter() - clock, 3)
    record["model_loads"] = MODEL_LOADS
    try:
        write_atomically(task["record"], json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    except OSError as error:  # the pair is not done: it runs again next time
        record.update(status="failed", error=record["error"] or error_line(error))
    return record


def error_line(error: BaseException) -> str:
    """One line for the summary: the message of the project's own errors (they name
    the file), the exception's name before any other (a bug, or the machine's)."""
    message = str(error).splitlines()[0] if str(error) else ""
    kind = "" if isinstance(error, (InputError, UsageError, OutputError)) else f"{error.__class__.__name__}: "
    return (kind + message).strip() or error.__class__.__name__


def worker_peak_memory() -> dict:
    """This worker process's peak resident memory, in MB (for the benchmark)."""
    import resource

    return {"pid": os.getpid(), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "model_loads": MODEL_LOADS}


# --- the client ----------------------------------------------------------------------

def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# A worker that closes aborts its own heartbeat in flight, and distributed logs
# that as an error with a traceback (dask/distributed#7105). It says nothing
# about the run, so a closing worker of our local cluster drops just that record.
HEARTBEAT_RACE = "Failed to communicate with scheduler during heartbeat"


class ClosingHeartbeatFilter(logging.Filter):
    """Drops the heartbeat error of `worker` once it is closing; keeps every other record."""

    def __init__(self, worker) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        closing = self.worker.status in (Status.closing, Status.closing_gracefully, Status.closed)
        return not (closing and record.getMessage().startswith(HEARTBEAT_RACE))


class QuietShutdown(WorkerPlugin):
    """A worker plugin that puts a ClosingHeartbeatFilter on the worker's logger.
    It has no teardown: a closing worker removes its plugins before the race."""

    name = "zhalign-quiet-shutdown"

    def setup(self, worker) -> None:
        logging.getLogger("distributed.worker").addFilter(ClosingHeartbeatFilter(worker))


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, threads: int = 1):
    """A client on an existing scheduler, or on a local cluster of `workers`
    single-threaded processes, each with `threads` OpenMP threads for the model."""
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {str(error).splitlines()[0]}") from None
        with client:
            yield client
        return
    threads = str(max(1, threads))
    environment = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR, env=environment) as cluster, \
            Client(cluster) as client:
        client.register_plugin(QuietShutdown())
        yield client


def pair_done(record_path: Path, output_path: Path, expected: dict) -> dict | None:
    """The record of a pair finished from these very inputs with this aligner, or None.
    expected: zh_sha256, en_sha256, signature and align_options, as a record holds them."""
    if not (record_path.is_file() and output_path.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("status") not in DONE or None in (expected["zh_sha256"], expected["en_sha256"]):
        return None
    return record if all(record.get(key) == value for key, value in expected.items()) else None


@dataclass
class BatchResult:
    summary: pd.DataFrame
    out_dir: Path
    seconds: float
    workers: int
    write_error: str = ""  # why summary.tsv or the corpus could not be written ("" when they were)

    def counts(self) -> dict[str, int]:
        return self.summary["status"].value_counts().to_dict()


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
    from align.progress import progress_bar, show_progress

    clock = time.perf_counter()
    settings = settings or BatchSettings()
    pairs = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
    out_dir = Path(out_dir).resolve()
    pair_dir = out_dir / PAIR_DIR
    try:
        pair_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create {pair_dir}: {error.strerror or error}") from None
    made_by = settings.signature()
    records: dict[str, dict] = {}
    tasks = []
    for row in pairs.itertuples(index=False):
        output, record = pair_dir / f"{row.pair}.tsv", pair_dir / f"{row.pair}.json"
        expected = {"zh_sha256": file_sha256(row.zh_path), "en_sha256": file_sha256(row.en_path),
                    "signature": made_by, "align_options": settings.align_options}
        done = None if redo else pair_done(record, output, expected)
        if done is not None:
            records[row.pair] = done | {"status": "skipped" if done["status"] == "ok" else done["status"],
                                        "embedded": 0}
            continue
        tasks.append({"pair": row.pair, "zh_path": row.zh_path, "en_path": row.en_path, "output": str(output),
                      "record": str(record), "settings": asdict(settings)})

    used_workers = 0
    interrupted = False
    if tasks:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(scheduler, workers, threads))
            used_workers = len(client.nthreads())
            run_id = uuid.uuid4().hex[:8]  # keys unique to this run: never a result of an earlier one
            futures = client.map(align_one, tasks, key=[f"align-{t['pair']}-{run_id}" for t in tasks])
            by_key = {f.key: t for f, t in zip(futures, tasks)}
            bar = progress_bar(len(pairs), "aligning pairs", "pair", show_progress(progress), initial=len(records))
            try:
                for future in as_completed(futures):
                    task = by_key[future.key]
                    try:
                        record = future.result()
                    except Exception as error:  # noqa: BLE001 - a worker died on it: record and go on
                        record = {"pair": task["pair"], "zh_path": task["zh_path"], "en_path": task["en_path"],
                                  "status": "failed", "error": error_line(error)}
                    records[task["pair"]] = record
                    bar.update(1)
                    if record["status"] == "failed":
                        bar.set_postfix_str(f"{sum(r['status'] == 'failed' for r in records.values())} failed")
            except KeyboardInterrupt:
                interrupted = True
                client.cancel(futures)
            finally:
                bar.close()

    summary = summary_frame(pairs, records)
    write_error = ""
    try:
        write_atomically(out_dir / "summary.tsv", frame_to_tsv(summary))
        if not interrupted:
            write_corpus(summary, pair_dir, out_dir, keep_not_parallel)
    except OutputError as error:
        write_error = str(error)
    if interrupted:
        raise KeyboardInterrupt
    return BatchResult(summary, out_dir, time.perf_counter() - clock, used_workers, write_error)


def summary_frame(pairs: pd.DataFrame, records: dict[str, dict]) -> pd.DataFrame:
    """One row a manifest pair, in manifest order; `pending` for pairs not run."""
    rows = []
    for row in pairs.itertuples(index=False):
        record = records.get(row.pair, {"status": "pending"})
        rows.append({column: record.get(column, "") for column in SUMMARY_COLUMNS}
                    | {"pair": row.pair, "zh_path": row.zh_path, "en_path": row.en_path})
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if "score" in pairs.columns:  # the pairing confidence, when the manifest has it
        frame.insert(3, "pair_score", list(pairs["score"]))
    return frame


def in_corpus(status: str, keep_not_parallel: bool = False) -> bool:
    """Whether a pair of this status has its beads in corpus.tsv and corpus.parquet."""
    return status in ("ok", "skipped") or (keep_not_parallel and status == "not-parallel")


def write_corpus(summary: pd.DataFrame, pair_dir: Path, out_dir: Path, keep_not_parallel: bool = False) -> pd.DataFrame:
    """corpus.tsv and corpus.parquet: the beads of every finished pair (see in_corpus), with a column `pair`."""
    frames = []
    for name, status in zip(summary["pair"], summary["status"]):
        if in_corpus(status, keep_not_parallel):
            frame = read_tsv(pair_dir / f"{name}.tsv")
            frame.insert(0, "pair", name)
            frames.append(frame)
    corpus = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["pair", *COLUMNS])
    write_output(corpus, out_dir / "corpus.tsv", "tsv")
    with atomic_path(out_dir / "corpus.parquet") as temporary:
        corpus.to_parquet(temporary, engine="pyarrow", index=False)
    return corpus


__all__ = ["run_batch", "read_manifest", "BatchSettings", "BatchResult", "align_one", "worker_encoder",
           "dask_client", "file_sha256", "in_corpus", "SUMMARY_COLUMNS"]
