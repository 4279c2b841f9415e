"""biodyn analyze fixed-points / bifurcation / lyapunov / phase-portrait write a figure and the
JSON contract; bad input is one line and exit status 2; the example runs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biodyn.cli import main


def run(tmp_path, *args):
    js = tmp_path / "out.json"
    rc = main(["-q", "analyze", *args, "--out", str(tmp_path), "--json", str(js)])
    assert rc == 0
    data = json.loads(js.read_text())
    figure = Path(data["files"]["figure"])
    assert figure.exists() and figure.read_bytes()[:4] == b"\x89PNG"
    assert data["seed"] == 0 and "brian2" in data["versions"]
    return data


def test_cli_fixed_points_of_the_henon_map_are_the_closed_form_ones(tmp_path):
    d = run(tmp_path, "fixed-points", "henon")
    a, b = 1.4, 0.3
    xs = sorted((-(1 - b) + s * np.sqrt((1 - b) ** 2 + 4 * a)) / (2 * a) for s in (-1, 1))
    assert [fp["type"] for fp in d["fixed_points"]] == ["saddle", "saddle"]
    np.testing.assert_allclose([fp["state"]["x"] for fp in d["fixed_points"]], xs, rtol=1e-10)
    np.testing.assert_allclose([fp["state"]["y"] for fp in d["fixed_points"]], np.multiply(xs, b), rtol=1e-10)
    for fp in d["fixed_points"]:
        assert fp["stable"] is False and len(fp["eigenvalues"]) == 2 and len(fp["eigenvalues"][0]) == 2
    assert d["model"] == "henon" and d["kind"] == "map"


def test_cli_bifurcation_of_the_saddle_node_normal_form(tmp_path):
    d = run(tmp_path, "bifurcation", "saddle_node", "--param", "r", "--range", "-1", "1")
    assert d["param"] == "r" and d["param_unit"] == "1"
    (fold,) = d["points"]
    assert fold["type"] == "fold" and abs(fold["value"]) < 1e-6 and set(fold["state"]) == {"x"}
    assert d["branches"] and all(len(b["values"]) == len(b["stable"]) for b in d["branches"])


def test_cli_lyapunov_of_the_logistic_map_at_r4_is_ln2(tmp_path):
    d = run(tmp_path, "lyapunov", "logistic", "--duration", "20000")
    assert d["exponents"][0] == pytest.approx(np.log(2), abs=3e-3)
    assert d["time_unit"] == "iteration" and d["duration"] == 20000
    assert d["standard_error"][0] < 0.01 and d["entropy_rate"] == pytest.approx(d["exponents"][0])
    assert d["kaplan_yorke"] == 1.0 and d["method"] == "qr"
    assert len(d["running"]["times"]) == len(d["running"]["estimates"])


def test_cli_lyapunov_of_a_flow_takes_times_with_units(tmp_path):
    d = run(tmp_path, "lyapunov", "hopf", "--duration", "20 ms", "--dt", "0.01", "--transient", "5")
    assert d["duration"] == pytest.approx(20.0)  # 20 ms = 20 tau (tau = 1 ms)
    assert d["exponents"][0] == pytest.approx(0.0, abs=0.02)       # the limit cycle
    assert d["exponents"][1] == pytest.approx(-2 * 0.5, abs=0.02)  # radial rate -2 mu
    assert d["time_unit"] == "tau (1 ms)"


def test_cli_phase_portrait_of_the_wilson_cowan_bistable_set(tmp_path):
    d = run(tmp_path, "phase-portrait", "wilson_cowan", "--params", "bistable", "--x", "E", "--y", "I",
            "--duration", "20", "--dt", "0.05", "--grid", "15")
    assert d["x"] == "E" and d["y"] == "I"
    assert np.asarray(d["fx"]).shape == (15, 15) and len(d["trajectories"]) == 4
    assert sorted(fp["type"] for fp in d["fixed_points"]) == ["saddle", "stable node", "stable node"]


def test_cli_unknown_variable_is_one_line_and_status_2(tmp_path, capsys):
    rc = main(["analyze", "phase-portrait", "van_der_pol", "--x", "q", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "'q'" in err and "x, y" in err
    rc = main(["analyze", "bifurcation", "lorenz", "--param", "rhoo", "--range", "0", "1",
               "--out", str(tmp_path)])
    assert rc == 2 and "did you mean 'rho'" in capsys.readouterr().err


def test_example_analyze_a_model_runs(tmp_path):
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "examples" / "analyze_a_model.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert out.count("Wilson-Cowan fixed point") == 3 and out.count("fold at P") == 2
    lam1 = float(out.split("Lorenz Lyapunov spectrum: ")[1].split(" ")[0])
    assert lam1 == pytest.approx(0.906, abs=0.1)
    assert (tmp_path / "wilson_cowan_hysteresis.png").exists()


def test_cli_fixed_points_of_lif_above_threshold_lists_the_root_apart_and_says_it_fires(tmp_path, capsys):
    js = tmp_path / "lif.json"
    rc = main(["analyze", "fixed-points", "lif", "--set", "I=3 nA", "--out", str(tmp_path), "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "no fixed point found" in out and "stable node" not in out
    assert "v = -35 mV: above threshold" in out and "v_th = -50 mV" in out
    assert "it fires tonically" in out
    d = json.loads(js.read_text())
    assert d["fixed_points"] == [] and d["threshold_reset"] is True
    (root,) = d["excluded_roots"]
    assert root["state"]["v"] == pytest.approx(-0.035) and "v > v_th" in root["excluded"]
    assert "fires" in d["note"]


def test_cli_fixed_points_print_states_with_their_units(tmp_path, capsys):
    rc = main(["analyze", "fixed-points", "lif", "--set", "I=150 pA", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "stable node     v = -63.5 mV" in out and "fires" not in out


def test_cli_fixed_points_of_the_readme_quadratic_if_above_rheobase(tmp_path, capsys):
    from test_dynamics_field import QIF_README

    spec = tmp_path / "quadratic_if.toml"
    spec.write_text(QIF_README)
    js = tmp_path / "qif.json"
    rc = main(["analyze", "fixed-points", str(spec), "--set", "I=100 pA", "--out", str(tmp_path),
               "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 0 and "no fixed point found" in out and "unstable node" not in out
    assert "has no root at all" in out and "fires" in out
    assert json.loads(js.read_text())["fixed_points"] == []


def test_cli_lyapunov_warns_on_stderr_when_the_running_exponent_drifts(tmp_path, capsys):
    js = tmp_path / "p.json"
    rc = main(["analyze", "lyapunov", "pitchfork", "--set", "r=0", "--duration", "200", "--dt", "0.05",
               "--transient", "0", "--out", str(tmp_path), "--json", str(js)])
    err = capsys.readouterr().err
    assert rc == 0 and "biodyn: warning: lambda1 has not converged" in err and "--duration" in err
    d = json.loads(js.read_text())
    assert len(d["warnings"]) == 1 and d["drift"][0]["duration_needed"] > 200
    rc = main(["analyze", "lyapunov", "logistic", "--set", "r=3.8", "--out", str(tmp_path), "--json", str(js)])
    out, err = capsys.readouterr()
    assert rc == 0 and "warning" not in err and "standard error: batch means" in out
    assert json.loads(js.read_text())["warnings"] == []


def test_cli_bifurcation_of_lif_prints_the_threshold_point_with_units(tmp_path, capsys):
    rc = main(["analyze", "bifurcation", "lif", "--param", "I", "--range", "0 nA", "3 nA", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "threshold" in out and "(v = -50 mV)" in out and "the neuron fires" in out


def test_analysis_figures_carry_the_provenance_line_written_and_redrawn(tmp_path, monkeypatch):
    """An analysis figure records what shaped it — model, set, variants, overrides, seed, step
    with its unit, versions — under everything, with no text overlapping; `biodyn plot` redraws
    the same line from the JSON."""
    from biodyn import jobs, plot
    from biodyn.plot import layout_problems

    drawn = []
    save = plot.save

    def keep(ax, path):
        plot.keep_legends_off_data(ax.figure)  # legends placed as save places them
        drawn.append(([t.get_text() for t in ax.figure.texts], layout_problems(ax.figure)))
        return save(ax, path)

    monkeypatch.setattr(plot, "save", keep)
    js = tmp_path / "fp.json"
    jobs.analyze_fixed_points("rate", variants={"gain": "tanh"}, overrides={"I": "0.5"}, seed=3,
                              out=tmp_path, json=js)
    jobs.analyze_lyapunov("duffing", duration="100", out=tmp_path)
    jobs.redraw(js, tmp_path / "again.png")
    (fp_texts, fp_problems), (ly_texts, ly_problems), (re_texts, re_problems) = drawn
    line = " ".join(fp_texts)
    for part in ("rate/default", "gain=tanh", "set I=0.5", "seed 3", "biodyn "):
        assert part in line, (part, line)
    assert "dt 50 µs (0.05 tau)" in " ".join(ly_texts)  # the step as a duration, and in the model's unit
    assert re_texts == fp_texts
    assert not fp_problems and not ly_problems and not re_problems


def test_cli_bifurcation_reports_the_parameter_in_the_unit_of_the_range(tmp_path, capsys, monkeypatch):
    """Hodgkin-Huxley's rest state loses stability at I = 9.78 uA/cm**2 (Hassard 1978): given
    the range in uA/cm**2, the printed line, the JSON and the figure's axis say 9.78 uA/cm**2
    (not 0.0978 A/m**2, the SI value of the model variable)."""
    from biodyn import plot

    labels = []
    save = plot.save
    monkeypatch.setattr(plot, "save", lambda ax, path: (labels.append(ax.get_xlabel()), save(ax, path))[1])
    js = tmp_path / "hh.json"
    rc = main(["analyze", "bifurcation", "hodgkin_huxley", "--param", "I", "--range", "0 uA/cm**2",
               "15 uA/cm**2", "--no-cycles", "--out", str(tmp_path), "--json", str(js)])
    out = capsys.readouterr().out
    d = json.loads(js.read_text())
    assert rc == 0 and d["param_unit"] == "uA/cm**2" and d["range"] == pytest.approx([0, 15])
    hopf = [p["value"] for p in d["points"] if p["type"] == "hopf"]
    assert hopf == [pytest.approx(9.78, abs=0.01)]
    assert 14 < max(v for b in d["branches"] for v in b["values"]) < 16  # the branch, in uA/cm**2 too
    line = next(ln for ln in out.splitlines() if ln.startswith("hopf"))
    assert "I = 9.7" in line and "uA/cm**2" in line
    assert labels == ["I (uA/cm**2)"]


def test_cli_bifurcation_of_lif_in_pA_is_the_nA_answer_times_1000(tmp_path):
    """The same continuation with the range in pA or nA gives the same point in each unit."""
    values = {}
    for unit, hi in (("nA", "3"), ("pA", "3000")):
        js = tmp_path / f"{unit}.json"
        assert main(["-q", "analyze", "bifurcation", "lif", "--param", "I", "--range", f"0 {unit}",
                     f"{hi} {unit}", "--out", str(tmp_path), "--json", str(js)]) == 0
        d = json.loads(js.read_text())
        assert d["param_unit"] == unit
        values[unit] = [p["value"] for p in d["points"]]
    assert values["pA"] == pytest.approx([1000 * v for v in values["nA"]])


def test_lyapunov_function_certifies_both_wells_of_the_duffing_oscillator(tmp_path, monkeypatch):
    """Unforced Duffing has stable foci at x = -1 and x = +1 (Guckenheimer & Holmes 1983, 2.2):
    without --candidate each gets its quadratic certificate (JSON list, with samples and level
    grid) and a panel of the figure of its own, written and redrawn."""
    from biodyn import jobs, plot
    from biodyn.plot import layout_problems

    drawn = []
    save = plot.save

    def keep(ax, path):
        plot.keep_legends_off_data(ax.figure)  # legends placed as save places them
        axes = [a for a in ax.figure.axes if a.get_title()]
        drawn.append(([a.get_title() for a in axes], layout_problems(ax.figure)))
        return save(ax, path)

    monkeypatch.setattr(plot, "save", keep)
    js = tmp_path / "lf.json"
    r = jobs.analyze_lyapunov_function("duffing", samples=600, out=tmp_path, json=js)
    certs = r.summary["certificates"]
    assert sorted(round(c["fixed_point"]["state"]["x"], 6) for c in certs) == [-1.0, 1.0]
    for c in certs:
        assert c["fixed_point"]["type"] == "stable focus" and c["region_of_attraction"]["level"] > 0
        assert len(c["samples"]["sign"]) == 600 and len(c["level_grid"]["V"]) == 60
    jobs.redraw(js, tmp_path / "again.png")
    for titles, problems in drawn:
        assert len(titles) == 2 and "at x = -1, y = 0" in titles[0] and "at x = 1, y = 0" in titles[1]
        assert not problems, problems


def test_lyapunov_function_figure_of_a_neuron_draws_v_in_mV_and_w_in_nA(tmp_path, monkeypatch):
    """The JSON is SI; the figure's axes are in the units phase portraits use (mV, nA), with
    the samples inside the box given (-90..-50 mV)."""
    from biodyn import jobs, plot

    seen = []
    save = plot.save
    monkeypatch.setattr(plot, "save", lambda ax, path: (seen.append(ax), save(ax, path))[1])
    jobs.analyze_lyapunov_function("adex", ranges={"v": ("-90 mV", "-50 mV"), "w": ("-200 pA", "200 pA")},
                                   samples=200, out=tmp_path)
    ax = seen[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("v (mV)", "w (nA)")
    assert "at v = -70.6 mV, w = " in ax.get_title()
    from matplotlib.collections import PathCollection

    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections if isinstance(c, PathCollection)])
    assert -90.001 <= xs.min() and xs.max() <= -49.999
