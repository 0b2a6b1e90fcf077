"""How fast `zhalign review`'s page is on a long alignment, measured in the browser.

Builds a 2,000-bead alignment from the sample's gold beads repeated (their
sentences, ids shifted; scores made up, a few low), writes it as the TSV
`zhalign align` writes, serves it as `zhalign review` does and drives
Debian's Chromium with Selenium. Load: navigation timing (response end,
DOM content loaded) and the time from navigation start until every row is on
the page and the keys work (app.js sets window.reviewReadyMs). Edits:
performance.now() from the keydown to the changed rows painted (the next
animation frame after the server's answer is spliced in), for merges, splits,
moves, confirms and undos spread over the document. No model is needed.

    python scripts/bench_review.py                       # 2,000 beads
    python scripts/bench_review.py --beads 5000 --edits 60
    python scripts/bench_review.py --screenshot docs/review.png --tsv sample.tsv   # the README's picture
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser import chromium  # noqa: E402

from align.cli import build_parser  # noqa: E402
from align.evaluating import read_alignment  # noqa: E402
from align.review_server import ReviewServer, open_session  # noqa: E402
from align.reviewing import ReviewBead, ReviewDocument, ReviewState, reviewed_frame  # noqa: E402
from align.writing import write_output  # noqa: E402

GOLD = ROOT / "data" / "gold" / "core-technology"
# Keys of the edits timed, in turn, each at a bead further down the document.
EDIT_KEYS = ["m", "x", "c", "[", "u", "z", "}", "C", "e", "U"]


def long_alignment(beads: int) -> ReviewState:
    """The gold beads of the sample repeated until there are `beads` of them."""
    gold = read_alignment(f"{GOLD}.gold")
    zh_lines = Path(f"{GOLD}.zh").read_text(encoding="utf-8").splitlines()
    en_lines = Path(f"{GOLD}.en").read_text(encoding="utf-8").splitlines()
    zh, en, made = [], [], []
    while len(made) < beads:
        for zh_ids, en_ids in gold[:beads - len(made)]:
            zh_new = tuple(range(len(zh), len(zh) + len(zh_ids)))
            en_new = tuple(range(len(en), len(en) + len(en_ids)))
            zh += [zh_lines[i] for i in zh_ids]
            en += [en_lines[j] for j in en_ids]
            score = 0.0 if not (zh_ids and en_ids) else (0.3 if len(made) % 37 == 5 else 0.97)
            made.append(ReviewBead(zh_new, en_new, score))
    document = ReviewDocument(tuple(zh), tuple(en), ("body",) * len(zh), ("body",) * len(en), "yes", "bench")
    return ReviewState(document, tuple(made))


def serve(tsv: Path, output: Path) -> ReviewServer:
    args = build_parser().parse_args(["review", str(tsv), "-o", str(output), "--no-browser", "-q"])
    return ReviewServer(open_session(args)).start()


def wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.01).until(condition)


def body(driver, name: str) -> int:
    return int(driver.find_element("tag name", "body").get_attribute(f"data-{name}") or 0)


def measure(beads: int, edits: int, folder: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    tsv = folder / "long.tsv"
    write_output(reviewed_frame(long_alignment(beads)).drop(columns="status"), tsv)
    server = serve(tsv, folder / "long.reviewed.tsv")
    driver = chromium(folder / "profile")
    try:
        loads = []
        for _ in range(3):
            driver.get(server.url)
            wait(driver, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "yes")
            loads.append(driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [n.responseEnd, n.domContentLoadedEventEnd, window.reviewReadyMs,"
                " document.querySelectorAll('.bead').length]"))
        step = max(1, beads // (edits + 1))
        done = refused = 0
        for number in range(edits):
            ActionChains(driver).send_keys("j" * (step if number else 1)).perform()
            ActionChains(driver).send_keys(EDIT_KEYS[number % len(EDIT_KEYS)]).perform()
            wait(driver, lambda d: body(d, "edits") + body(d, "refused") > done + refused)
            done, refused = body(driver, "edits"), body(driver, "refused")
        timings = driver.execute_script("return window.reviewTimings")
        if "--verbose" in sys.argv:
            print(driver.execute_script("return window.reviewLog"))
    finally:
        driver.quit()
        server.stop()
    print(f"{beads:,} beads, {len(server.session.review.state.document.zh):,} zh and "
          f"{len(server.session.review.state.document.en):,} en sentences; Chromium {driver.capabilities['browserVersion']}")
    for response, content, ready, rows in loads:
        print(f"load: response {response:.0f} ms, DOM content loaded {content:.0f} ms, "
              f"{rows:,} rows on the page and usable at {ready:.0f} ms")
    print(f"edits: {len(timings)} shown ({refused} refused), key to paint median {statistics.median(timings):.1f} ms, "
          f"max {max(timings):.1f} ms, mean {statistics.mean(timings):.1f} ms")


def screenshot(tsv: Path, path: Path, folder: Path) -> None:
    """The page on an aligned TSV, with a few edits made and the cursor down the page."""
    from selenium.webdriver.common.action_chains import ActionChains

    server = serve(tsv, folder / "shot.reviewed.tsv")
    driver = chromium(folder / "profile", size=(1500, 820))
    try:
        driver.get(server.url)
        wait(driver, lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "yes")
        for keys, count in (("jjjC", 1), ("jjjjm", 2)):
            ActionChains(driver).send_keys(keys).perform()
            wait(driver, lambda d: body(d, "edits") >= count)
        ActionChains(driver).send_keys("jj").perform()
        time.sleep(0.5)
        driver.save_screenshot(str(path))
    finally:
        driver.quit()
        server.stop()
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beads", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--screenshot", type=Path, help="instead: a PNG of the page on --tsv")
    parser.add_argument("--tsv", type=Path, help="an aligned TSV for --screenshot")
    parser.add_argument("--verbose", action="store_true", help="also each edit: operation, rows sent, ms")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.screenshot:
            if not args.tsv:
                parser.error("--screenshot needs --tsv")
            screenshot(args.tsv, args.screenshot, Path(folder))
        else:
            measure(args.beads, args.edits, Path(folder))


if __name__ == "__main__":
    main()
