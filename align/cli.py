"""Command line: `zhalign align | models | plot | eval ...`, a thin layer over the modules.

Data goes to stdout (or -o FILE), messages and progress to stderr. Exit codes:
0 success, 1 bad input or failed run, 2 usage error, 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable

from align import __version__
from align.aligning import AlignParams
from align.embedding import DEFAULT_MODEL, DEVICES, ModelError
from align.reading import INPUT_FORMATS, InputError
from align.writing import OUTPUT_FORMATS

PROG = "zhalign"


def add_reading_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that reads and embeds documents: model, input formats, encoding."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="embedding model: a name from `zhalign models`, or a sentence-transformers "
                             f"folder (default: {DEFAULT_MODEL}, shipped with the package)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where a sentence-transformers model runs: cuda (a GPU), cpu, or auto (cuda when torch "
                             f"sees a GPU); {DEFAULT_MODEL} always runs on the CPU (default: auto)")
    parser.add_argument("--input-format", choices=INPUT_FORMATS, default="auto",
                        help="how to read both inputs: zaker (HTML export with YAML front matter), text "
                             "(paragraphs by blank lines or indentation), lines (one sentence a line, kept "
                             "as is); auto detects zaker or text (default: auto)")
    parser.add_argument("--zh-format", choices=INPUT_FORMATS, help="input format of the Chinese side only")
    parser.add_argument("--en-format", choices=INPUT_FORMATS, help="input format of the English side only")
    parser.add_argument("--encoding", help="encoding of the inputs (default: detect: UTF-8, UTF-16, GB18030, ...)")


def add_align_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that aligns."""
    add_reading_options(parser)
    parser.add_argument("--split-semicolon", action="store_true", help="also split Chinese sentences at ；")
    defaults = AlignParams()
    parser.add_argument("--max-bead", type=int, default=defaults.max_bead,
                        help=f"most sentences on one side of a bead (default: {defaults.max_bead})")
    parser.add_argument("--max-total", type=int, default=defaults.max_total,
                        help=f"most sentences in a bead, both sides together (default: {defaults.max_total})")
    parser.add_argument("--force", action="store_true",
                        help="align even when a side does not look like its language (English given as "
                             "the Chinese side, both sides Chinese) or has far more sentences than the other "
                             "(5 to 1 and beyond, wrong files): a warning instead of an error")
    parser.add_argument("--strict", action="store_true",
                        help="fail (exit 1, no output) when the documents do not look parallel; "
                             "by default that is a warning and a flag in the summary")
    parser.add_argument("--skip", type=float, default=None,
                        help="fixed cost of leaving a sentence unaligned (about 1 to 1.3 is typical; lower "
                             "leaves more unaligned). Default: the fitted cost, cheaper for a sentence whose "
                             "best match is poorer than the document's usual")


def params_from(args: argparse.Namespace) -> AlignParams:
    return AlignParams(max_bead=args.max_bead, max_total=max(args.max_total, 2), skip=args.skip)


def input_formats(args: argparse.Namespace) -> tuple[str, str]:
    return (args.zh_format or args.input_format, args.en_format or args.input_format)


def align_from_args(args: argparse.Namespace):
    """align_pair with the options of add_align_options (for align and plot)."""
    from align.pipeline import align_pair

    return align_pair(
        args.zh, args.en, model=args.model, input_format=input_formats(args), encoding=args.encoding,
        params=params_from(args), split_semicolon=args.split_semicolon, progress=progress_from(args),
        force=args.force, strict=args.strict, device=args.device,
    )


def cmd_align(args: argparse.Namespace) -> int:
    from align.writing import write_output

    result = align_from_args(args)
    write_output(result.frame, args.output, args.format)
    if not args.quiet:
        print(format_summary(result.summary()), file=sys.stderr)
    return 0


def format_summary(summary: dict) -> str:
    types = ", ".join(f"{kind} {count}" for kind, count in summary["types"].items())
    seconds = summary["seconds"]
    total = sum(seconds.values())
    return (
        f"{summary['zh_sentences']} zh and {summary['en_sentences']} en sentences -> "
        f"{summary['beads']} beads ({types}); mean score {summary['mean_score']:.3f}; "
        f"{total:.1f} s (embedding {seconds.get('embed', 0):.1f} s, aligning {seconds.get('align', 0):.1f} s) "
        f"with {summary['model']}" + parallel_note(summary)
    )


def parallel_note(summary: dict) -> str:
    """'; parallel: yes (AUC 0.96 ...)' from the summary's parallelism evidence."""
    from align.checking import ParallelReport

    evidence = summary.get("parallel_evidence")
    return f"; {ParallelReport(**evidence).describe()}" if evidence else ""


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Aligner warnings as one line `zhalign: warning: ...`; others as Python prints them."""
    from align.checking import AlignWarning

    if issubclass(category, AlignWarning):
        print(f"{PROG}: warning: {message}", file=sys.stderr)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


_python_showwarning = warnings.showwarning


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
    print(f"\nregistry and local model folders: {MODELS_DIR}", file=sys.stderr)
    return 0


def window_arg(text: str) -> tuple[int, int]:
    from align.plotting import parse_window

    try:
        return parse_window(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def size_arg(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like WIDTHxHEIGHT in pixels, e.g. 1800x1100, not {text!r}") from None
    if size[0] < 400 or size[1] < 300 or max(size) > 20000:
        raise argparse.ArgumentTypeError(f"size {text!r} out of range (400x300 to 20000x20000 pixels)")
    return size


def cmd_eval(args: argparse.Namespace) -> int:
    from align.evaluating import evaluate_paths, format_report

    result = evaluate_paths(args.gold, args.pred)
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

    result = align_from_args(args)
    with status(f"plotting {args.output}", show_progress(progress_from(args))):
        figure = overview_figure(result, window=args.window, size_px=args.size, dpi=args.dpi, labels=args.labels,
                                 centred=not args.raw)
        save_png(figure, args.output)
    if not args.quiet:
        print(format_summary(result.summary()), file=sys.stderr)
        font = "" if cjk_font() else "; no CJK font found, Chinese sentences labelled by number"
        print(f"wrote {args.output} ({args.size[0]}x{args.size[1]} pixels){font}", file=sys.stderr)
    return 0


def optional_number(kind: type) -> Callable[[str], float | int | None]:
    """A number, or `off` for no limit."""
    def parse(text: str) -> float | int | None:
        if text.strip().lower() in ("off", "none"):
            return None
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or off, not {text!r}") from None
    return parse


def cmd_export(args: argparse.Namespace) -> int:
    from align.exporting import export, filter_pairs, output_paths, parse_formats, read_aligned

    formats = parse_formats(args.format)
    # Never read back files this run is about to write (e.g. -o inside the input folder).
    tables = read_aligned(args.inputs, exclude=output_paths(args.output, formats))
    frame, report = filter_pairs(
        tables, min_score=args.min_score, max_type=args.max_type, boilerplate=not args.keep_boilerplate,
        min_script=args.min_script, min_length=args.min_length, max_length=args.max_length,
        length_ratio=args.length_ratio, dedup=args.dedup,
    )
    written = export(frame, args.output, formats)
    if not args.quiet:
        print(f"{len(tables)} aligned file{'s' if len(tables) != 1 else ''} read; " + report.format(), file=sys.stderr)
        print("wrote " + ", ".join(str(path) for path in written), file=sys.stderr)
    return 0


def add_message_options(parser: argparse.ArgumentParser, report: str = "summary") -> None:
    """--no-progress and -q: what a command prints on stderr besides errors."""
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("-q", "--quiet", action="store_true", help=f"no {report} on stderr")


def progress_from(args: argparse.Namespace) -> bool | None:
    """Progress as the options ask: None (on a terminal only, align.progress) or False (--no-progress)."""
    return None if args.progress else False


def check_local_device(args: argparse.Namespace) -> None:
    """Refuse a device this machine cannot give before starting a local cluster
    (the workers of a --scheduler may have what this machine lacks)."""
    from align.embedding import resolve_device, resolve_model

    if not args.scheduler:
        resolve_device(args.device, resolve_model(args.model).backend)


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="persistent embedding cache folder (default: $ZHALIGN_CACHE or ~/.cache/zhalign)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or fill the embedding cache")


def cache_from(args: argparse.Namespace):
    """The EmbeddingCache the options ask for, or None for --no-cache."""
    from align.caching import EmbeddingCache

    return None if args.no_cache else EmbeddingCache(args.cache_dir)


def cmd_pair(args: argparse.Namespace) -> int:
    from align.batching import dask_client
    from align.pairing import list_documents, pair_documents, write_manifest, write_report

    if args.candidates < 1:
        raise ValueError("--candidates must be at least 1")
    zh_paths = list_documents(args.zh, args.zh_glob)
    en_paths = list_documents(args.en or args.zh, args.en_glob)
    if not zh_paths or not en_paths:
        raise InputError(f"no documents in {args.zh if not zh_paths else args.en or args.zh}")
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    check_local_device(args)
    cache = cache_from(args)
    with dask_client(args.scheduler, args.workers) as client:
        pairing = pair_documents(zh_paths, en_paths, args.model, threshold=args.threshold, candidates=args.candidates,
                                 input_format=input_formats(args), encoding=args.encoding,
                                 progress=progress_from(args), client=client,
                                 cache_dir=None if cache is None else cache.folder, device=args.device)
    manifest = pairing.manifest()
    if args.output in (None, "-"):
        sys.stdout.write(manifest.to_csv(sep="\t", index=False, lineterminator="\n"))
    else:
        write_manifest(manifest, args.output)
    report = pairing.report()
    if args.report:
        write_report(report, args.report)
    if not args.quiet:
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
        print(f"{count} pair{'' if count == 1 else 's'} (score >= {args.threshold}); unmatched: {len(zh_left)} zh, "
              f"{len(en_left)} en; skipped {len(pairing.skipped)}; {pairing.seconds:.1f} s", file=sys.stderr)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from align.batching import BatchSettings, run_batch

    cache = cache_from(args)
    settings = BatchSettings(
        model=args.model, input_format=input_formats(args), encoding=args.encoding,
        split_semicolon=args.split_semicolon, params=asdict(params_from(args)),
        cache_dir=None if cache is None else str(cache.folder), device=args.device,
        # options other subcommands' align_pair takes, passed on only when given
        align_options={name: True for name in ("force", "strict") if getattr(args, name, False)},
    )
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    check_local_device(args)
    result = run_batch(args.manifest, args.output, settings, workers=args.workers, scheduler=args.scheduler,
                       threads=args.threads, redo=args.redo, progress=progress_from(args))
    counts = result.counts()
    failed = counts.get("failed", 0)
    if not args.quiet:
        done = result.summary[result.summary["status"].isin(["ok", "skipped"])]
        sentences = int(done["zh_sentences"].sum() + done["en_sentences"].sum()) if len(done) else 0
        print(f"{len(result.summary)} pairs: {counts.get('ok', 0)} aligned, {counts.get('skipped', 0)} already done, "
              f"{failed} failed; {sentences} sentences, {int(done['beads'].sum()) if len(done) else 0} beads; "
              f"{result.seconds:.1f} s" + (f" on {result.workers} worker{'' if result.workers == 1 else 's'}"
                                          if result.workers else ""), file=sys.stderr)
        print(f"wrote {result.out_dir}/summary.tsv, corpus.tsv, corpus.parquet and pairs/", file=sys.stderr)
    if failed:
        first = result.summary[result.summary["status"] == "failed"].iloc[0]
        print(f"{PROG}: error: {failed} of {len(result.summary)} pairs failed (see {result.out_dir}/summary.tsv); "
              f"first: {first['error']}", file=sys.stderr)
        return 1
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from align.caching import EmbeddingCache, human_size

    cache = EmbeddingCache(args.cache_dir)
    if args.action == "clear":
        size = cache.info()["bytes"]
        removed = cache.clear()
        print(f"cleared {cache.path}: {removed} vectors, {human_size(size)} before", file=sys.stderr)
        return 0
    info = cache.info()
    print(f"location  {info['path']}")
    print(f"entries   {info['entries']}")
    print(f"size      {human_size(info['bytes'])} on disk")
    for model, count in info["models"].items():
        print(f"model     {model}: {count}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Align a Chinese document with its English translation into scored sentence beads.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    align = commands.add_parser("align", help="align one Chinese document with its English translation",
                                description="Align ZH with EN and write the bitext (TSV by default).")
    align.add_argument("zh", help="Chinese document (ZAKER export, plain text or one sentence a line)")
    align.add_argument("en", help="English document")
    align.add_argument("-o", "--output", help="output file (default: stdout); written whole or not at all")
    align.add_argument("--format", choices=OUTPUT_FORMATS, default="tsv",
                       help="tsv: columns zh, en, score, type, zh_ids, en_ids; index: `[0, 1]:[0]` a line "
                            "(default: tsv)")
    add_align_options(align)
    add_message_options(align)
    align.set_defaults(run=cmd_align)

    models = commands.add_parser("models", help="list the embedding models the aligner knows",
                                 description="List the model registry (models/registry.toml).")
    models.add_argument("--json", action="store_true", help="print the registry as JSON")
    models.set_defaults(run=cmd_models)

    evaluation = commands.add_parser(
        "eval", help="score an alignment against gold: strict and lax precision, recall, F1",
        description="Score predicted beads against gold beads (Sennrich & Volk 2010, as Vecalign and Bertalign "
                    "score): strict counts exact beads, lax beads sharing a zh and an en sentence; pooled over "
                    "files. GOLD and PRED are files or directories of files matched by name; each file is the "
                    "index format ([0, 1]:[0] a line) or a zhalign TSV.")
    evaluation.add_argument("gold", help="gold alignment file or directory")
    evaluation.add_argument("pred", help="predicted alignment file or directory")
    evaluation.add_argument("--by-file", action="store_true", help="also a line per file")
    evaluation.add_argument("--by-type", action="store_true", help="also a line per bead type (e.g. 1-2)")
    evaluation.add_argument("--json", action="store_true", help="everything as JSON")
    evaluation.set_defaults(run=cmd_eval)

    plot = commands.add_parser("plot", help="align a pair and draw it: similarity heatmap with the path, scores",
                               description="Align ZH with EN and write a PNG: the sentence similarity heatmap "
                                           "with the alignment path and search band, a histogram of bead "
                                           "scores and the counts of bead types.")
    plot.add_argument("zh", help="Chinese document (ZAKER export, plain text or one sentence a line)")
    plot.add_argument("en", help="English document")
    plot.add_argument("-o", "--output", required=True, help="PNG file to write (written whole or not at all)")
    plot.add_argument("--window", type=window_arg, metavar="START:END",
                      help="zoom the heatmap to Chinese sentences START..END-1 (0-based) and the English "
                           "sentences the path reaches there; windows of at most 40 sentences are labelled "
                           "with the sentences' text (default: the whole document)")
    plot.add_argument("--size", type=size_arg, default=(1800, 1100), metavar="WxH",
                      help="image size in pixels (default: 1800x1100)")
    plot.add_argument("--dpi", type=int, default=100, help="dots per inch: scales the text (default: 100)")
    plot.add_argument("--labels", choices=("auto", "text", "number"), default="auto",
                      help="heatmap tick labels: sentence text and number, number only, or auto (text for "
                           "small windows); Chinese text needs a CJK font (default: auto)")
    plot.add_argument("--raw", action="store_true",
                      help="colour raw cosines instead of cosines with row and column means removed")
    add_align_options(plot)
    add_message_options(plot)
    plot.set_defaults(run=cmd_plot)

    from align import exporting as ex

    export = commands.add_parser(
        "export", help="filter aligned TSVs into training pairs: TSV, JSON Lines, Moses, TMX",
        description="Read aligned TSVs (from `zhalign align`), drop the pairs unfit for training and write "
                    "them as PREFIX.tsv (zh<TAB>en), PREFIX.full.tsv (with score, type, source), PREFIX.jsonl "
                    "(Hugging Face translation shape), PREFIX.zh + PREFIX.en (Moses) and PREFIX.tmx (TMX 1.4b). "
                    "The report of what each filter removed goes to stderr.")
    export.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="aligned TSV files, folders (their *.tsv, recursively) or glob patterns")
    export.add_argument("-o", "--output", required=True, metavar="PREFIX",
                        help="output prefix, e.g. out/train; all files are written, or none")
    export.add_argument("--format", default="all", metavar="LIST",
                        help=f"comma-separated: {', '.join(ex.FORMATS)}, or all (default: all)")
    export.add_argument("--min-score", type=optional_number(float), default=ex.MIN_SCORE,
                        help=f"drop pairs scoring below this; off keeps all (default: {ex.MIN_SCORE})")
    export.add_argument("--max-type", default=ex.MAX_TYPE, metavar="M-N",
                        help="keep beads of at most M Chinese and N English sentences: 1-1 for 1-1 only, "
                             f"all for every shape; unaligned beads always go (default: {ex.MAX_TYPE})")
    export.add_argument("--min-length", type=int, default=ex.MIN_LENGTH,
                        help="least Chinese characters and English words on each side "
                             f"(default: {ex.MIN_LENGTH})")
    export.add_argument("--max-length", type=optional_number(int), default=ex.MAX_LENGTH,
                        help="most Chinese characters and English words on each side; off for no limit "
                             f"(default: {ex.MAX_LENGTH})")
    export.add_argument("--length-ratio", default=ex.LENGTH_RATIO, metavar="auto|published|off|LOW:HIGH",
                        help="bounds on Chinese characters per English word: auto fits them from the pairs "
                             f"(median +- 3 robust deviations; the published ratio under {ex.MIN_FIT_PAIRS} "
                             f"pairs), published is {ex.PUBLISHED_BOUNDS[0]:.2f}:{ex.PUBLISHED_BOUNDS[1]:.1f} "
                             f"(default: {ex.LENGTH_RATIO})")
    export.add_argument("--min-script", type=float, default=ex.MIN_SCRIPT, metavar="SHARE",
                        help="language check: least share of Han letters on the Chinese side and of Latin "
                             f"letters on the English side; 0 turns it off (default: {ex.MIN_SCRIPT})")
    export.add_argument("--keep-boilerplate", action="store_true",
                        help="keep photo credits, staff credits and leading bylines (dropped by default)")
    export.add_argument("--dedup", choices=("near", "exact", "off"), default=ex.DEDUP,
                        help="drop repeated pairs: exact, or near (also the same letters and digits after "
                             f"Unicode normalization, ignoring case, spaces and punctuation) (default: {ex.DEDUP})")
    export.add_argument("-q", "--quiet", action="store_true", help="no report on stderr")
    export.set_defaults(run=cmd_export)

    pair = commands.add_parser("pair", help="find which English document translates which Chinese one",
                               description="Read two collections of documents and pair them one to one by "
                                           "document similarity (sentences aligned in order, shared numbers and "
                                           "dates, length ratio); write a manifest TSV (zh_path, en_path, score) "
                                           "for `zhalign batch`. Documents with no counterpart are reported as "
                                           "unmatched on stderr.")
    pair.add_argument("zh", help="folder of Chinese documents, or a file listing them one path a line")
    pair.add_argument("en", nargs="?",
                      help="folder of English documents, or a file listing them (default: ZH too: a mixed "
                           "folder, each document taken as the language it is in)")
    pair.add_argument("-o", "--output", help="manifest TSV to write (default: stdout)")
    pair.add_argument("--report", metavar="FILE",
                      help="also write a TSV with every document: matched, unmatched or skipped, its partner or "
                           "best candidate, and the score's parts")
    pair.add_argument("--threshold", type=float, default=0.45,
                      help="least score of a pair; documents whose best one-to-one partner scores less stay "
                           "unmatched (default: 0.45)")
    pair.add_argument("--candidates", type=int, default=3,
                      help="partners per document scored in full, chosen by pooled-vector similarity; every pair "
                           "is scored when there are at most 64 (default: 3)")
    pair.add_argument("--zh-glob", default="*", help="files of the ZH folder to read (default: *)")
    pair.add_argument("--en-glob", default="*", help="files of the EN folder to read (default: *)")
    pair.add_argument("--workers", type=int,
                      help="worker processes of the local Dask cluster that read, embed and score the documents "
                           "(default: one per core)")
    pair.add_argument("--scheduler", metavar="ADDRESS",
                      help="use this Dask scheduler (e.g. tcp://host:8786) instead of a local cluster; its "
                           "workers must see the documents")
    add_reading_options(pair)
    add_cache_options(pair)
    add_message_options(pair, "report")
    pair.set_defaults(run=cmd_pair)

    batch = commands.add_parser("batch", help="align every pair of a manifest on Dask, resumably",
                                description="Align every pair of MANIFEST (TSV with zh_path and en_path, as "
                                            "`zhalign pair` writes) on a Dask cluster. Writes OUT_DIR/pairs/NAME.tsv "
                                            "per pair, OUT_DIR/corpus.tsv and corpus.parquet (all beads, column "
                                            "`pair`) and OUT_DIR/summary.tsv (pair, sentences, beads, mean score, "
                                            "seconds, status, error). Rerunning skips pairs already done with the "
                                            "same settings. Exit 1 when a pair failed (the others are done).")
    batch.add_argument("manifest", help="manifest TSV: columns zh_path, en_path (relative to its folder)")
    batch.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    batch.add_argument("--workers", type=int,
                       help="worker processes of the local cluster (default: one per core)")
    batch.add_argument("--threads", type=int, default=1,
                       help="OpenMP threads of each local worker's model (default: 1)")
    batch.add_argument("--scheduler", metavar="ADDRESS",
                       help="use this Dask scheduler (e.g. tcp://host:8786) instead of a local cluster; its "
                            "workers must see the input paths and OUT_DIR")
    batch.add_argument("--redo", action="store_true", help="align every pair again, even those already done")
    add_align_options(batch)
    add_cache_options(batch)
    add_message_options(batch)
    batch.set_defaults(run=cmd_batch)

    cache = commands.add_parser("cache", help="show or clear the persistent embedding cache",
                                description="The embedding cache keeps every sentence vector by model and text, "
                                            "so aligning again (other settings, a resumed batch) embeds nothing "
                                            "twice. `info` shows its location, entries and size on disk; `clear` "
                                            "empties it.")
    cache.add_argument("action", choices=("info", "clear"), nargs="?", default="info", help="(default: info)")
    cache.add_argument("--cache-dir", metavar="DIR", help="cache folder (default: $ZHALIGN_CACHE or ~/.cache/zhalign)")
    cache.set_defaults(run=cmd_cache)
    return parser


# Errors a user can cause; each is reported in one line, never as a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (InputError, ModelError, ValueError, OSError)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    warnings.showwarning = show_warning
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except USER_ERRORS as error:
        message = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
