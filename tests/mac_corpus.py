"""Small parallel documents for the pairing and batch tests: runs of MAC-Dev gold beads.

A piece is beads [first, first + count) of a chapter's hand alignment: the Chinese
and English lines those beads cover, so the two halves translate each other exactly.
"""
from __future__ import annotations

from pathlib import Path

from align.evaluating import read_alignment

SHARED = Path(__file__).resolve().parents[2] / "shared"
MAC = SHARED / "bench" / "mac-dev"
SEEDS = SHARED / "seeds"


def gold_beads(text_id: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return read_alignment(MAC / "gold" / text_id)


def mac_piece(text_id: str, first: int, count: int) -> tuple[str, str]:
    """(Chinese text, English text), one sentence a line, of `count` gold beads from bead `first`."""
    chosen = gold_beads(text_id)[first:first + count]
    zh_ids = [i for zh, _ in chosen for i in zh]
    en_ids = [j for _, en in chosen for j in en]
    zh_lines = (MAC / "zh" / text_id).read_text("utf-8").splitlines()
    en_lines = (MAC / "en" / text_id).read_text("utf-8").splitlines()
    return ("\n".join(zh_lines[min(zh_ids):max(zh_ids) + 1]) + "\n",
            "\n".join(en_lines[min(en_ids):max(en_ids) + 1]) + "\n")
