"""Splitting paragraphs into sentences, Chinese by rule and English with pysbd.

Every sentence keeps the number of its paragraph and the paragraph's role.
Sentences longer than the embedding model can read are cut into bounded
pieces (at commas, then spaces, then anywhere), so nothing is truncated; the
pieces are about three sentences long, so that they can still be aligned.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass


from align.reading import Document, sentence_role, split_leading_byline
from align.script import CJK_PUNCTUATION, HAN, HAN_CHARS

# Longest sentence, in characters, before it is cut into pieces. e5 reads 512
# tokens; a Han character is about one token, an English word about 1.3.
MAX_CHARS = {"zh": 300, "en": 1200}
# A longer "sentence" is no sentence (a paragraph that lost its punctuation):
# it is cut into pieces of at most this length, about three sentences' worth,
# so that beads of up to four pieces or sentences can still pair it with the
# other side's ordinary sentences.
PIECE_CHARS = {"zh": 100, "en": 400}

_ZH_END = "。！？!?｡"
_ZH_END_SEMICOLON = _ZH_END + "；;"
_CLOSERS = "”’」』）)》〉】〗］]"
_ELLIPSIS = re.compile(r"…+|\.{3,}")
_CJK_CHAR = CJK_PUNCTUATION + HAN_CHARS
_NEWLINE_IN_CJK = re.compile(rf"(?<=[{_CJK_CHAR}])\s*\n\s*(?=[{_CJK_CHAR}])")


@dataclass
class Sentence:
    text: str
    paragraph: int
    role: str = "body"


def split_document(document: Document, lang: str, split_semicolon: bool = False) -> list[Sentence]:
    """Sentences of a document in order, each with its role (reading.sentence_role:
    a credit is a credit even inside a caption). Pre-split ('lines') documents are
    kept as they are; in others a byline or dateline fused to the front of a
    paragraph ('Xinhua News Agency reporter Dong Ruifeng "Make ..."') is a
    sentence of its own."""
    if document.format == "lines":
        return [Sentence(p.text, k, sentence_role(p.text, p.role)) for k, p in enumerate(document.paragraphs)]
    sentences = []
    for k, paragraph in enumerate(document.paragraphs):
        byline, rest = split_leading_byline(paragraph.text)
        parts = [(byline, "credit"), (rest, paragraph.role)] if byline else [(paragraph.text, paragraph.role)]
        for part, role in parts:
            for text in split_paragraph(part, lang, split_semicolon):
                sentences.append(Sentence(text, k, sentence_role(text, role)))
    return sentences


def split_paragraph(text: str, lang: str, split_semicolon: bool = False) -> list[str]:
    if lang == "zh":
        text = " ".join(_NEWLINE_IN_CJK.sub("", text).split())
        pieces = split_chinese(text, split_semicolon)
    elif lang == "en":
        pieces = split_english(" ".join(text.split()))
    else:
        raise ValueError(f"unsupported language {lang!r}")
    pieces = attach_fragments(pieces)
    return [bounded for piece in pieces
            for bounded in (bound_length(piece, PIECE_CHARS[lang]) if len(piece) > MAX_CHARS[lang] else [piece])]


def attach_fragments(pieces: list[str]) -> list[str]:
    """A piece with no letter or digit (a stray "." as in "in 2018. .") is
    not a sentence: it joins the sentence before it."""
    out: list[str] = []
    for piece in pieces:
        if out and not any(ch.isalnum() for ch in piece):
            out[-1] += piece if HAN.search(out[-1][-1:]) else " " + piece
        else:
            out.append(piece)
    return out


def split_chinese(text: str, split_semicolon: bool = False) -> list[str]:
    """Split after 。！？ (and ； if asked) and after a sentence-final ……,
    keeping closing quotes and brackets with the sentence they close."""
    enders = _ZH_END_SEMICOLON if split_semicolon else _ZH_END
    sentences, start, i, n = [], 0, 0, len(text)
    while i < n:
        ellipsis = _ELLIPSIS.match(text, i)
        if text[i] in enders or ellipsis or _is_chinese_full_stop(text, i):
            end = ellipsis.end() if ellipsis else i + 1
            while end < n and text[end] in enders:
                end += 1
            end = _after_closers(text, end)
            # An ellipsis ends a sentence only at the end of the paragraph or
            # when a closing quote or another ender follows it.
            ends_here = not ellipsis or end >= n or end > ellipsis.end()
            if ends_here:
                piece = text[start:end].strip()
                if piece:
                    sentences.append(piece)
                start = end
            i = end
        else:
            i += 1
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


_DOT_BEFORE = re.compile(rf"[{HAN_CHARS}{re.escape(_CLOSERS)}]")
_DOT_NOT_AFTER = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ.．]")


def _is_chinese_full_stop(text: str, i: int) -> bool:
    """A full-width ．or an ASCII . used as a full stop: after a Han character
    (or a closing quote), not before a digit or letter (3.5, 新华网.com)."""
    return (text[i] in ".．" and i > 0 and bool(_DOT_BEFORE.match(text[i - 1]))
            and not (i + 1 < len(text) and _DOT_NOT_AFTER.match(text[i + 1])))


def _after_closers(text: str, end: int) -> int:
    """Move past closing quotes and brackets. A straight quote closes when an
    odd number of them precede it (ZAKER turns “ ” into straight quotes)."""
    while end < len(text):
        ch = text[end]
        if ch in _CLOSERS or (ch in "\"'" and text.count(ch, 0, end) % 2 == 1):
            end += 1
        else:
            break
    return end


@functools.lru_cache(maxsize=1)
def _english_segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)


_LEADING_CLOSER = re.compile(r"^([\"'”’)\]]+)(\s+|$)")


def split_english(text: str) -> list[str]:
    """pysbd, then return closing quotes it left at the start of the next
    sentence (`innovation." General ...`) to the sentence they close."""
    if not text.strip():
        return []
    sentences: list[str] = []
    for piece in _english_segmenter().segment(text):
        piece = piece.strip()
        closer = _LEADING_CLOSER.match(piece)
        if closer and sentences:
            sentences[-1] += closer.group(1)
            piece = piece[closer.end():].strip()
        if piece:
            sentences.append(piece)
    return sentences


_SOFT_BREAKS = re.compile(r"(?<=[，、；：,;:])|(?<=\s)")


def bound_length(text: str, max_chars: int) -> list[str]:
    """Cut a too-long sentence into pieces of at most max_chars, preferring
    breaks after commas and semicolons, then after spaces."""
    if len(text) <= max_chars:
        return [text]
    pieces, current = [], ""
    for chunk in _SOFT_BREAKS.split(text):
        while len(chunk) > max_chars:  # no break at all: cut hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(chunk[:max_chars])
            chunk = chunk[max_chars:]
        if len(current) + len(chunk) > max_chars:
            pieces.append(current)
            current = ""
        current += chunk
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


@functools.lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def chinese_tokens(text: str) -> list[str]:
    """jieba's words of a Chinese sentence, punctuation and spaces left out."""
    return [token for token in _jieba().cut(text) if token.strip() and (HAN.search(token) or token.isalnum())]
