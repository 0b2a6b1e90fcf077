"""Small parallel documents for the pairing and batch tests: runs of gold beads.

A piece is beads [first, first + count) of a hand alignment: the Chinese and English
lines those beads cover, so the two halves translate each other exactly. `sample_piece`
cuts the sample pair's gold (data/gold, shipped in the repo); `mac_piece` cuts a MAC-Dev
chapter, from the shared benchmark beside the project ($ZHALIGN_SHARED, default ../shared),
which a user's checkout does not have.
"""
from __future__ import annotations

import os
from pathlib import Path

from align.evaluating import bead_lines, read_alignment

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ZHALIGN_SHARED") or ROOT.parent / "shared").resolve()
MAC = SHARED / "bench" / "mac-dev"
SEEDS = SHARED / "seeds"

SAMPLE_GOLD = ROOT / "data" / "gold"
UNRELATED_EN = ROOT / "data" / "unrelated-en.txt"  # 31 sentences about baking: a translation of nothing here


def gold_beads(text_id: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return read_alignment(MAC / "gold" / text_id)


def _piece(beads, zh_path: Path, en_path: Path) -> tuple[str, str]:
    zh, en = bead_lines(beads, zh_path.read_text("utf-8").splitlines(), en_path.read_text("utf-8").splitlines())
    return "\n".join(zh) + "\n", "\n".join(en) + "\n"


def mac_piece(text_id: str, first: int, count: int) -> tuple[str, str]:
    """(Chinese text, English text), one sentence a line, of `count` gold beads from bead `first`."""
    return _piece(gold_beads(text_id)[first:first + count], MAC / "zh" / text_id, MAC / "en" / text_id)


def sample_beads() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return read_alignment(SAMPLE_GOLD / "core-technology.gold")


def sample_piece(first: int, count: int) -> tuple[str, str]:
    """As mac_piece, of the sample pair's hand alignment (119 beads; 111 zh and 130 en sentences)."""
    return _piece(sample_beads()[first:first + count], SAMPLE_GOLD / "core-technology.zh",
                  SAMPLE_GOLD / "core-technology.en")
