"""Aligning: dynamic programming over sentence beads, in a band, in linear time.

The search runs twice, as in Vecalign. A first pass finds a rough path with
small beads (1-1, 1-2, 2-1, 1-0, 0-1): on the full similarity grid when the
documents are short, otherwise on a band around the path found for the same
documents at half resolution (adjacent sentences averaged), recursively. The
second pass searches every bead shape up to `max_bead` sentences a side in a
band around that rough path. Cells outside the band are never computed, so
time and memory grow with n * band width, not n * m.

Vectors are first centred per document and language (sentence embeddings
share a large common direction). A bead is compared through the cosine of
the summed sentence vectors on each side; the second pass adds a margin
against each sentence's nearest neighbours (as in Bertalign and LASER),
length terms, quotation marks, staff credits and dictionary matches (see
FEATURES and BEAD_WEIGHTS).
A merged bead costs its distance times a * b, as in Vecalign, so it must be
much closer than the beads it replaces; an unaligned sentence costs less
when its best match is poor.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, fields

import numpy as np

from align.lexicon import WordMatches
from align.segmenting import piece_counts

# Cells of the full grid we are willing to fill before switching to a band.
FULL_GRID_LIMIT = 1_000_000


@dataclass
class AlignParams:
    max_bead: int = 6         # most sentences on one side of a bead (1-5 and 1-6 occur in novels)
    max_total: int = 8        # most sentences in a bead, both sides together (8: every shape up to 4-4)
    skip: float | None = None # what leaving a sentence unaligned costs (default: the fitted value)
    rough_skip: float = 1.0   # the same in the first pass (a random 1-1 pair costs about 1 there)
    length_sigma: float = 0.25    # spread of log(en length / zh length) in true beads, long sentences
    length_noise: float = 0.5     # weight of short sentences' counting noise in that spread (see _length_z)
    knn: int = 4              # neighbours in the margin
    band: int = 8             # half width of the second-pass band, in sentences
    coarse_band: int = 6      # half width of the band projected from a coarser level


@dataclass
class Bead:
    zh: list[int]
    en: list[int]
    score: float

    @property
    def type(self) -> str:
        return f"{len(self.zh)}-{len(self.en)}"


@dataclass
class Alignment:
    beads: list[Bead]
    band: tuple[np.ndarray, np.ndarray] = field(repr=False)  # allowed columns [lo, hi) per DP row


def bead_shapes(max_bead: int, max_total: int) -> list[tuple[int, int]]:
    """(zh sentences, en sentences) of every bead kind searched, 1-0 and 0-1 included."""
    shapes = [(a, b) for a in range(1, max_bead + 1) for b in range(1, max_bead + 1) if a + b <= max_total]
    return shapes + [(1, 0), (0, 1)]


def align_vectors(
    zh: np.ndarray,
    en: np.ndarray,
    zh_lengths: np.ndarray | None = None,
    en_lengths: np.ndarray | None = None,
    params: AlignParams | None = None,
    zh_texts: list[str] | None = None,
    en_texts: list[str] | None = None,
    zh_roles: list[str] | None = None,
    en_roles: list[str] | None = None,
) -> Alignment:
    """Beads covering every sentence of both sides once, in order.

    zh, en: L2-normalised sentence vectors (n x d, m x d).
    zh_lengths, en_lengths: sentence lengths in any one unit, e.g. characters
    (for the length term), or zh_texts, en_texts: the sentences (lengths in
    word pieces, quotation marks, questions and dictionary words from them),
    and zh_roles, en_roles: their roles from reading (body, heading, caption, credit).
    """
    params = params or AlignParams()
    n, m = len(zh), len(en)
    if n == 0 or m == 0:
        beads = [Bead([i], [], 0.0) for i in range(n)] + [Bead([], [j], 0.0) for j in range(m)]
        return Alignment(beads, (np.zeros(n + 1, int), np.full(n + 1, m + 1)))
    zh, en = _centred(zh), _centred(en)
    zh_stats = _stats(zh_texts, zh_roles, zh_lengths, n)
    en_stats = _stats(en_texts, en_roles, en_lengths, m)

    rough_band = _rough_band(zh, en, params)
    rough_path = _search(_RoughScorer(zh, en, params, ROUGH_SHAPES), rough_band)
    band = _band_around(rough_path, n, m, params.band)
    words = None
    if zh_texts is not None and en_texts is not None:
        words = WordMatches.count(zh_texts, en_texts, *_columns_near(band, params.max_bead))
    scorer = _BeadScorer(zh, en, zh_stats, en_stats, band, params, bead_shapes(params.max_bead, params.max_total), words)
    path = _search(scorer, band)
    return Alignment(_beads_from_path(path, scorer), band)


ROUGH_SHAPES = bead_shapes(2, 3)


def _stats(texts: list[str] | None, roles: list[str] | None, lengths: np.ndarray | None, count: int) -> SentenceStats:
    if texts is not None:
        return SentenceStats.from_texts(texts, roles)
    return SentenceStats.from_lengths(np.ones(count) if lengths is None else lengths)


def _centred(vectors: np.ndarray) -> np.ndarray:
    """Subtract the document's mean vector and renormalise. Sentence embeddings
    share a large common direction per language (e5 puts unrelated sentences
    at cosine 0.8); removing it spreads true and false pairs apart."""
    if len(vectors) < 2:
        return vectors
    centred = vectors - vectors.mean(axis=0)
    return centred / np.linalg.norm(centred, axis=1, keepdims=True).clip(1e-9)


# --- bands -----------------------------------------------------------------

def _rough_band(zh: np.ndarray, en: np.ndarray, params: AlignParams) -> tuple[np.ndarray, np.ndarray]:
    """Where the first pass may look: the full grid if small, else a band
    around the path of the half-resolution documents (Vecalign's recursion)."""
    n, m = len(zh), len(en)
    if (n + 1) * (m + 1) <= FULL_GRID_LIMIT or min(n, m) < 8:
        return np.zeros(n + 1, dtype=np.int64), np.full(n + 1, m + 1, dtype=np.int64)
    zh_half, en_half = _halve(zh), _halve(en)
    half_band = _rough_band(zh_half, en_half, params)
    half_path = _search(_RoughScorer(zh_half, en_half, params, ROUGH_SHAPES), half_band)
    doubled = [(min(2 * i, n), min(2 * j, m)) for i, j in half_path]
    return _band_around(doubled, n, m, params.coarse_band)


def _columns_near(band: tuple[np.ndarray, np.ndarray], max_bead: int) -> tuple[np.ndarray, np.ndarray]:
    """English sentences [start, stop) that any bead of the band can pair with
    each Chinese sentence r (r sits in the beads ending on rows r+1 .. r+max_bead)."""
    lo, hi = band
    n, m = len(lo) - 1, int(hi[-1]) - 1
    rows = np.arange(n)
    start = (lo[rows + 1] - max_bead).clip(0, m)
    stop = hi[np.minimum(rows + max_bead, n)].clip(0, m)
    return start, np.maximum(stop, start)


def _halve(vectors: np.ndarray) -> np.ndarray:
    """Average each pair of adjacent sentences (a last odd one stands alone)."""
    even = vectors[: len(vectors) // 2 * 2].reshape(-1, 2, vectors.shape[1]).sum(axis=1)
    if len(vectors) % 2:
        even = np.vstack([even, vectors[-1:]])
    return even / np.linalg.norm(even, axis=1, keepdims=True).clip(1e-9)


def _band_around(path: list[tuple[int, int]], n: int, m: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns [lo, hi) allowed in each DP row: the path's columns near that
    row, widened by `width`, made monotone so every bead shape can chain."""
    lo = np.full(n + 1, m + 1, dtype=np.int64)
    hi = np.zeros(n + 1, dtype=np.int64)
    for i, j in path:
        rows = slice(max(0, i - width), min(n, i + width) + 1)
        lo[rows] = np.minimum(lo[rows], j - width)
        hi[rows] = np.maximum(hi[rows], j + width + 1)
    lo = np.minimum.accumulate(lo[::-1])[::-1].clip(0, m)
    hi = np.maximum.accumulate(hi).clip(1, m + 1)
    lo[0], hi[n] = 0, m + 1
    hi[:-1] = np.maximum(hi[:-1], lo[1:] + 1)  # each row overlaps the next: a 1-0 bead can always step down
    return lo, hi


# --- scoring ---------------------------------------------------------------

class _Windows:
    """Cosines of any window of zh sentences with any windows of en sentences.
    The normalised sum of every window of each size is computed once, from
    prefix sums (the sum of sentences s..t-1 is P[t] - P[s]), so a bead's
    cosine costs one dot product instead of an embedding."""

    def __init__(self, zh: np.ndarray, en: np.ndarray, max_a: int, max_b: int):
        self.n, self.m = len(zh), len(en)
        # zh_win[a][i]: the normalised sum of zh[i-a:i] (rows below a unused).
        self.zh_win = _window_vectors(zh, max_a)
        self.en_win = _window_vectors(en, max_b)

    def zh_vector(self, i: int, a: int) -> np.ndarray:
        return self.zh_win[a][i]

    def en_vectors(self, js: np.ndarray, b: int) -> np.ndarray:
        if len(js) > 1 and js[-1] - js[0] == len(js) - 1:  # a run of columns: a view, no copy
            return self.en_win[b][js[0]: js[-1] + 1]
        return self.en_win[b][js]

    def cos(self, i: int, a: int, js: np.ndarray, b: int) -> np.ndarray:
        """Cosine of zh[i-a:i] with en[j-b:j] for each j in js."""
        return self.en_vectors(js, b) @ self.zh_vector(i, a)


class _RoughScorer(_Windows):
    """First pass: Vecalign's cost, the bead's cosine distance relative to
    random beads of the same sizes, times the sentences it pairs."""

    def __init__(self, zh, en, params: AlignParams, shapes):
        self.shapes, self.skip = shapes, params.rough_skip
        super().__init__(zh, en, max(a for a, _ in shapes), max(b for _, b in shapes))
        self.zh_mean = [win[size:].mean(axis=0) if len(win) > size else win[0] for size, win in enumerate(self.zh_win)]
        self.en_mean = [win[size:].mean(axis=0) if len(win) > size else win[0] for size, win in enumerate(self.en_win)]

    def values(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        if a == 0 or b == 0:
            return np.full(len(js), -self.skip)
        zh_vec, en_vecs = self.zh_vector(i, a), self.en_vectors(js, b)
        # Mean cosine with random beads of the other side's size is the dot
        # with the mean of all such beads: Vecalign's normaliser, exactly.
        base = (zh_vec @ self.en_mean[b] + en_vecs @ self.zh_mean[a]) / 2
        distance = (1 - en_vecs @ zh_vec) / (1 - base).clip(1e-3)
        return -a * b * distance


@dataclass
class SentenceStats:
    """Per-sentence counts the bead score compares across languages."""

    length: np.ndarray     # word pieces (segmenting.piece_counts), or the lengths the caller gave
    opens: np.ndarray      # 1 where the sentence starts by opening a quotation
    closes: np.ndarray     # 1 where it ends by closing one
    credits: np.ndarray    # 1 for a staff credit or byline (reading marks them)
    quotations: np.ndarray # quotations the sentence opens minus those it closes (-1, 0, 1)
    questions: np.ndarray  # 1 where the sentence asks (has a question mark)

    @classmethod
    def from_texts(cls, texts: list[str], roles: list[str] | None = None) -> "SentenceStats":
        quotations = [read_quotations(t) for t in texts]
        return cls(piece_counts(texts),
                   np.array([q.opens for q in quotations], dtype=float),
                   np.array([q.closes for q in quotations], dtype=float),
                   np.array([role == "credit" for role in roles or [""] * len(texts)], dtype=float),
                   np.array([np.clip(q.opened, -1, 1) for q in quotations], dtype=float),
                   np.array([bool(_QUESTION.search(t)) for t in texts], dtype=float))

    @classmethod
    def from_lengths(cls, lengths: np.ndarray) -> "SentenceStats":
        """Lengths only: every mark (quotes, credits, questions) absent."""
        zeros = np.zeros(len(lengths))
        return cls(np.asarray(lengths, dtype=float), *[zeros] * (len(fields(cls)) - 1))


_QUESTION = re.compile(r"[?？]")


@dataclass(frozen=True)
class Quotations:
    """The quotation marks of one sentence. Dialogue marks survive translation:
    a sentence that opens or closes a quotation in one language mostly does in
    the other ('…' in English novels)."""

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


# The bead features, in the order of BEAD_WEIGHTS["features"].
FEATURES = ("cos", "margin", "length_z2", "merge_loss", "weakest_member", "quote_edges", "credit_diff", "dictionary",
            "split_lengths", "quotes_left_open", "questions_diff", "turns_inside")
# A bead's similarity is features . weights (about its cosine); its value to
# the path is -(a * b) ** size_power * (1 - similarity) + the bias of its
# shape, so merged beads must be much closer than the parts they replace,
# as in Vecalign. Skipping a sentence is worth the bias of 1-0 / 0-1 plus
# skip_best_match times how much better its best match is than the
# document's median. Tuned on MAC-Dev by scripts/tune_scorer.py (coordinate
# ascent on strict F1). A bead's score is sigmoid(slope * similarity +
# offset), calibrated on MAC-Dev: the chance that the bead is exactly right.
BEAD_WEIGHTS = {
    "features": np.array([1.0, 0.3, -0.05, 0.7, 0.55, 0.1, -0.5, 0.2, 0.0625, -0.15, -0.09, -0.2]),
    "size_power": 1.0,
    "shapes": {"1-1": 0.0, "1-2": 0.0, "2-1": 0.45, "1-3": 0.0, "3-1": 0.0, "2-2": 0.0, "1-4": 0.15, "4-1": 0.0,
               "2-3": -0.6, "3-2": 0.0, "1-5": -0.15, "1-6": 0.0, "1-0": -1.15, "0-1": -1.9},
    "skip_best_match": -2.0,
    "calibration": (3.76, 1.12),
}


class _BeadScorer(_Windows):
    """Second pass: a linear model over bead features (BEAD_WEIGHTS)."""

    def __init__(self, zh, en, zh_stats: SentenceStats, en_stats: SentenceStats, band, params: AlignParams, shapes,
                 words: WordMatches | None = None):
        self.params, self.shapes, self.words = params, shapes, words
        super().__init__(zh, en, max(a for a, _ in shapes), max(b for _, b in shapes))
        zh_knn, en_knn, zh_top1, en_top1 = _neighbour_means(zh, en, band, params.knn)
        # How much closer each sentence's best match is than the document's typical best match.
        self.zh_top1, self.en_top1 = zh_top1 - np.median(zh_top1), en_top1 - np.median(en_top1)
        self.zh_knn, self.en_knn = _prefix1(zh_knn), _prefix1(en_knn)
        self.zh_stats = {k: _prefix1(v) for k, v in vars(zh_stats).items()}
        self.en_stats = {k: _prefix1(v) for k, v in vars(en_stats).items()}
        self.zh_flags, self.en_flags = vars(zh_stats), vars(en_stats)
        # Expected log length ratio for this document pair.
        self.log_ratio = np.log(max(en_stats.length.sum(), 1.0) / max(zh_stats.length.sum(), 1.0))

    def _zh_total(self, name: str, i: int, a: int) -> float:
        return self.zh_stats[name][i] - self.zh_stats[name][i - a]

    def _en_total(self, name: str, js: np.ndarray, b: int) -> np.ndarray:
        return self.en_stats[name][js] - self.en_stats[name][js - b]

    def _difference(self, name: str, i: int, a: int, js: np.ndarray, b: int) -> np.ndarray:
        """How many more of the bead's sentences are marked `name` on one side than on the other (at most 2)."""
        return np.abs(self._zh_total(name, i, a) - self._en_total(name, js, b)).clip(0, 2)

    def _length_z(self, i: int, a: int, js: np.ndarray, b: int) -> np.ndarray:
        """How far the bead's log length ratio is from the document's, in
        standard deviations. A length of k word pieces is a count, noisy by
        about sqrt(k), so the log ratio of short sentences spreads more: its
        variance is sigma^2 plus length_noise * (1/zh + 1/en), as for the log
        ratio of two Poisson counts."""
        zh = self._zh_total("length", i, a) + 1
        en = self._en_total("length", js, b) + 1
        spread = np.sqrt(self.params.length_sigma ** 2 + self.params.length_noise * (1 / zh + 1 / en))
        return (np.log(en / zh) - self.log_ratio) / spread

    def features(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        """One row of FEATURES per bead zh[i-a:i] + en[j-b:j], j in js."""
        cos = self.cos(i, a, js, b)
        margin = cos - ((self.zh_knn[i] - self.zh_knn[i - a]) / a + (self.en_knn[js] - self.en_knn[js - b]) / b) / 2
        length_z2 = self._length_z(i, a, js, b) ** 2
        # A sentence boundary moved in translation (part of one side's first
        # sentence went into the other side's second): a 2-2 bead whose
        # lengths balance while its two 1-1 halves are off in opposite
        # directions. (For larger beads the same term admitted wrong merges.)
        split_lengths = np.zeros(len(js))
        if a == b == 2:
            split_lengths = np.clip(-self._length_z(i - 1, 1, js - 1, 1) * self._length_z(i, 1, js, 1), 0, 4)
        # A sentence at either end of the bead that lowers its similarity
        # does not belong there (a credit line tacked onto a sentence): the
        # loss against the better of the beads without an end sentence.
        loss = np.zeros(len(js))
        if b > 1:
            loss += np.minimum(0, cos - np.maximum(self.cos(i, a, js - 1, b - 1), self.cos(i, a, js, b - 1)))
        if a > 1:
            loss += np.minimum(0, cos - np.maximum(self.cos(i - 1, a - 1, js, b), self.cos(i, a - 1, js, b)))
        # The sentence of the bead least like the other side's window, against
        # the bead's cosine (0 in a 1-1 bead): a merge is only as good as its
        # weakest member.
        zh_members = self.en_vectors(js, b) @ self.zh_win[1][i - a + 1: i + 1].T
        en_members = np.column_stack([self.en_vectors(js - k, 1) @ self.zh_vector(i, a) for k in range(b)])
        weakest = np.minimum(zh_members.min(axis=1), en_members.min(axis=1)) - cos
        # +1 for each edge where both sides open (close) a quotation, -1 where
        # only one does, 0 where neither does.
        zh_open, zh_close = self.zh_flags["opens"][i - a], self.zh_flags["closes"][i - 1]
        en_open, en_close = self.en_flags["opens"][js - b], self.en_flags["closes"][js - 1]
        quote_edges = _edge_agreement(zh_open, en_open) + _edge_agreement(zh_close, en_close)
        # A quotation the bead leaves open on one side but not on the other.
        quotes_left_open = self._difference("quotations", i, a, js, b)
        # A turn of dialogue ends or starts inside the bead: an English
        # sentence before its last closes a quotation, or a Chinese one after
        # its first opens one. (MAC-Dev gold: 3 of 196 English sentences that
        # close a quotation sit inside a bead, 0 of 72 Chinese that open one.)
        turns_inside = self._en_total("closes", js - 1, b - 1) + self._zh_total("opens", i, a - 1)
        # Questions stay questions in translation.
        questions_diff = self._difference("questions", i, a, js, b)
        # A staff credit or byline pairs only with another one.
        credit_diff = self._difference("credits", i, a, js, b)
        # Share of the bead's words the dictionary finds on the other side.
        dictionary = self.words.coverage(i, a, js, b) if self.words is not None else np.zeros(len(js))
        return np.column_stack([cos, margin, length_z2, loss, weakest, quote_edges, credit_diff, dictionary, split_lengths,
                                quotes_left_open, questions_diff, turns_inside])

    def similarity(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        return self.features(i, a, b, js) @ BEAD_WEIGHTS["features"]

    def values(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        """What each bead adds to the path's value."""
        shapes = BEAD_WEIGHTS["shapes"]
        # Shapes too rare to tune (2-4, 3-3, ...) get the lowest bias there is.
        bias = shapes.get(f"{a}-{b}", min(shapes.values()))
        if a == 0 or b == 0:
            if self.params.skip is not None:
                return np.full(len(js), -self.params.skip)
            # Leaving out a sentence that has a close match nearby costs more.
            best_match = self.zh_top1[i - 1] if b == 0 else self.en_top1[np.maximum(js - 1, 0)]
            return bias + BEAD_WEIGHTS["skip_best_match"] * best_match + np.zeros(len(js))
        # A perfect bead costs nothing; among perfect beads the smaller wins.
        distance = (1 - self.similarity(i, a, b, js)).clip(0, None)
        return bias - (a * b) ** BEAD_WEIGHTS["size_power"] * distance - 0.01 * (a + b - 2)

    def scores(self, i: int, a: int, b: int, js: np.ndarray) -> np.ndarray:
        """Probability that each bead is right (0 for unaligned sentences)."""
        if a == 0 or b == 0:
            return np.zeros(len(js))
        slope, offset = BEAD_WEIGHTS["calibration"]
        return 1 / (1 + np.exp(-(slope * self.similarity(i, a, b, js) + offset)))


def _edge_agreement(zh_flag: float, en_flags: np.ndarray) -> np.ndarray:
    return np.where(en_flags == zh_flag, zh_flag, -1.0)


def _prefix1(values: np.ndarray) -> np.ndarray:
    return _prefix(np.asarray(values, dtype=float)[:, None])[:, 0]


def _prefix(vectors: np.ndarray) -> np.ndarray:
    out = np.zeros((len(vectors) + 1, vectors.shape[1]), dtype=np.float64)
    np.cumsum(vectors, axis=0, out=out[1:])
    return out


def _window_vectors(vectors: np.ndarray, max_size: int) -> list[np.ndarray]:
    """[None-like, size 1, ..., size max_size]: row k holds the normalised sum
    of vectors[k-size:k] (float32: these are the largest arrays here)."""
    prefix = _prefix(vectors)
    windows = [np.zeros((len(prefix), vectors.shape[1]), dtype=np.float32)]
    for size in range(1, max_size + 1):
        sums = np.zeros((len(prefix), vectors.shape[1]), dtype=np.float32)
        sums[size:] = prefix[size:] - prefix[:-size]
        sums /= np.linalg.norm(sums, axis=1, keepdims=True).clip(1e-9)
        windows.append(sums)
    return windows


def _neighbour_means(zh, en, band, k, chunk=512):
    """Mean cosine of each sentence with its k most similar sentences on the
    other side, and the cosine of the most similar one, looking only inside
    the band (plus a margin of rows)."""
    lo, hi = band
    n, m = len(zh), len(en)
    zh_best = np.full((n, k), np.nan)
    en_best = np.full((m, k), -np.inf)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        # Sentence s sits in DP rows s+1; its candidate columns j-1 for j in [lo, hi).
        col_lo = max(0, int(lo[start + 1]) - 1 - k)
        col_hi = min(m, int(hi[stop]) + k)
        sims = zh[start:stop] @ en[col_lo:col_hi].T
        cols = np.arange(col_lo, col_hi)
        rows_lo = (lo[start + 1: stop + 1] - 1 - k)[:, None]
        rows_hi = (hi[start + 1: stop + 1] + k)[:, None]
        sims = np.where((cols >= rows_lo) & (cols < rows_hi), sims, -np.inf)
        kk = min(k, sims.shape[1])
        top = -np.partition(-sims, kk - 1, axis=1)[:, :kk]
        zh_best[start:stop, :kk] = top
        # Columns: merge this chunk's best rows into each en sentence's top k.
        col_top = -np.partition(-sims, min(k, sims.shape[0]) - 1, axis=0)[: min(k, sims.shape[0])]
        merged = np.vstack([en_best[col_lo:col_hi].T, col_top])
        en_best[col_lo:col_hi] = (-np.partition(-merged, k - 1, axis=0)[:k]).T
    return _finite_mean(zh_best), _finite_mean(en_best), _finite_max(zh_best), _finite_max(en_best)


def _finite_max(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, -1.0)
    return values.max(axis=1) if values.size else np.zeros(len(values))


def _finite_mean(values: np.ndarray) -> np.ndarray:
    values = np.where(np.isfinite(values), values, np.nan)
    means = np.nanmean(values, axis=1) if values.size else np.zeros(len(values))
    return np.nan_to_num(means, nan=float(np.nanmean(means)) if np.isfinite(means).any() else 0.0)


# --- the dynamic program -----------------------------------------------------

def _search(scorer: _RoughScorer | _BeadScorer, band: tuple[np.ndarray, np.ndarray]) -> list[tuple[int, int]]:
    """Best path of DP nodes (i, j) = (zh sentences used, en sentences used)
    from (0, 0) to (n, m), filling only the band, one row at a time."""
    lo, hi = band
    n, m = scorer.n, scorer.m
    width = int((hi - lo).max())
    total = np.full((n + 1, width), -np.inf)
    came_by = np.full((n + 1, width), -1, dtype=np.int8)  # index into scorer.shapes
    shapes = scorer.shapes
    en_skip = shapes.index((0, 1))
    for i in range(n + 1):
        js = np.arange(lo[i], hi[i])
        best = np.full(len(js), -np.inf)
        how = np.full(len(js), -1, dtype=np.int8)
        if i == 0:
            best[js == 0] = 0.0
        for k, (a, b) in enumerate(shapes):
            if a == 0 or a > i:
                continue
            prev_cols = js - b
            idx = prev_cols - lo[i - a]
            ok = (prev_cols >= 0) & (idx >= 0) & (idx < hi[i - a] - lo[i - a])
            if not ok.any():
                continue
            value = np.full(len(js), -np.inf)
            value[ok] = total[i - a, idx[ok]] + scorer.values(i, a, b, js[ok])
            better = value > best
            best[better], how[better] = value[better], k
        # 0-1 beads chain along the row: with S[j] the summed values of
        # skipping the en sentences up to j, total[j] = max over k <= j of
        # best[k] + S[j] - S[k], a running maximum of best[k] - S[k].
        skips = scorer.values(i, 0, 1, js)
        steps = np.concatenate([[0.0], np.cumsum(skips[1:])])
        chained = np.maximum.accumulate(best - steps) + steps
        by_skip = chained > best + 1e-9  # not where only rounding differs
        best[by_skip], how[by_skip] = chained[by_skip], en_skip
        total[i, : len(js)], came_by[i, : len(js)] = best, how
    path = [(n, m)]
    i, j = n, m
    while (i, j) != (0, 0):
        a, b = shapes[came_by[i, j - lo[i]]]
        i, j = i - a, j - b
        path.append((i, j))
    return path[::-1]


def _beads_from_path(path: list[tuple[int, int]], scorer: _BeadScorer) -> list[Bead]:
    beads = []
    for (i0, j0), (i1, j1) in zip(path, path[1:]):
        a, b = i1 - i0, j1 - j0
        score = 0.0 if a == 0 or b == 0 else float(scorer.scores(i1, a, b, np.array([j1]))[0])
        beads.append(Bead(list(range(i0, i1)), list(range(j0, j1)), score))
    return beads
