"""What the command line's shared options mean, read from the parsed arguments:
the input format and encoding of each side, and whether to show progress. Both
align.cli and align.review_server (its review command) read them so."""
from __future__ import annotations

import argparse


def input_formats(args: argparse.Namespace) -> tuple[str, str]:
    """The input format of the Chinese and the English document (--zh-format, --en-format or --input-format)."""
    return (args.zh_format or args.input_format, args.en_format or args.input_format)


def encodings(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The encoding of the Chinese and the English document (--zh-encoding, --en-encoding or --encoding)."""
    return (args.zh_encoding or args.encoding, args.en_encoding or args.encoding)


def progress_from(args: argparse.Namespace) -> bool | None:
    """Progress as the options ask: None (on a terminal only, align.progress) or False (--no-progress)."""
    return None if args.progress else False


__all__ = ["input_formats", "encodings", "progress_from"]
