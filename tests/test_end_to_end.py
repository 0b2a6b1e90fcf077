"""The sample pair, aligned with the embedded default model, through the API and the CLI."""
import subprocess
import sys

import pandas as pd
import pytest

from conftest import EN_SAMPLE, ZH_SAMPLE

MARS_ZH = "2021年5月15日，我国首次火星探测任务着陆火星取得成功，习近平总书记发来贺电。"
MARS_EN = ("On May 15, 2021, my country's first Mars exploration mission successfully landed on Mars. "
           "General Secretary Xi Jinping sent a congratulatory message.")
CREDITS = ("Text reporter: Dong Ruifeng", "Poster design: Yin Zhelun")


def test_mars_landing_is_one_1_2_bead(sample_result):
    frame = sample_result.frame
    row = frame[frame["zh"] == MARS_ZH]
    assert len(row) == 1
    assert row.iloc[0]["en"] == MARS_EN
    assert row.iloc[0]["type"] == "1-2"


def test_english_credits_unaligned(sample_result):
    frame = sample_result.frame
    for credit in CREDITS:
        row = frame[frame["en"].str.contains(credit, regex=False)]
        assert len(row) == 1 and row.iloc[0]["zh"] == "" and row.iloc[0]["type"] == "0-1", row.to_dict("records")


def test_every_sentence_in_exactly_one_bead(sample_result):
    frame = sample_result.frame
    zh_ids = [i for ids in frame["zh_ids"] for i in ids]
    en_ids = [j for ids in frame["en_ids"] for j in ids]
    assert zh_ids == list(range(len(sample_result.zh)))
    assert en_ids == list(range(len(sample_result.en)))
    assert "".join(frame["zh"]) == "".join(s.text for s in sample_result.zh)


@pytest.mark.slow
def test_cli_writes_tsv_and_summary(tmp_path, sample_result):
    out = tmp_path / "out.tsv"
    done = subprocess.run(
        [sys.executable, "-m", "align", "align", str(ZH_SAMPLE), str(EN_SAMPLE), "-o", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    counts = f"{len(sample_result.zh)} zh and {len(sample_result.en)} en sentences"
    assert counts in done.stderr and "1-1" in done.stderr
    frame = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert MARS_EN in frame["en"].tolist()


@pytest.mark.slow
def test_cli_index_format_to_stdout():
    done = subprocess.run(
        [sys.executable, "-m", "align", "align", str(ZH_SAMPLE), str(EN_SAMPLE), "--format", "index", "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "[1]:[4, 5]" in lines
    assert all(":" in line and line.startswith("[") for line in lines)


@pytest.mark.slow  # the model in a subprocess
def test_cli_jsonl_format_streams_beads_with_lists_roles_and_signature(tmp_path, sample_result):
    import json

    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "align", "align", str(ZH_SAMPLE), str(EN_SAMPLE), "--format", "jsonl", "-o", str(out),
         "-q", "--no-progress"], capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert len(records) == len(sample_result.frame)
    mars = next(r for r in records if r["zh"] == MARS_ZH)
    assert mars["zh_ids"] == [1] and mars["en_ids"] == [4, 5] and mars["type"] == "1-2"
    assert mars["zh_roles"] == ["body"] and mars["parallel"] == "yes"
    assert mars["signature"] == sample_result.signature and mars["signature"].startswith("zhalign ")
    credit = next(r for r in records if r["en"] == "Text reporter: Dong Ruifeng")
    assert credit["en_roles"] == ["credit"] and credit["zh_ids"] == []
