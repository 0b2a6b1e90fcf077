"""Small parallel documents for the pairing and batch tests: runs of MAC-Dev gold beads.

A piece is beads [first, first + count) of a chapter's hand alignment: the Chinese
and English lines those beads cover, so the two halves translate each other exactly.
"""
from __future__ import annotations

from pathlib import Path

from align.evaluating import bead_lines, read_alignment

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAC = SHARED / "bench" / "mac-dev"
SEEDS = SHARED / "seeds"


def gold_beads(text_id: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return read_alignment(MAC / "gold" / text_id)


def mac_piece(text_id: str, first: int, count: int) -> tuple[str, str]:
    """(Chinese text, English text), one sentence a line, of `count` gold beads from bead `first`."""
    zh, en = bead_lines(gold_beads(text_id)[first:first + count],
                        (MAC / "zh" / text_id).read_text("utf-8").splitlines(),
                        (MAC / "en" / text_id).read_text("utf-8").splitlines())
    return "\n".join(zh) + "\n", "\n".join(en) + "\n"
