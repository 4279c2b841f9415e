"""Shared test setup: quiet Brian2, a non-interactive matplotlib, a clean catalog."""

import os
import warnings

import pytest

# pyparsing (used by Brian2's parsers) warns about its own renamed methods on every import.
warnings.filterwarnings("ignore", message=".*deprecated.*use.*", category=DeprecationWarning)

os.environ.setdefault("MPLBACKEND", "Agg")
# Small dense linear algebra is much faster single-threaded on a small shared machine
# (a 100x100 QR: 17 ms threaded vs 0.8 ms single-threaded, measured on 2 cores under load).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def pytest_configure(config):
    try:
        from brian2 import prefs

        prefs.logging.file_log = False
        prefs.logging.console_log_level = "ERROR"
        from brian2.utils.logger import BrianLogger

        BrianLogger.console_handler.setLevel("ERROR")
    except Exception:
        pass


@pytest.fixture
def catalog_path(tmp_path, monkeypatch):
    """A folder on BIODYN_PATH (the catalog is rescanned before and after the test)."""
    from biodyn import catalog

    folder = tmp_path / "specs"
    folder.mkdir()
    monkeypatch.setenv("BIODYN_PATH", str(folder))
    catalog.refresh()
    yield folder
    catalog.refresh()
