"""An installed wheel works outside the checkout: the studies and the figure scripts travel inside the package.

The test builds a wheel of this checkout, installs it (without dependencies) into a fresh virtual environment whose
only other packages are this environment's, reached through a plain path entry (so the editable install of the
checkout is not active there), and runs ``mowsim`` from a folder outside the checkout.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import venv

import pandas as pd
import pytest

import mowsim
from mowsim import figures, sweep

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(args, cwd, env=None, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, mowsim script, a working folder outside the checkout) of a fresh venv holding the built wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Build from a copy: an in-tree build would leave build/ in the checkout, and a stale build/lib can leak files
    # that were since removed into a later wheel. symlinks=True keeps mowsim/studies a link, as git checks it out.
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "results", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"))
    wheel_dir = tmp / "dist"
    # --no-build-isolation: the build backend (setuptools) is already here; CI reaches only the package registries
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(wheel_dir),
          str(source)], cwd=tmp)
    (wheel,) = wheel_dir.glob("mowsim-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = pathlib.Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             cwd=tmp).strip())
    # The dependencies come from this environment as a plain path: a .pth line does not run the .pth files there,
    # so the checkout's editable finder stays off and `import mowsim` can only find the wheel.
    (site / "_mowsim_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "--quiet", str(wheel)], cwd=tmp)
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MOWSIM_STUDIES", "MOWSIM_FIGURES", "PYTHONPATH")}
    return python, env_dir / "bin" / "mowsim", work, env


def test_the_wheel_is_what_runs(installed):
    python, _, work, env = installed
    where = _run([str(python), "-c", "import mowsim, mowsim.figures as f, mowsim.sweep as s; "
                  "print(mowsim.__file__); print(s.studies_dir()); print(f.figure_scripts()[0].parent)"],
                 cwd=work, env=env).split()
    venv_dir = python.parents[1]
    for path in where:
        assert pathlib.Path(path).resolve().is_relative_to(venv_dir), (path, where)
        assert not pathlib.Path(path).resolve().is_relative_to(ROOT), where


def test_study_list_and_figure_scripts_match_the_checkout(installed):
    python, mowsim_script, work, env = installed
    listed = _run([str(mowsim_script), "study", "--list"], cwd=work, env=env)
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert names == sweep.available_studies() and names, listed
    scripts = _run([str(python), "-c", "from mowsim import figures; print(*[p.name for p in figures.figure_scripts()])"],
                   cwd=work, env=env).split()
    assert scripts == [p.name for p in figures.figure_scripts()]
    assert pathlib.Path(mowsim.__file__).resolve().is_relative_to(ROOT)  # this process runs the checkout


def test_installed_study_and_figure_run_outside_the_checkout(installed):
    python, mowsim_script, work, env = installed
    out = work / "results"
    _run([str(mowsim_script), "study", "correlation", "--testing", "--workers", "1", "--no-progress", "--out",
          str(out)], cwd=work, env=env)
    table = pd.read_parquet(out / "correlation" / "results.parquet")
    assert set(table["cell_id"]) == {cell.id for cell in sweep.study_cells("correlation", testing=True)}
    code = ("import pathlib, sys; from mowsim import figures; "
            "script = next(p for p in figures.figure_scripts() if p.stem == 'fig_correlation'); "
            "paths = figures._load(script).main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])); "
            "print(*paths)")
    written = _run([str(python), "-c", code, str(out), str(work / "figures")], cwd=work, env=env).split()
    assert {pathlib.Path(p).suffix for p in written} == {".png", ".pdf"}
    assert all(pathlib.Path(p).stat().st_size > 0 for p in written)


def test_a_study_folder_given_as_a_path(installed, tmp_path):
    """``mowsim study ./my_studies/my_study``: a user's own study runs by path with the installed package."""
    _, mowsim_script, work, env = installed
    mine = work / "my_studies" / "my_study"
    mine.mkdir(parents=True)
    (mine / "sweep.py").write_text(
        '"""A user\'s study."""\n'
        "from mowsim.sweep import make_cell\n"
        "SETTINGS = tuple(make_cell('my_study', i, 'bandit', {'n_arms': 4}, s, setting={}, steps=3, seeds=1,\n"
        "                           group_size=4, n_groups=2) for i, s in enumerate(('rc', 'dvao')))\n"
        "TESTING = (SETTINGS[0].id,)\n")
    _run([str(mowsim_script), "study", "./my_studies/my_study", "--workers", "1", "--no-progress", "--out",
          str(tmp_path)], cwd=work, env=env)
    table = pd.read_parquet(tmp_path / "my_study" / "results.parquet")
    assert sorted(table["scheme"].unique()) == ["dvao", "rc"]
