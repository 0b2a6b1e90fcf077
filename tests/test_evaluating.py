"""The bead metric against hand-checked counts and Bertalign's published MAC-Dev score."""
import pytest

from align.evaluating import evaluate, evaluate_paths, read_alignment, score_pair
from mac_corpus import MAC as MAC_DEV


def test_strict_and_lax_by_hand():
    gold = [((0, 1), (0,)), ((2,), (1, 2)), ((3,), ()), ((4,), (3,))]
    pred = [((0,), (0,)), ((1,), ()), ((2,), (1, 2)), ((3,), ()), ((4,), (3,))]
    scores = score_pair(gold, pred).as_dict()
    # precision: 5 predicted, 3 exact; lax adds (0)-(0) (overlaps gold bead 0); (1)-() overlaps nothing.
    assert scores["strict_precision"] == pytest.approx(3 / 5)
    assert scores["lax_precision"] == pytest.approx(4 / 5)
    # recall over beads with both sides: gold 3, of which 2 found exactly; the third overlaps (0)-(0).
    assert scores["strict_recall"] == pytest.approx(2 / 3)
    assert scores["lax_recall"] == pytest.approx(1.0)


def test_breakdowns():
    gold = [((0,), (0,)), ((1,), (1, 2))]
    pred = [((0,), (0,)), ((1,), (1,)), ((), (2,))]
    result = evaluate({"a": (gold, pred)})
    assert result["by_type"]["1-1"]["strict_precision"] == pytest.approx(0.5)
    assert result["by_type"]["1-2"]["strict_recall"] == 0.0
    assert result["by_file"]["a"]["gold_beads"] == 2


@pytest.mark.shared("bench", "mac-dev")
def test_reproduces_bertalign_score_on_mac_dev():
    result = evaluate_paths(MAC_DEV / "gold", MAC_DEV / "bertalign-labse")["pooled"]
    assert result["strict_precision"] == pytest.approx(0.909, abs=5e-4)
    assert result["strict_recall"] == pytest.approx(0.914, abs=5e-4)
    assert result["strict_f1"] == pytest.approx(0.911, abs=5e-4)
    assert result["lax_f1"] == pytest.approx(0.998, abs=5e-4)


def test_reads_our_tsv(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("zh\ten\tscore\ttype\tzh_ids\ten_ids\n一\tOne\t0.9\t1-1\t[0]\t[0]\n\tTwo\t0\t0-1\t[]\t[1]\n", "utf-8")
    assert read_alignment(path) == [((0,), (0,)), ((), (1,))]
