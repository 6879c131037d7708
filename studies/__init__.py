"""The built-in studies, one folder each (``sweep.py``, ``analysis.py``); shipped inside the package as ``mowsim/studies``."""
