"""The review's edit model (align.reviewing): operations, the invariant, undo/redo, save and resume."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from align.errors import InputError
from align.evaluating import read_alignment
from align.reviewing import (Journal, Review, ReviewBead, ReviewDocument, ReviewError, ReviewPaths, ReviewSources,
                             ReviewState, changed_span, resume_cursor, save_review, state_from_frame)
from align.writing import read_tsv, write_output

ZH = ["甲一。", "乙二。", "丙三。", "丁四。", "戊五。", "己六。"]
EN = ["The first line.", "Then the second one.", "A third follows.", "Here is the fourth.", "The fifth stands alone.",
      "Six comes next.", "Seven ends it."]


def make_state(beads=None) -> ReviewState:
    document = ReviewDocument(tuple(ZH), tuple(EN), ("body",) * len(ZH), ("credit",) + ("body",) * (len(EN) - 1),
                              "yes", "zhalign 0.5.0|model:test")
    beads = beads or [((0,), (0,), 0.9), ((1,), (1, 2), 0.2), ((2, 3), (3,), 0.95), ((), (4,), 0.0),
                      ((4,), (5,), 0.97), ((5,), (6,), 0.99)]
    return ReviewState(document, tuple(ReviewBead(z, e, s) for z, e, s in beads))


def ids(state: ReviewState) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(b.zh, b.en) for b in state.beads]


def test_merge_joins_a_bead_with_the_next_and_marks_it_edited():
    state = make_state().merge(1)
    assert ids(state)[1] == ((1, 2, 3), (1, 2, 3))
    assert state.beads[1].status == "edited" and state.beads[1].score is None
    assert len(state.beads) == 5 and state.beads[0].status == "auto"
    with pytest.raises(ReviewError, match="last bead"):
        state.merge(len(state.beads) - 1)


def test_split_modes():
    state = make_state()
    assert ids(state.split(2, "pair"))[2:4] == [((2,), (3,)), ((3,), ())]
    assert ids(state.split(1, "pair"))[1:3] == [((1,), (1,)), ((), (2,))]
    assert ids(state.split(0, "zh"))[0:2] == [((0,), ()), ((), (0,))]
    assert ids(state.split(0, "en"))[0:2] == [((), (0,)), ((0,), ())]
    assert ids(state.split(2, "zh"))[2:4] == [((2,), ()), ((3,), (3,))]
    with pytest.raises(ReviewError, match="1-1 bead cannot be split into a sentence pair"):
        state.split(0, "pair")
    with pytest.raises(ReviewError, match="0-1 bead cannot"):
        state.split(3, "zh")


def test_move_first_and_last_sentences_per_side():
    state = make_state()
    up = state.move(2, "zh", "first")  # 丙 joins bead 1
    assert ids(up)[1:3] == [((1, 2), (1, 2)), ((3,), (3,))]
    down = state.move(1, "en", "last")  # "A third follows." joins bead 2
    assert ids(down)[1:3] == [((1,), (1,)), ((2, 3), (2, 3))]
    emptied = state.move(3, "en", "first")  # the 0-1 bead gives its only sentence away and goes
    assert len(emptied.beads) == 5 and ids(emptied)[2] == ((2, 3), (3, 4))
    assert {b.status for b in emptied.beads[2:3]} == {"edited"}
    with pytest.raises(ReviewError, match="first bead"):
        state.move(0, "zh", "first")
    with pytest.raises(ReviewError, match="last bead"):
        state.move(5, "en", "last")
    with pytest.raises(ReviewError, match="no Chinese sentence"):
        state.move(3, "zh", "last")


def test_confirm_toggles_and_confirm_through_confirms_everything_up_to_the_bead():
    state = make_state().merge(0)
    confirmed = state.confirm(0)
    assert confirmed.beads[0].status == "confirmed"
    assert confirmed.confirm(0).beads[0].status == "edited"  # taken back: it was made by an edit
    assert make_state().confirm(2).confirm(2).beads[2].status == "auto"
    through = state.confirm_through(2)
    assert [b.status for b in through.beads] == ["confirmed"] * 3 + ["auto"] * 2


def test_the_invariant_is_checked_whenever_a_state_is_made():
    with pytest.raises(ReviewError, match="where sentence 1 belongs"):
        make_state([((0,), (0,), 1.0), ((2,), (1,), 1.0), ((1, 3, 4, 5), (2, 3, 4, 5, 6), 1.0)])
    with pytest.raises(ReviewError, match="hold 5 zh sentences of 6"):
        make_state([((0, 1, 2, 3, 4), tuple(range(7)), 1.0)])
    with pytest.raises(ReviewError, match="bead 1 is empty"):
        make_state([(tuple(range(6)), tuple(range(7)), 1.0), ((), (), 0.0)])


OPERATIONS = st.lists(st.tuples(st.sampled_from(["merge", "pair", "zh", "en", "move", "confirm", "through"]),
                                st.integers(0, 12), st.sampled_from(["zh", "en"]), st.sampled_from(["first", "last"])),
                      max_size=40)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_any_sequence_of_edits_keeps_every_sentence_once_in_order_and_undoes_exactly(operations):
    review = Review(make_state())
    history = [review.state]
    for name, k, side, edge in operations:
        state = review.state
        try:
            new = {"merge": lambda: state.merge(k), "pair": lambda: state.split(k, "pair"),
                   "zh": lambda: state.split(k, "zh"), "en": lambda: state.split(k, "en"),
                   "move": lambda: state.move(k, side, edge), "confirm": lambda: state.confirm(k),
                   "through": lambda: state.confirm_through(k)}[name]()
        except ReviewError:
            continue
        start, removed, added = review.apply(new)
        assert list(state.beads[:start]) + list(new.beads[start:start + added]) + \
            list(state.beads[start + removed:]) == list(new.beads)
        history.append(new)
        zh = [i for b in new.beads for i in b.zh]
        en = [j for b in new.beads for j in b.en]
        assert zh == list(range(len(ZH))) and en == list(range(len(EN)))
        assert all(b.zh or b.en for b in new.beads)
    for expected in reversed(history[:-1]):
        review.undo()
        assert review.state is expected
    for expected in history[1:]:
        review.redo()
        assert review.state is expected


def test_undo_after_a_new_edit_forgets_the_redo_stack():
    review = Review(make_state())
    review.apply(review.state.merge(0))
    review.undo()
    review.apply(review.state.split(2, "zh"))
    with pytest.raises(ReviewError, match="nothing to redo"):
        review.redo()
    review.undo()
    with pytest.raises(ReviewError, match="nothing to undo"):
        review.undo()
    assert ids(review.state) == ids(make_state())


def test_changed_span_is_the_replaced_run():
    old = make_state()
    assert changed_span(old.beads, old.merge(3).beads) == (3, 2, 1)
    assert changed_span(old.beads, old.split(2, "zh").beads) == (2, 1, 2)
    assert changed_span(old.beads, old.confirm_through(1).beads) == (0, 2, 2)


def test_needs_look_goes_lowest_score_first_then_beads_not_one_to_one_then_the_rest():
    state = make_state()  # scores 0.9, 0.2, 0.95, 0.0, 0.97, 0.99; types 1-1 1-2 2-1 0-1 1-1 1-1
    assert state.needs_look(0) == 3  # the neediest first, wherever the cursor is
    order, k = [3], 3
    for _ in range(6):
        k = state.needs_look(k, walking=True)
        order.append(k)
    # 3 (0.0) and 1 (0.2) score under 0.5; then 2 (2-1); then the 1-1 beads in order; then round again
    assert order == [3, 1, 2, 0, 4, 5, 3]
    assert state.needs_look(3) == 1  # at the neediest already: the next one
    assert state.confirm(3).needs_look(3, walking=True) == 1  # the cursor's bead confirmed: the neediest
    assert state.confirm_through(5).needs_look(0) is None


def test_save_writes_the_tsv_with_statuses_and_an_index_gold_file(tmp_path):
    state = make_state().merge(0).split(1, "zh").confirm(0)
    paths = ReviewPaths.of(tmp_path / "out.reviewed.tsv")
    assert paths.index.name == "out.reviewed.index" and paths.journal.name == "out.reviewed.review.json"
    save_review(state, paths)
    frame = read_tsv(paths.tsv)
    assert list(frame["status"]) == ["confirmed", "edited", "edited", "auto", "auto", "auto"]
    assert list(frame["type"]) == ["2-3", "1-0", "1-1", "0-1", "1-1", "1-1"]
    assert frame["zh"][0] == "甲一。乙二。" and frame["en"][0] == "The first line. Then the second one. A third follows."
    assert frame["en_roles"][0] == ["credit", "body", "body"]
    assert list(frame["score"])[:3] == [1.0, 1.0, 1.0] and list(frame["score"])[3:] == [0.0, 0.97, 0.99]
    assert frame["signature"][0] == "zhalign 0.5.0|model:test|reviewed:yes"
    assert read_alignment(paths.index) == [((0, 1), (0, 1, 2)), ((2,), ()), ((3,), (3,)), ((), (4,)), ((4,), (5,)),
                                           ((5,), (6,))]
    assert read_alignment(paths.tsv) == read_alignment(paths.index)


def test_a_broken_state_is_refused_on_save_and_nothing_is_written(tmp_path):
    state = make_state()
    object.__setattr__(state, "beads", state.beads[:3] + state.beads[4:])  # the 0-1 bead lost
    paths = ReviewPaths.of(tmp_path / "out.tsv")
    with pytest.raises(ReviewError, match="bead 3 holds en sentence 5 where sentence 4 belongs"):
        save_review(state, paths)
    assert list(tmp_path.iterdir()) == []


def test_a_saved_review_reads_back_with_its_statuses(tmp_path):
    state = make_state().merge(1).confirm_through(1)
    paths = ReviewPaths.of(tmp_path / "out.tsv")
    save_review(state, paths)
    again = state_from_frame(read_tsv(paths.tsv), str(paths.tsv))
    assert ids(again) == ids(state)
    assert [b.status for b in again.beads] == [b.status for b in state.beads]
    assert again.document == state.document.__class__(state.document.zh, state.document.en, state.document.zh_roles,
                                                      state.document.en_roles, "yes",
                                                      "zhalign 0.5.0|model:test|reviewed:yes")
    assert resume_cursor(again) == 2


def test_sentences_of_a_multi_sentence_bead_are_recovered_from_an_aligner_tsv(tmp_path):
    state = make_state()  # bead 1 holds two English sentences, bead 2 two Chinese ones
    path = tmp_path / "aligned.tsv"
    write_output(state_frame(state), path)
    again = state_from_frame(read_tsv(path), str(path))
    assert again.document.zh == tuple(ZH) and again.document.en == tuple(EN)
    assert [b.status for b in again.beads] == ["auto"] * 6 and ids(again) == ids(state)
    # The documents' sentences, when given, must be those of the rows.
    documents = ([(t, "body") for t in ZH], [(t, "body") for t in EN])
    assert state_from_frame(read_tsv(path), str(path), *documents).document.en_roles == ("body",) * 7
    with pytest.raises(InputError, match=r"aligned.tsv: row 3: the en text is not that of sentences \[1, 2\]"):
        state_from_frame(read_tsv(path), str(path), documents[0],
                         [(t.upper() if j == 2 else t, "body") for j, t in enumerate(EN)])


def test_a_bead_whose_sentences_cannot_be_told_apart_is_a_clear_error(tmp_path):
    frame = state_frame(make_state())
    frame.loc[1, "en"] = "Then the second one and a third without a stop"
    path = tmp_path / "aligned.tsv"
    write_output(frame, path)
    with pytest.raises(InputError, match="row 3: cannot tell the 2 en sentences of this bead apart"):
        state_from_frame(read_tsv(path), str(path))


def state_frame(state):
    from align.reviewing import reviewed_frame

    return reviewed_frame(state).drop(columns="status")


def test_the_journal_keeps_beads_statuses_cursor_and_sources(tmp_path):
    review = Review(make_state())
    review.apply(review.state.merge(2))
    review.apply(review.state.confirm(0))
    review.cursor = 3
    sources = ReviewSources(tsv=None, zh="/a/zh.md", en="/a/en.txt", settings={"model": "e5+use", "max_bead": 6})
    path = tmp_path / "out.review.json"
    Journal(path, sources).write(review)
    again, recorded = Journal.read(path)
    assert again.state == review.state and again.cursor == 3 and again.edits == 2
    assert recorded == sources
    assert json.loads(path.read_text())["format"] == "zhalign-review"
    path.write_text('{"format": "zhalign-review", "version": 1, "beads": []}')
    with pytest.raises(InputError, match="out.review.json: not a review journal zhalign can resume"):
        Journal.read(path)
