"""Which writing system a text is in: one measure for the language checks,
pairing, export filters and the dictionary.

A Han character counts as one unit, so does a run of Latin letters (a word),
and every other letter as one (kana, hangul, Cyrillic): Chinese with English
terms stays mostly Han, Japanese falls below half.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The Han characters (CJK unified ideographs, extension A, compatibility ideographs, extensions
# B-F) as the inside of a regex character class: the one definition every module uses.
HAN_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
# CJK punctuation and full-width forms: with HAN_CHARS, the characters of Chinese text.
CJK_PUNCTUATION = r"\u3000-\u303f\uff00-\uffef"
HAN = re.compile(f"[{HAN_CHARS}]")
LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
_LETTER = re.compile(r"[^\W\d_]")

MIN_HAN = 0.5    # a Chinese text: at least this share of Han units
MIN_LATIN = 0.6  # an English text: at least this share of Latin letters


@dataclass(frozen=True)
class ScriptProfile:
    letters: int      # letters of any script
    han: int          # Han characters
    latin: int        # Latin letters
    latin_words: int  # runs of Latin letters

    @classmethod
    def of(cls, text: str) -> "ScriptProfile":
        return cls(len(_LETTER.findall(text)), len(HAN.findall(text)), len(LATIN_LETTER.findall(text)),
                   len(_LATIN_WORD.findall(text)))

    @property
    def han_share(self) -> float:
        """Han characters among the units (see the module's doc)."""
        units = self.letters - self.latin + self.latin_words
        return self.han / units if units else 0.0

    @property
    def latin_share(self) -> float:
        """Latin letters among all letters."""
        return self.latin / self.letters if self.letters else 0.0

    def looks_chinese(self) -> bool:
        return self.han_share >= MIN_HAN

    def looks_english(self) -> bool:
        return self.latin_share >= MIN_LATIN and self.han_share < MIN_HAN

    def describe(self) -> str:
        """What the text looks like, to follow 'it': 'looks Chinese (98% Han)'."""
        if not self.letters:
            return "has no letters at all"
        if self.looks_chinese():
            return f"looks Chinese ({self.han_share:.0%} Han)"
        if self.latin_share >= MIN_LATIN:
            return f"looks English ({self.latin_share:.0%} Latin letters, {self.han_share:.0%} Han)"
        return f"looks neither Chinese nor English ({self.han_share:.0%} Han, {self.latin_share:.0%} Latin letters)"


_SAMPLE_CHARS = 400_000  # enough text to judge a script; long documents are sampled


def script_profile(texts: Iterable) -> ScriptProfile:
    """The profile of sentences (Sentence objects or strings), from up to
    _SAMPLE_CHARS characters spread over the document."""
    texts = [getattr(t, "text", t) for t in texts]
    total = sum(len(t) for t in texts)
    if total > _SAMPLE_CHARS:  # every k-th sentence: spread over the document
        texts = texts[:: -(-total // _SAMPLE_CHARS)]
    return ScriptProfile.of("\n".join(texts))


def han_share(text: str) -> float:
    return ScriptProfile.of(text).han_share


def latin_share(text: str) -> float:
    return ScriptProfile.of(text).latin_share
