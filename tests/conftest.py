"""What the tests share: the sample pair, one encoder for the whole session, the
sample aligned once, the rule for tests that read ../shared, the builders of batch
manifests and sample pieces, and a signal sent to a command line run (sigint_at_default
starts one that can get Ctrl-C).

The model is loaded once and every text it embeds is kept for the session, so
tests that align the same sentences again embed nothing. Set ZHALIGN_CACHE to
a folder to keep those vectors between runs too (the persistent cache of
align.caching); MAC-Dev then costs its embedding only once.
"""
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest

from mac_corpus import SHARED, sample_piece

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ZH_SAMPLE = DATA / "zaker-zh-core-technology.md"
EN_SAMPLE = DATA / "xinhua-en-core-technology.txt"


def pytest_runtest_setup(item):
    """Tests marked `shared("seeds")` (or any path under ../shared) skip when it is absent."""
    for marker in item.iter_markers("shared"):
        needed = SHARED.joinpath(*marker.args)
        if not needed.exists():
            pytest.skip(f"needs {needed} (the shared seeds and benchmark beside the project), which is absent")


@pytest.fixture(scope="session")
def encoder():
    """The default model, loaded once; with $ZHALIGN_CACHE set, backed by that persistent cache."""
    from align.caching import attach_cache
    from align.embedding import load_encoder

    loaded = load_encoder()
    if os.environ.get("ZHALIGN_CACHE"):
        attach_cache(loaded)
    return loaded


@pytest.fixture(scope="session")
def sample_result(encoder):
    """The sample pair aligned once with the default model, shared by the tests that read it."""
    from align.pipeline import align_pair

    return align_pair(ZH_SAMPLE, EN_SAMPLE, model=encoder, progress=False)


# A small parallel pair and the CLI as a user runs it, for the tests of bad input
# (test_reading, test_cli, test_checking, test_pipeline, test_writing).

ZH_LINES = ["今天天气很好。", "我们去公园散步。", "公园里有很多花。", "孩子们在草地上玩耍。", "傍晚我们回家吃饭。",
            "晚饭后大家一起看电视。"]
EN_LINES = ["The weather is nice today.", "We went for a walk in the park.", "There are many flowers in the park.",
            "The children are playing on the grass.", "In the evening we went home for dinner.",
            "After dinner everyone watched TV together."]
ZH_TEXT = "".join(ZH_LINES[:3]) + "\n\n" + "".join(ZH_LINES[3:]) + "\n"
EN_TEXT = " ".join(EN_LINES[:3]) + "\n\n" + " ".join(EN_LINES[3:]) + "\n"


def run_cli(*args, timeout=600, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "align", "align", *map(str, args), "--no-progress"],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kwargs)


def assert_one_line_error(done: subprocess.CompletedProcess, *named: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("zhalign: error: ") and "Traceback" not in done.stderr
    for name in named:
        assert name in lines[0], lines[0]
    return lines[0]


def sigint_at_default() -> None:
    """preexec_fn of a command line run a test interrupts with SIGINT. Started from a shell's background job
    (`pytest ... &` in a script), the tests run with SIGINT ignored, a child inherits that and Python then
    leaves it ignored: the run never sees the Ctrl-C, ends with exit 0 and replaces its output."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_when(process: subprocess.Popen, ready: Callable[[], bool], sig: int, timeout: float = 300,
                poll: float = 0.2) -> str:
    """Send `sig` to a running `process` once ready() holds, and return its stderr when it has ended.

    Waits until ready(), the process ends or `timeout` seconds pass (asking every `poll` seconds);
    the process must still be running then (else there is nothing to interrupt). It is killed if
    anything goes wrong.
    """
    try:
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline and not ready():
            time.sleep(poll)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return stderr


def write_manifest(path: Path, pairs: Iterable[Sequence[str | Path]],
                   columns: Sequence[str] = ("zh_path", "en_path")) -> Path:
    """A batch manifest at `path` (TSV, as align.batching.read_manifest reads it): the header, a row a pair."""
    rows = "".join("\t".join(map(str, row)) + "\n" for row in pairs)
    path.write_text("\t".join(columns) + "\n" + rows, "utf-8")
    return path


def write_sample_pieces(folder: Path, firsts: Sequence[int], count: int = 10) -> list[tuple[Path, Path]]:
    """Pieces of the sample pair's gold, `count` beads from each of `firsts` (mac_corpus.sample_piece), one
    sentence a line, as zhK.txt and enK.txt in `folder` (K = 0, 1, ...); their paths, a pair each."""
    pairs = []
    for k, first in enumerate(firsts):
        zh_text, en_text = sample_piece(first, count)
        zh, en = folder / f"zh{k}.txt", folder / f"en{k}.txt"
        zh.write_text(zh_text, "utf-8")
        en.write_text(en_text, "utf-8")
        pairs.append((zh, en))
    return pairs


@pytest.fixture
def small_pair(tmp_path):
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text(ZH_TEXT, encoding="utf-8")
    en.write_text(EN_TEXT, encoding="utf-8")
    return zh, en
