"""A study's cells as a grid: (environment instance) x (sub-sweep point) x (scheme), and its QUICK and TESTING subsets.

Every built-in study is such a grid. A study's ``sweep.py`` says only what is particular to it, the points of its
sub-sweep, and leaves the numbering, the scheme loop and the subsets to :func:`grid`, :func:`subset` and :func:`ids`:

>>> from mowsim.grid import Point, grid, ids, subset
>>> def points(instance):
...     for sd in (0.0, 1.0):
...         yield Point("bandit", {"noise_sd": sd, "instance_seed": instance}, {"noise_sd": sd})
>>> cells = grid("demo", points, instances=(0, 1), schemes=("rc", "dvao"), seeds=4, steps=10)
>>> [cell.id for cell in cells][:3], dict(cells[5].setting)
(['demo/0', 'demo/1', 'demo/2'], {'instance': 1, 'noise_sd': 0.0})
>>> quick = subset(cells, seeds=2, instance=(0,))
>>> len(quick), quick[0].seeds, ids(quick, schemes=("dvao",), noise_sd=(1.0,))
(4, 2, ('demo/3',))
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Collection, Iterable

from mowsim.schemes import available
from mowsim.sweep import Cell, make_cell

__all__ = ["Point", "grid", "subset", "ids", "STEPS", "SEEDS", "INSTANCES", "QUICK_SEEDS", "QUICK_INSTANCES"]

# The built-in studies' common scale: each setting on 3 environment instances with 16 training seeds of 100 updates
# (48 runs pooled per setting, so the CIs cover instance-to-instance variation); QUICK: instance 0 with 4 seeds.
STEPS = 100
SEEDS = 16
INSTANCES = (0, 1, 2)
QUICK_SEEDS = 4
QUICK_INSTANCES = (0,)


@dataclasses.dataclass(frozen=True)
class Point:
    """One point of a study's sub-sweep, for one environment instance.

    Attributes
    ----------
    env : {"bandit", "contextual", "sequence"}
    env_kwargs : dict
        The environment's fields, ``instance_seed`` included where the study has instances.
    setting : dict
        The swept knobs of this point (the result columns); :func:`grid` adds ``instance``.
    train : dict
        Training fields particular to this point (``group_size``, ``n_groups``, ``weights``, ``lr``, ...).
    schemes : tuple of str, optional
        Only these schemes at this point (e.g. a scheme that needs K <= 3); default: the grid's.
    """

    env: str
    env_kwargs: dict
    setting: dict
    train: dict = dataclasses.field(default_factory=dict)
    schemes: tuple | None = None


def grid(study: str, points: Callable[[int | None], Iterable[Point]], *, instances: Iterable[int] | None = (0,),
         schemes: Iterable[str] | None = None, **train) -> tuple[Cell, ...]:
    """One cell per (instance, point, scheme), numbered in that order: a study's ``SETTINGS``.

    Parameters
    ----------
    study : str
        The study's name (its folder name).
    points : callable
        ``points(instance)`` yields the sub-sweep's :class:`Point` s for that instance. With ``instances=None``
        the study has no instances: ``points(None)`` is called once and no ``instance`` column is added.
    instances : iterable of int or None
        Environment instances; each cell's setting gets ``instance``.
    schemes : iterable of str, optional
        The schemes of every point (default: every registered scheme that balances several rewards into one
        advantage, ``mowsim.schemes.available(role="balance")``; the spread and gate schemes need settings of their
        own, so a study names them).
    **train
        Training fields shared by every cell (``seeds``, ``steps``, ``lr``, ...); a point's ``train`` overrides them.
    """
    default_schemes = tuple(available(role="balance") if schemes is None else schemes)
    cells: list[Cell] = []
    for instance in (None,) if instances is None else tuple(instances):
        for point in points(instance):
            setting = dict(point.setting) if instance is None else {**point.setting, "instance": instance}
            for scheme in point.schemes or default_schemes:
                cells.append(make_cell(study, len(cells), point.env, point.env_kwargs, scheme, setting=setting,
                                       **{**train, **point.train}))
    return tuple(cells)


def _matches(cell: Cell, levels: dict, where: Callable[[dict], bool] | None) -> bool:
    setting = dict(cell.setting)
    for name, wanted in levels.items():
        if name not in setting:
            raise ValueError(f"{cell.id}: no setting knob {name!r} to select on; it has {sorted(setting)}.")
        if setting[name] not in wanted:
            return False
    return where is None or bool(where(setting))


def subset(cells: Iterable[Cell], *, seeds: int | None = None, steps: int | None = None,
           where: Callable[[dict], bool] | None = None, **levels: Collection) -> tuple[Cell, ...]:
    """The cells whose setting has every named knob at one of the given levels, scaled: a study's ``QUICK``.

    ``subset(SETTINGS, seeds=4, instance=(0,), G=(2, 16))`` keeps instance 0 at G = 2 and 16, with 4 seeds.
    ``where(setting)`` is an extra test for selections that levels cannot say (levels that depend on another knob).
    The cells keep their ids, so a quick run's cells are the full study's, scaled.
    """
    return tuple(cell.scaled(seeds=seeds, steps=steps) for cell in cells if _matches(cell, levels, where))


def ids(cells: Iterable[Cell], *, schemes: Collection[str] | None = None, where: Callable[[dict], bool] | None = None,
        **levels: Collection) -> tuple[str, ...]:
    """The ids of the cells of ``schemes`` at the given levels (as :func:`subset`): a study's ``TESTING``."""
    return tuple(cell.id for cell in cells
                 if (schemes is None or cell.scheme in schemes) and _matches(cell, levels, where))
