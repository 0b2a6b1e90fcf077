"""The fitting procedure: cross-validation holds out every version of a chapter at once."""
import pytest

import align.tuning as tuning
from align.scoring import default_weights


def test_cross_validation_never_fits_on_any_version_of_the_chapter_it_judges(monkeypatch):
    # Stand-ins for the documents: fitting and predicting only record what they were given.
    docs = {name: object() for name in ("001", "002", "003", "deletions/001", "deletions/002", "deletions/003")}
    seen = {}
    monkeypatch.setattr(tuning, "tuning_documents", lambda docs, weights: dict(docs))

    def fit(rest, weights, rounds, hold):
        fold = f"fold{len(seen)}"
        seen[fold] = set(rest)
        assert set(tuning.HAND_SET) <= set(hold)  # the knobs the gold cannot fit stay put
        return weights.replace(provenance={"name": fold}), 0.0

    monkeypatch.setattr(tuning, "fit", fit)
    monkeypatch.setattr(tuning, "predict", lambda part, weights: {name: weights.provenance["name"] for name in part})
    held_out, fitted = tuning.cross_validate(docs, default_weights())
    assert sorted(fitted) == ["001", "002", "003"]
    for name, fold in held_out.items():
        chapter = name.rsplit("/", 1)[-1]
        assert held_out[chapter] == fold  # both versions of a chapter judged by the same fit ...
        assert not {n for n in seen[fold] if n.rsplit("/", 1)[-1] == chapter}  # ... which saw neither
    assert len(held_out) == len(docs)


def test_neutral_start_keeps_the_hand_set_knobs_and_nothing_else():
    shipped = default_weights()
    start = tuning.neutral_start(shipped)
    assert start.features["credit_diff"] == shipped.features["credit_diff"] != 0
    assert start.features["cos"] == 1.0
    assert all(value == 0.0 for name, value in start.features.items() if name not in ("cos", *tuning.HAND_SET))
    assert start.skip_repeat == 0.0 and start.skip_best_match == 0.0


@pytest.mark.parametrize("value, step", [(0.1, 0.05), (0.3, -0.15)])
def test_moved_weights_are_rounded(value, step):
    weights = default_weights().replace(features=default_weights().features | {"margin": value})
    assert tuning.moved(weights, "features", "margin", step).features["margin"] == round(value + step, 6)


def test_weights_id_ignores_a_later_knob_at_its_default_and_shows_any_other_change():
    import json

    from align.scoring import WEIGHTS_FILE, Weights

    shipped = default_weights()
    data = json.loads(WEIGHTS_FILE.read_text("utf-8"))
    assert "skip_repeat" not in data  # written before the knob existed
    assert Weights.load(WEIGHTS_FILE).id == shipped.id == shipped.replace(skip_repeat=0.0).id
    assert len({shipped.id, shipped.replace(skip_repeat=0.5).id,
                shipped.replace(features=shipped.features | {"margin": 0.31}).id}) == 3
