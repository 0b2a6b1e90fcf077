"""Command line: `zhalign align | models | plot | eval | export | pair | batch | cache | tune`, a thin layer over the modules.

Data goes to stdout (or -o FILE), messages and progress to stderr. Exit codes:
0 success; 1 bad input, an output refused or unwritable, or a failed run; 2 a
command line argparse rejects; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM,
handled as Ctrl-C: a batch writes its summary). The
project's own errors (align.errors) are one line `zhalign: error: ...`; any
other exception is a bug and shows its traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Only light modules here: the heavy ones (numpy, numba, pandas, torch) are imported inside
# main's guard, so that Ctrl-C in the first half second is an interrupt like any later one.
from align import __version__
from align.errors import USER_ERRORS, InputError, Terminated, UsageError
from align.interrupting import handle_signals, raise_if_interrupted
from align.options import (
    aligning_options, cache_options, encodings, input_formats, int_at_least, int_in, keep_not_parallel_option,
    max_input_bytes, message_options, min_score_arg, number_in, optional_int_at_least, params_from, progress_from,
    reading_options, scheduler_arg, size_arg, window_arg,
)
from align.writing import OUTPUT_FORMATS, check_outputs

PROG = "zhalign"


# --- the subcommands (their shared option groups and argument types: align.options) -------

def check_inputs(args: argparse.Namespace, paths) -> None:
    """Before any work: each document is a regular file within --max-input-mb (align.reading.check_input_file)."""
    from align.reading import check_input_file

    for path in paths:
        check_input_file(path, max_input_bytes(args))


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether two output paths name one file, existing or not."""
    return Path(a).resolve() == Path(b).resolve()


def align_from_args(args: argparse.Namespace):
    """align_pair with the reading and aligning options (for align and plot; --anchors
    and --weights where the command has them)."""
    from align.anchoring import AnchorError
    from align.evaluating import read_numbered_alignment
    from align.pipeline import align_pair

    # Paths, never text: a file name holding a newline is still a file name (only the API takes text).
    anchors_file, weights_file = getattr(args, "anchors", None), getattr(args, "weights", None)
    numbered = read_numbered_alignment(anchors_file) if anchors_file else []
    try:
        return align_pair(
            Path(args.zh), Path(args.en), model=args.model, input_format=input_formats(args),
            encoding=encodings(args), params=params_from(args), split_semicolon=args.split_semicolon,
            progress=progress_from(args), force=args.force, strict=args.strict, device=args.device,
            max_input_bytes=max_input_bytes(args), weights=load_weights(weights_file) if weights_file else None,
            anchors=[bead for _, bead in numbered] or None,
        )
    except AnchorError as error:  # name the file's line, not the anchor's place in the list
        raise InputError(f"{anchors_file}:{numbered[error.index][0]}: anchor "
                         f"{format_bead(numbered[error.index][1])}: {error.reason}") from None


def format_bead(bead) -> str:
    from align.writing import format_ids

    return f"{format_ids(bead[0])}:{format_ids(bead[1])}"


def load_weights(path: str):
    """A scorer's weights file (weights.Weights, as `zhalign tune` writes); an InputError naming it otherwise."""
    from align.weights import Weights

    try:
        return Weights.load(path)
    except InputError:
        raise  # names the file and what it lacks already
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: not a weights file (not JSON: {error.msg}, line {error.lineno})") from None
    except (TypeError, KeyError, ValueError, AttributeError) as error:
        raise InputError(f"{path}: not a weights file ({str(error).splitlines()[0]})") from None


# --- the commands -------------------------------------------------------------------------

def cmd_align(args: argparse.Namespace) -> int:
    from align.writing import output_paths, write_output

    check_inputs(args, [args.zh, args.en])
    check_outputs(output_paths(args.output, args.format), [args.zh, args.en])
    result = align_from_args(args)
    write_output(result.frame, args.output, args.format)
    if not args.quiet:
        print(result.summary().describe(), file=sys.stderr)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from align.embedding import MODELS_DIR, model_registry

    registry = model_registry()
    if args.json:
        print(json.dumps({name: vars(spec) for name, spec in registry.items()}, ensure_ascii=False, indent=2))
        return 0
    print(f"{'name':32} {'backend':22} {'dim':>4} {'max':>4}  notes")
    for name, spec in registry.items():
        mark = " (default)" if spec.default else ""
        print(f"{name + mark:32} {spec.backend:22} {spec.dim or '':>4} {spec.max_tokens:>4}  {spec.notes}")
    print(f"\nyour model folders and registry.toml: {MODELS_DIR}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from align.evaluating import evaluate_paths, format_report

    result = evaluate_paths(args.gold, args.pred, partial=args.partial)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_report(result, by_file=args.by_file, by_type=args.by_type))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    from align.plotting import cjk_font, overview_figure, save_png
    from align.progress import show_progress, status

    check_inputs(args, [args.zh, args.en])
    check_outputs([args.output], [args.zh, args.en])
    result = align_from_args(args)
    with status(f"plotting {args.output}", show_progress(progress_from(args))):
        figure = overview_figure(result, window=args.window, size_px=args.size, dpi=args.dpi, labels=args.labels,
                                 centred=not args.raw)
        save_png(figure, args.output)
    if not args.quiet:
        print(result.summary().describe(), file=sys.stderr)
        font = "" if cjk_font() else "; no CJK font found, Chinese sentences labelled by number"
        print(f"wrote {args.output} ({args.size[0]}x{args.size[1]} pixels){font}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from align.exporting import export, filter_pairs, output_paths, parse_formats, read_aligned

    formats = parse_formats(args.format)
    # Every target checked before anything is read: no input (a named file), all writable.
    check_outputs(output_paths(args.output, formats), args.inputs)
    # Never read back, nor overwrite, a file this run writes (e.g. -o inside the input folder).
    tables = read_aligned(args.inputs, outputs=output_paths(args.output, formats))
    frame, report = filter_pairs(
        tables, min_score=args.min_score, max_type=args.max_type, boilerplate=not args.keep_boilerplate,
        min_script=args.min_script, min_length=args.min_length, max_length=args.max_length,
        length_ratio=args.length_ratio, dedup=args.dedup, keep_not_parallel=args.keep_not_parallel,
    )
    written = export(frame, args.output, formats)
    if not args.quiet:
        print(f"{len(tables)} aligned file{'s' if len(tables) != 1 else ''} read; " + report.format(), file=sys.stderr)
        print("wrote " + ", ".join(str(path) for path in written), file=sys.stderr)
    return 0


def check_local_device(args: argparse.Namespace) -> None:
    """Refuse a device this machine cannot give before starting a local cluster
    (the workers of a --scheduler may have what this machine lacks)."""
    from align.embedding import model_device, resolve_model

    if not args.scheduler:
        model_device(resolve_model(args.model), args.device)


def cache_from(args: argparse.Namespace):
    """The EmbeddingCache the options ask for, or None for --no-cache."""
    from align.caching import EmbeddingCache

    return None if args.no_cache else EmbeddingCache(args.cache_dir)


def cmd_pair(args: argparse.Namespace) -> int:
    from align.cluster import dask_client
    from align.pairing import list_documents, manifest_text, pair_documents, write_manifest, write_report

    zh_paths = list_documents(args.zh, args.zh_glob)
    en_paths = list_documents(args.en or args.zh, args.en_glob)
    if not zh_paths or not en_paths:
        raise InputError(f"no documents in {args.zh if not zh_paths else args.en or args.zh}")
    if args.output not in (None, "-") and args.report and same_path(args.output, args.report):
        raise UsageError(f"-o and --report are the same file {args.output}: give two paths")
    check_outputs([args.output, args.report], [args.zh, args.en, *zh_paths, *en_paths])
    check_inputs(args, [*zh_paths, *en_paths])
    check_local_device(args)
    cache = cache_from(args)
    with dask_client(args.scheduler, args.workers) as client:
        pairing = pair_documents(zh_paths, en_paths, args.model, threshold=args.threshold, candidates=args.candidates,
                                 input_format=input_formats(args), encoding=encodings(args),
                                 progress=progress_from(args), client=client,
                                 cache_dir=None if cache is None else cache.folder, device=args.device,
                                 max_input_bytes=max_input_bytes(args))
    manifest = pairing.manifest()
    if args.output in (None, "-"):
        sys.stdout.write(manifest_text(manifest))  # absolute paths: stdout has no folder
    else:
        write_manifest(manifest, args.output)
    report = pairing.report()
    if args.report:
        write_report(report, args.report)
    if not args.quiet:
        print_pairing(pairing, report, args.threshold)
    return 0


def print_pairing(pairing, report, threshold: float) -> None:
    for row in report.itertuples(index=False):
        if row.status == "matched" and row.lang == "zh":
            print(f"matched    {row.score:.3f}  {row.path}  <->  {row.partner}", file=sys.stderr)
    for row in report.itertuples(index=False):
        if row.status == "unmatched":
            best = f" (best: {row.best_candidate}, {row.best_score:.3f})" if row.best_candidate else ""
            print(f"unmatched  {row.lang}     {row.path}{best}", file=sys.stderr)
        elif row.status == "skipped":
            print(f"skipped    {row.lang}     {row.note}" if row.path in row.note
                  else f"skipped    {row.lang}     {row.path}: {row.note}", file=sys.stderr)
    zh_left, en_left = pairing.unmatched()
    count = len(pairing.pairs)
    print(f"{count} pair{'' if count == 1 else 's'} (score >= {threshold}); unmatched: {len(zh_left)} zh, "
          f"{len(en_left)} en; skipped {len(pairing.skipped)}; {pairing.seconds:.1f} s", file=sys.stderr)


def cmd_batch(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from align.batching import BatchSettings, read_manifest, run_batch
    from align.reading import MAX_INPUT_MB
    from align.writing import refuse_overwriting_inputs, refuse_unusable_folder

    # Before any work: the manifest and its documents are read, and no output is one of them.
    check_inputs(args, [args.manifest])
    pairs = read_manifest(args.manifest)
    out_dir = Path(args.output)
    refuse_unusable_folder(out_dir, files=("summary.tsv", "corpus.tsv", "corpus.parquet"), folders=("pairs",))
    outputs = [out_dir / name for name in ("summary.tsv", "corpus.tsv", "corpus.parquet")]
    outputs += [out_dir / "pairs" / f"{name}{suffix}" for name in pairs["pair"] for suffix in (".tsv", ".json")]
    refuse_overwriting_inputs(outputs, [args.manifest, *pairs["zh_path"], *pairs["en_path"]])
    cache = cache_from(args)
    settings = BatchSettings(
        model=args.model, input_format=input_formats(args), encoding=encodings(args),
        split_semicolon=args.split_semicolon, params=asdict(params_from(args)),
        cache_dir=None if cache is None else str(cache.folder), device=args.device,
        # options other subcommands' align_pair takes, passed on only when given
        align_options={name: True for name in ("force", "strict") if getattr(args, name, False)}
        | ({"max_input_bytes": max_input_bytes(args)} if args.max_input_mb != MAX_INPUT_MB else {}),
    )
    check_local_device(args)
    result = run_batch(pairs, args.output, settings, workers=args.workers, scheduler=args.scheduler,
                       threads=args.threads, redo=args.redo, progress=progress_from(args),
                       keep_not_parallel=args.keep_not_parallel)
    summary = result.summary
    counts = result.counts()
    failed = summary[summary["status"] == "failed"]
    if not args.quiet:
        done = summary[summary["status"].isin(["ok", "skipped", "not-parallel"])]
        sentences = int(done["zh_sentences"].sum() + done["en_sentences"].sum()) if len(done) else 0
        workers = f" on {result.workers} worker{'' if result.workers == 1 else 's'}" if result.workers else ""
        print(f"{len(summary)} pairs: {counts.get('ok', 0)} aligned, {counts.get('skipped', 0)} already done, "
              f"{counts.get('not-parallel', 0)} not parallel, {len(failed)} failed; {sentences} sentences, "
              f"{int(done['beads'].sum()) if len(done) else 0} beads; {result.seconds:.1f} s{workers}",
              file=sys.stderr)
        print(f"signature: {settings.signature()}", file=sys.stderr)
        if not result.write_error:
            print(f"wrote {result.out_dir}/summary.tsv, corpus.tsv, corpus.parquet and pairs/", file=sys.stderr)
    for row in failed.itertuples(index=False):
        print(f"failed     {row.pair}: {row.error}", file=sys.stderr)
    if result.write_error:
        print(f"{PROG}: error: {result.write_error}", file=sys.stderr)
        return 1
    if len(failed):
        print(f"{PROG}: error: {len(failed)} of {len(summary)} pairs failed (see {result.out_dir}/summary.tsv); "
              f"first: {failed['error'].iloc[0]}", file=sys.stderr)
        return 1
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from align.caching import EmbeddingCache, human_size

    cache = EmbeddingCache(args.cache_dir)
    if args.action == "clear":
        size = cache.info().bytes
        removed = cache.clear()
        print(f"cleared {cache.path}: {removed} vectors, {human_size(size)} before", file=sys.stderr)
        return 0
    info = cache.info()
    print(f"location  {info.path}")
    print(f"entries   {info.entries}")
    print(f"size      {human_size(info.bytes)} on disk")
    for model, count in info.models.items():
        print(f"model     {model}: {count}")
    if info.read_only:
        print("access    read-only (no write permission): aligning reads it and saves nothing new; "
              "`zhalign cache clear` needs write permission")
    if info.problem:
        print(f"problem   {info.problem}: aligning bypasses it; `zhalign cache clear` removes it")
    return 0


# --- the parser -----------------------------------------------------------------------------

def align_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("zh", help="Chinese document (ZAKER export, plain text or one sentence a line)")
    parser.add_argument("en", help="English document")
    parser.add_argument("-o", "--output", help="output file (default: stdout); written whole or not at all, "
                                               "never over an input")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="tsv",
                        help="tsv: columns zh, en, score, type, zh_ids, en_ids, zh_roles, en_roles, parallel, "
                             "signature; index: `[0, 1]:[0]` a line; vecalign: `[0, 1]:[0]:0.0123` a line, "
                             "Vecalign's output format, the third field a cost, 1 - score (index and vecalign: the "
                             "signature in FILE.signature beside it); jsonl: one bead a line as JSON, ids and "
                             "roles as lists (default: tsv)")
    parser.add_argument("--anchors", metavar="FILE",
                        help="beads to keep as given, in the index format (`[3, 4]:[5]` a line, `[7]:[]` for a "
                             "sentence that pairs with nothing) or a zhalign TSV; sentence ids count from 0 as the "
                             "documents are split; only the stretches between them are aligned")
    parser.add_argument("--weights", metavar="FILE",
                        help="the scorer's weights (JSON, as `zhalign tune` writes; default: those shipped for "
                             "the model)")


def eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("gold", help="gold alignment file or directory")
    parser.add_argument("pred", help="predicted alignment file or directory")
    parser.add_argument("--by-file", action="store_true", help="also a line per file")
    parser.add_argument("--by-type", action="store_true", help="also a line per bead type (e.g. 1-2)")
    parser.add_argument("--json", action="store_true", help="everything as JSON")
    parser.add_argument("--partial", action="store_true",
                        help="score the gold files that have a prediction and say how many have none "
                             "(default: a gold file without a prediction is an error)")


def plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("zh", help="Chinese document (ZAKER export, plain text or one sentence a line)")
    parser.add_argument("en", help="English document")
    parser.add_argument("-o", "--output", required=True,
                        help="PNG file to write (written whole or not at all, never over an input)")
    parser.add_argument("--window", type=window_arg, metavar="START:END",
                        help="zoom the heatmap to Chinese sentences START..END-1 (0-based) and the English "
                             "sentences the path reaches there; windows of at most 40 sentences are labelled "
                             "with the sentences' text (default: the whole document)")
    parser.add_argument("--size", type=size_arg, default=(1800, 1100), metavar="WxH",
                        help="image size in pixels (default: 1800x1100)")
    parser.add_argument("--dpi", type=int_in(10, 1000), default=100, help="dots per inch: scales the text (default: 100)")
    parser.add_argument("--labels", choices=("auto", "text", "number"), default="auto",
                        help="heatmap tick labels: sentence text and number, number only, or auto (text for "
                             "small windows); Chinese text needs a CJK font (default: auto)")
    parser.add_argument("--raw", action="store_true",
                        help="colour raw cosines instead of cosines with row and column means removed")


def export_arguments(parser: argparse.ArgumentParser) -> None:
    from align import exporting as ex

    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="aligned TSV files, folders (their *.tsv, recursively; a batch output folder is "
                             "read through its corpus.tsv) or glob patterns")
    parser.add_argument("-o", "--output", required=True, metavar="PREFIX",
                        help="output prefix, e.g. out/train; all files are written, or none, and never over an "
                             "input")
    parser.add_argument("--format", default="all", metavar="LIST",
                        help=f"comma-separated: {', '.join(ex.FORMATS)}, or all (default: all)")
    parser.add_argument("--min-score", type=min_score_arg, default=ex.MIN_SCORE,
                        help="drop pairs scoring below this; off keeps all (default: weights, the least score "
                             "the weights that scored each file name: min_export_score, 0.1 in align/weights-*.json)")
    parser.add_argument("--max-type", default=ex.MAX_TYPE, metavar="M-N",
                        help="keep beads of at most M Chinese and N English sentences: 1-1 for 1-1 only, "
                             f"all for every shape; unaligned beads always go (default: {ex.MAX_TYPE})")
    parser.add_argument("--min-length", type=int_at_least(0), default=ex.MIN_LENGTH,
                        help=f"least Chinese characters and English words on each side (default: {ex.MIN_LENGTH})")
    parser.add_argument("--max-length", type=optional_int_at_least(1), default=ex.MAX_LENGTH,
                        help="most Chinese characters and English words on each side; off for no limit "
                             f"(default: {ex.MAX_LENGTH})")
    parser.add_argument("--length-ratio", default=ex.LENGTH_RATIO, metavar="auto|published|off|LOW:HIGH",
                        help="bounds on Chinese characters per English word: auto fits them from the pairs "
                             f"(median +- 3 robust deviations; the published ratio under {ex.MIN_FIT_PAIRS} "
                             f"pairs), published is {ex.PUBLISHED_BOUNDS[0]:.2f}:{ex.PUBLISHED_BOUNDS[1]:.1f} "
                             f"(default: {ex.LENGTH_RATIO})")
    parser.add_argument("--min-script", type=number_in(0, 1), default=ex.MIN_SCRIPT, metavar="SHARE",
                        help="language check: least share of Han letters on the Chinese side and of Latin "
                             f"letters on the English side; 0 turns it off (default: {ex.MIN_SCRIPT})")
    parser.add_argument("--keep-boilerplate", action="store_true",
                        help="keep pairs holding a photo credit, staff credit, byline or dateline (a sentence "
                             "whose role is credit; dropped by default)")
    parser.add_argument("--dedup", choices=("near", "exact", "off"), default=ex.DEDUP,
                        help="drop repeated pairs: exact, or near (also the same letters and digits after "
                             f"Unicode normalization, ignoring case, spaces and punctuation) (default: {ex.DEDUP})")


def pair_arguments(parser: argparse.ArgumentParser) -> None:
    from align import pairing

    parser.add_argument("zh", help="folder of Chinese documents, or a file listing them one path a line")
    parser.add_argument("en", nargs="?",
                        help="folder of English documents, or a file listing them (default: ZH too: a mixed "
                             "folder, each document taken as the language it is in)")
    parser.add_argument("-o", "--output", help="manifest TSV to write (default: stdout)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write a TSV with every document: matched, unmatched or skipped, its partner or "
                             "best candidate, and the score's parts")
    parser.add_argument("--threshold", type=number_in(0, 1), default=pairing.DEFAULT_THRESHOLD,
                        help="least score of a pair; documents whose best one-to-one partner scores less stay "
                             f"unmatched (default: {pairing.DEFAULT_THRESHOLD})")
    parser.add_argument("--candidates", type=int_at_least(1), default=pairing.DEFAULT_CANDIDATES,
                        help="partners per document scored in full, chosen by the mean best-match sentence cosine; "
                             f"every pair is scored when there are at most {pairing.ALL_PAIRS_LIMIT} "
                             f"(default: {pairing.DEFAULT_CANDIDATES})")
    parser.add_argument("--zh-glob", default="*", help="files of the ZH folder to read (default: *)")
    parser.add_argument("--en-glob", default="*", help="files of the EN folder to read (default: *)")
    parser.add_argument("--workers", type=int_at_least(1),
                        help="worker processes of the local Dask cluster that read, embed and score the documents "
                             "(default: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_arg,
                        help="use this Dask scheduler (e.g. tcp://host:8786) instead of a local cluster; its "
                             "workers must see the documents")


def batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", help="manifest TSV: columns zh_path, en_path (relative to its folder)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    parser.add_argument("--workers", type=int_at_least(1),
                        help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--threads", type=int_at_least(1), default=1,
                        help="OpenMP threads of each local worker's model (default: 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS", type=scheduler_arg,
                        help="use this Dask scheduler (e.g. tcp://host:8786) instead of a local cluster; its "
                             "workers must see the input paths and OUT_DIR")
    parser.add_argument("--redo", action="store_true", help="align every pair again, even those already done")


def cache_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info", "clear"), nargs="?", default="info", help="(default: info)")
    parser.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: $ZHALIGN_CACHE or ~/.cache/zhalign)")


def cmd_review(args: argparse.Namespace) -> int:
    from align.review_server import run_review

    return run_review(args)


def review_arguments(parser: argparse.ArgumentParser) -> None:
    from align.review_server import review_arguments as add

    add(parser)


def models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")


def tune_arguments(parser: argparse.ArgumentParser) -> None:
    from align.embedding import DEFAULT_MODEL

    parser.add_argument("gold", nargs="+", metavar="GOLD",
                        help="hand-aligned pairs: a TSV `zhalign review` saved (one document, its beads the gold; "
                             "beads left auto are used too, and counted on stderr), or a folder of zh/NAME and "
                             "en/NAME (one sentence a line) and gold/NAME (index format, `[0, 1]:[0]` a line), as "
                             "MAC-Dev is laid out; several of either may be given")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="weights file to write (JSON; for `zhalign align --weights FILE`); written whole or "
                             "not at all")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"the model the weights are for; the fit starts from its shipped weights (default: "
                             f"{DEFAULT_MODEL})")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the coordinate ascent, each with steps half the last's (default: 3)")
    parser.add_argument("--name", help="name in the weights id (default: tuned-DATE)")
    parser.add_argument("--no-cv", action="store_true",
                        help="skip the cross-validation (leave one document out) and its figure")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress of the fit on stderr")


def cmd_tune(args: argparse.Namespace) -> int:
    from align.tune import tune

    command = " ".join([f"{PROG} tune", *args.gold, "-o", args.output, "--model", args.model, "--rounds",
                        str(args.rounds)] + (["--name", args.name] if args.name else [])
                       + (["--no-cv"] if args.no_cv else []))
    report = tune([Path(gold) for gold in args.gold], Path(args.output), model=args.model, rounds=args.rounds,
                  name=args.name, cross_validation=not args.no_cv, log=None if args.quiet else _stderr,
                  command=command, warn=_stderr)
    print(report.describe())
    return 0


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    description: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None]
    groups: tuple[str, ...] = ()  # shared option groups, by their name in option_groups()


COMMANDS = (
    Command("align", "align one Chinese document with its English translation",
            "Align ZH with EN and write the bitext (TSV by default).",
            cmd_align, align_arguments, ("reading", "aligning", "messages")),
    Command("models", "list the embedding models the aligner knows",
            "List the model registry (align/registry.toml, and your models folder's registry.toml if you wrote one).",
            cmd_models, models_arguments),
    Command("eval", "score an alignment against gold: strict and lax precision, recall, F1",
            "Score predicted beads against gold beads (Sennrich & Volk 2010, as Vecalign and Bertalign score): "
            "strict counts exact beads, lax beads sharing a zh and an en sentence; pooled over files. GOLD and PRED "
            "are files or directories of files matched by name; each file is the index format ([0, 1]:[0] a "
            "line), Vecalign's output ([0, 1]:[0]:cost a line) or a zhalign TSV.",
            cmd_eval, eval_arguments),
    Command("plot", "align a pair and draw it: similarity heatmap with the path, scores",
            "Align ZH with EN and write a PNG: the sentence similarity heatmap with the alignment path and search "
            "band, a histogram of bead scores and the counts of bead types.",
            cmd_plot, plot_arguments, ("reading", "aligning", "messages")),
    Command("export", "filter aligned TSVs into training pairs: TSV, JSON Lines, Moses, TMX",
            "Read aligned TSVs (from `zhalign align` or `zhalign batch`), drop the pairs unfit for training and "
            "write them as PREFIX.tsv (zh<TAB>en), PREFIX.full.tsv (with score, type, source, ids, roles, verdict, "
            "signature), PREFIX.jsonl (Hugging Face translation shape), PREFIX.zh + PREFIX.en (Moses) and "
            "PREFIX.tmx (TMX 1.4b). The report of what each filter removed, and the signatures of what made the "
            "inputs, goes to stderr.",
            cmd_export, export_arguments, ("export-messages", "export-keep")),
    Command("pair", "find which English document translates which Chinese one",
            "Read two collections of documents and pair them one to one by document similarity (sentences aligned "
            "in order, shared numbers and dates, length ratio); write a manifest TSV (zh_path, en_path, score, "
            "signature) for `zhalign batch`. Documents with no counterpart are reported as unmatched on stderr.",
            cmd_pair, pair_arguments, ("reading", "cache", "report-messages")),
    Command("batch", "align every pair of a manifest on Dask, resumably",
            "Align every pair of MANIFEST (TSV with zh_path and en_path, as `zhalign pair` writes) on a Dask "
            "cluster. Writes OUT_DIR/pairs/NAME.tsv per pair, OUT_DIR/corpus.tsv and corpus.parquet (all beads of "
            "the pairs judged parallel, column `pair`) and OUT_DIR/summary.tsv (pair, status, sentences, beads, "
            "mean score, parallel verdict and AUC, signature, seconds, error). Rerunning skips a pair only when "
            "both its files (SHA-256) and the aligner's signature are those it was aligned with. Exit 1 when a "
            "pair failed (the others are done).",
            cmd_batch, batch_arguments, ("reading", "aligning", "cache", "messages", "batch-keep")),
    Command("cache", "show or clear the persistent embedding cache",
            "The embedding cache keeps every sentence vector by model and text, so aligning again (other "
            "settings, a resumed batch) embeds nothing twice. `info` shows its location, entries and size on "
            "disk (and says when it is read-only); `clear` empties it (and removes a cache it cannot read: not a database, or of another schema).",
            cmd_cache, cache_arguments),
    Command("review", "review and correct an alignment in the browser",
            "Open a page on 127.0.0.1 to review an alignment bead by bead: merge, split, move sentences, confirm, "
            "undo, align again around the confirmed beads. INPUT is ZH EN (aligned first), a TSV `zhalign align` "
            "wrote, or that TSV and its ZH EN. Every edit is kept in OUT.review.json at once; saving writes OUT.tsv "
            "(with a status column) and OUT.index; running it again resumes.",
            cmd_review, review_arguments, ("reading", "aligning", "cache", "messages")),
    Command("tune", "fit the scorer's weights to your own hand-aligned pairs",
            "Fit the bead scorer's weights (coordinate ascent on strict F1, align.tuning) to the gold of GOLD "
            "(TSVs `zhalign review` saved, or gold folders), starting from the weights shipped for --model, and "
            "write them to -o for `zhalign align --weights`. Prints the strict F1 of the fitting procedure held out by document (each document "
            "aligned with weights fitted on the others) beside the shipped weights' on the same documents.",
            cmd_tune, tune_arguments),
)


def option_groups() -> dict[str, argparse.ArgumentParser]:
    return {"reading": reading_options(), "aligning": aligning_options(), "cache": cache_options(),
            "messages": message_options(), "report-messages": message_options("report"),
            "export-messages": message_options("report", progress=False),
            "export-keep": keep_not_parallel_option("the pairs"),
            "batch-keep": keep_not_parallel_option("in corpus.tsv and corpus.parquet the beads")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Align a Chinese document with its English translation into scored sentence beads.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups = option_groups()
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help, description=command.description,
                                  parents=[groups[name] for name in command.groups])
        command.arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Aligner warnings as one line `zhalign: warning: ...`; others as Python prints them."""
    from align.errors import AlignWarning

    if issubclass(category, AlignWarning):
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    restore_handlers = handle_signals()  # Ctrl-C and SIGTERM recorded, so that no library loses them
    try:  # from the first import of a heavy module (building the parser) on: Ctrl-C is one line, exit 130
        args = build_parser().parse_args(argv)
        run: Callable[[argparse.Namespace], int] = args.run
        with warnings.catch_warnings():  # the one-line format for this run only; the hook is restored after
            warnings.showwarning = show_warning
            try:
                raise_if_interrupted()  # one swallowed while the command line loaded
                return run(args)
            except BrokenPipeError:
                return 1
            except USER_ERRORS as error:
                message = str(error).splitlines()[0] if str(error) else error.__class__.__name__
                print(f"{PROG}: error: {message}", file=sys.stderr)
                return 1
    except Terminated:
        print(f"{PROG}: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        restore_handlers()


if __name__ == "__main__":
    sys.exit(main())
