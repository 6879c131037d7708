"""Benchmarks: the schemes against the NumPy reference and a TRL-style PyTorch implementation
(:mod:`mowsim.bench.schemes`, :mod:`mowsim.bench.torch_reference`), and the compiled training loop against a
vectorized NumPy loop (:mod:`mowsim.bench.train`). The command line is ``mowsim bench`` (:mod:`mowsim.cli.bench`).

Nothing is imported here, so ``import mowsim.bench.schemes`` does not pull in PyTorch or the environments.
"""
