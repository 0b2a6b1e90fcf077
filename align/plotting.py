"""Plotting: look at an alignment before trusting it.

Figure builders over a `PairResult` (from `align.pipeline.align_pair`), used by
`notebooks/inspect_alignment.ipynb` and by `zhalign plot`:

- `review_table`: the bead table, lowest scores first;
- `unaligned_sentences`: the sentences left out (1-0 and 0-1 beads), with their
  most similar sentence on the other side;
- `heatmap_figure`: the sentence similarity matrix with the chosen path and the
  search band drawn over it, whole or zoomed to a window of Chinese sentences;
- `score_histogram_figure`, `type_counts_figure`, and `overview_figure` (all
  three in one picture, what `zhalign plot` writes).

Every builder returns a matplotlib Figure and never calls pyplot's show, so it
works the same under the Agg backend (CLI, tests) and inline in a notebook.

Chinese labels need a CJK font (Debian: fonts-noto-cjk or fonts-wqy-microhei).
`cjk_font()` finds one through matplotlib's font manager; without one, Chinese
sentences are labelled by number only, so plotting never fails for want of it.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from align.errors import UsageError
from align.writing import atomic_path

if TYPE_CHECKING:  # matplotlib is imported lazily: `import align` must stay light.
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from align.pipeline import PairResult

# CJK fonts, best first: Debian's fonts-noto-cjk, then fonts-wqy-microhei / -zenhei.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Sans CJK KR",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "Droid Sans Fallback", "AR PL UMing CN",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC", "Arial Unicode MS",
)
# File names of those fonts, to register them when matplotlib's font cache predates their install.
_CJK_FILE_HINTS = ("notosanscjk", "notoserifcjk", "wqy-microhei", "wqy-zenhei", "sourcehansans", "droidsansfallback")

LABEL_TEXT_MAX = 40        # a window this many sentences or fewer on an axis labels each sentence with its text
PATH_COLOR = "#d62728"     # paired beads
SKIP_COLOR = "#17becf"     # 1-0 and 0-1 beads
BAND_COLOR = "white"


# --- fonts -------------------------------------------------------------------

@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed CJK font matplotlib can use, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        names = {entry.name for entry in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in names), None)

    family = known()
    if family is None:  # installed after matplotlib cached its font list: register the files
        for path in font_manager.findSystemFonts():
            if any(hint in Path(path).name.lower() for hint in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        family = known()
    return family


def _text_font() -> list[str]:
    """Font family list for labels that may hold Chinese (CJK font first, if any)."""
    family = cjk_font()
    return [family, "DejaVu Sans"] if family else ["DejaVu Sans"]


# --- tables ------------------------------------------------------------------

def review_table(result: PairResult, unaligned: bool = False) -> pd.DataFrame:
    """The bead table sorted for review: lowest score first, ties in document order.

    `bead` is the bead's number in document order. Unaligned beads (1-0, 0-1)
    score 0 by definition and are left out unless `unaligned=True`; see
    `unaligned_sentences` for them.
    """
    frame = result.frame.reset_index(drop=True)
    frame.insert(0, "bead", frame.index)
    if not unaligned:
        frame = frame[(frame["zh"] != "") & (frame["en"] != "")]
    return frame.sort_values(["score", "bead"], kind="stable").reset_index(drop=True)


def bead_type_counts(result: PairResult) -> pd.DataFrame:
    """How many beads of each type (1-1, 1-2, ..., 1-0, 0-1), with their sentences and mean score."""
    frame = result.frame
    rows = []
    for kind, group in frame.groupby("type", sort=False):
        zh_size, en_size = (int(part) for part in kind.split("-"))
        rows.append({
            "type": kind,
            "beads": len(group),
            "zh_sentences": zh_size * len(group),
            "en_sentences": en_size * len(group),
            "mean_score": round(float(group["score"].mean()), 4),
        })
    table = pd.DataFrame(rows, columns=["type", "beads", "zh_sentences", "en_sentences", "mean_score"])
    return table.sort_values(["beads", "type"], ascending=[False, True], kind="stable").reset_index(drop=True)


def unaligned_sentences(result: PairResult, side: str) -> pd.DataFrame:
    """The sentences of one side ("zh" or "en") that no sentence of the other side is aligned with.

    Columns: id (0-based sentence number), paragraph, role, text, and the most
    similar sentence of the other side (best_id, best_text, similarity) — a high
    similarity there suggests the aligner missed a pair rather than a sentence
    being untranslated.
    """
    if side not in ("zh", "en"):
        raise UsageError(f"side must be 'zh' or 'en', not {side!r}")
    other = "en" if side == "zh" else "zh"
    sentences, others = (result.zh, result.en) if side == "zh" else (result.en, result.zh)
    similarity = result.similarity() if side == "zh" else result.similarity().T
    alone = result.frame[result.frame[other + "_ids"].map(len) == 0]
    ids = [k for bead in alone[side + "_ids"] for k in bead]
    rows = []
    for k in ids:
        best = int(np.argmax(similarity[k])) if len(others) else -1
        rows.append({
            "id": k,
            "paragraph": sentences[k].paragraph,
            "role": sentences[k].role,
            "text": sentences[k].text,
            "best_id": best,
            "best_text": others[best].text if best >= 0 else "",
            "similarity": round(float(similarity[k, best]), 4) if best >= 0 else float("nan"),
        })
    return pd.DataFrame(rows, columns=["id", "paragraph", "role", "text", "best_id", "best_text", "similarity"])


# --- windows -----------------------------------------------------------------

def parse_window(text: str) -> tuple[int, int]:
    """"START:END" (0-based Chinese sentence numbers, END excluded) -> (START, END).
    Either side may be left out: ":50", "100:"; END is then clipped to the document."""
    if ":" not in text:
        raise UsageError(f"window must look like START:END, e.g. 0:60, not {text!r}")
    start_text, end_text = text.split(":", 1)
    try:
        start = int(start_text) if start_text.strip() else 0
        end = int(end_text) if end_text.strip() else 10**9
    except ValueError:
        raise UsageError(f"window must look like START:END, e.g. 0:60, not {text!r}") from None
    if start < 0 or end <= start:
        raise UsageError(f"window {text!r} is empty or negative")
    return start, end


def window_columns(result: PairResult, rows: tuple[int, int], margin: int = 3) -> tuple[int, int]:
    """The English sentences to show next to Chinese sentences rows[0]:rows[1]:
    those the path reaches in those rows, widened by `margin`."""
    start, end = rows
    m = len(result.en)
    js = [j for i, j in result.path() if start <= i <= end]
    if not js:
        return 0, m
    return max(0, min(js) - margin), min(m, max(js) + margin)


def window_around(result: PairResult, bead: int, radius: int = 12) -> tuple[int, int]:
    """A window of Chinese sentences centred on bead number `bead` (row of result.frame),
    `radius` sentences either side; for a 0-1 bead, centred where it sits between zh sentences."""
    frame = result.frame
    if not 0 <= bead < len(frame):
        raise UsageError(f"no bead {bead} (the table has {len(frame)})")
    before = sum(len(ids) for ids in frame["zh_ids"].iloc[:bead])
    centre = before + len(frame["zh_ids"].iloc[bead]) // 2
    start = max(0, centre - radius)
    return start, min(len(result.zh), max(start + 1, centre + radius + 1))


def _clip_window(result: PairResult, window: tuple[int, int] | None) -> tuple[tuple[int, int], tuple[int, int]]:
    n = len(result.zh)
    if window is None:
        return (0, n), (0, len(result.en))
    start, end = int(window[0]), min(int(window[1]), n)
    if not 0 <= start < end:
        raise UsageError(f"window {window[0]}:{window[1]} holds no Chinese sentence (the document has {n})")
    return (start, end), window_columns(result, (start, end))


# --- figures -----------------------------------------------------------------

def _new_figure(size: tuple[float, float], dpi: float = 100) -> Figure:
    # Figure() directly, not pyplot: no global figure registry, no display needed.
    # Under IPython's inline backend a Figure returned from a cell is still shown.
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi, layout="constrained")


# Characters a Latin font lacks: CJK punctuation, kana, Han, Hangul, full-width forms.
_CJK_CHARS = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


def _short(text: str, limit: int) -> str:
    """A label: whitespace collapsed, cut to `limit` characters; without a CJK
    font, CJK characters (an English sentence may hold a 丨 or a full-width
    quote) become □ rather than a missing glyph."""
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text if cjk_font() else _CJK_CHARS.sub("□", text)


def _sentence_ticks(ax: Axes, axis: str, lo: int, hi: int, texts: list[str] | None, limit: int,
                    each: bool = False) -> None:
    """Ticks at sentence centres: every sentence with its text when `texts` is given,
    every sentence by number when `each`, else round numbers."""
    from matplotlib.ticker import MaxNLocator

    if texts is not None:
        ticks = np.arange(lo, hi) + 0.5
        labels = [f"{k} {_short(texts[k], limit)}" for k in range(lo, hi)]
    elif each:
        ticks = np.arange(lo, hi) + 0.5
        labels = [str(k) for k in range(lo, hi)]
    else:
        numbers = [int(v) for v in MaxNLocator(nbins=10, integer=True).tick_values(lo, hi - 1) if lo <= v < hi]
        ticks = np.array(numbers) + 0.5
        labels = [str(k) for k in numbers]
    if axis == "y":
        ax.set_yticks(ticks, labels, fontfamily=_text_font(), fontsize=8 if texts else None)
    else:
        ax.set_xticks(ticks, labels, fontfamily=_text_font(), fontsize=8 if texts else None,
                      rotation=90 if texts else 0)


def display_similarity(result: PairResult, centred: bool = True) -> np.ndarray:
    """The similarity matrix as the heatmap shows it.

    Raw e5 cosines crowd into a narrow range (about 0.65-0.92) and some
    sentences (photo credits, short headings) are close to everything, which
    paints whole rows and columns. centred=True removes each row's and each
    column's mean and adds back the overall mean (so every row and column
    averages 0): for dot products that is exactly subtracting each document's
    mean vector, the centring the aligner applies before scoring (it then
    renormalises), so the picture shows what the aligner sees.
    """
    similarity = np.asarray(result.similarity(), dtype=float)
    if not centred or similarity.size == 0:
        return similarity
    return (similarity - similarity.mean(axis=1, keepdims=True) - similarity.mean(axis=0, keepdims=True)
            + similarity.mean())


def draw_heatmap(
    ax: Axes, result: PairResult, window: tuple[int, int] | None = None, labels: str = "auto",
    band: bool = True, colorbar: bool = True, centred: bool = True,
) -> None:
    """Draw the similarity heatmap, the search band and the chosen path on `ax`.

    Rows are Chinese sentences, columns English ones; the cell of zh sentence i
    and en sentence j spans [j, j+1] x [i, i+1], so the path runs along cell
    corners: a bead of a zh and b en sentences is a diagonal across its a x b
    block, a 1-0 bead a vertical step, a 0-1 bead a horizontal one.

    window: (start, end) Chinese sentences to show (END excluded); the English
    columns follow the path. labels: "text" (number and sentence), "number", or
    "auto" (text when both axes hold at most LABEL_TEXT_MAX sentences).
    Chinese text is shown only when a CJK font is installed. centred: see
    `display_similarity`; False shows the raw cosines of `result.similarity()`.
    """
    if labels not in ("auto", "text", "number"):
        raise UsageError(f"labels must be auto, text or number, not {labels!r}")
    (r0, r1), (c0, c1) = _clip_window(result, window)
    similarity = display_similarity(result, centred)
    shown = similarity[r0:r1, c0:c1]
    # Stretch the colours over the middle of the whole matrix (the same scale for every window).
    vmin, vmax = np.percentile(similarity, [1, 99.5]) if similarity.size else (0, 1)
    image = ax.imshow(shown, cmap="viridis", vmin=vmin, vmax=vmax, extent=(c0, c1, r1, r0),
                      aspect="auto", interpolation="nearest")
    if colorbar:
        label = "cosine, row and column means removed" if centred else "cosine similarity"
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.8, pad=0.01)

    if band:
        lo, hi = result.alignment.band
        rows = np.arange(len(lo))
        keep = (rows >= r0) & (rows <= r1)
        for edge in (lo, np.minimum(hi - 1, len(result.en))):
            ax.plot(np.clip(edge[keep], c0, c1), rows[keep], drawstyle="steps-mid", color=BAND_COLOR,
                    linewidth=0.8, linestyle="--", alpha=0.7)
        ax.plot([], [], color=BAND_COLOR, linestyle="--", label="search band")

    path = result.path()
    paired_drawn = skipped_drawn = False
    for (i0, j0), (i1, j1) in zip(path, path[1:]):
        if i1 < r0 or i0 > r1 or j1 < c0 or j0 > c1:
            continue
        skipped = i0 == i1 or j0 == j1
        ax.plot([j0, j1], [i0, i1], color=SKIP_COLOR if skipped else PATH_COLOR,
                linewidth=3 if skipped else 1.6, solid_capstyle="round", zorder=4 if skipped else 3,
                marker="o" if skipped else None, markersize=3.5, clip_on=not skipped,
                label=(None if (skipped_drawn if skipped else paired_drawn)
                       else ("unaligned (1-0 / 0-1)" if skipped else "alignment path")))
        if skipped:
            skipped_drawn = True
        else:
            paired_drawn = True
    ax.set_xlim(c0, c1)
    ax.set_ylim(r1, r0)

    text_ok = labels == "text" or (labels == "auto" and r1 - r0 <= LABEL_TEXT_MAX and c1 - c0 <= LABEL_TEXT_MAX)
    zh_texts = [s.text for s in result.zh] if text_ok and cjk_font() else None
    en_texts = [s.text for s in result.en] if text_ok else None
    _sentence_ticks(ax, "y", r0, r1, zh_texts, 18, each=text_ok)  # no CJK font: numbers only
    _sentence_ticks(ax, "x", c0, c1, en_texts, 36, each=text_ok)
    ax.set_ylabel("Chinese sentence")
    ax.set_xlabel("English sentence")
    whole = (r0, r1) == (0, len(result.zh)) and (c0, c1) == (0, len(result.en))
    where = "" if whole else f"; showing zh {r0}:{r1}, en {c0}:{c1}"
    ax.set_title(f"Sentence similarity and alignment path\n{len(result.zh)} zh x {len(result.en)} en sentences{where}")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85)


def draw_score_histogram(ax: Axes, result: PairResult, bins: int = 30) -> None:
    """Histogram of the scores of paired beads, 1-1 and larger beads stacked."""
    frame = result.frame
    paired = frame[(frame["zh"] != "") & (frame["en"] != "")]
    one_one = paired.loc[paired["type"] == "1-1", "score"].to_numpy(float)
    larger = paired.loc[paired["type"] != "1-1", "score"].to_numpy(float)
    scores = paired["score"].to_numpy(float)
    low, high = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    edges = np.linspace(min(low, 0.0), max(high, 1.0), bins + 1)
    ax.hist([one_one, larger], bins=edges, stacked=True, color=["#1f77b4", "#ff7f0e"],
            label=[f"1-1 ({len(one_one)})", f"larger beads ({len(larger)})"])
    if len(scores):
        median = float(np.median(scores))
        ax.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median {median:.2f}")
    unaligned = len(frame) - len(paired)
    ax.set_title(f"Scores of {len(paired)} paired beads")
    ax.set_xlabel(f"bead score ({unaligned} unaligned not counted)")
    ax.set_ylabel("beads")
    ax.legend(fontsize=8)


def draw_type_counts(ax: Axes, result: PairResult) -> None:
    """Bar chart of bead types, most frequent first."""
    counts = Counter(result.frame["type"])
    kinds = sorted(counts, key=lambda kind: (-counts[kind], kind))
    colors = [SKIP_COLOR if kind in ("1-0", "0-1") else "#1f77b4" if kind == "1-1" else "#ff7f0e" for kind in kinds]
    bars = ax.bar(kinds, [counts[kind] for kind in kinds], color=colors)
    ax.bar_label(bars, fontsize=8)
    ax.set_title(f"Bead types ({len(result.frame)} beads)")
    ax.set_xlabel("type (zh-en)")
    ax.set_ylabel("beads")
    ax.margins(y=0.15)


def heatmap_figure(
    result: PairResult, window: tuple[int, int] | None = None, labels: str = "auto",
    size: tuple[float, float] | None = None, band: bool = True, centred: bool = True,
) -> Figure:
    """The similarity heatmap with the path, whole or zoomed (see `draw_heatmap`)."""
    (r0, r1), (c0, c1) = _clip_window(result, window)
    if size is None:
        size = (14, 12) if max(r1 - r0, c1 - c0) <= LABEL_TEXT_MAX else (11, 10)
    figure = _new_figure(size)
    draw_heatmap(figure.add_subplot(), result, window, labels, band, centred=centred)
    return figure


def score_histogram_figure(result: PairResult, bins: int = 30, size: tuple[float, float] = (8, 4.5)) -> Figure:
    figure = _new_figure(size)
    draw_score_histogram(figure.add_subplot(), result, bins)
    return figure


def type_counts_figure(result: PairResult, size: tuple[float, float] = (6, 4)) -> Figure:
    figure = _new_figure(size)
    draw_type_counts(figure.add_subplot(), result)
    return figure


def overview_figure(
    result: PairResult, window: tuple[int, int] | None = None, size_px: tuple[int, int] = (1800, 1100),
    dpi: int = 100, labels: str = "auto", centred: bool = True,
) -> Figure:
    """What `zhalign plot` writes: the heatmap with the path (left), the score
    histogram and the bead-type counts (right), size_px pixels at `dpi`."""
    width, height = size_px
    if width < 400 or height < 300:
        raise UsageError(f"plot size {width}x{height} is too small (at least 400x300 pixels)")
    figure = _new_figure((width / dpi, height / dpi), dpi)
    grid = figure.add_gridspec(2, 2, width_ratios=[2.1, 1], height_ratios=[1, 1])
    draw_heatmap(figure.add_subplot(grid[:, 0]), result, window, labels, centred=centred)
    draw_score_histogram(figure.add_subplot(grid[0, 1]), result)
    draw_type_counts(figure.add_subplot(grid[1, 1]), result)
    source = f"{Path(result.zh_document.source).name} + {Path(result.en_document.source).name}, model {result.model}"
    figure.suptitle(_short(source, 200), fontsize=10, fontfamily=_text_font())
    return figure


def save_png(figure: Figure, path: str | Path) -> None:
    """Write the figure as PNG at its own size and dpi (no tight cropping, so the
    pixel size is exactly figsize x dpi), whole or not at all, with the usual file mode."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=figure.dpi)


__all__ = [
    "cjk_font", "review_table", "display_similarity", "bead_type_counts", "unaligned_sentences", "parse_window",
    "window_columns", "window_around",
    "draw_heatmap", "draw_score_histogram", "draw_type_counts", "heatmap_figure", "score_histogram_figure",
    "type_counts_figure", "overview_figure", "save_png",
]
