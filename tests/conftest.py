"""What the tests share: the sample pair, one encoder for the whole session, the
sample aligned once, and the rule for tests that read ../shared.

The model is loaded once and every text it embeds is kept for the session, so
tests that align the same sentences again embed nothing. Set ZHALIGN_CACHE to
a folder to keep those vectors between runs too (the persistent cache of
align.caching); MAC-Dev then costs its embedding only once.
"""
import os
from pathlib import Path

import pytest

from mac_corpus import SHARED

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
