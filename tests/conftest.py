from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
ZH_SAMPLE = DATA / "zaker-zh-core-technology.md"
EN_SAMPLE = DATA / "xinhua-en-core-technology.txt"


@pytest.fixture(scope="session")
def sample_result():
    """The sample pair aligned once with the default model, shared by the tests that read it."""
    from align.pipeline import align_pair

    return align_pair(ZH_SAMPLE, EN_SAMPLE, progress=False)
