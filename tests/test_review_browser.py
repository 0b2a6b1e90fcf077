"""zhalign review as a person uses it: Debian's Chromium presses the keys on the page.

The server runs in this process, in a thread, on a slice of the sample's gold
lines (read one sentence a line) aligned with the session's encoder.
"""
import urllib.error
import urllib.request

import pytest

from align.cli import build_parser
from align.evaluating import bead_lines, read_alignment
from align.review_server import ReviewServer, open_session
from align.writing import read_tsv
from browser import chromium, have_chromium
from conftest import DATA

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not have_chromium(), reason="needs /usr/bin/chromium and chromedriver")]
GOLD_BEADS = 30


@pytest.fixture(scope="module")
def slice_pair(tmp_path_factory):
    """The first GOLD_BEADS gold beads' lines of the sample, as two one-sentence-a-line files."""
    folder = tmp_path_factory.mktemp("pair")
    gold = read_alignment(DATA / "gold" / "core-technology.gold")[:GOLD_BEADS]
    zh, en = bead_lines(gold, *(
        (DATA / "gold" / f"core-technology.{side}").read_text(encoding="utf-8").splitlines() for side in ("zh", "en")))
    (folder / "zh.txt").write_text("\n".join(zh) + "\n", encoding="utf-8")
    (folder / "en.txt").write_text("\n".join(en) + "\n", encoding="utf-8")
    return folder / "zh.txt", folder / "en.txt"


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    browser = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


def start(slice_pair, output, encoder):
    args = build_parser().parse_args(["review", str(slice_pair[0]), str(slice_pair[1]), "--input-format", "lines",
                                      "-o", str(output), "--no-browser", "--no-progress", "-q"])
    return ReviewServer(open_session(args, encoder=encoder)).start()


def load(driver, url):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 20).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "yes")


def press(driver, keys: str, wait_for: tuple[str, int] | None = None):
    """Type keys on the page; wait until body's data-<name> reaches the count (edits, saved)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    ActionChains(driver).send_keys(keys).perform()
    if wait_for:
        name, count = wait_for
        WebDriverWait(driver, 20).until(
            lambda d: int(d.find_element("tag name", "body").get_attribute(f"data-{name}") or 0) >= count)


def page_rows(driver) -> list[tuple[int, int, str]]:
    """Each row's (Chinese sentences, English sentences, status) as the page shows them."""
    return [tuple(row) for row in driver.execute_script(
        "return [...document.querySelectorAll('.bead')].map(r => [r.querySelectorAll('.zh .s').length, "
        "r.querySelectorAll('.en .s').length, r.dataset.status])")]


def shapes(state) -> list[tuple[int, int, str]]:
    return [(len(b.zh), len(b.en), b.status) for b in state.beads]


def test_keys_merge_split_move_confirm_and_save(slice_pair, driver, encoder, tmp_path):
    server = start(slice_pair, tmp_path / "out.tsv", encoder)
    try:
        state = server.session.review.state
        k = next(i for i in range(1, len(state.beads) - 2)
                 if state.beads[i].type == state.beads[i + 1].type == "1-1")
        load(driver, server.url)
        press(driver, "j" * k + "m", ("edits", 1))                  # merge bead k with the next
        expected = state.merge(k)
        press(driver, "x", ("edits", 2))                            # split into first pair | the rest
        expected = expected.split(k, "pair")
        press(driver, "j[", ("edits", 3))                           # bead k+1's Chinese sentence up to bead k
        expected = expected.move(k + 1, "zh", "first")
        press(driver, "kc", ("edits", 4))                           # confirm bead k
        expected = expected.confirm(k)
        assert page_rows(driver) == shapes(expected)
        assert shapes(expected)[k:k + 2] == [(2, 1, "confirmed"), (0, 1, "edited")]
        press(driver, "s", ("saved", 1))
        saved = read_tsv(tmp_path / "out.tsv")
        assert [(tuple(z), tuple(e)) for z, e in zip(saved["zh_ids"], saved["en_ids"])] == \
            [(b.zh, b.en) for b in expected.beads]
        assert list(saved["status"]) == [b.status for b in expected.beads]
        assert read_alignment(tmp_path / "out.index") == [(b.zh, b.en) for b in expected.beads]
        timings = driver.execute_script("return window.reviewTimings")
        assert len(timings) == 4
    finally:
        server.stop()


def test_a_reloaded_page_and_a_new_run_find_the_edits(slice_pair, driver, encoder, tmp_path):
    server = start(slice_pair, tmp_path / "out.tsv", encoder)
    try:
        load(driver, server.url)
        press(driver, "jjm", ("edits", 1))
        press(driver, "c", ("edits", 2))
        press(driver, "jjz", ("edits", 3))   # the Chinese sentence of bead 5 alone
        edited = server.session.review.state
        assert shapes(edited)[2][2] == "confirmed" and shapes(edited)[5:7] == [(1, 0, "edited"), (0, 1, "edited")]
        load(driver, server.url)             # the tab reloaded: nothing lost
        assert page_rows(driver) == shapes(edited)
        assert driver.execute_script("return [...document.querySelectorAll('.bead')]"
                                     ".findIndex(r => r.classList.contains('cursor'))") == 5
    finally:
        server.stop()
    assert not (tmp_path / "out.tsv").exists()  # never saved
    again = start(slice_pair, tmp_path / "out.tsv", encoder)  # the command run again
    try:
        assert again.session.review.state == edited and again.session.review.cursor == 5
        load(driver, again.url)
        assert page_rows(driver) == shapes(edited)
    finally:
        again.stop()


def test_the_page_needs_the_token_and_the_server_listens_on_127_0_0_1(slice_pair, driver, encoder, tmp_path):
    server = start(slice_pair, tmp_path / "out.tsv", encoder)
    try:
        host, port = server.address
        assert host == "127.0.0.1"
        driver.get(f"http://127.0.0.1:{port}/")
        assert "403" in driver.page_source and not driver.find_elements("css selector", ".bead")
        for path in ("/api/state", f"/api/state?token={server.token[:-1]}", "/static/app.js"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
            assert refused.value.code == 403
    finally:
        server.stop()


def test_realign_keeps_the_confirmed_beads_and_aligns_the_rest_again(slice_pair, driver, encoder, tmp_path):
    server = start(slice_pair, tmp_path / "out.tsv", encoder)
    try:
        aligned = server.session.review.state
        load(driver, server.url)
        press(driver, "jjm", ("edits", 1))   # a merge the aligner would not make, confirmed
        press(driver, "c", ("edits", 2))
        press(driver, "jjjz", ("edits", 3))  # bead 6 unpaired (c moved the cursor to 3): re-align replaces it
        press(driver, "A", ("edits", 4))
        state = server.session.review.state
        merged = (aligned.beads[2].zh + aligned.beads[3].zh, aligned.beads[2].en + aligned.beads[3].en)
        assert [(b.zh, b.en) for b in state.beads if b.confirmed] == [merged]
        assert [b.status for b in state.beads] == ["confirmed" if (b.zh, b.en) == merged else "auto"
                                                   for b in state.beads]
        assert all(b.score is not None for b in state.beads)
        # Around the anchor, the aligner's own beads again (it had aligned this slice with no doubt).
        assert [(b.zh, b.en) for b in state.beads[:2] + state.beads[3:]] == \
            [(b.zh, b.en) for b in aligned.beads[:2] + aligned.beads[4:]]
        assert page_rows(driver) == shapes(state)
        press(driver, "u", ("edits", 5))     # and undone like any edit
        assert shapes(server.session.review.state)[6:8] == [(1, 0, "edited"), (0, 1, "edited")]
    finally:
        server.stop()
