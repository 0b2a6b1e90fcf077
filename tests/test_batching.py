"""Aligning many pairs on a local Dask cluster of 2 workers: outputs, failures, resuming, the cache."""
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from align.batching import (
    MAX_NAME_BYTES, BatchSettings, dask_client, file_sha256, pair_names, read_manifest, run_batch, worker_peak_memory,
)
from align.caching import EmbeddingCache
from align.errors import AlignWarning
from align.reading import InputError, read_document
from align.segmenting import split_document
from align.writing import COLUMNS, read_tsv
from mac_corpus import mac_piece

pytestmark = pytest.mark.shared("bench", "mac-dev")  # the pairs are pieces of MAC-Dev
GOOD = ("zh0--en0", "zh1--en1", "zh2--en2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three small parallel pairs, an empty file and a binary one, in a manifest with relative paths."""
    folder = tmp_path_factory.mktemp("corpus")
    rows = []
    for k, text_id in enumerate(("001", "003", "005")):
        zh_text, en_text = mac_piece(text_id, 10, 10)
        (folder / f"zh{k}.txt").write_text(zh_text, "utf-8")
        (folder / f"en{k}.txt").write_text(en_text, "utf-8")
        rows.append(f"zh{k}.txt\ten{k}.txt\t0.9")
    (folder / "empty.txt").write_text("", "utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    rows += ["empty.txt\ten0.txt\t0.5", "binary.txt\ten1.txt\t0.5"]
    manifest = folder / "manifest.tsv"
    manifest.write_text("zh_path\ten_path\tscore\n" + "\n".join(rows) + "\n", "utf-8")
    return manifest


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as client:
        yield client


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def first_run(corpus, client, cache_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    settings = BatchSettings(input_format=("lines", "lines"), cache_dir=str(cache_dir))
    return run_batch(corpus, out, settings, client=client), settings


def status(result):
    return {name.rsplit("-", 1)[0]: value for name, value in zip(result.summary["pair"], result.summary["status"])}


@pytest.mark.slow
def test_every_pair_aligned_or_failed_with_its_error(first_run):
    result, settings = first_run
    assert status(result) == {**{name: "ok" for name in GOOD}, "empty--en0": "failed", "binary--en1": "failed"}
    summary = result.summary.set_index(result.summary["pair"].str.rsplit("-", n=1).str[0])
    assert summary.loc["empty--en0", "error"].endswith("empty.txt: file is empty")
    assert "binary.txt: binary file" in summary.loc["binary--en1", "error"]
    for name in GOOD:
        row = summary.loc[name]
        assert row["zh_sentences"] > 5 and row["en_sentences"] > 5 and row["beads"] > 5
        assert row["embedded"] == row["zh_sentences"] + row["en_sentences"]  # nothing cached yet
        assert row["seconds"] > 0 and row["error"] == ""
    written = pd.read_csv(result.out_dir / "summary.tsv", sep="\t", keep_default_na=False)
    assert list(written["status"]) == list(result.summary["status"])
    assert {"pair", "zh_sentences", "en_sentences", "beads", "mean_score", "parallel", "auc", "signature", "seconds",
            "status", "error"} <= set(written.columns)
    ok = written[written["status"] == "ok"]
    assert set(ok["parallel"]) == {"yes"} and (ok["auc"].astype(float) > 0.75).all()
    assert set(ok["signature"]) == {settings.signature()}


@pytest.mark.slow
def test_outputs_per_pair_and_combined(first_run):
    result, _ = first_run
    ok = result.summary[result.summary["status"] == "ok"]
    frames = {name: read_tsv(result.out_dir / "pairs" / f"{name}.tsv") for name in ok["pair"]}
    for name, beads in zip(ok["pair"], ok["beads"]):
        assert len(frames[name]) == beads
    for name in result.summary.loc[result.summary["status"] == "failed", "pair"]:
        assert not (result.out_dir / "pairs" / f"{name}.tsv").exists()
    corpus_tsv = read_tsv(result.out_dir / "corpus.tsv")
    corpus_parquet = pd.read_parquet(result.out_dir / "corpus.parquet")
    assert list(corpus_parquet.columns) == ["pair", *COLUMNS]
    assert len(corpus_tsv) == len(corpus_parquet) == ok["beads"].sum()
    assert set(corpus_parquet["pair"]) == set(ok["pair"])
    first = ok["pair"].iloc[0]
    assert list(corpus_parquet.loc[corpus_parquet["pair"] == first, "en"]) == list(frames[first]["en"])


@pytest.mark.slow
def test_model_loaded_once_per_worker(first_run, client):
    result, _ = first_run
    records = [json.loads((result.out_dir / "pairs" / f"{name}.json").read_text()) for name in result.summary["pair"]]
    assert {r["model_loads"] for r in records} == {1}
    assert len({r["worker"] for r in records}) <= 2
    per_worker = client.run(worker_peak_memory)
    assert len(per_worker) == 2
    assert all(info["model_loads"] <= 1 and info["peak_mb"] > 0 for info in per_worker.values())


@pytest.mark.slow
def test_rerun_skips_finished_pairs_and_retries_failed_ones(first_run, corpus, client):
    result, settings = first_run
    again = run_batch(corpus, result.out_dir, settings, client=client)
    assert status(again) == {**{name: "skipped" for name in GOOD}, "empty--en0": "failed", "binary--en1": "failed"}
    assert again.summary.loc[again.summary["status"] == "skipped", "embedded"].tolist() == [0, 0, 0]
    # a pair whose record is missing (interrupted after its TSV) is aligned again, the rest are not
    lost = result.out_dir / "pairs" / f"{result.summary['pair'][1]}.json"
    lost.unlink()
    resumed = run_batch(corpus, result.out_dir, settings, client=client)
    assert status(resumed)["zh1--en1"] == "ok"
    assert status(resumed)["zh0--en0"] == status(resumed)["zh2--en2"] == "skipped"
    assert resumed.summary.loc[1, "embedded"] == 0  # its sentences come from the cache
    assert lost.exists()
    assert len(pd.read_parquet(result.out_dir / "corpus.parquet")) == result.summary["beads"].sum()


@pytest.mark.slow
def test_other_settings_realign_without_embedding(first_run, corpus, client, cache_dir, tmp_path):
    result, settings = first_run
    changed = BatchSettings(input_format=("lines", "lines"), cache_dir=str(cache_dir),
                            params=settings.params | {"skip": 0.35})
    assert changed.signature() != settings.signature() and "|skip:0.35|" in changed.signature()
    rerun = run_batch(corpus, tmp_path / "out", changed, client=client)
    ok = rerun.summary[rerun.summary["status"].isin(["ok", "not-parallel"])]  # aligned (a skip this cheap may
    # leave enough unaligned for the verdict to fall)
    assert len(ok) == 3
    assert ok["embedded"].tolist() == [0, 0, 0]  # every vector from the persistent cache
    distinct = set()
    for path in [*ok["zh_path"], *ok["en_path"]]:
        distinct |= {s.text for s in split_document(read_document(path, "lines"), "zh")}
    info = EmbeddingCache(cache_dir).info()
    # One vector per distinct sentence and model (an ensemble's members each keep their own), whatever the settings.
    assert info["models"] and set(info["models"].values()) == {len(distinct)}
    assert info["bytes"] > 0


def test_manifest_paths_relative_to_its_folder(corpus, tmp_path):
    pairs = read_manifest(corpus)
    assert pairs.loc[0, "zh_path"] == str(corpus.parent / "zh0.txt")
    assert pairs["pair"].is_unique and list(pairs["score"])[:1] == ["0.9"]
    twice = tmp_path / "twice.tsv"
    row = f"{corpus.parent / 'en0.txt'}\t{corpus.parent / 'zh0.txt'}\n"
    twice.write_text("en_path\tzh_path\n" + row * 2, "utf-8")
    with pytest.warns(AlignWarning, match="already listed"):
        assert len(read_manifest(twice)) == 1  # a pair listed twice is aligned once
    twice.write_text("zh\ten\na\tb\n", "utf-8")
    with pytest.raises(InputError, match="needs columns zh_path and en_path"):
        read_manifest(twice)


@pytest.mark.slow
def test_cli_batch_and_cache(first_run, corpus, cache_dir, tmp_path):  # first_run fills the cache
    env = dict(os.environ, ZHALIGN_CACHE=str(cache_dir))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "align", *map(str, args)], capture_output=True, text=True,
                              timeout=600, env=env)

    done = cli("batch", corpus, "-o", tmp_path / "out", "--workers", "2", "--input-format", "lines", "--no-progress")
    assert done.returncode == 1  # two pairs failed; the others are done
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("zhalign: error: 2 of 5 pairs failed")
    assert "5 pairs: 3 aligned, 0 already done, 0 not parallel, 2 failed" in done.stderr
    failures = [line for line in done.stderr.splitlines() if line.startswith("failed     ")]
    assert len(failures) == 2 and any("empty.txt: file is empty" in line for line in failures)
    summary = pd.read_csv(tmp_path / "out" / "summary.tsv", sep="\t", keep_default_na=False)
    assert (summary.loc[summary["status"] == "ok", "embedded"] == 0).all()

    info = cli("cache", "info")
    assert info.returncode == 0
    assert f"location  {cache_dir / 'embeddings.sqlite'}" in info.stdout
    entries = int(info.stdout.split("entries")[1].split()[0])
    assert entries > 40
    cleared = cli("cache", "clear")
    assert cleared.returncode == 0 and f"{entries} vectors" in cleared.stderr
    assert "entries   0" in cli("cache", "info").stdout

    bad = cli("batch", tmp_path / "missing.tsv", "-o", tmp_path / "out2")
    assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [
        f"zhalign: error: {tmp_path / 'missing.tsv'}: no such manifest"]


# --- verdicts, resuming by content, manifest paths, long names, a full disk -----------------

@pytest.fixture
def small_corpus(corpus, tmp_path):
    """Copies of one parallel pair and an unrelated English side, in a manifest that lists the
    parallel pair three times (three spellings of the same paths) and the unrelated pair once."""
    folder = tmp_path / "corpus2"
    folder.mkdir()
    for name in ("zh0.txt", "en0.txt", "en1.txt"):
        shutil.copy(corpus.parent / name, folder / name)
    rows = ["zh0.txt\ten0.txt", "../corpus2/zh0.txt\ten0.txt", f"{folder / 'zh0.txt'}\t{folder}/./en0.txt",
            "zh0.txt\ten1.txt"]
    manifest = folder / "manifest.tsv"
    manifest.write_text("zh_path\ten_path\n" + "\n".join(rows) + "\n", "utf-8")
    return manifest


def test_manifest_paths_are_resolved_and_repeats_warned(small_corpus):
    with pytest.warns(AlignWarning, match=r"2 row\(s\) \(line 3, 4\) list a pair already listed"):
        pairs = read_manifest(small_corpus)
    assert len(pairs) == 2
    assert pairs["zh_path"].tolist() == [str(small_corpus.parent / "zh0.txt")] * 2


def test_not_parallel_pairs_and_resuming_by_content(small_corpus, client, cache_dir, tmp_path):
    settings = BatchSettings(input_format=("lines", "lines"), cache_dir=str(cache_dir))
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignWarning)
        first = run_batch(small_corpus, out, settings, client=client)
    summary = first.summary.set_index(first.summary["pair"].str.rsplit("-", n=1).str[0])
    assert summary["status"].to_dict() == {"zh0--en0": "ok", "zh0--en1": "not-parallel"}
    assert summary["parallel"].to_dict() == {"zh0--en0": "yes", "zh0--en1": "no"}
    assert float(summary.loc["zh0--en1", "auc"]) < 0.75 < float(summary.loc["zh0--en0", "auc"])
    unrelated = summary.loc["zh0--en1", "pair"]
    assert set(read_tsv(out / "pairs" / f"{unrelated}.tsv")["parallel"]) == {"no"}  # its bitext is kept
    record = json.loads((out / "pairs" / f"{unrelated}.json").read_text("utf-8"))
    assert record["signature"] == settings.signature() and record["en_sha256"] == file_sha256(
        small_corpus.parent / "en1.txt")
    corpus = read_tsv(out / "corpus.tsv")
    assert set(corpus["pair"]) == {summary.loc["zh0--en0", "pair"]}  # the unrelated pair stays out

    def statuses(result):
        return result.summary["status"].tolist()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlignWarning)
        assert statuses(run_batch(small_corpus, out, settings, client=client)) == ["skipped", "not-parallel"]
        # A changed input is aligned again, though its name and the settings are the same.
        english = small_corpus.parent / "en0.txt"
        english.write_text(english.read_text("utf-8").replace("\n", "\n\n", 1), "utf-8")
        changed = run_batch(small_corpus, out, settings, client=client)
        assert statuses(changed) == ["ok", "not-parallel"]
        # Asked for, the unrelated pair's beads go into the corpus too.
        kept = run_batch(small_corpus, out, settings, client=client, keep_not_parallel=True)
    assert statuses(kept) == ["skipped", "not-parallel"]
    assert len(set(read_tsv(out / "corpus.tsv")["pair"])) == 2


def test_long_file_names_are_cut_in_bytes(tmp_path):
    zh, en = tmp_path / ("长" * 80 + ".txt"), tmp_path / ("英" * 80 + ".txt")  # 244 bytes each: legal names
    name = pair_names([str(zh)], [str(en)])[0]
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES + 9 and name.startswith("长" * 66)
    for suffix in (".tsv", ".json"):
        (tmp_path / (name + suffix)).write_text("ok", "utf-8")  # no Errno 36


def test_a_full_disk_is_one_line_a_pair_and_one_clear_error(corpus, cache_dir, tmp_path, monkeypatch, capfd):
    """Every write under OUT_DIR fails with ENOSPC; the pairs run on an in-process worker so that it fails there too."""
    from distributed import Client

    import align.batching
    from align.cli import main

    out = tmp_path / "out"
    real_write_text = Path.write_text

    def disk_full(self, *args, **kwargs):
        if str(self).startswith(str(out)):
            raise OSError(28, "No space left on device")
        return real_write_text(self, *args, **kwargs)

    real_run_batch = align.batching.run_batch
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as local:
        monkeypatch.setattr(Path, "write_text", disk_full)
        monkeypatch.setattr(align.batching, "run_batch", lambda *args, **kwargs: real_run_batch(
            *args, **{**kwargs, "client": local}))
        code = main(["batch", str(corpus), "-o", str(out), "--input-format", "lines", "--cache-dir", str(cache_dir),
                     "--no-progress", "-q"])
    err = capfd.readouterr().err
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len([line for line in lines if line.startswith("failed     ")]) == 5
    assert sum("No space left on device" in line for line in lines[:-1]) == 3  # the three good pairs
    assert lines[-1] == f"zhalign: error: cannot write {out / 'summary.tsv'}: No space left on device"
    assert not list(out.rglob("*.part"))


def test_a_closing_worker_drops_only_its_heartbeat_error():
    """distributed logs a closing worker's aborted heartbeat as an error with a traceback; it is not one."""
    import logging
    from types import SimpleNamespace

    from distributed.core import Status

    from align.batching import HEARTBEAT_RACE, ClosingHeartbeatFilter

    def record(message):
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1, message, None, None)

    worker = SimpleNamespace(status=Status.running)
    quiet = ClosingHeartbeatFilter(worker)
    heartbeat, other = record(HEARTBEAT_RACE + "."), record("Compute Failed")
    assert quiet.filter(heartbeat) and quiet.filter(other)  # a running worker's heartbeat error is real
    for status in (Status.closing, Status.closing_gracefully, Status.closed):
        worker.status = status
        assert not quiet.filter(heartbeat)
        assert quiet.filter(other)


def test_local_cluster_workers_carry_the_filter(client):
    import logging

    def filters():
        return [type(f).__name__ for f in logging.getLogger("distributed.worker").filters]

    assert all(names.count("ClosingHeartbeatFilter") == 1 for names in client.run(filters).values())
