"""attach_doubt chosen on held-out files (align.attach_choice), on constructed pairs whose doubts
are known: a sentence torn off its bead (it belongs to a 2-1 or 1-2 bead) and one untranslated.
With cheap skips the search leaves both out; the torn one more narrowly (test_aligning)."""
import pytest

from align.attach_choice import ATTACH_DOUBT_GRID, choose_attach_doubt, cross_validated_attach_doubt, searched_file
from align.bench import is_deletion
from align.tuning import TuningDocument, chapter, fit
from test_aligning import cheap_skip, pair_context, skip_doubt, torn_or_untranslated


def prepared(pair) -> TuningDocument:
    return TuningDocument(pair_context(pair, cheap_skip()), [(tuple(z), tuple(e)) for z, e in pair.truth])


def files(sides: dict[str, str]) -> dict[str, TuningDocument]:
    """Chapter NNN: the torn sentence on `side`; deletions/NNN: the untranslated one on the same side."""
    out = {}
    for number, side in sides.items():
        out[number] = prepared(torn_or_untranslated(side, torn=True))
        out[f"deletions/{number}"] = prepared(torn_or_untranslated(side, torn=False))
    return out


def test_the_doubts_these_cases_rest_on():
    # en: the torn sentence is left out by a hair, the untranslated one clearly; zh: both about as narrowly.
    en_torn, en_untranslated = (skip_doubt(torn_or_untranslated("en", torn), cheap_skip()) for torn in (True, False))
    zh_torn, zh_untranslated = (skip_doubt(torn_or_untranslated("zh", torn), cheap_skip()) for torn in (True, False))
    assert en_torn < ATTACH_DOUBT_GRID[1] < en_untranslated < 0.15 < 0.3 < zh_torn < zh_untranslated < 0.5


def test_the_choice_mends_the_chapters_while_the_deletion_set_keeps_its_omissions():
    searched = {name: searched_file(doc, cheap_skip()) for name, doc in files({"001": "en", "002": "zh"}).items()}
    # 0.05 attaches the en torn sentence only. 0.15 attaches the en untranslated one too: the deletion set
    # still finds one of its two omissions (recall 0.5), and the chapters gain nothing more. 0.5 would
    # mend the zh chapter but lose every omission. So the smallest value of the best F1 kept: 0.05.
    assert choose_attach_doubt(searched, is_deletion) == 0.05
    assert searched["001"].beads(0.05) != searched["001"].beads(None)
    assert [(list(z), list(e)) for z, e, _ in searched["001"].beads(0.05)] == torn_or_untranslated("en", True).truth
    # Without a deletion set nothing says what attaching costs a true omission: nothing is chosen.
    assert choose_attach_doubt({name: s for name, s in searched.items() if not is_deletion(name)}, is_deletion) is None


def test_each_fold_is_given_the_value_the_other_folds_files_choose():
    docs = files({"001": "zh", "002": "en"})
    fitted = {"001": cheap_skip(), "002": cheap_skip()}
    choice = cross_validated_attach_doubt(docs, fitted, chapter, is_deletion)
    chosen, held_out = choice.fold_weights, choice.held_out
    # Fold 001's value comes from 002's files (en: 0.05 mends its chapter), fold 002's from 001's
    # (zh: nothing mends the chapter without losing the omission). Their own files would choose the reverse.
    assert chosen["001"].attach_doubt == 0.05 and chosen["002"].attach_doubt is None
    assert set(held_out) == set(docs)
    # All four files together: 0.05 mends the en chapter and keeps both omissions' sides found enough.
    assert choice.overall == 0.05
    # Held out, each file is aligned with its fold's choice: neither chapter is mended here.
    for number, side in (("001", "zh"), ("002", "en")):
        assert [(list(z), list(e)) for z, e, _ in held_out[number]] != torn_or_untranslated(side, True).truth


def test_a_fit_runs_without_attach_doubt_and_hands_back_the_start_value(monkeypatch):
    from align import tuning

    seen = []

    def strict_f1(docs, weights):  # a stand-in: every fit scores the same, so nothing moves
        seen.append(weights.attach_doubt)
        return 0.5

    monkeypatch.setattr(tuning, "strict_f1", strict_f1)
    start = cheap_skip(attach_doubt=0.2)
    docs = {"001": prepared(torn_or_untranslated("en", True))}
    fitted, _ = fit(docs, start.replace(shape_counts=None), rounds=1)
    assert seen and set(seen) == {None}
    assert fitted.attach_doubt == 0.2


@pytest.mark.parametrize("value", [None, 0.15])
def test_attach_doubt_is_part_of_the_weights_id_only_when_set(value):
    weights = cheap_skip()
    assert (weights.replace(attach_doubt=value).id == weights.id) == (value is None)
