"""`zhalign tune`: the scorer's weights fitted to a user's own hand-aligned pairs.

A thin layer over align.tuning (the same functions scripts/tune_scorer.py
calls): the documents are gold folders, read as align.bench reads a benchmark
folder, and TSVs `zhalign review` saved, read by align.reviewing (each one
document, its saved beads the gold); the
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
from typing import TYPE_CHECKING

from align.bench import BenchDocument, bench_dir, load_bench, scores_of
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, load_encoder
from align.errors import InputError
from align.preparing import prepare_pair, prepare_side
from align.profile import Profile
from align.weights import Weights
from align.tuning import (CALIBRATION_INPUTS, calibrate, calibration_data, cross_validate, fit, held, predict,
                          tuning_documents)
from align.writing import refuse_overwriting_inputs, write_atomically

if TYPE_CHECKING:
    from align.reviewing import ReviewState


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


def split_gold(gold: list[Path]) -> tuple[list[Path], list[Path]]:
    """(gold folders, reviewed TSVs) among the paths given; an InputError naming one that is neither."""
    folders, files = [], []
    for path in gold:
        if path.is_dir():
            folders.append(path)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return folders, files


def read_reviewed(path: Path) -> ReviewState:
    """The sentences and beads of a TSV `zhalign review` saved, as the review reads it
    (reviewing.state_from_frame): the sentences are the review journal's beside it when it
    matches the rows (exact), else read from the rows. InputError naming a file that is not one."""
    from align.reviewing import Journal, ReviewPaths, state_from_frame
    from align.writing import read_tsv

    try:
        frame = read_tsv(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a TSV `zhalign review` saved ({str(error).splitlines()[0]})") from None
    if "status" not in frame.columns:
        raise InputError(f"{path}: not a TSV `zhalign review` saved (no status column); give reviewed TSVs "
                         "or gold folders")
    if frame.empty:
        raise InputError(f"{path}: a reviewed TSV with no beads")
    journal = ReviewPaths.of(path).journal
    if journal.is_file():
        try:
            document = Journal.read(journal)[0].state.document
            return state_from_frame(frame, str(path), list(zip(document.zh, document.zh_roles)),
                                    list(zip(document.en, document.en_roles)))
        except InputError:
            pass  # a journal of other sentences, or unreadable: the rows alone tell them
    return state_from_frame(frame, str(path))


def read_reviewed_files(files: list[Path], warn: Callable[[str], None] | None = None) -> dict[str, ReviewState]:
    """name -> the review state of each file (read_reviewed), named by the file's name
    (made unique, and free of `/`, which tuning.chapter reads as a version of a chapter);
    `warn` hears one line for each file with beads nobody confirmed or edited."""
    states = {}
    for path in files:
        state = read_reviewed(path)
        name, n = path.name, 1
        while name in states:
            n += 1
            name = f"{path.name} ({n})"
        states[name] = state
        auto = sum(bead.status == "auto" for bead in state.beads)
        if auto and warn:
            warn(f"{path}: {auto} of {len(state.beads)} beads not reviewed (status auto); used as gold as "
                 "the aligner made them")
    return states


def reviewed_documents(states: dict[str, ReviewState], encoder) -> dict[str, BenchDocument]:
    """name -> bench.BenchDocument of each review: its sentences prepared as the aligner
    prepares them (with their roles), its saved beads the gold; embeds every distinct sentence once."""
    encoder.encode([t for state in states.values() for t in state.document.zh + state.document.en],
                   progress=False, desc="embedding")
    docs = {}
    for name, state in states.items():
        document = state.document
        zh = prepare_side(encoder, document.zh, document.zh_roles)
        en = prepare_side(encoder, document.en, document.en_roles)
        docs[name] = BenchDocument(zh.aligned_vectors, en.aligned_vectors, prepare_pair(zh, en),
                                   [(bead.zh, bead.en) for bead in state.beads])
    return docs


def tune(gold: list[Path], output: Path, model: str = DEFAULT_MODEL, rounds: int = 3, name: str | None = None,
         cross_validation: bool = True, log: Callable[[str], None] | None = None, command: str = "zhalign tune",
         encoder=None, warn: Callable[[str], None] | None = None) -> TuneReport:
    """Fit, judge and write the weights (see the module's doc); `gold` holds gold folders and
    reviewed TSVs; `rounds` is the fit's budget; `warn` hears of beads not reviewed."""
    if rounds < 1:
        raise InputError(f"--rounds must be at least 1, not {rounds}")
    folders, files = split_gold(gold)
    refuse_overwriting_inputs([output], files)
    if folders:
        check_gold_folders(folders)
    states = read_reviewed_files(files, warn=warn)  # before the model loads: a bad file fails at once
    encoder = encoder or attach_cache(load_encoder(model))
    docs = read_gold_folders(folders, encoder) if folders else {}
    for state_name in list(states):
        if state_name in docs:  # a folder's document of the same name
            states[f"{state_name} (reviewed)"] = states.pop(state_name)
    docs |= reviewed_documents(states, encoder) if states else {}
    if cross_validation and len(docs) < 2:
        raise InputError(f"{gold[0]}: one document only: leaving one out needs two (or use --no-cv)")
    start = Profile.for_model(encoder).weights
    hold = held(start)  # what the shipped fit left as it was stays so (tuning.HAND_SET is added by the fit)
    prepared = tuning_documents(docs, start)

    shipped_f1 = scores_of(docs, predict(prepared, start))["pooled"]["strict_f1"]
    cv_f1 = None
    if cross_validation:
        held_out, _ = cross_validate(prepared, start, rounds, hold, log=log)
        cv_f1 = scores_of(docs, held_out)["pooled"]["strict_f1"]
    weights, in_sample = fit(prepared, start, rounds, hold, log=log)
    weights = weights.replace(calibration=calibrate(calibration_data(docs, weights)))
    today = f"{datetime.date.today():%Y-%m-%d}"
    weights.provenance = {
        "name": name or f"tuned-{today}",
        "command": command,
        "date": today,
        "model": model,
        "documents": sorted(docs),
        "folders": [str(folder) for folder in folders],
        "reviewed": [str(path) for path in files],
        "fitted_from": start.id,
        "rounds": rounds,
        "held": sorted(set(hold)),
        "in_sample_strict_f1": round(in_sample, 4),
        "cv_strict_f1": round(cv_f1, 4) if cv_f1 is not None else None,
        "shipped_strict_f1": round(shipped_f1, 4),
        "calibration": "logistic fit of 'exactly a gold bead' on " + ", ".join(CALIBRATION_INPUTS)
                       + f" (scoring.score_inputs; context: up to {start.context_beads} paired beads either side), "
                       "over the predicted beads of the gold files and the paired beads of their null alignments "
                       "(never right)",
    }
    write_atomically(output, weights.to_json())
    return TuneReport(output, weights, len(docs), start.id, shipped_f1, cv_f1, in_sample)


__all__ = ["TuneReport", "check_gold_folders", "read_gold_folders", "read_reviewed", "read_reviewed_files",
           "reviewed_documents", "split_gold", "tune"]
