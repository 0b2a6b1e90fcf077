"""The bead metric against hand-checked counts and Bertalign's published MAC-Dev score."""
import pandas as pd
import pytest

from align.errors import InputError
from align.evaluating import evaluate, evaluate_paths, format_report, read_alignment, score_pair
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


@pytest.mark.shared("bench", "mac-dev")  # kept: Bertalign's published figure is for MAC-Dev, its output is there
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


def test_reads_vecalign_output_with_costs(tmp_path):
    path = tmp_path / "vecalign.out"
    path.write_text("[0]:[0]:0.1234\n[1, 2]:[1]:0.087654\n[3]:[]:0.000000\n[]:[2]:1\n", "utf-8")
    assert read_alignment(path) == [((0,), (0,)), ((1, 2), (1,)), ((3,), ()), ((), (2,))]
    path.write_text("[0]:[0]:cheap\n", "utf-8")
    with pytest.raises(InputError, match=r"vecalign\.out:1: not a bead line"):
        read_alignment(path)


def test_our_vecalign_format_scores_like_our_index_format(tmp_path):
    from align.writing import frame_to_index, frame_to_vecalign

    frame = pd.DataFrame({"zh_ids": [[0], [1, 2], []], "en_ids": [[0], [1], [2]], "score": [0.9, 0.5, 0.0]})
    (tmp_path / "a.index").write_text(frame_to_index(frame), "utf-8")
    (tmp_path / "a.vecalign").write_text(frame_to_vecalign(frame), "utf-8")
    assert read_alignment(tmp_path / "a.vecalign") == read_alignment(tmp_path / "a.index")


def test_missing_paths_are_named(tmp_path):
    gold = tmp_path / "gold"
    gold.write_text("[0]:[0]\n", "utf-8")
    with pytest.raises(InputError, match=f"{tmp_path / 'nope.tsv'}: no such file or directory"):
        evaluate_paths(gold, tmp_path / "nope.tsv")
    with pytest.raises(InputError, match=f"{tmp_path / 'absent'}: no such file or directory"):
        evaluate_paths(tmp_path / "absent", gold)


def test_cli_eval_missing_path_is_one_line(tmp_path, capsys):
    from align.cli import main

    assert main(["eval", str(tmp_path / "gold"), str(tmp_path / "pred")]) == 1
    err = capsys.readouterr().err
    assert err == f"zhalign: error: {tmp_path / 'gold'}: no such file or directory\n"


def test_deletion_precision_and_recall_pooled_over_files():
    gold_a = [((0,), (0,)), ((1,), ()), ((2,), (1,)), ((), (2,))]
    pred_a = [((0,), (0,)), ((1,), ()), ((2,), (1, 2))]          # finds zh 1, absorbs en 2
    gold_b = [((0,), (0,)), ((1,), (1,))]
    pred_b = [((0,), ()), ((), (0,)), ((1,), (1,))]              # a 1-1 split into 1-0 + 0-1
    result = evaluate({"a": (gold_a, pred_a), "b": (gold_b, pred_b)})
    assert result["deletions"] == {"precision": pytest.approx(1 / 3), "recall": pytest.approx(1 / 2),
                                   "gold": 2, "predicted": 3, "correct": 1}
    assert "unaligned sentences (1-0, 0-1): precision 0.333, recall 0.500 (1 right of 3 predicted; 2 in gold)" \
        in format_report(result)
    assert "unaligned" not in format_report(evaluate({"b": (gold_b, gold_b)}))  # none anywhere: no line


def test_bench_out_folder_holds_beads_only_and_the_report_names_what_made_them(encoder, tmp_path, monkeypatch, capsys):
    """Other evaluation scripts read every file of `align.bench --out DIR` as beads, so the
    signature goes into the report, not beside the files."""
    from mac_corpus import sample_beads, sample_piece

    import align
    import align.bench
    from align.weights import WEIGHTS_DIR, Weights
    from align.writing import format_ids

    bench = tmp_path / "bench"
    for name, first in (("001", 10), ("002", 40)):  # two pieces of the sample's gold, laid out as MAC-Dev is
        zh, en = sample_piece(first, 12)
        for side, text in (("zh", zh), ("en", en)):
            (bench / side).mkdir(parents=True, exist_ok=True)
            (bench / side / name).write_text(text, encoding="utf-8")
        beads = sample_beads()[first:first + 12]
        zh0, en0 = min(i for z, _ in beads for i in z), min(j for _, e in beads for j in e)
        (bench / "gold").mkdir(exist_ok=True)
        (bench / "gold" / name).write_text("".join(
            f"{format_ids([i - zh0 for i in z])}:{format_ids([j - en0 for j in e])}\n" for z, e in beads))
    monkeypatch.setattr(align.bench, "load_encoder", lambda model: encoder)
    assert align.bench.main([str(bench), "--out", str(tmp_path / "out"), "--no-cache"]) == 0
    report = capsys.readouterr().out
    made_by = [line for line in report.splitlines() if line.startswith("signature: ")]
    assert len(made_by) == 1
    parts = made_by[0].removeprefix("signature: ").split("|")
    assert parts[:3] == [f"zhalign {align.__version__}", f"model:{encoder.model_id}",
                         f"weights:{Weights.load(WEIGHTS_DIR / encoder.spec.scorer).id}"]  # the model's own weights
    assert "input_format:lines+lines" in parts  # the bench reads one sentence a line ...
    assert "encoding:utf-8+utf-8" in parts  # ... in UTF-8, whatever the files would be detected as
    assert "max_bead:6" in parts and "skip:fitted" in parts  # and the default settings
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["001", "002"]
    for name in ("001", "002"):
        lines = (tmp_path / "out" / name).read_text().splitlines()
        assert lines and all(line.startswith("[") and "]:[" in line for line in lines)
        assert read_alignment(tmp_path / "out" / name)  # the format eval reads


# --- invalid predictions and gold (issue 29) ------------------------------------------------

SAMPLE_GOLD = __import__("pathlib").Path(__file__).resolve().parent.parent / "data" / "gold" / "core-technology.gold"


def _eval(capsys, *argv):
    from align.cli import main

    code = main(["eval", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_gold_twice_is_an_error_naming_the_prediction(tmp_path, capsys):
    doubled = tmp_path / "dup.idx"
    doubled.write_text(SAMPLE_GOLD.read_text("utf-8") * 2, "utf-8")
    code, out, err = _eval(capsys, SAMPLE_GOLD, doubled)
    assert code == 1 and out == ""
    assert err.startswith(f"zhalign: error: {doubled}: ") and "more than one bead" in err and err.count("\n") == 1


def test_a_prediction_must_cover_the_golds_sentences_exactly(tmp_path, capsys):
    lines = SAMPLE_GOLD.read_text("utf-8").splitlines()
    assert lines[-1] == "[]:[129]" and lines[3] == "[0]:[3]"
    cases = {
        "unknown.idx": (lines + ["[]:[130]"], "en sentence 130 is not in the gold"),
        "missing.idx": (lines[:-1], "leaves out en sentence 129"),
        "overlap.idx": (lines[:3] + ["[0, 1]:[3]"] + lines[4:], "zh sentence 1 is in more than one bead"),
    }
    for name, (bead_lines, message) in cases.items():
        path = tmp_path / name
        path.write_text("\n".join(bead_lines) + "\n", "utf-8")
        code, out, err = _eval(capsys, SAMPLE_GOLD, path)
        assert code == 1 and out == "", name
        assert err.startswith(f"zhalign: error: {path}: ") and message in err and err.count("\n") == 1, err


def test_a_gold_with_a_repeated_sentence_is_an_error_naming_it(tmp_path, capsys):
    gold = tmp_path / "gold.idx"
    gold.write_text("[0]:[0]\n[0]:[1]\n", "utf-8")
    pred = tmp_path / "pred.idx"
    pred.write_text("[0]:[0, 1]\n", "utf-8")
    code, _, err = _eval(capsys, gold, pred)
    assert code == 1 and err == f"zhalign: error: {gold}: zh sentence 0 is in more than one bead\n"


def _folders(tmp_path, names=("001", "002", "003"), predicted=("001",)):
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    gold.mkdir(parents=True)
    pred.mkdir()
    for name in names:
        (gold / name).write_text("[0]:[0]\n[1]:[1, 2]\n[]:[3]\n", "utf-8")
    for name in predicted:
        (pred / f"{name}.idx").write_text("[0]:[0]\n[1]:[1]\n[]:[2]\n[]:[3]\n", "utf-8")
    return gold, pred


def test_a_prediction_folder_missing_files_is_an_error_unless_partial(tmp_path, capsys):
    gold, pred = _folders(tmp_path)
    code, out, err = _eval(capsys, gold, pred)
    assert code == 1 and out == ""
    assert err == (f"zhalign: error: {pred}: no prediction for 2 of 3 gold files in {gold} (002, 003); "
                   "--partial scores those there are\n")
    code, out, err = _eval(capsys, gold, pred, "--partial")
    assert code == 0 and err == ""
    assert "not scored: 2 of 3 gold files have no prediction (002, 003)" in out
    result = evaluate_paths(gold, pred, partial=True)
    assert result["missing"] == ["002", "003"] and list(result["by_file"]) == ["001"]


def test_by_type_counts_a_gold_unaligned_sentence_found_when_left_unaligned():
    gold = read_alignment(SAMPLE_GOLD)
    result = evaluate({"sample": (gold, gold)})
    row = result["by_type"]["0-1"]
    assert row["gold_beads"] == 9 and row["strict_recall"] == 1.0 and row["lax_recall"] == 1.0
    # A prediction that aligns the byline (en 2) with something finds 8 of the 9.
    pred = [b for b in gold if b != ((), (2,)) and b != ((0,), (3,))] + [((0,), (2, 3))]
    assert ((0,), (3,)) in gold
    result = evaluate({"sample": (gold, pred)})
    assert result["by_type"]["0-1"]["strict_recall"] == pytest.approx(8 / 9)
    assert result["deletions"]["recall"] == pytest.approx(8 / 9)


def test_a_gold_folder_against_one_prediction_file(tmp_path, capsys):
    pred = tmp_path / "out.idx"
    pred.write_text(SAMPLE_GOLD.read_text("utf-8"), "utf-8")
    code, out, err = _eval(capsys, SAMPLE_GOLD.parent, pred)  # data/gold also holds README.md, .zh and .en
    assert (code, err) == (0, "") and out.splitlines()[1].split()[:4] == ["all", "1.000", "1.000", "1.000"]
    gold, _ = _folders(tmp_path / "two", names=("001", "002"), predicted=())
    code, out, err = _eval(capsys, gold, pred)
    assert code == 1 and err == (f"zhalign: error: {gold} holds 2 gold files (001, 002) and none is named like "
                                 f"{pred.name}: give the gold file, or a folder of predictions named like them\n")
    named = tmp_path / "002.tsv"
    named.write_text("zh\ten\tscore\ttype\tzh_ids\ten_ids\n一\tOne\t1\t1-1\t[0]\t[0]\n二\tTwo\t1\t1-2\t[1]\t[1, 2]\n"
                     "\tThree\t0\t0-1\t[]\t[3]\n", "utf-8")
    code, out, err = _eval(capsys, gold, named, "--by-file")
    assert code == 0 and "002 " in out and out.splitlines()[1].split()[1] == "1.000"


def test_bead_files_with_a_utf8_bom_are_read(tmp_path, capsys):
    for name in ("gold.idx", "pred.idx"):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf[]:[0]\n[0]:[1]\n")
    assert read_alignment(tmp_path / "gold.idx") == [((), (0,)), ((0,), (1,))]
    code, out, err = _eval(capsys, tmp_path / "gold.idx", tmp_path / "pred.idx")
    assert code == 0 and out.splitlines()[1].split()[1] == "1.000"
