"""Marks: what each sentence's punctuation and role say, as numbers the aligner compares.

Dialogue marks, questions and staff credits survive translation: a sentence
that opens a quotation in Chinese mostly opens one in English. This module
reads them from the texts (and the roles reading gave) into a
`features.SentenceStats`; the aligner itself sees only the arrays.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from align.lexicon import Lexicon
from align.features import SentenceStats

_QUESTION = re.compile(r"[?？]")
CREDIT_ROLE = "credit"


@dataclass(frozen=True)
class Quotations:
    """The quotation marks of one sentence."""

    opens: bool   # its first character opens a quotation
    closes: bool  # its last character closes one
    opened: int   # marks that open a quotation minus marks that close one


def read_quotations(text: str) -> Quotations:
    """Read each quotation mark as opening or closing. Curly and corner quotes
    say which they are; straight quotes and ’ are read from their neighbours:
    between letters or after a plural s they are apostrophes; before a space
    they close; after a space or an opening punctuation mark they open."""
    padded = f" {text.strip()} "
    marks = []  # (position in padded, +1 opens / -1 closes)
    for k in range(1, len(padded) - 1):
        mark, before, after = padded[k], padded[k - 1], padded[k + 1]
        if mark in "“‘「『":
            marks.append((k, 1))
        elif mark in "”」』":
            marks.append((k, -1))
        elif mark in "\"'’":
            if (before.isalnum() and after.isalnum()) or (mark != '"' and before == "s" and after.isspace()):
                continue
            if after.isspace():
                marks.append((k, -1))
            elif before.isspace() or before in "：:，,（(—–-":
                marks.append((k, 1))
            else:
                marks.append((k, -1))
    return Quotations(opens=bool(marks) and marks[0] == (1, 1),
                      closes=bool(marks) and marks[-1] == (len(padded) - 2, -1),
                      opened=sum(sign for _, sign in marks))


def sentence_stats(texts: Sequence[str], lengths: Sequence[float], roles: Sequence[str] | None = None) -> SentenceStats:
    """The aligner's per-sentence numbers for one side. `lengths` in the
    embedding model's tokens (Encoder.lengths), or any one unit for both sides."""
    quotations = [read_quotations(t) for t in texts]
    roles = roles if roles is not None else [""] * len(texts)
    return SentenceStats(
        length=np.asarray(lengths, dtype=float),
        opens=np.array([q.opens for q in quotations], dtype=float),
        closes=np.array([q.closes for q in quotations], dtype=float),
        credits=np.array([role == CREDIT_ROLE for role in roles], dtype=float),
        quotations=np.array([np.clip(q.opened, -1, 1) for q in quotations], dtype=float),
        questions=np.array([bool(_QUESTION.search(t)) for t in texts], dtype=float),
        repeats=repeated_lines(texts),
    )


def repeated_lines(texts: Sequence[str]) -> np.ndarray:
    """1 where a sentence is the one before it again, word for word (spacing
    aside): a line pasted twice, a repeated heading. Its copy has nothing of
    its own to translate."""
    words = ["".join(t.split()) for t in texts]  # spacing aside (Chinese is written without spaces)
    return np.array([k > 0 and bool(words[k]) and words[k] == words[k - 1] for k in range(len(words))], dtype=float)


@dataclass
class PairEvidence:
    """What the aligner reads about a document pair besides the vectors."""

    zh_stats: SentenceStats
    en_stats: SentenceStats
    dictionary: Lexicon

    @classmethod
    def of(cls, zh_texts: Sequence[str], en_texts: Sequence[str], zh_lengths: Sequence[float],
           en_lengths: Sequence[float], zh_roles: Sequence[str] | None = None,
           en_roles: Sequence[str] | None = None) -> "PairEvidence":
        return cls(sentence_stats(zh_texts, zh_lengths, zh_roles), sentence_stats(en_texts, en_lengths, en_roles),
                   Lexicon(list(zh_texts), list(en_texts)))

    def arguments(self) -> dict:
        """The keyword arguments of aligning.align_vectors and checking.parallelism."""
        return {"zh_stats": self.zh_stats, "en_stats": self.en_stats, "dictionary": self.dictionary}
