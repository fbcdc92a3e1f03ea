# Where the repository is, for firmware tests that read committed files (fonts, logs, boards).
# In MicroPython the tests run from .mpy files in a temporary tree, where __file__ names the
# .mpy; tests/conftest.py writes _repo_root.py there with the real path. Run by hand from the
# repository (MICROPYPATH=firmware:.:tests/firmware micropython ...), __file__ is relative.
try:
    from _repo_root import ROOT  # type: ignore[import-not-found]
except ImportError:

    def _root():
        p = __file__.replace("\\", "/")
        i = p.rfind("/tests/firmware/")
        if i >= 0:
            return p[:i] if i else "/"
        if p.startswith("tests/firmware/"):
            return "."
        return "../.."

    ROOT = _root()
