"""Bead scores (align.scoring.bead_score): what each calibration in a weights file reads, and
old weights files scoring as they always did."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align.errors import InputError
from align.scoring import bead_score, context_similarity, score_inputs
from align.weights import Weights, shipped_weights

NAN = float("nan")


def sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def test_a_weights_file_with_three_calibration_numbers_loads_and_scores_as_before(tmp_path):
    """0.5.0's files: slope, context slope, offset, read as they always were, the id unchanged."""
    shipped = shipped_weights("weights-e5+use.json")
    data = shipped.numbers() | {"calibration": [2.442, 5.8539, -3.5468], "provenance": {"name": "old"}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), "utf-8")
    old = Weights.load(path)
    assert old.calibration == (2.442, 5.8539, -3.5468)
    assert Weights.load(path).id == old.id and json.loads(path.read_text())["calibration"] == [2.442, 5.8539, -3.5468]
    similarity = np.array([0.9, 0.8, NAN, 0.3, 0.85, 0.7])
    context = context_similarity(similarity, old.context_beads)
    expected = sigmoid(2.442 * similarity + 5.8539 * context - 3.5468)
    shapes = [(1, 1), (1, 2), (1, 0), (2, 1), (1, 1), (1, 3)]
    np.testing.assert_allclose(bead_score(similarity, old), expected)
    np.testing.assert_allclose(bead_score(similarity, old, shapes), expected)  # the shapes change nothing
    assert np.isnan(bead_score(similarity, old)[2])


def test_a_mapping_calibration_weighs_the_named_inputs_and_a_merge_counts_only_through_its_shape():
    weights = shipped_weights("weights-e5+use.json").replace(
        calibration={"similarity": 3.0, "context": 5.0, "merge": -1.5, "offset": -4.0})
    similarity = np.array([0.8, 0.8, 0.8, NAN, 0.8])
    shapes = [(1, 1), (1, 2), (2, 2), (0, 1), (1, 1)]
    scores = bead_score(similarity, weights, shapes)
    one_one, merged = sigmoid(3.0 * 0.8 + 5.0 * 0.8 - 4.0), sigmoid(3.0 * 0.8 + 5.0 * 0.8 - 1.5 - 4.0)
    np.testing.assert_allclose(scores[[0, 4]], one_one)
    np.testing.assert_allclose(scores[[1, 2]], merged)
    assert np.isnan(scores[3])
    with pytest.raises(ValueError, match="merge"):
        bead_score(similarity, weights)  # a calibration that reads the shapes needs them
    # Without a merge input the shapes are not needed, and the context is as scoring reads it.
    plain = weights.replace(calibration={"similarity": 3.0, "context": 5.0, "offset": -4.0})
    np.testing.assert_allclose(bead_score(similarity, plain), sigmoid(3.0 * similarity + 5.0 * 0.8 - 4.0))


def test_score_inputs_of_an_alignment():
    similarity = np.array([0.9, NAN, 0.1, 0.8])
    inputs = score_inputs(similarity, 1, [(1, 1), (1, 0), (1, 2), (3, 1)])
    assert inputs["merge"].tolist() == [0.0, 0.0, 1.0, 1.0]
    np.testing.assert_allclose(inputs["context"], context_similarity(similarity, 1))
    with pytest.raises(ValueError, match="3 bead shapes for 4"):
        score_inputs(similarity, 1, [(1, 1)] * 3)


def test_a_mapping_calibration_round_trips_through_its_file_and_unknown_inputs_are_refused(tmp_path):
    weights = shipped_weights("weights-e5+use.json").replace(
        calibration={"similarity": 3.0, "context": 5.0, "merge": -1.5, "offset": -4.0})
    path = tmp_path / "new.json"
    weights.save(path)
    assert json.loads(path.read_text())["calibration"] == {"similarity": 3.0, "context": 5.0, "merge": -1.5,
                                                           "offset": -4.0}
    loaded = Weights.load(path)
    assert loaded.calibration == weights.calibration and loaded.id == weights.id
    assert weights.replace(calibration=weights.calibration | {"merge": -1.4}).id != weights.id
    for bad, says in (({"similarity": 3.0, "offset": 1.0, "rhyme": 2.0}, "unknown inputs rhyme"),
                      ({"similarity": 3.0}, "no offset")):
        data = json.loads(path.read_text()) | {"calibration": bad}
        path.write_text(json.dumps(data), "utf-8")
        with pytest.raises(InputError, match=says):
            Weights.load(path)
