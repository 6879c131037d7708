"""mowsim: stress-test multi-objective GRPO advantage weighting.

The public face only; see docs/ARCHITECTURE.md for where everything lives.
"""

from mowsim import schemes, theory, validation
from mowsim.schemes import advantages, available, condition_rewards, effective_weights

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "advantages",
    "available",
    "condition_rewards",
    "effective_weights",
    "schemes",
    "theory",
    "validation",
]
