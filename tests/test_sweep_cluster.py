"""Sweeps on dask.distributed, as a user runs them: `python -m biodyn sweep` in real processes.

* a local cluster killed midway (SIGKILL to the whole process group) and the sweep run again:
  finished points are never computed again and every point ends finished, once in the CSV;
* a scheduler and a worker started by the test (`dask scheduler`, `dask worker`, loopback)
  and the sweep run against the scheduler's address;
* the example script examples/run_a_sweep.py.

"Finished" is defined as in biodyn.sweep: a point is finished once its result file
points/NAME.json is written. A point whose execution was cut by the kill has no result file,
so it runs again; that is the only way a point executes twice.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parent.parent

POINTS_MODULE = '''
import os
import time


def slow_point(params, seed, out, sleep=0.5, fail_at=None):
    """Logs every execution in out/runs.log (start, then done) and sleeps."""
    with open(out / "runs.log", "a") as f:
        f.write(f"start {os.getpid()}\\n")
    time.sleep(sleep)
    if fail_at is not None and params["x"] == fail_at:
        raise RuntimeError(f"x = {fail_at} fails on purpose")
    with open(out / "runs.log", "a") as f:
        f.write("done\\n")
    return {"twice": 2 * params["x"], "seed_seen": seed, "pid": os.getpid(),
            "omp_threads": os.environ.get("OMP_NUM_THREADS")}


def where(params, seed, out):
    """Writes a file in its output folder and says which folder that was."""
    (out / "note.txt").write_text(f"x = {params['x']}")
    return {"folder": str(out), "twice": 2 * params["x"]}


def dies_once(params, seed, out, marker):
    """x == 1 kills its worker the first time it runs (after a second), then succeeds."""
    import pathlib

    flag = pathlib.Path(marker)
    if params["x"] == 1 and not flag.exists():
        time.sleep(1.5)
        flag.write_text("died once")
        os._exit(3)
    return {"twice": 2 * params["x"]}


def dies(params, seed, out):
    """The worker process dies (a crash in compiled code looks like this) where x == 2."""
    if params["x"] == 2:
        os._exit(3)
    return {"twice": 2 * params["x"]}
'''


def environment(extra_path=None):
    env = dict(os.environ)
    env.pop("BIODYN_PATH", None)
    env["MPLBACKEND"] = "Agg"
    paths = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.fixture
def module_dir(tmp_path):
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "sweep_test_points.py").write_text(POINTS_MODULE)
    return folder


def write_sweep(folder, n, sleep, fail_at=None, name="slow"):
    fail = "" if fail_at is None else f", fail_at = {fail_at}"
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(f"""
        kind = "sweep"
        description = "slow points that log each execution"
        seed = 11
        [run]
        job = "callable"
        function = "sweep_test_points:slow_point"
        kwargs = {{ sleep = {sleep}{fail} }}
        [grid]
        x = {list(range(n))}
    """))
    return path


def sweep_cmd(spec, out, *extra):
    return [sys.executable, "-m", "biodyn", "sweep", str(spec), "--out", str(out), *extra]


def point_files(out):
    return sorted((out / "points").glob("*.json"))


def executions(out, name):
    log = out / "points" / name / "runs.log"
    lines = log.read_text().split("\n") if log.exists() else []
    return sum(ln.startswith("start") for ln in lines), sum(ln == "done" for ln in lines)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def group_alive(pgid):
    """Processes of group ``pgid`` that are still running (zombies do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():  # pragma: no cover - not Linux
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    alive = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def wait_gone(pgid, timeout=20):
    """True once no process of the group is left running."""
    end = time.time() + timeout
    while time.time() < end:
        if not group_alive(pgid):
            return True
        time.sleep(0.2)
    return False


def test_killed_local_cluster_sweep_resumes_and_computes_every_point_exactly_once(tmp_path, module_dir):
    n = 12
    spec = write_sweep(tmp_path, n, sleep=0.3)
    out = tmp_path / "out"
    env = environment(module_dir)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(name, None)  # the local cluster sets them in its workers
    proc = subprocess.Popen(sweep_cmd(spec, out, "--workers", "2"), env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 180
        while len(point_files(out)) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.time() < deadline, "no point finished in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its cluster, all at once
        proc.communicate()
    assert wait_gone(proc.pid), "processes of the killed sweep are still running"

    finished_first = {}
    for path in point_files(out):
        rec = json.loads(path.read_text())
        assert rec["status"] == "ok"
        finished_first[rec["point"]] = path.read_text()
    assert 3 <= len(finished_first) < n, "the kill must come midway"

    again = subprocess.run(sweep_cmd(spec, out, "--workers", "2"), env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{n} points, {len(finished_first)} finished earlier, {n - len(finished_first)} to run" in again.stderr
    assert again.stdout.split() == [str(out / "summary.csv"), str(out / "summary.png")]

    records = {json.loads(p.read_text())["point"]: json.loads(p.read_text()) for p in point_files(out)}
    assert len(records) == n and all(r["status"] == "ok" for r in records.values())
    for name, text in finished_first.items():  # finished points: never computed again
        assert (out / "points" / f"{name}.json").read_text() == text
        assert executions(out, name) == (1, 1)
    for name, rec in records.items():  # every point ends finished, with its own result
        starts, dones = executions(out, name)
        assert dones >= 1 and starts >= dones
        x = int(json.loads(rec["key"])[0][1])
        assert rec["values"]["twice"] == 2 * x and rec["values"]["seed_seen"] == rec["seed"]
        assert rec["values"]["omp_threads"] == "1"  # one thread per worker
        assert rec["values"]["pid"] not in (os.getpid(), proc.pid)  # a worker process
    rows = read_csv(out / "summary.csv")
    assert sorted(r["point"] for r in rows) == sorted(records)  # every point once
    assert sorted(int(r["x"]) for r in rows) == list(range(n))
    manifest = json.loads((out / "sweep.json").read_text())
    assert [r["computed"] for r in manifest["runs"]][-1] == n - len(finished_first)


@pytest.fixture
def dask_cluster(tmp_path, module_dir):
    """`dask scheduler` and one `dask worker` on loopback, stopped whatever happens."""
    env = environment(module_dir)
    env["OMP_NUM_THREADS"] = "1"
    scheduler_file = tmp_path / "scheduler.json"
    dask = str(Path(sys.executable).parent / "dask")  # the `dask` command of this environment
    procs = []
    try:
        procs.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(scheduler_file)],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
        deadline = time.time() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert procs[0].poll() is None, "dask scheduler exited"
            assert time.time() < deadline, "dask scheduler did not start"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [dask, "worker", address, "--nthreads", "1",
             "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", "testworker",
             "--local-directory", str(tmp_path / "dask-worker")],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True))
        yield address
    finally:
        for p in reversed(procs):
            with_group(p, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with_group(p, signal.SIGKILL)
                p.wait(timeout=15)
            wait_gone(p.pid, timeout=10)


def with_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def test_sweep_against_a_scheduler_address_runs_on_its_workers(tmp_path, dask_cluster):
    spec = write_sweep(tmp_path, 6, sleep=0.05, fail_at=4)
    out = tmp_path / "out"
    env = environment()  # the module is importable on the worker only (its PYTHONPATH)
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(sweep_cmd(spec, out, "--scheduler", dask_cluster), env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    # the client could not import the callable: one clear line, nothing run
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "run.function: expected an importable module" in proc.stderr

    proc = subprocess.run(sweep_cmd(spec, out, "--scheduler", dask_cluster),
                          env=environment(tmp_path / "mods"), cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr  # one point fails on purpose
    assert f"on the dask scheduler at {dask_cluster}" in proc.stderr
    lines = proc.stderr.splitlines()
    assert sum(ln.startswith("[") for ln in lines) == 6
    assert lines[-1].startswith("biodyn: 1 of 6 points failed")
    records = [json.loads(p.read_text()) for p in point_files(out)]
    assert len(records) == 6
    for rec in records:  # every point ran on the test's worker
        assert rec["worker"].startswith("dask worker testworker"), rec["worker"]
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["params"] == {"x": 4}
    assert failed[0]["error"] == "RuntimeError: x = 4 fails on purpose"
    rows = read_csv(out / "summary.csv")
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok", "failed"}


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_run_a_sweep_example(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "run_a_sweep.py"),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env=environment())
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "sweep stdp_tau_plus: 3 points, job replay" in out
    assert "3 computed, 0 finished earlier" in out
    worst = float(out.split("largest relative error: ")[1].split()[0])
    assert worst < 1e-9  # the pair rule's closed form, at every swept tau_plus
    assert len(list((tmp_path / "out" / "points").glob("*.json"))) == 3


@pytest.mark.slow
def test_point_whose_worker_dies_is_recorded_failed_and_the_others_complete(tmp_path, module_dir):
    spec = write_sweep(tmp_path, 5, sleep=0)
    spec.write_text(spec.read_text().replace(":slow_point", ":dies").replace(
        "kwargs = { sleep = 0 }", ""))
    out = tmp_path / "out"
    proc = subprocess.run(sweep_cmd(spec, out, "--workers", "2"), env=environment(module_dir),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    rows = {r["x"]: r for r in read_csv(out / "summary.csv")}
    assert len(rows) == 5 and rows["2"]["status"] == "failed"
    assert rows["2"]["error"].startswith("no result from the worker: KilledWorker")
    assert all(rows[x]["status"] == "ok" and rows[x]["twice"] == str(2 * int(x))
               for x in rows if x != "2")
    assert "distributed.scheduler - ERROR" not in proc.stderr  # reported once, by the sweep


def write_callable_sweep(folder, function, n, kwargs=""):
    path = folder / f"{function}.toml"
    path.write_text(textwrap.dedent(f"""
        kind = "sweep"
        description = "points that report where they ran"
        seed = 3
        [run]
        job = "callable"
        function = "sweep_test_points:{function}"
        {kwargs}
        [grid]
        x = {list(range(n))}
    """))
    return path


def test_dask_scheduler_address_from_the_environment_is_honoured(tmp_path, dask_cluster):
    spec = write_callable_sweep(tmp_path, "where", 3)
    out = tmp_path / "out"
    env = environment(tmp_path / "mods")
    env["DASK_SCHEDULER_ADDRESS"] = dask_cluster
    proc = subprocess.run(sweep_cmd(spec, out), env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"using the dask scheduler at {dask_cluster} from dask's configuration" in proc.stderr
    assert f"to run on the dask scheduler at {dask_cluster}" in proc.stderr
    for path in point_files(out):
        assert json.loads(path.read_text())["worker"].startswith("dask worker testworker")


def test_workers_write_in_their_own_folder_and_the_files_come_back_to_the_client(tmp_path, dask_cluster):
    # no shared filesystem is assumed: the worker writes under a folder of its own, and the
    # point's files reach the sweep's folder through the client
    spec = write_callable_sweep(tmp_path, "where", 3)
    out = tmp_path / "out"
    proc = subprocess.run(sweep_cmd(spec, out, "--scheduler", dask_cluster), env=environment(tmp_path / "mods"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for path in point_files(out):
        rec = json.loads(path.read_text())
        x = rec["params"]["x"]
        assert not rec["values"]["folder"].startswith(str(out.resolve()))   # not the client's path
        note = out / "points" / rec["point"] / "note.txt"
        assert note.read_text() == f"x = {x}"                               # but the file is here


def test_a_lost_worker_and_the_point_run_again_are_reported(tmp_path, dask_cluster):
    marker = tmp_path / "died.flag"
    spec = write_callable_sweep(tmp_path, "dies_once", 3, kwargs=f'kwargs = {{ marker = "{marker}" }}')
    out = tmp_path / "out"
    proc = subprocess.run(sweep_cmd(spec, out, "--scheduler", dask_cluster), env=environment(tmp_path / "mods"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert marker.exists()
    assert proc.returncode == 0, proc.stderr   # the nanny restarted the worker; dask ran x = 1 again
    assert "warning: dask worker tcp://127.0.0.1:" in proc.stderr and "was lost" in proc.stderr
    runs = json.loads((out / "sweep.json").read_text())["runs"]
    lost = runs[-1]["workers_lost"]
    assert len(lost) == 1 and lost[0]["event"] == "worker lost"
    retried = lost[0]["retried"]   # the points assigned to it (running or queued there)
    names = {json.loads(p.read_text())["params"]["x"]: json.loads(p.read_text())["point"] for p in point_files(out)}
    assert names[1] in retried and set(retried) <= set(names.values())
    assert f"running again elsewhere: {', '.join(retried)}" in proc.stderr
    rows = read_csv(out / "summary.csv")
    assert sorted(r["status"] for r in rows) == ["ok"] * 3
