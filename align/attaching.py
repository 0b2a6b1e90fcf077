"""Attaching torn-off sentences: after the search, a sentence it left unaligned joins
a neighbouring paired bead when the bead is about as similar with it as without it.

Most sentences the search wrongly leaves out are one of several sentences translated
as one (gold 2-1, 3-1 beads; "汪淼扶着车门说。" beside the dialogue it tags): the
merged bead's value pays the larger bead's size and bias, and the fitted skip cost
is the cheaper path. What tells such a sentence from one really left untranslated
is how much it lowers its neighbour's similarity: a sentence whose content is in
the neighbour's other side hardly lowers it, an untranslated one lowers it a lot
(18 MAC chapters and their deletion set, by-novel folds' weights: docs/experiments.md,
stop 30). So a sentence left unaligned joins the paired bead before or after it
(the one it lowers least) when the merged bead's similarity is at most
`Weights.attach_drop` below the bead's, the merged shape is one the search may use,
and the sentence is not a word-for-word repeat or a credit line (those translate
nothing). `attach_drop` None (the default) attaches nothing.

The search's own doubt says the same from the other end: a sentence it left out by a
hair (the best path keeping it in some bead is worth less than `Weights.attach_doubt`
below the best) joins the neighbour it lowers least, whatever the drop. In-sample the
fit's skip biases leave few such skips, so attach_doubt is chosen on held-out novels
(align.attach_choice.choose_attach_doubt): by novel on the 18 MAC chapters it leaves 4 sentences
of the 9 chapters with no omission unaligned instead of 7 (docs/experiments.md, stop 32).

Works on the search's path (a list of DP nodes) and the beads' similarities:
attaching a sentence removes the node between it and its neighbour.
"""
from __future__ import annotations

import numpy as np

from align.scoring import BeadContext
from align.weights import Weights


def attach_unaligned(path: list[tuple[int, int]], similarity: list[float], context: BeadContext,
                     shapes: list[tuple[int, int]], weights: Weights,
                     kept_out: tuple[np.ndarray, np.ndarray] | None = None,
                     doubt: list[float] | None = None) -> tuple[list[tuple[int, int]], list[float]]:
    """(path, similarity of each bead) with every sentence the rules attach joined to its
    neighbour (see the module's doc); the same lists when weights.attach_drop and
    weights.attach_doubt are None. path: DP nodes from (0, 0) to (n, m); similarity[k]: of the
    bead path[k] -> path[k + 1] (NaN for unaligned ones); doubt[k]: the search's doubt of it
    (PathSearch.path_doubt), needed for attach_doubt. kept_out: (zh, en) booleans of sentences
    that stay unaligned whatever the rules say (an anchor that leaves them out: align.anchoring)."""
    if weights.attach_drop is None and weights.attach_doubt is None:
        return path, similarity
    if weights.attach_doubt is not None and (doubt is None or len(doubt) != len(similarity)):
        raise ValueError("attach_doubt needs the search's doubt of every bead")
    path, similarity = list(path), list(similarity)
    doubt = list(doubt) if doubt is not None else [float("nan")] * len(similarity)
    allowed = {shape for shape in shapes if shape[0] and shape[1]}
    k = 0
    while k < len(similarity):
        if not _attachable(path, similarity, k, context, kept_out):
            k += 1
            continue
        close_call = weights.attach_doubt is not None and doubt[k] < weights.attach_doubt
        options = []  # (drop, first node, last node, merged similarity) of each merged bead allowed
        for neighbour, first, last in ((k - 1, k - 1, k + 1), (k + 1, k, k + 2)):
            if not 0 <= neighbour < len(similarity) or np.isnan(similarity[neighbour]):
                continue
            (i0, j0), (i1, j1) = path[first], path[last]
            if (i1 - i0, j1 - j0) not in allowed:
                continue
            merged = context.bead_similarity(i1 - i0, j1 - j0, i1, j1, weights)
            drop = similarity[neighbour] - merged
            if close_call or (weights.attach_drop is not None and drop <= weights.attach_drop):
                options.append((drop, first, last, merged))
        if not options:
            k += 1
            continue
        _, first, last, merged = min(options)
        del path[first + 1]  # the node between the sentence and its neighbour
        similarity[first:last] = [merged]
        # Kept in step with similarity so that doubt[k] stays a skip's; a paired bead's doubt is
        # never read here (carried_over gives the merged bead's).
        doubt[first:last] = [float("nan")]
        k = first + 1
    return path, similarity


def _attachable(path: list[tuple[int, int]], similarity: list[float], k: int, context: BeadContext,
                kept_out: tuple[np.ndarray, np.ndarray] | None) -> bool:
    """Bead k is one sentence left unaligned that is neither a repeat, a credit line nor kept out."""
    if not np.isnan(similarity[k]):
        return False
    (i0, j0), (i1, _) = path[k], path[k + 1]
    side = 0 if i1 > i0 else 1
    stats, sentence = (context.zh_stats, i0) if side == 0 else (context.en_stats, j0)
    if kept_out is not None and kept_out[side][sentence]:
        return False
    return not (stats.repeats[sentence] or stats.credits[sentence])


def carried_over(path: list[tuple[int, int]], doubt: list[float],
                 attached: list[tuple[int, int]]) -> list[float]:
    """The search's doubt of each bead of `path`, for each bead of `attached` (attach_unaligned's
    path made of it): a bead attach_unaligned did not touch keeps its own; a merged bead takes
    the smallest of its members' (its paired member's, and the skip's of each sentence joined
    to it). A merge is no surer than the skip it overrode: a sentence left out by a hair makes
    a close call of the bead it joins, however sure the search was of that bead alone."""
    out, k = [], 0
    for end in attached[1:]:
        members = []
        while path[k] != end:
            members.append(k)
            k += 1
        values = [doubt[q] for q in members]
        out.append(float("nan") if any(np.isnan(v) for v in values) else min(values))
    return out
