"""scripts/make_deletions.py: a benchmark with sentences made unaligned, on a small constructed bench."""
import importlib.util
import json
import random
from pathlib import Path

import pytest

from align.evaluating import read_alignment

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_deletions", ROOT / "scripts" / "make_deletions.py")
make_deletions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_deletions)


def make_bench(folder: Path, chapters: int = 2, beads: int = 60) -> Path:
    """Chapters of mostly 1-1 beads, every fifth a 1-2, one 0-1 already in the gold; every line unique."""
    for side in ("zh", "en", "gold"):
        (folder / side).mkdir(parents=True)
    for c in range(chapters):
        zh, en, gold = [], [], []
        for k in range(beads):
            zh_count = 0 if k == 7 else 1
            en_count = 2 if k % 5 == 0 else 1
            zh_ids = list(range(len(zh), len(zh) + zh_count))
            en_ids = list(range(len(en), len(en) + en_count))
            zh += [f"第{c}章第{k}句。"] * zh_count
            en += [f"Chapter {c} sentence {k} part {p}." for p in range(en_count)]
            gold.append(f"{zh_ids}:{en_ids}".replace(" ", ""))
        name = f"{c + 1:03d}"
        (folder / "zh" / name).write_text("\n".join(zh) + "\n", "utf-8")
        (folder / "en" / name).write_text("\n".join(en) + "\n", "utf-8")
        (folder / "gold" / name).write_text("\n".join(gold) + "\n", "utf-8")
    return folder


def chapter(folder: Path, name: str):
    zh = (folder / "zh" / name).read_text("utf-8").splitlines()
    en = (folder / "en" / name).read_text("utf-8").splitlines()
    return [([zh[i] for i in z], [en[j] for j in e]) for z, e in read_alignment(folder / "gold" / name)]


def is_copy(bead, previous) -> bool:
    """Is this unaligned bead the second writing of the previous bead's last line on its side?"""
    zh, en = bead
    return bool(previous) and ((zh and not en and zh == previous[0][-1:]) or (en and not zh and en == previous[1][-1:]))


def no_two_unaligned_beads_touch(beads) -> bool:
    unaligned = [k for k, (zh, en) in enumerate(beads) if not zh or not en]
    return all(b - a > 1 for a, b in zip(unaligned, unaligned[1:]))


def test_deletion_set_gold_matches_what_was_removed_and_added(tmp_path):
    bench = make_bench(tmp_path / "bench")
    counts = make_deletions.make_deletion_set(bench, tmp_path / "out", seed=4)
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "gold").iterdir()) == ["001", "002"]
    assert json.loads((out / "deletions.json").read_text("utf-8"))["counts"] == counts
    kinds = dict.fromkeys(("english_omitted", "chinese_omitted", "repeated_line", "byline"), 0)
    for name in ("001", "002"):
        before, after = chapter(bench, name), chapter(out, name)
        sentences = sum(len(z) + len(e) for z, e in before)
        unaligned_before = sum(len(z) + len(e) for z, e in before if not z or not e)
        unaligned_after = sum(len(z) + len(e) for z, e in after if not z or not e)
        assert unaligned_after - unaligned_before == round(0.05 * sentences)
        assert no_two_unaligned_beads_touch(after)
        # Walk the new gold against the old: each old bead is kept, or emptied on one side,
        # and may be followed by a copy of its last line; a byline opens or closes the chapter.
        old = iter(before)
        for k, bead in enumerate(after):
            zh, en = bead
            if not zh and en[0] in make_deletions.BYLINES:
                assert k in (0, len(after) - 1)
                kinds["byline"] += 1
            elif (not zh or not en) and is_copy(bead, after[k - 1] if k else None):
                kinds["repeated_line"] += 1
            else:
                original = next(old)
                if bead != original:  # a 1-1 bead with one side dropped
                    assert len(original[0]) == len(original[1]) == 1
                    assert bead in ((original[0], []), ([], original[1]))
                    kinds["english_omitted" if zh else "chinese_omitted"] += 1
        assert next(old, None) is None
    assert kinds == {kind: counts[kind] for kind in kinds}
    assert min(kinds.values()) >= 1 and counts["byline"] == 2


def test_deletion_set_is_deterministic_by_seed(tmp_path):
    bench = make_bench(tmp_path / "bench")
    make_deletions.make_deletion_set(bench, tmp_path / "a", seed=1)
    make_deletions.make_deletion_set(bench, tmp_path / "b", seed=1)
    make_deletions.make_deletion_set(bench, tmp_path / "c", seed=2)
    files = [f"{side}/{name}" for side in ("zh", "en", "gold") for name in ("001", "002")]
    read = lambda folder: [(tmp_path / folder / f).read_text("utf-8") for f in files]  # noqa: E731
    assert read("a") == read("b") and read("a") != read("c")


def test_refuses_to_write_into_shared_data_the_input_or_a_foreign_folder(tmp_path):
    bench = make_bench(tmp_path / "bench")
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine", "utf-8")
    for out, message in ((bench, "the input"), (bench / "del", "the input"), (tmp_path, "the input"),
                         (make_deletions.SHARED / "bench" / "mac-del", "the shared folder"),
                         (ROOT / "mac-del", "the project"), (foreign, "not a deletion set")):
        with pytest.raises(ValueError, match=message):
            make_deletions.make_deletion_set(bench, out, seed=0)
    assert not (make_deletions.SHARED / "bench" / "mac-del").exists() and not (ROOT / "mac-del").exists()
    assert [p.name for p in foreign.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench", "notes"]  # nothing half-written


def test_replaces_its_own_earlier_output_whole(tmp_path):
    bench = make_bench(tmp_path / "bench")
    out = tmp_path / "out"
    make_deletions.make_deletion_set(bench, out, seed=1)
    (out / "gold" / "999").write_text("[0]:[0]\n", "utf-8")  # a file the new set does not have
    make_deletions.make_deletion_set(bench, out, seed=2)
    assert sorted(p.name for p in (out / "gold").iterdir()) == ["001", "002"]
    assert json.loads((out / "deletions.json").read_text("utf-8"))["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench", "out"]


def test_gold_that_does_not_cover_the_lines_is_a_clear_error(tmp_path, capsys):
    bench = make_bench(tmp_path / "bench", chapters=1)
    (bench / "zh" / "001").write_text((bench / "zh" / "001").read_text("utf-8") + "多出来的一句。\n", "utf-8")
    assert make_deletions.main([str(bench), str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "gold/001" in error and "zh/001" in error
    assert not (tmp_path / "out").exists()


def test_corrupt_chapter_keeps_every_kept_sentence_once_and_spaces_the_changes():
    beads = [([f"zh{k}"], [f"en{k}"]) for k in range(100)]
    corrupted, kinds = make_deletions.corrupt_chapter(beads, random.Random(7))
    assert sum(kinds.values()) == round(0.05 * 200) == 10
    zh = [t for z, _ in corrupted for t in z]
    en = [t for _, e in corrupted for t in e]
    assert len(set(zh)) == 100 - kinds["chinese_omitted"]
    assert len(set(en)) == 100 - kinds["english_omitted"] + kinds["byline"]
    assert (len(zh) - len(set(zh))) + (len(en) - len(set(en))) == kinds["repeated_line"]
    assert no_two_unaligned_beads_touch(corrupted)


def test_several_folders_make_one_set_each_chapter_as_alone(tmp_path):
    first = make_bench(tmp_path / "first")
    second = make_bench(tmp_path / "second")
    for side in ("zh", "en", "gold"):  # MAC-Train's chapters are numbered on from MAC-Dev's
        for old, new in (("002", "004"), ("001", "003")):
            (second / side / old).rename(second / side / new)
    make_deletions.make_deletion_set([first, second], tmp_path / "both", seed=3)
    make_deletions.make_deletion_set(second, tmp_path / "alone", seed=3)
    assert sorted(p.name for p in (tmp_path / "both" / "gold").iterdir()) == ["001", "002", "003", "004"]
    for side in ("zh", "en", "gold"):
        assert (tmp_path / "both" / side / "003").read_text("utf-8") == (tmp_path / "alone" / side / "003").read_text("utf-8")
    record = json.loads((tmp_path / "both" / "deletions.json").read_text("utf-8"))
    assert record["files"] == 4 and len(record["source"]) == 2
    assert make_deletions.main([str(first), str(make_bench(tmp_path / "clash")), str(tmp_path / "no")]) == 1
    assert not (tmp_path / "no").exists()
