"""`zhalign tune`: the scorer's weights fitted to a user's own hand-aligned pairs.

A thin layer over align.tuning (the same functions scripts/tune_scorer.py
calls): the documents are read as align.bench reads a benchmark folder, the
fit starts from the weights of the model's profile (align.profile.Profile.for_model),
the fitting procedure is judged by leaving one document out (tuning.cross_validate)
beside the shipped weights on the same documents, then the weights are fitted
on every document, their scores calibrated (tuning.calibrate) and written
with their provenance (the command, the documents, both figures).
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from align.bench import bench_dir, load_bench, scores_of
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.errors import InputError
from align.profile import Profile
from align.weights import Weights
from align.tuning import calibrate, calibration_data, cross_validate, fit, held, predict, tuning_documents
from align.writing import write_atomically


@dataclass
class TuneReport:
    """What a tune run did: the file written, its weights and the figures."""

    output: Path
    weights: Weights
    documents: int
    shipped_id: str
    shipped_f1: float             # strict F1 of the shipped weights on these documents
    cv_f1: float | None           # strict F1 of the fitting procedure, each document held out
    in_sample_f1: float           # strict F1 of the written weights on the documents they were fitted on

    def describe(self) -> str:
        held_out = (f"held out by document (leave one out) {self.cv_f1:.4f}" if self.cv_f1 is not None
                    else "no cross-validation")
        return (f"wrote {self.output}: {self.weights.id}, fitted on {self.documents} documents\n"
                f"strict F1 on these documents: shipped weights ({self.shipped_id}) {self.shipped_f1:.4f}; "
                f"tuned, {held_out}; in sample {self.in_sample_f1:.4f}")


def read_gold_folders(folders: list[Path], encoder) -> dict:
    """name -> bench.BenchDocument of every gold file; names are `FOLDER:NAME`
    when more than one folder is given (so that two 001s stay two documents)."""
    check_gold_folders(folders)
    docs = {}
    for folder in folders:
        loaded = load_bench(folder, encoder, progress=False)
        docs |= {(f"{folder}:{name}" if len(folders) > 1 else name): doc for name, doc in loaded.items()}
    return docs


def check_gold_folders(folders: list[Path]) -> None:
    """An InputError naming the first folder or file missing (before any model is loaded)."""
    for folder in folders:
        for gold in sorted(bench_dir(folder).joinpath("gold").iterdir()):
            for side in ("zh", "en"):
                if gold.is_file() and not (folder / side / gold.name).is_file():
                    raise InputError(f"{folder / side / gold.name}: no such file (every gold/NAME needs zh/NAME "
                                     "and en/NAME, one sentence a line)")


def tune(folders: list[Path], output: Path, model: str = DEFAULT_MODEL, rounds: int = 3, name: str | None = None,
         cross_validation: bool = True, log: Callable[[str], None] | None = None, command: str = "zhalign tune",
         encoder=None) -> TuneReport:
    """Fit, judge and write the weights (see the module's doc); `rounds` is the fit's budget."""
    if rounds < 1:
        raise InputError(f"--rounds must be at least 1, not {rounds}")
    check_gold_folders(folders)
    encoder = encoder or attach_cache(load_encoder(model))
    docs = read_gold_folders(folders, encoder)
    if cross_validation and len(docs) < 2:
        raise InputError(f"{folders[0]}: one document only: leaving one out needs two (or use --no-cv)")
    start = Profile.for_model(encoder).weights
    hold = held(start)  # what the shipped fit left as it was stays so (tuning.HAND_SET is added by the fit)
    prepared = tuning_documents(docs, start)

    shipped_f1 = scores_of(docs, predict(prepared, start))["pooled"]["strict_f1"]
    cv_f1 = None
    if cross_validation:
        held_out, _ = cross_validate(prepared, start, rounds, hold, log=log)
        cv_f1 = scores_of(docs, held_out)["pooled"]["strict_f1"]
    weights, in_sample = fit(prepared, start, rounds, hold, log=log)
    weights = weights.replace(calibration=calibrate(*calibration_data(docs, weights)))
    today = f"{datetime.date.today():%Y-%m-%d}"
    weights.provenance = {
        "name": name or f"tuned-{today}",
        "command": command,
        "date": today,
        "model": model,
        "documents": sorted(docs),
        "folders": [str(folder) for folder in folders],
        "fitted_from": start.id,
        "rounds": rounds,
        "held": sorted(set(hold)),
        "in_sample_strict_f1": round(in_sample, 4),
        "cv_strict_f1": round(cv_f1, 4) if cv_f1 is not None else None,
        "shipped_strict_f1": round(shipped_f1, 4),
        "calibration": "logistic fit of 'exactly a gold bead' on similarity and the median similarity of up to "
                       f"{start.context_beads} paired beads either side, over the predicted beads of the gold "
                       "files and the paired beads of their null alignments (never right)",
    }
    write_atomically(output, weights_text(weights))
    return TuneReport(output, weights, len(docs), start.id, shipped_f1, cv_f1, in_sample)


def weights_text(weights: Weights) -> str:
    """The file Weights.save writes, as text (written atomically here)."""
    import json

    data = weights.numbers() | {"provenance": weights.provenance}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


__all__ = ["TuneReport", "check_gold_folders", "read_gold_folders", "tune"]
