"""Aligning many pairs on a local Dask cluster of 2 workers: outputs, failures, resuming, the cache."""
import json
import os
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from align.batching import MAX_NAME_BYTES, BatchSettings, file_sha256, pair_names, read_manifest, run_batch
from align.cluster import dask_client, worker_peak_memory
from align.caching import EmbeddingCache
from align.errors import AlignWarning
from align.reading import InputError, read_document
from align.segmenting import split_document
from align.writing import COLUMNS, read_tsv
from conftest import signal_when, write_manifest, write_sample_pieces
from mac_corpus import UNRELATED_EN

GOOD = ("zh0--en0", "zh1--en1", "zh2--en2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three small parallel pairs (ten gold beads each of the sample, on innovation, the vaccine and farming),
    an empty file and a binary one, in a manifest with relative paths."""
    folder = tmp_path_factory.mktemp("corpus")
    rows = [(zh.name, en.name, 0.9) for zh, en in write_sample_pieces(folder, (10, 30, 50))]
    (folder / "empty.txt").write_text("", "utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    rows += [("empty.txt", "en0.txt", 0.5), ("binary.txt", "en1.txt", 0.5)]
    return write_manifest(folder / "manifest.tsv", rows, ("zh_path", "en_path", "score"))


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
    assert info.models and set(info.models.values()) == {len(distinct)}
    assert info.bytes > 0


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
        f"zhalign: error: {tmp_path / 'missing.tsv'}: no such file"]  # the inputs are checked before the manifest is read


# --- verdicts, resuming by content, manifest paths, long names, a full disk -----------------

@pytest.fixture
def small_corpus(corpus, tmp_path):
    """Copies of one parallel pair and an unrelated English side (data/unrelated-en.txt: baking), in a manifest
    that lists the parallel pair three times (three spellings of the same paths) and the unrelated pair once."""
    folder = tmp_path / "corpus2"
    folder.mkdir()
    for name in ("zh0.txt", "en0.txt"):
        shutil.copy(corpus.parent / name, folder / name)
    shutil.copy(UNRELATED_EN, folder / "en1.txt")
    rows = [("zh0.txt", "en0.txt"), ("../corpus2/zh0.txt", "en0.txt"), (folder / "zh0.txt", f"{folder}/./en0.txt"),
            ("zh0.txt", "en1.txt")]
    return write_manifest(folder / "manifest.tsv", rows)


def test_manifest_paths_are_resolved_and_repeats_warned(small_corpus):
    with pytest.warns(AlignWarning, match=r"2 row\(s\) \(line 3, 4\) list a pair already listed"):
        pairs = read_manifest(small_corpus)
    assert len(pairs) == 2
    assert pairs["zh_path"].tolist() == [str(small_corpus.parent / "zh0.txt")] * 2


@pytest.mark.slow  # starts Dask
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


@pytest.mark.slow  # starts Dask
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

    from align.cluster import HEARTBEAT_RACE, ClosingHeartbeatFilter

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


@pytest.mark.slow  # starts Dask
def test_local_cluster_workers_carry_the_filter(client):
    import logging

    def filters():
        return [type(f).__name__ for f in logging.getLogger("distributed.worker").filters]

    assert all(names.count("ClosingHeartbeatFilter") == 1 for names in client.run(filters).values())


# --- issue 29 part C: damaged pair files, manifest rows, the scheduler address, SIGTERM; issue 26 ----------

GOLD = Path(__file__).resolve().parent.parent / "data" / "gold"


def write_small_pairs(folder: Path, count: int) -> Path:
    """`count` pairs of pieces of the sample's gold lines (piece k: Chinese lines 25k..25k+24,
    English lines 27k..27k+26), one sentence a line, and a manifest listing them."""
    zh = (GOLD / "core-technology.zh").read_text("utf-8").splitlines()
    en = (GOLD / "core-technology.en").read_text("utf-8").splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(count):
        (folder / f"zh{k}.txt").write_text("\n".join(zh[25 * k:25 * k + 25]) + "\n", "utf-8")
        (folder / f"en{k}.txt").write_text("\n".join(en[27 * k:27 * k + 27]) + "\n", "utf-8")
        rows.append((f"zh{k}.txt", f"en{k}.txt"))
    return write_manifest(folder / "manifest.tsv", rows)


def pair_file_matches_record(out: Path, pair: str) -> bool:
    """Whether pairs/PAIR.json says done and pairs/PAIR.tsv is the file it was written after."""
    record_path, tsv = out / "pairs" / f"{pair}.json", out / "pairs" / f"{pair}.tsv"
    if not record_path.exists():
        return False
    record = json.loads(record_path.read_text("utf-8"))
    return (record["status"] in ("ok", "not-parallel") and tsv.exists()
            and record["tsv_sha256"] == file_sha256(tsv) and record["rows"] == len(read_tsv(tsv)))


@pytest.mark.slow
def test_resume_aligns_again_a_pair_file_cut_short_or_garbled(client, cache_dir, tmp_path):
    manifest = write_small_pairs(tmp_path / "docs", 2)
    settings = BatchSettings(input_format=("lines", "lines"), cache_dir=str(cache_dir))
    out = tmp_path / "out"
    first = run_batch(manifest, out, settings, client=client)
    assert first.summary["status"].tolist() == ["ok", "ok"]
    whole = read_tsv(out / "corpus.tsv")
    assert len(whole) == first.summary["beads"].sum()
    cut, garbled = (out / "pairs" / f"{name}.tsv" for name in first.summary["pair"])
    lines = cut.read_text("utf-8").splitlines(keepends=True)
    cut.write_text("".join(lines[:-3]), "utf-8")  # three rows short: a copy cut off
    garbled.write_bytes(b'zh\ten\n"\x00\xff unclosed quote\tx\ty\tz\n' * 3)
    with pytest.warns(AlignWarning, match=r"2 pair file\(s\) .* are not the ones their records were written with"):
        again = run_batch(manifest, out, settings, client=client)
    assert again.summary["status"].tolist() == ["ok", "ok"]  # aligned again, not skipped
    assert again.summary["embedded"].tolist() == [0, 0]  # from the cache
    corpus = read_tsv(out / "corpus.tsv")
    assert len(corpus) == len(whole) and corpus["en"].tolist() == whole["en"].tolist()
    assert all(pair_file_matches_record(out, name) for name in again.summary["pair"])
    assert run_batch(manifest, out, settings, client=client).summary["status"].tolist() == ["skipped", "skipped"]


def test_a_record_from_before_the_tsv_hash_does_not_count_as_done(tmp_path):
    """A 0.5.0 record (no rows, no tsv_sha256) reads as a PairRecord; its TSV is aligned again."""
    from align.batching import PairRecord, pair_done

    tsv, record_path = tmp_path / "a.tsv", tmp_path / "a.json"
    tsv.write_text("zh\ten\n你好\thello\n", "utf-8")
    old = {"pair": "a", "zh_path": "/z", "en_path": "/e", "status": "ok", "zh_sentences": 1, "en_sentences": 1,
           "beads": 1, "mean_score": 0.9, "parallel": "yes", "auc": 0.9, "seconds": 1.0, "embedded": 2, "error": "",
           "warnings": "", "worker": "w:1", "signature": "sig", "zh_sha256": "z", "en_sha256": "e",
           "align_options": {}, "device": "cpu", "model_loads": 1, "a_key_of_a_later_version": 1}
    record_path.write_text(json.dumps(old), "utf-8")
    record = PairRecord.from_json(record_path.read_text("utf-8"))
    assert record.made_from("z", "e", "sig", {}) and not record.made_from("z", "e", "other", {})
    assert record.rows is None and not record.output_intact(tsv)
    assert pair_done(record_path, tsv, "z", "e", "sig", {}) is None
    record.rows, record.tsv_sha256 = 1, file_sha256(tsv)
    record_path.write_text(record.to_json(), "utf-8")
    assert pair_done(record_path, tsv, "z", "e", "sig", {}) == record
    tsv.write_text("zh\ten\n", "utf-8")
    assert pair_done(record_path, tsv, "z", "e", "sig", {}) is None


@pytest.mark.parametrize("rows, line, message", [
    ("zh0.txt\ten0.txt\n\ten1.txt\n", 3, "empty zh_path"),
    ("zh0.txt\ten0.txt\nzh1.txt\ten1.txt\textra\tfields\n", 3, "4 fields under a header of 2 columns"),
    ("zh0.txt\ten0.txt\textra\tfields\n", 2, "4 fields under a header of 2 columns"),  # pandas: the pair (extra, fields)
    ("zh0.txt\t\n", 2, "empty en_path"),
    ("\nzh0.txt\ten0.txt\n\nzh1.txt\n", 5, "empty en_path"),  # blank lines count in the line number
])
def test_manifest_rows_it_cannot_use_are_named_with_their_line(tmp_path, rows, line, message):
    write_small_pairs(tmp_path, 2)
    manifest = tmp_path / "bad.tsv"
    manifest.write_text("zh_path\ten_path\n" + rows, "utf-8")
    with pytest.raises(InputError) as caught:
        read_manifest(manifest)
    assert str(caught.value) == f"{manifest}: line {line}: {message}" or str(caught.value).startswith(
        f"{manifest}: line {line}: {message} (")


def test_cli_bad_manifest_row_is_one_line_and_writes_nothing(tmp_path, capsys):
    from align.cli import main

    write_small_pairs(tmp_path, 2)
    manifest = tmp_path / "bad.tsv"
    manifest.write_text("zh_path\ten_path\nzh0.txt\ten0.txt\nzh1.txt\ten1.txt\textra\tfields\n", "utf-8")
    code = main(["batch", str(manifest), "-o", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and err.splitlines() == [
        f"zhalign: error: {manifest}: line 3: 4 fields under a header of 2 columns (zh_path, en_path)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("address", ["localhost", "tcp://localhost", "tcp://host:99999", "foo://host:8786"])
@pytest.mark.parametrize("command", ["batch", "pair"])
def test_a_bad_scheduler_address_is_a_usage_error_before_any_output(tmp_path, capsys, address, command):
    from align.cli import main

    manifest = write_small_pairs(tmp_path / "docs", 1)
    out = tmp_path / "out"
    args = [str(manifest), "-o", str(out)] if command == "batch" else [
        str(tmp_path / "docs"), "-o", str(out / "manifest.tsv")]
    with pytest.raises(SystemExit) as stopped:
        main([command, *args, "--scheduler", address, "--no-progress"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "Traceback" not in err
    assert f"argument --scheduler: scheduler address {address!r}" in err.splitlines()[-1]
    assert not out.exists()


def test_run_batch_checks_the_scheduler_address_before_making_out_dir(tmp_path):
    from align.errors import UsageError

    manifest = write_small_pairs(tmp_path / "docs", 1)
    with pytest.raises(UsageError, match="has no port"):
        run_batch(manifest, tmp_path / "out", scheduler="localhost")
    assert not (tmp_path / "out").exists()


def test_a_scheduler_that_cannot_be_reached_leaves_no_empty_output_folder(tmp_path, monkeypatch):
    import contextlib

    from align import batching
    from align.errors import InputError

    @contextlib.contextmanager
    def unreachable(*args, **kwargs):
        raise InputError("cannot reach the Dask scheduler at tcp://127.0.0.1:1: timed out")
        yield

    monkeypatch.setattr(batching, "dask_client", unreachable)
    manifest = write_small_pairs(tmp_path / "docs", 1)
    with pytest.raises(InputError, match="cannot reach"):
        run_batch(manifest, tmp_path / "new" / "out", scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept" / "pairs").mkdir(parents=True)  # a folder the user had stays, empty or not
    with pytest.raises(InputError, match="cannot reach"):
        run_batch(manifest, tmp_path / "kept", scheduler="tcp://127.0.0.1:1")
    assert (tmp_path / "kept" / "pairs").is_dir()


def test_every_user_error_is_a_summary_line_without_its_class():
    from align.batching import error_line
    from align.errors import USER_ERRORS, ModelError

    assert ModelError in USER_ERRORS
    assert error_line(ModelError("cannot load the model nano: no such folder")) == \
        "cannot load the model nano: no such folder"
    assert error_line(KeyError("zh")) == "KeyError: 'zh'"  # a bug keeps its name


@pytest.mark.slow
def test_sigterm_writes_a_summary_that_agrees_with_the_records_and_a_rerun_completes(tmp_path):
    manifest = write_small_pairs(tmp_path / "docs", 4)
    out = tmp_path / "out"
    # A cache of its own: every pair embeds its sentences, so the batch is still running when it is stopped.
    env = dict(os.environ, ZHALIGN_CACHE=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "align", "batch", str(manifest), "-o", str(out), "--workers", "1",
               "--input-format", "lines", "--no-progress"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    err = signal_when(process, lambda: bool(list((out / "pairs").glob("*.tsv"))), signal.SIGTERM, poll=0.05)
    assert process.returncode == 143, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "zhalign: terminated (SIGTERM)"
    summary = pd.read_csv(out / "summary.tsv", sep="\t", keep_default_na=False)
    assert "pending" in set(summary["status"])
    for name, state in zip(summary["pair"], summary["status"]):
        assert (state in ("ok", "not-parallel")) == pair_file_matches_record(out, name), (name, state)
        assert state in ("ok", "not-parallel", "pending")
    done_before = set(summary.loc[summary["status"] != "pending", "pair"])

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = pd.read_csv(out / "summary.tsv", sep="\t", keep_default_na=False)
    assert "pending" not in set(summary["status"])
    assert set(summary.loc[summary["status"] == "skipped", "pair"]) == done_before
    assert all(pair_file_matches_record(out, name) for name in summary["pair"])
