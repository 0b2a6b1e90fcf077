"""Reading documents: ZAKER HTML exports, plain text, or one sentence a line.

A document becomes an ordered list of paragraphs, each with a role (body,
heading, caption). Nothing here splits sentences; that is segmenting's job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, Comment, NavigableString, Tag

INPUT_FORMATS = ("auto", "zaker", "text", "lines")


class InputError(ValueError):
    """Input the aligner cannot use; the message is one line for the user."""


@dataclass
class Paragraph:
    text: str
    role: str = "body"  # body | heading | caption


@dataclass
class Document:
    paragraphs: list[Paragraph]
    format: str  # zaker | text | lines
    source: str = "<text>"
    metadata: dict = field(default_factory=dict)


# "Chinese" for ZAKER's spacing: Han characters and CJK/full-width punctuation.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_LATIN_DIGIT_QUOTE = r"0-9A-Za-z\"'\u201c\u201d\u2018\u2019"
_ZAKER_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \u00a0]+(?=[{_LATIN_DIGIT_QUOTE}])"
    rf"|(?<=[{_LATIN_DIGIT_QUOTE}])[ \u00a0]+(?=[{_CJK}])"
)
# Photo credits and image sources ("新华社记者 张玉薇 摄", "Photo by Xinhua ...").
CREDIT = re.compile(
    r"新华社(记者)?.{0,12}摄$|新华社发|供图）?$|^Photo by |^Issued by |\(photographed on |\(Photo courtesy",
)
_SENTENCE_END = re.compile(r"[。！？!?.…\"'”’)）]\s*$")


def remove_zaker_spaces(text: str) -> str:
    """Drop the spaces ZAKER puts between Chinese and digits, Latin letters or quotes."""
    return _ZAKER_SPACE.sub("", text)


def read_document(
    source: str | Path,
    input_format: str = "auto",
    encoding: str | None = None,
) -> Document:
    """Read a path (or, for a str holding a newline, the text itself) into a Document."""
    if input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r}; choose from {', '.join(INPUT_FORMATS)}")
    if isinstance(source, Path) or "\n" not in source:
        path = Path(source)
        text, name = decode_file(path, encoding), str(path)
    else:
        text, name = source, "<text>"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if input_format == "auto":
        input_format = "zaker" if _looks_like_zaker(text) else "text"
    reader = {"zaker": parse_zaker, "text": parse_text, "lines": parse_lines}[input_format]
    document = reader(text)
    document.source = name
    if not any(p.text.strip() for p in document.paragraphs):
        raise InputError(f"{name}: no text found (empty document)")
    return document


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_file(path: Path, encoding: str | None = None) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, or what
    charset-normalizer detects (GB18030/GBK for most Chinese sources)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise InputError(f"{path}: cannot decode as {encoding} ({error.__class__.__name__})") from None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096] and not _looks_like_utf16(data):
        raise InputError(f"{path}: binary file, not text")
    from charset_normalizer import from_bytes  # imported late: only non-UTF-8 input needs it

    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{path}: not text in any known encoding (binary file?); give --encoding if you know it")
    encoding = "gb18030" if best.encoding in ("gb2312", "gbk") else best.encoding
    return data.decode(encoding)


def _looks_like_utf16(data: bytes) -> bool:
    # UTF-16 without BOM: every other byte is NUL for ASCII-heavy text.
    sample = data[:4096]
    return sample[1::2].count(0) > len(sample) * 0.4 or sample[0::2].count(0) > len(sample) * 0.4


def _looks_like_zaker(text: str) -> bool:
    return text.lstrip("\ufeff \n").startswith("---") and bool(re.search(r"<(p|div)\b", text))


def parse_zaker(text: str) -> Document:
    """ZAKER export: YAML front matter, then an HTML body of <p>, <strong> and image boxes."""
    metadata, body = _split_front_matter(text)
    soup = BeautifulSoup(body, "lxml")
    for junk in soup.find_all(["script", "style", "noscript"]):
        junk.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    paragraphs: list[Paragraph] = []
    root = soup.body or soup
    for node in _content_nodes(root):
        if isinstance(node, NavigableString):
            # Loose text after an image box is its caption (with the photo credit).
            _append(paragraphs, str(node), "caption")
        elif node.name == "p":
            role = "heading" if _is_heading(node) else "body"
            _append(paragraphs, node.get_text(), role)
    return Document(paragraphs, "zaker", metadata=metadata)


def _content_nodes(root: Tag):
    """Paragraphs and loose text in document order, skipping image boxes.

    ZAKER wraps the body in one or more <div>s; descend into any container
    that is not an image box.
    """
    for child in root.children:
        if isinstance(child, NavigableString):
            if str(child).strip():
                yield child
        elif isinstance(child, Tag):
            classes = child.get("class") or []
            if child.name == "img" or "img_box" in classes:
                continue
            if child.name == "p" or not child.find(["p", "div"]):
                if child.name == "p":
                    yield child
                elif child.get_text().strip():
                    yield NavigableString(child.get_text())
            else:
                yield from _content_nodes(child)


def _is_heading(p: Tag) -> bool:
    strong_text = "".join(s.get_text() for s in p.find_all(["strong", "b"]))
    return bool(strong_text.strip()) and strong_text.strip() == p.get_text().strip()


def _append(paragraphs: list[Paragraph], raw: str, role: str) -> None:
    # get_text() already decoded entities; normalise whitespace, then ZAKER spacing.
    text = remove_zaker_spaces(" ".join(raw.split()))
    if text:
        paragraphs.append(Paragraph(text, role))


def _split_front_matter(text: str) -> tuple[dict, str]:
    text = text.lstrip("\ufeff \n")
    match = re.match(r"---[ \t]*\n(.*?)\n---[ \t]*\n", text, re.S)
    if not match:
        return {}, text
    try:
        metadata = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise InputError(f"front matter is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(metadata, dict):
        metadata = {}
    return {k: (v.strip("_ ") if isinstance(v, str) else v) for k, v in metadata.items()}, text[match.end():]


def parse_text(text: str) -> Document:
    """Plain text. Paragraphs are separated by blank lines, or, where the text
    indents its paragraphs (as the Xinhua English sample does), an indented
    line starts a paragraph and an unindented one continues it. There each
    line is a logical line, so a short line without closing punctuation is
    taken as a heading and a photo credit as a caption, each on its own.
    """
    lines = text.lstrip("\ufeff").split("\n")
    nonblank = [line for line in lines if line.strip()]
    indented = sum(1 for line in nonblank if _is_indented(line))
    by_indent = 0 < indented < len(nonblank)
    paragraphs: list[Paragraph] = []
    previous_blank = True
    for line in lines:
        if not line.strip():
            previous_blank = True
            continue
        role = _role_of(line) if by_indent else "body"
        starts_new = _is_indented(line) if by_indent else previous_blank
        if not paragraphs or starts_new or role != "body" or paragraphs[-1].role != "body":
            paragraphs.append(Paragraph(line.strip(), role))
        else:
            paragraphs[-1].text += "\n" + line.strip()
        previous_blank = False
    # In blank-line layout, a one-line paragraph can still be a heading or credit.
    for p in paragraphs:
        if not by_indent and "\n" not in p.text:
            p.role = _role_of(p.text)
    return Document(paragraphs, "text")


def _is_indented(line: str) -> bool:
    return line[:1] in (" ", "\t", "\u3000")


def _role_of(line: str) -> str:
    line = line.strip()
    if CREDIT.search(line):
        return "caption"
    if len(line.split()) <= 15 and len(line) <= 100 and not _SENTENCE_END.search(line):
        return "heading"
    return "body"


def parse_lines(text: str) -> Document:
    """One sentence a line, used as is: line k is sentence k."""
    lines = text.lstrip("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return Document([Paragraph(line) for line in lines], "lines")
