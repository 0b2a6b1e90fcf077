"""`zhalign tune`: weights fitted to a user's gold folder, written with provenance, used by `align --weights`."""
from __future__ import annotations

import pytest

from align.cli import main
from align.evaluating import bead_lines, read_alignment
from align.weights import Weights
from align.writing import read_tsv
from conftest import DATA

GOLD = DATA / "gold"


def gold_folder(root, pieces: int = 3):
    """The sample's gold cut into `pieces` runs of consecutive beads, each a document
    of its own (zh/NAME, en/NAME one sentence a line, gold/NAME renumbered), as MAC-Dev is laid out."""
    beads = read_alignment(GOLD / "core-technology.gold")
    zh_lines = (GOLD / "core-technology.zh").read_text("utf-8").splitlines()
    en_lines = (GOLD / "core-technology.en").read_text("utf-8").splitlines()
    for part in ("zh", "en", "gold"):
        (root / part).mkdir(parents=True)
    size = len(beads) // pieces
    for k in range(pieces):
        run = beads[k * size:(k + 1) * size]
        zh, en = bead_lines(run, zh_lines, en_lines)
        zh0 = min(i for b in run for i in b[0])
        en0 = min(j for b in run for j in b[1])
        name = f"{k:03d}"
        (root / "zh" / name).write_text("\n".join(zh) + "\n", "utf-8")
        (root / "en" / name).write_text("\n".join(en) + "\n", "utf-8")
        (root / "gold" / name).write_text("".join(f"{[i - zh0 for i in b[0]]}:{[j - en0 for j in b[1]]}\n"
                                                  for b in run), "utf-8")
    return root


@pytest.mark.slow
def test_tune_writes_weights_with_provenance_that_align_uses(tmp_path, capsys):
    folder = gold_folder(tmp_path / "mine")
    output = tmp_path / "my.json"
    assert main(["tune", str(folder), "-o", str(output), "--rounds", "1", "-q", "--name", "mine"]) == 0
    printed = capsys.readouterr().out
    weights = Weights.load(output)
    assert weights.id.startswith("mine#")
    assert weights.provenance["documents"] == ["000", "001", "002"]
    assert weights.provenance["command"].startswith(f"zhalign tune {folder} -o {output}")
    assert "--rounds 1" in weights.provenance["command"]
    assert weights.provenance["fitted_from"].startswith("mac-dev")
    for figure in ("cv_strict_f1", "shipped_strict_f1"):
        assert 0 <= weights.provenance[figure] <= 1
        assert f"{weights.provenance[figure]:.4f}" in printed

    aligned = tmp_path / "aligned.tsv"
    zh, en = folder / "zh" / "001", folder / "en" / "001"
    assert main(["align", str(zh), str(en), "--input-format", "lines", "--weights", str(output), "-o", str(aligned),
                 "-q", "--no-progress"]) == 0
    assert f"|weights:{weights.id}|" in read_tsv(aligned)["signature"].iloc[0]


def test_tune_names_a_missing_side_in_one_line(tmp_path, capsys):
    folder = gold_folder(tmp_path / "mine")
    (folder / "en" / "001").unlink()
    assert main(["tune", str(folder), "-o", str(tmp_path / "my.json")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0] == (f"zhalign: error: {folder / 'en' / '001'}: no such file (every gold/NAME "
                                            "needs zh/NAME and en/NAME, one sentence a line)")
    assert not (tmp_path / "my.json").exists()
