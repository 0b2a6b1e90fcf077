"""The dynamic program on synthetic vectors whose true beads are known."""
import numpy as np
import pytest

from align.aligning import AlignParams, align_vectors, bead_shapes
from align.scoring import default_weights


def normalised(vectors):
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def synthetic_pair(seed: int, n: int = 120, dim: int = 64, noise: float = 0.3):
    """Chinese vectors, English vectors made from them by known edits, and the true beads."""
    rng = np.random.default_rng(seed)
    zh = rng.normal(size=(n, dim))
    en, beads, i = [], [], 0
    while i < n:
        j, roll = len(en), rng.random()
        if roll < 0.1 and i + 1 < n:  # two Chinese sentences translated as one
            en.append(zh[i] + zh[i + 1] + rng.normal(size=dim) * noise)
            beads.append(([i, i + 1], [j]))
            i += 2
        elif roll < 0.2:  # one Chinese sentence translated as two
            part = rng.normal(size=dim)
            en += [zh[i] + part + rng.normal(size=dim) * noise, zh[i] - part + rng.normal(size=dim) * noise]
            beads.append(([i], [j, j + 1]))
            i += 1
        elif roll < 0.25 and beads and beads[-1][1]:  # dropped in translation
            beads.append(([i], []))
            i += 1
        elif roll < 0.3 and beads and beads[-1][0]:  # added in translation
            en.append(rng.normal(size=dim))
            beads.append(([], [j]))
        else:
            en.append(zh[i] + rng.normal(size=dim) * noise)
            beads.append(([i], [j]))
            i += 1
    return normalised(zh), normalised(np.array(en)), beads


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_merges_splits_and_deletions(seed):
    zh, en, truth = synthetic_pair(seed)
    found = [(b.zh, b.en) for b in align_vectors(zh, en).beads]
    assert {k for k in ("2-1", "1-2", "1-0", "0-1") if any(f"{len(z)}-{len(e)}" == k for z, e in truth)} >= {"2-1", "1-2"}
    right = sum(1 for bead in found if bead in truth)
    assert right / len(truth) >= 0.95, [b for b in found if b not in truth][:5]
    for kind in ((2, 1), (1, 2), (1, 0), (0, 1)):
        expected = [b for b in truth if (len(b[0]), len(b[1])) == kind]
        assert sum(1 for b in expected if b in found) >= 0.75 * len(expected), kind


def test_every_sentence_once_in_order():
    zh, en, _ = synthetic_pair(3, n=60)
    beads = align_vectors(zh, en, params=AlignParams(max_bead=3, max_total=4)).beads
    assert [i for b in beads for i in b.zh] == list(range(len(zh)))
    assert [j for b in beads for j in b.en] == list(range(len(en)))
    assert all(len(b.zh) <= 3 and len(b.en) <= 3 and len(b.zh) + len(b.en) <= 4 for b in beads)


def test_one_side_empty_gives_unaligned_beads():
    zh, _, _ = synthetic_pair(4, n=5)
    beads = align_vectors(zh, np.zeros((0, zh.shape[1]), np.float32)).beads
    assert [(b.zh, b.en) for b in beads] == [([i], []) for i in range(5)]


def test_shapes_include_skips_and_respect_limits():
    shapes = bead_shapes(AlignParams(max_bead=4, max_total=5), default_weights())
    assert (1, 0) in shapes and (0, 1) in shapes and (1, 4) in shapes and (4, 1) in shapes
    assert (3, 3) not in shapes and (5, 1) not in shapes


def test_long_documents_use_a_band_not_the_full_grid():
    """Documents too long for the full grid are aligned through the coarse-to-fine band."""
    zh, en, truth = synthetic_pair(5, n=1500, dim=32)
    alignment = align_vectors(zh, en)
    lo, hi = alignment.band
    assert (hi - lo).max() < 60  # a band, not m + 1 columns
    found = [(b.zh, b.en) for b in alignment.beads]
    assert sum(1 for bead in found if bead in truth) / len(truth) >= 0.9


def mac_window(text_id: str, bead: int, context: int = 6):
    """Sentences and default-model vectors of MAC-Dev gold beads bead-context .. bead+context,
    and a function mapping a gold bead's sentence numbers into that window."""
    from mac_corpus import gold_beads, mac_piece

    from align.embedding import load_encoder

    gold = gold_beads(text_id)
    zh_text, en_text = mac_piece(text_id, bead - context, 2 * context + 1)
    zh, en = zh_text.splitlines(), en_text.splitlines()
    zh_first, en_first = gold[bead - context][0][0], gold[bead - context][1][0]
    encoder = load_encoder()

    def local(gold_bead):
        return ([i - zh_first for i in gold_bead[0]], [j - en_first for j in gold_bead[1]])

    return zh, en, encoder.encode(zh), encoder.encode(en), [local(b) for b in gold]


def window_beads(zh, en, zh_vectors, en_vectors, weights=None) -> list[tuple[list[int], list[int]]]:
    """(zh ids, en ids) of each bead the default aligner makes of a window from mac_window."""
    from align.embedding import load_encoder
    from align.marks import PairEvidence

    encoder = load_encoder()
    evidence = PairEvidence.of(zh, en, encoder.lengths(zh), encoder.lengths(en))
    return [(b.zh, b.en) for b in align_vectors(zh_vectors, en_vectors, weights=weights, **evidence.arguments()).beads]


def without_feature(name: str):
    """The shipped weights with one feature's weight set to 0."""
    weights = default_weights()
    return weights.replace(features=weights.features | {name: 0.0})


@pytest.mark.parametrize("text_id, bead", [("001", 119), ("003", 61), ("006", 39)])
def test_a_moved_sentence_boundary_gives_a_2_2_bead(text_id, bead):
    # MAC-Dev gold 2-2 beads where the translator moved the boundary (the first
    # English sentence carries part of the second Chinese one), aligned with
    # six gold beads of context either side by the default model.
    zh, en, zh_vectors, en_vectors, gold = mac_window(text_id, bead)
    moved = gold[bead]
    assert len(moved[0]) == len(moved[1]) == 2

    def beads(weights=None):
        return window_beads(zh, en, zh_vectors, en_vectors, weights)

    assert moved in beads()
    # The lengths of its halves decide it: without that feature it is split into two 1-1 beads.
    assert moved not in beads(without_feature("split_lengths"))


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


def test_a_quotation_split_across_sentences_keeps_its_lines_together():
    # MAC-Dev 003: Gou-er's question ends in the second English sentence
    # ("Go out and rob?'"), which the vectors put with Grannie Liu's reply.
    zh, en, zh_vectors, en_vectors, gold = mac_window("003", 31)
    wanted = gold[31:33]  # ([33], [47, 48]), ([34], [49]) in the chapter

    def beads(weights=None):
        return window_beads(zh, en, zh_vectors, en_vectors, weights)

    assert all(bead in beads() for bead in wanted)
    assert not all(bead in beads(without_feature("quotes_left_open")) for bead in wanted)


def test_a_turn_of_dialogue_does_not_end_inside_a_bead():
    # MAC-Dev 006: Wang's question and Shen Yufei's answer "“不知道。”" are two
    # turns; the answer opens a quotation, so it starts a bead of its own.
    # Without that feature question and answer become one 2-2 bead.
    zh, en, zh_vectors, en_vectors, gold = mac_window("006", 149)
    wanted = gold[149:151]  # ([158], [236]), ([159], [237]) in the chapter
    assert zh[wanted[1][0][0]] == "“不知道。”" and en[wanted[1][1][0]] == '"I don\'t know."'

    def beads(weights=None):
        return window_beads(zh, en, zh_vectors, en_vectors, weights)

    assert all(bead in beads() for bead in wanted)
    assert not all(bead in beads(without_feature("turns_inside")) for bead in wanted)


def test_questions_stay_with_questions():
    # MAC-Dev 003: Zhou Rui's wife's "刘老老，你好?" ends in a question, and so does
    # its translation's last line, "How are you?"; without counting question
    # marks the vectors move that line into the next bead.
    zh, en, zh_vectors, en_vectors, gold = mac_window("003", 85)
    wanted = gold[85:87]  # ([91], [130, 131, 132]), ([92], [133]) in the chapter
    assert zh[wanted[0][0][0]].endswith("你好?") and en[wanted[0][1][-1]] == "How are you?"

    def beads(weights=None):
        return window_beads(zh, en, zh_vectors, en_vectors, weights)

    assert all(bead in beads() for bead in wanted)
    assert not all(bead in beads(without_feature("questions_diff")) for bead in wanted)
