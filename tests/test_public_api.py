"""The public face: exported names exist, the entry points have the documented signatures, and the scheme
documentation cites its sources and formulas."""

from __future__ import annotations

import doctest
import inspect
import re

import numpy as np
import pytest

import mowsim
import mowsim.schemes.base
from mowsim.schemes import get, reference

SOURCE = re.compile(r"(19|20)\d\d|arxiv|paper|github\.com/", re.IGNORECASE)
FORMULA = re.compile(r"\.\. math::|``[^`]*(=| / )[^`]*``")  # a math block, or an equation/ratio in ``...``


@pytest.mark.parametrize("module", [mowsim, mowsim.schemes, reference, mowsim.validation])
def test_every_exported_name_exists(module):
    assert module.__all__, module.__name__
    assert len(set(module.__all__)) == len(module.__all__), "duplicate names in __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists {name!r}, which does not exist"


def test_top_level_exposes_the_scheme_entry_points():
    for name in ("advantages", "effective_weights", "available", "condition_rewards"):
        assert getattr(mowsim, name) is getattr(mowsim.schemes, name)
    assert isinstance(mowsim.__version__, str)


@pytest.mark.parametrize("function", [mowsim.advantages, mowsim.effective_weights])
def test_entry_point_signature(function):
    parameters = inspect.signature(function).parameters
    assert list(parameters) == ["rewards", "scheme", "weights", "ddof", "eps", "reward_min", "backend",
                                "normalization"]
    assert parameters["weights"].default is None
    keyword_only = {name: p.default for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keyword_only == {"ddof": 0, "eps": 0.0, "reward_min": None, "backend": "numba", "normalization": "group"}
    assert function.__doc__


def test_available_has_the_issue_schemes():
    assert {"rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"} <= set(mowsim.schemes.available())


@pytest.mark.parametrize("name", mowsim.schemes.available())
def test_registered_scheme_docstring_cites_a_source(name):
    cls = type(get(name))
    doc = inspect.getdoc(cls) or ""
    assert cls.__doc__, f"{cls.__name__} has no docstring of its own"
    assert SOURCE.search(doc), f"{cls.__name__}'s docstring cites no source (a year, arXiv, 'paper' or a GitHub URL)"


@pytest.mark.parametrize("name", mowsim.schemes.available())
def test_registered_scheme_is_immutable_and_hashable(name):
    scheme = get(name)
    assert scheme.name == name
    hash(scheme)
    with pytest.raises(AttributeError):
        scheme.name_of_a_field_that_does_not_exist = 1


def _public_reference_functions():
    return [(name, getattr(reference, name)) for name in reference.__all__
            if inspect.isfunction(getattr(reference, name))]


@pytest.mark.parametrize("name, function", _public_reference_functions(), ids=lambda x: x if isinstance(x, str) else "")
def test_reference_function_documents_its_formula(name, function):
    doc = inspect.getdoc(function) or ""
    assert doc, f"reference.{name} has no docstring"
    assert FORMULA.search(doc), (f"reference.{name}'s docstring states no formula "
                                 "(a '.. math::' block, ``x = ...`` or ``a / b``)")


def test_reference_covers_every_builtin_scheme():
    for name in ("rc", "ac", "gdpo", "dvao", "saw_grpo", "saw_gdpo"):
        assert name in reference.__all__


@pytest.mark.parametrize("module", [mowsim.schemes, mowsim.schemes.base])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0


def test_kernel_ids_are_distinct():
    ids = [type(get(name)).kernel_id for name in mowsim.schemes.available()]
    compiled = [i for i in ids if i >= 0]
    assert len(set(compiled)) == len(compiled)


def test_one_group_and_batch_agree_for_every_scheme():
    rewards = np.array([[0.2, 1.0], [0.9, 0.0], [0.4, 0.5]])
    for name in mowsim.schemes.available():
        np.testing.assert_array_equal(mowsim.advantages(rewards, name), mowsim.advantages(rewards[None], name)[0])
