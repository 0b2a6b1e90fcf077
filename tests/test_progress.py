"""Progress: bars and status lines on a terminal for every slow stage, nothing in a redirected log."""
import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from align import progress
from conftest import write_manifest
from mac_corpus import sample_piece


def piece_files(folder, first=10, count=12):
    """`count` gold beads of the sample from bead `first`, one sentence a line, as zh-FIRST.txt and en-FIRST.txt."""
    zh_text, en_text = sample_piece(first, count)
    zh, en = folder / f"zh-{first}.txt", folder / f"en-{first}.txt"
    zh.write_text(zh_text, "utf-8")
    en.write_text(en_text, "utf-8")
    return zh, en


def zhalign(*args, cache_dir):
    return [sys.executable, "-m", "align", *map(str, args)], dict(os.environ, ZHALIGN_CACHE=str(cache_dir))


def stderr_on_terminal(command, env, timeout=600) -> str:
    """Run with stderr on a pseudo-terminal 120 columns wide; what it wrote there."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    written = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                raise TimeoutError(command)
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(leader)
        assert child.wait(timeout=60) == 0, written.decode("utf-8", "replace")
    return written.decode("utf-8", "replace")


def redrawn(written: str) -> bool:
    """A line drawn over: a carriage return that does not end a line (a terminal writes \\r\\n for \\n)."""
    return re.search("\r(?!\n)", written) is not None


def test_show_progress_asks_the_terminal_unless_told(monkeypatch):
    class Stream(io.StringIO):
        def __init__(self, terminal):
            super().__init__()
            self.terminal = terminal

        def isatty(self):
            return self.terminal

    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert progress.show_progress(None) and progress.show_progress(True) and not progress.show_progress(False)
    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert not progress.show_progress(None) and progress.show_progress(True) and not progress.show_progress(False)


def test_status_line_ticks_and_is_erased(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.05)
    with progress.status("aligning 3 x 4 sentences", show=True):
        time.sleep(0.3)
    written = terminal.getvalue()
    assert written.count("aligning 3 x 4 sentences… 00:0") >= 3  # drawn, then redrawn as its clock runs
    assert written.endswith("\r") or written.rstrip(" ").endswith("\r")  # and cleared at the end
    with progress.status("hidden", show=False):
        pass
    assert "hidden" not in terminal.getvalue()


@pytest.mark.slow  # the model in a subprocess
def test_every_stage_shows_on_a_terminal(tmp_path):
    zh, en = piece_files(tmp_path)  # 12 beads: far fewer sentences than the old bar's threshold of 200
    command, env = zhalign("plot", zh, en, "--input-format", "lines", "-o", tmp_path / "plot.png",
                           cache_dir=tmp_path / "cache")
    written = stderr_on_terminal(command, env)
    for stage in ("reading…", "loading model e5+use…", "embedding zh", "embedding en", "aligning ",
                  "checking that the pair is parallel…", "plotting "):
        assert stage in written, (stage, written)
    assert redrawn(written)

    command, env = zhalign("align", zh, en, "--input-format", "lines", "-o", tmp_path / "out.tsv", "--no-progress",
                           cache_dir=tmp_path / "cache")
    quiet = stderr_on_terminal(command, env)
    assert not redrawn(quiet)
    lines = quiet.splitlines()  # the summary and the signature alone
    zh_count, en_count = (len(path.read_text("utf-8").splitlines()) for path in (zh, en))
    assert len(lines) == 2 and lines[0].startswith(f"{zh_count} zh and {en_count} en sentences -> ")
    assert lines[1].startswith("signature: ")


@pytest.mark.slow  # pair and batch start Dask in a subprocess
@pytest.mark.parametrize("command", ["pair", "batch"])
def test_redirected_stderr_gets_summary_lines_only(tmp_path, command):
    docs = tmp_path / "docs"
    docs.mkdir()
    (zh1, en1), (zh2, en2) = piece_files(docs, 10), piece_files(docs, 50)
    if command == "pair":
        args = ("pair", docs, "-o", tmp_path / "manifest.tsv")
    else:
        manifest = write_manifest(tmp_path / "manifest.tsv", [(zh1, en1), (zh2, en2)])
        args = ("batch", manifest, "-o", tmp_path / "out", "--input-format", "lines")
    run, env = zhalign(*args, cache_dir=tmp_path / "cache")
    with open(tmp_path / "log", "w") as log:
        done = subprocess.run(run, env=env, stdout=subprocess.DEVNULL, stderr=log, timeout=600)
    written = (tmp_path / "log").read_text("utf-8")
    assert done.returncode == 0, written
    assert "\r" not in written and "\x1b" not in written, written
    assert written.strip()  # the summary lines
    assert all(not line.startswith(("reading", "scoring", "aligning pairs")) for line in written.splitlines())
