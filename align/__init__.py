"""zhalign: Chinese-English sentence alignment.

    >>> from align import align_texts
    >>> frame = align_texts("data/zaker-zh-core-technology.md", "data/xinhua-en-core-technology.txt")

Stages, one module each: reading -> segmenting -> embedding -> aligning -> writing,
and evaluating to score an alignment against gold. `import align` itself loads
nothing heavy: the API names below import the pipeline on first use.
"""
__version__ = "0.10.0"

_LAZY = {"PairResult": "align.pipeline", "align_pair": "align.pipeline", "align_texts": "align.pipeline"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once imported, an ordinary attribute
        return value
    raise AttributeError(f"module 'align' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["align_pair", "align_texts", "PairResult", "__version__"]
