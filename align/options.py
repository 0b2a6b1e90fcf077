"""The command line's shared options: the option groups the subcommands take
(reading, aligning, messages, cache), the argument types that check a value
(argparse usage errors, exit 2), and what the options mean, read from the parsed
arguments: the input format and encoding of each side, the aligner's settings,
whether to show progress. Both align.cli and align.review_server (its review
command) read them so."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from align.errors import UsageError


# --- option groups, each defined once and shared by the subcommands that take them --------

def reading_options() -> argparse.ArgumentParser:
    """Every command that reads and embeds documents: model, input formats, encodings, size limit."""
    from align.embedding import DEFAULT_MODEL, DEVICES
    from align.reading import INPUT_FORMATS, MAX_INPUT_MB

    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("reading and embedding")
    group.add_argument("--model", default=DEFAULT_MODEL,
                       help="embedding model: a name from `zhalign models`, or a sentence-transformers "
                            f"folder (default: {DEFAULT_MODEL}, shipped with the package)")
    group.add_argument("--input-format", choices=INPUT_FORMATS, default="auto",
                       help="how to read both inputs: zaker (HTML export with YAML front matter), text "
                            "(paragraphs by blank lines or indentation), lines (one sentence a line, kept "
                            "as is); auto detects zaker or text (default: auto)")
    group.add_argument("--device", choices=DEVICES, default="auto",
                       help="where a sentence-transformers model runs: cuda (a GPU), cpu, or auto (cuda when torch "
                            f"sees a GPU); {DEFAULT_MODEL} always runs on the CPU (default: auto)")
    group.add_argument("--zh-format", choices=INPUT_FORMATS, help="input format of the Chinese side only")
    group.add_argument("--en-format", choices=INPUT_FORMATS, help="input format of the English side only")
    group.add_argument("--encoding", help="encoding of both inputs (default: detect: UTF-8, UTF-16, GB18030, "
                                          "Big5, and CP1252/Latin-1 before other single-byte encodings)")
    group.add_argument("--zh-encoding", help="encoding of the Chinese side only (e.g. gb18030)")
    group.add_argument("--en-encoding", help="encoding of the English side only (e.g. cp1252)")
    group.add_argument("--max-input-mb", type=number_in(0, math.inf, low_open=True), default=MAX_INPUT_MB,
                       metavar="MB", help="refuse a document larger than this; a device or FIFO (/dev/zero) is "
                                          f"always refused (default: {MAX_INPUT_MB})")
    return parser


def aligning_options() -> argparse.ArgumentParser:
    """Every command that aligns."""
    from align.aligning import AlignParams

    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("aligning")
    defaults = AlignParams()
    group.add_argument("--split-semicolon", action="store_true", help="also split Chinese sentences at ；")
    group.add_argument("--max-bead", type=int_at_least(1), default=defaults.max_bead,
                       help=f"most sentences on one side of a bead (default: {defaults.max_bead})")
    group.add_argument("--max-total", type=int_at_least(2), default=defaults.max_total,
                       help=f"most sentences in a bead, both sides together (default: {defaults.max_total})")
    group.add_argument("--force", action="store_true",
                       help="align even when a side does not look like its language (English given as "
                            "the Chinese side, both sides Chinese) or has far more sentences than the other "
                            "(5 to 1 and beyond, wrong files): a warning instead of an error")
    group.add_argument("--strict", action="store_true",
                       help="fail (exit 1, no output) when the documents do not look parallel; "
                            "by default that is a warning and the verdict in the output")
    group.add_argument("--skip", type=number_in(0, math.inf, low_open=True), default=None,
                       help="fixed cost of leaving a sentence unaligned (about 1 to 1.3 is typical; lower "
                            "leaves more unaligned). Default: the fitted cost, cheaper for a sentence whose "
                            "best match is poorer than the document's usual")
    return parser


def message_options(report: str = "summary", progress: bool = True) -> argparse.ArgumentParser:
    """What a command prints on stderr besides errors: -q, and --no-progress where there is a bar."""
    parser = argparse.ArgumentParser(add_help=False)
    if progress:
        parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("-q", "--quiet", action="store_true", help=f"no {report} on stderr")
    return parser


def cache_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="persistent embedding cache folder (default: $ZHALIGN_CACHE or ~/.cache/zhalign)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or fill the embedding cache")
    return parser


def keep_not_parallel_option(what: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--keep-not-parallel", action="store_true",
                        help=f"keep {what} of documents the aligner judged not parallel (column parallel = no; "
                             "left out by default)")
    return parser


# --- what the options mean -------------------------------------------------------------

def input_formats(args: argparse.Namespace) -> tuple[str, str]:
    """The input format of the Chinese and the English document (--zh-format, --en-format or --input-format)."""
    return (args.zh_format or args.input_format, args.en_format or args.input_format)


def encodings(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The encoding of the Chinese and the English document (--zh-encoding, --en-encoding or --encoding)."""
    return (args.zh_encoding or args.encoding, args.en_encoding or args.encoding)


def progress_from(args: argparse.Namespace) -> bool | None:
    """Progress as the options ask: None (on a terminal only, align.progress) or False (--no-progress)."""
    return None if args.progress else False


def params_from(args: argparse.Namespace):
    from align.aligning import AlignParams

    return AlignParams(max_bead=args.max_bead, max_total=max(args.max_total, 2), skip=args.skip)


def max_input_bytes(args: argparse.Namespace) -> int:
    return int(args.max_input_mb * 1_000_000)


# --- argument types: a value checked and converted, else a usage error ------------------

def int_at_least(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= least (else a usage error, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        return value
    return parse


def number_in(low: float, high: float, low_open: bool = False, off: bool = False) -> Callable[[str], float | None]:
    """An argparse type: a finite number in [low, high] ((low, high] with low_open),
    or with `off`, off/none for no limit (None). NaN and inf are refused."""
    def parse(text: str) -> float | None:
        if off and text.strip().lower() in ("off", "none"):
            return None
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number{' or off' if off else ''}, not {text!r}") from None
        too_low = value <= low if low_open else value < low
        if not math.isfinite(value) or too_low or value > high:
            above = f"above {low:g}" if low_open else f"at least {low:g}"
            bound = above if high == math.inf else f"{above} and at most {high:g}"
            raise argparse.ArgumentTypeError(f"must be a number {bound}, not {text!r}")
        return value
    return parse


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]."""
    at_least = int_at_least(low)

    def parse(text: str) -> int:
        value = at_least(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, not {value}")
        return value
    return parse


def optional_int_at_least(least: int) -> Callable[[str], int | None]:
    """An argparse type: a whole number >= least, or off/none for no limit (None)."""
    at_least = int_at_least(least)

    def parse(text: str) -> int | None:
        return None if text.strip().lower() in ("off", "none") else at_least(text)
    return parse


def window_arg(text: str) -> tuple[int, int]:
    from align.plotting import parse_window

    try:
        return parse_window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def size_arg(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like WIDTHxHEIGHT in pixels, e.g. 1800x1100, not {text!r}") from None
    if size[0] < 400 or size[1] < 300 or max(size) > 20000:
        raise argparse.ArgumentTypeError(f"size {text!r} out of range (400x300 to 20000x20000 pixels)")
    return size


def scheduler_arg(text: str) -> str:
    """A Dask scheduler address, checked before anything starts (align.cluster.check_scheduler_address)."""
    from align.cluster import check_scheduler_address

    try:
        return check_scheduler_address(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def min_score_arg(text: str) -> float | str | None:
    """A number, off, or `weights` (the weights' own least score, exporting.min_scores)."""
    return "weights" if text.strip().lower() == "weights" else number_in(0, 1, off=True)(text)


__all__ = ["reading_options", "aligning_options", "message_options", "cache_options", "keep_not_parallel_option",
           "input_formats", "encodings", "progress_from", "params_from", "max_input_bytes", "int_at_least",
           "number_in", "int_in", "optional_int_at_least", "window_arg", "size_arg", "scheduler_arg",
           "min_score_arg"]
