"""Interrupts: Ctrl-C (SIGINT) and SIGTERM sent to real biodyn processes.

An interrupted run writes no result (no file at all where the result would be), prints
``biodyn: interrupted`` and exits 130 (SIGINT) or 143 (SIGTERM). The signals are sent
once Brian2 is inside ``Network.run`` (its report's first line is the cue): that is
where Brian2's own handler used to turn Ctrl-C into a quiet early end of the run, and
biodyn then wrote the truncated run as its result and exited 0.

A sweep interrupted with --workers 2 keeps its finished points, records none of the
points in flight, leaves no result in their folders, and the same command resumes it.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def environment(extra_path=None):
    env = dict(os.environ)
    env.pop("BIODYN_PATH", None)
    env["MPLBACKEND"] = "Agg"
    paths = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Running:
    """A ``python -m biodyn ...`` process in its own session (a terminal's process group)."""

    def __init__(self, args, cwd, env=None, ignore_sigint=False):
        pre = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None
        self.proc = subprocess.Popen([sys.executable, "-m", "biodyn", *args], cwd=cwd,
                                     env=env or environment(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True,
                                     preexec_fn=pre)
        self.lines = queue.Queue()
        self.stdout = []
        self.stderr = []
        for stream, store in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr)):
            threading.Thread(target=self._read, args=(stream, store), daemon=True).start()

    def _read(self, stream, store):
        for line in stream:
            store.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, needle, timeout=240):
        """Block until a line of stdout or stderr contains ``needle``."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the process ended before {needle!r}: {''.join(self.stderr)}")
            if needle in line:
                return
        pytest.fail(f"no {needle!r} within {timeout} s")

    def signal_group(self, sig):
        os.killpg(self.proc.pid, sig)  # as a terminal does: every process of the group

    def finish(self, timeout=120):
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        time.sleep(0.2)  # the reader threads drain the pipes
        return self.proc.returncode, "".join(self.stdout), "".join(self.stderr)


def files_under(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


def assert_interrupted(code, stderr, sig):
    assert code == 128 + sig, stderr
    assert stderr.rstrip().splitlines()[-1] == "biodyn: interrupted", stderr
    for bad in ("Traceback", "internal error", "Handlers", "unexpected error"):
        assert bad not in stderr, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_a_replay_run_writes_no_result_and_exits_128_plus_signal(tmp_path, sig):
    run = Running(["replay", "bi_poo_1998", "--target", "numpy", "--out", "o"], cwd=tmp_path)
    run.wait_for("Starting simulation")  # Brian2 is inside Network.run (59 s of pairings)
    time.sleep(0.5)
    t_signal = time.time()
    run.signal_group(sig)
    code, out, err = run.finish()
    assert_interrupted(code, err, sig)
    assert files_under(tmp_path / "o") == []  # no result, no partial or temporary file
    assert "bi_poo_1998:" not in out  # no success line
    assert time.time() - t_signal < 30  # the run stopped; it did not run to its end


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_analyze_flow_simulation_writes_neither_figure_nor_json(tmp_path, sig):
    run = Running(["analyze", "flow", "stdp_correlated_asymmetric", "--target", "numpy",
                   "--out", "o", "--json", "o/flow.json"], cwd=tmp_path)
    run.wait_for("Starting simulation")
    time.sleep(0.5)
    run.signal_group(sig)
    code, out, err = run.finish()
    assert_interrupted(code, err, sig)
    assert files_under(tmp_path / "o") == []


def _standalone_binary_running(pgid):
    """True once the compiled project's ``main`` runs in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_text().split("\0")[0]
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[2]) == pgid and cmd.endswith("main"):
            return True
    return False


@pytest.mark.slow
@pytest.mark.compiled
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_the_standalone_binary_runs_writes_no_result_and_the_build_stays_usable(
        tmp_path, sig):
    from biodyn.build import has_compiler

    if not has_compiler() or not Path("/proc").is_dir():
        pytest.skip("needs a C++ compiler and /proc")
    args = ["replay", "bi_poo_1998", "--target", "cpp_standalone", "--out", "o"]
    run = Running(args, cwd=tmp_path)
    deadline = time.time() + 600
    while not _standalone_binary_running(run.proc.pid):
        assert run.proc.poll() is None, run.finish()
        assert time.time() < deadline, "the standalone binary did not start"
        time.sleep(0.05)
    time.sleep(0.3)
    run.signal_group(sig)
    code, _, err = run.finish()
    assert_interrupted(code, err, sig)
    assert files_under(tmp_path / "o") == []
    again = subprocess.run([sys.executable, "-m", "biodyn", *args, "-q"], cwd=tmp_path,
                           env=environment(), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert files_under(tmp_path / "o") == ["bi_poo_1998.json", "bi_poo_1998.pkl", "bi_poo_1998.png"]


def test_simulation_stopped_by_ctrl_c_raises_interrupted_and_the_next_run_is_whole():
    """In a script: Brian2's own Ctrl-C handler stops the run; Simulation does not return it."""
    from brian2 import NetworkOperation, NeuronGroup, ms

    from biodyn.build import Simulation
    from biodyn.errors import Interrupted

    def ctrl_c(t):
        if t >= 5 * ms:
            signal.raise_signal(signal.SIGINT)  # through Brian2's handler, as a terminal would

    with Simulation("numpy", dt=0.1 * ms, check_finite=False) as sim:
        G = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1")
        with pytest.raises(Interrupted) as info:
            sim.run(1000 * ms, G, NetworkOperation(ctrl_c, dt=1 * ms))
        assert info.value.exit_code == 130
        assert float(sim._network.t / ms) < 10  # it did stop early, and that was not returned
    with Simulation("numpy", dt=0.1 * ms, check_finite=False) as sim:
        G = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1")
        sim.run(20 * ms, G)  # the stop request does not leak into the next run
        assert float(sim._network.t / ms) == pytest.approx(20)


def test_simulation_stopped_early_for_another_reason_is_an_error_not_a_result():
    from brian2 import NetworkOperation, NeuronGroup, ms

    from biodyn.build import Simulation
    from biodyn.errors import SimulationError

    with Simulation("numpy", dt=0.1 * ms, check_finite=False) as sim:
        G = NeuronGroup(1, "dv/dt = -v/(10*ms) : 1")
        stopper = NetworkOperation(lambda t: sim._network.stop() if t >= 3 * ms else None, dt=1 * ms)
        with pytest.raises(SimulationError, match="stopped at t = 0.003"):
            sim.run(50 * ms, G, stopper)


# --------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------

POINTS = '''
import os
from pathlib import Path


def brian_point(params, seed, out):
    """x = 0 is short; the others run until they are stopped (the test makes them short
    for the second run through SHORT_RUNS). Each run logs its start in out/runs.log and in
    BEACONS/x.log (dask workers write in a folder of their own: out is not the sweep's folder
    until the point's files come back), and writes out/result.txt after its Brian2 run, as
    a job writes its files."""
    from brian2 import NeuronGroup, ms

    from biodyn.build import Simulation

    beacon = Path(os.environ["BEACONS"]) / f"{params['x']}.log"
    for path in (out / "runs.log", beacon):
        with open(path, "a") as f:
            f.write("start\\n")
    long = params["x"] != 0 and not os.environ.get("SHORT_RUNS")
    with Simulation("numpy", dt=0.1 * ms, seed=seed, check_finite=False) as sim:
        G = NeuronGroup(1, "dv/dt = (1 - v)/(10*ms) : 1")
        for path in (out / "runs.log", beacon):
            with open(path, "a") as f:
                f.write("running\\n")
        sim.run((10_000_000 if long else 20) * ms, G)
        v = float(G.v[0])
    (out / "result.txt").write_text(f"{v}\\n")
    return {"v": v}
'''


def write_brian_sweep(folder):
    mods = folder / "mods"
    mods.mkdir()
    (mods / "interrupt_points.py").write_text(POINTS)
    spec = folder / "brian.toml"
    spec.write_text(textwrap.dedent("""
        kind = "sweep"
        description = "one short point, then points that run until they are stopped"
        seed = 3
        [run]
        job = "callable"
        function = "interrupt_points:brian_point"
        [grid]
        x = [0, 1, 2, 3]
    """))
    return spec, mods


def point_records(out):
    return {json.loads(p.read_text())["point"]: json.loads(p.read_text())
            for p in sorted((out / "points").glob("*.json"))}


def point_x(rec):
    return int(json.loads(rec["key"])[0][1])


@pytest.mark.slow
@pytest.mark.parametrize("inherited, sig", [("default", signal.SIGINT), ("ignored", signal.SIGINT),
                                            ("default", signal.SIGTERM)],
                         ids=["SIGINT", "SIGINT-was-ignored", "SIGTERM"])
def test_sweep_interrupted_with_two_workers_keeps_finished_points_and_resumes(tmp_path, inherited, sig):
    """A signal to the whole group (Ctrl-C: the terminal's way) while two points run in Brian2.

    ``SIGINT-was-ignored``: the sweep starts with SIGINT ignored (``biodyn sweep ... &`` in
    a script, then ``kill -INT``): Brian2 used to chain its handler to SIG_IGN and die in
    "TypeError: 'Handlers' object is not callable". No Brian2 debug log is left in the
    temporary folder by the worker processes the cluster ends.
    """
    spec, mods = write_brian_sweep(tmp_path)
    out = tmp_path / "out"
    env = environment(mods)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env["TMPDIR"] = str(tmp)
    beacons = tmp_path / "beacons"
    beacons.mkdir()
    env["BEACONS"] = str(beacons)
    run = Running(["sweep", str(spec), "--workers", "2", "--out", str(out)], cwd=tmp_path, env=env,
                  ignore_sigint=inherited == "ignored")
    deadline = time.time() + 300
    try:
        while True:  # point 0 finished, and two long points inside their Brian2 runs
            records = point_records(out) if (out / "points").exists() else {}
            running = [p for p in beacons.glob("*.log") if "running" in p.read_text()]
            if len(records) == 1 and len(running) >= 3:
                break
            assert run.proc.poll() is None, run.finish()
            assert time.time() < deadline, "the points did not start in time"
            time.sleep(0.1)
    except BaseException:  # never leave the cluster's endless points running
        run.signal_group(signal.SIGKILL)
        raise
    time.sleep(1.0)
    run.signal_group(sig)
    code, _, err = run.finish()
    assert_interrupted(code, err, sig)
    assert "1 of 4 points finished (kept)" in err
    records = point_records(out)
    assert [point_x(r) for r in records.values()] == [0]  # no in-flight point recorded
    first = (out / "points" / f"{next(iter(records))}.json").read_text()
    for folder in (out / "points").iterdir():
        if folder.is_dir() and folder.name != next(iter(records)):
            assert not (folder / "result.txt").exists()  # no truncated result in its folder
    manifest = json.loads((out / "sweep.json").read_text())
    assert manifest["runs"][-1]["interrupted"] is True
    time.sleep(2)
    assert sorted(p.name for p in tmp.glob("brian_debug_*")) == []

    env["SHORT_RUNS"] = "1"
    again = subprocess.run([sys.executable, "-m", "biodyn", "sweep", str(spec), "--workers", "2",
                            "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "4 points, 1 finished earlier, 3 to run" in again.stderr
    records = point_records(out)
    assert sorted(point_x(r) for r in records.values()) == [0, 1, 2, 3]
    assert all(r["status"] == "ok" for r in records.values())
    name0 = [n for n, r in records.items() if point_x(r) == 0][0]
    assert (out / "points" / f"{name0}.json").read_text() == first  # not computed again
    v20 = 1 - __import__("math").exp(-2.0)  # 20 ms of dv/dt = (1 - v)/10 ms, v(0) = 0
    for rec in records.values():
        assert rec["values"]["v"] == pytest.approx(v20, rel=1e-3)


def test_point_interrupted_in_this_process_is_not_recorded_and_runs_again(tmp_path):
    """workers=0: Ctrl-C during a point: the sweep raises Interrupted, no record of that point."""
    from biodyn import sweep
    from biodyn.errors import Interrupted

    (tmp_path / "stop_points.py").write_text(textwrap.dedent('''
        import os

        def point(params, seed, out):
            if params["x"] == 2 and not os.environ.get("NO_STOP"):
                raise KeyboardInterrupt  # Ctrl-C in the middle of this point
            (out / "result.txt").write_text("done")
            return {"y": params["x"]}
    '''))
    spec = tmp_path / "stop.toml"
    spec.write_text(textwrap.dedent('''
        kind = "sweep"
        description = "a point is interrupted"
        seed = 1
        [run]
        job = "callable"
        function = "stop_points.py:point"
        [grid]
        x = [1, 2, 3]
    '''))
    out = tmp_path / "out"
    with pytest.raises(Interrupted):
        sweep.run(spec, out=out, workers=0)
    names = {p.params["x"]: p.name for p in sweep.load(spec).points}
    assert (out / "points" / f"{names[1]}.json").exists()
    assert not (out / "points" / f"{names[2]}.json").exists()
    assert not (out / "points" / f"{names[3]}.json").exists()  # never started
    os.environ["NO_STOP"] = "1"
    try:
        result = sweep.run(spec, out=out, workers=0)
    finally:
        del os.environ["NO_STOP"]
    assert result.ok and result.computed == 2 and result.skipped == 1


def test_point_whose_own_brian2_run_was_stopped_by_a_signal_is_not_recorded(tmp_path):
    """A callable running Brian2 itself (not through biodyn's Simulation): the signal its
    run swallowed still makes the point interrupted, never a finished point."""
    from biodyn import sweep
    from biodyn.errors import Interrupted

    (tmp_path / "own_points.py").write_text(textwrap.dedent('''
        import signal

        from biodyn import _signals

        def point(params, seed, out):
            if params["x"] == 1:
                _signals.request_stop(signal.SIGTERM)  # what the handler does during a run
            return {"y": params["x"]}
    '''))
    spec = tmp_path / "own.toml"
    spec.write_text(textwrap.dedent('''
        kind = "sweep"
        description = "a point's own run is stopped"
        seed = 1
        [run]
        job = "callable"
        function = "own_points.py:point"
        [grid]
        x = [0, 1]
    '''))
    out = tmp_path / "out"
    with pytest.raises(Interrupted) as info:
        sweep.run(spec, out=out, workers=0)
    assert info.value.exit_code == 143
    names = {p.params["x"]: p.name for p in sweep.load(spec).points}
    assert (out / "points" / f"{names[0]}.json").exists()
    assert not (out / "points" / f"{names[1]}.json").exists()


def test_job_files_are_not_written_when_a_signal_was_received_during_the_job(tmp_path):
    from biodyn import _signals, io
    from biodyn.errors import Interrupted

    with pytest.raises(Interrupted):
        with io.all_or_nothing():
            io.write_json({"a": 1}, tmp_path / "a.json")
            _signals.request_stop(signal.SIGINT)  # e.g. a user's own Brian2 run swallowed it
    assert files_under(tmp_path) == []
    assert _signals.stop_requested() is None  # raised once, then forgotten


@pytest.mark.parametrize("status, expected", [(2, 130), (15, 143), (512, None), (256, None)],
                         ids=["make killed by SIGINT", "by SIGTERM", "make failed (exit 2)", "exit 1"])
def test_a_compiler_killed_by_a_signal_is_an_interrupt_not_a_compilation_failure(status, expected):
    """Brian2 compiles with os.system, which ignores SIGINT in Python while make runs: Ctrl-C
    kills make alone and Brian2 reports "Project compilation failed (error code: N)" with N the
    wait status. A status that says "killed by SIGINT/SIGTERM" is Interrupted (exit 130/143);
    make's own failure (exit code 2: N = 512) stays a SimulationError."""
    from biodyn.build import _simulation_error
    from biodyn.errors import Interrupted, SimulationError

    exc = RuntimeError(f"Project compilation failed (error code: {status}). Consider running with "
                       '"clean=True" to force a complete rebuild.')
    got = _simulation_error(exc)
    if expected is None:
        assert isinstance(got, SimulationError) and "compilation failed" in str(got)
    else:
        assert isinstance(got, Interrupted) and got.exit_code == expected


def _make_running(pgid):
    """True once ``make`` (Brian2's project build, not its earlier compiler-flag probes,
    which Python runs itself) runs in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1: stat.rindex(")")]
        if int(stat[stat.rindex(")") + 2:].split()[2]) == pgid and comm == "make":
            return True
    return False


@pytest.mark.slow
@pytest.mark.compiled
def test_ctrl_c_while_the_standalone_project_compiles_is_an_interrupt_with_no_result(tmp_path):
    from biodyn.build import has_compiler

    if not has_compiler() or not Path("/proc").is_dir():
        pytest.skip("needs a C++ compiler and /proc")
    env = environment()
    env["BIODYN_CACHE"] = str(tmp_path / "cache")  # a fresh cache: the project compiles
    run = Running(["replay", "bi_poo_1998", "--target", "cpp_standalone", "--out", "o"], cwd=tmp_path,
                  env=env)
    deadline = time.time() + 600
    while not _make_running(run.proc.pid):
        assert run.proc.poll() is None, run.finish()
        assert time.time() < deadline, "make did not start"
        time.sleep(0.05)
    time.sleep(1.0)
    run.signal_group(signal.SIGINT)  # as a terminal's Ctrl-C: make and biodyn alike
    code, _, err = run.finish()
    assert_interrupted(code, err, signal.SIGINT)
    assert "compilation failed" not in err
    assert files_under(tmp_path / "o") == []
