"""Jobs are guests in the user's script (issue 13, section 2).

Every library entry point leaves the caller's Brian2 magic network (the objects ``run()``
collects), active device (the same object, its stack, build options and clock), prefs and
random state (numpy's global generator and the runtime device's buffers) as it found them.
Each check is the issue's script with one job: the user's group, built before the call,
is still simulated by ``run()`` after it: v(10 ms) = 1 - exp(-1) for dv/dt = (1 - v)/(10 ms).
"""

import copy
import importlib
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import biodyn
from biodyn import jobs

ISSUE_13_STANDALONE = '''\
from brian2 import *; from biodyn import jobs
prefs.codegen.target = "numpy"
G = NeuronGroup(3, "dv/dt = (1 - v)/(10*ms) : 1", method="exact")
jobs.replay("bi_poo_1998", target="cpp_standalone", out="side_results")
run(10*ms); print(G.v[0])   # 0.0, should be 0.632
'''


def _caller_state():
    from brian2 import prefs
    from brian2.core.base import BrianObject

    devices = importlib.import_module("brian2.devices.device")  # the module, not the proxy
    dev = devices.active_device
    clock = dev.defaultclock
    return {
        "prefs": {k: copy.deepcopy(v) for k, v in prefs.prefs.items()},
        "device": dev,
        "stack": list(devices.previous_devices),
        "build": (dev.build_on_run, dict(dev.build_options)),
        "scope": BrianObject._scope_current_key,
        "clock": (float(clock.dt_), float(np.asarray(clock.variables["t"].get_value()))),
        "random": copy.deepcopy(dev.get_random_state()),
    }


def _assert_same_state(before, after):
    changed = {k: (before["prefs"][k], after["prefs"].get(k)) for k in before["prefs"]
               if after["prefs"].get(k) != before["prefs"][k]}
    assert not changed, f"prefs changed: {changed}"
    assert after["device"] is before["device"]
    assert len(after["stack"]) == len(before["stack"])
    assert all(a[0] is b[0] for a, b in zip(after["stack"], before["stack"]))
    assert after["build"] == before["build"]
    assert after["scope"] == before["scope"]
    assert after["clock"] == before["clock"]
    rb, ra = before["random"], after["random"]
    for k in rb:
        if k == "numpy_state":
            assert all(np.array_equal(x, y) for x, y in zip(rb[k], ra[k])), "numpy's random state changed"
        else:
            assert np.array_equal(rb[k], ra[k]), f"Brian2's random state {k} changed"


def _as_guest(call):
    """The issue's script around ``call()``: the user's objects and settings survive it."""
    from brian2 import NeuronGroup, ms, prefs, run, seed, start_scope

    start_scope()
    prefs.codegen.target = "numpy"
    seed(11)
    G = NeuronGroup(3, "dv/dt = (1 - v)/(10*ms) : 1", method="exact")
    before = _caller_state()
    call()
    _assert_same_state(before, _caller_state())
    run(10 * ms)
    assert G.v[0] == pytest.approx(1 - math.exp(-1), rel=1e-12)


def test_replay_leaves_the_callers_script_alone(tmp_path):
    _as_guest(lambda: jobs.replay("fi_curve", target="numpy", out=tmp_path))


def test_fit_leaves_the_callers_script_alone(tmp_path):
    _as_guest(lambda: jobs.fit("wang_2005", free=["A3_plus"], target="numpy", out=False,
                               starts=1, max_evaluations=2, stimulus={"repetitions": 2}))


def test_measured_flow_analysis_leaves_the_callers_script_alone(tmp_path):
    _as_guest(lambda: jobs.analyze_flow("hebb_decay", field="measured", simulate=False,
                                        measure={"grid": 3, "copies": 2}, target="numpy",
                                        out=tmp_path))


def test_compare_leaves_the_callers_script_alone(tmp_path):
    _as_guest(lambda: jobs.compare("hebb_vs_delta", target="numpy", settings={"duration": "500 ms"},
                                   out=tmp_path, figure=False))


def test_brian2_lyapunov_leaves_the_callers_script_alone(tmp_path):
    """The two-copy estimate run in Brian2 (``method="brian2"``)."""
    _as_guest(lambda: jobs.analyze_lyapunov("rate_rnn", overrides={"N": "20", "g": "3"},
                                            method="brian2", duration=20, transient=5, dt=0.05,
                                            target="numpy", out=tmp_path))


def test_sweep_in_process_leaves_the_callers_script_alone(tmp_path, monkeypatch):
    """``workers=0`` runs the points in the caller's process: no worker setup (Brian2's logging
    prefs, warning filters)."""
    import warnings

    from brian2 import prefs

    from biodyn import sweep
    from biodyn.sweep import _worker

    monkeypatch.setattr(_worker, "_READY", False)        # as in a fresh user process
    monkeypatch.setattr(_worker, "_BRIAN_READY", False)
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    saved = prefs["logging.console_log_level"]
    prefs["logging.console_log_level"] = "WARNING"       # the user's own choice
    filters = list(warnings.filters)

    path = tmp_path / "cmp.toml"
    path.write_text(textwrap.dedent("""
        kind = "sweep"
        description = "Hebb against the delta rule"
        seed = 3
        [run]
        job = "compare"
        comparison = "hebb_vs_delta"
        settings = { duration = "300 ms" }
        figure = false
        [grid]
        inputs = ["orthonormal", "correlated"]
        """))

    def call():
        result = sweep.run(path, out=tmp_path / "out", workers=0)
        assert result.ok, [r.get("error") for r in result.records.values()]

    try:
        _as_guest(call)
        assert warnings.filters == filters
    finally:
        prefs["logging.console_log_level"] = saved


@pytest.mark.compiled
def test_issue_13_script_standalone_replay_leaves_the_users_network_running(tmp_path):
    """The issue's script verbatim, run as a user runs it (the one standalone build here)."""
    env = dict(os.environ)
    root = str(Path(biodyn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    script = tmp_path / "user_script.py"
    script.write_text(ISSUE_13_STANDALONE + textwrap.dedent('''\
        import importlib
        _devices = importlib.import_module("brian2.devices.device")
        _default = prefs.pref_register["devices.cpp_standalone"][0]["extra_make_args_unix"].default
        print(prefs.devices.cpp_standalone.extra_make_args_unix == _default,
              _devices.active_device is _devices.runtime_device, _devices.previous_devices == [])
        '''))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert float(lines[0]) == pytest.approx(1 - math.exp(-1), rel=1e-9)
    assert lines[1] == "True True True"  # make arguments, device and its stack as they were
    assert (tmp_path / "side_results" / "bi_poo_1998.json").exists()


def test_a_step_in_the_models_time_unit_reads_as_a_duration_in_the_footer():
    # the footer said "dt 2e-05 × 1 second"
    from biodyn.jobs._analyze import analysis_footer, step_text

    assert step_text(2e-5, "1 second") == "20 µs"
    assert step_text(0.001, "20 ms") == "20 µs"
    assert step_text(0.05, "tau (1 ms)") == "50 µs (0.05 tau)"
    assert step_text(0.1, "step") == "0.1 step"
    line = analysis_footer({"model": "lorenz", "parameter_set": "default", "seed": 0, "dt": 2e-5,
                            "time_unit": "1 second", "versions": {"biodyn": "0.1.0"}})
    assert "dt 20 µs" in line and "×" not in line and "second" not in line


def test_provenance_line_writes_quantities_readably_but_keeps_the_users_digits():
    from biodyn.jobs import provenance_line

    line = provenance_line({"model": "stdp_pair", "parameter_set": "song_2000", "seed": 0, "target": "numpy",
                            "dt": "2e-05 * second", "overrides": {"tau_plus": "16.8345 ms", "w": "100. s"}})
    assert "dt 20 µs" in line and "tau_plus=16.8345 ms" in line and "w=100 s" in line
