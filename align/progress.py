"""Progress on stderr: bars and status lines on a terminal, nothing in a log.

Every stage that can take more than a couple of seconds (reading, loading the
model, embedding, aligning, the parallel check, pairing, plotting) shows a
tqdm bar when it counts something, else a status line with a running clock.
Whether to show them is decided once, by `show_progress`: the CLI passes
None (a terminal decides) or False (--no-progress); the Python API may
pass True to force them on, e.g. in a notebook, whose stderr is no terminal.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from tqdm.auto import tqdm

TICK_SECONDS = 0.5  # how often a status line's clock is redrawn


def show_progress(progress: bool | None = None) -> bool:
    """Draw progress? False never, True always, None when stderr is a terminal."""
    if progress is not None:
        return bool(progress)
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(total: int, desc: str, unit: str, show: bool, **options) -> tqdm:
    """A tqdm bar on stderr that vanishes when closed; a no-op unless `show`."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not show, file=sys.stderr, leave=False, **options)


@contextlib.contextmanager
def status(text: str, show: bool) -> Iterator[None]:
    """While the block runs, the line `text… 0:07` on stderr, its clock ticking; erased after."""
    if not show:
        yield
        return
    line = tqdm(desc=text, bar_format="{desc}… {elapsed}", file=sys.stderr, leave=False)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(TICK_SECONDS):
            line.refresh()

    clock = threading.Thread(target=tick, name="zhalign-status", daemon=True)
    clock.start()
    try:
        yield
    finally:
        done.set()
        clock.join()
        line.close()


__all__ = ["show_progress", "progress_bar", "status"]
