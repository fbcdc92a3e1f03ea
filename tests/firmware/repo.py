# Where the repository is, for firmware tests that read committed files (fonts, logs, boards).
# In MicroPython the tests run from .mpy files in a temporary tree, where __file__ names the
# .mpy; tests/conftest.py writes _repo_root.py there with the real path.
try:
    from _repo_root import ROOT  # type: ignore[import-not-found]
except ImportError:
    ROOT = __file__.replace("\\", "/").rsplit("/tests/", 1)[0]
