"""Choosing Weights.attach_doubt on alignments of novels the weights never saw.

A sentence the search leaves out by less than attach_doubt joins its neighbour
(align.attaching). In sample little is gained by it: the fit's skip biases are
fitted to the training chapters, and a fit chose None in the folds tried. On a novel the
fit never saw, the search leaves out sentences that belong to a merge. So the
threshold is chosen on held-out alignments: a cross-validation's, each file
searched with its own fold's weights.

The choice is the value of ATTACH_DOUBT_GRID that gives the best strict F1 on the
chapters, provided the deletion set (scripts/make_deletions.py) still finds its
omissions: unaligned precision and recall at least OMISSIONS_FOUND (issue 27's goal).
The smallest value wins a tie.

Why not the pooled F1 that fits everything else? The deletion set leaves out 5% of
its sentences, far more than a real translation. Pooled with it, every wrongly
attached omission weighs as much as a torn sentence mended, and no attaching is ever
chosen. By novel on the 18 MAC chapters, this choice leaves 4 sentences of the 9
chapters with no omission unaligned instead of 7. It lifts lax F1 0.994 -> 0.996.
The deletion set's unaligned P / R moves 0.88 / 0.67 -> 0.94 / 0.57
(docs/experiments.md, stop 32).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from align.evaluating import evaluate
from align.passes import AlignParams, alignment_of, attached, bead_shapes, filled_search, searched_path
from align.scoring import BeadContext
from align.tuning import TuningDocument
from align.weights import Weights

# Doubts below which a sentence left unaligned joins its neighbour; None (never) first, so it wins a tie.
ATTACH_DOUBT_GRID = (None, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)
# The deletion set's unaligned precision and recall that a choice must keep (issue 27's goal).
OMISSIONS_FOUND = (0.7, 0.5)


@dataclass
class SearchedFile:
    """One gold file's search, before anything is attached, with the weights that searched it."""

    context: BeadContext
    weights: Weights
    params: AlignParams
    gold: list
    path: list[tuple[int, int]]
    similarity: list[float]
    doubt: list[float]
    # attach_doubt -> beads: every fold's choice reads the same file with the same values.
    _beads: dict = field(default_factory=dict, repr=False)

    def beads(self, attach_doubt: float | None) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
        """(zh, en, score) of the file's beads with this attach_doubt (the weights' own attach_drop)."""
        if attach_doubt not in self._beads:
            self._beads[attach_doubt] = self._attached_beads(attach_doubt)
        return self._beads[attach_doubt]

    def _attached_beads(self, attach_doubt: float | None) -> list[tuple[tuple[int, ...], tuple[int, ...], float]]:
        weights = self.weights.replace(attach_doubt=attach_doubt)
        shapes = bead_shapes(self.params, weights)
        path, similarity, doubt = attached(self.path, self.similarity, self.doubt, self.context, shapes, self.params,
                                           weights)
        alignment = alignment_of(path, similarity, doubt, self.context.table.band, weights)
        return [(tuple(b.zh), tuple(b.en), b.score) for b in alignment.beads]


def searched_file(doc: TuningDocument, weights: Weights, params: AlignParams | None = None) -> SearchedFile:
    """The search of a prepared gold file (tuning.tuning_documents) with these weights, doubts kept."""
    params = params or AlignParams()
    search = filled_search(doc.context, bead_shapes(params, weights), params, weights, keep_values=True)
    path, similarity, doubt = searched_path(search, doubted=True)
    return SearchedFile(doc.context, weights, params, doc.gold, path, similarity, doubt)


def choose_attach_doubt(files: dict[str, SearchedFile], is_deletion: Callable[[str], bool],
                        log: Callable[[str], None] | None = None) -> float | None:
    """The attach_doubt of ATTACH_DOUBT_GRID that the module's doc describes, judged on these files
    (held out from the weights that searched each). None when there is no deletion set to
    say what attaching costs true omissions, or when no value keeps its omissions found."""
    chapters = [name for name in files if not is_deletion(name)]
    deletions = [name for name in files if is_deletion(name)]
    if not chapters or not deletions:
        return None
    best = None  # (F1, value)
    for value in ATTACH_DOUBT_GRID:
        beads = {name: [(z, e) for z, e, _ in files[name].beads(value)] for name in files}
        f1 = evaluate({name: (files[name].gold, beads[name]) for name in chapters})["pooled"]["strict_f1"]
        found = evaluate({name: (files[name].gold, beads[name]) for name in deletions})["deletions"]
        kept = found["precision"] >= OMISSIONS_FOUND[0] and found["recall"] >= OMISSIONS_FOUND[1]
        if log:
            log(f"attach_doubt {value}: chapters' strict F1 {f1:.4f}, deletion set's unaligned "
                f"P {found['precision']:.2f} R {found['recall']:.2f}" + ("" if kept else " (omissions lost)"))
        if kept and (best is None or f1 > best[0] + 1e-4):
            best = (f1, value)
    return None if best is None else best[1]


@dataclass
class HeldOutChoice:
    """attach_doubt chosen on a cross-validation's held-out files (cross_validated_attach_doubt)."""

    fold_weights: dict[str, Weights]  # fold -> its weights, with the value the other folds' files chose
    held_out: dict[str, list]         # file -> its beads (zh, en, score) with its fold's choice
    overall: float | None             # the value all the held-out files choose: the one to ship


def cross_validated_attach_doubt(prepared: dict[str, TuningDocument], fitted: dict[str, Weights],
                                 fold_of: Callable[[str], str], is_deletion: Callable[[str], bool],
                                 log: Callable[[str], None] | None = None) -> HeldOutChoice:
    """For a cross-validation's folds (fitted: fold -> its weights; fold_of: file name -> fold):
    each fold's weights with the attach_doubt chosen on the other folds' held-out files, and
    the held-out beads of every file with its fold's choice, so that the choice never sees
    the gold of the files it is judged on; and the value all the held-out files choose."""
    searched = {name: searched_file(doc, fitted[fold_of(name)]) for name, doc in prepared.items()}
    fold_weights, held_out = {}, {}
    for fold, weights in fitted.items():
        value = choose_attach_doubt({name: s for name, s in searched.items() if fold_of(name) != fold}, is_deletion)
        if log:
            log(f"fold {fold}: attach_doubt {value} (chosen on the other folds' held-out files)")
        fold_weights[fold] = weights.replace(attach_doubt=value)
        held_out |= {name: s.beads(value) for name, s in searched.items() if fold_of(name) == fold}
    return HeldOutChoice(fold_weights, held_out, choose_attach_doubt(searched, is_deletion, log))


__all__ = ["ATTACH_DOUBT_GRID", "OMISSIONS_FOUND", "HeldOutChoice", "SearchedFile", "choose_attach_doubt",
           "cross_validated_attach_doubt", "searched_file"]
