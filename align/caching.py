"""A persistent embedding cache: (model, text) -> float32 vector, on disk.

Re-aligning the same documents with other settings, resuming a batch, or
aligning pairs that `zhalign pair` has already read then costs no embedding.
The store is one SQLite file (`embeddings.sqlite`) in the cache folder:
`$ZHALIGN_CACHE`, or `~/.cache/zhalign`. Keys are the model's identity (name,
backend, path, input prefix, dimension) and the SHA-1 of the text; values are
the raw float32 bytes. It runs in WAL mode with short transactions, so several
worker processes on one machine may read and fill it at once; a cluster of
several machines needs the folder on a disk they share, or each fills its own.

An encoder uses it once attached: `attach_cache(encoder)` (or set
`encoder.store`); `Encoder.encode` then looks texts up here before embedding
and saves what it embedded.

Each vector is stored with a checksum of its bytes (BLAKE2b, 8 bytes). A
stored vector is used only when it has the encoder's dimension, finite values,
its checksum (entries of caches written before checksums have none) and, for an
encoder, unit length (every encoder returns L2-normalised rows); any other
entry is a miss, embedded again and overwritten. A cache that cannot be used
(a file that is not a database, one of another schema, a full disk) is
reported once as a warning and bypassed: aligning goes on without it, and
`clear` removes what it cannot read. A cache without write permission is read,
and what is embedded anew is not saved.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import numpy as np

if TYPE_CHECKING:
    from align.embedding import Encoder

CACHE_FILE = "embeddings.sqlite"
# Rows of 1.5 KB: a rowid table on 16 KB pages packs them (about 1.7 KB a vector on disk).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, vector BLOB NOT NULL, checksum BLOB);
"""
_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS vectors_by_key ON vectors (model, key)"
_COLUMNS = {"model", "key", "vector"}
_UNIT_TOLERANCE = 1e-3  # float32 rows the encoders normalise are within 1e-6 of length 1
_LOOKUP_CHUNK = 400  # keys per SELECT, under SQLite's parameter limit


@contextlib.contextmanager
def _setup_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on folder/embeddings.lock (where fcntl exists; elsewhere the retries do)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder / (CACHE_FILE + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_cache_dir() -> Path:
    """`$ZHALIGN_CACHE`, or `~/.cache/zhalign`."""
    return Path(os.environ.get("ZHALIGN_CACHE") or Path.home() / ".cache" / "zhalign").expanduser()


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


def checksum(blob: bytes) -> bytes:
    """What a stored vector's bytes must hash to (computed when it is stored)."""
    return hashlib.blake2b(blob, digest_size=8).digest()


def _set_up(connection: sqlite3.Connection) -> None:
    """The table and index; a cache of 0.5.0 gains the checksum column. A table of
    another schema is _Unusable (clear removes it)."""
    connection.executescript(_SCHEMA)
    columns = {row[1] for row in connection.execute("PRAGMA table_info(vectors)")}
    if not _COLUMNS <= columns:
        raise _Unusable(f"not a zhalign embedding cache of this version (table vectors has columns "
                        f"{', '.join(sorted(columns))})")
    if "checksum" not in columns:
        connection.execute("ALTER TABLE vectors ADD COLUMN checksum BLOB")
    connection.execute(_INDEX)
    # A file SQLite opened read-only (no write permission) fails here, not on the first save:
    # an UPDATE of no row asks for a write transaction and writes nothing.
    connection.execute("UPDATE vectors SET model = model WHERE rowid = -1")


@dataclass
class CacheInfo:
    """A cache's location, entries (in all and per model), bytes on disk, whether it is
    read-only, and the problem that makes it unusable (None when it works)."""

    path: str
    entries: int
    bytes: int
    models: dict[str, int] = field(default_factory=dict)
    read_only: bool = False
    problem: str | None = None


class EmbeddingCache:
    """Vectors on disk by (model, sha1 of text). Counts its hits and misses."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_dir()
        self.path = self.folder / CACHE_FILE
        self.hits = 0      # texts found
        self.misses = 0    # texts looked up and not found
        self.saved = 0     # vectors written
        self.problem: str | None = None  # why the cache is bypassed, once it is
        self.read_only = False  # no write permission: read, save nothing
        self._connection: sqlite3.Connection | None = None
        self._pid = -1

    # A connection must not cross a fork, and the object may be pickled to a
    # worker process: connect lazily, per process.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_connection"], state["_pid"] = None, -1
        return state

    def _writable(self) -> bool:
        return os.access(self.folder, os.W_OK) and (not self.path.exists() or os.access(self.path, os.W_OK))

    def _connect_read_only(self) -> sqlite3.Connection:
        """The cache without writing: mode=ro, or immutable when the folder does not let
        SQLite make the WAL's shared-memory file."""
        errors = []
        for flag in ("mode=ro", "immutable=1"):
            try:
                connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?{flag}", uri=True, timeout=60,
                                             isolation_level=None)
                columns = {row[1] for row in connection.execute("PRAGMA table_info(vectors)")}
            except sqlite3.Error as error:
                errors.append(error)
                continue
            if not _COLUMNS <= columns:
                connection.close()
                raise _Unusable(f"not a zhalign embedding cache of this version (table vectors has columns "
                                f"{', '.join(sorted(columns)) or 'none'})")
            return connection
        raise _Unusable(str(errors[-1]))

    def _connect(self) -> sqlite3.Connection:
        if (self._connection is None or self._pid != os.getpid()) and self.path.exists() and not self._writable():
            self._connection, self._pid, self.read_only = self._connect_read_only(), os.getpid(), True
        if self._connection is None or self._pid != os.getpid():
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                for attempt in range(40):
                    connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                    try:
                        # Several workers may open a new cache at once: set it up one at a time.
                        with _setup_lock(self.folder):
                            connection.execute("PRAGMA page_size=16384")  # takes effect on a new file only
                            connection.execute("PRAGMA journal_mode=WAL")
                            _set_up(connection)
                        connection.execute("PRAGMA synchronous=NORMAL")
                        connection.execute("PRAGMA wal_autocheckpoint=256")  # pages: keep the log under 4 MB
                        connection.execute("PRAGMA journal_size_limit=4194304")
                        break
                    except (sqlite3.OperationalError, _Unusable) as error:
                        connection.close()
                        if "locked" not in str(error) or attempt == 39:
                            raise
                        time.sleep(0.05 * (attempt + 1))
            except _Unusable:
                raise
            except (sqlite3.Error, OSError) as error:
                if _read_only_error(error) and self.path.exists():
                    self._connection, self._pid, self.read_only = self._connect_read_only(), os.getpid(), True
                    return self._connection
                raise _Unusable(str(error)) from None
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def _bypass(self, error: Exception) -> None:
        """Stop using the cache, with one warning naming it and why."""
        from align.errors import AlignWarning

        if self.problem is None:
            self.problem = str(error)
            warnings.warn(f"embedding cache {self.path}: {self.problem}; going on without it "
                          "(`zhalign cache clear` removes a broken cache)", AlignWarning, stacklevel=3)
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        for attempt in range(20):
            try:
                connection.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as error:  # locked beyond the timeout: wait and retry
                if "locked" not in str(error) or attempt == 19:
                    raise
                time.sleep(0.1 * (attempt + 1))
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def get_many(self, model: str, texts: Sequence[str], dim: int | None = None,
                 unit: bool = False) -> dict[str, np.ndarray]:
        """The stored vectors of those texts that are in the cache, each with finite
        values and the checksum it was stored with (when it has one); with `dim`,
        of that length; with `unit`, of length 1. Others count as misses."""
        found: dict[str, np.ndarray] = {}
        if not texts or self.problem is not None:
            return found
        by_key = {text_key(t): t for t in texts}
        keys = list(by_key)
        try:
            connection = self._connect()
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[start:start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT key, vector, checksum FROM vectors WHERE model = ? AND key IN ({marks})", (model, *chunk)
                ).fetchall()
                for key, blob, stored_checksum in rows:
                    vector = _vector(blob, dim, stored_checksum, unit)
                    if vector is not None:
                        found[by_key[bytes(key)]] = vector
        except (sqlite3.Error, _Unusable) as error:
            self._bypass(error)
            found = {}
        self.hits += len(found)
        self.misses += len(by_key) - len(found)
        return found

    def put_many(self, model: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        blobs = [(text_key(t), np.ascontiguousarray(v, dtype=np.float32).tobytes()) for t, v in items]
        rows = [(model, key, blob, checksum(blob)) for key, blob in blobs]
        if not rows or self.problem is not None or self.read_only:
            return
        try:
            with self._transaction() as connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO vectors (model, key, vector, checksum) VALUES (?, ?, ?, ?)", rows)
        except (sqlite3.Error, _Unusable) as error:
            self._bypass(error)
            return
        self.saved += len(rows)

    # The two calls Encoder.encode makes.
    def load(self, encoder: "Encoder", texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.get_many(encoder.model_id, texts, encoder.dim, unit=True)

    def save(self, encoder: "Encoder", texts: Sequence[str], vectors: np.ndarray) -> None:
        self.put_many(encoder.model_id, zip(texts, vectors))

    def info(self) -> CacheInfo:
        """What `zhalign cache` shows of the cache (CacheInfo)."""
        models: dict[str, int] = {}
        problem = None
        if self.path.exists():
            try:
                connection = self._connect()
                if not self.read_only:
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # fold the log in: the size is the data's
                rows = connection.execute("SELECT model, COUNT(*) FROM vectors GROUP BY model").fetchall()
                models = {model: count for model, count in rows}
            except (sqlite3.Error, _Unusable) as error:
                problem = str(error)
                self.close()
        size = sum(f.stat().st_size for f in self._files() if f.exists())
        return CacheInfo(str(self.path), sum(models.values()), size, models, self.read_only, problem)

    def clear(self) -> int:
        """Delete every vector and give the space back; returns how many there were.
        A cache this version cannot read (not a database, another schema) is
        removed (0 vectors). A read-only cache is an OutputError."""
        from align.errors import OutputError

        if not self.path.exists():
            return 0
        if not self._writable():
            raise OutputError(f"cannot clear the embedding cache {self.path}: it is read-only "
                              "(no write permission)")
        try:
            with self._transaction() as connection:
                count = connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                connection.execute("DELETE FROM vectors")
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return count
        except (sqlite3.Error, _Unusable) as error:
            self.close()
            if "locked" in str(error) or _read_only_error(error):
                raise OutputError(f"cannot clear the embedding cache {self.path}: {error}") from None
        try:  # what it cannot read: its own files go
            for file in self._files():
                file.unlink(missing_ok=True)
        except OSError as error:
            raise OutputError(f"cannot clear the embedding cache {self.path}: {error.strerror or error}") from None
        self.problem = None
        return 0

    def _files(self) -> list[Path]:
        return [self.path, self.path.with_name(CACHE_FILE + "-wal"), self.path.with_name(CACHE_FILE + "-shm")]

    def stats(self) -> dict:
        return {"hits": self.hits, "misses": self.misses, "saved": self.saved}

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None


class _Unusable(Exception):
    """The cache cannot be opened (the message says why)."""


def _read_only_error(error: Exception) -> bool:
    text = str(error).lower()
    return "readonly" in text or "read-only" in text or "permission denied" in text or \
        isinstance(error, PermissionError)


def _vector(blob: bytes, dim: int | None, stored_checksum: bytes | None = None,
            unit: bool = False) -> np.ndarray | None:
    """A stored vector, or None when it cannot be one of `dim` finite float32 values,
    its bytes do not hash to the checksum stored with them, or (`unit`) its length is not 1."""
    if len(blob) % 4 or (dim is not None and len(blob) != 4 * dim):
        return None
    if stored_checksum is not None and checksum(bytes(blob)) != bytes(stored_checksum):
        return None
    vector = np.frombuffer(blob, dtype=np.float32).copy()
    if not np.isfinite(vector).all():
        return None
    if unit and abs(float(np.linalg.norm(vector.astype(np.float64))) - 1.0) > _UNIT_TOLERANCE:
        return None
    return vector


def attach_cache(encoder: "Encoder", cache: EmbeddingCache | str | Path | None = None) -> "Encoder":
    """Make `encoder` read and fill a persistent cache (the default folder if None)."""
    encoder.store = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
    return encoder


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
