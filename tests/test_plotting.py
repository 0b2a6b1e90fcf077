"""align.plotting and `zhalign plot`: tables for review, figures, CJK font fallback, the PNG."""
import dataclasses
import os
import re
import stat
import subprocess
import sys
import warnings
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from align import plotting
from align.aligning import Bead
from align.cli import main
from align.evaluating import read_alignment
from align.writing import beads_to_frame
from conftest import DATA, EN_SAMPLE, ZH_SAMPLE

HAN = re.compile(r"[\u4e00-\u9fff]")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(BytesIO(data)) as image:
        return image.size


def render(figure) -> bytes:
    """PNG bytes, failing on any warning (a glyph missing from the font warns)."""
    stream = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure.savefig(stream, format="png", dpi=figure.dpi)
    return stream.getvalue()


def paired(frame):
    return frame[(frame["zh"] != "") & (frame["en"] != "")]


# --- tables ----------------------------------------------------------------

def test_review_table_lists_paired_beads_lowest_score_first(sample_result):
    frame = sample_result.frame
    review = plotting.review_table(sample_result)
    assert len(review) == len(paired(frame))
    assert list(review["score"]) == sorted(review["score"])
    assert review.iloc[0]["score"] == paired(frame)["score"].min()
    # `bead` points back at the row of the aligned output.
    for _, row in review.iterrows():
        assert frame.iloc[row["bead"]]["zh_ids"] == row["zh_ids"]
    everything = plotting.review_table(sample_result, unaligned=True)
    assert len(everything) == len(frame) and set(everything["bead"]) == set(range(len(frame)))


def test_bead_type_counts_add_up(sample_result):
    counts = plotting.bead_type_counts(sample_result)
    assert counts["beads"].sum() == len(sample_result.frame)
    assert counts["zh_sentences"].sum() == len(sample_result.zh)
    assert counts["en_sentences"].sum() == len(sample_result.en)
    assert counts.iloc[0]["type"] == "1-1"
    assert list(counts["beads"]) == sorted(counts["beads"], reverse=True)


def test_unaligned_sentences_are_those_of_one_sided_beads(sample_result):
    # The sample's hand alignment with one of its 1-1 beads undone: 必须靠创新。 (zh 7)
    # and "Must rely on innovation." (en 11) left unaligned.
    gold = read_alignment(DATA / "gold" / "core-technology.gold")
    assert ((7,), (11,)) in gold
    beads = []
    for zh_ids, en_ids in gold:
        undone = [([7], []), ([], [11])] if (zh_ids, en_ids) == ((7,), (11,)) else [(list(zh_ids), list(en_ids))]
        beads += [Bead(zh, en, 1.0) for zh, en in undone]
    result = dataclasses.replace(sample_result, frame=beads_to_frame(beads, sample_result.zh, sample_result.en))

    zh_table = plotting.unaligned_sentences(result, "zh")
    assert list(zh_table["id"]) == [7]
    assert zh_table.iloc[0]["text"] == "必须靠创新。"
    assert zh_table.iloc[0]["best_id"] == 11 and zh_table.iloc[0]["best_text"] == "Must rely on innovation."
    en_table = plotting.unaligned_sentences(result, "en")
    # The title, the dateline and the byline, the undone sentence, then the six closing credits.
    assert list(en_table["id"]) == [0, 1, 2, 11, 124, 125, 126, 127, 128, 129]
    missed = en_table.set_index("id").loc[11]
    assert missed["best_id"] == 7 and missed["text"] == sample_result.en[11].text
    assert missed["similarity"] == pytest.approx(float(sample_result.similarity()[7, 11]), abs=1e-4)
    # A missed pair stands out from sentences that have no translation.
    assert missed["similarity"] > en_table.set_index("id").drop(index=11)["similarity"].max()
    with pytest.raises(ValueError):
        plotting.unaligned_sentences(sample_result, "fr")


# --- windows -----------------------------------------------------------------

def test_parse_window():
    assert plotting.parse_window("10:40") == (10, 40)
    assert plotting.parse_window(":25") == (0, 25)
    assert plotting.parse_window("100:")[0] == 100
    for bad in ("40:10", "5", "a:b", "-3:4", "7:7"):
        with pytest.raises(ValueError):
            plotting.parse_window(bad)


def test_window_around_a_bead(sample_result):
    frame = sample_result.frame
    bead = int(frame.index[frame["zh_ids"].map(lambda ids: ids == [50])][0])
    assert plotting.window_around(sample_result, bead, radius=10) == (40, 61)
    assert plotting.window_around(sample_result, 0, radius=10)[0] == 0
    assert plotting.window_around(sample_result, len(frame) - 1, radius=10)[1] == len(sample_result.zh)


def test_centred_similarity_removes_row_and_column_means(sample_result):
    raw = plotting.display_similarity(sample_result, centred=False)
    assert np.array_equal(raw, sample_result.similarity())
    centred = plotting.display_similarity(sample_result)
    assert np.allclose(centred.mean(axis=1), 0) and np.allclose(centred.mean(axis=0), 0)
    # The same as the dot products of mean-centred vectors (the aligner's centring, before renormalising).
    zh = sample_result.zh_vectors - sample_result.zh_vectors.mean(axis=0)
    en = sample_result.en_vectors - sample_result.en_vectors.mean(axis=0)
    assert np.allclose(centred, zh @ en.T, atol=1e-5)


# --- figures -----------------------------------------------------------------

def test_heatmap_draws_the_path(sample_result):
    figure = plotting.heatmap_figure(sample_result)
    ax = figure.axes[0]
    segments = {
        tuple(map(tuple, np.column_stack([line.get_ydata(), line.get_xdata()]).astype(int)))
        for line in ax.get_lines() if line.get_color() in (plotting.PATH_COLOR, plotting.SKIP_COLOR)
    }
    path = sample_result.path()
    assert segments == {(a, b) for a, b in zip(path, path[1:])}
    image = ax.get_images()[0]
    assert image.get_array().shape == (len(sample_result.zh), len(sample_result.en))
    assert ax.get_ylim() == (len(sample_result.zh), 0)
    assert len(render(figure)) > 10_000


def test_zoomed_heatmap_labels_sentences(sample_result):
    figure = plotting.heatmap_figure(sample_result, window=(0, 30))
    ax = figure.axes[0]
    assert ax.get_ylim() == (30, 0)
    lo, hi = ax.get_xlim()
    assert ax.get_images()[0].get_array().shape == (30, hi - lo)
    x_labels = [label.get_text() for label in ax.get_xticklabels()]
    assert any(sample_result.en[int(lo)].text[:10] in label for label in x_labels)
    y_labels = [label.get_text() for label in ax.get_yticklabels()]
    assert len(y_labels) == 30
    if plotting.cjk_font():
        assert HAN.search(y_labels[1]) and y_labels[1].startswith("1 ")
    render(figure)  # no missing glyph


def test_without_cjk_font_chinese_is_labelled_by_number(sample_result, monkeypatch):
    monkeypatch.setattr(plotting, "cjk_font", lambda: None)
    figure = plotting.heatmap_figure(sample_result, window=(0, 30))
    y_labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert y_labels == [str(k) for k in range(30)]
    overview = plotting.overview_figure(sample_result, window=(0, 30), size_px=(1000, 700))
    texts = [text.get_text() for text in overview.findobj(lambda artist: hasattr(artist, "get_text"))]
    assert not any(HAN.search(text) for text in texts)
    render(overview)  # warnings are errors: no glyph is missing


@pytest.mark.skipif(not plotting.cjk_font(), reason="no CJK font installed (apt-get install fonts-noto-cjk)")
def test_chinese_labels_render_with_the_cjk_font(sample_result):
    figure = plotting.heatmap_figure(sample_result, window=(95, 111), labels="text")
    assert any(HAN.search(label.get_text()) for label in figure.axes[0].get_yticklabels())
    render(figure)


def test_score_histogram_counts_every_paired_bead(sample_result):
    figure = plotting.score_histogram_figure(sample_result)
    one_one, larger = figure.axes[0].containers[:2]  # stacked layers: 1-1 beads, larger beads
    frame = paired(sample_result.frame)
    assert sum(bar.get_height() for bar in one_one) == (frame["type"] == "1-1").sum()
    assert sum(bar.get_height() for bar in larger) == (frame["type"] != "1-1").sum()
    assert str(len(sample_result.frame) - len(frame)) in figure.axes[0].get_xlabel()  # unaligned, named


def test_overview_png_has_the_size_asked_for(sample_result, tmp_path):
    out = tmp_path / "overview.png"
    plotting.save_png(plotting.overview_figure(sample_result, size_px=(1200, 800)), out)
    assert png_size(out.read_bytes()) == (1200, 800)
    assert [p.name for p in tmp_path.iterdir()] == ["overview.png"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not the temporary file's private 0600
    with pytest.raises(ValueError):
        plotting.overview_figure(sample_result, window=(500, 600))


# --- command line ----------------------------------------------------------

@pytest.mark.slow
def test_cli_plot_writes_png_of_the_requested_size(sample_result, tmp_path):
    out = tmp_path / "plot.png"
    done = subprocess.run(
        [sys.executable, "-m", "align", "plot", str(ZH_SAMPLE), str(EN_SAMPLE), "-o", str(out),
         "--size", "1500x900", "--window", "0:60", "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    counts = f"{len(sample_result.zh)} zh and {len(sample_result.en)} en sentences"
    assert counts in done.stderr and f"wrote {out} (1500x900 pixels)" in done.stderr
    data = out.read_bytes()
    assert len(data) > 50_000
    assert png_size(data) == (1500, 900)


def test_cli_plot_rejects_bad_options(tmp_path, capsys):
    out = tmp_path / "plot.png"
    for options in (["--window", "9:3"], ["--size", "big"], ["--size", "100x100"], []):
        output = ["-o", str(out)] if options else []
        with pytest.raises(SystemExit) as stop:
            main(["plot", str(ZH_SAMPLE), str(EN_SAMPLE), *output, *options])
        assert stop.value.code == 2, options
        error = capsys.readouterr().err
        assert "usage:" in error
    assert "-o/--output" in error  # the last run gave no output file
    assert not out.exists()
