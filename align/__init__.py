"""zhalign: Chinese-English sentence alignment.

    >>> from align import align_texts
    >>> frame = align_texts("data/zaker-zh-core-technology.md", "data/xinhua-en-core-technology.txt")

Stages, one module each: reading -> segmenting -> embedding -> aligning -> writing,
and evaluating to score an alignment against gold.
"""
__version__ = "0.1.0"

from align.pipeline import PairResult, align_pair, align_texts  # noqa: E402

__all__ = ["align_pair", "align_texts", "PairResult", "__version__"]
