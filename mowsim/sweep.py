"""Resumable sweeps: a study is a tuple of :class:`Cell`; cells run on any ``concurrent.futures.Executor``.

A :class:`Cell` is one point of a study's grid: an environment, a scheme, training hyper-parameters and the swept
knobs (``setting``) that describe it. Its :meth:`Cell.key` hashes every field plus ``mowsim.__version__``, and its
result is stored as ``cells/<key>.parquet``. So

- a rerun skips every stored cell: an interrupted study resumes where it stopped;
- changing one setting invalidates that cell alone (its key changes); a new mowsim version invalidates all;
- each file is written to a temporary name in the same folder and renamed (``os.replace``), so a file under its
  final name is always complete, whatever kills the process;
- :func:`load_results` merges the files in a fixed order, so a study run in pieces, resumed, or spread over a
  cluster gives a table identical to one uninterrupted run.

The parallelism is across cells (each cell trains its seeds serially): the default is a local process pool, and any
other Executor works, e.g. ``distributed.Client(address).get_executor()`` for a Dask cluster (docs/CLUSTER.md).

A study lives in ``studies/<name>/sweep.py`` and defines ``SETTINGS`` (a tuple of cells, ``SETTINGS[i].index ==
i``), optionally ``TESTING`` (cell ids for CI) and ``QUICK`` (cells, or a dict of :meth:`Cell.scaled` arguments).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import multiprocessing
import numbers
import os
import queue
import signal
import sys
import tempfile
import threading
import traceback
import uuid
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

import mowsim
from mowsim import envs, schemes, validation
from mowsim.train import HISTORY_COLUMNS, train_many

__all__ = [
    "Cell",
    "SweepReport",
    "make_cell",
    "run_cell",
    "train_cell",
    "run_cells",
    "load_results",
    "load_study",
    "available_studies",
    "study_cells",
    "run_study",
    "studies_dir",
    "use_study_path",
    "process_pool",
    "compact",
    "storage_version",
    "STORAGE_FORMAT",
    "FLOAT32_COLUMNS",
    "ENVIRONMENTS",
    "ID_COLUMNS",
    "QUICK_STEPS",
    "QUICK_SEEDS",
]

ENVIRONMENTS = {
    "bandit": envs.Bandit,
    "contextual": envs.ContextualBandit,
    "sequence": envs.SequenceTask,
}
"""Cell.env name -> environment dataclass."""

QUICK_STEPS = 50
QUICK_SEEDS = 2
"""``--quick`` caps every cell of a study without ``QUICK`` at this many steps and seeds."""

ID_COLUMNS = ("study", "cell_id", "cell_key")
"""The columns :func:`run_cell` puts in front of the training history."""

_POLL_S = 1.0  # the sweep loop looks at the signals it caught at least this often (seconds)


def _plain(value, where: str):
    """``value`` as a hashable, JSON-able plain Python value: lists become tuples, numpy scalars Python ones."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_plain(v, where) for v in value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueError(
        f"{where} must be JSON-able scalars (bool, int, float, str, None) or tuples of them; got {value!r} "
        f"({type(value).__name__})."
    )


def _pairs(value, where: str) -> tuple:
    """A dict or iterable of (name, value) pairs as a sorted tuple of pairs with plain values."""
    items = value.items() if isinstance(value, Mapping) else value
    pairs = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError(f"{where} must be a dict or (name, value) pairs with str names; got item {item!r}.")
        pairs.append((item[0], _plain(item[1], f"{where}[{item[0]!r}]")))
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"{where} names a knob twice: {sorted(names)}.")
    return tuple(sorted(pairs))


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Cell:
    """One point of a study: train ``scheme`` on ``env(**env_kwargs)`` for ``seeds`` seeds.

    Dicts and lists passed for the tuple fields are normalized (sorted pairs, tuples, plain Python scalars), so
    equal configurations compare, hash and key equal. The environment itself is built only when the cell runs, so
    an invalid knob fails that cell alone.

    Attributes
    ----------
    study : str
        The study's name, e.g. ``"noise_robustness"``.
    index : int
        Position in the study's ``SETTINGS``; :attr:`id` is ``f"{study}/{index}"``.
    env : {"bandit", "contextual", "sequence"}
    env_kwargs : tuple of (str, value)
        Fields of the environment dataclass.
    scheme : str
        A registered scheme name (:func:`mowsim.schemes.available`).
    scheme_kwargs : tuple of (str, value)
        Passed to :func:`mowsim.schemes.get`.
    seeds, steps, group_size, n_groups, lr, weights, ddof, eps, normalization
        Passed to :func:`mowsim.train.train_many` (``seeds`` is a count: seeds ``0..seeds-1``). ``normalization``
        enters :meth:`key` only when it is not the default ``"group"``, so the cells of studies that do not set
        it keep their keys (a Point passes it in its ``train`` dict).
    setting : tuple of (str, value)
        The swept knobs, copied as columns into the result (tuple values as their ``str``).
    """

    study: str
    index: int
    env: str
    env_kwargs: tuple
    scheme: str
    scheme_kwargs: tuple = ()
    seeds: int = 8
    steps: int = 200
    group_size: int = 16
    n_groups: int = 64
    lr: float = 1.0
    weights: tuple | None = None
    ddof: int = 0
    eps: float = 0.0
    normalization: str = "group"
    setting: tuple = ()

    def __post_init__(self):
        if not isinstance(self.study, str) or not self.study or "/" in self.study:
            raise ValueError(f"study must be a non-empty name without '/'; got {self.study!r}.")
        if isinstance(self.index, bool) or not isinstance(self.index, numbers.Integral) or self.index < 0:
            raise ValueError(f"index must be a non-negative int (the position in SETTINGS); got {self.index!r}.")
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"{self.id}: env must be one of {sorted(ENVIRONMENTS)}; got {self.env!r}.")
        if not isinstance(self.scheme, str) or self.scheme.lower() not in schemes.available():
            raise ValueError(
                f"{self.id}: unknown scheme {self.scheme!r}; expected one of: {', '.join(schemes.available())}."
            )
        object.__setattr__(self, "index", int(self.index))
        object.__setattr__(self, "env_kwargs", _pairs(self.env_kwargs, f"{self.id}: env_kwargs"))
        object.__setattr__(self, "scheme_kwargs", _pairs(self.scheme_kwargs, f"{self.id}: scheme_kwargs"))
        object.__setattr__(self, "setting", _pairs(self.setting, f"{self.id}: setting"))
        for name in ("seeds", "steps", "group_size", "n_groups", "ddof"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{self.id}: {name} must be an int; got {value!r}.")
            object.__setattr__(self, name, int(value))
        for name in ("lr", "eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"{self.id}: {name} must be a number; got {value!r}.")
            object.__setattr__(self, name, float(value))
        try:
            validation.check_normalization(self.normalization, self.scheme.lower())
        except ValueError as err:
            raise ValueError(f"{self.id}: {err}") from None
        if self.weights is not None:
            object.__setattr__(self, "weights", tuple(float(w) for w in _plain(self.weights, f"{self.id}: weights")))
        reserved = set(ID_COLUMNS) | set(HISTORY_COLUMNS)
        clashes = sorted(name for name, _ in self.setting if name in reserved)
        if clashes:
            raise ValueError(
                f"{self.id}: setting knobs {clashes} would overwrite result columns of the same name (the history "
                f"already has {', '.join(HISTORY_COLUMNS[:6])}, ...). Rename them, e.g. 'scheme' -> 'method'."
            )

    @property
    def id(self) -> str:
        """The readable id, ``"study/index"``."""
        return f"{self.study}/{self.index}"

    def key(self) -> str:
        """16 hex digits of the sha256 of every field and ``mowsim.__version__``: the cell's file name.

        ``normalization`` is left out while it is ``"group"`` (the default, which every cell had before the field
        existed), so those cells keep their keys and stored results."""
        fields = {field.name: _jsonable(getattr(self, field.name)) for field in dataclasses.fields(self)}
        if fields.get("normalization") == "group":
            del fields["normalization"]
        payload = {"mowsim": mowsim.__version__, "cell": fields}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def env_instance(self):
        """The environment dataclass built from ``env_kwargs`` (validated by the environment itself)."""
        return ENVIRONMENTS[self.env](**dict(self.env_kwargs))

    def scaled(self, *, steps: int | None = None, seeds: int | None = None) -> "Cell":
        """A copy with fewer ``steps`` or ``seeds`` (None keeps the field), e.g. for ``--quick``."""
        changes = {name: value for name, value in (("steps", steps), ("seeds", seeds)) if value is not None}
        return dataclasses.replace(self, **changes)


def make_cell(study: str, index: int, env: str, env_kwargs: dict, scheme: str, *, setting: dict,
              scheme_kwargs: dict | None = None, **train_kwargs) -> Cell:
    """Build a :class:`Cell` from dicts; ``train_kwargs`` are its training fields (seeds, steps, lr, ...).

    >>> make_cell("demo", 0, "bandit", {"noise_sd": 0.5}, "dvao", setting={"noise_sd": 0.5}, steps=5).id
    'demo/0'
    """
    return Cell(study=study, index=index, env=env, env_kwargs=env_kwargs, scheme=scheme,
                scheme_kwargs=scheme_kwargs or (), setting=setting, **train_kwargs)


def _setting_value(value):
    # A tuple would come back from Parquet as an array; its str stays hashable for groupby and seaborn's hue.
    return str(value) if isinstance(value, tuple) else value


def run_cell(cell: Cell) -> pd.DataFrame:
    """Train one cell: its history plus the columns ``study``, ``cell_id``, ``cell_key`` and one per setting knob.

    The seeds run serially in this process (``parallel=False``); a sweep parallelizes across cells. A study whose
    ``sweep.py`` defines its own ``run_cell(cell)`` (e.g. the ``overhead`` timing study) is run with that instead,
    and a Cell subclass with a ``run()`` method (the LLM runs of :mod:`mowsim.llm.transfer`) runs itself.
    """
    if callable(getattr(cell, "run", None)):
        return cell.run()
    custom = getattr(_study_module_or_none(cell.study), "run_cell", None)
    if custom is not None:
        return custom(cell)
    return train_cell(cell)


def train_cell(cell: Cell, **train_options) -> pd.DataFrame:
    """The default :func:`run_cell`: train the cell's seeds serially and return the history with the cell columns.

    ``train_options`` go to :func:`mowsim.train.train_many` on top of the cell's fields (a study's own ``run_cell``
    passes e.g. ``set_metrics=True``).
    """
    result = train_many(
        cell.env_instance(),
        schemes.get(cell.scheme, **dict(cell.scheme_kwargs)),
        seeds=cell.seeds,
        steps=cell.steps,
        group_size=cell.group_size,
        n_groups=cell.n_groups,
        lr=cell.lr,
        weights=None if cell.weights is None else list(cell.weights),
        ddof=cell.ddof,
        eps=cell.eps,
        normalization=cell.normalization,
        parallel=False,
        **train_options,
    )
    frame = result.history
    front = [("study", cell.study), ("cell_id", cell.id), ("cell_key", cell.key())]
    front += [(name, _setting_value(value)) for name, value in cell.setting]
    for position, (name, value) in enumerate(front):
        frame.insert(position, name, value)
    return frame


def _study_module_or_none(name: str):
    try:
        return load_study(name)
    except ValueError:  # a cell built outside any study folder (e.g. in a notebook): plain training
        return None


def _run_cell_captured(cell: Cell):
    """Executor entry point: (frame, None) or (None, traceback text), so any executor reports the whole traceback."""
    try:
        return run_cell(cell), None
    except Exception:  # noqa: BLE001 - a failing cell is reported, not fatal to the sweep
        return None, traceback.format_exc()


@dataclasses.dataclass
class SweepReport:
    """What :func:`run_cells` did.

    Attributes
    ----------
    completed : list of str
        Ids of the cells run and stored now.
    skipped : list of str
        Ids of the cells already stored (not run again).
    failures : dict of str -> str
        Id -> traceback of each cell that raised; nothing was stored for them.
    results : pandas.DataFrame
        The merged table of every stored cell of this sweep (:func:`load_results`).
    out_dir : pathlib.Path
        Where the cell files are (``out_dir/cells``).
    """

    completed: list
    skipped: list
    failures: dict
    results: pd.DataFrame
    out_dir: Path

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        return (f"{len(self.completed)} run, {len(self.skipped)} skipped (already stored), "
                f"{len(self.failures)} failed")


def _cells_dir(out_dir) -> Path:
    return Path(out_dir) / "cells"


def _cell_path(out_dir, cell: Cell) -> Path:
    return _cells_dir(out_dir) / f"{cell.key()}.parquet"


STORAGE_FORMAT = "2"
"""The layout of the stored Parquet files, in each file's metadata (``mowsim.storage``) beside ``mowsim.version``.

1 (mowsim 0.2.0, no metadata): snappy, float64 history. 2: zstd, the history's float columns as float32
(:data:`FLOAT32_COLUMNS`) with byte-stream-split encoding, and ``results.parquet`` consolidating the cell files of
its run (:func:`run_study`). Both are read alike.
"""

FLOAT32_COLUMNS = frozenset(HISTORY_COLUMNS[7:])
"""History columns stored as float32: the exact expected rewards and the batch diagnostics (7 significant digits are
far below any CI of a study). Setting columns (``level``, ``best_value``, ...) stay float64, since analyses select
rows by their exact values."""


def compact(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the history's float64 columns (:data:`FLOAT32_COLUMNS`) as float32: what the store keeps."""
    columns = [c for c in frame.columns if c in FLOAT32_COLUMNS and frame[c].dtype == np.float64]
    return frame.astype(dict.fromkeys(columns, np.float32)) if columns else frame


def _to_parquet(frame: pd.DataFrame, stream) -> None:
    """Write ``frame`` in :data:`STORAGE_FORMAT`: zstd; floats byte-stream-split, other columns dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    metadata = {**(table.schema.metadata or {}), b"mowsim.version": mowsim.__version__.encode(),
                b"mowsim.storage": STORAGE_FORMAT.encode()}
    table = table.replace_schema_metadata(metadata)
    pq.write_table(table, stream, compression="zstd", use_byte_stream_split=floats or False,
                   use_dictionary=[name for name in table.column_names if name not in floats])


def storage_version(path) -> tuple[str | None, str]:
    """``(mowsim version, storage format)`` of a stored Parquet file; ``(None, "1")`` for mowsim 0.2.0's files."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    version = metadata.get(b"mowsim.version")
    return (version.decode() if version else None, metadata.get(b"mowsim.storage", b"1").decode())


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` so that ``path`` never holds a partial file.

    The temporary file is hidden (a leading dot) and does not end in ``.parquet``, so the store never reads it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            _to_parquet(frame, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _remove_stale_temporaries(cells_dir: Path) -> None:
    """Delete temporary files left by a killed process of this machine (their writer's pid is gone)."""
    if os.name != "posix":  # os.kill(pid, 0) probes a pid on POSIX only (on Windows it would end the process)
        return
    for temp in cells_dir.glob(".*.tmp"):
        parts = temp.name.split(".")
        pid = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        if pid is None or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        except PermissionError:
            pass  # the owning process is alive under another user: its temporary file is not ours to remove


def _init_worker() -> None:
    """Worker set-up: leave interrupts to the parent, and exit if the parent dies.

    Ctrl-C (and a batch system's SIGTERM) reach the whole process group; the parent alone decides what to keep and
    then kills the workers (:func:`_stop_pool`). A parent killed outright (SIGKILL, a lost node) cannot, so each
    worker watches it and exits rather than linger as an orphan.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="mowsim-parent-watch").start()


def _exit_with(parent) -> None:
    parent.join()
    os._exit(1)


class _WorkerPool(concurrent.futures.ProcessPoolExecutor):
    """mowsim's process pool: its workers leave interrupts to the parent, which kills them on Ctrl-C or SIGTERM."""


def process_pool(max_workers: int | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """The default executor of :func:`run_cells`, to share between several sweeps (e.g. one per study).

    Workers are started on demand, up to ``max_workers`` (default: all cores). On Ctrl-C or SIGTERM, a sweep running
    on it stores the finished cells and kills the workers. Use it as a context manager:

    >>> with process_pool(2) as pool:                       # doctest: +SKIP
    ...     reports = [run_study(name, "results", executor=pool) for name in ("a", "b")]
    """
    # spawn: no fork of a threaded parent, and every worker is a direct child the parent can kill. Each worker
    # imports mowsim once (about a second) and loads the compiled kernels from Numba's on-disk cache.
    return _WorkerPool(max(1, max_workers or os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn"),
                       initializer=_init_worker)


def _stop_pool(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    """Stop an interrupted pool now: kill the workers (their running cells are lost) and join its threads.

    The futures are not cancelled first: the pool then fails them all as broken, which it does cleanly, whereas
    breaking a pool that holds cancelled futures trips CPython's InvalidStateError (3.11).

    A worker killed while it sends a result (a cell's history is larger than a pipe's buffer) leaves half a message
    in the result pipe, and the pool's manager thread would wait for the rest forever: this process's own write end
    keeps the pipe open. Once the workers are dead, that end is closed, so the read ends with EOF and the pool breaks
    as it does for any dead worker. (Without it, about one stop in forty hung in ``shutdown``.)
    """
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    try:
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=10)
    finally:  # even if a second Ctrl-C cuts the joins short: a later shutdown must not hang either
        writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
    executor.shutdown(wait=True, cancel_futures=False)


class _Interrupts:
    """Ctrl-C and SIGTERM, caught during a sweep and acted on at one safe point of :func:`_drive`.

    The handler only records the signal and wakes the loop; it never raises. A KeyboardInterrupt raised from a
    signal handler (Python's default for Ctrl-C) lands at an arbitrary bytecode of the main thread: between
    ``mkstemp`` and the ``try`` of :func:`_write_atomic` it left a temporary file behind (42 of 1,247 randomly timed
    interrupts), and inside ``concurrent.futures`` it can leave a lock held. A second signal, while the first is
    being handled, raises KeyboardInterrupt at once, for a user who will not wait for the finished cells to be
    stored; the workers are killed all the same.
    """

    def __init__(self, wake):
        self.signum: int | None = None
        self._wake = wake

    def __call__(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {signum}, a second time: stopped without storing the cells in flight")
        self.signum = signum
        self._wake.put(None)  # SimpleQueue.put is reentrant: safe in a handler that interrupted a get()

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came: the one place a sweep turns a signal into the interrupt."""
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {self.signum}")


@contextlib.contextmanager
def _catch_interrupts(wake):
    """Within the block, Ctrl-C and SIGTERM go to an :class:`_Interrupts`, unless they have other handlers.

    Only a signal with Python's default disposition is taken over (``default_int_handler`` for SIGINT, ``SIG_DFL``
    for SIGTERM): one that is ignored, or that a notebook, a framework or the user handles, stays theirs. Signal
    handlers belong to the main thread; elsewhere (a sweep run from a worker thread) nothing is installed.
    """
    interrupts = _Interrupts(wake)
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    caught = [signum for signum, default in defaults.items() if signal.getsignal(signum) is default]
    previous = {signum: signal.signal(signum, interrupts) for signum in caught}
    try:
        yield interrupts
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _unique_cells(cells: Iterable[Cell]) -> list[Cell]:
    unique: dict[str, Cell] = {}
    for cell in cells:
        if not isinstance(cell, Cell):
            raise ValueError(f"cells must be mowsim.sweep.Cell instances; got {type(cell).__name__}.")
        if cell.id in unique and unique[cell.id] != cell:
            raise ValueError(f"two different cells share the id {cell.id!r}; give each setting its own index.")
        unique[cell.id] = cell
    return list(unique.values())


def run_cells(cells: Iterable[Cell], out_dir, *, executor: concurrent.futures.Executor | None = None,
              max_workers: int | None = None, progress: bool = True) -> SweepReport:
    """Run every cell not yet stored in ``out_dir/cells`` and return a :class:`SweepReport`.

    Parameters
    ----------
    cells : iterable of Cell
    out_dir : path
        The store: one ``cells/<key>.parquet`` per cell, each written atomically.
    executor : concurrent.futures.Executor, optional
        Runs the cells; it is not shut down here. Default: a :func:`process_pool` of ``max_workers`` (default: all
        cores, at most one per cell to run), started only if some cell needs running.
    max_workers : int, optional
        Size of the default process pool.
    progress : bool
        Show a progress bar (with ETA) and print each failure's traceback as it happens.

    A failing cell does not stop the others: its id and traceback land in ``report.failures``. So does a cell whose
    Dask worker died each time it was tried (``KilledWorker``); nothing is stored for it and a rerun runs it again.
    Ctrl-C or SIGTERM (when they have Python's default handlers, in the main thread) stops the sweep between two
    results: the default pool's workers are killed, a Dask executor is shut down (its tasks are cancelled in one
    call; a running one finishes on its worker and its result is dropped), another executor's cells not yet started
    are cancelled; every cell that has finished is stored, and KeyboardInterrupt is raised; a rerun resumes from the
    stored cells.
    """
    cells = _unique_cells(cells)
    out_dir = Path(out_dir)
    cells_dir = _cells_dir(out_dir)
    cells_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(cells_dir)
    consolidated = _consolidated_keys(out_dir)
    stored = {cell.id: _cell_path(out_dir, cell).exists() or cell.key() in consolidated for cell in cells}
    pending = [cell for cell in cells if not stored[cell.id]]
    skipped = [cell.id for cell in cells if stored[cell.id]]
    completed: list[str] = []
    failures: dict[str, str] = {}
    if pending:
        own_pool = executor is None
        pool = process_pool(min(max_workers or os.cpu_count() or 1, len(pending))) if own_pool else executor
        try:
            _drive(pool, pending, out_dir, completed, failures, progress, len(skipped))
        finally:
            if own_pool:
                pool.shutdown(wait=True)
    return SweepReport(completed=completed, skipped=skipped, failures=failures,
                       results=load_results(out_dir, cells), out_dir=out_dir)


def _is_dask(executor) -> bool:
    """Whether ``executor`` is a Dask client's (``distributed.Client.get_executor()``); never imports Dask."""
    cfexecutor = sys.modules.get("distributed.cfexecutor")  # not imported: no ClientExecutor can exist
    return cfexecutor is not None and isinstance(executor, cfexecutor.ClientExecutor)


def _submit(executor, cell: Cell, dask: bool) -> concurrent.futures.Future:
    if not dask:
        return executor.submit(_run_cell_captured, cell)
    # Dask's submit is pure by default: the task's key is a hash of the function and the cell, so a cell submitted
    # again through the same client (a rerun after a failure or an interrupt) could get the old, erred or cancelled
    # task back instead of a new run. A fresh key per submission runs it again; the cell id names it on the dashboard.
    return executor.submit(_run_cell_captured, cell, pure=False,
                           key=f"mowsim-cell-{cell.study}-{cell.index}-{uuid.uuid4().hex}")


def _lost_worker_message(cell: Cell, err: BaseException) -> str | None:
    """What to say when an executor's worker died while running ``cell`` (Dask's KilledWorker), else None."""
    if type(err).__name__ != "KilledWorker":
        return None
    return (f"the worker running {cell.id} died while running it, on every worker Dask tried it on (Dask retries a "
            "cell whose worker died up to distributed.scheduler.allowed-failures times): out of memory, a crash in "
            "compiled code, a worker job killed by the batch system. Nothing was stored for this cell; a rerun "
            "runs it again. Dask said:")


def _drive(executor, pending, out_dir, completed, failures, progress, n_skipped) -> None:
    from tqdm.auto import tqdm

    finished: queue.SimpleQueue = queue.SimpleQueue()  # futures in the order they finish; None: a signal came
    futures: dict = {}
    handled: set = set()

    def harvest(future):
        cell = futures[future]
        try:
            frame, error = future.result()
        except concurrent.futures.BrokenExecutor as err:
            raise RuntimeError(
                f"the executor broke while {cell.id} was pending or running: a worker process died (out of memory, a "
                "crash in compiled code, or a script that starts a process pool without an "
                "`if __name__ == \"__main__\":` guard). Finished cells are stored; fix the cause and rerun to resume."
            ) from err
        except Exception as err:  # noqa: BLE001 - e.g. the cell could not be sent to a remote worker
            frame, error = None, traceback.format_exc()
            lost = _lost_worker_message(cell, err)
            if lost is not None:
                error = f"{lost}\n{error}"
        if error is None and frame["cell_key"].iloc[0] != cell.key():
            error = (f"the worker computed key {frame['cell_key'].iloc[0]} for {cell.id}, this process {cell.key()}: "
                     f"the worker runs another mowsim version than this process ({mowsim.__version__}). Install the "
                     "same version on every worker.")
        if error is None:
            _write_atomic(compact(frame), _cell_path(out_dir, cell))
            completed.append(cell.id)
        else:
            failures[cell.id] = error
            if progress:
                tqdm.write(f"cell {cell.id} failed:\n{error}", file=sys.stderr)
        handled.add(future)

    dask = _is_dask(executor)
    study = pending[0].study if len({cell.study for cell in pending}) == 1 else "sweep"
    bar = tqdm(total=len(pending), desc=f"{study} ({n_skipped} stored)" if n_skipped else study, unit="cell",
               disable=not progress, dynamic_ncols=True)
    with _catch_interrupts(finished) as interrupts:
        try:
            for cell in pending:
                if interrupts.signum is not None:  # an executor may be slow to submit (a remote one)
                    break
                future = _submit(executor, cell, dask)
                futures[future] = cell
                future.add_done_callback(finished.put)
            while interrupts.signum is None and len(handled) < len(futures):
                try:  # the timeout bounds the wait when the signal went to another thread (or on Windows)
                    future = finished.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if future is not None:
                    harvest(future)
                    bar.update()
            interrupts.check()
        except BaseException:
            try:
                # Stop first, so the stop is bounded: killed workers start no new cell, and the pool still reads
                # every result sent in full before it sees the dead workers (it reads the result pipe first).
                if isinstance(executor, _WorkerPool):
                    _stop_pool(executor)
                elif dask:
                    # One call cancels every task of this executor on the scheduler; cancelling future by future
                    # would wait for a round trip to the scheduler per cell. A task already running finishes on its
                    # worker (Dask cannot stop it) and its result is dropped. The executor cannot be used again,
                    # as the default pool cannot after a stop.
                    executor.shutdown(wait=False)
                else:
                    for future in futures:
                        future.cancel()
            finally:
                # Finished work is never lost: store the cells that completed while we were interrupted.
                for future in futures:
                    if future in handled or not future.done() or future.cancelled():
                        continue
                    error = future.exception()
                    if error is None or (isinstance(error, Exception)
                                         and not isinstance(error, concurrent.futures.BrokenExecutor)):
                        with contextlib.suppress(Exception):  # the error being raised already says what went wrong
                            harvest(future)
            raise
        finally:
            bar.close()
    interrupts.check()  # a signal after the loop's last look, while the bar was closing


def _cell_order(frame: pd.DataFrame) -> pd.DataFrame:
    ids = frame["cell_id"].astype(str)
    frame = frame.assign(_study=ids.str.rsplit("/", n=1).str[0], _index=ids.str.rsplit("/", n=1).str[1].astype(int))
    keys = [k for k in ["_study", "_index", "cell_key", "scheme", "seed", "step", "objective"] if k in frame]
    frame = frame.sort_values(keys, kind="stable").drop(columns=["_study", "_index"])
    return frame.reset_index(drop=True)


_CATEGORY_COLUMNS = ("study", "env", "scheme")


RESULTS_FILE = "results.parquet"
"""A study's merged table (:func:`run_study`); it also holds the cells of its run, whose own files it replaces."""


def _consolidated_keys(out_dir) -> set:
    """The cell keys whose rows ``out_dir/results.parquet`` holds (read from that one column)."""
    import pyarrow.parquet as pq

    path = Path(out_dir) / RESULTS_FILE
    if not path.is_file() or "cell_key" not in pq.read_schema(path).names:
        return set()
    return set(pq.read_table(path, columns=["cell_key"]).column("cell_key").unique().to_pylist())


def _read_consolidated(out_dir, keys) -> pd.DataFrame | None:
    keys = sorted(keys)
    if not keys:
        return None
    frame = pd.read_parquet(Path(out_dir) / RESULTS_FILE, filters=[("cell_key", "in", keys)])
    return frame.astype({name: str for name in _CATEGORY_COLUMNS if name in frame})


def load_results(out_dir, cells: Iterable[Cell] | None = None, *, strict: bool = False) -> pd.DataFrame:
    """Merge the stored cells of ``out_dir`` (only those of ``cells`` if given) into one tidy table.

    A cell is stored as ``cells/<key>.parquet`` or, once :func:`run_study` has consolidated its run, as rows of
    ``results.parquet``. Rows are sorted by (study, cell index, cell key, scheme, seed, step, objective) and
    ``study``, ``env`` and ``scheme`` are categoricals with sorted categories, so the table depends only on which
    cells are stored, never on the order, process or machine they ran in. ``strict=True`` raises if a cell of
    ``cells`` is not stored.
    """
    cells_dir = _cells_dir(out_dir)
    consolidated = _consolidated_keys(out_dir)
    if cells is None:
        paths = sorted(cells_dir.glob("*.parquet"))
        from_results = consolidated - {path.stem for path in paths}
    else:
        wanted = _unique_cells(cells)
        paths = [_cell_path(out_dir, cell) for cell in wanted]
        missing = [cell.id for cell, path in zip(wanted, paths)
                   if not path.exists() and cell.key() not in consolidated]
        if missing and strict:
            raise ValueError(f"{len(missing)} cells are not stored in {out_dir}: {', '.join(missing[:10])}"
                             f"{' ...' if len(missing) > 10 else ''}. Run them first (mowsim study NAME).")
        from_results = {cell.key() for cell, path in zip(wanted, paths) if not path.exists()} & consolidated
        paths = sorted(path for path in paths if path.exists())
    frames = [pd.read_parquet(path) for path in paths]
    rows = _read_consolidated(out_dir, from_results)
    if rows is not None:
        frames.append(rows)
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    for name in _CATEGORY_COLUMNS:
        if name in frame:
            values = frame[name].astype(str)
            frame[name] = pd.Categorical(values, categories=sorted(values.unique()))
    return _cell_order(frame)


def _consolidate(out_dir: Path, results: pd.DataFrame, cells: list) -> None:
    """Make ``out_dir/results.parquet`` the one copy of ``results`` (the cells of this run).

    Crash-safe in this order: cells that the old ``results.parquet`` held but this run does not (another scale of
    the study) get their own files back; the new table is written atomically; only then are the files of the cells
    it holds deleted. At every point each stored cell is in a cell file or in ``results.parquet``.
    """
    keep = {cell.key() for cell in cells}
    others = _consolidated_keys(out_dir) - keep - {p.stem for p in _cells_dir(out_dir).glob("*.parquet")}
    rows = _read_consolidated(out_dir, others)
    if rows is not None:
        for key, group in rows.groupby("cell_key", sort=True):
            _write_atomic(group.reset_index(drop=True), _cells_dir(out_dir) / f"{key}.parquet")
    _write_atomic(results, out_dir / RESULTS_FILE)
    held = set(results["cell_key"].astype(str)) if "cell_key" in results else set()
    for key in sorted(held & keep):
        with contextlib.suppress(FileNotFoundError):
            (_cells_dir(out_dir) / f"{key}.parquet").unlink()


def studies_dir() -> Path:
    """``$MOWSIM_STUDIES`` if set, else the built-in studies shipped inside the package (``mowsim/studies``).

    In a checkout ``mowsim/studies`` is a link to the top-level ``studies/`` folder, where a reader browses them; a
    wheel carries a copy (docs/ARCHITECTURE.md, "Studies and figures ship inside the package").
    """
    override = os.environ.get("MOWSIM_STUDIES")
    return Path(override) if override else Path(mowsim.__file__).resolve().parent / "studies"


def use_study_path(name_or_path: str) -> str:
    """The study name of ``name_or_path``; a path to a study folder also makes its parent the studies folder.

    ``mowsim study ./my_studies/my_study`` runs the study in that folder: a folder holding a ``sweep.py``. Its parent
    becomes ``$MOWSIM_STUDIES`` for this process and the worker processes it starts (a study's cells are named after
    its folder, and workers load the study by name). A plain name is returned unchanged.
    """
    path = Path(name_or_path).expanduser()
    if not (os.sep in name_or_path or name_or_path.startswith(".")):
        return name_or_path
    if not (path / "sweep.py").is_file():
        raise ValueError(f"{name_or_path!r} is not a study folder: expected a folder holding sweep.py "
                         f"(and analysis.py), or the name of a study in {studies_dir()}.")
    root = path.resolve().parent
    current = os.environ.get("MOWSIM_STUDIES")
    if current is not None and Path(current).resolve() != root:
        raise ValueError(f"{name_or_path!r} lies in {root}, but the studies folder is already {current} "
                         "(MOWSIM_STUDIES or another path argument); run the studies of one folder per command.")
    os.environ["MOWSIM_STUDIES"] = str(root)
    return path.resolve().name


def available_studies() -> list[str]:
    """Names of the studies: folders of :func:`studies_dir` with a ``sweep.py``, sorted."""
    root = studies_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "sweep.py").is_file())


def load_study(name: str):
    """Import ``studies/<name>/sweep.py`` by path and return the module."""
    names = available_studies()
    if name not in names:
        raise ValueError(f"unknown study {name!r}; available in {studies_dir()}: {', '.join(names) or 'none'}. "
                         "Set MOWSIM_STUDIES to use another studies folder.")
    path = studies_dir() / name / "sweep.py"
    module_name = f"_mowsim_studies.{name}.sweep"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look a module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _check_settings(name: str, module) -> tuple:
    settings = getattr(module, "SETTINGS", None)
    if not isinstance(settings, (tuple, list)) or not all(isinstance(c, Cell) for c in settings):
        raise ValueError(f"study {name!r}: sweep.py must define SETTINGS, a tuple of mowsim.sweep.Cell.")
    for position, cell in enumerate(settings):
        if cell.study != name or cell.index != position:
            raise ValueError(f"study {name!r}: SETTINGS[{position}] has id {cell.id!r}; expected {name}/{position} "
                             "(study = the folder name, index = the position in SETTINGS).")
    return tuple(settings)


def study_cells(name: str, *, quick: bool = False, testing: bool = False) -> list[Cell]:
    """The cells of study ``name``.

    ``quick``: the module's ``QUICK`` (a sequence of cells, or a dict of :meth:`Cell.scaled` arguments applied to
    every setting), else every setting capped at :data:`QUICK_STEPS` steps and :data:`QUICK_SEEDS` seeds.
    ``testing``: only the cells whose id is in the module's ``TESTING``.
    """
    module = load_study(name)
    cells = list(_check_settings(name, module))
    if quick:
        scaled = getattr(module, "QUICK", None)
        if scaled is None:
            cells = [c.scaled(steps=min(c.steps, QUICK_STEPS), seeds=min(c.seeds, QUICK_SEEDS)) for c in cells]
        elif isinstance(scaled, Mapping):
            cells = [c.scaled(**scaled) for c in cells]
        else:
            cells = _unique_cells(scaled)
    if testing:
        wanted = getattr(module, "TESTING", None)
        if wanted is None:
            raise ValueError(f"study {name!r} defines no TESTING (a tuple of cell ids such as '{name}/0').")
        known = {cell.id for cell in cells}
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise ValueError(f"study {name!r}: TESTING names cells that do not exist: {unknown}.")
        cells = [cell for cell in cells if cell.id in set(wanted)]
    return cells


def run_study(name: str, out_dir, *, quick: bool = False, testing: bool = False,
              executor: concurrent.futures.Executor | None = None, max_workers: int | None = None,
              progress: bool = True) -> SweepReport:
    """Run study ``name`` into ``out_dir/<name>/``: ``cells/`` (the store) and ``results.parquet``.

    ``results.parquet`` is the merged table of exactly this run's cells, written atomically at the end (also when
    some cells failed: it then lacks them, and the report says which). It is then the only copy of those cells: their
    files in ``cells/`` are deleted (:func:`_consolidate`), and a rerun finds them stored in it.
    """
    cells = study_cells(name, quick=quick, testing=testing)
    study_dir = Path(out_dir) / name
    # A timing study declares MAX_WORKERS = 1 so its cells do not compete for the cores they measure.
    study_limit = getattr(load_study(name), "MAX_WORKERS", None)
    if study_limit is not None and executor is None:
        max_workers = min(max_workers or study_limit, study_limit)
    report = run_cells(cells, study_dir, executor=executor, max_workers=max_workers, progress=progress)
    _consolidate(study_dir, report.results, cells)
    return report
