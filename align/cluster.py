"""The Dask machinery that `zhalign pair` and `zhalign batch` share: a client on a
local cluster or an existing scheduler (dask_client), the encoder each worker
process loads once and keeps (worker_encoder), and Tasks, which runs a step's
calls in this process or as tasks on the cluster."""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import uuid
from typing import Callable, Sequence

from distributed import Client, LocalCluster, WorkerPlugin, as_completed
from distributed.core import Status

from align.errors import InputError, UsageError

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


def model_loads() -> int:
    """How many models this process has loaded (worker_encoder keeps it at one per model)."""
    return MODEL_LOADS


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


def check_scheduler_address(address: str) -> str:
    """The address of a Dask scheduler as given, or a UsageError saying what is wrong
    with it: known before anything is started or written."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    example = "e.g. tcp://host:8786"
    try:
        scheme, location = parse_address(address.strip())
    except ValueError as error:
        raise UsageError(f"scheduler address {address!r}: {error} ({example})") from None
    if scheme not in backends:
        raise UsageError(f"scheduler address {address!r}: unknown protocol {scheme!r} "
                         f"(one of {', '.join(sorted(backends))}; {example})")
    if scheme == "inproc":
        return address
    try:
        host, port = parse_host_port(location)
    except ValueError:
        raise UsageError(f"scheduler address {address!r} has no port ({example})") from None
    if not host or not 0 < int(port) < 65536:
        raise UsageError(f"scheduler address {address!r} needs a host and a port from 1 to 65535 ({example})")
    return address


QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, threads: int = 1):
    """A client on an existing scheduler, or on a local cluster of `workers`
    single-threaded processes, each with `threads` OpenMP threads for the model."""
    if scheduler:
        check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {str(error).splitlines()[0]}") from None
        with client:
            yield client
        return
    # A worker stopped in the middle of a pair (Ctrl-C, SIGTERM) leaves a semaphore that multiprocessing's
    # resource tracker cleans up, saying so on stderr at exit: noise after the one line the run ends with.
    # The tracker starts with the first worker and takes this interpreter's -W options.
    if QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_TRACKER)
    threads = str(max(1, threads))
    environment = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    with LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR, env=environment) as cluster, \
            Client(cluster) as client:
        client.register_plugin(QuietShutdown())
        yield client


class Tasks:
    """Runs a step's calls in this process, or as tasks on a Dask cluster."""

    def __init__(self, client=None, prefix: str = "task"):
        self.client = client
        self.prefix = prefix  # of the task keys: `prefix-STEP-K-RUN`
        self.run_id = uuid.uuid4().hex[:8]  # task keys unique to this run: never a result of an earlier one

    def run(self, function: Callable, calls: list[tuple], name: str, bar,
            first: Sequence[int] | None = None, counts: Sequence[int] | None = None) -> tuple[list, list]:
        """function(*call) for each call, in order, and a handle on each result
        to pass to later steps: the result itself here, or its future on the
        cluster (Dask then hands the worker the data, not this process).
        first: on a cluster, calls with higher numbers are submitted first (results stay in order).
        counts: how far each call moves the bar (default 1)."""
        counts = counts or [1] * len(calls)
        if self.client is None:
            results = []
            for call, count in zip(calls, counts):
                results.append(function(*call))
                bar.update(count)
            return results, results
        first = first or [0] * len(calls)
        futures = [None] * len(calls)
        # The order of submission is the order of work: an idle worker starts the first task to reach the
        # scheduler, and queued tasks keep the order they came in.
        for k in sorted(range(len(calls)), key=lambda k: -first[k]):
            futures[k] = self.client.submit(function, *calls[k], key=f"{self.prefix}-{name}-{k}-{self.run_id}",
                                            pure=False)
        count_of = {future.key: count for future, count in zip(futures, counts)}
        for future in as_completed(futures):
            bar.update(count_of[future.key])
        return self.client.gather(futures), futures


__all__ = ["dask_client", "check_scheduler_address", "default_workers", "worker_encoder", "model_loads", "worker_peak_memory",
           "Tasks", "QUIET_TRACKER"]
