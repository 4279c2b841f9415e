"""biodyn analyze cycles: cycles of flows and periodic orbits of maps, JSON and figure; refusals
of threshold-reset models are one line with status 2; biodyn plot redraws the figure."""

import json
from pathlib import Path

import numpy as np
import pytest

from biodyn.cli import main


def run(tmp_path, *args):
    js = tmp_path / "out.json"
    rc = main(["-q", "analyze", "cycles", *args, "--out", str(tmp_path), "--json", str(js)])
    assert rc == 0
    data = json.loads(js.read_text())
    figure = Path(data["files"]["figure"])
    assert figure.exists() and figure.read_bytes()[:4] == b"\x89PNG"
    assert data["analysis"] == "cycles" and data["seed"] == 0
    return data


def test_cli_cycles_of_van_der_pol_period_amplitude_multipliers(tmp_path):
    data = run(tmp_path, "van_der_pol")
    (c,) = data["cycles"]
    assert c["period"] == pytest.approx(6.66328686, abs=1e-6) and c["stable"]
    assert c["max"]["x"] == pytest.approx(2.0086, abs=1e-3) and c["min"]["x"] == pytest.approx(-2.0086, abs=1e-3)
    assert c["multipliers"][0] == pytest.approx([1.0, 0.0], abs=1e-6)
    assert [fp["type"] for fp in data["fixed_points"]] == ["unstable focus"]
    assert len(c["orbit"]["x"]) > 100


def test_cli_cycles_of_the_logistic_map_are_period_k_orbits(tmp_path):
    r = 3.5
    data = run(tmp_path, "logistic", "--set", f"r={r}", "--max-period", "4")
    periods = sorted(c["period"] for c in data["cycles"])
    assert periods == [2, 4]
    two = [c for c in data["cycles"] if c["period"] == 2][0]
    assert two["multipliers"][0][0] == pytest.approx(-r ** 2 + 2 * r + 4, rel=1e-9)
    assert not two["stable"]


def test_cli_cycles_at_a_stable_equilibrium_says_why_there_is_none(tmp_path):
    data = run(tmp_path, "hopf", "--set", "mu=-0.5")
    assert data["cycles"] == [] and "settles at an equilibrium" in data["notes"][0]


def test_cli_cycles_of_integrate_and_fire_without_drive_say_the_neuron_rests(tmp_path):
    # (with drive, the cycle through the reset: tests/test_dynamics_hybrid_cycles.py)
    data = run(tmp_path, "lif")
    assert data["cycles"] == [] and "the neuron rests" in data["notes"][0]


def test_biodyn_plot_redraws_a_cycles_result(tmp_path):
    run(tmp_path, "hopf")
    png = tmp_path / "again.png"
    rc = main(["-q", "plot", str(tmp_path / "out.json"), "--out", str(png)])
    assert rc == 0 and png.exists()


def test_cli_bifurcation_continues_the_cycles_born_at_the_hopf_point(tmp_path):
    js = tmp_path / "b.json"
    rc = main(["-q", "analyze", "bifurcation", "hopf", "--param", "mu", "--range", "-1", "1",
               "--out", str(tmp_path), "--json", str(js)])
    assert rc == 0
    data = json.loads(js.read_text())
    (b,) = data["cycle_branches"]
    v = np.asarray(b["values"])
    np.testing.assert_allclose(b["max"]["x"], np.sqrt(v), rtol=1e-3)   # radius sqrt(mu)
    np.testing.assert_allclose(b["periods"], 2 * np.pi, rtol=1e-7)       # omega = 1
    assert all(b["stable"]) and v.max() >= 1.0 and data["cycle_points"] == []
    rc = main(["-q", "analyze", "bifurcation", "hopf", "--param", "mu", "--range", "-1", "1",
               "--no-cycles", "--out", str(tmp_path), "--json", str(js)])
    assert rc == 0 and "cycle_branches" not in json.loads(js.read_text())


def test_cycle_branches_are_drawn_in_the_diagram_unit_mV_like_the_equilibria():
    import matplotlib.pyplot as plt

    from biodyn import plot

    summary = {"plot_variable": "v", "units": {"v": "V"},
               "cycle_branches": [{"values": [0.1, 0.2], "stable": [True, True],
                                   "max": {"v": [0.03, 0.031]}, "min": {"v": [-0.075, -0.074]}}],
               "cycle_points": [{"type": "cycle_fold", "value": 0.1, "max": {"v": 0.03}, "min": {"v": -0.075}}]}
    fig, ax = plt.subplots()
    plot.cycle_branches(summary, ax)
    ys = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.lines])
    assert np.nanmax(ys) == pytest.approx(31.0) and np.nanmin(ys) == pytest.approx(-75.0)
    plt.close(fig)


def test_a_period_prints_in_ms_for_neurons_and_in_the_model_time_unit_otherwise():
    # HH printed "period 0.0198952 1 second"; a reader wants 19.8952 ms
    from biodyn.cli.analyze_bifurcation import _period_text

    assert _period_text(0.0198952, "1 second") == "19.8952 ms"
    assert _period_text(6.66329, "1") == "6.66329"
    assert _period_text(2.5, "1 tau") == "2.5 tau"


def test_van_der_pol_branch_from_its_degenerate_hopf_point_reports_no_fold_of_cycles(tmp_path):
    # at mu = 0 van der Pol is a linear centre: every amplitude is a cycle, so the branch from
    # the Hopf point rises vertically and turns at amplitude ~2 with mu still 0. That turn was
    # reported as a cycle_fold at mu = -3.5e-10; there is no fold of cycles in this system
    js = tmp_path / "b.json"
    assert main(["-q", "analyze", "bifurcation", "van_der_pol", "--param", "mu", "--range", "-1", "1",
                 "--out", str(tmp_path), "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    assert [p["type"] for p in data["points"]] == ["hopf"]
    assert not [p for p in data["cycle_points"] if p["type"] == "cycle_fold"]
    assert any("vertically" in n and "degenerate" in n for n in data["notes"])
    assert data["cycle_branches"]  # the branch itself is kept
