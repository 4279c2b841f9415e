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


# biodyn's cache during the tests (issue 13 §9). The suite compiles cpp_standalone projects
# (hundreds of MB): they go to a temporary folder removed after the session, never to the
# user's cache ($BIODYN_CACHE or ~/.cache/biodyn), which a test run neither fills nor reads.
# To keep compiled projects between runs of the suite (faster reruns of compiled tests), name
# a folder for the tests only: BIODYN_TEST_CACHE=/some/folder python -m pytest.
USER_CACHE = os.environ.get("BIODYN_CACHE")  # the user's setting, left alone by the tests


@pytest.fixture(scope="session", autouse=True)
def biodyn_test_cache():
    """BIODYN_CACHE for the whole session (subprocesses inherit it): $BIODYN_TEST_CACHE, else a
    fresh temporary folder, removed at the end."""
    import shutil
    import tempfile

    chosen = os.environ.get("BIODYN_TEST_CACHE")
    folder = chosen or tempfile.mkdtemp(prefix="biodyn-test-cache-")
    before = os.environ.get("BIODYN_CACHE")
    os.environ["BIODYN_CACHE"] = folder
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("BIODYN_CACHE", None)
        else:
            os.environ["BIODYN_CACHE"] = before
        if not chosen:
            shutil.rmtree(folder, ignore_errors=True)


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
