"""mowsim's schemes as verl advantage estimators.

verl is heavy (Ray, tensordict, a pinned transformers range), so the suite runs against a stand-in of the two verl
modules the integration touches, injected through ``sys.modules``: ``verl.trainer.ppo.core_algos`` (the estimator
registry: ``ADV_ESTIMATOR_REGISTRY``, ``register_adv_est``, ``get_adv_estimator_fn``) and
``verl.trainer.ppo.ray_trainer`` (``compute_advantage``'s generic branch and ``compute_response_mask``), written to
behave as verl 0.9.1's do: the generic branch passes ``token_level_rewards``, ``response_mask``, ``config`` and, when
present, ``index`` (the ``uid`` column) and ``reward_baselines``; ``non_tensor_batch`` goes to verl's own ``gdpo``
estimator only. When real verl is importable the same checks also run against it (``real`` parameter): ``make
test-verl`` (run by CI after ``make test``) runs this file in ``.venv-verl``, an environment with verl 0.9.1, and sets
``MOWSIM_REQUIRE_VERL=1``, which turns a skip of the real cases into a failure.
"""

from __future__ import annotations

import enum
import importlib
import os
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the verl estimators need torch: pip install -e .[llm]")

import mowsim  # noqa: E402
from mowsim.llm import verl as mowsim_verl  # noqa: E402

KEYS = ["accuracy", "length"]


# ---------------------------------------------------------------- the stand-in


def _stand_in_modules() -> dict[str, types.ModuleType]:
    core_algos = types.ModuleType("verl.trainer.ppo.core_algos")
    core_algos.ADV_ESTIMATOR_REGISTRY = {}

    def register_adv_est(name_or_enum):
        def decorator(fn):
            name = name_or_enum.value if isinstance(name_or_enum, enum.Enum) else name_or_enum
            known = core_algos.ADV_ESTIMATOR_REGISTRY.get(name)
            if known is not None and known != fn:
                raise ValueError(f"Adv estimator {name} has already been registered: {known} vs {fn}")
            core_algos.ADV_ESTIMATOR_REGISTRY[name] = fn
            return fn

        return decorator

    def get_adv_estimator_fn(name_or_enum):
        name = name_or_enum.value if isinstance(name_or_enum, enum.Enum) else name_or_enum
        if name not in core_algos.ADV_ESTIMATOR_REGISTRY:
            raise ValueError(f"Unknown advantage estimator simply: {name}")
        return core_algos.ADV_ESTIMATOR_REGISTRY[name]

    core_algos.register_adv_est = register_adv_est
    core_algos.get_adv_estimator_fn = get_adv_estimator_fn

    ray_trainer = types.ModuleType("verl.trainer.ppo.ray_trainer")

    def compute_response_mask(data):
        response_length = data.batch["responses"].size(1)
        return data.batch["attention_mask"][:, -response_length:]

    def compute_advantage(data, adv_estimator, gamma=1.0, lam=1.0, num_repeat=1, norm_adv_by_std_in_grpo=True,
                          config=None):
        if "response_mask" not in data.batch.keys():
            data.batch["response_mask"] = compute_response_mask(data)
        fn = core_algos.get_adv_estimator_fn(adv_estimator)
        kwargs = {"token_level_rewards": data.batch["token_level_rewards"],
                  "response_mask": data.batch["response_mask"], "config": config}
        if "uid" in data.non_tensor_batch:
            kwargs["index"] = data.non_tensor_batch["uid"]
        if "reward_baselines" in data.batch.keys():
            kwargs["reward_baselines"] = data.batch["reward_baselines"]
        if adv_estimator == "gdpo":
            kwargs["non_tensor_batch"] = data.non_tensor_batch
            kwargs["batch"] = data.batch
        data.batch["advantages"], data.batch["returns"] = fn(**kwargs)
        return data

    ray_trainer.compute_response_mask = compute_response_mask
    ray_trainer.compute_advantage = compute_advantage

    verl = types.ModuleType("verl")
    trainer = types.ModuleType("verl.trainer")
    ppo = types.ModuleType("verl.trainer.ppo")
    verl.trainer, trainer.ppo = trainer, ppo
    ppo.core_algos, ppo.ray_trainer = core_algos, ray_trainer
    return {"verl": verl, "verl.trainer": trainer, "verl.trainer.ppo": ppo,
            "verl.trainer.ppo.core_algos": core_algos, "verl.trainer.ppo.ray_trainer": ray_trainer}


class _StandInData:
    """The two attributes of verl's DataProto that compute_advantage reads: ``batch`` and ``non_tensor_batch``."""

    def __init__(self, tensors: dict, non_tensors: dict):
        self.batch = dict(tensors)
        self.non_tensor_batch = dict(non_tensors)


def _real_verl_error() -> str | None:
    """None if real verl's trainer module imports, else why not (any failure means "not available here")."""
    try:
        importlib.import_module("verl.trainer.ppo.ray_trainer")
    except Exception as err:  # noqa: BLE001
        return f"{type(err).__name__}: {err}"
    return None


def _real_verl_available() -> bool:
    return _real_verl_error() is None


@pytest.fixture(params=["stand-in", pytest.param("real", marks=pytest.mark.slow)])
def verl_env(request, monkeypatch):
    """(core_algos, ray_trainer, make_data) for the stand-in or, when installed, real verl; patches are undone."""
    if request.param == "stand-in":
        for name, module in _stand_in_modules().items():
            monkeypatch.setitem(sys.modules, name, module)

        def make_data(tensors, non_tensors):
            return _StandInData(tensors, non_tensors)
    else:
        if not _real_verl_available():
            if os.environ.get("MOWSIM_REQUIRE_VERL") == "1":  # `make test-verl`, which CI runs: real verl or fail
                pytest.fail(f"MOWSIM_REQUIRE_VERL=1 but verl does not import: {_real_verl_error()}")
            pytest.skip("verl is not installed (make verl-env); the stand-in runs instead")
        from verl import DataProto

        def make_data(tensors, non_tensors):
            return DataProto.from_dict(tensors=tensors, non_tensors=non_tensors)
    core_algos = importlib.import_module("verl.trainer.ppo.core_algos")
    ray_trainer = importlib.import_module("verl.trainer.ppo.ray_trainer")
    monkeypatch.setattr(ray_trainer, "compute_advantage", ray_trainer.compute_advantage)
    monkeypatch.setattr(core_algos, "ADV_ESTIMATOR_REGISTRY", dict(core_algos.ADV_ESTIMATOR_REGISTRY))
    monkeypatch.setattr(mowsim_verl, "_STATEFUL", {})
    return core_algos, ray_trainer, make_data


def verl_batch(seed: int = 0, *, sizes=(4, 3, 5, 4)):
    """A shuffled batch of groups of unequal size: uids, per-objective rewards (with None), response masks."""
    rng = np.random.default_rng(seed)
    uids = np.array([f"prompt-{g}" for g, size in enumerate(sizes) for _ in range(size)], dtype=object)
    order = rng.permutation(len(uids))
    uids = uids[order]
    accuracy = rng.integers(0, 2, size=len(uids)).astype(object)
    length = rng.random(len(uids)).astype(object)
    accuracy[2] = None
    lengths = rng.integers(2, 7, size=len(uids))
    mask = (torch.arange(8)[None, :] < torch.as_tensor(lengths)[:, None]).to(torch.float32)
    return uids, {"accuracy": accuracy, "length": length}, mask


def expected_per_response(uids, columns, scheme, **kwargs):
    """mowsim.advantages on the explicitly grouped rewards, read back per response."""
    names = list(dict.fromkeys(uids.tolist()))
    size = max(list(uids).count(n) for n in names)
    grouped = np.full((len(names), size, len(KEYS)), np.nan)
    slot = {n: 0 for n in names}
    where = []
    for row, uid in enumerate(uids):
        g = names.index(uid)
        grouped[g, slot[uid]] = [np.nan if columns[k][row] is None else float(columns[k][row]) for k in KEYS]
        where.append((g, slot[uid]))
        slot[uid] += 1
    advantages = mowsim.advantages(grouped, scheme, **kwargs)
    return np.array([advantages[g, j] for g, j in where])


def config(**extra):
    return {"gdpo_reward_keys": KEYS, **extra}


# ---------------------------------------------------------------- tests


def test_every_scheme_is_registered_once(verl_env):
    core_algos, _, _ = verl_env
    names = mowsim_verl.register_verl_estimators()
    assert names == [mowsim_verl.estimator_name(s) for s in mowsim.available()]
    assert "mowsim_dvao" in names and "mowsim_saw_gdpo" in names
    for name in names:
        assert core_algos.get_adv_estimator_fn(name) is core_algos.ADV_ESTIMATOR_REGISTRY[name]
    assert mowsim_verl.register_verl_estimators() == names  # idempotent


@pytest.mark.parametrize("scheme", ["rc", "ac", "gdpo", "dvao", "saw-gdpo", "vpo", "random-weight"])
def test_trainer_path_gives_mowsims_advantages(verl_env, scheme):
    _, ray_trainer, make_data = verl_env
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch()
    data = make_data({"token_level_rewards": torch.zeros_like(mask), "response_mask": mask},
                     {"uid": uids, **columns})
    out = ray_trainer.compute_advantage(data, adv_estimator=mowsim_verl.estimator_name(scheme),
                                        config=config(gdpo_reward_weights=[0.7, 0.3]))
    want = expected_per_response(uids, columns, scheme, weights=np.array([0.7, 0.3]), ddof=1, eps=1e-6)
    np.testing.assert_allclose(out.batch["advantages"].numpy(), (want[:, None] * mask.numpy()).astype(np.float32),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out.batch["returns"].numpy(), out.batch["advantages"].numpy())


def test_estimator_signature_matches_verls_outcome_estimators(verl_env):
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch(seed=1)
    fn = verl_env[0].get_adv_estimator_fn("mowsim_dvao")
    advantages, returns = fn(token_level_rewards=torch.zeros_like(mask), response_mask=mask, index=uids,
                             epsilon=1e-6, norm_adv_by_std_in_grpo=True, config=config(mowsim_ddof=0, mowsim_eps=0.0),
                             non_tensor_batch={"uid": uids, **columns})
    want = expected_per_response(uids, columns, "dvao", ddof=0, eps=0.0)
    np.testing.assert_allclose(advantages[:, 0].numpy(), want.astype(np.float32), rtol=1e-6, atol=1e-7)
    assert advantages.shape == mask.shape


def test_norm_adv_by_std_in_grpo_is_the_normalization(verl_env):
    """verl's ``norm_adv_by_std_in_grpo=False`` is Dr. GRPO's "none"; ``+algorithm.mowsim_normalization=batch`` is
    Lite PPO's "batch"; a contradiction and an unsupported scheme are errors."""
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch(seed=2)
    cases = [(False, {}, "none"), (True, {}, "group"), (True, {"mowsim_normalization": "batch"}, "batch"),
             (False, {"mowsim_normalization": "batch"}, "batch"), (False, {"mowsim_normalization": "none"}, "none")]
    for scheme in ("rc", "dvao", "gdpo"):
        fn = verl_env[0].get_adv_estimator_fn(mowsim_verl.estimator_name(scheme))
        for norm_by_std, extra, normalization in cases:
            advantages, _ = fn(token_level_rewards=torch.zeros_like(mask), response_mask=mask, index=uids,
                               epsilon=1e-6, norm_adv_by_std_in_grpo=norm_by_std, config=config(**extra),
                               non_tensor_batch={"uid": uids, **columns})
            want = expected_per_response(uids, columns, scheme, ddof=1, eps=1e-6, normalization=normalization)
            np.testing.assert_allclose(advantages[:, 0].numpy(), want.astype(np.float32), rtol=1e-6, atol=1e-7)
    fn = verl_env[0].get_adv_estimator_fn("mowsim_rc")
    with pytest.raises(ValueError, match="contradicts"):
        fn(token_level_rewards=torch.zeros_like(mask), response_mask=mask, index=uids, norm_adv_by_std_in_grpo=False,
           config=config(mowsim_normalization="group"), non_tensor_batch={"uid": uids, **columns})
    fn = verl_env[0].get_adv_estimator_fn("mowsim_dvao_ema")
    with pytest.raises(ValueError, match="normalization"):
        fn(token_level_rewards=torch.zeros_like(mask), response_mask=mask, index=uids, norm_adv_by_std_in_grpo=False,
           config=config(), non_tensor_batch={"uid": uids, **columns})


def test_unpatched_compute_advantage_is_a_clear_error(verl_env):
    _, ray_trainer, make_data = verl_env
    mowsim_verl.register_verl_estimators(patch=False)
    uids, columns, mask = verl_batch()
    data = make_data({"token_level_rewards": torch.zeros_like(mask), "response_mask": mask},
                     {"uid": uids, **columns})
    with pytest.raises(ValueError, match="received no non_tensor_batch"):
        ray_trainer.compute_advantage(data, adv_estimator="mowsim_dvao", config=config())


def test_missing_keys_and_config_are_clear_errors(verl_env):
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch()
    fn = verl_env[0].get_adv_estimator_fn("mowsim_rc")
    with pytest.raises(ValueError, match="gdpo_reward_keys"):
        fn(token_level_rewards=mask, response_mask=mask, index=uids, config={}, non_tensor_batch=columns)
    with pytest.raises(ValueError, match="use_v1=False"):
        fn(token_level_rewards=mask, response_mask=mask, index=uids, config=config(), non_tensor_batch={"uid": uids})


def test_other_estimators_pass_through_the_patch(verl_env):
    core_algos, ray_trainer, make_data = verl_env
    calls = []

    @core_algos.register_adv_est("stand_in_other")
    def other(token_level_rewards, response_mask, index=None, config=None, **kwargs):
        calls.append(sorted(kwargs))
        return token_level_rewards, token_level_rewards

    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch()
    data = make_data({"token_level_rewards": mask.clone(), "response_mask": mask}, {"uid": uids, **columns})
    ray_trainer.compute_advantage(data, adv_estimator="stand_in_other", config=config())
    assert calls == [[]]  # neither non_tensor_batch nor batch leaked to a foreign estimator


def test_stateful_schemes(verl_env):
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch()
    get = verl_env[0].get_adv_estimator_fn
    kwargs = dict(token_level_rewards=mask, response_mask=mask, index=uids, non_tensor_batch=columns)
    other_uids, other_columns, other_mask = verl_batch(seed=9)
    other = dict(token_level_rewards=other_mask, response_mask=other_mask, index=other_uids,
                 non_tensor_batch=other_columns)
    get("mowsim_dvao_ema")(config=config(), **kwargs)
    after_history, _ = get("mowsim_dvao_ema")(config=config(), **other)
    mowsim_verl._STATEFUL.clear()
    fresh, _ = get("mowsim_dvao_ema")(config=config(), **other)
    assert not torch.allclose(after_history, fresh)  # the pooled variance carried over between batches
    with pytest.raises(ValueError, match="Gram matrix"):
        get("mowsim_gradient")(config=config(), **kwargs)
    with pytest.raises(ValueError, match="feed_performance"):
        get("mowsim_hv_guided")(config=config(), **kwargs)
    mowsim_verl.feed_performance("hv-guided", [0.2, 0.5])
    advantages, _ = get("mowsim_hv_guided")(config=config(), **kwargs)
    assert torch.isfinite(advantages).all()
    with pytest.raises(ValueError, match="mowsim_rescored_keys"):
        get("mowsim_dvao_reliable")(config=config(), **kwargs)
    rescored = {f"{k}_again": v for k, v in columns.items()}
    advantages, _ = get("mowsim_dvao_reliable")(
        config=config(mowsim_rescored_keys=[f"{k}_again" for k in KEYS]),
        **{**kwargs, "non_tensor_batch": {**columns, **rescored}})
    want = expected_per_response(uids, columns, "dvao", ddof=1, eps=1e-6)  # identical rescoring: zero noise
    np.testing.assert_allclose(advantages[:, 0].numpy(), want.astype(np.float32), rtol=1e-5, atol=1e-6)


def test_grouping_pads_unequal_groups_with_nan():
    rewards = np.arange(10, dtype=np.float64).reshape(5, 2)
    grouped, position = mowsim_verl.grouped_rewards(rewards, ["b", "a", "b", "b", "a"])
    assert grouped.shape == (2, 3, 2)
    np.testing.assert_array_equal(grouped.reshape(-1, 2)[position], rewards)
    assert np.isnan(grouped[1, 2]).all()


def test_options_from_a_struct_dictconfig(verl_env):
    omegaconf = pytest.importorskip("omegaconf", reason="verl's configs are OmegaConf DictConfigs")
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch(seed=2)
    cfg = omegaconf.OmegaConf.create({"gdpo_reward_keys": KEYS, "mowsim_ddof": 0, "mowsim_eps": 0.0,
                                      "mowsim_scheme_params": {"noise_variance": [0.0, 0.01]}})
    omegaconf.OmegaConf.set_struct(cfg, True)  # as Hydra hands it over: unknown keys read as absent
    advantages, _ = verl_env[0].get_adv_estimator_fn("mowsim_dvao_reliable")(
        token_level_rewards=mask, response_mask=mask, index=uids, config=cfg, non_tensor_batch=columns)
    assert torch.isfinite(advantages).all()
    with omegaconf.open_dict(cfg):
        del cfg["mowsim_scheme_params"]  # parameters of one scheme are an error for another
    plain, _ = verl_env[0].get_adv_estimator_fn("mowsim_ac")(
        token_level_rewards=mask, response_mask=mask, index=uids, config=cfg, non_tensor_batch=columns)
    want = expected_per_response(uids, columns, "ac", ddof=0, eps=0.0)
    np.testing.assert_allclose(plain[:, 0].numpy(), want.astype(np.float32), rtol=1e-6, atol=1e-7)


def test_random_schemes_draw_afresh_per_batch_and_gates_take_their_params(verl_env):
    _, ray_trainer, make_data = verl_env
    mowsim_verl.register_verl_estimators()
    uids, columns, mask = verl_batch(seed=3)

    def run(scheme, **options):
        data = make_data({"token_level_rewards": torch.zeros_like(mask), "response_mask": mask},
                         {"uid": uids, **columns})
        out = ray_trainer.compute_advantage(data, adv_estimator=mowsim_verl.estimator_name(scheme),
                                            config=config(**options))
        return out.batch["advantages"].numpy()

    first, second = run("vpo"), run("vpo")
    assert not np.array_equal(first, second)  # one cached instance: its Dirichlet stream advances
    mowsim_verl._STATEFUL.clear()
    np.testing.assert_array_equal(run("vpo"), first)  # ... and restarts from the seed
    gated = run("gated", mowsim_scheme_params={"gates": [0], "thresholds": [0.5]})
    want = expected_per_response(uids, columns, mowsim.schemes.get("gated", gates=(0,), thresholds=0.5),
                                 weights=np.array([0.5, 0.5]), ddof=1, eps=1e-6)
    np.testing.assert_allclose(gated, (want[:, None] * mask.numpy()).astype(np.float32), rtol=1e-6, atol=1e-7)
