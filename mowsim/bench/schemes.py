"""How fast the schemes run, against the NumPy reference and a plain PyTorch implementation.

``mowsim bench schemes`` (:mod:`mowsim.cli.bench`) times every registered stateless scheme, in the same run, as

* ``numba``: :func:`mowsim.advantages` with ``backend="numba"``, end to end as a user calls it (validation,
  allocation, the serial or parallel driver chosen by ``PARALLEL_MIN_ENTRIES``);
* ``numpy``: the same call with ``backend="numpy"``, the readable reference;
* ``torch``: :mod:`mowsim.bench.torch_reference`, the schemes written the way TRL writes them, on CPU;
* ``kernel-serial`` and ``kernel-parallel``: the two Numba drivers called directly on preallocated arrays, which
  isolates the kernel from the wrapper and shows where the parallel driver starts to pay.

Each implementation is warmed up first (Numba compiles or loads its cache; the warm-up is not timed), then called
``repeats`` times with :func:`time.perf_counter`, the implementations taking turns so that a slow spell of a busy
machine hits them all alike. The result is a tidy frame with one row per (scheme, size, objectives, implementation).
Peak extra memory is measured apart, in one fresh process per implementation, so that it cannot disturb the timings.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from functools import partial

import numpy as np
import pandas as pd

import mowsim
from mowsim.schemes import _kernels, base

__all__ = [
    "IMPLS",
    "COLUMNS",
    "make_rewards",
    "run_scheme_bench",
    "measure_memory",
    "ratio_table",
    "target_report",
    "crossover_report",
    "print_reports",
]

IMPLS = ("numba", "numpy", "torch", "kernel-serial", "kernel-parallel")
COLUMNS = ["scheme", "n_rollouts", "n_groups", "group_size", "n_objectives", "impl", "median_s", "min_s", "repeats"]
MEMORY_COLUMNS = ["scheme", "n_rollouts", "n_groups", "group_size", "n_objectives", "impl", "peak_extra_bytes",
                  "input_bytes"]

DEFAULT_SIZES = (1024, 16384, 65536, 262144, 1048576)
DEFAULT_OBJECTIVES = (2, 4, 8)
QUICK_SIZES = (1024, 16384)
QUICK_OBJECTIVES = (2, 4)

TARGET_ROLLOUTS = 65536
TARGET_OBJECTIVES = 4
TARGET_SPEEDUP = 5.0
"""The issue's target: at 65,536 rollouts with K = 4, ``numba`` is at least 5x faster than ``numpy`` and ``torch``."""

MIN_REPEATS = 3
SETTLE_S = 0.02
"""Idle time before each implementation's block, longer than libgomp's spin-wait after a parallel region."""


def _machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _import_torch_reference():
    """The torch contestant, or ``None`` with the reason when PyTorch is missing."""
    try:
        torch_reference = importlib.import_module("mowsim.bench.torch_reference")
    except ImportError as err:
        return None, str(err)
    return torch_reference, ""


def make_rewards(n_rollouts: int, n_objectives: int, group_size: int = 16, seed: int = 0,
                 nan_fraction: float = 0.0) -> np.ndarray:
    """A benchmark batch of shape (n_rollouts // group_size, group_size, n_objectives), float64.

    Even objectives are Bernoulli with a success rate drawn per group from U(0.05, 0.95) (pass/fail rewards such as
    accuracy or format); odd objectives are U(0, 1) (graded rewards). ``nan_fraction`` of the entries become NaN.
    """
    if n_rollouts % group_size:
        raise ValueError(
            f"n_rollouts = {n_rollouts} is not a multiple of group_size = {group_size}; pick sizes that are."
        )
    n_groups = n_rollouts // group_size
    rng = np.random.default_rng(np.random.SeedSequence([seed, n_rollouts, n_objectives, group_size]))
    rewards = np.empty((n_groups, group_size, n_objectives))
    for k in range(n_objectives):
        if k % 2 == 0:
            success_rate = rng.uniform(0.05, 0.95, size=(n_groups, 1))
            rewards[:, :, k] = rng.random((n_groups, group_size)) < success_rate
        else:
            rewards[:, :, k] = rng.random((n_groups, group_size))
    if nan_fraction > 0:
        rewards[rng.random(rewards.shape) < nan_fraction] = np.nan
    return rewards


def _contestants(scheme, rewards, weights, ddof, eps, impls, torch_ref):
    """impl -> zero-argument callable, and impl -> a function returning that call's advantages as ndarray."""
    calls, results = {}, {}
    saw = scheme._saw_params()
    for impl in impls:
        if impl in ("numba", "numpy"):
            calls[impl] = partial(mowsim.advantages, rewards, scheme, weights, ddof=ddof, eps=eps, backend=impl)
            results[impl] = np.asarray
        elif impl == "torch":
            tensor = torch_ref.torch.from_numpy(rewards)  # shares memory: no conversion inside the timing
            torch_weights = torch_ref.torch.from_numpy(weights)
            calls[impl] = partial(torch_ref.advantages, tensor, scheme.name, torch_weights, ddof=ddof, eps=eps,
                                  delta=saw[_kernels.SAW_DELTA], min_weight=saw[_kernels.SAW_MIN_WEIGHT])
            results[impl] = lambda tensor_out: tensor_out.numpy()
        else:
            driver = _kernels.compute_serial if impl == "kernel-serial" else _kernels.compute_parallel
            out = np.empty(rewards.shape[:2])
            effective = np.empty((rewards.shape[0], rewards.shape[2]))
            calls[impl] = partial(driver, scheme.kernel_id, rewards, weights, ddof, eps, np.zeros(rewards.shape[2]),
                                  False, saw, out, effective)
            results[impl] = lambda _none, out=out: out
    return calls, results


def _time_calls(calls, repeats, budget_s, max_repeats, gap_s=0.0):
    """Time each implementation in its own block: settle, one untimed warm-up call, then the timed calls.

    Blocks rather than turns: Numba's and PyTorch's OpenMP runtimes are separate copies of libgomp, each with its
    own worker threads, which spin for milliseconds after a parallel region. Alternating the two makes each wait for
    the other's spinning workers and measures that contention instead of either implementation. ``gap_s`` sleeps
    before every timed call, the way a training step separates two advantage computations.

    Returns impl -> list of seconds, and impl -> the warm-up call's result.
    """
    times, outputs = {}, {}
    gc_was_enabled = gc.isenabled()
    try:
        for impl, call in calls.items():
            time.sleep(SETTLE_S)
            start = time.perf_counter()
            outputs[impl] = call()
            warm_s = time.perf_counter() - start
            count = repeats or int(np.clip(budget_s // max(warm_s, 1e-9), MIN_REPEATS, max_repeats))
            gc.collect()
            gc.disable()
            seconds = []
            for _ in range(count):
                if gap_s:
                    time.sleep(gap_s)
                start = time.perf_counter()
                call()
                seconds.append(time.perf_counter() - start)
            if gc_was_enabled:
                gc.enable()
            times[impl] = seconds
    finally:
        if gc_was_enabled:
            gc.enable()
    return times, outputs


def _runnable_schemes(names, impls, log):
    """Scheme instances the bench can run from rewards alone, and the impls each supports."""
    torch_ref, torch_missing = _import_torch_reference() if "torch" in impls else (None, "")
    if "torch" in impls and torch_ref is None:
        log(f"skipping impl torch: {torch_missing}")
    plan = []
    for name in names:
        scheme = mowsim.schemes.get(name)
        if scheme.stateful:
            log(f"skipping scheme {name}: it is stateful (it carries state across batches or needs feedback "
                "beyond the rewards), so one call on rewards alone does not represent its cost.")
            continue
        scheme_impls = []
        for impl in impls:
            if impl == "torch" and (torch_ref is None or name not in torch_ref.SCHEMES):
                if torch_ref is not None:
                    log(f"skipping torch for scheme {name}: mowsim.bench.torch_reference has no implementation of it.")
                continue
            if impl.startswith("kernel") and scheme.kernel_id < 0:
                log(f"skipping {impl} for scheme {name}: it has no Numba kernel id.")
                continue
            scheme_impls.append(impl)
        plan.append((scheme, tuple(scheme_impls)))
    return plan, torch_ref


def _set_threads(threads, torch_ref):
    """Pin Numba and PyTorch to ``threads``; return a function that restores the previous settings."""
    import numba

    previous_numba = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    previous_torch = None
    if torch_ref is not None:
        previous_torch = torch_ref.torch.get_num_threads()
        torch_ref.torch.set_num_threads(threads)

    def restore():
        numba.set_num_threads(previous_numba)
        if previous_torch is not None:
            torch_ref.torch.set_num_threads(previous_torch)

    return restore


def _compile(plan, ddof, eps, torch_ref):
    """Compile (or load from cache) every kernel at a tiny size, so no timed cell pays for it."""
    rewards = make_rewards(64, 2, group_size=16)
    weights = np.full(2, 0.5)
    for scheme, impls in plan:
        calls, _ = _contestants(scheme, rewards, weights, ddof, eps, impls, torch_ref)
        for call in calls.values():
            call()


def run_scheme_bench(sizes=DEFAULT_SIZES, objectives=DEFAULT_OBJECTIVES, *, group_size: int = 16, repeats=None,
                     schemes=None, impls=IMPLS, ddof: int = 0, eps: float = 1e-4, nan_fraction: float = 0.0,
                     seed: int = 0, threads=None, budget_s: float = 0.5, max_repeats: int = 21,
                     gap_s: float = 0.0, progress: bool = True, log=print) -> pd.DataFrame:
    """Time every scheme x size x objective count x implementation; return the tidy frame.

    Parameters
    ----------
    sizes : sequence of int
        Total rollouts per batch, ``n_groups * group_size``.
    objectives : sequence of int
        Numbers of objectives ``K``.
    repeats : int, optional
        Timed calls per implementation and cell. ``None``: as many as fit in ``budget_s`` seconds, between 3 and
        ``max_repeats``.
    schemes : sequence of str, optional
        Default: every registered scheme; stateful ones are skipped with a printed reason.
    impls : sequence of str
        A subset of :data:`IMPLS`. ``torch`` is skipped, with a printed reason, when PyTorch is missing.
    ddof, eps
        Passed to every implementation. ``eps = 1e-4`` is TRL's, which keeps the PyTorch code finite on groups
        whose Bernoulli rewards are all equal.
    threads : int, optional
        Threads for Numba and PyTorch alike; default: the cores this process may use.
    gap_s : float
        Idle seconds before every timed call (a training step between two advantage computations); 0 times
        the calls back to back, the best case for thread pools.

    Returns
    -------
    DataFrame with :data:`COLUMNS`. ``frame.attrs["meta"]`` holds the machine, the versions, the settings and the
    cross-check of every implementation's output against ``numba``.
    """
    unknown = sorted(set(impls) - set(IMPLS))
    if unknown:
        raise ValueError(f"unknown impls {unknown}; expected a subset of {list(IMPLS)}.")
    for size in sizes:
        if size % group_size or size < group_size:
            raise ValueError(f"size {size} is not a positive multiple of group_size = {group_size}.")
    from tqdm.auto import tqdm

    plan, torch_ref = _runnable_schemes(schemes or mowsim.schemes.available(), impls, log)
    threads = threads or _machine_cores()
    restore_threads = _set_threads(threads, torch_ref)
    rows, checks = [], []
    try:
        _compile(plan, ddof, eps, torch_ref)
        cells = [(size, n_objectives) for size in sizes for n_objectives in objectives]
        bar = tqdm(total=len(cells) * len(plan), desc="bench schemes", unit="cell", disable=not progress,
                   file=sys.stderr)
        say = bar.write if progress else log
        for size, n_objectives in cells:
            rewards = make_rewards(size, n_objectives, group_size, seed, nan_fraction)
            weights = np.full(n_objectives, 1.0 / n_objectives)
            for scheme, scheme_impls in plan:
                bar.set_postfix_str(f"{scheme.name} {size:,}x{n_objectives}")
                calls, results = _contestants(scheme, rewards, weights, ddof, eps, scheme_impls, torch_ref)
                times, outputs = _time_calls(calls, repeats, budget_s, max_repeats, gap_s)
                cell = dict(scheme=scheme.name, n_rollouts=size, n_groups=size // group_size, group_size=group_size,
                            n_objectives=n_objectives)
                for impl, seconds in times.items():
                    rows.append(dict(cell, impl=impl, median_s=float(np.median(seconds)), min_s=float(np.min(seconds)),
                                     repeats=len(seconds)))
                checks.extend(_cross_check(cell, outputs, results, say))
                bar.update()
        bar.close()
    finally:
        restore_threads()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["meta"] = _meta(threads, torch_ref, dict(sizes=list(sizes), objectives=list(objectives),
                                                         group_size=group_size, repeats=repeats, ddof=ddof, eps=eps,
                                                         nan_fraction=nan_fraction, seed=seed, budget_s=budget_s,
                                                         max_repeats=max_repeats, gap_s=gap_s), checks)
    return frame


def _cross_check(cell, outputs, results, say):
    """Max |advantage - numba's| of every other implementation on the warm-up call; a warning when it is large."""
    if "numba" not in outputs:
        return []
    expected = results["numba"](outputs["numba"])
    found = []
    for impl, output in outputs.items():
        if impl == "numba":
            continue
        difference = float(np.max(np.abs(results[impl](output) - expected)))
        found.append(dict(cell, impl=impl, max_abs_diff_vs_numba=difference))
        tolerance = 1e-6 if impl == "torch" else 1e-9
        if not difference <= tolerance:
            say(f"warning: {impl} differs from numba by {difference:.3g} on {cell['scheme']} "
                f"{cell['n_rollouts']:,}x{cell['n_objectives']} (tolerance {tolerance:g}).")
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meta(threads, torch_ref, settings, checks) -> dict:
    import numba

    return dict(
        cpu=_cpu_model(), cores=_machine_cores(), threads=threads, numba_threads=min(threads, numba.config.NUMBA_NUM_THREADS),
        numba_threading_layer=_threading_layer(), parallel_min_entries=base.PARALLEL_MIN_ENTRIES,
        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "unset"),
        python=platform.python_version(), numpy=np.__version__, numba=numba.__version__,
        torch=torch_ref.torch.__version__ if torch_ref is not None else None, mowsim=mowsim.__version__,
        settings=settings, cross_checks=checks,
    )


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel function has run yet
        return "not initialised"


# ---- peak memory, in a fresh process per implementation ----


def _read_status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def _memory_child(spec_json: str) -> None:
    """Run in a fresh interpreter by :func:`measure_memory`: print one JSON row per cell on stdout.

    Peak extra memory is VmHWM - VmRSS around one call, after a warm-up call, with the high-water mark reset through
    ``/proc/self/clear_refs``. The parent fixes glibc's mmap threshold so that every large block is returned to the
    system when freed, which makes RSS follow allocations exactly.
    """
    spec = json.loads(spec_json)
    impl = spec["impl"]
    plan, torch_ref = _runnable_schemes(spec["schemes"], [impl], log=lambda message: None)
    _set_threads(spec["threads"], torch_ref)
    for size, n_objectives in spec["cells"]:
        rewards = make_rewards(size, n_objectives, spec["group_size"], spec["seed"], spec["nan_fraction"])
        weights = np.full(n_objectives, 1.0 / n_objectives)
        for scheme, scheme_impls in plan:
            if impl not in scheme_impls:
                continue
            calls, _ = _contestants(scheme, rewards, weights, spec["ddof"], spec["eps"], scheme_impls, torch_ref)
            calls[impl]()
            gc.collect()
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            before = _read_status_kib("VmRSS")
            result = calls[impl]()
            peak = _read_status_kib("VmHWM")
            del result
            print(json.dumps(dict(scheme=scheme.name, n_rollouts=size, n_groups=size // spec["group_size"],
                                  group_size=spec["group_size"], n_objectives=n_objectives, impl=impl,
                                  peak_extra_bytes=1024 * max(peak - before, 0), input_bytes=rewards.nbytes)))


def measure_memory(cells, *, group_size: int = 16, schemes=None, impls=IMPLS, ddof: int = 0, eps: float = 1e-4,
                   nan_fraction: float = 0.0, seed: int = 0, threads=None, log=print) -> pd.DataFrame:
    """Peak extra resident memory of one call, per scheme x (size, K) x implementation (Linux only).

    ``cells`` is a list of ``(n_rollouts, n_objectives)``. Each implementation runs in its own fresh Python process,
    so allocator caches of one cannot hide the cost of another. Returns a frame with :data:`MEMORY_COLUMNS`; empty,
    with a printed reason, where the measurement is impossible.
    """
    if not os.path.exists("/proc/self/clear_refs"):
        log("memory not measured: it needs Linux's /proc/self/clear_refs.")
        return pd.DataFrame(columns=MEMORY_COLUMNS)
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    rows = []
    for impl in impls:
        spec = dict(impl=impl, schemes=list(schemes or mowsim.schemes.available()), cells=[list(c) for c in cells],
                    group_size=group_size, ddof=ddof, eps=eps, nan_fraction=nan_fraction, seed=seed,
                    threads=threads or _machine_cores())
        done = subprocess.run([sys.executable, "-c", "import sys; from mowsim.bench.schemes import _memory_child; "
                               "_memory_child(sys.argv[1])", json.dumps(spec)],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            log(f"memory not measured for {impl}: {done.stderr.strip().splitlines()[-1:]}")
            continue
        rows.extend(json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))
    return pd.DataFrame(rows, columns=MEMORY_COLUMNS)


# ---- reports ----


def ratio_table(frame: pd.DataFrame, stat: str = "median_s") -> pd.DataFrame:
    """Milliseconds per implementation, and the speed-ups numpy/numba and torch/numba, one row per cell.

    ``stat`` is ``"median_s"`` (the typical call) or ``"min_s"`` (the least disturbed call on a busy machine).
    """
    wide = frame.pivot_table(index=["scheme", "n_rollouts", "n_objectives"], columns="impl", values=stat)
    wide = wide[[impl for impl in IMPLS if impl in wide.columns]] * 1e3
    wide.columns = [f"{impl}_ms" for impl in wide.columns]
    for impl in ("numpy", "torch"):
        if f"{impl}_ms" in wide and "numba_ms" in wide:
            wide[f"{impl}/numba"] = wide[f"{impl}_ms"] / wide["numba_ms"]
    return wide.reset_index()


def target_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scheme at 65,536 rollouts and K = 4: the speed-ups and PASS/FAIL against :data:`TARGET_SPEEDUP`.

    The verdict uses the medians; the ratios of the minimum times are reported beside them (``... min``).
    """
    reports = []
    for stat, suffix in (("median_s", ""), ("min_s", " min")):
        table = ratio_table(frame, stat)
        at = table[(table.n_rollouts == TARGET_ROLLOUTS) & (table.n_objectives == TARGET_OBJECTIVES)]
        ratios = [column for column in ("numpy/numba", "torch/numba") if column in at]
        reports.append(at.set_index("scheme")[ratios].add_suffix(suffix))
    report = pd.concat(reports, axis=1)
    ratios = [column for column in ("numpy/numba", "torch/numba") if column in report]
    report["verdict"] = np.where((report[ratios] >= TARGET_SPEEDUP).all(axis=1), "PASS", "FAIL") if ratios else "n/a"
    return report.reset_index()


def crossover_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Serial / parallel kernel time per cell, with the reward entries ``B*G*K`` the threshold is stated in."""
    kernels = frame[frame.impl.isin(["kernel-serial", "kernel-parallel"])]
    if kernels.impl.nunique() < 2:
        return pd.DataFrame(columns=["scheme", "n_objectives", "n_rollouts", "entries", "serial/parallel"])
    wide = kernels.pivot_table(index=["scheme", "n_objectives", "n_rollouts"], columns="impl", values="median_s")
    wide["serial/parallel"] = wide["kernel-serial"] / wide["kernel-parallel"]
    wide = wide.reset_index()
    wide["entries"] = wide.n_rollouts * wide.n_objectives
    return wide[["scheme", "n_objectives", "n_rollouts", "entries", "serial/parallel"]]


def print_reports(frame, memory, log):
    meta = frame.attrs.get("meta", {})
    log(f"\n{meta.get('cpu')}: {meta.get('cores')} cores; Numba {meta.get('numba')} with {meta.get('numba_threads')} "
        f"threads ({meta.get('numba_threading_layer')}), PyTorch {meta.get('torch')} with {meta.get('threads')} "
        f"threads, NumPy {meta.get('numpy')}; OMP_WAIT_POLICY {meta.get('omp_wait_policy')}. Median of the repeats; "
        "min in the CSV.\n")
    if meta.get("omp_wait_policy") == "unset":
        log("note: OMP_WAIT_POLICY is unset. On a busy machine libgomp's spin-waiting can stall every threaded call "
            "(torch, and numba above PARALLEL_MIN_ENTRIES) by milliseconds; compare with OMP_WAIT_POLICY=PASSIVE "
            "(benchmarks/README.md).\n")
    with pd.option_context("display.width", 200, "display.max_rows", 1000, "display.float_format", "{:.3f}".format):
        log(ratio_table(frame).to_string(index=False))
        crossover = crossover_report(frame)
        if len(crossover):
            log(f"\nserial/parallel kernel time (> 1: the parallel driver is faster); mowsim switches to it at "
                f"{base.PARALLEL_MIN_ENTRIES:,} entries (B*G*K):")
            log(crossover.pivot_table(index="entries", columns=["scheme"], values="serial/parallel",
                                      aggfunc="median").to_string())
        if memory is not None and len(memory):
            peak = memory.pivot_table(index=["scheme", "n_rollouts", "n_objectives"], columns="impl",
                                      values="peak_extra_bytes") / 2**20
            log("\npeak extra memory of one call, MiB (input itself: "
                f"{memory.input_bytes.iloc[0] / 2**20:.1f} MiB at the first cell):")
            log(peak.to_string())
    report = target_report(frame)
    if not len(report):
        log(f"\ntarget not measured: it needs --sizes {TARGET_ROLLOUTS} and --objectives {TARGET_OBJECTIVES}.")
        return
    log(f"\ntarget: at {TARGET_ROLLOUTS:,} rollouts with K = {TARGET_OBJECTIVES}, the Numba path is at least "
        f"{TARGET_SPEEDUP:g}x faster than both the NumPy reference and the PyTorch CPU implementation")
    for row in report.to_dict("records"):
        ratios = ", ".join(f"{name} = {row[name]:.1f}x (min {row[name + ' min']:.1f}x)"
                           for name in ("numpy/numba", "torch/numba") if name in row)
        log(f"  {row['scheme']:<10} {ratios}: {row['verdict']}")
