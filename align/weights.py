"""The scorer's tuned numbers: `Weights`, their file, and what a file must hold.

Every number fitted on gold alignments for one model's vectors is here, and
so is every threshold read in the calibrated scores' terms (the parallel
check's median floor, the export's least score, the context the calibration
reads): a refit changes the weights' id, and with it what those thresholds
mean, so they live in the same file. scripts/tune_scorer.py writes the files;
align/weights-MODEL.json ship in the package, one a model (align/registry.toml
names each model's `scorer`).
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

from align.errors import InputError

WEIGHTS_DIR = Path(__file__).parent
WEIGHTS_GLOB = "weights-*.json"  # the shipped files, one a model


def is_paired(kind: str) -> bool:
    """Whether a bead shape "a-b" pairs both sides (not 1-0 or 0-1)."""
    return "0" not in kind.split("-")


# What a calibration given as a mapping (Weights.calibration: input name -> coefficient, "offset",
# and WEAK_CONTEXT_BELOW's value) may read of each paired bead of an alignment (scoring.score_inputs).
SCORE_INPUTS = ("similarity", "context", "weak_context", "beside_unaligned", "doubt")
WEAK_CONTEXT_BELOW = "weak_context_below"  # the mapping's entry: where weak_context starts


@dataclass
class Weights:
    features: dict[str, float]          # feature name -> weight (align.features.FEATURES: one for each)
    shapes: dict[str, float]            # "a-b" -> bias, for every shape the search may use
    skip_best_match: float
    size_power: float
    length_sigma: float                 # spread of log(en length / zh length) in true beads, long sentences
    length_noise: float                 # weight of short sentences' counting noise in that spread
    neighbours: int                     # k of the margin's k nearest neighbours
    rough_skip: float                   # skip cost of the first pass (a random 1-1 pair costs about 1 there)
    # The score's sigmoid (scoring.bead_score): slope, offset; or slope, context slope, offset; or
    # input name -> coefficient, with "offset" and the weak context's start (SCORE_INPUTS, above).
    calibration: tuple[float, ...] | dict[str, float]
    # Thresholds in the calibration's terms: part of the id, so a refit cannot change their meaning unseen.
    context_beads: int                  # paired beads either side whose median similarity the calibration reads
    min_median_score: float             # the parallel check's floor on the median paired bead's score (align.checking)
    min_export_score: float             # the least score of a pair `zhalign export` keeps by default (align.exporting)
    skip_repeat: float = 0.0            # added to the value of leaving out a word-for-word repeat of the sentence before
    # With shape_counts, the paired shapes' biases are not fitted one by one but read from how
    # often each shape is in the gold (with_shape_prior): shape_prior is the one knob fitted.
    shape_prior: float = 0.0
    shape_counts: dict[str, int] | None = None
    # A sentence the search left unaligned joins a neighbouring paired bead when that lowers the
    # bead's similarity by at most this (align.attaching); None: never (today's beads).
    attach_drop: float | None = None
    # A sentence the search left unaligned joins a neighbouring paired bead, however much it lowers
    # it, when the search preferred leaving it out by less than this (its doubt, align.attaching);
    # chosen on held-out alignments, not by the fit (align.attach_choice.choose_attach_doubt). None: never.
    attach_doubt: float | None = None
    provenance: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> "Weights":
        """A weights file, checked (validate): a file that lacks a number, or a
        weight for a feature, is an InputError naming the file and what it lacks.
        (A file that cannot be read, or is not JSON, raises OSError or JSONDecodeError:
        the command line names it, cli.load_weights.)"""
        path = Path(path)
        data = json.loads(path.read_text("utf-8"))
        if not isinstance(data, dict):
            raise InputError(f"{path}: not a weights file (a JSON object)")
        required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise InputError(f"{path}: not a weights file: it has no {', '.join(missing)}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"{path}: not a weights file: it has unknown entries {', '.join(unknown)}")
        calibration = data["calibration"]
        data["calibration"] = dict(calibration) if isinstance(calibration, dict) else tuple(calibration)
        weights = cls(**data)
        weights.validate(str(path))
        return weights

    def validate(self, source: str = "weights") -> None:
        """Raise InputError unless there is a weight for every registered feature
        and for no other: a missing one would silently count as 0."""
        from align.features import FEATURE_NAMES

        missing = [name for name in FEATURE_NAMES if name not in self.features]
        if missing:
            raise InputError(f"{source}: no weight for feature{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        unknown = sorted(set(self.features) - set(FEATURE_NAMES))
        if unknown:
            raise InputError(f"{source}: weights for unknown features {', '.join(unknown)}")
        if isinstance(self.calibration, dict):
            unknown = sorted(set(self.calibration) - set(SCORE_INPUTS) - {"offset", WEAK_CONTEXT_BELOW})
            if unknown or "offset" not in self.calibration:
                raise InputError(f"{source}: calibration " + (f"reads unknown inputs {', '.join(unknown)}" if unknown
                                                              else "has no offset"))
        elif len(self.calibration) not in (2, 3):
            raise InputError(f"{source}: calibration has {len(self.calibration)} numbers, not 2 or 3")

    def numbers(self) -> dict:
        """Everything that changes an alignment or its scores (not the provenance).
        A knob added later (one with a default) is left out while it has its
        default value: weights that do not use it keep their id."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "provenance"
                and (f.default is MISSING or getattr(self, f.name) != f.default)}
        data["calibration"] = dict(self.calibration) if isinstance(self.calibration, dict) else list(self.calibration)
        return data

    @property
    def id(self) -> str:
        """name#digest: the digest of the numbers, so any change shows."""
        digest = hashlib.sha256(json.dumps(self.numbers(), sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.provenance.get('name', 'weights')}#{digest}"

    @property
    def model(self) -> str | None:
        """The model whose vectors these weights were fitted for (provenance), if known."""
        return self.provenance.get("model")

    def to_json(self) -> str:
        """The weights file's text: the numbers and the provenance. Write it with
        align.writing.write_atomically, so that a fit writing over its start file
        leaves the old file or the whole new one."""
        data = self.numbers() | {"provenance": self.provenance}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def replace(self, **changes) -> "Weights":
        data = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        return Weights(**data)

    def bias(self, a: int, b: int) -> float:
        return self.shapes[f"{a}-{b}"]

    def with_shape_prior(self, strength: float, counts: dict[str, int] | None = None) -> "Weights":
        """Every paired shape's bias from the gold's shape counts (these weights' own
        by default): strength * log((count + 1) / (count of 1-1 + 1)). One knob
        instead of a bias per shape, so that a shape seen a handful of times is
        not fitted to those few beads (MAC-Dev CV strict F1 0.896 with a bias per
        shape, 0.903 with this: docs/experiments.md). 1-0 and 0-1 keep their biases:
        deletions are fitted on the synthetic set, whose rate is made up."""
        counts = dict(self.shape_counts if counts is None else counts)
        one_one = counts.get("1-1", 0) + 1
        shapes = {kind: round(strength * math.log((counts.get(kind, 0) + 1) / one_one), 4) if is_paired(kind) else bias
                  for kind, bias in self.shapes.items()}
        return self.replace(shapes=shapes, shape_prior=strength, shape_counts=counts)

    def neutral(self, keep: Iterable[str] = ()) -> "Weights":
        """Where a fit starts that owes nothing to earlier tuning: the cosine
        alone, every shape's bias 0, a flat skip cost of 1 (a random 1-1 pair's
        distance). The same features, shapes, length spreads, calibration and
        thresholds; the features named in `keep` keep their weights."""
        keep = set(keep)
        return self.replace(features={name: (value if name in keep else float(name == "cos"))
                                      for name, value in self.features.items()},
                            shapes={kind: 0.0 if is_paired(kind) else -1.0 for kind in self.shapes},
                            skip_best_match=0.0, skip_repeat=0.0, size_power=1.0, shape_prior=0.0, attach_drop=None,
                            attach_doubt=None, provenance={"name": "neutral"})


_SHIPPED: dict[str, Weights] = {}


def shipped_files() -> list[Path]:
    """The weights files shipped in the package."""
    return sorted(WEIGHTS_DIR.glob(WEIGHTS_GLOB))


def shipped_weights(name: str) -> Weights:
    """Weights shipped in the package, by file name (loaded once); a model's
    registry entry names its own (`scorer`, align.profile.Profile.for_model)."""
    if name not in _SHIPPED:
        path = WEIGHTS_DIR / name
        if not path.is_file():
            raise InputError(f"{path}: no such weights file in the package")
        _SHIPPED[name] = Weights.load(path)
    return _SHIPPED[name]


__all__ = ["SCORE_INPUTS", "WEAK_CONTEXT_BELOW", "WEIGHTS_DIR", "Weights", "is_paired", "shipped_files", "shipped_weights"]
