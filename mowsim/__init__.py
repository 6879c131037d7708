"""mowsim: stress-test multi-objective GRPO advantage weighting.

The public face only; see docs/ARCHITECTURE.md for where everything lives. ``mowsim.train`` is the training
function (its module is importable as ``from mowsim.train import TrainResult``).
"""

__version__ = "0.2.0"


def _numba_cache_dir() -> None:
    """Key Numba's on-disk cache on the whole package source.

    ``@njit(cache=True)`` invalidates a cached function only when its own file changes, not when a kernel it calls
    (in another file) does; a stale cache can then run old machine code against new data layouts. Hashing every
    file that holds compiled code into the cache directory makes any edit of them start a fresh cache.
    ``NUMBA_CACHE_DIR`` still wins.
    """
    import hashlib
    import os
    import pathlib

    import numba

    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = pathlib.Path(__file__).resolve().parent
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        source = path.read_bytes()
        if b"njit" in source:  # only compiled code can go stale
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(source)
    base = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "mowsim" / "numba"
    numba.config.CACHE_DIR = str(base / digest.hexdigest()[:16])


_numba_cache_dir()

from mowsim import envs, schemes, theory, validation  # noqa: E402
from mowsim.schemes import advantages, available, condition_rewards, effective_weights  # noqa: E402
from mowsim.train import TrainResult, train, train_many  # noqa: E402

__all__ = [
    "__version__",
    "TrainResult",
    "advantages",
    "available",
    "condition_rewards",
    "effective_weights",
    "envs",
    "schemes",
    "theory",
    "train",
    "train_many",
    "validation",
]
