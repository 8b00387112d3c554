"""The environment files agree, and the pins are exact."""
import re
import tomllib

import yaml

from harmonylib.paths import REPO_ROOT


def _pyproject():
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def test_every_dependency_is_pinned_exactly():
    for spec in _pyproject()["project"]["dependencies"] + _pyproject()["tool"]["harmony"]["no-deps"]:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.+\-]*", spec), spec


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in conda
    assert pip[0] == "-e ."
    assert sorted(pip[1:]) == sorted(_pyproject()["project"]["dependencies"])


def test_environment_yml_tells_how_to_install_the_no_deps_packages():
    text = (REPO_ROOT / "environment.yml").read_text()
    for spec in _pyproject()["tool"]["harmony"]["no-deps"]:
        assert f"--no-deps {spec}" in text


def test_torch_pair_is_the_one_that_works_on_cpu_and_cuda_here():
    deps = _pyproject()["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchaudio==2.11.0" in deps


def test_jupyterlab_of_this_environment_opens_a_notebook_py_file_as_a_notebook(tmp_path):
    """scripts/bootstrap.sh installs scripts/jupyterlab/overrides.json; JupyterLab must read it as the
    default viewer of Python files, naming a viewer that the installed jupytext extension registers."""
    import sys
    from pathlib import Path

    from jupyterlab_server.settings_utils import get_settings

    lab = Path(sys.prefix) / "share" / "jupyter"
    settings, _ = get_settings(str(lab / "lab" / "settings"), str(lab / "lab" / "schemas"), str(tmp_path),
                               "@jupyterlab/docmanager-extension:plugin",
                               labextensions_path=[str(lab / "labextensions")])
    viewer = settings["schema"]["properties"]["defaultViewers"]["default"].get("python")
    assert viewer == "Jupytext Notebook"
    extension = lab / "labextensions" / "jupyterlab-jupytext" / "static"
    assert any(f'"{viewer}"' in js.read_text(errors="ignore") for js in extension.glob("*.js"))


def test_the_gpu_checks_wheels_are_the_versions_this_environment_installs():
    """benchmarks/gpu_check.sh carries wheels of the packages a GPU machine lacks; a pin changed in
    pyproject.toml (or a dependency it pulls in) must change there too."""
    from importlib.metadata import PackageNotFoundError, version

    script = (REPO_ROOT / "benchmarks" / "gpu_check.sh").read_text()
    wheels = re.search(r"^WHEELS=\((.*?)\)", script, re.S | re.M).group(1).split()
    assert len(wheels) > 40
    differing = {}
    for spec in wheels:
        name, pinned = spec.split("==")
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            differing[name] = (pinned, installed)
    assert not differing, f"gpu_check.sh's WHEELS (pinned, installed here): {differing}"
