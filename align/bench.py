"""Benchmark: align a folder of pre-split pairs, score it against gold, time it.

    python -m align.bench [BENCH_DIR ...] [--model NAME] [--out DIR] [--cv [chapter|novel]]

BENCH_DIR holds zh/NNN, en/NNN (one sentence a line) and gold/NNN (index
format), like MAC-Dev; without it, $ZHALIGN_BENCH. Prints strict and lax F1
pooled over the files, deletion precision and recall, the reliability of the
scores, and wall seconds split into embedding (every distinct sentence once)
and aligning. --cv adds leave-one-chapter-out cross-validation of the fitting
procedure: the scorer is fitted from neutral weights (tuning.neutral_start) on
all chapters but one (align.tuning), the one left out aligned with that fit,
and the held-out results pooled. Several BENCH_DIRs are read as one benchmark (their
file names must differ: MAC-Dev's 001-006 and MAC-Train's 007-018). --cv novel holds
out a novel at a time instead (each folder's meta_data.tsv names a chapter's novel,
book_id): a new book is a novel the fit never saw. Out of fold, the report adds the
pairs an export keeps at --min-score 0.5 and 0.9, false deletions and the scores'
calibration, each fold calibrated on its own training files (align.bench_report).
--deletions DIR adds the same chapters with
sentences left untranslated (scripts/make_deletions.py): scored on their own,
and part of every fit, as in scripts/tune_scorer.py.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from align.aligning import Alignment, AlignParams, align_vectors
from align.bench_folders import BENCH_VARIABLE, bench_dir
from align.caching import attach_cache
from align.embedding import DEFAULT_MODEL, Encoder, load_encoder
from align.evaluating import evaluate, format_report, read_alignment
from align.marks import PairEvidence
from align.pipeline import pair_settings
from align.preparing import prepare_pair, prepare_side
from align.profile import Profile
from align.reading import InputError, parse_lines
from align.weights import Weights
from align.writing import format_ids, write_atomically

DELETIONS = "deletions"  # prefix of the deletion set's files among the bench's (tuning.chapter reads past it)


def is_deletion(name: str) -> bool:
    """Whether a bench file name is one of the deletion set's (load_deletion_set)."""
    return name.startswith(f"{DELETIONS}/")


def read_sentences(path: Path) -> list[str]:
    return [p.text for p in parse_lines(path.read_text(encoding="utf-8")).paragraphs]


@dataclass
class BenchDocument:
    """One gold file with everything the aligner reads (align.preparing)."""

    zh_vectors: np.ndarray  # as the aligner compares them (Side.aligned_vectors)
    en_vectors: np.ndarray
    evidence: PairEvidence
    gold: list


def load_bench(bench: Path, encoder: Encoder, progress: bool | None = None) -> dict[str, BenchDocument]:
    """name -> BenchDocument for every gold file, each side prepared as align_pair
    prepares one (align.preparing; one sentence a line, so no roles); embeds every
    distinct sentence once."""
    names = sorted(p.name for p in (bench / "gold").iterdir() if p.is_file())
    if not names:
        raise InputError(f"{bench}/gold has no files")
    texts = {name: (read_sentences(bench / "zh" / name), read_sentences(bench / "en" / name)) for name in names}
    encoder.encode([t for zh, en in texts.values() for t in zh + en], progress=progress, desc="embedding")
    docs = {}
    for name, (zh, en) in texts.items():
        zh_side, en_side = prepare_side(encoder, zh), prepare_side(encoder, en)
        docs[name] = BenchDocument(zh_side.aligned_vectors, en_side.aligned_vectors, prepare_pair(zh_side, en_side),
                                   read_alignment(bench / "gold" / name))
    return docs


def load_benches(benches: list[Path], encoder: Encoder, progress: bool | None = None) -> dict[str, BenchDocument]:
    """load_bench over several folders as one benchmark; a file name in two of them is an InputError."""
    docs: dict[str, BenchDocument] = {}
    for bench in benches:
        part = load_bench(bench, encoder, progress)
        clash = sorted(set(part) & set(docs))
        if clash:
            raise InputError(f"{bench}: files {', '.join(clash[:3])} also in an earlier benchmark folder")
        docs |= part
    return docs


NOVELS_FILE = "meta_data.tsv"  # MAC's: text_id and book_id columns, a chapter a line


def read_novels(benches: list[Path]) -> dict[str, str]:
    """Chapter name -> its novel (book_id), from each folder's meta_data.tsv."""
    novels: dict[str, str] = {}
    for bench in benches:
        path = bench / NOVELS_FILE
        if not path.is_file():
            raise InputError(f"{path}: no such file (--cv novel reads each chapter's novel from it)")
        lines = [line.split("\t") for line in path.read_text("utf-8").splitlines() if line.strip()]
        if not lines or not {"text_id", "book_id"} <= set(lines[0]):
            raise InputError(f"{path}: no text_id and book_id columns")
        text_id, book_id = lines[0].index("text_id"), lines[0].index("book_id")
        novels |= {row[text_id]: row[book_id] for row in lines[1:]}
    return novels


def novel_of(novels: dict[str, str]):
    """A file name -> its novel ("deletions/001" is chapter 001's), for tuning.cross_validate_by."""
    from align.tuning import chapter

    return lambda name: novels[chapter(name)]


def load_deletion_set(folder: Path, encoder: Encoder) -> dict[str, BenchDocument]:
    """The deletion set's files (scripts/make_deletions.py), named DELETIONS/NNN so that
    they sit beside the bench's own NNN and tuning.chapter holds them out with them."""
    return {f"{DELETIONS}/{name}": doc for name, doc in load_bench(bench_dir(folder), encoder).items()}


def align_documents(docs: dict[str, BenchDocument], weights: Weights | Profile,
                    params: AlignParams | None = None) -> dict[str, Alignment]:
    """name -> the alignment of that file, with a profile or weights (align.aligning.align_vectors)."""
    return {name: align_vectors(doc.zh_vectors, doc.en_vectors, params=params, weights=weights,
                                **doc.evidence.arguments())
            for name, doc in docs.items()}


def predicted_beads(alignments: dict[str, Alignment]) -> dict[str, list]:
    """name -> predicted beads, as (zh ids, en ids, score)."""
    return {name: [(tuple(b.zh), tuple(b.en), b.score) for b in alignment.beads]
            for name, alignment in alignments.items()}


def align_bench(docs: dict[str, BenchDocument], weights: Weights | Profile,
                params: AlignParams | None = None) -> dict[str, list]:
    """name -> predicted beads, as (zh ids, en ids, score)."""
    return predicted_beads(align_documents(docs, weights, params))


def scores_of(docs: dict[str, BenchDocument], predicted: dict[str, list]) -> dict:
    return evaluate({name: (docs[name].gold, [(z, e) for z, e, _ in predicted[name]]) for name in docs})


def reliability(docs: dict[str, BenchDocument], predicted: dict[str, list], bins: int = 10) -> dict:
    """Score decile -> share of the paired beads in it that are exactly a gold
    bead, and the expected calibration error (bead-weighted |share - mean score|)."""
    scores, right = [], []
    for name, beads in predicted.items():
        gold = set(docs[name].gold)
        for zh, en, score in beads:
            if zh and en:
                scores.append(score)
                right.append((zh, en) in gold)
    scores, right = np.array(scores), np.array(right, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows, error = [], 0.0
    for lo, hi in zip(edges, edges[1:]):
        inside = (scores >= lo) & ((scores < hi) | (hi == 1))
        if inside.any():
            mean, share = float(scores[inside].mean()), float(right[inside].mean())
            rows.append((lo, hi, int(inside.sum()), mean, share))
            error += inside.sum() / len(scores) * abs(share - mean)
    return {"bins": rows, "ece": error, "beads": len(scores)}


def null_share_above(docs: dict[str, BenchDocument], alignments: dict[str, Alignment], weights: Weights | Profile,
                     threshold: float) -> tuple[float, int]:
    """(share, count) of the paired beads of the documents' null alignments
    (checking.null_alignments: unrelated halves of each alignment) that score above threshold."""
    from align.checking import null_alignments

    scores = []
    for name, doc in docs.items():
        scores.append(null_alignments(alignments[name], doc.zh_vectors, doc.en_vectors, weights=weights,
                                      **doc.evidence.arguments()).scores)
    scores = np.concatenate(scores)
    return float((scores > threshold).mean()) if len(scores) else 0.0, len(scores)


def format_reliability(table: dict) -> str:
    lines = [f"{'score':>11} {'beads':>6} {'mean score':>10} {'exactly right':>13}"]
    lines += [f"{lo:4.1f} - {hi:3.1f} {count:6d} {mean:10.3f} {share:13.3f}" for lo, hi, count, mean, share in table["bins"]]
    lines.append(f"expected calibration error {table['ece']:.3f} over {table['beads']} paired beads")
    return "\n".join(lines)


def out_of_fold_calibrated(docs: dict, fitted: dict, fold_of: Callable[[str], str]) -> dict[str, list]:
    """name -> beads (zh, en, score) of every file in docs (BenchDocument-like, the deletion set's
    included), aligned with the weights fitted without its fold (fitted: fold -> Weights, fold_of:
    file name -> fold) and calibrated on that fold's training files only (tuning.calibration_data):
    so that the reliability table judges the scores on files their fit never saw."""
    from align.tuning import calibrate, calibration_data

    out: dict[str, list] = {}
    for fold, weights in fitted.items():
        train = {name: d for name, d in docs.items() if fold_of(name) != fold}
        held = {name: d for name, d in docs.items() if fold_of(name) == fold}
        if held:
            weights = weights.replace(calibration=calibrate(calibration_data(train, weights)))
            out |= align_bench(held, weights)
    return out


def run_bench(bench: Path | list[Path], model: str = DEFAULT_MODEL, out: Path | None = None, cv: bool | str = False,
              weights: Weights | None = None, cache: bool = True, deletions: Path | None = None) -> dict:
    """Scores and timings for every gold file in bench/gold (see the module's doc).
    cache: read and fill the persistent embedding cache (align.caching).
    deletions: the same chapters with sentences left untranslated
    (scripts/make_deletions.py): scored too, and part of every fit in --cv.
    bench: one folder or several (load_benches); cv: True or "chapter" leaves one chapter
    out at a time, "novel" one novel (read_novels)."""
    from align.bench_report import quality

    benches = [bench] if isinstance(bench, Path) else list(bench)
    novels = read_novels(benches) if cv == "novel" else None
    start = time.perf_counter()
    encoder = load_encoder(model)
    if cache:
        attach_cache(encoder)
    load_seconds = time.perf_counter() - start
    profile = Profile.for_model(encoder, weights)
    weights = profile.weights
    start = time.perf_counter()
    docs = load_benches(benches, encoder)
    if novels is not None and (missing := sorted(set(docs) - set(novels))):
        raise InputError(f"no novel for {', '.join(missing[:3])} in the folders' {NOVELS_FILE}")
    embed_seconds = time.perf_counter() - start

    start = time.perf_counter()
    alignments = align_documents(docs, profile)
    predicted = predicted_beads(alignments)
    align_seconds = time.perf_counter() - start
    if out is not None:
        for name, beads in predicted.items():
            write_atomically(out / name, "".join(f"{format_ids(z)}:{format_ids(e)}\n" for z, e, _ in beads))
    result = {
        "scores": scores_of(docs, predicted),
        "reliability": reliability(docs, predicted),
        "null_above_half": null_share_above(docs, alignments, profile, 0.5),
        "quality": quality({name: d.gold for name, d in docs.items()}, predicted),
        "files": len(docs),
        "zh_sentences": sum(len(d.zh_vectors) for d in docs.values()),
        "en_sentences": sum(len(d.en_vectors) for d in docs.values()),
        "distinct_texts_embedded": encoder.texts_embedded,
        "seconds": {"load_model": load_seconds, "embed": embed_seconds, "align": align_seconds},
        "weights": weights.id,
        # What made the --out files, which stay beads only (other evaluation scripts read that folder).
        "signature": profile.signature(pair_settings(input_format="lines", encoding="utf-8")),
    }
    deletion_docs = {}
    if deletions is not None:
        deletion_docs = load_deletion_set(deletions, encoder)
        result["deletion_scores"] = scores_of(deletion_docs, align_bench(deletion_docs, profile))
    if cv:
        from align.tuning import chapter, cross_validate, cross_validate_by, held, kept, neutral_start, tuning_documents

        start = time.perf_counter()
        # From a neutral start: each fold's weights then owe nothing to the chapter left out. The
        # knobs the weights' own fit held (features dropped, by its provenance) are held here too, and
        # the features it kept at their start value keep it.
        neutral = neutral_start(weights, kept(weights))
        prepared = tuning_documents(docs | deletion_docs, neutral)
        if novels is not None:
            fold_of = novel_of(novels)
            held_out, fitted = cross_validate_by(prepared, neutral, fold_of, hold=held(weights))
        else:
            fold_of = chapter
            held_out, fitted = cross_validate(prepared, neutral, hold=held(weights))
        if deletion_docs:  # attach_doubt is chosen held out (align.attach_choice): each fold's on the others'
            from align.attach_choice import cross_validated_attach_doubt

            choice = cross_validated_attach_doubt(prepared, fitted, fold_of, is_deletion)
            fitted, held_out = choice.fold_weights, choice.held_out
            result["cv_attach_doubt"] = {fold: w.attach_doubt for fold, w in fitted.items()}
        result["cv_by"] = "novel" if novels is not None else "chapter"
        result["cv_scores"] = scores_of(docs, {name: held_out[name] for name in docs})
        if deletion_docs:
            result["cv_deletion_scores"] = scores_of(deletion_docs, {name: held_out[name] for name in deletion_docs})
        result["seconds"]["cv"] = time.perf_counter() - start
        start = time.perf_counter()
        calibrated = out_of_fold_calibrated(docs | deletion_docs, fitted, fold_of)
        result["cv_quality"] = quality({name: d.gold for name, d in docs.items()}, calibrated)
        result["cv_reliability"] = reliability(docs, {name: calibrated[name] for name in docs})
        result["cv_folds"] = {fold: w.id for fold, w in fitted.items()}
        result["seconds"]["cv_calibration"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m align.bench", description=__doc__.splitlines()[0])
    parser.add_argument("bench", nargs="*", type=Path,
                        help=f"folders with zh/, en/, gold/, read as one benchmark (default: ${BENCH_VARIABLE})")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model (default: {DEFAULT_MODEL})")
    parser.add_argument("--weights", type=Path,
                        help="a weights file (default: those the model's registry entry names, align/weights-MODEL.json)")
    parser.add_argument("--out", type=Path, help="also write the predicted alignments (index format) here")
    parser.add_argument("--no-cache", action="store_true",
                        help="embed everything anew instead of using the persistent embedding cache")
    parser.add_argument("--cv", nargs="?", const="chapter", choices=("chapter", "novel"),
                        help="also cross-validation of the scorer's fit (align.tuning), leaving out a chapter "
                             "(the default) or a whole novel (each folder's meta_data.tsv) at a time")
    parser.add_argument("--deletions", type=Path, metavar="DIR",
                        help="the same chapters with sentences left untranslated (scripts/make_deletions.py): "
                             "scored too, and fitted on with the bench in --cv, as tune_scorer does")
    args = parser.parse_args(argv)
    try:
        bench = [bench_dir(folder) for folder in args.bench] if args.bench else bench_dir(None)
        weights = Weights.load(args.weights) if args.weights else None
        result = run_bench(bench, args.model, args.out, args.cv or False, weights, cache=not args.no_cache,
                           deletions=args.deletions)
    except InputError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    from align.bench_report import format_quality, headline

    seconds = result["seconds"]
    total = seconds["embed"] + seconds["align"]
    print(f"{result['files']} files, {result['zh_sentences']} zh and {result['en_sentences']} en sentences, "
          f"{result['distinct_texts_embedded']} distinct texts embedded, model {args.model}, weights {result['weights']}")
    print(f"signature: {result['signature']}")
    print("in-sample (the weights as given):")
    print(format_report(result["scores"], by_file=True, by_type=True))
    if "deletion_scores" in result:
        print("deletion set, in-sample:")
        print(format_report(result["deletion_scores"]))
    print(format_quality(result["quality"]))
    if "cv_scores" in result:
        print(f"cross-validated (each {result['cv_by']} aligned with weights refitted on the others):")
        print(format_report(result["cv_scores"], by_file=True, by_type=True))
        print(headline(result["cv_scores"]))
        if "cv_attach_doubt" in result:
            print("attach_doubt chosen for each fold on the other folds' held-out files: "
                  + ", ".join(f"{fold} {value}" for fold, value in result["cv_attach_doubt"].items()))
        print("out of fold, each fold's scores calibrated on its own training files:")
        print(format_quality(result["cv_quality"]))
        print(format_reliability(result["cv_reliability"]))
    if "cv_deletion_scores" in result:
        print("deletion set, cross-validated:")
        print(format_report(result["cv_deletion_scores"]))
    print("reliability of the scores:")
    print(format_reliability(result["reliability"]))
    share, count = result["null_above_half"]
    print(f"null alignments (unrelated halves of the same documents): {share:.1%} of {count} paired beads score above 0.5")
    print(f"seconds: embedding {seconds['embed']:.1f} ({result['distinct_texts_embedded'] / max(seconds['embed'], 1e-9):.0f}"
          f" texts/s), aligning {seconds['align']:.1f}, total {total:.1f} "
          f"= {total / max(seconds['embed'], 1e-9):.2f} x embedding; model load {seconds['load_model']:.1f}"
          + (f"; cross-validation {seconds['cv']:.1f}" if "cv" in seconds else "")
          + (f", its out-of-fold calibration {seconds['cv_calibration']:.1f}" if "cv_calibration" in seconds else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
