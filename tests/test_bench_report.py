"""align.bench_report: pair quality (exact unions of whole gold beads) and false deletions, on constructed beads;
align.bench reading novels and several folders."""
from pathlib import Path

import pytest

from align.bench import load_benches, novel_of, read_novels
from align.bench_report import exactly_right, false_deletions, owners, pair_quality
from align.errors import InputError

# Gold of one small chapter: 1-1, 1-2, 1-1, an English sentence left unaligned, 2-1.
GOLD = [((0,), (0,)), ((1,), (1, 2)), ((2,), (3,)), ((), (4,)), ((3, 4), (5,))]


def right(zh, en) -> bool:
    return exactly_right((zh, en), *owners(GOLD), GOLD)


def test_a_gold_bead_and_a_union_of_consecutive_whole_two_sided_beads_are_exactly_right():
    assert right((1,), (1, 2))
    assert right((0, 1), (0, 1, 2))  # two whole gold beads merged: no translation lost
    assert right((0, 1, 2), (0, 1, 2, 3))


@pytest.mark.parametrize("zh, en", [
    ((1,), (1,)),            # part of a gold bead
    ((0, 1), (0, 1)),        # one whole bead and part of the next
    ((0, 2), (0, 3)),        # two whole beads that are not consecutive
    ((2, 3, 4), (3, 4, 5)),  # a union across a gold bead with one side empty
    ((0,), (1, 2)),          # right sizes, wrong sentences
])
def test_anything_else_is_not(zh, en):
    assert not right(zh, en)


def test_pair_quality_keeps_beads_at_the_floor_and_counts_the_right_ones_coverage():
    predicted = {"c": [((0,), (0,), 0.95), ((1,), (1,), 0.92), ((), (2,), 0.1), ((2,), (3,), 0.6),
                       ((), (4,), 0.0), ((3, 4), (5,), 0.4)]}
    at_09 = pair_quality({"c": GOLD}, predicted, 0.9)
    assert (at_09["pairs"], at_09["right"]) == (2, 1)
    assert at_09["coverage"] == pytest.approx(2 / 11)  # 5 zh + 6 en sentences in the gold
    at_05 = pair_quality({"c": GOLD}, predicted, 0.5)
    assert (at_05["pairs"], at_05["right"]) == (3, 2) and at_05["coverage"] == pytest.approx(4 / 11)
    every = pair_quality({"c": GOLD}, {"c": [b[:2] for b in predicted["c"]]}, None)  # unscored output
    assert (every["pairs"], every["right"]) == (4, 3) and every["coverage"] == pytest.approx(7 / 11)


def test_false_deletions_count_what_the_gold_aligns_and_everything_on_files_with_no_omission():
    clean_gold = [((0,), (0,)), ((1,), (1,))]
    predicted = {"c": [((0,), (0,)), ((1,), (1, 2)), ((2,), (3,)), ((), (4,)), ((3,), ()), ((4,), (5,))],
                 "d": [((0,), ()), ((), (0,)), ((1,), (1,))]}
    found = false_deletions({"c": GOLD, "d": clean_gold}, predicted)
    assert found["wrong"] == 1 + 2  # zh 3 in c (gold aligns it; en 4 is rightly unaligned), both sides in d
    assert found["wrong_per_1000"] == pytest.approx(1000 * 3 / 15)
    assert (found["clean_files"], found["clean_unaligned"]) == (1, 2)
    assert found["clean_per_1000"] == pytest.approx(1000 * 2 / 4)


def write_bench(folder: Path, names: list[str], novels: dict[str, str] | None) -> Path:
    for side in ("zh", "en", "gold"):
        (folder / side).mkdir(parents=True)
    for name in names:
        (folder / "zh" / name).write_text("一。\n二。\n", "utf-8")
        (folder / "en" / name).write_text("One.\nTwo.\n", "utf-8")
        (folder / "gold" / name).write_text("[0]:[0]\n[1]:[1]\n", "utf-8")
    if novels is not None:
        (folder / "meta_data.tsv").write_text("text_id\tbook_id\ttitle\n" + "".join(
            f"{name}\t{book}\tt\n" for name, book in novels.items()), "utf-8")
    return folder


def test_novels_come_from_each_folders_meta_data_and_deletion_versions_follow_their_chapter(tmp_path):
    dev = write_bench(tmp_path / "dev", ["001", "002"], {"001": "001", "002": "002"})
    train = write_bench(tmp_path / "train", ["007"], {"007": "001"})
    of = novel_of(read_novels([dev, train]))
    assert [of(name) for name in ("001", "002", "007", "deletions/007")] == ["001", "002", "001", "001"]
    with pytest.raises(InputError, match="meta_data.tsv"):
        read_novels([write_bench(tmp_path / "bare", ["003"], None)])


def test_several_folders_with_a_file_name_in_common_are_a_clear_error(tmp_path):
    class Encoder:  # enough of one for load_bench (preparing.prepare_side): a vector per sentence
        centring = None

        def encode(self, texts, *_, **__):
            import numpy as np
            return np.ones((len(texts), 2))

        def lengths(self, texts):
            return [len(t) for t in texts]

    one = write_bench(tmp_path / "one", ["001"], None)
    assert sorted(load_benches([one, write_bench(tmp_path / "two", ["002"], None)], Encoder())) == ["001", "002"]
    with pytest.raises(InputError, match="001 also in an earlier"):
        load_benches([one, write_bench(tmp_path / "three", ["001"], None)], Encoder())
