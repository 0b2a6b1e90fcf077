"""The TSV and index outputs: exact round trips and whole-or-nothing writes."""
import pandas as pd
import pytest

from align.aligning import Bead
from align.segmenting import Sentence
from align.writing import beads_to_frame, frame_to_index, parse_ids, read_tsv, write_atomically, write_output

TRICKY = ['他说："好"\t然后', 'NA', '"quoted" at start', "tab\there", "", "null", " leading space", 'a ""double""']


def test_tsv_round_trip_gives_back_exact_texts(tmp_path):
    zh = [Sentence(t, 0) for t in TRICKY]
    en = [Sentence(t, 0) for t in reversed(TRICKY)]
    beads = [Bead([i], [i], 0.5) for i in range(len(TRICKY))]
    frame = beads_to_frame(beads, zh, en)
    path = tmp_path / "out.tsv"
    write_output(frame, path)
    back = pd.read_csv(path, sep="\t", keep_default_na=False)
    assert list(back.columns) == ["zh", "en", "score", "type", "zh_ids", "en_ids"]
    assert back["zh"].tolist() == TRICKY
    assert back["en"].tolist() == list(reversed(TRICKY))
    assert back["zh_ids"].tolist() == [f"[{i}]" for i in range(len(TRICKY))]
    assert read_tsv(path).equals(back.astype({"zh_ids": str, "en_ids": str}))


def test_multi_sentence_beads_and_unaligned_rows():
    zh = [Sentence("一。", 0), Sentence("二。", 0)]
    en = [Sentence("One.", 0), Sentence("Two.", 0), Sentence("Credit.", 1)]
    frame = beads_to_frame([Bead([0, 1], [0, 1], 0.9), Bead([], [2], 0.0)], zh, en)
    assert frame.to_dict("records") == [
        {"zh": "一。二。", "en": "One. Two.", "score": 0.9, "type": "2-2", "zh_ids": "[0, 1]", "en_ids": "[0, 1]"},
        {"zh": "", "en": "Credit.", "score": 0.0, "type": "0-1", "zh_ids": "[]", "en_ids": "[2]"},
    ]
    assert frame_to_index(frame) == "[0, 1]:[0, 1]\n[]:[2]\n"
    assert parse_ids("[0, 1]") == [0, 1] and parse_ids("[]") == []


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.tsv"
    path.write_text("old\n", encoding="utf-8")

    def broken(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("pathlib.Path.write_text", broken)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "new\n")
    monkeypatch.undo()
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]  # no temporary left behind
