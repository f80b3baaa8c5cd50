"""The sdist and the wheel hold what they should: the sdist what its own tests need."""

import subprocess
import sys
import tarfile
import zipfile

import pytest


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("hatchling", reason="building needs hatchling (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("dist")
    root = __import__("pathlib").Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-d", str(out)], cwd=root, check=True,
                   capture_output=True, timeout=300)
    return out


def test_sdist_holds_the_package_its_tests_notebooks_benchmarks_and_licence(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "microgradx/autograd.py",
                   "microgradx/data/digits.npz", "tests/conftest.py", "tests/_shared.py",
                   "notebooks/01_backprop_by_hand.ipynb", "benchmarks/bench_engine.py",
                   "docs/stepper-network-1024x768.png"):
        assert needed in names, f"the sdist lacks {needed}"


def test_wheel_holds_the_package_data_and_licence_but_no_tests(dist):
    (wheel,) = dist.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "microgradx/data/digits.npz" in names and "microgradx/viz/stepper.py" in names
    assert any(name.endswith("licenses/LICENSE") or name.endswith("/LICENSE") for name in names)
    assert not any(name.startswith("tests/") for name in names)
