"""biodyn analyze flow (CLI, job, figure, JSON contract), the new scenarios' replays, and the
sweep runner 'analyze flow'."""

import json

import numpy as np
import pytest

from biodyn import jobs, protocols, sweep
from biodyn.cli import main
from biodyn.flow import SUMMARY_KEYS

SCENARIOS = ["oja_pca", "bcm_selectivity", "hebb_decay", "covariance_rule", "triplet_poisson",
             "stdp_correlated_symmetric", "stdp_correlated_asymmetric"]


def _check_contract(data):
    assert list(data) == list(SUMMARY_KEYS) + ["figure"]  # the figure's data, for `biodyn plot`
    assert isinstance(data["gradient"], bool)
    for fp in data["fixed_points"]:
        assert set(fp) == {"w", "stable", "eigenvalues"}
        assert all(len(e) == 2 for e in fp["eigenvalues"])
    if data["objective_check"] is not None:
        assert set(data["objective_check"]) == {"max_abs_error", "monotone", "lyapunov"}
        assert set(data["objective_check"]["lyapunov"]) == {"negative", "zero", "positive"}
    if data["simulation"] is not None:
        assert set(data["simulation"]) == {"final_w", "nearest_stable_distance"}
    assert isinstance(data["seed"], int) and {"biodyn", "brian2"} <= set(data["versions"])


def test_cli_writes_the_figure_and_the_json_contract_and_the_replay_ends_at_the_rest_point(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["analyze", "flow", "hebb_decay", "--target", "numpy", "--seed", "2", "--out", str(out),
                 "--json", str(tmp_path / "hebb.json")])
    assert code == 0
    assert (out / "hebb_decay_flow.png").stat().st_size > 10_000
    data = json.loads((tmp_path / "hebb.json").read_text())
    _check_contract(data)
    assert data["gradient"] is True and data["seed"] == 2
    assert data["objective_check"]["max_abs_error"] < 1e-12 and data["objective_check"]["monotone"]
    # the rest point on the bound w_0 = 1: w_1 = eta C_10/(gamma - eta C_11), C from std (1, 0.3)
    # at 15 degrees; its free eigenvalue eta C_11 - gamma gives the Euler limit 2/|lambda|
    a = np.radians(15)
    C10 = np.cos(a) * np.sin(a) * (1 - 0.09)
    C11 = np.sin(a) ** 2 + 0.09 * np.cos(a) ** 2
    rest = [fp for fp in data["fixed_points"] if fp["stable"]]
    assert len(rest) == 1
    assert rest[0]["w"] == pytest.approx([1.0, C10 / (0.5 - C11)], abs=1e-9)
    assert data["euler_limit"] == pytest.approx(2 / (0.5 - C11), rel=1e-7)
    assert data["simulation"]["nearest_stable_distance"] < 0.2
    printed = capsys.readouterr().out
    assert "gradient flow" in printed and "hebb_decay_flow.png" in printed


def test_cli_without_simulation_reports_the_triplet_threshold(tmp_path, capsys):
    code = main(["analyze", "flow", "triplet_poisson", "--no-simulation", "--out", str(tmp_path),
                 "--json", str(tmp_path / "t.json")])
    assert code == 0
    data = json.loads((tmp_path / "t.json").read_text())
    _check_contract(data)
    assert data["simulation"] is None and data["euler_limit"] is None and data["objective"] is None
    assert "threshold on the postsynaptic rate: theta = 19.22 Hz" in capsys.readouterr().out


def test_cli_bad_input_is_one_clear_error(tmp_path, capsys):
    assert main(["analyze", "flow", "oja_pcaa", "--no-simulation", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "oja_pca" in err and "Traceback" not in err
    assert main(["analyze", "flow", "bi_poo_1998", "--no-simulation", "--out", str(tmp_path)]) == 2
    assert "engine" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["triplet_poisson", "stdp_correlated_symmetric",
                                  "stdp_correlated_asymmetric", "hebb_decay", "covariance_rule",
                                  "clopath_correlated"])
def test_new_scenarios_replay_with_the_summary_contract(name):
    duration = {"clopath_correlated": "0.1 second", "hebb_decay": "3 second",
                "covariance_rule": "3 second"}.get(name, "1 second")
    r = protocols.run(name, target="numpy", seed=1, stimulus={"duration": duration})
    s = r.summary
    assert set(s) == {"protocol", "model", "parameter_set", "overrides", "seed", "target", "dt",
                      "versions", "units", "conditions", "score", "files", "variants", "parameters",
                      "stimulus", "network", "inputs", "select", "record_dt", "sources"}
    assert s["protocol"] == name and len(s["conditions"]) == len(r.protocol.conditions)
    assert s["score"] == {"chi": None, "n": 0}
    w_t = r.extra["w_t"]
    assert w_t.shape[:2] == (len(s["conditions"]), 2) and np.all(np.isfinite(w_t))


def test_replay_job_of_a_spike_scenario_writes_block_figure_and_json(tmp_path):
    res = jobs.replay("stdp_correlated_asymmetric", target="numpy", seed=0, out=tmp_path,
                      stimulus={"duration": "1 second"})
    for key in ("block", "figure", "json"):
        assert res.paths[key].exists()
    assert json.loads(res.paths["json"].read_text())["files"]["figure"] == res.paths["figure"].name


def test_sweep_runs_analyze_flow_at_every_point(tmp_path):
    spec = tmp_path / "flow.toml"
    spec.write_text("""
kind = "sweep"
description = "triplet threshold against the triplet amplitude"
seed = 1
[run]
job = "analyze flow"
protocol = "triplet_poisson"
simulate = false
[grid]
A3_plus = [6.5e-3, 1.3e-2]
""")
    result = sweep.run(spec, out=tmp_path / "out", workers=0)
    assert result.ok, [r["error"] for r in result.records.values()]
    rows = result.table()
    assert len(rows) == 2
    for row in rows:
        assert str(row["gradient"]).lower() == "true" and int(row["n_fixed_points"]) >= 1
    for p in result.spec.points:
        assert (tmp_path / "out" / "points" / p.name / "flow.json").exists()


def test_sweep_checks_flow_points_before_running(tmp_path):
    from biodyn.errors import SpecError

    spec = tmp_path / "bad.toml"
    spec.write_text("""
kind = "sweep"
description = "bad"
seed = 1
[run]
job = "analyze flow"
protocol = "triplet_poisson"
[grid]
analysis.auxx = ["state"]
""")
    with pytest.raises(SpecError) as info:
        sweep.load(spec)
    assert info.value.key == "grid.analysis.auxx" and "did you mean 'aux'" in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_gives_a_figure_and_a_json_report_from_the_cli(tmp_path, name):
    out = tmp_path / "out"
    assert main(["analyze", "flow", name, "--out", str(out), "--json", str(tmp_path / "f.json")]) == 0
    assert (out / f"{name}_flow.png").exists()
    data = json.loads((tmp_path / "f.json").read_text())
    _check_contract(data)
    assert data["simulation"] is not None
    # the replay ends where the flow says: at (or next to) a stable state
    assert data["simulation"]["nearest_stable_distance"] < 0.25


def test_bad_flow_tables_and_engine_entries_are_one_spec_error_each(tmp_path):
    from biodyn.errors import SpecError
    from biodyn.flow import analyze, scenario

    src = (protocols.load("triplet_poisson").path).read_text()
    cases = [
        (src.replace('domain = [0.0, 2.0]', 'domain = [2.0, 0.0]'), "flow.domain"),
        (src.replace('[flow]', '[flow]\nobjectiv = "bcm"'), "flow.objectiv"),
        (src.replace('[flow]', '[flow]\ncondition = 7'), "flow.condition"),
        (src.replace('rates = ["8 Hz", "16 Hz"]', 'rates = ["8 Hz", "16 mV"]'), "stimulus.rates[1]"),
        (src.replace('post = "rate"', 'post = "lif"'), "network.post"),
    ]
    for k, (text, key) in enumerate(cases):
        path = tmp_path / f"bad{k}.toml"
        path.write_text(text)
        with pytest.raises(SpecError) as info:
            analyze(str(path), simulate=False)
        assert info.value.key == key, (key, str(info.value))
    with pytest.raises(SpecError) as info:
        scenario("triplet_poisson", stimulus={"share": [0.9, 0.9], "mother_rate": "20 Hz"})
    assert info.value.key.startswith("stimulus.share")


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_flow_json_records_what_shaped_it_and_reruns_from_itself(tmp_path, capsys):
    """issue 11 §2 for analyze flow: variants, overrides, every parameter value, the stimulus
    change, target, dt and the analysis options are in the JSON; `--from` reruns it and gives
    the same numbers (numpy)."""
    first = tmp_path / "first.json"
    assert main(["analyze", "flow", "hebb_decay", "-q", "--target", "numpy", "--seed", "3",
                 "--stimulus", "duration=2 second", "--condition", "1", "--out", str(tmp_path),
                 "--json", str(first)]) == 0
    a = json.loads(first.read_text())
    _check_contract(a)
    assert a["stimulus"] == {"duration": "2 second"} and a["target"] == "numpy" and a["dt"]
    assert a["analysis_options"]["condition"] == 1 and a["analysis_options"]["simulate"] is True
    assert set(a["parameters"]) and isinstance(a["variants"], dict)
    assert "duration=2 second" in a["figure"]["footer"]
    again = tmp_path / "again.json"
    assert main(["analyze", "flow", "--from", str(first), "-q", "--out", str(tmp_path / "b"),
                 "--json", str(again)]) == 0
    b = json.loads(again.read_text())
    assert b == a  # every number, the record and the figure's data
    assert main(["analyze", "flow", "--from", str(first), "--seed", "1"]) == 2
    assert "--from: expected only --out and --json beside it" in capsys.readouterr().err
