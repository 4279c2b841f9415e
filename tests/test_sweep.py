"""Sweeps: spec, point keys and seeds, runners, resuming, failures, the stdlib fallback, the CLI.

The runs here are in this process (``workers=0``) or on the standard library's process pool;
the dask runs (local cluster killed and resumed, a scheduler started by the test) are in
test_sweep_cluster.py.
"""

import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from biodyn import protocols, sweep
from biodyn.cli import main
from biodyn.errors import BiodynError, SpecError

POINTS_PY = '''
import os
import time


def point(params, seed, out, sleep=0.0, fail_at=None):
    """Records each execution in out/runs.log; fails where x == fail_at."""
    from brian2 import Hz, ms  # here, not at the top: the pool test's workers never import Brian2

    with open(out / "runs.log", "a") as f:
        f.write(f"start {os.getpid()}\\n")
    time.sleep(sleep)
    if fail_at is not None and params.get("x") == fail_at:
        raise ValueError(f"x = {fail_at} is not allowed here")
    rng = __import__("numpy").random.default_rng(seed)
    with open(out / "runs.log", "a") as f:
        f.write("done\\n")
    return {"y": params.get("tau", 1 * ms) * params.get("x", 1), "draw": float(rng.random()),
            "seed_seen": seed, "rate": 5 * Hz}


CALLS = []


def batched(tasks, scale=1.0):
    """Vectorised: one call for several points."""
    with open(tasks[0].out.parent / "batches.log", "a") as f:
        f.write(f"{len(tasks)}\\n")
    return [{"y": scale * t.params["x"], "name": t.name} for t in tasks]


def not_flat(params, seed, out):
    return {"y": [1, 2, 3]}


def echo(params, seed, out):
    return {"x": params["x"] + 1, "error": "none"}


def light(params, seed, out):
    """No Brian2 anywhere: the workers of a pool start fast."""
    return {"twice": 2 * params["x"], "seed_seen": seed, "pid": os.getpid()}
'''


@pytest.fixture
def points_py(tmp_path):
    path = tmp_path / "toy_points.py"
    path.write_text(POINTS_PY)
    return path


def write_spec(folder, text, name="toy"):
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


TOY = """
kind = "sweep"
description = "toy sweep"
seed = 7
n_seeds = 2
[run]
job = "callable"
function = "toy_points.py:point"
kwargs = {{ fail_at = {fail_at} }}
[grid]
tau = ["10 ms", "20 ms"]
x = [1, 2, 3]
"""


def toy(tmp_path, points_py, fail_at=99):
    return write_spec(tmp_path, TOY.format(fail_at=fail_at))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------
# Grid, keys, seeds
# --------------------------------------------------------------------------


def test_grid_is_a_product_with_units_and_replicates(tmp_path, points_py):
    spec = sweep.load(toy(tmp_path, points_py))
    assert len(spec.points) == 2 * 3 * 2
    from brian2 import ms

    taus = sorted({float(p.params["tau"] / ms) for p in spec.points})
    assert taus == [10.0, 20.0]
    assert {p.params["x"] for p in spec.points} == {1, 2, 3}
    assert all(isinstance(p.params["x"], int) for p in spec.points)
    assert {p.replicate for p in spec.points} == {0, 1}
    assert len({p.key for p in spec.points}) == len({p.name for p in spec.points}) == 12


def test_zip_pairs_axes_and_ranges_give_linear_and_log_values(tmp_path, points_py):
    from brian2 import ms

    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "zip"
        seed = 1
        combine = "zip"
        [run]
        job = "callable"
        function = "toy_points.py:point"
        [grid]
        tau = { start = "10 ms", stop = "20 ms", num = 5 }
        x = { start = 1, stop = 10000, num = 5, scale = "log" }
        fixed = "nearest"
    """)
    spec = sweep.load(path)
    assert [float(p.params["tau"] / ms) for p in spec.points] == [10, 12.5, 15, 17.5, 20]
    assert [p.params["x"] for p in spec.points] == pytest.approx([1, 10, 100, 1000, 10000], rel=1e-12)
    assert {p.params["fixed"] for p in spec.points} == {"nearest"}
    assert spec.replicates is None and all(p.replicate is None for p in spec.points)


def test_point_key_ignores_grid_order_and_the_unit_values_are_written_in(tmp_path, points_py):
    a = sweep.from_dict({"kind": "sweep", "description": "a", "seed": 3,
                         "run": {"job": "callable", "function": "toy_points.py:point"},
                         "grid": {"tau": ["10 ms", "16.8 ms"], "x": [1, 2]}}, folder=tmp_path)
    b = sweep.from_dict({"kind": "sweep", "description": "b", "seed": 3,
                         "run": {"job": "callable", "function": "toy_points.py:point"},
                         "grid": {"x": [2.0, 1], "tau": ["0.0168 second", "10000 us"]}}, folder=tmp_path)
    key = lambda spec: {p.name: (p.key, p.seed) for p in spec.points}  # noqa: E731
    assert key(a) == key(b)
    assert [p.index for p in a.points] == [0, 1, 2, 3]
    assert [p.name for p in a.points] != [p.name for p in b.points]  # other order, same points


def test_point_seed_follows_the_documented_derivation(tmp_path, points_py):
    spec = sweep.load(toy(tmp_path, points_py))
    for p in spec.points:
        h = int.from_bytes(hashlib.sha256(p.key.encode()).digest()[:8], "little")
        expected = int(np.random.SeedSequence(7, spawn_key=(h,)).generate_state(1, dtype=np.uint32)[0]) % 2**31
        assert p.seed == expected == sweep.point_seed(7, p.key)
    assert len({p.seed for p in spec.points}) == len(spec.points)
    # the key's text is the documented JSON of sorted [name, SI value] pairs
    p = spec.points[0]
    assert json.loads(p.key) == sorted([["tau", "0.01 s"], ["x", "1"], ["replicate", str(p.replicate)]])
    assert sweep.load(toy(tmp_path, points_py)).points == spec.points  # loading again: same


def test_same_sweep_twice_gives_identical_seeds_and_results(tmp_path, points_py):
    spec = toy(tmp_path, points_py)
    r1 = sweep.run(spec, out=tmp_path / "one", workers=0)
    r2 = sweep.run(spec, out=tmp_path / "two", workers=0)
    assert r1.ok and r2.ok and r1.computed == r2.computed == 12
    for name, rec in r1.records.items():
        other = r2.records[name]
        assert rec["seed"] == other["seed"] == rec["values"]["seed_seen"]
        assert rec["values"] == other["values"]
        # the point's own generator, seeded by hand from the recorded seed, gives the same draw
        assert rec["values"]["draw"] == float(np.random.default_rng(rec["seed"]).random())
    strip = lambda rows: [{k: v for k, v in r.items() if k != "run_s"} for r in rows]  # noqa: E731
    assert strip(read_csv(r1.csv)) == strip(read_csv(r2.csv))


# --------------------------------------------------------------------------
# Results on disk, resuming, failures
# --------------------------------------------------------------------------


def test_results_csv_and_records_carry_units_seeds_and_parameters(tmp_path, points_py):
    result = sweep.run(toy(tmp_path, points_py), out=tmp_path / "out", workers=0)
    rows = read_csv(result.csv)
    assert [r["point"] for r in rows] == [p.name for p in result.spec.points]
    row = next(r for r in rows if r["x"] == "3" and r["tau [ms]"] == "20.0")
    assert float(row["y [s]"]) == pytest.approx(0.060, rel=1e-12)
    assert float(row["rate [Hz]"]) == 5.0
    rec = json.loads((tmp_path / "out" / "points" / f"{row['point']}.json").read_text())
    assert rec["params"] == {"tau": "20 ms", "x": 3}
    assert rec["status"] == "ok" and rec["units"] == {"y": "s", "rate": "Hz"}
    assert rec["sweep_seed"] == 7 and str(rec["seed"]) == row["seed"]
    manifest = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert manifest["n_points"] == 12 and manifest["runs"][-1]["computed"] == 12
    assert {p["point"]: p["seed"] for p in manifest["points"]} == {p.name: p.seed for p in result.spec.points}


def test_failing_point_is_recorded_with_its_error_and_the_others_complete(tmp_path, points_py):
    result = sweep.run(toy(tmp_path, points_py, fail_at=2), out=tmp_path / "out", workers=0)
    failed = {n for n, r in result.records.items() if r["status"] == "failed"}
    assert failed == {p.name for p in result.spec.points if p.params["x"] == 2}
    assert len(result.records) == 12 and not result.missing and not result.ok
    rows = {r["point"]: r for r in read_csv(result.csv)}
    for name in failed:
        assert rows[name]["status"] == "failed"
        assert rows[name]["error"] == "ValueError: x = 2 is not allowed here"
        rec = json.loads((tmp_path / "out" / "points" / f"{name}.json").read_text())
        assert "Traceback" in rec["traceback"] and rec["values"] == {}
    assert all(rows[n]["status"] == "ok" and rows[n]["y [s]"] for n in rows if n not in failed)


def test_rerun_skips_finished_points_and_retries_failed_ones(tmp_path, points_py):
    spec_path = toy(tmp_path, points_py, fail_at=2)
    out = tmp_path / "out"
    first = sweep.run(spec_path, out=out, workers=0)
    before = {n: (out / "points" / f"{n}.json").read_text() for n, r in first.records.items()
              if r["status"] == "ok"}
    spec_path.write_text(spec_path.read_text().replace("fail_at = 2", "fail_at = 99"))
    with pytest.raises(BiodynError, match="other settings .*run.kwargs"):
        sweep.run(spec_path, out=out, workers=0)  # other settings: not mixed into this folder
    spec_path.write_text(spec_path.read_text().replace("fail_at = 99", "fail_at = 2"))
    second = sweep.run(spec_path, out=out, workers=0)
    assert second.skipped == 8 and second.computed == 4  # only the failed points ran again
    for name, text in before.items():
        assert (out / "points" / f"{name}.json").read_text() == text
        assert (out / "points" / name / "runs.log").read_text().count("start") == 1
    assert len(read_csv(second.csv)) == 12


def test_editing_the_grid_order_recomputes_nothing(tmp_path, points_py):
    path = toy(tmp_path, points_py)
    sweep.run(path, out=tmp_path / "out", workers=0)
    path.write_text(path.read_text().replace('tau = ["10 ms", "20 ms"]', 'tau = ["0.02 second", "10 ms"]')
                    .replace("x = [1, 2, 3]", "x = [3, 1, 2]"))
    again = sweep.run(path, out=tmp_path / "out", workers=0)
    assert again.computed == 0 and again.skipped == 12 and again.ok


def test_non_scalar_result_fails_the_point_with_a_clear_error(tmp_path, points_py):
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "bad result"
        seed = 0
        [run]
        job = "callable"
        function = "toy_points.py:not_flat"
    """)
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    (rec,) = result.records.values()
    assert rec["status"] == "failed" and "result 'y' is not a scalar" in rec["error"]


def test_batched_callable_gets_several_points_per_call(tmp_path, points_py):
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "batched"
        seed = 0
        [run]
        job = "callable"
        function = "toy_points.py:batched"
        batch = 3
        kwargs = { scale = 2.0 }
        [grid]
        x = [1, 2, 3, 4, 5, 6, 7]
    """)
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    assert result.ok
    assert (tmp_path / "out" / "points" / "batches.log").read_text().split() == ["3", "3", "1"]
    for p in result.spec.points:
        assert result.records[p.name]["values"] == {"y": 2.0 * p.params["x"], "name": p.name}


def test_stdlib_process_pool_runs_the_sweep_when_dask_is_missing(tmp_path, points_py, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "pool"
        seed = 2
        [run]
        job = "callable"
        function = "toy_points.py:light"
        [grid]
        x = [1, 2, 3, 4, 5, 6]
    """)
    lines = []
    result = sweep.run(path, out=tmp_path / "out", workers=2, progress=lines.append)
    assert result.ok and result.computed == 6
    assert result.executor == "a process pool of 2 workers on this machine"
    assert lines[0] == ("note: dask.distributed is not installed: running on the standard "
                        "library's process pool on this machine (install biodyn[sweep] for dask "
                        "clusters)")
    assert result.notes == [lines[0][len("note: "):]]
    pids = {r["values"]["pid"] for r in result.records.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # ran in the pool's processes
    for p in result.spec.points:
        assert result.records[p.name]["values"]["twice"] == 2 * p.params["x"]
    assert len([ln for ln in lines if ln.startswith("[")]) == 6  # a line per finished point


def test_scheduler_address_without_dask_is_a_clear_error(monkeypatch):
    from biodyn.sweep._executors import make_executor

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(BiodynError, match="--scheduler needs dask.distributed"):
        make_executor("tcp://127.0.0.1:8786")


def test_worker_slots_are_never_shared_between_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path / "cache"))
    base = "slot-test"
    mine = sweep.worker_slot(base)
    assert sweep.worker_slot(base) == mine  # the same process keeps its slot
    code = (f"from biodyn.sweep import worker_slot; print(worker_slot({base!r}))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "BIODYN_CACHE": str(tmp_path / "cache")})
    assert other.returncode == 0, other.stderr
    assert int(other.stdout) != mine


# --------------------------------------------------------------------------
# The replay runner
# --------------------------------------------------------------------------


def test_replay_point_runs_the_protocol_and_matches_the_pair_rule_closed_form(tmp_path):
    """One point of bi_poo_1998 (1 pairing, numpy): w changes by A_plus*exp(-dt/tau_plus)."""
    from biodyn import build

    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "replay point"
        seed = 5
        [run]
        job = "replay"
        protocol = "bi_poo_1998"
        target = "numpy"
        [grid]
        tau_plus = ["16.8 ms"]
        stimulus.repetitions = [1]
    """)
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    assert result.ok, result.records
    (point,) = result.spec.points
    rec = result.records[point.name]
    a_plus = float(build.resolve("stdp_pair", "song_2000").namespace["A_plus"])
    for dt in (10, 30):
        closed = a_plus * math.exp(-dt / 16.8) / 0.5
        assert rec["values"][f"value(delta_t={dt} ms)"] == pytest.approx(closed, rel=1e-9)
    assert rec["values"]["chi"] is None and rec["values"]["n_scored"] == 0
    folder = tmp_path / "out" / "points" / point.name
    assert {p.name for p in folder.iterdir()} >= {"bi_poo_1998.pkl", "bi_poo_1998.png", "bi_poo_1998.json"}
    summary = json.loads((folder / "bi_poo_1998.json").read_text())
    assert summary["seed"] == point.seed and summary["overrides"]["tau_plus"] == "16.8 ms"
    # issue 11 §2: the point's stimulus change is in its replay JSON, and it reruns from it
    assert summary["stimulus"] == {"repetitions": 1} and summary["parameters"]["tau_plus"] == "16.8 ms"
    kwargs, notes = protocols.rerun_arguments(summary)
    assert kwargs["stimulus"] == {"repetitions": 1} and kwargs["seed"] == point.seed and notes == []
    assert rec["paths"]["json"] == f"points/{point.name}/bi_poo_1998.json"


# --------------------------------------------------------------------------
# Bad input: one clear SpecError naming file and key
# --------------------------------------------------------------------------

BASE = """
kind = "sweep"
description = "bad"
seed = 0
{top}
[run]
job = "callable"
function = "toy_points.py:point"
{tail}
"""


def bad(top="", tail="", **replace):
    text = BASE.format(top=top, tail=tail)
    for old, new in replace.items():
        text = text.replace(old.replace("_", " "), new)
    return text


@pytest.mark.parametrize("text, key, needle", [
    (bad(top="sed = 1"), "sed", "did you mean 'seed'"),
    (BASE.format(top="", tail="").replace("seed = 0\n", ""), "seed", "nothing"),
    (bad(tail="[grid]\ntau = ['10 ms', '5 mV']"), "grid.tau", "quantities of one dimension"),
    (bad(tail="[grid]\ntau = ['10 mss']"), "grid.tau[0]", "unknown name 'mss'"),
    (bad(tail="[grid]\ntau = ['10 ms', 'fast']"), "grid.tau", "a mix of number and text"),
    (bad(tail="[grid]\na = [1, 2]\nb = [1, 2, 3]"), None, None),
    (bad(top="combine = 'zip'", tail="[grid]\na = [1, 2]\nb = [1, 2, 3]"), "grid",
     "axes of equal length"),
    (bad(tail="[grid]\nreplicate = [1, 2]"), "grid.replicate", "a parameter name other than"),
    (bad(tail="[grid]\ng = { start = 1, stop = 2, num = 0 }"), "grid.g.num", "an integer >= 1"),
    (bad(tail="[grid]\ng = { start = 0, stop = 2, num = 3, scale = 'log' }"), "grid.g", "one sign"),
    (bad(tail="[grid]\ng = [1, 1.0]"), "grid", "the point g=1 twice"),
    (bad(top="seeds = [0, 0]"), "seeds", "distinct integers"),
    (bad(top="seeds = [0]\nn_seeds = 2"), "seeds", "either seeds or n_seeds"),
    (BASE.format(top="", tail="").replace('"callable"', '"replya"'), "run.job", "did you mean 'replay'"),
    (BASE.format(top="", tail="").replace(":point", ":pont"), "run.function", "did you mean 'point'"),
    (BASE.format(top="", tail="").replace("toy_points.py", "no_such_module_xyz"), "run.function",
     "importable"),
    (bad(tail="kwarg = {}"), "run.kwarg", "did you mean 'kwargs'"),
])
def test_bad_sweep_specs_raise_one_spec_error_naming_file_and_key(tmp_path, points_py, text, key, needle):
    path = write_spec(tmp_path, text)
    if key is None:  # the control: a product of unequal axes is fine
        assert len(sweep.load(path).points) == 6
        return
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == key and "toy.toml" in str(info.value), str(info.value)
    assert needle in str(info.value)


@pytest.mark.parametrize("job, missing", [("analyze flow", "biodyn analyze flow"),
                                          ("compare", "biodyn compare")])
def test_jobs_not_in_this_installation_say_which_job_is_missing(tmp_path, monkeypatch, job, missing):
    # every job is wired in this installation: stand in for one whose job is absent
    monkeypatch.setitem(sweep.RUNNERS, job, sweep.MissingJob(job, f"`{missing}` (biodyn.jobs)"))
    path = write_spec(tmp_path, BASE.format(top="", tail="").replace('"callable"', f'"{job}"')
                      .replace('function = "toy_points.py:point"', ""))
    with pytest.raises(SpecError, match="not available yet in this installation") as info:
        sweep.load(path)
    assert missing in str(info.value) and info.value.key == "run.job"


@pytest.mark.parametrize("grid, key, needle", [
    ("tau_pluss = ['10 ms']", "grid.tau_pluss", "did you mean 'tau_plus'"),
    ("tau_plus = ['10 mV']", "grid.tau_plus", "a quantity in ms"),
    ("stimulus.repetition = [1]", "grid.stimulus.repetition", "did you mean 'repetitions'"),
    ("variants.pairing = ['closest']", "grid.variants.pairing", "one of all_to_all"),
    ("other.thing = [1]", "grid.other.thing", "a model parameter or one of"),
])
def test_replay_sweep_checks_every_point_before_running(tmp_path, grid, key, needle):
    path = write_spec(tmp_path, f"""
        kind = "sweep"
        description = "replay"
        seed = 0
        [run]
        job = "replay"
        protocol = "bi_poo_1998"
        target = "numpy"
        [grid]
        {grid}
    """)
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == key and needle in str(info.value)


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_sweep_help_lists_the_options_with_an_example(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--scheduler ADDRESS", "--workers N", "--out DIR", "--quiet", "--dry-run"):
        assert option in out
    assert "examples:" in out and "biodyn sweep examples/sweeps/stdp_tau_plus.toml" in out


@pytest.mark.parametrize("args, needle", [
    (["sweep", "no_such_sweep"], "unknown sweep 'no_such_sweep'"),
    (["sweep", "nowhere/x.toml"], "no such file"),
    (["sweep", "SPEC", "--workers", "-1"], "--workers"),
    (["sweep", "SPEC", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers applies"),
])
def test_sweep_errors_are_one_line_and_exit_2(tmp_path, points_py, capsys, args, needle):
    spec = toy(tmp_path, points_py)
    args = [str(spec) if a == "SPEC" else a for a in args] + ["--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("biodyn: error:") and needle in lines[0], err


def test_sweep_command_quiet_prints_only_the_summary_paths(tmp_path, points_py, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(toy(tmp_path, points_py)), "--workers", "0", "--out", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.split() == [str(out / "summary.csv"), str(out / "summary.png")]
    assert main(["sweep", str(toy(tmp_path, points_py)), "--workers", "0", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "all 12 points finished earlier; nothing to run" in err


def test_sweep_command_progress_and_failures_exit_1(tmp_path, points_py, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(toy(tmp_path, points_py, fail_at=3)), "--workers", "0", "--out", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    progress = [ln for ln in err if ln.startswith("[")]
    assert len(progress) == 12 and progress[-1].startswith("[12/12] " + "#" * 20 + " 100%")
    assert all("% eta " in ln for ln in progress[:-1])  # a bar and the time left
    assert sum("FAILED" in ln and "x = 3 is not allowed here" in ln for ln in progress) == 4
    assert err[-1] == (f"biodyn: 4 of 12 points failed (errors in {out / 'summary.csv'}); run the "
                       "sweep again to retry them")


def test_dry_run_lists_points_seeds_and_what_is_finished(tmp_path, points_py, capsys):
    spec = toy(tmp_path, points_py)
    out = tmp_path / "out"
    sweep.run(spec, out=out, workers=0)
    (out / "points" / f"{sweep.load(spec).points[0].name}.json").unlink()
    assert main(["sweep", str(spec), "--dry-run", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("sweep toy (callable): 12 points, seed 7")
    assert sum("to run" in ln for ln in lines) == 1 and sum("finished" in ln for ln in lines) == 11


def test_sweep_specs_are_found_by_name_on_biodyn_path(catalog_path, points_py, capsys):
    (catalog_path / "toy_points.py").write_text(points_py.read_text())
    (catalog_path / "my_sweep.toml").write_text(TOY.format(fail_at=99))
    spec = sweep.load("my_sweep")
    assert spec.name == "my_sweep" and len(spec.points) == 12
    assert main(["sweep", "my_sweeep", "--dry-run"]) == 2
    assert "did you mean 'my_sweep'" in capsys.readouterr().err


@pytest.mark.compiled
@pytest.mark.slow
def test_replay_on_cpp_standalone_compiles_once_per_worker(tmp_path, monkeypatch):
    """Two workers, five points, unbatched (batch = 1): each worker builds its own project once,
    then reruns it."""
    pytest.importorskip("distributed")
    from biodyn import build

    if not build.has_compiler():
        pytest.skip("no C++ compiler")
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path / "cache"))  # cold: the first points build
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "cpp"
        seed = 5
        [run]
        job = "replay"
        protocol = "bi_poo_1998"
        target = "cpp_standalone"
        stimulus = { repetitions = 1 }
        batch = 1
        [grid]
        tau_plus = ["10 ms", "16.8 ms", "20 ms", "25 ms", "30 ms"]
    """)
    result = sweep.run(path, out=tmp_path / "out", workers=2)
    assert result.ok, [r["error"] for r in result.records.values()]
    a_plus = float(build.resolve("stdp_pair", "song_2000").namespace["A_plus"])
    by_key = {}
    for p in result.spec.points:
        rec = result.records[p.name]
        tau = float(p.params["tau_plus"] / __import__("brian2").ms)
        closed = a_plus * math.exp(-10 / tau) / 0.5
        assert rec["values"]["value(delta_t=10 ms)"] == pytest.approx(closed, rel=1e-9)
        assert rec["extra"]["target"] == "cpp_standalone"
        by_key.setdefault(rec["extra"]["build_key"], []).append(rec["extra"]["timings"])
    assert set(by_key) <= {"sweep-bi_poo_1998-default-w0", "sweep-bi_poo_1998-default-w1"}
    for key, timings in by_key.items():  # one build per worker, every other point a rerun
        assert sum("build" in t for t in timings) == 1, (key, timings)
        assert sum("rerun" in t for t in timings) == len(timings) - 1
    folders = [f.name for f in (tmp_path / "cache" / "standalone").iterdir() if f.name != "slots"]
    assert len(folders) == len(by_key)


LORENZ = """
kind = "sweep"
description = "Lorenz exponents against rho"
seed = 4
[run]
job = "analyze lyapunov"
model = "lorenz"
duration = 60
dt = 0.01
[grid]
rho = [0.5, 28.0]
"""


def test_lyapunov_sweep_matches_linearisation_and_the_trace_identity(tmp_path):
    """Lorenz (sigma = 10, beta = 8/3): at rho = 0.5 the origin is a stable node, the exponents
    are the Jacobian's eigenvalues -beta and (-(sigma+1) +- sqrt((sigma+1)^2 - 4 sigma (1-rho)))/2;
    at every rho they sum to the divergence -(sigma + 1 + beta)."""
    from biodyn.sweep import _runners

    if _runners._lyapunov_job() is None:
        pytest.skip("biodyn.jobs.analyze_lyapunov is not in this installation")
    result = sweep.run(write_spec(tmp_path, LORENZ), out=tmp_path / "out", workers=0)
    assert result.ok, [r["error"] for r in result.records.values()]
    rows = {float(r["rho"]): r for r in result.table()}
    sigma, beta = 10.0, 8.0 / 3.0
    disc = math.sqrt((sigma + 1) ** 2 - 4 * sigma * (1 - 0.5))
    expected = sorted([-beta, (-(sigma + 1) + disc) / 2, (-(sigma + 1) - disc) / 2], reverse=True)
    got = [float(rows[0.5][f"lambda_{k}"]) for k in (1, 2, 3)]
    assert got == pytest.approx(expected, abs=1e-3)
    for rho, row in rows.items():
        assert float(row["sum"]) == pytest.approx(-(sigma + 1 + beta), rel=1e-4)
    assert float(rows[28.0]["lambda_max"]) > 0.5  # chaos (0.906, Sprott 2003)
    for p in result.spec.points:
        assert (tmp_path / "out" / "points" / p.name / "lyapunov.json").exists()
    # `biodyn plot` on a point record redraws the figure of the job the point ran
    import matplotlib.image as mpimg

    from biodyn.jobs import redraw

    p = result.spec.points[1]
    again = redraw(tmp_path / "out" / "points" / f"{p.name}.json", out=tmp_path / "again.png")
    figure = tmp_path / "out" / result.records[p.name]["paths"]["figure"]
    assert np.array_equal(mpimg.imread(str(again)), mpimg.imread(str(figure)))


def test_lyapunov_sweep_without_the_job_says_which_job_is_missing(tmp_path, monkeypatch):
    from biodyn.sweep import _runners

    monkeypatch.setattr(_runners, "_lyapunov_job", lambda: None)
    with pytest.raises(SpecError, match="not available yet in this installation") as info:
        sweep.load(write_spec(tmp_path, LORENZ))
    assert "biodyn analyze lyapunov" in str(info.value) and info.value.key == "run.job"


@pytest.mark.parametrize("grid, key, needle", [
    ("rhoo = [1.0]", "grid.rhoo", "did you mean 'rho'"),
    ("analysis.durration = [1]", "grid.analysis.durration", "did you mean 'duration'"),
])
def test_lyapunov_sweep_checks_every_point_before_running(tmp_path, grid, key, needle):
    from biodyn.sweep import _runners

    if _runners._lyapunov_job() is None:
        pytest.skip("biodyn.jobs.analyze_lyapunov is not in this installation")
    with pytest.raises(SpecError) as info:
        sweep.load(write_spec(tmp_path, LORENZ.replace("rho = [0.5, 28.0]", grid)))
    assert info.value.key == key and needle in str(info.value)


def test_result_named_like_a_column_gets_a_prefix_in_the_csv(tmp_path, points_py):
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "echo"
        seed = 0
        [run]
        job = "callable"
        function = "toy_points.py:echo"
        [grid]
        x = [1, 2]
    """)
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    rows = read_csv(result.csv)
    assert list(rows[0]) == ["point", "status", "x", "seed", "result.x", "result.error", "run_s", "error"]
    assert [(r["x"], r["result.x"], r["error"]) for r in rows] == [("1", "2", ""), ("2", "3", "")]


def test_sweep_figure_draws_each_result_against_the_first_parameter_and_redraws(tmp_path, points_py):
    """summary.png: per result, one line per tau through the replicate means of y = tau * x over
    x; `biodyn plot summary.csv` redraws it pixel-for-pixel; failed points are not drawn."""
    import matplotlib.image as mpimg

    from biodyn import plot

    result = sweep.run(toy(tmp_path, points_py, fail_at=3), out=tmp_path / "out", workers=0)
    assert result.figure == tmp_path / "out" / "summary.png" and result.figure.exists()
    table = plot.sweep_table(result.csv)
    assert table["params"] == ["tau [ms]", "x"] and "y [s]" in table["results"]
    ax = plot.sweep_summary(table)
    assert ax.get_xlabel() == "tau (ms)"  # the first numeric swept parameter
    fig = ax.figure
    y_ax = next(a for a in fig.axes if a.get_ylabel() == "y (ms)")  # 0.01-0.04 s drawn in ms
    assert not any(a.get_ylabel().startswith("rate") for a in fig.axes)  # constant over the sweep
    lines = {c.get_label(): c.lines[0] for c in y_ax.containers}  # errorbar: (data line, caps, bars)
    assert set(lines) == {"x = 1", "x = 2"}  # x = 3 failed: not drawn
    for x in (1, 2):
        xs, ys = lines[f"x = {x}"].get_data()
        np.testing.assert_allclose(xs, [10.0, 20.0])
        np.testing.assert_allclose(ys, [10.0 * x, 20.0 * x])  # replicates agree: their mean (ms)
    assert "2 points" not in fig._suptitle.get_text() and "failed" in fig._suptitle.get_text()
    again = tmp_path / "again.png"
    assert main(["plot", str(result.csv), "-o", str(again)]) == 0
    assert np.array_equal(mpimg.imread(str(again)), mpimg.imread(str(result.figure)))


@pytest.mark.parametrize("job", ["replay", "analyze flow"])
def test_misspelt_fixed_stimulus_key_of_a_sweep_is_an_error_at_load(tmp_path, job):
    # issue 11 §3: `stimulus = { repetition = 1 }` ran 60 pairings per point
    protocol = "bi_poo_1998" if job == "replay" else "stdp_correlated_asymmetric"
    key = "repetition" if job == "replay" else "duraton"
    path = write_spec(tmp_path, f"""
        kind = "sweep"
        description = "typo"
        seed = 0
        [run]
        job = "{job}"
        protocol = "{protocol}"
        stimulus = {{ {key} = 1 }}
        [grid]
        variants.pairing = ["nearest"]
    """)
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == f"run.stimulus.{key}" and "toy.toml" in str(info.value)
    assert "did you mean" in str(info.value)


def test_grid_stimulus_value_of_the_wrong_type_is_an_error_at_load(tmp_path):
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "bad value"
        seed = 0
        [run]
        job = "replay"
        protocol = "bi_poo_1998"
        [grid]
        stimulus.pre = ["0 ms"]
    """)
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == "grid.stimulus.pre" and "an array" in info.value.expected


def test_grid_stimulus_numbers_reach_keys_that_take_numbers(tmp_path):
    # stimulus.share takes a number (or one per input): a grid of numbers must not become text
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "shares"
        seed = 0
        [run]
        job = "analyze flow"
        protocol = "stdp_correlated_asymmetric"
        [grid]
        stimulus.share = [0.25, 0.5]
    """)
    spec = sweep.load(path)
    from biodyn.sweep._runners import _flow_arguments

    shares = [_flow_arguments(p.params, spec.settings)["stimulus"]["share"] for p in spec.points]
    assert sorted(shares) == [0.25, 0.5]


# --------------------------------------------------------------------------
# Batched replay points (issue 17)
# --------------------------------------------------------------------------

BATCHED = """
kind = "sweep"
description = "batched replay points"
seed = 11
n_seeds = 2
[run]
job = "replay"
protocol = "bi_poo_1998"
target = "numpy"
stimulus = {{ repetitions = 1 }}
{batch}
[grid]
tau_plus = ["10 ms", "30 ms"]
variants.pairing = ["all_to_all", "nearest"]
"""


@pytest.mark.slow  # ~21 s; batched = alone is also tested on numpy in test_protocols_batch.py
def test_replay_sweep_batches_points_by_code_and_equals_the_unbatched_sweep(tmp_path):
    """Default batch = auto: tau_plus x seed share their code and run as copies of one run per
    variant (two batches of four); every value equals the sweep with --batch 1, and each
    record names its batch (size, copy index)."""
    path = write_spec(tmp_path, BATCHED.format(batch=""))
    batched = sweep.run(path, out=tmp_path / "batched", workers=0)
    assert batched.ok and any("2 batches of up to 4" in n for n in batched.notes), batched.notes
    alone = sweep.run(path, out=tmp_path / "alone", workers=0, batch=1)
    assert alone.ok
    copies = {}
    for p in batched.spec.points:
        rec, ref = batched.records[p.name], alone.records[p.name]
        assert rec["values"] == ref["values"]  # exactly: JSON floats written the same
        assert rec["extra"]["batch"]["size"] == 4 and rec["timings"]["batch_points"] == 4
        copies.setdefault(p.params["variants.pairing"], []).append(rec["extra"]["batch"]["copy"])
        summary = json.loads((tmp_path / "batched" / rec["paths"]["json"]).read_text())
        assert summary["batch"] == rec["extra"]["batch"] and summary["seed"] == p.seed
        assert "batch" not in alone.records[p.name]["extra"]
    assert {k: sorted(v) for k, v in copies.items()} == {"all_to_all": [0, 1, 2, 3],
                                                         "nearest": [0, 1, 2, 3]}
    # batching is not a setting of the results: a batched folder resumes unbatched
    again = sweep.run(path, out=tmp_path / "batched", workers=0, batch=1)
    assert again.computed == 0 and again.skipped == len(batched.spec.points)


def test_replay_sweep_batch_1_in_the_spec_runs_every_point_alone(tmp_path):
    text = BATCHED.format(batch="batch = 1").replace("n_seeds = 2\n", "").replace(
        'variants.pairing = ["all_to_all", "nearest"]', "")
    path = write_spec(tmp_path, text)
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    assert len(result.spec.points) == 2
    assert result.ok and not any("batch" in n for n in result.notes)
    assert all("batch" not in r["extra"] for r in result.records.values())


def test_sweep_manifest_records_the_batch_asked_for_and_the_points_per_task(tmp_path):
    """sweep.json's run entry said how the run was executed but not how its points were
    batched (a point alone records no batch at all): the batch asked for (--batch, else
    [run] batch, else auto) and the points per task are recorded with the run."""
    text = BATCHED.format(batch="batch = 2").replace("n_seeds = 2\n", "").replace(
        'variants.pairing = ["all_to_all", "nearest"]', "")
    path = write_spec(tmp_path, text)
    assert sweep.run(path, out=tmp_path / "a", workers=0).ok
    entry = json.loads((tmp_path / "a" / "sweep.json").read_text())["runs"][-1]
    assert entry["batch"]["requested"] == 2 and entry["batch"]["tasks"] == [2]
    assert sweep.run(path, out=tmp_path / "b", workers=0, batch=1).ok
    entry = json.loads((tmp_path / "b" / "sweep.json").read_text())["runs"][-1]
    assert entry["batch"] == {"requested": 1, "tasks": [1, 1], "notes": []}


def test_interrupted_batch_leaves_none_of_its_points_written(tmp_path, monkeypatch):
    """Ctrl-C while a batch writes its points: no point of the batch is finished or has files."""
    from biodyn.jobs import _replay

    calls = []
    real = _replay._write_result

    def write_then_stop(result, out, fmt):
        calls.append(out)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(result, out, fmt)

    monkeypatch.setattr(_replay, "_write_result", write_then_stop)
    path = write_spec(tmp_path, BATCHED.format(batch=""))
    with pytest.raises(KeyboardInterrupt):
        sweep.run(path, out=tmp_path / "out", workers=0)
    assert len(calls) == 3
    assert sweep.read_results(tmp_path / "out") == {}
    points = tmp_path / "out" / "points"
    assert [p for p in points.rglob("*") if p.is_file()] == [] if points.exists() else True


@pytest.mark.parametrize("spec_text, batch, needle", [
    (BATCHED.format(batch=""), "0", "--batch: expected 'auto' or a number of points >= 1"),
    (BATCHED.format(batch=""), "many", "--batch: expected 'auto'"),
    (BATCHED.format(batch="batch = 'al'"), None, "run.batch: expected 'auto'"),
    (TOY.format(fail_at=99), "3", "--batch: the 'callable' job runs its points one by one"),
])
def test_bad_batch_is_one_line_naming_the_flag_or_key(tmp_path, points_py, capsys, spec_text, batch,
                                                     needle):
    spec = write_spec(tmp_path, spec_text)
    args = ["sweep", str(spec), "--workers", "0", "--out", str(tmp_path / "o")]
    if batch is not None:
        args += ["--batch", batch]
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], err


def test_replay_batches_group_by_code_and_size_to_memory_and_workers(tmp_path, monkeypatch):
    """auto: one group per variant; tasks sized by memory (the engine's estimate per copy), by
    one core's L2 cache (the copies' synapse state) and at least as many as workers; engines that do not batch get one point per task, with a note."""
    from biodyn.protocols import _engine
    from biodyn.sweep import get_runner

    spec = sweep.from_dict({"kind": "sweep", "description": "d", "seed": 1, "n_seeds": 4,
                            "run": {"job": "replay", "protocol": "song_2000", "target": "numpy",
                                    "stimulus": {"duration": "1 second"}},
                            "grid": {"A_plus": ["0.004", "0.005"],
                                     "stimulus": {"input_rate": ["10 Hz", "20 Hz"]}}},
                           folder=tmp_path)
    runner = get_runner("replay")
    todo = list(spec.points)
    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2**30)  # sized by memory and workers
    tasks, notes = runner.batches(spec, spec.settings, todo, workers=2)
    assert sorted(len(t) for t in tasks) == [8, 8] and "16 points in 2 batches of up to 8" in notes[0]
    # and by the cache: a copy (4 neurons of 1000 plastic inputs) holds 256 kB of synapse state
    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2**20)
    tasks, _ = runner.batches(spec, spec.settings, todo, workers=2)
    assert sorted(len(t) for t in tasks) == [4, 4, 4, 4]
    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2**30)
    per_copy = _engine.ENGINES["poisson_network"](
        _engine.load("song_2000"), _engine.resolve_model(_engine.load("song_2000")),
        _engine.RunOptions(stimulus={"input_rate": "20 Hz", "duration": "1 second"})).estimate_bytes()
    monkeypatch.setattr(_engine, "batch_memory", lambda workers=1: 3.5 * per_copy)
    tasks, _ = runner.batches(spec, spec.settings, todo, workers=1)
    assert max(len(t) for t in tasks) == 3 and sum(len(t) for t in tasks) == 16
    assert runner.batches(spec, spec.settings, todo, workers=1, batch=5)[0][0].__len__() <= 5
    assert all(len(t) == 1 for t in runner.batches(spec, spec.settings, todo, batch="1")[0])
    oja = sweep.from_dict({"kind": "sweep", "description": "d", "seed": 1, "n_seeds": 2,
                           "run": {"job": "replay", "protocol": "oja_pca", "target": "numpy"}},
                          folder=tmp_path)
    tasks, notes = runner.batches(oja, oja.settings, list(oja.points), workers=1)
    assert [len(t) for t in tasks] == [1, 1] and "runs points alone" in notes[0]


def test_replay_batches_split_for_the_workers_over_all_groups_not_within_each(tmp_path, monkeypatch):
    """Two variants x 4 points, 2 workers: the two groups are already two tasks, one per
    worker, so each is ONE batch of 4 (it was split into 2 x 2 for the workers within each
    group: 4 Brian2 runs where 2 keep both workers busy); one group still splits for them."""
    from biodyn.protocols import _engine
    from biodyn.sweep import get_runner

    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2**30)
    runner = get_runner("replay")
    two = write_spec(tmp_path, BATCHED.format(batch=""))
    spec = sweep.load(two)
    tasks, notes = runner.batches(spec, spec.settings, list(spec.points), workers=2)
    assert sorted(len(t) for t in tasks) == [4, 4] and "8 points in 2 batches of up to 4" in notes[0]
    one = [p for p in spec.points if p.params["variants.pairing"] == "nearest"]
    tasks, _ = runner.batches(spec, spec.settings, one, workers=2)
    assert sorted(len(t) for t in tasks) == [2, 2]


def test_dry_run_shows_how_the_points_would_be_batched(tmp_path, capsys):
    """--dry-run listed the points but not the batches the run would form: it now says which
    batch each point would run in (and the batching note), and --batch 1 shows none."""
    from biodyn.cli import main

    path = write_spec(tmp_path, BATCHED.format(batch=""))
    assert main(["sweep", str(path), "--dry-run", "--workers", "0", "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "note: 8 points in 2 batches of up to 4" in captured.err
    lines = [line for line in captured.out.splitlines() if "to run" in line]
    assert len(lines) == 8 and all("batch" in line and "(4 points)" in line for line in lines)
    assert sum("in batch 1 of 2" in line for line in lines) == 4
    assert main(["sweep", str(path), "--dry-run", "--batch", "1", "--out", str(tmp_path / "o")]) == 0
    assert " batch " not in capsys.readouterr().out


def test_replay_columns_of_conditions_with_the_same_labels_are_all_kept():
    """A stimulus change of the condition variable (sweep axis stimulus.input_rate of song_2000)
    gives conditions with the same labels: each keeps its own column (none overwritten)."""
    from types import SimpleNamespace

    from biodyn.sweep._runners import _replay_values

    conds = [{"labels": {"input_rate": 20, "correlation": c}, "value": v}
             for c, v in ((0, 1.0), (0, 2.0), (0, 3.0), (0.2, 4.0))]
    result = SimpleNamespace(summary={"score": {"chi": None, "n": 0}, "units": {"input_rate": "Hz", "correlation": "1"},
                                      "conditions": conds}, timings={}, paths={})
    values = _replay_values(result, None).values
    cols = [k for k in values if k.startswith("value(")]
    assert len(cols) == 4 and [values[k] for k in cols] == [1.0, 2.0, 3.0, 4.0]
    assert cols[0] == "value(input_rate=20 Hz,correlation=0)" and cols[3] == "value(input_rate=20 Hz,correlation=0.2)"


def test_replay_columns_of_a_swept_condition_variable_are_the_same_for_every_point():
    """A song_2000 sweep over stimulus.input_rate: every condition runs at the point's rate
    and is labelled with it, so the CSV columns were value(input_rate=5 Hz,...) for one point
    and value(input_rate=15 Hz,...) for the next (disjoint columns; summary.png one dot per
    panel). The swept column leaves the labels: one column per condition for all points."""
    from types import SimpleNamespace

    from biodyn.sweep._runners import _replay_values, _swept_columns

    settings = {"protocol": "song_2000"}
    assert _swept_columns({"stimulus.input_rate": "5 Hz", "A_plus": 0.005}, settings) == ("input_rate",)
    assert _swept_columns({"A_plus": 0.005}, settings) == ()
    assert _swept_columns({"stimulus.duration": "1 second"}, settings) == ()
    names = []
    for rate in (5, 15):
        conds = [{"labels": {"input_rate": rate, "correlation": c}, "value": float(rate + j)}
                 for j, c in enumerate((0, 0, 0, 0.2))]
        result = SimpleNamespace(summary={"score": {"chi": None, "n": 0}, "conditions": conds,
                                          "units": {"input_rate": "Hz", "correlation": "1"}},
                                 timings={}, paths={})
        values = _replay_values(result, None, _swept_columns({"stimulus.input_rate": f"{rate} Hz"},
                                                             settings)).values
        names.append([k for k in values if k.startswith("value(")])
        assert [values[k] for k in names[-1]] == [rate, rate + 1, rate + 2, rate + 3]
    assert names[0] == names[1] == ["value(correlation=0)", "value(correlation=0) #2",
                                    "value(correlation=0) #3", "value(correlation=0.2)"]
    fi = SimpleNamespace(summary={"score": {"chi": None, "n": 0}, "units": {"current": "nA"},
                                  "conditions": [{"labels": {"current": 3.0}, "value": 1.0},
                                                 {"labels": {"current": 3.0}, "value": 2.0}]},
                         timings={}, paths={})
    assert [k for k in _replay_values(fi, None, ("current",)).values if k.startswith("value(")] == [
        "value(condition 1)", "value(condition 2)"]


def test_progress_of_a_batch_gives_one_time_left_for_all_its_points(tmp_path):
    """The points of a batch finish together: the time left printed with each is that of the
    whole batch done (it was computed as if only 1, then 2, ... points had taken the batch's
    time: '[1/8] eta 11 min' for a sweep that was over 2 minutes later)."""
    (tmp_path / "slow_points.py").write_text(textwrap.dedent('''
        import time
        def batched(tasks):
            time.sleep(1.0)
            return [{"y": t.params["x"]} for t in tasks]
    '''))
    path = write_spec(tmp_path, """
        kind = "sweep"
        description = "slow batches"
        seed = 0
        [run]
        job = "callable"
        function = "slow_points.py:batched"
        batch = 3
        [grid]
        x = [1, 2, 3, 4, 5, 6]
    """)
    lines = []
    assert sweep.run(path, out=tmp_path / "out", workers=0, progress=lines.append).ok
    etas = [ln.split("eta ")[1].split("  ")[0] for ln in lines if ln.startswith("[") and "eta " in ln]
    assert len(etas) == 3 and len(set(etas)) == 1, etas  # the first batch: 1 s per 3 points, 3 left
    assert etas[0] in ("1 s", "2 s")


def test_batch_copies_for_cache_fit_the_cache_and_read_its_size(monkeypatch, tmp_path):
    from biodyn.protocols import _engine

    assert _engine.batch_copies_for_cache(64_000, cache=2**20) == 16
    assert _engine.batch_copies_for_cache(4 * 2**20, cache=2**20) == 1  # one copy at least
    assert _engine.batch_copies_for_cache(0, cache=2**20) is None  # the engine sets no limit
    assert _engine.cache_bytes() >= 2**16  # read (or the 1 MiB default), in bytes


# --------------------------------------------------------------------------
# Settledness of replays (song_2000: rate_settledness) in a sweep's table, figure and CLI
# --------------------------------------------------------------------------

SHORT_SONG = """
kind = "sweep"
description = "song_2000 run too short to settle"
seed = 3
[run]
job = "replay"
protocol = "song_2000"
target = "numpy"
stimulus = { duration = "0.2 second", rate_window = "0.05 second" }
[grid]
A_plus = [0.005, 0.01]
"""

SONG_CONDITIONS = ["input_rate=10 Hz,correlation=0", "input_rate=20 Hz,correlation=0",
                   "input_rate=40 Hz,correlation=0", "input_rate=10 Hz,correlation=0.2"]


@pytest.fixture(scope="module")
def short_song(tmp_path_factory):
    """A finished sweep of two song_2000 points of 0.2 s (numpy, ~3 s): every rate is a
    transient (two 0.05-s windows hold far fewer than the 144 spikes the check needs), a
    known 'not settled' for every condition."""
    folder = tmp_path_factory.mktemp("short_song")
    spec = write_spec(folder, SHORT_SONG)
    result = sweep.run(spec, out=folder / "out", workers=0)
    assert result.ok, result.records
    return spec, folder / "out", result


def _copy_sweep(short_song, tmp_path):
    import shutil

    spec, out, result = short_song
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return spec, copy, result


def test_replay_sweep_csv_has_a_settled_column_beside_each_value_and_n_unsettled(short_song):
    """Every condition of a 0.2-s song_2000 run is unsettled: settled(LABELS) is false beside
    each value(LABELS), n_unsettled = 4, and SweepResult.unsettled names all four columns."""
    spec, out, result = short_song
    rows = read_csv(out / "summary.csv")
    header = list(rows[0])
    for cond in SONG_CONDITIONS:
        assert f"value({cond})" in header and f"settled({cond})" in header
    assert len(rows) == 2
    for row in rows:
        assert row["n_unsettled"] == "4"
        assert all(row[f"settled({c})"] == "false" for c in SONG_CONDITIONS)
        assert all(float(row[f"value({c})"]) >= 0 for c in SONG_CONDITIONS)
    assert sorted(result.unsettled) == sorted(p.name for p in result.spec.points)
    assert all(v == [f"settled({c})" for c in SONG_CONDITIONS] for v in result.unsettled.values())
    for rec in result.records.values():  # the record agrees with the replay's own JSON
        summary = json.loads((out / rec["paths"]["json"]).read_text())
        assert summary["unsettled"] == [0, 1, 2, 3] and rec["values_version"] == 2


def test_sweep_command_names_how_many_points_had_unsettled_values(short_song, tmp_path, capsys):
    spec, out, _ = _copy_sweep(short_song, tmp_path)
    assert main(["sweep", str(spec), "--workers", "0", "--out", str(out), "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    bad = [ln for ln in lines if ln.startswith("NOT SETTLED")]
    assert len(bad) == 1 and bad[0].startswith("NOT SETTLED: 2 of 2 points had conditions whose "
                                               "value had not settled") and "8 values" in bad[0]


def test_replay_values_without_a_settledness_check_get_no_settled_columns():
    """A protocol whose engine does not check (no summary 'unsettled'): the columns are as
    before; one that does: settled(...) follows each value(...)'s label, #2 suffix included."""
    from types import SimpleNamespace

    from biodyn.sweep._runners import _replay_values

    conds = [{"labels": {"delta_t": 10}, "value": 1.0}, {"labels": {"delta_t": 30}, "value": 2.0}]
    plain = SimpleNamespace(summary={"score": {"chi": None, "n": 0}, "units": {"delta_t": "ms"},
                                     "conditions": conds}, timings={}, paths={})
    assert list(_replay_values(plain, None).values) == ["chi", "n_scored", "value(delta_t=10 ms)",
                                                        "value(delta_t=30 ms)"]
    conds = [{"labels": {"correlation": 0}, "value": 1.0, "settled": True},
             {"labels": {"correlation": 0}, "value": 2.0, "settled": False},
             {"labels": {"correlation": 0.2}, "value": 3.0, "settled": True}]
    checked = SimpleNamespace(summary={"score": {"chi": None, "n": 0}, "units": {"correlation": "1"},
                                       "conditions": conds, "unsettled": [1]}, timings={}, paths={})
    values = _replay_values(checked, None).values
    assert values["n_unsettled"] == 1
    assert {k: v for k, v in values.items() if k.startswith("settled(")} == {
        "settled(correlation=0)": True, "settled(correlation=0) #2": False,
        "settled(correlation=0.2)": True}


def test_sweep_figure_draws_unsettled_values_open_and_off_the_line(tmp_path):
    """summary.png of a table with settled(...) columns: the line runs through the settled
    values only, the unsettled ones are open markers, with a legend entry and a count in the
    title; settled(...) and n_unsettled are no panels of their own."""
    from biodyn import plot

    header = ["point", "status", "A_plus", "seed", "chi", "n_scored", "value(correlation=0)",
              "n_unsettled", "settled(correlation=0)", "run_s", "error"]
    settled = {0.002: False, 0.005: True, 0.01: True, 0.02: False}
    path = tmp_path / "fig" / "summary.csv"
    path.parent.mkdir()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for k, (a, ok) in enumerate(settled.items()):
            w.writerow([f"p{k}", "ok", a, k, "", 0, 10 * a, int(not ok), str(ok).lower(), 1.0, ""])
    ax = plot.sweep_summary(plot.sweep_table(path))
    fig = ax.figure
    drawn = [a for a in fig.axes if a.get_visible()]
    assert len(drawn) == 1  # value only: no panel for n_unsettled
    lines = [c.lines[0] for c in ax.containers]
    filled = [ln for ln in lines if ln.get_markerfacecolor() != "white"]
    open_ = [ln for ln in lines if ln.get_markerfacecolor() == "white"]
    assert len(filled) == 1 and len(open_) == 1
    np.testing.assert_allclose(filled[0].get_data()[0], [0.005, 0.01])
    assert filled[0].get_linestyle() == "-"
    np.testing.assert_allclose(open_[0].get_data()[0], [0.002, 0.02])
    assert open_[0].get_linestyle() == "None"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["open: not settled in the run (transient)"]
    assert "2 points with values not settled" in fig._suptitle.get_text()


def _make_old(out, name, strip_replay_json=False):
    """Edit point ``name``'s record into one of a biodyn before settled(...) columns (result
    columns version 1: no settled(...), no n_unsettled, no values_version); with
    ``strip_replay_json``, its replay JSON too (a biodyn before the settledness check)."""
    path = out / "points" / f"{name}.json"
    rec = json.loads(path.read_text())
    rec["values"] = {k: v for k, v in rec["values"].items()
                     if not (k.startswith("settled(") or k == "n_unsettled")}
    rec.pop("values_version", None)
    path.write_text(json.dumps(rec, indent=1))
    if strip_replay_json:
        rpath = out / rec["paths"]["json"]
        summary = json.loads(rpath.read_text())
        del summary["unsettled"]
        for cond in summary["conditions"]:
            cond.pop("settled"), cond.pop("settling")
        rpath.write_text(json.dumps(summary, indent=1))
    return rec


def test_resume_rebuilds_the_columns_of_a_point_recorded_by_an_older_biodyn(short_song, tmp_path):
    """One finished point recorded without settled(...) columns (an older biodyn) beside one
    with them: resuming mixed the two in summary.csv (blank settled cells). The resume rebuilds
    the old point's values from its replay JSON: every row has the same filled columns, the
    record equals the one this version wrote (plus values_rebuilt), nothing is recomputed."""
    spec, out, first = _copy_sweep(short_song, tmp_path)
    old_name, new_name = (p.name for p in first.spec.points)
    _make_old(out, old_name)
    dry = sweep.run(spec, out=out, dry_run=True)  # says what the run will do first
    assert any("1 finished point holds the result columns of another biodyn" in n for n in dry.notes)
    again = sweep.run(spec, out=out, workers=0)
    assert again.computed == 0 and again.skipped == 2
    assert any("1 finished point of an older biodyn" in n for n in again.notes), again.notes
    rows = read_csv(out / "summary.csv")
    header = list(rows[0])
    assert [h for h in header if h.startswith("settled(")] == [f"settled({c})" for c in SONG_CONDITIONS]
    assert all(row[h] == "false" for row in rows for h in header if h.startswith("settled("))
    assert all(row["n_unsettled"] == "4" for row in rows)
    rec = json.loads((out / "points" / f"{old_name}.json").read_text())
    assert rec["values"] == first.records[old_name]["values"] and rec["values_version"] == 2
    assert rec["values_rebuilt"]["from_version"] == 1
    assert "values_rebuilt" not in json.loads((out / "points" / f"{new_name}.json").read_text())
    assert sweep.run(spec, out=out, workers=0).notes == []  # rebuilt once


def test_resume_refuses_older_points_it_cannot_rebuild_naming_folder_and_columns(short_song, tmp_path,
                                                                                   capsys):
    """An older point whose replay JSON has no settledness either (written before the check):
    its settled(...) columns cannot be rebuilt, and the resume is refused with one line naming
    the folder, the versions and the columns that differ; nothing is rewritten."""
    spec, out, first = _copy_sweep(short_song, tmp_path)
    old_name = first.spec.points[0].name
    before = _make_old(out, old_name, strip_replay_json=True)
    csv_before = (out / "summary.csv").read_bytes()
    assert main(["sweep", str(spec), "--workers", "0", "--out", str(out), "-q"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and str(out) in err[0], err
    assert "version 1" in err[0] and "version 2" in err[0] and "settled(CONDITION)" in err[0]
    assert "has no settledness" in err[0] and "another --out" in err[0]
    assert json.loads((out / "points" / f"{old_name}.json").read_text()) == before
    assert (out / "summary.csv").read_bytes() == csv_before


@pytest.mark.parametrize("recorded", [None, 1])
def test_resume_refusal_names_the_recorded_values_version_not_a_biodyn_release_it_cannot_tell(
        short_song, tmp_path, capsys, recorded):
    """The refusal said 'written by biodyn 0.1.0 before the check', but this biodyn is 0.1.0 too:
    the number cannot tell the two apart. It says what is known: the point record's
    values_version (or that it has none: version 1) against values_version 2 written now."""
    from biodyn import __version__

    spec, out, first = _copy_sweep(short_song, tmp_path)
    old_name = first.spec.points[0].name
    _make_old(out, old_name, strip_replay_json=True)
    if recorded is not None:
        path = out / "points" / f"{old_name}.json"
        rec = json.loads(path.read_text())
        rec["values_version"] = recorded
        path.write_text(json.dumps(rec, indent=1))
    assert main(["sweep", str(spec), "--workers", "0", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    said = "no values_version (version 1)" if recorded is None else "values_version 1"
    assert f"the point's record has {said}" in err and "values_version 2 (this biodyn's)" in err
    assert f"their records: {said}" in err and "writes values_version 2" in err
    assert f"biodyn {__version__} before" not in err and "written by biodyn" not in err, err


def test_resume_of_points_recorded_without_values_version_of_an_unchanged_job_is_as_before(
        tmp_path, points_py):
    """Records of a job whose columns did not change (a callable: version 1) written before
    values_version existed resume as they are: no rebuild, no note, the same table."""
    spec = toy(tmp_path, points_py)
    first = sweep.run(spec, out=tmp_path / "out", workers=0)
    table = (tmp_path / "out" / "summary.csv").read_bytes()
    for path in (tmp_path / "out" / "points").glob("*.json"):
        rec = json.loads(path.read_text())
        assert rec.pop("values_version") == 1
        path.write_text(json.dumps(rec))
    again = sweep.run(spec, out=tmp_path / "out", workers=0)
    assert again.computed == 0 and again.notes == [] and first.ok
    assert (tmp_path / "out" / "summary.csv").read_bytes() == table
    assert all("values_version" not in r for r in again.records.values())
