"""The documents of a collection to pair: listed, read, split and embedded, one
DocumentInfo each, in this process or on a Dask worker with that worker's encoder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from align.cues import numbers_of
from align.embedding import Encoder, ModelSpec
from align.errors import InputError
from align.preparing import Side, prepare_side
from align.reading import MAX_INPUT_BYTES, Document, read_document
from align.script import script_profile
from align.segmenting import split_document

NOT_LANGUAGE = {"zh": "not Chinese", "en": "not English"}


@dataclass
class DocumentInfo:
    """What pairing knows of one document."""

    path: str
    lang: str
    # Its sentences as the aligner reads them (align.preparing.Side; None: skipped, see `error`). The
    # side's `vectors` are Encoder.encode's, which the candidate stage compares across documents; the
    # aligner compares its aligned_vectors, made from them when a pair is aligned (for an ensemble,
    # each member's part centred over this document) so that a collection holds one array a document.
    side: Side | None = None
    numbers: frozenset[str] = frozenset()
    error: str = ""
    model: ModelSpec | None = None  # that embedded the document (None: made by hand, taken as the default model)

    @property
    def length(self) -> float:
        """The document's length in the model's tokens (Encoder.lengths)."""
        return float(self.side.stats.length.sum()) if self.side is not None else 0.0


def list_documents(source: str | Path, pattern: str = "*") -> list[Path]:
    """A folder's files matching `pattern` (not hidden, sorted), or the paths
    listed in a file, one a line (blank lines and # comments skipped;
    relative paths are relative to the list file's folder)."""
    source = Path(source)
    if source.is_dir():
        return sorted(p for p in source.glob(pattern) if p.is_file() and not p.name.startswith("."))
    if not source.is_file():
        raise InputError(f"{source}: no such folder or list file")
    paths = []
    try:
        lines = source.read_text("utf-8-sig").splitlines()  # a BOM is not part of the first path
    except UnicodeDecodeError:
        raise InputError(f"{source}: a list of documents must be UTF-8 text, one path a line") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read ({error.strerror or error})") from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path = Path(line).expanduser()
        path = path if path.is_absolute() else source.parent / path
        if not path.is_file():
            raise InputError(f"{source}: line {number}: no such document {line!r}")
        paths.append(path)
    return paths


def document_language(document: Document) -> str:
    return "zh" if script_profile(p.text for p in document.paragraphs).looks_chinese() else "en"


def read_info(
    path: str | Path,
    langs: Sequence[str],
    encoder: Encoder,
    formats: dict[str, str],
    encodings: dict[str, str | None] | None = None,
    max_bytes: int | None = MAX_INPUT_BYTES,
) -> DocumentInfo:
    """One document read, split and embedded as the first of `langs` it is
    written in (a path on both sides of one mixed folder has both), or, with
    its `error`, skipped: unreadable, larger than max_bytes, no sentences, or in
    another language."""
    for lang in langs:
        info = DocumentInfo(str(path), lang)
        try:
            document = read_document(Path(path), formats[lang], (encodings or {}).get(lang), max_bytes)
            if document_language(document) != lang:
                info.error = NOT_LANGUAGE[lang]
                continue
            sentences = split_document(document, lang)
            if not sentences:
                raise InputError(f"{path}: no sentences found")
        except InputError as error:
            info.error = str(error).splitlines()[0]
            return info
        info.side = prepare_side(encoder, [s.text for s in sentences], [s.role for s in sentences])
        info.model = encoder.spec
        info.numbers = numbers_of("\n".join(info.side.texts), document.metadata)
        return info
    return info


@dataclass(frozen=True)
class ReadSettings:
    """What a Dask worker needs to read and embed a document like this process would."""

    model: str
    formats: dict[str, str]
    encodings: dict[str, str | None]
    cache_dir: str | None = None
    device: str = "auto"
    max_bytes: int | None = MAX_INPUT_BYTES


def read_with_worker_encoder(path: str | Path, langs: Sequence[str], reading: ReadSettings) -> DocumentInfo:
    """read_info on a Dask worker, with the encoder that worker keeps (align.cluster.worker_encoder)."""
    from align.cluster import worker_encoder  # here, not above: importing distributed is slow, and only workers need it

    encoder = worker_encoder(reading.model, reading.cache_dir, reading.device)
    return read_info(path, langs, encoder, reading.formats, reading.encodings, reading.max_bytes)


__all__ = ["DocumentInfo", "list_documents", "read_info", "ReadSettings", "read_with_worker_encoder"]
