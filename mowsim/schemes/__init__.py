"""Multi-objective advantage schemes: a registry of name -> scheme, with Numba kernels and NumPy references.

>>> import mowsim
>>> {"rc", "ac", "gdpo", "dvao", "saw-grpo", "saw-gdpo"} <= set(mowsim.schemes.available())
True
"""

from mowsim.schemes import normalization, reference
from mowsim.schemes.base import (
    BACKENDS,
    Scheme,
    SchemeOutput,
    advantages,
    available,
    effective_weights,
    get,
    register,
)
from mowsim.schemes.gated import Gated
from mowsim.schemes.vpo import VPO, RandomWeight
from mowsim.schemes.dynamic import DVAOEMA, MGDA, DVAOReliable, GradientWeights, HypervolumeGuided, PCGrad, StatefulScheme
from mowsim.schemes.saw import SAWGDPO, SAWGRPO
from mowsim.schemes.static import AC, DVAO, GDPO, RC
from mowsim.schemes.transforms import condition_rewards

__all__ = [
    "BACKENDS",
    "Scheme",
    "SchemeOutput",
    "advantages",
    "available",
    "effective_weights",
    "get",
    "register",
    "reference",
    "normalization",
    "condition_rewards",
    "RC",
    "AC",
    "GDPO",
    "DVAO",
    "SAWGRPO",
    "SAWGDPO",
    "StatefulScheme",
    "HypervolumeGuided",
    "GradientWeights",
    "MGDA",
    "PCGrad",
    "DVAOEMA",
    "DVAOReliable",
    "VPO",
    "RandomWeight",
    "Gated",
]
