"""A benchmark folder (zh/, en/, gold/ of the same file names): the one given, else $ZHALIGN_BENCH.
Its own module so that align.bench (which runs the aligner on it) and align.bench_report (which
scores another aligner's stored output in it) both read it, and neither reads the other for it."""
from __future__ import annotations

import os
from pathlib import Path

from align.errors import InputError

BENCH_VARIABLE = "ZHALIGN_BENCH"


def bench_dir(given: Path | None) -> Path:
    """The benchmark folder: the argument, else $ZHALIGN_BENCH."""
    path = given or (Path(os.environ[BENCH_VARIABLE]) if os.environ.get(BENCH_VARIABLE) else None)
    if path is None:
        raise InputError(f"no benchmark folder: give one (e.g. ../shared/bench/mac-dev) or set ${BENCH_VARIABLE}")
    if not (path / "gold").is_dir():
        raise InputError(f"{path}: not a benchmark folder (no gold/ inside)")
    return path


__all__ = ["BENCH_VARIABLE", "bench_dir"]
