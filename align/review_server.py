"""`zhalign review`: a page on 127.0.0.1 to review and correct an alignment.

The web layer only: the beads and their edits are align.reviewing's. The page
(align/review_static) asks for an operation and gets back the rows that
changed; every edit is written to the journal beside the output at once, and
`s` saves the TSV and the index format. Every request must carry the session
token (query `token` or header X-Review-Token), else 403.
"""
from __future__ import annotations

import argparse
import secrets
import sys
import threading
import webbrowser
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from align.errors import USER_ERRORS, InputError, UsageError
from align.options import encodings, input_formats, progress_from
from align.reviewing import (Journal, Review, ReviewError, ReviewPaths, ReviewSources, ReviewState, resume_cursor,
                             save_review, state_from_frame, state_from_result)
from align.writing import read_tsv, refuse_overwriting_inputs

HOST = "127.0.0.1"
TOKEN_HEADER = "X-Review-Token"
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}


# --- aligning again around the confirmed beads --------------------------------------------------

@dataclass
class Realigner:
    """Aligns the documents again with the confirmed beads as anchors; keeps the
    encoder (and so every vector it made) between calls."""

    sources: ReviewSources
    encoder: object = None
    no_cache: bool = False
    cache_dir: str | None = None

    @property
    def available(self) -> bool:
        return bool(self.sources.zh and self.sources.en)

    def _encoder(self):
        if self.encoder is None:
            from align.caching import attach_cache
            from align.embedding import load_encoder

            settings = self.sources.settings
            self.encoder = load_encoder(settings.get("model") or _default_model(), settings.get("device", "auto"))
            if not self.no_cache:
                attach_cache(self.encoder, self.cache_dir)
        return self.encoder

    def align(self, anchors: list[tuple[tuple[int, ...], tuple[int, ...]]] | None = None,
              progress: bool | None = False):
        """align_pair on the recorded documents and settings (a PairResult)."""
        from align.aligning import AlignParams
        from align.pipeline import align_pair

        if not self.available:
            raise ReviewError("re-align needs the ZH and EN documents: run zhalign review OUT.tsv ZH EN")
        settings = self.sources.settings
        params = AlignParams(max_bead=settings.get("max_bead", AlignParams.max_bead),
                             max_total=settings.get("max_total", AlignParams.max_total), skip=settings.get("skip"))
        options = {"anchors": anchors} if anchors else {}
        return align_pair(self.sources.zh, self.sources.en, model=self._encoder(),
                          input_format=tuple(settings.get("input_format", ("auto", "auto"))),
                          encoding=tuple(settings.get("encoding", (None, None))), params=params,
                          split_semicolon=settings.get("split_semicolon", False), progress=progress,
                          force=settings.get("force", False), strict=settings.get("strict", False), **options)

    def realign(self, state: ReviewState) -> ReviewState:
        anchors = [(bead.zh, bead.en) for bead in state.beads if bead.confirmed]
        result = self.align(anchors)
        if (tuple(s.text for s in result.zh), tuple(s.text for s in result.en)) != (state.document.zh,
                                                                                      state.document.en):
            raise ReviewError(f"{self.sources.zh} or {self.sources.en} no longer give the sentences under review "
                              "(changed files, or other reading options)")
        return state.realigned([(b.zh, b.en, b.score) for b in result.alignment.beads])


def _default_model() -> str:
    from align.embedding import DEFAULT_MODEL

    return DEFAULT_MODEL


# --- the session: a review, where it is kept, and what may not be written over ------------------

@dataclass
class ReviewSession:
    review: Review
    paths: ReviewPaths
    journal: Journal
    realigner: Realigner
    inputs: list[Path] = field(default_factory=list)
    title: str = ""
    note: str = ""  # shown on the page (e.g. why re-align is unavailable)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self) -> None:
        self.journal.write(self.review)

    def save(self) -> list[Path]:
        refuse_overwriting_inputs(self.paths.written(), self.inputs)
        written = save_review(self.review.state, self.paths)
        self.review.edits = 0
        self.record()
        return written


def row(bead) -> dict:
    return {"zh": list(bead.zh), "en": list(bead.en), "score": bead.score, "status": bead.status}


def create_app(session: ReviewSession, token: str):
    """The Flask app of one review session; every request needs `token`."""
    from flask import Flask, Response, abort, jsonify, request

    app = Flask(__name__, static_folder=None)
    static = resources.files("align") / "review_static"

    @app.before_request
    def require_token():
        given = request.args.get("token") or request.headers.get(TOKEN_HEADER) or ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            abort(403)

    @app.errorhandler(ReviewError)
    def refused(error):
        return jsonify(error=str(error)), 409

    def failed(error):
        return jsonify(error=str(error).splitlines()[0]), 500

    for kind in USER_ERRORS:
        if not issubclass(kind, ReviewError):
            app.register_error_handler(kind, failed)

    @app.get("/")
    def page():
        html = (static / "index.html").read_text(encoding="utf-8")
        return Response(html.replace("{{token}}", token).replace("{{title}}", _escape(session.title)),
                        mimetype="text/html", headers={"Cache-Control": "no-store"})

    @app.get("/static/<name>")
    def static_file(name: str):
        if name not in STATIC_FILES:
            abort(404)
        return Response((static / name).read_bytes(), mimetype=STATIC_FILES[name])

    def counts() -> dict:
        review = session.review
        return {"count": len(review.state.beads), "cursor": review.cursor, "undo": len(review.undo_stack),
                "redo": len(review.redo_stack), "unsaved": review.edits}

    @app.get("/api/state")
    def state():
        with session.lock:
            document = session.review.state.document
            return jsonify(counts() | {
                "zh": list(document.zh), "en": list(document.en), "rows": [row(b) for b in session.review.state.beads],
                "title": session.title, "output": str(session.paths.tsv), "index": str(session.paths.index),
                "journal": str(session.paths.journal), "realign": session.realigner.available, "note": session.note})

    def changed(span: tuple[int, int, int]) -> dict:
        start, removed, added = span
        beads = session.review.state.beads
        return counts() | {"start": start, "removed": removed, "rows": [row(b) for b in beads[start:start + added]]}

    @app.post("/api/op")
    def operate():
        body = request.get_json(force=True, silent=True) or {}
        name = body.get("op")
        with session.lock:
            review = session.review
            if isinstance(body.get("cursor"), int):
                review.cursor = min(max(body["cursor"], 0), len(review.state.beads) - 1)
            k = body.get("index", review.cursor)
            if not isinstance(k, int):
                raise ReviewError("index must be a bead number")
            state = review.state
            if name == "undo":
                span = review.undo()
            elif name == "redo":
                span = review.redo()
            else:
                if name == "merge":
                    new = state.merge(k)
                elif name == "split":
                    new = state.split(k, str(body.get("mode", "pair")))
                elif name == "move":
                    new = state.move(k, str(body.get("side")), str(body.get("edge")))
                elif name == "confirm":
                    new = state.confirm(k)
                elif name == "confirm_through":
                    new = state.confirm_through(k)
                elif name == "realign":
                    new = session.realigner.realign(state)
                else:
                    raise ReviewError(f"unknown operation {name!r}")
                span = review.apply(new)
            session.record()
            return jsonify(changed(span))

    @app.post("/api/cursor")
    def cursor():
        body = request.get_json(force=True, silent=True) or {}
        with session.lock:
            if isinstance(body.get("cursor"), int):
                session.review.cursor = min(max(body["cursor"], 0), len(session.review.state.beads) - 1)
                session.record()
            return jsonify(counts())

    @app.get("/api/next")
    def next_bead():
        with session.lock:
            at = request.args.get("cursor", type=int, default=session.review.cursor)
            walking = request.args.get("walk") == "1"
            return jsonify(index=session.review.state.needs_look(at, walking))

    @app.post("/api/save")
    def save():
        with session.lock:
            written = session.save()
            return jsonify(counts() | {"written": [str(path) for path in written]})

    return app


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class ReviewServer:
    """The app served on 127.0.0.1 in a thread (tests) or in the foreground (the command)."""

    def __init__(self, session: ReviewSession, port: int = 0):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs) -> None:  # no access log: its lines would show the token
                pass

        self.token = secrets.token_urlsafe(24)
        self.session = session
        try:
            self.server = make_server(HOST, port, create_app(session, self.token), threaded=True,
                                      request_handler=QuietHandler)
        except OSError as error:
            raise UsageError(f"cannot listen on {HOST}:{port}: {error.strerror or error}") from None
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_port}/?token={self.token}"

    def start(self) -> ReviewServer:
        self.thread = threading.Thread(target=self.server.serve_forever, name="zhalign-review", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join()


# --- the command ---------------------------------------------------------------------------------

def review_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="ZH EN (align them first), OUT.tsv (a TSV `zhalign align` wrote, or a review saved), or "
                             "OUT.tsv ZH EN (its documents too, so that the page can align again)")
    parser.add_argument("-o", "--output", metavar="OUT.tsv",
                        help="the reviewed TSV to write; the index format goes beside it (OUT.index) and every edit "
                             "to OUT.review.json at once (default: for IN.tsv, IN.reviewed.tsv; for ZH EN, "
                             "ZH-name.reviewed.tsv here); never an input")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--no-browser", action="store_true", help="print the page's address only, open no browser")


def settings_from(args: argparse.Namespace) -> dict:
    """The reading and aligning options a re-align needs, by their command-line names (JSON-able)."""
    return {"model": args.model, "device": args.device, "input_format": list(input_formats(args)),
            "encoding": list(encodings(args)), "split_semicolon": args.split_semicolon, "max_bead": args.max_bead,
            "max_total": max(args.max_total, 2), "skip": args.skip, "force": args.force, "strict": args.strict}


def default_output(tsv: Path | None, zh: Path | None) -> Path:
    if tsv is None:
        return Path(f"{zh.stem}.reviewed.tsv")
    stem = tsv.with_suffix("") if tsv.suffix.lower() == ".tsv" else tsv
    if stem.name.endswith(".reviewed"):
        original = stem.with_name(stem.name[:-len('.reviewed')] + ".tsv")
        raise UsageError(f"{tsv} is a saved review: give -o, or run `zhalign review {original}` to go on with it")
    return stem.with_name(stem.name + ".reviewed.tsv")


def document_sentences(path: Path, lang: str, args: argparse.Namespace) -> list[tuple[str, str]]:
    """A document's sentences (text, role), read and split as align_pair does."""
    from align.reading import read_document
    from align.segmenting import split_document

    side = 0 if lang == "zh" else 1
    document = read_document(path, input_formats(args)[side], encodings(args)[side])
    return [(s.text, s.role) for s in split_document(document, lang, lang == "zh" and args.split_semicolon)]


def open_session(args: argparse.Namespace, encoder=None) -> ReviewSession:
    """The review the arguments ask for: resumed from the journal beside the output when there
    is one, else read from the TSV, else aligned from ZH EN. encoder: one already loaded
    (align.embedding.Encoder) for aligning, instead of loading args.model."""
    inputs = [Path(p) for p in args.inputs]
    if len(inputs) == 1:
        tsv, zh, en = inputs[0], None, None
    elif len(inputs) == 2:
        tsv, (zh, en) = None, inputs
    elif len(inputs) == 3:
        tsv, zh, en = inputs
    else:
        raise UsageError("give ZH EN, OUT.tsv, or OUT.tsv ZH EN")
    for path in inputs:
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    paths = ReviewPaths.of(args.output or default_output(tsv, zh))
    refuse_overwriting_inputs(paths.written(), inputs)
    sources = ReviewSources(str(tsv.resolve()) if tsv else None, str(zh.resolve()) if zh else None,
                            str(en.resolve()) if en else None, settings_from(args))
    realigner = Realigner(sources, encoder, no_cache=args.no_cache, cache_dir=args.cache_dir)
    message = ""
    if paths.journal.exists():
        review, recorded = Journal.read(paths.journal)
        given = [p for p in (sources.tsv, sources.zh, sources.en) if p]
        kept = [p for p in (recorded.tsv, recorded.zh, recorded.en) if p]
        if not set(given) & set(kept):
            raise UsageError(f"{paths.journal} is the review of {', '.join(kept)}, not of {', '.join(given)}: "
                             "choose another -o, or remove it")
        if recorded.zh and recorded.en and not (zh and en):
            sources = replace(sources, zh=recorded.zh, en=recorded.en, settings=recorded.settings)
            realigner.sources = sources
        message = (f"resuming {paths.journal}: bead {review.cursor + 1} of {len(review.state.beads)}"
                   + (f", {review.edits} edits not saved yet" if review.edits else ""))
    elif tsv is not None:
        frame = _read_aligned(tsv)
        sentences = (document_sentences(zh, "zh", args), document_sentences(en, "en", args)) if zh else (None, None)
        state = state_from_frame(frame, str(tsv), *sentences)
        review = Review(state, resume_cursor(state) if "status" in frame.columns else 0)
    else:
        from align.caching import attach_cache
        from align.embedding import load_encoder

        if realigner.encoder is None:
            realigner.encoder = load_encoder(args.model, args.device)
            if not args.no_cache:
                attach_cache(realigner.encoder, args.cache_dir)
        result = realigner.align(progress=progress_from(args))
        if not args.quiet:
            print(result.summary().describe(), file=sys.stderr)
        review = Review(state_from_result(result))
    note = "" if realigner.available else "Re-align needs the documents: run zhalign review OUT.tsv ZH EN."
    title = " ↔ ".join(Path(p).name for p in (sources.zh, sources.en) if p) or Path(sources.tsv or "").name
    session = ReviewSession(review, paths, Journal(paths.journal, sources), realigner, inputs, title, note)
    session.record()
    if message and not args.quiet:
        print(message, file=sys.stderr)
    return session


def _read_aligned(path: Path):
    try:
        return read_tsv(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a readable aligned TSV ({str(error).splitlines()[0]})") from None


def run_review(args: argparse.Namespace) -> int:
    session = open_session(args)
    server = ReviewServer(session, args.port)
    print(f"reviewing at {server.url}\nedits go to {session.paths.journal}; s on the page saves "
          f"{session.paths.tsv} and {session.paths.index}; Ctrl-C stops", file=sys.stderr, flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        unsaved = session.review.edits
        print(f"stopped; {unsaved} edit{'s' if unsaved != 1 else ''} not saved, kept in {session.paths.journal}"
              if unsaved else "stopped", file=sys.stderr)
    finally:
        server.server.server_close()
    return 0


__all__ = ["HOST", "Realigner", "ReviewServer", "ReviewSession", "create_app", "open_session", "review_arguments",
           "run_review"]
