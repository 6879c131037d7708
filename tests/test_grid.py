"""mowsim.grid: a study's cells as (instance x point x scheme), and its QUICK and TESTING subsets."""

from __future__ import annotations

import doctest

import pytest

from mowsim import grid, sweep
from mowsim.grid import Point


def test_module_examples():
    assert doctest.testmod(grid, raise_on_error=False).failed == 0


def _points(instance):
    for sd in (0.0, 0.5):
        yield Point("bandit", {"noise_sd": sd, "instance_seed": instance}, {"noise_sd": sd})
    yield Point("bandit", {"noise_sd": 2.0, "instance_seed": instance}, {"noise_sd": 2.0}, train={"lr": 3.0},
                schemes=("rc",))


def test_grid_numbers_instance_point_scheme_in_order():
    cells = grid.grid("demo", _points, instances=(0, 1), schemes=("rc", "dvao"), seeds=3, steps=7, lr=1.0)
    assert [c.index for c in cells] == list(range(10))
    assert [(dict(c.setting)["instance"], dict(c.setting)["noise_sd"], c.scheme) for c in cells[:5]] == [
        (0, 0.0, "rc"), (0, 0.0, "dvao"), (0, 0.5, "rc"), (0, 0.5, "dvao"), (0, 2.0, "rc")]
    assert cells[4].lr == 3.0 and cells[0].lr == 1.0  # a point's training fields override the grid's
    assert all(c.seeds == 3 and c.steps == 7 for c in cells)
    assert dict(cells[5].env_kwargs)["instance_seed"] == 1


def test_grid_equals_hand_built_cells():
    cells = grid.grid("demo", _points, instances=(0,), schemes=("dvao",), seeds=2, steps=5)
    by_hand = sweep.make_cell("demo", 1, "bandit", {"noise_sd": 0.5, "instance_seed": 0}, "dvao",
                              setting={"noise_sd": 0.5, "instance": 0}, seeds=2, steps=5)
    assert cells[1] == by_hand and cells[1].key() == by_hand.key()


def test_without_instances_there_is_no_instance_column():
    cells = grid.grid("demo", lambda _: [Point("bandit", {}, {"B": 4})], instances=None, schemes=("rc",))
    assert dict(cells[0].setting) == {"B": 4}


def test_subset_and_ids():
    cells = grid.grid("demo", _points, instances=(0, 1), schemes=("rc", "dvao"), seeds=8, steps=5)
    quick = grid.subset(cells, seeds=2, instance=(0,), noise_sd=(0.0, 2.0))
    assert [c.id for c in quick] == ["demo/0", "demo/1", "demo/4"] and {c.seeds for c in quick} == {2}
    assert grid.subset(cells, where=lambda s: s["noise_sd"] > 1) == tuple(c for c in cells if c.index in (4, 9))
    assert grid.ids(quick, schemes=("rc",), noise_sd=(2.0,)) == ("demo/4",)
    assert grid.ids(quick) == ("demo/0", "demo/1", "demo/4")


def test_selecting_on_a_missing_knob_says_which_exist():
    cells = grid.grid("demo", _points, instances=(0,), schemes=("rc",))
    with pytest.raises(ValueError, match=r"no setting knob 'G' to select on; it has \['instance', 'noise_sd'\]"):
        grid.subset(cells, G=(2,))
