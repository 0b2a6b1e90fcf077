"""Reading documents: ZAKER HTML exports, plain text, or one sentence a line.

A document becomes an ordered list of paragraphs, each with a role (body,
heading, caption, credit). Nothing here splits sentences; that is segmenting's
job, and segmenting asks `sentence_role` for each sentence's role, so that one
rule decides what is a credit: here.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from align.errors import InputError
from align.script import CJK_PUNCTUATION, HAN_CHARS

INPUT_FORMATS = ("auto", "zaker", "text", "lines")
# Largest input document read (`--max-input-mb`): a book is a few MB; far more is the wrong file.
MAX_INPUT_MB = 100
MAX_INPUT_BYTES = MAX_INPUT_MB * 1_000_000
ROLES = ("body", "heading", "caption", "credit")


@dataclass
class Paragraph:
    text: str
    role: str = "body"  # body | heading | caption | credit (photo and staff credits, bylines, datelines)


@dataclass
class Document:
    paragraphs: list[Paragraph]
    format: str  # zaker | text | lines
    source: str = "<text>"
    metadata: dict = field(default_factory=dict)


_Option = TypeVar("_Option")


def per_side(option: _Option | tuple[_Option, _Option]) -> tuple[_Option, _Option]:
    """An option given once for both sides, or as (Chinese side, English side)."""
    return tuple(option) if isinstance(option, (tuple, list)) else (option, option)  # type: ignore[return-value]


# "Chinese" for ZAKER's spacing: Han characters and CJK/full-width punctuation.
_CJK = CJK_PUNCTUATION + HAN_CHARS
_LATIN_DIGIT_QUOTE = r"0-9A-Za-z\"'\u201c\u201d\u2018\u2019"
_ZAKER_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \u00a0]+(?=[{_LATIN_DIGIT_QUOTE}])"
    rf"|(?<=[{_LATIN_DIGIT_QUOTE}])[ \u00a0]+(?=[{_CJK}])"
)

# --- roles: what is a credit ---------------------------------------------------------
# Photo credits and image sources ("新华社记者 张玉薇 摄", "Photo by Xinhua ..."). The date
# notes of captions, "(photographed on May 3)", mark a caption, not a credit.
CREDIT = re.compile(
    r"新华社(记者)?.{0,12}摄$|新华社发|供图）?$|^Photo by |^Issued by |\(photographed on |\(Photo courtesy",
)
# Staff credits at the end of an article, in either language, and the agency alone.
STAFF_CREDIT = re.compile(
    r"^(?:(?:text|video|photo|poster|new media|chief|executive|responsible|copy)\s+)?"
    r"(?:reporters?|editors?|design(?:ers?)?|coordinators?|producers?|planners?|photographers?|"
    r"supervisors?|proofreaders?|translators?|writers?|correspondents?)\s*[:：]"
    r"|^(?:文字|视频|图片|摄影|海报|新媒体|责任|执行)?"
    r"(?:记者|编辑|设计|统筹|策划|监制|制作|摄影|摄像|校对|翻译|审核|出品)\s*[:：]"
    r"|^[（(【\[]?(?:完|责任编辑[:：][^）)】\]]*)[)）】\]]?$"
    # the agency alone, the English of 新华社发
    r"|^\(?Xinhua(?: News Agency)?(?: photo)?\)?$",
    re.IGNORECASE,
)
# A byline: "Xinhua News Agency reporter Dong Ruifeng".
BYLINE = re.compile(r"^(?:[A-Z][\w’'-]*\s+){0,4}reporters?\s+(?:[A-Z][\w’'-]*\s*){1,3}$")
# A credit ends without sentence punctuation and holds no sentence break. Captions and
# interview turns ("记者：你怎么看？") end like sentences. (A period after an initial,
# "John A. Smith", is no sentence break.)
_CREDIT_SENTENCE_END = re.compile(r"[。！？!?.…][\"'”’)）」』]*$")
_SENTENCE_BREAK = re.compile(r"[。！？!?]|[^\W\d_]{2}\.\s")
_EN_NAME = r"[A-Z][\w'’-]*"
# Bylines and datelines fused to the front of a paragraph's text; split off as a credit.
LEADING_BYLINE = re.compile(
    # Xinhua News Agency reporter Dong Ruifeng "Make new ..." (a byline before a quote)
    rf"^(?:Xinhua News Agency|Xinhua) (?:reporters?|correspondents?|photographers?)"
    rf"(?: {_EN_NAME}){{1,3}}(?:(?:,| and|, and)(?: {_EN_NAME}){{1,3}})*\s*(?=[\"“‘'(\[])"
    # 新华社记者 董瑞丰 "…"
    rf"|^新华社(?:特约)?(?:记者|通讯员)(?:[\s、]*[{HAN_CHARS}·]{{2,4}})+\s*(?=[\"“‘'「『（(])"
    # BEIJING, July 8 (Xinhua) --
    r"|^[A-Z][A-Z .'-]+, [A-Z][a-z]{2,8}\.? \d{1,2} \(Xinhua\)\s*(?:--|—|-)\s*"
    # 新华社北京7月8日电（记者董瑞丰）
    rf"|^新华社[{HAN_CHARS}]{{2,8}}\d{{1,2}}月\d{{1,2}}日电\s*(?:[（(][^）)]{{0,30}}[）)])?\s*"
)


def is_credit(text: str) -> bool:
    """A photo credit, image source, staff credit or byline, standing alone: not a sentence of the article."""
    text = text.strip()
    if not text or _CREDIT_SENTENCE_END.search(text) or _SENTENCE_BREAK.search(text):
        return False
    photo = any(not m.group().startswith("(photographed") for m in CREDIT.finditer(text))
    return photo or bool(STAFF_CREDIT.search(text) or BYLINE.search(text))


def sentence_role(text: str, paragraph_role: str = "body") -> str:
    """The role of one sentence: 'credit' for a credit (see is_credit) or any
    sentence of a credit paragraph, else the role of its paragraph."""
    return "credit" if paragraph_role == "credit" or is_credit(text) else paragraph_role


def split_leading_byline(text: str) -> tuple[str, str]:
    """(byline or dateline, rest) for a text that starts with one and goes on
    ('Xinhua News Agency reporter Dong Ruifeng "Make ..."'); else ('', text)."""
    stripped = text.strip()
    match = LEADING_BYLINE.match(stripped)
    if not match or not stripped[match.end():].strip():
        return "", text
    return stripped[:match.end()].strip(), stripped[match.end():].strip()


_SENTENCE_END = re.compile(r"[。！？!?.…\"'”’)）]\s*$")


def remove_zaker_spaces(text: str) -> str:
    """Drop the spaces ZAKER puts between Chinese and digits, Latin letters or quotes."""
    return _ZAKER_SPACE.sub("", text)


def read_document(
    source: str | Path,
    input_format: str = "auto",
    encoding: str | None = None,
    max_bytes: int | None = MAX_INPUT_BYTES,
) -> Document:
    """Read a path (or, for a str holding a newline, the text itself) into a Document.
    A file larger than max_bytes (None: no limit) is an InputError (check_input_file)."""
    if input_format not in INPUT_FORMATS:
        raise InputError(f"unknown input format {input_format!r}; choose from {', '.join(INPUT_FORMATS)}")
    if isinstance(source, Path) or "\n" not in source:
        path = Path(source)
        text, name = decode_file(path, encoding, max_bytes), str(path)
    else:
        text, name = source, "<text>"
    text = normalise_text(text.replace("\r\n", "\n").replace("\r", "\n"), keep_lines=input_format == "lines")
    if input_format == "auto":
        input_format = "zaker" if _looks_like_zaker(text) or _looks_like_html(text) else "text"
    reader = {"zaker": parse_zaker, "text": parse_text, "lines": parse_lines}[input_format]
    document = reader(text, name)
    for paragraph in document.paragraphs:  # again: HTML entities (&#8203;, &nbsp;) decode late
        paragraph.text = normalise_text(paragraph.text, keep_lines=True)
    if not any(p.text.strip() for p in document.paragraphs):
        raise InputError(f"{name}: no text found (empty document)")
    return document


_BOMS = (  # UTF-32 first: its little-endian mark starts like UTF-16's
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)
# Among the encodings the detector finds equally plausible, the Chinese ones
# first: a short GB18030 text is also valid CP949 or Big5 (or UTF-16). For a
# Latin-script text the Western single-byte ones first: the detector ranks
# CP1250 with CP1252 and Latin-1 ('Ångström' would read 'Ĺngström').
_CHINESE = ("gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950")
_WESTERN = ("cp1252", "latin1", "iso88591", "iso885915")
# Zero-width characters and soft hyphens are dropped; exotic spaces become a space. The zero-width
# joiner is kept inside an emoji sequence (👨‍👩‍👧 is one picture; without it, three).
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u2060\ufeff\u00ad"))
_PICTOGRAPH = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
_STRAY_JOINER = re.compile(rf"(?<![{_PICTOGRAPH}])\u200d|\u200d(?![{_PICTOGRAPH}])")
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                                 "\u200a\u202f\u205f"), " ")
_BREAKS = {ord("\u2028"): "\n", ord("\u2029"): "\n\n", ord("\x0b"): "\n", ord("\x0c"): "\n", ord("\x85"): "\n"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_NORMALISE = {**_INVISIBLE, **_SPACES, **_BREAKS}
_NORMALISE_IN_LINE = {**_INVISIBLE, **_SPACES, **dict.fromkeys(_BREAKS, " ")}


def normalise_text(text: str, keep_lines: bool = False) -> str:
    """Drop zero-width characters (U+200B, U+FEFF inside text, a joiner outside an emoji ...), soft hyphens
    and control characters; make no-break and other Unicode spaces plain spaces
    and Unicode line/paragraph separators newlines (spaces with keep_lines, so
    that line k stays line k). Full-width (ideographic) spaces stay: Chinese
    texts indent paragraphs with them."""
    text = _STRAY_JOINER.sub("", text.translate(_NORMALISE_IN_LINE if keep_lines else _NORMALISE))
    return _CONTROL.sub("", text)


def check_input_file(path: str | Path, max_bytes: int | None = MAX_INPUT_BYTES) -> int:
    """The size of an input file, after refusing (InputError naming it) what is
    not a regular file (a device such as /dev/zero, a FIFO, a folder: endless,
    or blocking) or holds more than max_bytes (None: no limit)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(f"{path}: not a regular file (a device, FIFO or socket); give a file")
    if max_bytes is not None and status.st_size > max_bytes:
        raise InputError(f"{path}: {status.st_size / 1e6:,.1f} MB, more than the {max_bytes / 1e6:g} MB an input may "
                         "hold (--max-input-mb)")
    return status.st_size


def decode_file(path: Path, encoding: str | None = None, max_bytes: int | None = MAX_INPUT_BYTES) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with BOM, or what
    charset-normalizer detects (GB18030/GBK for most Chinese sources). Binary
    or undecodable files, and those check_input_file refuses, raise InputError,
    one line naming the file."""
    check_input_file(path, max_bytes)
    try:
        with open(path, "rb") as handle:  # no more than the limit, even from a file that grew since
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:
            check_input_file(path, max_bytes)  # the file grew past the limit: say so as for any large file
            raise InputError(f"{path}: more than the {max_bytes / 1e6:g} MB an input may hold (--max-input-mb)")
    except OSError as error:  # check_input_file named a missing file or a folder; this is what it could not see
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    if not data.strip():
        raise InputError(f"{path}: file is empty")
    if encoding:
        try:
            text = data.decode(encoding)
        except LookupError:
            raise InputError(f"{path}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as error:
            raise InputError(f"{path}: cannot decode as {encoding} (byte {error.start}: {error.reason})") from None
        return _checked_text(path, text, encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked_text(path, data.decode(codec), codec)
            except UnicodeDecodeError as error:
                raise InputError(f"{path}: has a {codec} byte-order mark but is not {codec} "
                                 f"(byte {error.start}: {error.reason})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if not _too_many_controls(text):  # else perhaps UTF-16 without BOM: ASCII with NULs between
            return text
    return _checked_text(path, *_detect(path, data))


def _detect(path: Path, data: bytes) -> tuple[str, str]:
    """Decode with the encoding charset-normalizer finds; Chinese encodings win ties."""
    from charset_normalizer import from_bytes  # imported late: only non-UTF-8 input needs it

    matches = list(from_bytes(data))
    wide = [m for m in matches if m.encoding.startswith(("utf_16", "utf_32"))]
    if b"\x00" in data[:65536]:  # text with NUL bytes can only be UTF-16 or UTF-32
        matches = wide
    else:  # and UTF-16 without a BOM has NULs: in its newlines, spaces, digits
        matches = [m for m in matches if m not in wide]
    if not matches:
        raise InputError(f"{path}: binary file or not text in any known encoding; give --encoding if you know it")
    least_chaos = min(m.chaos for m in matches)
    candidates = [m.encoding for m in matches if m.chaos <= least_chaos + 0.03]
    normalised = [c.replace("_", "").replace("-", "") for c in candidates]
    # Latin script: ASCII letters outnumber the bytes above 127 (in Chinese, two bytes a character).
    latin_script = sum(65 <= b <= 90 or 97 <= b <= 122 for b in data) > sum(b > 127 for b in data)
    for preferred in (_WESTERN + _CHINESE) if latin_script else (_CHINESE + _WESTERN):
        if preferred in normalised:
            encoding = candidates[normalised.index(preferred)]
            break
    else:
        encoding = candidates[0]
    if encoding in ("gb2312", "gbk"):
        encoding = "gb18030"  # a superset: GBK files often hold a few characters outside GB2312
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        raise InputError(f"{path}: not text in any known encoding (detected {encoding}, which fails); "
                         "give --encoding if you know it") from None


def _checked_text(path: Path, text: str, encoding: str) -> str:
    """The decoded text, unless it is full of control characters (a binary file
    that happens to decode, e.g. with --encoding latin-1)."""
    if _too_many_controls(text):
        raise InputError(f"{path}: binary file, not text (decoded as {encoding}, it is full of control characters)")
    return text


def _too_many_controls(text: str) -> bool:
    sample = text[:65536]
    return len(_CONTROL.findall(sample)) > max(2, len(sample) // 100)


def _looks_like_zaker(text: str) -> bool:
    return text.lstrip("\ufeff \n").startswith("---") and bool(re.search(r"<(p|div)\b", text))


_HTML_START = re.compile(r"\s*(<!doctype html|<html\b|<head\b|<body\b|<!--)", re.I)
_HTML_BLOCK = re.compile(r"</?(p|div|br|h[1-6]|li|table|span|script|style)\b[^>]*>", re.I)


def _looks_like_html(text: str) -> bool:
    """An HTML page or fragment (read like the ZAKER body): it starts like one,
    or tags like <p> and <div> are frequent (one per 300 characters)."""
    return bool(_HTML_START.match(text)) or len(_HTML_BLOCK.findall(text[:20000])) * 300 >= min(len(text), 20000)


def parse_zaker(text: str, source: str = "<text>") -> Document:
    """ZAKER export: YAML front matter, then an HTML body of <p>, <strong> and image boxes."""
    metadata, body = _split_front_matter(text, source)
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
    return Document(paragraphs, "zaker", source, metadata)


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


_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*\n")
_FRONT_MATTER_CLOSE = re.compile(r"---[ \t]*")
# A line of front matter: `key: value`, a list item, a continuation indented under one, a comment, or blank.
_FRONT_MATTER_LINE = re.compile(r"[\w-]+[ \t]*:(?:[ \t]|$)|-[ \t]|[ \t]+\S|#|[ \t]*$")


def _split_front_matter(text: str, source: str = "<text>") -> tuple[dict, str]:
    """(metadata, body) of a text that may open with YAML front matter between
    --- lines. Front matter that is never closed ends before its first line that
    is not `key: value` (the body's HTML). Tabs are read as spaces (YAML refuses
    them); invalid YAML is an InputError naming the file."""
    text = text.lstrip("\ufeff \n")
    opening = _FRONT_MATTER_OPEN.match(text)
    if not opening:
        return {}, text
    lines = text[opening.end():].split("\n")
    end = next((k for k, line in enumerate(lines) if _FRONT_MATTER_CLOSE.fullmatch(line)
                or not _FRONT_MATTER_LINE.match(line)), len(lines))
    closed = end < len(lines) and bool(_FRONT_MATTER_CLOSE.fullmatch(lines[end]))
    block, body = "\n".join(lines[:end]), "\n".join(lines[end + closed:])
    try:
        metadata = yaml.safe_load(block.replace("\t", "    ")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"{source}: front matter is not valid YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(metadata, dict):
        metadata = {}
    return {k: (v.strip("_ ") if isinstance(v, str) else v) for k, v in metadata.items()}, body


def parse_text(text: str, source: str = "<text>") -> Document:
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
    return Document(paragraphs, "text", source)


def _is_indented(line: str) -> bool:
    return line[:1] in (" ", "\t", "\u3000")


def _role_of(line: str) -> str:
    line = line.strip()
    if is_credit(line):
        return "credit"
    if CREDIT.search(line):  # a caption ending in its photo credit
        return "caption"
    if len(line.split()) <= 15 and len(line) <= 100 and not _SENTENCE_END.search(line):
        return "heading"
    return "body"


def parse_lines(text: str, source: str = "<text>") -> Document:
    """One sentence a line, used as is: line k is sentence k."""
    lines = text.lstrip("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return Document([Paragraph(line) for line in lines], "lines", source)
