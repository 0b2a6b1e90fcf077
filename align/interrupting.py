"""Ctrl-C and SIGTERM that no library can lose.

Python's own SIGINT handler raises KeyboardInterrupt once, wherever the main
thread happens to be; a library that catches it there (a bare `except:`, an
`except BaseException` that goes on, a `__del__` or a callback whose errors
are ignored) loses it, and the run would go on to replace its output. The
command line's handlers (`handle_signals`, main thread only) therefore also
record the interrupt, and `raise_if_interrupted` raises it again at the safe
points: after the model is loaded, after embedding, and before an output is
put in place (align.writing.atomic_paths). Code that stops on an interrupt on
purpose and still writes (a batch's summary) calls `acknowledge` first.
Without `handle_signals` nothing is recorded and the checks do nothing. A SIGINT
ignored when the process started (a shell script's background job) stays ignored.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from align.errors import Terminated

_received: type[KeyboardInterrupt] | None = None  # the interrupt the handlers raised and nobody acknowledged


def interrupt(signum, frame) -> None:
    """SIGINT: record it, then raise KeyboardInterrupt as Python's own handler does."""
    global _received
    _received = KeyboardInterrupt
    raise KeyboardInterrupt


def terminate(signum, frame) -> None:
    """SIGTERM as Ctrl-C: record it and raise Terminated (a KeyboardInterrupt) once, so that the
    command cleans up as it does for Ctrl-C; a second SIGTERM does not cut that short."""
    global _received
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _received = Terminated
    raise Terminated


def raise_if_interrupted() -> None:
    """Raise again the interrupt a handler raised and something swallowed (see the module's docstring)."""
    if _received is not None:
        raise _received


def acknowledge() -> None:
    """The interrupt raised has been caught where it is handled: the safe points let writing go on."""
    global _received
    _received = None


def handle_signals() -> Callable[[], None]:
    """Put the recording SIGINT and SIGTERM handlers in place, on the main thread (elsewhere Python
    allows none: nothing changes); returns what puts the previous ones back and forgets the record.
    An interrupt recorded before (python -m align installs them first) stays recorded."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    # A SIGINT ignored by whoever started the process (a shell's background job: `cmd &` in a script) stays
    # ignored, as Python itself leaves it: a Ctrl-C meant for the foreground must not stop it.
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is not signal.SIG_IGN:
        previous_int = signal.signal(signal.SIGINT, interrupt)
    previous_term = signal.signal(signal.SIGTERM, terminate)

    def restore() -> None:
        # None: a handler not set from Python; the defaults are the nearest.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous_term is None else previous_term)
        signal.signal(signal.SIGINT, signal.default_int_handler if previous_int is None else previous_int)
        acknowledge()

    return restore


__all__ = ["acknowledge", "handle_signals", "interrupt", "raise_if_interrupted", "terminate"]
