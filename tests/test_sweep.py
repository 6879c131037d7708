"""The sweep engine: cell keys, the atomic store, resume after kill -9 / Ctrl-C / SIGTERM, failures, executors, CLI,
and the same on a real Dask ``LocalCluster`` (two worker processes): identical tables, an interrupted run resumed,
workers that die mid-cell.

Every test runs fake studies written to ``tmp_path`` (``MOWSIM_STUDIES`` points there), with tiny cells. The Dask
tests need the ``dask`` extra, which ``make test`` installs; there ``MOWSIM_REQUIRE_DASK=1`` turns their skip into a
failure, so CI cannot pass without running them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import mowsim
from mowsim import cli, sweep

TINY = '''
"""A tiny fake study: 3 noise levels x 2 schemes."""
from mowsim.sweep import make_cell

SETTINGS = tuple(
    make_cell("tiny", index, "bandit", {"noise_sd": noise, "n_arms": 4}, scheme,
              setting={"noise_sd": noise, "method": scheme}, steps=5, seeds=2, n_groups=8, group_size=4)
    for index, (noise, scheme) in enumerate((n, s) for n in (0.0, 0.5, 1.0) for s in ("dvao", "gdpo"))
)
TESTING = ("tiny/0", "tiny/3")
'''

BROKEN = '''
"""One cell of three raises: n_arms=1 is rejected by the environment."""
from mowsim.sweep import make_cell

SETTINGS = tuple(
    make_cell("broken", index, "bandit", {"n_arms": arms}, "dvao", setting={"arms": arms}, steps=5, seeds=2,
              n_groups=8, group_size=4)
    for index, arms in enumerate((3, 1, 5))
)
'''

# 24 cells of ~0.05 s each (400 steps x 2 seeds; the kernels got faster, 60 steps let a run finish between two
# polls): a run with one worker is mid-way for about a second, time enough to interrupt it.
SLOW = '''
"""Enough cells to interrupt a run half-way."""
from mowsim.sweep import make_cell

SETTINGS = tuple(
    make_cell("slow", index, "bandit", {"noise_sd": 0.05 * index}, "dvao", setting={"noise_sd": 0.05 * index},
              steps=400, seeds=2)
    for index in range(24)
)
'''

# For the Dask tests: a study's own run_cell runs on the workers, which load it from MOWSIM_STUDIES as the client does.
GATED = '''
"""12 cells; after the first two have started, a cell waits until the file run/gate exists (a run to interrupt)."""
import os
import time
from pathlib import Path

import pandas as pd
from mowsim.sweep import make_cell

RUN = Path(__file__).parent / "run"  # tickets/N: the N-th cell to start, on any worker; gate: opened by the test
FREE = 2
SETTINGS = tuple(make_cell("gated", i, "bandit", {}, "rc", setting={"i": i}, steps=1, seeds=1) for i in range(12))


def _ticket():
    (RUN / "tickets").mkdir(parents=True, exist_ok=True)
    number = 0
    while True:
        try:  # O_EXCL: exactly one process gets each number
            os.close(os.open(RUN / "tickets" / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return number
        except FileExistsError:
            number += 1


def run_cell(cell):
    if _ticket() >= FREE:
        deadline = time.monotonic() + 120
        while not (RUN / "gate").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return pd.DataFrame({"study": cell.study, "cell_id": cell.id, "cell_key": cell.key(), "seed": [0, 1],
                         "value": [float(cell.index), -float(cell.index)]})
'''

CRASH = '''
"""Cells whose worker process dies (SIGKILL, as the out-of-memory killer sends) mid-cell: "once" on its first
attempt only, "always" on every attempt until the file run/healed exists."""
import os
import signal
from pathlib import Path

import pandas as pd
from mowsim.sweep import make_cell

RUN = Path(__file__).parent / "run"  # attempts/<index>.<pid>: one file per attempt
HOW = ("never", "once", "always", "never")
SETTINGS = tuple(make_cell("crash", i, "bandit", {}, "rc", setting={"crash": how}, steps=1, seeds=1)
                 for i, how in enumerate(HOW))


def run_cell(cell):
    how = dict(cell.setting)["crash"]
    attempts = RUN / "attempts"
    attempts.mkdir(parents=True, exist_ok=True)
    (attempts / f"{cell.index}.{os.getpid()}").touch()
    first = len(list(attempts.glob(f"{cell.index}.*"))) == 1
    if (how == "once" and first) or (how == "always" and not (RUN / "healed").exists()):
        os.kill(os.getpid(), signal.SIGKILL)
    return pd.DataFrame({"study": cell.study, "cell_id": cell.id, "cell_key": cell.key(), "seed": [0],
                         "value": [float(cell.index)]})
'''


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("studies")
    for name, source in (("tiny", TINY), ("broken", BROKEN), ("slow", SLOW), ("gated", GATED), ("crash", CRASH)):
        (root / name).mkdir()
        (root / name / "sweep.py").write_text(textwrap.dedent(source))
    (root / "_helpers").mkdir()  # not a study: private folders and folders without sweep.py are ignored
    (root / "notes").mkdir()
    return root


@pytest.fixture(scope="module", autouse=True)
def numba_cache_warm():
    """Compile the training loop once, here, so the worker processes the tests start load it from Numba's cache
    instead of each compiling it (minutes on a fresh checkout)."""
    sweep.run_cell(_cell())


@pytest.fixture(autouse=True)
def studies_env(studies, monkeypatch) -> Path:
    monkeypatch.setenv("MOWSIM_STUDIES", str(studies))
    return studies


def _env(studies) -> dict:
    return {**os.environ, "MOWSIM_STUDIES": str(studies)}


def _threads():
    return concurrent.futures.ThreadPoolExecutor(2)


def _cell(**changes) -> sweep.Cell:
    base = sweep.make_cell("demo", 0, "bandit", {"noise_sd": 0.5, "n_arms": 4}, "dvao",
                           setting={"noise_sd": 0.5}, steps=5, seeds=2, n_groups=8, group_size=4)
    return dataclasses.replace(base, **changes)


# --- cells and keys -------------------------------------------------------------------------------------------------


def test_cell_id_and_normalized_fields():
    cell = sweep.make_cell("demo", 3, "bandit", {"n_arms": 4, "noise_sd": [0.5, 0.1]}, "saw-grpo",
                           setting={"b": 1, "a": (1, 2)}, scheme_kwargs={"delta": 1e-6}, weights=[1, 2], lr=1)
    assert cell.id == "demo/3"
    assert cell.env_kwargs == (("n_arms", 4), ("noise_sd", (0.5, 0.1)))
    assert cell.setting == (("a", (1, 2)), ("b", 1))
    assert cell.weights == (1.0, 2.0) and isinstance(cell.lr, float)
    same = sweep.Cell("demo", 3, "bandit", (("noise_sd", (0.5, 0.1)), ("n_arms", 4)), "saw-grpo",
                      scheme_kwargs=(("delta", 1e-6),), weights=(1.0, 2.0), setting=(("b", 1), ("a", (1, 2))))
    assert same == cell and hash(same) == hash(cell) and same.key() == cell.key()
    assert cell.scaled(steps=3).steps == 3 and cell.scaled(steps=3).seeds == cell.seeds
    assert cell.scaled() == cell


@pytest.mark.parametrize("changes, match", [
    ({"env": "maze"}, "env must be one of"),
    ({"scheme": "nope"}, "unknown scheme"),
    ({"setting": {"seed": 1}}, "would overwrite result columns"),
    ({"env_kwargs": {"noise_sd": {"a": 1}}}, "JSON-able"),
    ({"study": "a/b"}, "without '/'"),
    ({"steps": 2.5}, "steps must be an int"),
])
def test_cell_rejects_bad_fields(changes, match):
    with pytest.raises(ValueError, match=match):
        _cell(**changes)


def test_key_changes_with_every_field():
    cell = _cell()
    other = {"study": "other", "index": 1, "env": "contextual", "env_kwargs": {"noise_sd": 0.25},
             "scheme": "gdpo", "scheme_kwargs": {"x": 1}, "seeds": 3, "steps": 6, "group_size": 5, "n_groups": 9,
             "lr": 0.5, "weights": (1.0, 2.0), "ddof": 1, "eps": 1e-4, "normalization": "batch",
             "setting": {"noise_sd": 0.25}}
    assert set(other) == {field.name for field in dataclasses.fields(sweep.Cell)}
    keys = {cell.key()}
    for name, value in other.items():
        keys.add(dataclasses.replace(cell, **{name: value}).key())
    assert len(keys) == len(other) + 1
    assert len(cell.key()) == 16 and int(cell.key(), 16) >= 0


def test_key_includes_the_mowsim_version(monkeypatch):
    before = _cell().key()
    monkeypatch.setattr(mowsim, "__version__", mowsim.__version__ + ".post1")
    assert _cell().key() != before


def test_key_is_stable_across_processes(studies_env):
    code = ("import json; from mowsim import sweep; "
            "print(json.dumps({c.id: c.key() for c in sweep.study_cells('tiny')}))")
    out = subprocess.run([sys.executable, "-c", code], env=_env(studies_env), capture_output=True, text=True,
                         check=True, timeout=120)
    assert json.loads(out.stdout) == {cell.id: cell.key() for cell in sweep.study_cells("tiny")}


def test_run_cell_is_the_history_plus_identity_and_setting_columns():
    cell = _cell(setting={"noise_sd": 0.5, "pair": (1, 2), "label": "a"})
    frame = sweep.run_cell(cell)
    assert list(frame.columns[:6]) == ["study", "cell_id", "cell_key", "label", "noise_sd", "pair"]
    assert {"scheme", "seed", "step", "objective", "expected_reward"} <= set(frame.columns)
    assert len(frame) == cell.seeds * (cell.steps + 1) * 2
    assert (frame["cell_id"] == "demo/0").all() and (frame["cell_key"] == cell.key()).all()
    assert (frame["pair"] == "(1, 2)").all() and (frame["noise_sd"] == 0.5).all()
    assert sorted(frame["seed"].unique()) == [0, 1]


# --- the store ------------------------------------------------------------------------------------------------------


def test_write_is_atomic(tmp_path, monkeypatch):
    frame = sweep.run_cell(_cell())
    path = tmp_path / "cells" / "abc.parquet"
    seen = []

    def crash_before_rename(src, dst):
        seen.append((Path(src), Path(dst).exists(), pd.read_parquet(src).shape))
        raise OSError("disk vanished between the write and the rename")

    monkeypatch.setattr(sweep.os, "replace", crash_before_rename)
    with pytest.raises(OSError, match="disk vanished"):
        sweep._write_atomic(frame, path)
    temp, final_existed, shape = seen[0]
    assert temp.parent == path.parent and not temp.name.endswith(".parquet")  # never read as a result
    assert not final_existed and shape == frame.shape  # the temp file was complete; the final name never existed
    assert list(path.parent.iterdir()) == []  # the temp file is gone too
    monkeypatch.undo()
    sweep._write_atomic(frame, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)
    assert [p.name for p in path.parent.iterdir()] == ["abc.parquet"]


def test_stale_temporaries_are_removed_and_never_read(tmp_path):
    cells_dir = tmp_path / "cells"
    cells_dir.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = cells_dir / f".0123456789abcdef.{dead.stdout.strip()}.x1y2.tmp"
    stale.write_bytes(b"half a parquet file")
    assert sweep.load_results(tmp_path).empty
    sweep.run_cells([_cell()], tmp_path, executor=_threads(), progress=False)
    assert not stale.exists()
    assert [p.suffix for p in cells_dir.iterdir()] == [".parquet"]


def test_resume_runs_only_the_missing_cell(tmp_path):
    cells = sweep.study_cells("tiny")
    first = sweep.run_cells(cells, tmp_path, executor=_threads(), progress=False)
    assert sorted(first.completed) == sorted(c.id for c in cells) and first.skipped == [] and first.ok
    (tmp_path / "cells" / f"{cells[4].key()}.parquet").unlink()
    second = sweep.run_cells(cells, tmp_path, executor=_threads(), progress=False)
    assert second.completed == ["tiny/4"]
    assert sorted(second.skipped) == sorted(c.id for c in cells if c.id != "tiny/4")
    pd.testing.assert_frame_equal(second.results, first.results, check_exact=True)
    # The order of the cells, and which of them were run when, do not change the table.
    shuffled = sweep.load_results(tmp_path, cells[::-1])
    pd.testing.assert_frame_equal(shuffled, first.results, check_exact=True)


def test_changed_setting_invalidates_only_its_cell(tmp_path):
    cells = sweep.study_cells("tiny")
    sweep.run_cells(cells, tmp_path, executor=_threads(), progress=False)
    changed = list(cells)
    changed[2] = dataclasses.replace(cells[2], steps=6)
    report = sweep.run_cells(changed, tmp_path, executor=_threads(), progress=False)
    assert report.completed == ["tiny/2"] and len(report.skipped) == len(cells) - 1
    assert report.results.loc[report.results["cell_id"] == "tiny/2", "step"].max() == 6
    with pytest.raises(ValueError, match="share the id"):
        sweep.run_cells(cells + changed, tmp_path, executor=_threads(), progress=False)


def test_load_results_strict_names_missing_cells(tmp_path):
    cells = sweep.study_cells("tiny")
    sweep.run_cells(cells[:2], tmp_path, executor=_threads(), progress=False)
    assert set(sweep.load_results(tmp_path, cells)["cell_id"]) == {"tiny/0", "tiny/1"}
    with pytest.raises(ValueError, match="tiny/2"):
        sweep.load_results(tmp_path, cells, strict=True)


# --- executors and failures -----------------------------------------------------------------------------------------


def test_thread_pool_executor_works(tmp_path):
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        report = sweep.run_study("tiny", tmp_path, executor=executor, progress=False)
    assert report.ok and sorted(report.completed) == [f"tiny/{i}" for i in range(6)]
    assert set(report.results["cell_id"]) == set(report.completed)
    stored = pd.read_parquet(tmp_path / "tiny" / "results.parquet")
    pd.testing.assert_frame_equal(stored, report.results, check_exact=True)


def test_failing_cell_is_reported_and_the_others_complete(tmp_path, capsys):
    report = sweep.run_study("broken", tmp_path, executor=_threads(), progress=True)
    assert sorted(report.completed) == ["broken/0", "broken/2"] and list(report.failures) == ["broken/1"]
    trace = report.failures["broken/1"]
    assert "Traceback" in trace and "n_arms" in trace and "ValueError" in trace
    assert "cell broken/1 failed" in capsys.readouterr().err
    assert set(report.results["cell_id"]) == {"broken/0", "broken/2"}
    # The stored cells are the two that ran: results.parquet holds them (run_study consolidates their files).
    stored = {p.stem for p in (tmp_path / "broken" / "cells").iterdir()}
    stored |= set(pd.read_parquet(tmp_path / "broken" / "results.parquet")["cell_key"])
    assert sorted(stored) == sorted(c.key() for c in sweep.study_cells("broken") if c.index != 1)


def test_default_process_pool_agrees_with_threads_and_reports_failures(tmp_path):
    threads = sweep.run_study("broken", tmp_path / "threads", executor=_threads(), progress=False)
    processes = sweep.run_study("broken", tmp_path / "processes", max_workers=2, progress=False)
    assert sorted(processes.completed) == ["broken/0", "broken/2"]
    assert "n_arms" in processes.failures["broken/1"]  # the worker's traceback crosses the process boundary
    pd.testing.assert_frame_equal(processes.results, threads.results, check_exact=True)


def test_interrupt_with_any_executor_keeps_finished_cells_and_cancels_the_rest(tmp_path, monkeypatch):
    real = sweep.run_cell
    release = threading.Event()

    def interrupted_at_cell_3(cell):
        if cell.index == 3:
            raise KeyboardInterrupt
        if cell.index > 3:  # still running when the interrupt is handled, whatever the thread timing
            release.wait(30)
        return real(cell)

    monkeypatch.setattr(sweep, "run_cell", interrupted_at_cell_3)
    cells = sweep.study_cells("tiny")
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        with pytest.raises(KeyboardInterrupt):
            sweep.run_cells(cells, tmp_path, executor=executor, progress=False)
        release.set()
    stored = {p.stem for p in (tmp_path / "cells").iterdir()}
    assert stored == {c.key() for c in cells[:3]}  # 0-2 kept; 3 interrupted; 4 running (lost) or cancelled, 5 too
    monkeypatch.undo()
    report = sweep.run_cells(cells, tmp_path, executor=_threads(), progress=False)
    assert sorted(report.completed) == ["tiny/3", "tiny/4", "tiny/5"] and len(report.skipped) == 3


# A child process interrupts many sweeps at random moments. Before signals were deferred to one point of the sweep
# loop, the KeyboardInterrupt raised by the handler landed anywhere, e.g. inside _write_atomic before its try, and
# about one interrupt in thirty left a temporary file behind.
STRESS = r'''
import concurrent.futures, os, random, signal, sys, threading, time
from pathlib import Path
import pandas as pd
from mowsim import sweep

out, rounds = Path(sys.argv[1]), int(sys.argv[2])
signal.signal(signal.SIGINT, signal.default_int_handler)  # a runner may start us with SIGINT ignored
base = sweep.run_cell(sweep.make_cell("stress", 0, "bandit", {"n_arms": 4}, "rc", setting={}, steps=2, seeds=1,
                                      n_groups=2, group_size=2))
cells = [sweep.make_cell("stress", i, "bandit", {"n_arms": 4}, "rc", setting={"i": i}, steps=2, seeds=1,
                         n_groups=2, group_size=2) for i in range(30)]
started, sent = threading.Event(), threading.Event()

def fake(cell):  # a precomputed frame: the cost of a cell is its write
    started.set()  # the sweep loop runs (a signal before it is Python's to handle, not the sweep's)
    if cell.index == len(cells) - 1:
        sent.wait(30)  # the sweep is still running when the signal arrives, whatever the timing
    return base.assign(cell_key=cell.key(), cell_id=cell.id), None

def fire(how, delay):
    started.wait(30)
    time.sleep(delay)
    os.kill(os.getpid(), how)
    sent.set()

sweep._run_cell_captured = fake
rng = random.Random(0)
for r in range(rounds):
    started.clear()
    sent.clear()
    how = (signal.SIGTERM, signal.SIGINT)[r % 2]
    timer = threading.Thread(target=fire, args=(how, rng.uniform(0.0, 0.08)))
    timer.start()
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        try:
            sweep.run_cells(cells, out / str(r), executor=executor, progress=False)
        except KeyboardInterrupt as err:
            assert str(err) == f"signal {how}", err
        else:
            raise AssertionError("the sweep finished without seeing the signal")
        sent.set()
    timer.join()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    files = list((out / str(r) / "cells").iterdir())
    assert all(p.suffix == ".parquet" for p in files), files  # no temporary left behind
    for path in files:
        pd.read_parquet(path)  # every stored file is complete
print("ok")
'''


@pytest.mark.slow
def test_signals_at_random_moments_always_stop_the_sweep_cleanly(tmp_path):
    """40 sweeps, each interrupted by SIGTERM or Ctrl-C at a random moment: each stops at once, keeps a valid store,
    and puts back the signal handlers it found."""
    done = subprocess.run([sys.executable, "-c", STRESS, str(tmp_path), "40"], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


MID_SEND = r'''
import concurrent.futures, time
from mowsim import sweep

for attempt in range(5):  # a loaded machine may let a whole send finish before the parent acts: then try again
    pool = sweep.process_pool(1)
    future = pool.submit(bytes, 256 * 2**20)  # a 256 MiB result: its send takes thousands of pipe-fulls
    reader = pool._result_queue._reader
    deadline = time.monotonic() + 60
    while not reader.poll(0.0005) and not future.done():  # wait for the worker to begin its send
        assert time.monotonic() < deadline, "the worker never sent its result"
    sweep._stop_pool(pool)  # kills the worker, half-way through the message unless it was done; must return
    if isinstance(future.exception(), concurrent.futures.process.BrokenProcessPool):
        break
    assert future.result() == bytes(256 * 2**20)  # the send had finished: nothing was interrupted
else:
    raise AssertionError("every send finished before the parent could interrupt it")
print("ok")
'''


def test_a_worker_killed_while_sending_its_result_does_not_hang_the_stop():
    """The pool's manager thread, reading half a message, gets EOF instead of waiting for the rest forever (this hung
    ``mowsim study`` on SIGTERM about one time in forty)."""
    done = subprocess.run([sys.executable, "-c", MID_SEND], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_one_signal_is_recorded_a_second_one_raises():
    wake = queue.SimpleQueue()
    interrupts = sweep._Interrupts(wake)
    interrupts(signal.SIGTERM, None)  # never raises: the sweep loop acts on it
    assert interrupts.signum == signal.SIGTERM and wake.get_nowait() is None
    with pytest.raises(KeyboardInterrupt, match="a second time"):
        interrupts(signal.SIGINT, None)


def test_signal_handlers_are_caught_only_for_the_sweep_and_custom_ones_are_kept():
    def custom(signum, frame):
        pass

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    try:
        for signum in before:
            signal.signal(signum, defaults[signum])
        with sweep._catch_interrupts(queue.SimpleQueue()) as interrupts:
            assert signal.getsignal(signal.SIGTERM) is interrupts and signal.getsignal(signal.SIGINT) is interrupts
        assert {signum: signal.getsignal(signum) for signum in before} == defaults
        for other in (custom, signal.SIG_IGN):  # a notebook's, a framework's or an ignored signal stays so
            for signum in before:
                signal.signal(signum, other)
                with sweep._catch_interrupts(queue.SimpleQueue()) as interrupts:
                    assert signal.getsignal(signum) is other
                    assert signal.getsignal(({*before} - {signum}).pop()) is interrupts
                signal.signal(signum, defaults[signum])
        seen = []
        worker = threading.Thread(target=lambda: seen.append(_installed_in_thread()))
        worker.start()
        worker.join()
        assert seen == [signal.SIG_DFL]  # off the main thread nothing is installed (Python allows handlers there only)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _installed_in_thread():
    with sweep._catch_interrupts(queue.SimpleQueue()):
        return signal.getsignal(signal.SIGTERM)


# The process pool, interrupted twice (the second time while it stops) and once as the sweep ends.
LATE_AND_TWICE = r'''
import multiprocessing, signal, sys, time
from pathlib import Path
from mowsim import sweep

out = Path(sys.argv[1])
signal.signal(signal.SIGINT, signal.default_int_handler)  # a runner may start us with SIGINT ignored
cells = [sweep.make_cell("late", i, "bandit", {}, "rc", setting={"i": i}, steps=6000, seeds=2) for i in range(60)]
real_write, writes, first = sweep._write_atomic, [], []  # a cell trains ~0.4 s: the rest would take 12 s

def slow_write(frame, path):
    writes.append(path)
    if len(writes) == 1:
        first.append(time.monotonic())
        signal.raise_signal(signal.SIGTERM)  # the first signal, while the first result is being stored
        time.sleep(1.5)  # meanwhile the running worker finishes its next cell, for the stop to store
    elif len(writes) == 2:
        signal.raise_signal(signal.SIGTERM)  # the second, while the stop stores what had finished
    real_write(frame, path)

sweep._write_atomic = slow_write
try:
    sweep.run_cells(cells, out / "twice", max_workers=2, progress=False)
except KeyboardInterrupt as err:
    assert "a second time" in str(err), err
else:
    raise AssertionError("the sweep ignored two signals")
took = time.monotonic() - first[0]
assert multiprocessing.active_children() == [], multiprocessing.active_children()  # the workers were killed
assert took < 5 and len(writes) == 2, (took, len(writes))  # the stop neither stored nor ran the rest
assert len(list((out / "twice" / "cells").glob("*.parquet"))) == 1

# A signal while the progress bar closes, after the loop's last look: still an interrupt, never swallowed.
sweep._write_atomic = real_write
from tqdm import auto
real_close = auto.tqdm.close

def close(self):
    if not self.disable or getattr(self, "signalled", False):
        return real_close(self)
    self.signalled = True  # once: tqdm closes again when the bar is collected
    signal.raise_signal(signal.SIGINT)
    real_close(self)

auto.tqdm.close = close
try:
    sweep.run_cells(cells[:4], out / "late", max_workers=1, progress=False)
except KeyboardInterrupt as err:
    assert str(err) == f"signal {int(signal.SIGINT)}", err
else:
    raise AssertionError("the signal was swallowed")
assert len(list((out / "late" / "cells").glob("*.parquet"))) == 4
print("ok")
'''


@pytest.mark.slow
def test_a_second_signal_stops_at_once_and_a_late_one_is_not_lost(tmp_path):
    done = subprocess.run([sys.executable, "-c", LATE_AND_TWICE, str(tmp_path)], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_a_worker_with_another_mowsim_version_is_reported(tmp_path, monkeypatch):
    real = sweep.run_cell

    def other_version(cell):
        return real(cell).assign(cell_key="0" * 16)

    monkeypatch.setattr(sweep, "run_cell", other_version)
    report = sweep.run_cells([_cell()], tmp_path, executor=_threads(), progress=False)
    assert "another mowsim version" in report.failures["demo/0"] and report.completed == []
    assert list((tmp_path / "cells").iterdir()) == []


# --- studies --------------------------------------------------------------------------------------------------------


def test_study_discovery_quick_and_testing(studies_env):
    assert sweep.available_studies() == ["broken", "crash", "gated", "slow", "tiny"]
    with pytest.raises(ValueError, match="available in .*broken, crash, gated, slow, tiny"):
        sweep.load_study("nope")
    assert [c.id for c in sweep.study_cells("tiny", testing=True)] == ["tiny/0", "tiny/3"]
    quick = sweep.study_cells("slow", quick=True)
    assert all(c.steps == sweep.QUICK_STEPS and c.seeds == sweep.QUICK_SEEDS for c in quick)
    assert [c.id for c in quick] == [c.id for c in sweep.study_cells("slow")]
    with pytest.raises(ValueError, match="defines no TESTING"):
        sweep.study_cells("slow", testing=True)


def test_study_module_contract_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("MOWSIM_STUDIES", str(tmp_path))
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "sweep.py").write_text(textwrap.dedent('''
        from mowsim.sweep import make_cell
        SETTINGS = tuple(make_cell("custom", i, "bandit", {}, "rc", setting={"i": i}, steps=5) for i in range(3))
        QUICK = {"steps": 2, "seeds": 1}
        TESTING = ("custom/1", "custom/9")
    '''))
    (tmp_path / "misnumbered").mkdir()
    (tmp_path / "misnumbered" / "sweep.py").write_text(
        "from mowsim.sweep import make_cell\n"
        "SETTINGS = (make_cell('misnumbered', 1, 'bandit', {}, 'rc', setting={}),)\n")
    assert sweep.available_studies() == ["custom", "misnumbered"]
    assert {(c.steps, c.seeds) for c in sweep.study_cells("custom", quick=True)} == {(2, 1)}
    with pytest.raises(ValueError, match=r"custom/9"):
        sweep.study_cells("custom", testing=True)
    with pytest.raises(ValueError, match=r"expected misnumbered/0"):
        sweep.study_cells("misnumbered")


# --- the command line -----------------------------------------------------------------------------------------------


def test_cli_runs_resumes_lists_and_reports_failures(tmp_path, capsys):
    sweep.run_study("tiny", tmp_path, testing=True, executor=_threads(), progress=False)
    assert cli.main(["study", "tiny", "--testing", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "tiny: 0 run, 2 skipped" in out and str(tmp_path / "tiny" / "results.parquet") in out

    assert cli.main(["study", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "6 cells" in listing and "A tiny fake study" in listing

    assert cli.main(["study", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown study 'nope'" in capsys.readouterr().err

    assert cli.main(["study", "broken", "--out", str(tmp_path), "--workers", "1", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "broken: 2 run, 0 skipped (already stored), 1 failed" in captured.out
    assert "failed broken/1" in captured.err and "n_arms" in captured.err


def test_cli_dask_without_distributed_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` raise ImportError
    assert cli.main(["study", "tiny", "--dask", "local", "--out", str(tmp_path)]) == 2
    assert "pip install 'mowsim[dask]'" in capsys.readouterr().err


def _distributed():
    """The distributed package; a skip without the dask extra, a failure where MOWSIM_REQUIRE_DASK=1 (make test)."""
    try:
        import distributed
    except ImportError as err:
        if os.environ.get("MOWSIM_REQUIRE_DASK") == "1":
            pytest.fail(f"MOWSIM_REQUIRE_DASK=1 but distributed does not import ({err}): pip install -e '.[dask]'")
        pytest.skip("the dask extra is not installed (pip install 'mowsim[dask]')")
    return distributed


def test_cli_dask_local(tmp_path, capsys):
    _distributed()
    code = cli.main(["study", "tiny", "--testing", "--dask", "local", "--workers", "1", "--out",
                     str(tmp_path / "dask"), "--no-progress"])
    assert code == 0 and "tiny: 2 run" in capsys.readouterr().out
    local = sweep.run_study("tiny", tmp_path / "threads", testing=True, executor=_threads(), progress=False)
    dask_table = pd.read_parquet(tmp_path / "dask" / "tiny" / "results.parquet")
    pd.testing.assert_frame_equal(dask_table, local.results, check_exact=True)


# --- interrupted runs -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, studies) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("uninterrupted")
    with pytest.MonkeyPatch.context() as patch, concurrent.futures.ThreadPoolExecutor(2) as executor:
        patch.setenv("MOWSIM_STUDIES", str(studies))
        return sweep.run_study("slow", out, executor=executor, progress=False).results


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_interrupted_study_resumes_to_an_identical_table(how, tmp_path, studies_env, uninterrupted):
    """Interrupt ``mowsim study`` mid-way, rerun it, and get exactly the table of an uninterrupted run.

    The signal goes to the whole process group, as Ctrl-C in a terminal, a batch system's SIGTERM, or a node's
    death would: the parent and its worker processes alike.
    """
    cells_dir = tmp_path / "slow" / "cells"
    command = [sys.executable, "-m", "mowsim.cli", "study", "slow", "--out", str(tmp_path), "--workers", "1"]
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # the child gets SIG_DFL, even if the
    try:                                                                   # test runner was started ignoring SIGINT
        proc = subprocess.Popen(command, env=_env(studies_env), start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if cells_dir.exists() and any(cells_dir.glob("*.parquet")):
                break
            time.sleep(0.005)
        os.killpg(proc.pid, getattr(signal, how))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stored = sorted(p.name for p in cells_dir.glob("*.parquet"))
    assert 0 < len(stored) < 24, f"the run was not caught mid-way ({len(stored)} of 24 cells stored)"
    if how == "SIGKILL":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, err
        assert "interrupted; the finished cells are stored" in err
        assert [p.name for p in cells_dir.iterdir() if not p.name.endswith(".parquet")] == []
    for path in cells_dir.glob("*.parquet"):
        pd.read_parquet(path)  # every stored file is complete

    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        resumed = sweep.run_study("slow", tmp_path, executor=executor, progress=False)
    assert sorted(resumed.skipped) == sorted(c.id for c in sweep.study_cells("slow")
                                             if f"{c.key()}.parquet" in stored)
    assert len(resumed.completed) == 24 - len(stored) and resumed.ok
    pd.testing.assert_frame_equal(resumed.results, uninterrupted, check_exact=True)


# --- a real Dask cluster --------------------------------------------------------------------------------------------
# One LocalCluster for the module (starting one costs seconds): two worker processes with one thread each, as
# docs/CLUSTER.md recommends. A cell whose worker dies is retried once on another worker (allowed_failures=1; Dask's
# default is 3), then reported as KilledWorker. Every wait below is a poll with a generous deadline.


@pytest.fixture(scope="module")
def dask_client(studies):
    distributed = _distributed()
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR, scheduler_kwargs={"allowed_failures": 1},
                                       env={"MOWSIM_STUDIES": str(studies)})  # the workers load the studies too
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(2, timeout=120)
        yield client
    finally:
        client.close()
        cluster.close()


def _wait_until(condition, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting until {what}"
        time.sleep(0.1)


def _scheduler_tasks(client, prefix: str) -> list:
    return client.run_on_scheduler(
        lambda dask_scheduler: [str(key) for key in dask_scheduler.tasks if str(key).startswith(prefix)])


def _store(out_dir) -> dict:
    """The cell files: name -> bytes; asserts that nothing else (a temporary file) is there."""
    files = list((Path(out_dir) / "cells").iterdir())
    assert all(p.suffix == ".parquet" and not p.name.startswith(".") for p in files), files
    return {p.name: p.read_bytes() for p in files}


def test_dask_local_cluster_gives_the_local_table(tmp_path, dask_client):
    local = sweep.run_study("tiny", tmp_path / "local", executor=_threads(), progress=False)
    report = sweep.run_study("tiny", tmp_path / "dask", executor=dask_client.get_executor(), progress=False)
    assert report.ok and sorted(report.completed) == [f"tiny/{i}" for i in range(6)]
    pd.testing.assert_frame_equal(report.results, local.results, check_exact=True)
    stored = pd.read_parquet(tmp_path / "dask" / "tiny" / "results.parquet")
    pd.testing.assert_frame_equal(stored, local.results, check_exact=True)
    assert _store(tmp_path / "dask" / "tiny") == _store(tmp_path / "local" / "tiny")  # the cell files, byte for byte
    assert _scheduler_tasks(dask_client, "mowsim-cell-tiny-") == []  # nothing left behind on the cluster


def test_interrupted_dask_run_cancels_the_rest_and_resumes(tmp_path, studies_env, dask_client, monkeypatch, capsys):
    """SIGINT after two cells are stored: the tasks not yet started are cancelled on the scheduler and never start,
    the two cells stay stored, and rerunning the command (through the CLI, on the same cluster) runs only the ten
    missing cells; the merged table equals a local run's."""
    run = studies_env / "gated" / "run"
    cells = sweep.study_cells("gated")
    real_write, writes = sweep._write_atomic, []

    def write_then_interrupt(frame, path):
        real_write(frame, path)
        writes.append(path)
        if len(writes) == 2:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C would; the sweep acts on it before its next result

    monkeypatch.setattr(sweep, "_write_atomic", write_then_interrupt)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # the runner may have SIGINT ignored
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep.run_study("gated", tmp_path, executor=dask_client.get_executor(), progress=False)
    finally:
        signal.signal(signal.SIGINT, inherited)
        monkeypatch.setattr(sweep, "_write_atomic", real_write)
    try:
        stored = _store(tmp_path / "gated")
        assert len(stored) == 2  # the two free cells; every other one started waits at the gate, or never started
        # Cancelled on the scheduler: nothing of this run is left there to start later.
        _wait_until(lambda: _scheduler_tasks(dask_client, "mowsim-cell-gated-") == [], "the tasks are cancelled")
        started = sorted((run / "tickets").iterdir())
        assert len(started) <= 4, started  # the two stored, plus at most the one running on each worker
    finally:
        (run / "gate").touch()  # lets the cells still running on the workers finish (Dask drops their results)
    _wait_until(lambda: sum(dask_client.run(lambda dask_worker: len(dask_worker.state.executing)).values()) == 0,
                "the workers are idle")
    assert len(list((run / "tickets").iterdir())) == len(started)  # no cancelled cell started afterwards

    address = dask_client.scheduler.address
    assert cli.main(["study", "gated", "--dask", address, "--out", str(tmp_path), "--no-progress"]) == 0
    assert "gated: 10 run, 2 skipped (already stored), 0 failed" in capsys.readouterr().out
    # Nothing stored was lost or rewritten: results.parquet, which replaces the cell files, holds them as they were.
    merged = pd.read_parquet(tmp_path / "gated" / "results.parquet")
    for name, data in stored.items():
        kept = pd.read_parquet(io.BytesIO(data))
        rows = merged[merged["cell_key"] == Path(name).stem].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, kept, check_exact=True, check_dtype=False, check_categorical=False)
    local = sweep.run_study("gated", tmp_path / "local", executor=_threads(), progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "gated" / "results.parquet"), local.results,
                                  check_exact=True)


def test_dask_worker_dying_mid_cell(tmp_path, studies_env, dask_client):
    """A worker killed mid-cell: Dask runs the cell again on another worker, and it is stored once. A cell that kills
    every worker it runs on is a failed cell with a message and Dask's traceback; nothing of it is stored, the other
    cells are, and a rerun computes it."""
    run = studies_env / "crash" / "run"
    cells = {cell.id: cell for cell in sweep.study_cells("crash")}
    once = sweep.run_cells([cells["crash/0"], cells["crash/1"], cells["crash/3"]], tmp_path,
                           executor=dask_client.get_executor(), progress=False)
    assert once.ok and sorted(once.completed) == ["crash/0", "crash/1", "crash/3"]
    assert len(list((run / "attempts").glob("1.*"))) == 2  # killed on its first attempt, done on its second
    assert len(_store(tmp_path)) == 3

    always = sweep.run_cells([cells["crash/2"]], tmp_path, executor=dask_client.get_executor(), progress=False)
    assert always.completed == [] and list(always.failures) == ["crash/2"]
    message = always.failures["crash/2"]
    assert "the worker running crash/2 died" in message and "a rerun runs it again" in message
    assert "KilledWorker" in message and "Traceback" in message
    assert len(list((run / "attempts").glob("2.*"))) == 2  # tried on two workers (allowed_failures=1)
    assert len(_store(tmp_path)) == 3  # nothing of crash/2, and no temporary file

    (run / "healed").touch()
    rerun = sweep.run_cells(list(cells.values()), tmp_path, executor=dask_client.get_executor(), progress=False)
    assert rerun.ok and rerun.completed == ["crash/2"] and sorted(rerun.skipped) == ["crash/0", "crash/1", "crash/3"]
    assert len(list((run / "attempts").glob("2.*"))) == 3
    assert rerun.results.groupby("cell_id", observed=True)["value"].first().to_dict() == {
        "crash/0": 0.0, "crash/1": 1.0, "crash/2": 2.0, "crash/3": 3.0}
