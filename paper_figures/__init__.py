"""The paper figure scripts, one per figure; shipped inside the package as ``mowsim/paper_figures``."""
