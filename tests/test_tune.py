"""`zhalign tune`: weights fitted to a user's gold folder, written with provenance, used by `align --weights`."""
from __future__ import annotations

import pytest

from align.cli import main
from align.evaluating import bead_lines, read_alignment
from align.profile import Profile
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
    assert weights.provenance["fitted_from"] == Profile.for_model("e5+use").weights.id  # started from the shipped fit
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


def reviewed_tsvs(root, pieces: int = 3) -> list:
    """The sample's gold pieces (gold_folder) aligned and reviewed through align.reviewing, without a
    browser: the first has its first two beads merged and everything up to bead 5 confirmed, its
    journal kept beside it; the others every bead confirmed, and the last with no journal (its
    sentences read from the rows). Returns the saved TSVs."""
    from align.pipeline import align_pair
    from align.reviewing import Journal, Review, ReviewPaths, ReviewSources, save_review, state_from_result

    folder = gold_folder(root / "pieces", pieces)
    saved = []
    for k in range(pieces):
        name = f"{k:03d}"
        state = state_from_result(align_pair(folder / "zh" / name, folder / "en" / name, input_format="lines",
                                             progress=False))
        state = state.merge(0).confirm_through(5) if k == 0 else state.confirm_through(len(state.beads) - 1)
        paths = ReviewPaths.of(root / f"{name}.reviewed.tsv")
        if k < pieces - 1:
            Journal(paths.journal, ReviewSources(zh=str(folder / "zh" / name), en=str(folder / "en" / name))).write(
                Review(state))
        save_review(state, paths)
        saved.append((paths.tsv, state))
    return saved


@pytest.mark.slow
def test_tune_fits_reviewed_tsvs_and_counts_the_beads_nobody_reviewed(tmp_path, capsys):
    saved = reviewed_tsvs(tmp_path)
    files = [path for path, _ in saved]
    first = saved[0][1]
    auto = sum(bead.status == "auto" for bead in first.beads)
    assert 0 < auto < len(first.beads)
    output = tmp_path / "my.json"
    assert main(["tune", *map(str, files), "-o", str(output), "--rounds", "1", "-q", "--name", "mine"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"{files[0]}: {auto} of {len(first.beads)} beads not reviewed (status auto); used as gold as the aligner "
        "made them"]
    weights = Weights.load(output)
    assert weights.id.startswith("mine#")
    assert weights.provenance["reviewed"] == [str(path) for path in files]
    assert weights.provenance["folders"] == []
    assert weights.provenance["documents"] == sorted(path.name for path in files)
    assert weights.provenance["command"].startswith(f"zhalign tune {' '.join(map(str, files))} -o {output}")
    assert 0 <= weights.provenance["cv_strict_f1"] <= 1
    assert f"{weights.provenance['cv_strict_f1']:.4f}" in captured.out


@pytest.mark.slow
def test_the_gold_of_a_reviewed_tsv_is_its_saved_beads_and_sentences(tmp_path):
    from align.tune import read_reviewed

    for path, state in reviewed_tsvs(tmp_path):
        read = read_reviewed(path)
        assert [(b.zh, b.en) for b in read.beads] == [(b.zh, b.en) for b in state.beads]
        assert [b.status for b in read.beads] == [b.status for b in state.beads]
        assert (read.document.zh, read.document.en) == (state.document.zh, state.document.en)


def test_tune_refuses_a_tsv_review_did_not_save_in_one_line(tmp_path, capsys):
    from align.reviewing import ReviewBead, ReviewDocument, ReviewState, reviewed_frame
    from align.writing import write_output

    document = ReviewDocument(("甲。", "乙。"), ("A.", "B."), ("body",) * 2, ("body",) * 2)
    state = ReviewState(document, (ReviewBead((0,), (0,), 0.9), ReviewBead((1,), (1,), 0.8)))
    aligned = tmp_path / "aligned.tsv"
    write_output(reviewed_frame(state).drop(columns="status"), aligned, "tsv")  # as `zhalign align` writes it
    folder = gold_folder(tmp_path / "mine")
    for given in ([str(aligned)], [str(folder), str(aligned)]):
        assert main(["tune", *given, "-o", str(tmp_path / "my.json")]) == 1
        error = capsys.readouterr().err.strip().splitlines()
        assert error == [f"zhalign: error: {aligned}: not a TSV `zhalign review` saved (no status column); give "
                         "reviewed TSVs or gold folders"]
    assert main(["tune", str(tmp_path / "nothing.tsv"), "-o", str(tmp_path / "my.json")]) == 1
    assert capsys.readouterr().err.strip() == f"zhalign: error: {tmp_path / 'nothing.tsv'}: no such file or folder"
    assert not (tmp_path / "my.json").exists()
