"""The errors a user can cause, one type for each kind.

The command line reports these in one line (`zhalign: error: ...`, exit 1);
any other exception is a bug and shows its traceback. This module imports
nothing, so that every other module (and the CLI) can use it cheaply.
"""
from __future__ import annotations


class InputError(ValueError):
    """Input the aligner cannot use; the message is one line for the user, naming the file."""


class UsageError(ValueError):
    """A request that cannot be carried out as asked: an option value out of range,
    an output that would replace an input. One line for the user."""


class OutputError(OSError):
    """An output that cannot be written (full disk, read-only folder, ...); the
    message names the file the user asked for, not a temporary one."""


class ModelError(RuntimeError):
    """A model that cannot be loaded; the message is one line for the user."""


class AlignWarning(UserWarning):
    """A problem the aligner works around (with --force) or can only point out;
    the command line shows it as one line (`zhalign: warning: ...`)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, which the command line raises as this so that a command stops as on Ctrl-C
    (exit 143 instead of 130); not a user error."""


USER_ERRORS: tuple[type[BaseException], ...] = (InputError, UsageError, OutputError, ModelError)

__all__ = ["AlignWarning", "InputError", "ModelError", "OutputError", "Terminated", "USER_ERRORS", "UsageError"]
