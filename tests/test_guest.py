"""biodyn is a guest in the user's script: it prints nothing to the process's stdout or stderr
that the user did not ask for (no Brian2 log line its own settings cause, no compiler or binary
output, no warning of its own sources). What Brian2 itself prints under the user's prefs is the
user's to configure (biodyn never changes their prefs or logging)."""

import pathlib
import warnings

import pytest

import biodyn

SOURCES = pathlib.Path(biodyn.__file__).parent


def test_biodyn_sources_compile_without_warnings():
    """An invalid escape in a docstring (``"\\p"``) is a SyntaxWarning printed on the user's
    stderr when Python >= 3.12 compiles the module (a fresh or editable install)."""
    said = []
    for path in sorted(SOURCES.rglob("*.py")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        said += [f"{path.relative_to(SOURCES)}:{w.lineno}: {w.message}" for w in caught]
    assert said == []


@pytest.fixture
def brian2_console_as_shipped():
    """Brian2's console log at its own default level (INFO), as in a user's script (the test
    suite keeps it at ERROR: conftest.py)."""
    from brian2.utils.logger import BrianLogger

    handler = BrianLogger.console_handler
    before = handler.level
    handler.setLevel("INFO")
    try:
        yield
    finally:
        handler.setLevel(before)


@pytest.mark.compiled
def test_a_standalone_protocol_run_and_its_rerun_print_nothing(capfd, brian2_console_as_shipped):
    """``protocols.run(..., target="cpp_standalone")`` from Python — code generation, make, the
    binary, then a rerun of the kept build with another seed — writes nothing to the process's
    stdout or stderr and warns nothing a script shows by default."""
    from biodyn import protocols

    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        first = protocols.run("bi_poo_1998", target="cpp_standalone")
        again = protocols.run("bi_poo_1998", target="cpp_standalone", seed=1)
    assert capfd.readouterr() == ("", "")
    shown = [f"{w.category.__name__}: {w.message} ({w.filename})" for w in caught
             if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert shown == []
    assert first.values is not None and again.values is not None


@pytest.mark.compiled
def test_the_users_prints_from_another_thread_during_a_standalone_build_all_arrive(tmp_path,
                                                                                    capfd):
    """While biodyn compiles and runs a standalone project, the process's stdout is the
    user's: a thread of theirs writing to it loses nothing (Brian2 points file descriptors 1
    and 2 of the whole process to its own log while make runs: :func:`biodyn.build._make`)."""
    import os
    import threading
    import time

    from brian2 import NeuronGroup, StateMonitor, ms

    from biodyn import build

    stop, written = threading.Event(), []

    def user_thread():
        while not stop.is_set():
            os.write(1, b"tick\n")
            written.append(1)
            time.sleep(0.005)

    # Brian2 probes its compiler flags once per process, also with fds 1 and 2 pointed to its
    # log (0.2 s; Brian2's own, not biodyn's to change): done before the user's thread starts
    from brian2.codegen.cpp_prefs import get_compiler_and_args

    get_compiler_and_args()
    capfd.readouterr()
    thread = threading.Thread(target=user_thread)
    thread.start()
    try:
        with build.Simulation("cpp_standalone", directory=tmp_path / "p") as sim:
            g = NeuronGroup(2, "dv/dt = (1 - v)/(10*ms) : 1", method="exact", name="g")
            m = StateMonitor(g, "v", record=True, name="m")
            sim.run(5 * ms, g, m)
            v = m.v[:]
    finally:
        stop.set()
        thread.join()
    out, err = capfd.readouterr()
    assert (out.count("tick\n"), out.replace("tick\n", ""), err) == (len(written), "", "")
    assert v.shape == (2, 50)
