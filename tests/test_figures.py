"""paper_figures/: every script draws from a tiny results folder and writes a PDF and a PNG; the plotting helpers
keep the scheme colours fixed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mowsim
from mowsim import bounds, plotting, sweep

FIGURES = Path(__file__).resolve().parents[1] / "paper_figures"
SCRIPTS = sorted(p for p in FIGURES.glob("*.py") if not p.name.startswith("_"))
TINY_SCHEMES = ("rc", "gdpo", "dvao", "saw-grpo", "mgda", "dvao-reliable", "vpo", "gated")


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"test_figure_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_study(name: str) -> pd.DataFrame:
    """A few schemes at every QUICK knob value, 2 seeds, 4 updates (timings: 1 call at the smallest batch)."""
    module = sweep.load_study(name)
    if name == "overhead":
        smallest = min(dict(c.setting)["B"] for c in module.QUICK)
        cells = [c.scaled(seeds=2, steps=1) for c in module.QUICK
                 if c.scheme in TINY_SCHEMES and dict(c.setting)["B"] == smallest]
        # Two batch sizes for the size axis: the same cells again at a doubled B.
        frame = pd.concat([module.run_cell(c) for c in cells], ignore_index=True)
        return pd.concat([frame, frame.assign(B=2 * smallest, seconds_per_call=2 * frame["seconds_per_call"])],
                         ignore_index=True)
    cells = [c.scaled(seeds=2, steps=4) for c in module.QUICK if c.scheme in TINY_SCHEMES]
    return pd.concat([sweep.run_cell(c) for c in cells], ignore_index=True)


def _tiny_bounds() -> pd.DataFrame:
    rows = []
    for scheme, claim in bounds.FIGURE_CLAIMS.items():
        for source in ("search", "random"):
            for g, k in ((2, 2), (4, 2), (4, 3)):
                rows.append({"claim": claim, "scheme": scheme, "source": source, "G": g, "K": k,
                             "worst_ratio": 1.0 if source == "search" else 0.8})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("results")
    needed = sorted({name for path in SCRIPTS for name in getattr(_load(path), "STUDIES", ())})
    for name in needed:
        (root / name).mkdir()
        _tiny_study(name).to_parquet(root / name / "results.parquet", index=False)
    (root / "bounds").mkdir()
    _tiny_bounds().to_csv(root / "bounds" / "bounds.csv", index=False)
    return root


def test_there_are_figure_scripts():
    names = {p.stem for p in SCRIPTS}
    assert {"fig_bounds_tightness", "fig_noise_curves", "fig_noise_final", "fig_pareto_fronts",
            "fig_effective_weights", "fig_stability", "fig_overhead"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_script_writes_pdf_and_png(script, results_dir, tmp_path):
    module = _load(script)
    assert (module.__doc__ or "").strip(), f"{script.name} needs a docstring saying what the figure shows"
    written = [Path(p) for p in module.main(results_dir, tmp_path)]
    assert sorted(p.suffix for p in written) == [".pdf", ".png"]
    for path in written:
        assert path.is_file() and path.stat().st_size > 1000 and path.parent == tmp_path


def test_script_runs_from_the_command_line(results_dir, tmp_path):
    script = FIGURES / "fig_correlation.py"
    done = subprocess.run([sys.executable, str(script), str(results_dir), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "correlation.pdf").is_file() and (tmp_path / "correlation.png").is_file()


def test_missing_results_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="mowsim study noise_robustness"):
        _load(FIGURES / "fig_noise_curves.py").main(tmp_path, tmp_path / "out")


def test_every_scheme_has_a_colour_and_a_marker():
    names = set(mowsim.schemes.available())
    assert names <= set(plotting.SCHEME_COLORS) and names <= set(plotting.SCHEME_MARKERS)
    assert len(set(plotting.SCHEME_COLORS.values())) == len(plotting.SCHEME_COLORS)
    assert plotting.scheme_order(["dvao", "rc", "gdpo"]) == ["rc", "gdpo", "dvao"]
    with pytest.raises(ValueError, match="no colour"):
        plotting.scheme_order(["rc", "not-a-scheme"])


def test_plot_score_draws_one_line_per_scheme_in_its_colour():
    score = pd.DataFrame({"scheme": ["rc", "rc", "dvao", "dvao"], "x": [1, 2, 1, 2], "mean": [0.1, 0.2, 0.3, 0.4],
                          "ci_low": [0.0, 0.1, 0.2, 0.3], "ci_high": [0.2, 0.3, 0.4, 0.5]})
    ax = plotting.plot_score(score, "x", dodge=0.5)
    lines = {container.get_label(): container.lines[0] for container in ax.containers}
    assert set(lines) == {"rc", "dvao"}
    assert lines["dvao"].get_color() == plotting.SCHEME_COLORS["dvao"]
    # Dodged apart, but the means are unchanged.
    assert np.allclose(lines["rc"].get_ydata(), [0.1, 0.2])
    assert not np.allclose(lines["rc"].get_xdata(), lines["dvao"].get_xdata())


_SCRIPT = '''
from pathlib import Path

def main(results_dir, out_dir):
    if "{name}" == "b_broken":
        raise RuntimeError("this figure is broken")
    path = Path(out_dir) / "{name}.png"
    path.write_text("{name}")
    return [path]
'''


@pytest.mark.parametrize("workers", [1, 2])
def test_make_figures_runs_every_script_in_order_and_reports_a_broken_one(tmp_path, monkeypatch, capsys, workers):
    from mowsim import figures

    folder = tmp_path / "scripts"
    folder.mkdir()
    for name in ("a_fine", "b_broken", "c_fine"):
        (folder / f"{name}.py").write_text(_SCRIPT.format(name=name))
    monkeypatch.setenv("MOWSIM_FIGURES", str(folder))
    with pytest.raises(RuntimeError, match="1 figure script"):
        figures.make_figures(tmp_path / "results", tmp_path / "out", workers=workers)
    printed = capsys.readouterr().out
    assert printed.index("a_fine: a_fine.png") < printed.index("c_fine: c_fine.png")
    assert "this figure is broken" in printed
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_fine.png", "c_fine.png"]
