"""biodyn fit: the command's input errors (the fits themselves are in test_protocols_compiled)."""

import pytest

from biodyn import catalog, jobs
from biodyn.cli import main
from biodyn.errors import SpecError


def test_fit_needs_published_data():
    with pytest.raises(SpecError) as info:
        jobs.fit("bi_poo_1998", free=["A_plus"], target="numpy", out=False)
    assert "published data" in str(info.value)


def test_unknown_free_parameter_is_named_with_a_suggestion():
    with pytest.raises(SpecError) as info:
        jobs.fit("sjostrom_2001", free=["A3_plsu"], target="numpy", out=False)
    assert "A3_plsu" in str(info.value) and "A3_plus" in str(info.value)


def test_a_free_parameter_starting_at_zero_needs_bounds():
    with pytest.raises(SpecError) as info:  # A2_plus = 0 in the minimal visual set
        jobs.fit("sjostrom_2001", free=["A2_plus"], target="numpy", out=False)
    assert "--bounds A2_plus=LO:HI" in str(info.value)


def test_bounds_are_parsed_in_the_parameters_unit_or_with_units():
    spec = catalog.load("stdp_triplet")
    b = jobs.parse_bounds(["tau_y=20:300", "A3_plus=0:0.05"], spec, ["tau_y", "A3_plus"])
    assert b == {"tau_y": (20.0, 300.0), "A3_plus": (0.0, 0.05)}
    assert jobs.parse_bounds(["tau_y=20*ms:0.3*second"], spec, ["tau_y"]) == {"tau_y": (20.0, 300.0)}
    for bad, words in (("tau_y=20", "NAME=LO:HI"), ("tau_y=5 mV:1 mV", "ms"), ("tau_y=9:3", "LO < HI"),
                       ("tau_x=1:2", "free parameters")):
        with pytest.raises(SpecError) as info:
            jobs.parse_bounds([bad], spec, ["tau_y"])
        assert words in str(info.value)


def test_fit_command_errors_are_one_line(capsys):
    code = main(["fit", "sjostrom_2001", "--free", "A3_plus", "--bounds", "A3_plus=1", "--target", "numpy"])
    err = capsys.readouterr().err
    assert code == 2 and "NAME=LO:HI" in err and err.strip().count("\n") == 0



def test_fit_command_prints_evaluations_as_progress_on_stderr_and_results_on_stdout(
        monkeypatch, capsys, tmp_path):
    """Each evaluation line is progress (stderr, gone with -q); the fitted values are results."""
    from types import SimpleNamespace

    from biodyn import jobs

    def fake_fit(spec, *, progress, **kwargs):
        progress(1, {"A3_plus": 0.0065}, 1.25)
        progress(2, {"A3_plus": 0.007}, 0.5)
        return SimpleNamespace(evaluations=2, starts=[{}], start_values={"A3_plus": "0.0065"},
                               values={"A3_plus": "0.007"}, chi_before=1.25, chi_after=0.5, n=7,
                               path=tmp_path / "f.toml", figure=tmp_path / "f.png",
                               json=tmp_path / "f.json")

    monkeypatch.setattr(jobs, "fit", fake_fit)
    for quiet in ([], ["-q"]):
        assert main(["fit", "sjostrom_2001", "--free", "A3_plus", *quiet]) == 0
        out, err = capsys.readouterr()
        assert "evaluation" not in out
        assert "A3_plus: 0.0065 -> 0.007" in out and "chi: 1.2500 -> 0.5000" in out
        assert out.splitlines()[-1] == str(tmp_path / "f.json")
        if quiet:
            assert err == ""
        else:
            assert "evaluation 2: A3_plus = 0.007: chi = 0.5000" in err


def test_fit_outputs_record_the_variants_and_stimulus_the_replays_ran_with(tmp_path):
    # issue 11 §2 for fit: the JSON, the figure's line and the fitted set's [fit] table
    import json

    from biodyn import jobs

    r = jobs.fit("sjostrom_2001", free=["A3_plus"], starts=1, max_evaluations=1, target="numpy",
                 stimulus={"repetitions": 2}, variants={"pairing": "nearest"},
                 out=tmp_path / "f.toml")
    doc = json.loads(r.json.read_text())
    assert doc["fit"]["variants"]["pairing"] == "nearest" and doc["fit"]["stimulus"] == {"repetitions": 2}
    assert doc["after"]["stimulus"] == {"repetitions": 2} and "A3_plus" in doc["after"]["parameters"]
    assert "pairing=nearest" in doc["fit"]["footer"] and "repetitions=2" in doc["fit"]["footer"]
    assert "stimulus = { repetitions = 2 }" in (tmp_path / "f.toml").read_text()


# -- uncertainties of the fitted parameters (issue 17) -------------------------------------------

def _line_closed_form(t, sigma):
    """Weighted straight line y = a + b t: the exact covariance of (a, b) (Press et al.,
    Numerical Recipes, 3rd ed., §15.2): Δ = S Sxx - Sx², var a = Sxx/Δ, var b = S/Δ,
    cov(a, b) = -Sx/Δ with S = Σ1/σ², Sx = Σt/σ², Sxx = Σt²/σ²."""
    import numpy as np

    w = 1.0 / np.asarray(sigma) ** 2
    S, Sx, Sxx = w.sum(), (w * t).sum(), (w * t * t).sum()
    d = S * Sxx - Sx ** 2
    return np.array([[Sxx / d, -Sx / d], [-Sx / d, S / d]])


def test_uncertainties_of_a_linear_least_squares_fit_are_the_exact_covariance():
    import numpy as np

    from biodyn.jobs._fit import jacobian, uncertainties

    rng = np.random.default_rng(1)
    t = np.linspace(0.0, 4.0, 9)
    sigma = 0.1 + 0.05 * t
    d = 0.3 + 1.7 * t + sigma * rng.standard_normal(t.size)
    C = _line_closed_form(t, sigma)
    w = 1 / sigma ** 2
    theta = C @ np.array([(w * d).sum(), (w * t * d).sum()])  # the optimum (normal equations)

    def residuals(p):
        return (p[0] + p[1] * t - d) / sigma

    J = jacobian(lambda pts: [residuals(p) for p in pts], theta, lo=-10, hi=10)
    out = uncertainties(J, residuals(theta))
    np.testing.assert_allclose(out["covariance"], C, rtol=1e-8)
    s2 = np.sum(residuals(theta) ** 2) / (t.size - 2)
    assert out["dof"] == t.size - 2 and out["s2"] == pytest.approx(s2, rel=1e-12)
    np.testing.assert_allclose(out["covariance_scaled"], s2 * C, rtol=1e-8)
    np.testing.assert_allclose(out["standard_errors"], np.sqrt(np.diag(C)), rtol=1e-8)
    rho = C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])
    np.testing.assert_allclose(out["correlation"], [[1, rho], [rho, 1]], rtol=1e-8)
    assert out["identifiable"]


def test_uncertainties_of_a_nonlinear_fit_match_curve_fits_pcov():
    import numpy as np
    from scipy.optimize import curve_fit

    from biodyn.jobs._fit import jacobian, uncertainties

    rng = np.random.default_rng(2)
    t = np.linspace(0.0, 50.0, 12)
    sigma = np.full(t.size, 0.05)
    y = 2.0 * np.exp(-t / 12.0) + sigma * rng.standard_normal(t.size)

    def f(t, A, tau):
        return A * np.exp(-t / tau)

    def jac(t, A, tau):  # exact, so that pcov carries no difference error
        e = np.exp(-t / tau)
        return np.column_stack([e, A * t / tau ** 2 * e])

    popt, pcov = curve_fit(f, t, y, p0=[1.0, 10.0], sigma=sigma, jac=jac, xtol=1e-14, ftol=1e-14)
    _, pcov_abs = curve_fit(f, t, y, p0=popt, sigma=sigma, absolute_sigma=True, jac=jac,
                            xtol=1e-14, ftol=1e-14)

    def residuals(p):
        return (f(t, *p) - y) / sigma

    # differences in coordinates relative to the optimum (as the fit takes them in its box)
    J_u = jacobian(lambda pts: [residuals(popt * (1 + q)) for q in pts], np.zeros(2), lo=-1, hi=1)
    out = uncertainties(J_u / popt, residuals(popt))
    np.testing.assert_allclose(out["covariance_scaled"], pcov, rtol=1e-5)
    np.testing.assert_allclose(out["covariance"], pcov_abs, rtol=1e-5)


def test_uncertainties_are_infinite_when_the_data_do_not_separate_the_parameters():
    import numpy as np

    from biodyn.jobs._fit import uncertainties

    J = np.column_stack([np.ones(5), 2 * np.ones(5)])  # only a + 2b is determined
    out = uncertainties(J, np.zeros(5))
    assert not out["identifiable"] and np.all(np.isinf(out["standard_errors"]))


def test_jacobian_is_one_sided_at_a_bound_of_the_box():
    import numpy as np

    from biodyn.jobs._fit import jacobian

    seen = []

    def evaluate(points):
        seen.extend(np.asarray(p).copy() for p in points)
        return [np.array([q[0] ** 2]) for q in points]

    J = jacobian(evaluate, np.array([1.0]), lo=0.0, hi=1.0, step=1e-3)
    assert max(p[0] for p in seen) <= 1.0  # never outside the box
    assert J[0, 0] == pytest.approx(2.0, abs=2e-3)  # backward difference of x² at 1


def test_fit_reports_the_exact_covariance_of_a_model_linear_in_its_free_parameters(monkeypatch, tmp_path):
    """The fit job end to end (scaled box, a log-scaled and a linear parameter, the chain rule
    back to the parameters' units, JSON and TOML), with the replays replaced by a model whose
    values are linear in (A3_plus, A2_minus): the covariance is then (JᵀJ)⁻¹ exactly."""
    import json
    from types import SimpleNamespace

    import numpy as np

    from biodyn import protocols

    f = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    g = np.array([-1.0, 0.5, -2.0, 1.0, 0.0, -0.5])
    sem = np.array([1e-3, 2e-3, 1e-3, 3e-3, 2e-3, 1e-3])
    data = 0.004 * f - 0.01 * g + np.array([1, -1, 2, -2, 1, 0]) * 1e-3

    def fake_run(spec, model, params, overrides, variants, **kwargs):
        a, b = float(overrides["A3_plus"]), float(overrides["A2_minus"])
        v = a * f - b * g
        r = (v - data) / sem
        conds = [{"labels": {"k": k}, "value": float(v[k]), "data": float(data[k]), "error": float(sem[k])}
                 for k in range(f.size)]
        return SimpleNamespace(summary={"conditions": conds, "score": {"chi": float(np.sqrt(np.mean(r ** 2)))},
                                        "target": "numpy", "overrides": dict(overrides)})

    monkeypatch.setattr(protocols, "run", fake_run)
    monkeypatch.setattr(jobs._fit, "write_fit_figure", lambda doc, path: path)
    r = jobs.fit("sjostrom_2001", free=["A3_plus", "A2_minus"], starts=1, max_evaluations=100,
                 bounds={"A3_plus": (1e-5, 0.05), "A2_minus": (0.0, 0.05)}, target="numpy",
                 out=tmp_path / "f.toml", batch=1)
    J = np.column_stack([f / sem, -g / sem])
    C = np.linalg.inv(J.T @ J)
    unc = r.uncertainty
    # A3_plus's box is log-scaled: a central difference in u = log x errs by ~(h ln(hi/lo))²/6
    # = 1.2e-5 relative (h = 1e-3); the linear A2_minus column is exact
    np.testing.assert_allclose(unc["covariance"], C, rtol=1e-4)
    assert unc["standard_errors"]["A3_plus"] == pytest.approx(np.sqrt(C[0, 0]), rel=1e-4)
    assert unc["standard_errors"]["A2_minus"] == pytest.approx(np.sqrt(C[1, 1]), rel=1e-4)
    assert unc["evaluations"] == 4 and unc["at_bound"] == []
    doc = json.loads(r.json.read_text())
    np.testing.assert_allclose(doc["fit"]["uncertainty"]["correlation"],
                               C / np.sqrt(np.outer(np.diag(C), np.diag(C))), rtol=1e-4)
    assert "standard_errors = { A3_plus = " in (tmp_path / "f.toml").read_text()


def test_fit_command_prints_standard_errors_and_correlations(monkeypatch, capsys, tmp_path):
    from types import SimpleNamespace

    unc = {"parameters": ["A3_plus", "tau_y"], "units": ["1", "ms"], "s2": 2.5, "identifiable": True,
           "standard_errors": {"A3_plus": 0.00041, "tau_y": 12.0},
           "standard_errors_scaled": {"A3_plus": 0.00065, "tau_y": 19.0},
           "correlation": [[1.0, -0.61], [-0.61, 1.0]], "at_bound": ["tau_y"]}

    def fake_fit(spec, *, progress, **kwargs):
        return SimpleNamespace(evaluations=9, starts=[{}], start_values={"A3_plus": "0.0065", "tau_y": "114.0 ms"},
                               values={"A3_plus": "0.007", "tau_y": "300.0 ms"}, chi_before=1.25, chi_after=0.5,
                               n=7, path=tmp_path / "f.toml", figure=tmp_path / "f.png",
                               json=tmp_path / "f.json", uncertainty=unc)

    monkeypatch.setattr(jobs, "fit", fake_fit)
    assert main(["fit", "sjostrom_2001", "--free", "A3_plus,tau_y", "-q"]) == 0
    out = capsys.readouterr().out
    assert "A3_plus: 0.0065 -> 0.00700 ± 0.00041 (± 0.00065 scaled by s² = 2.5)" in out
    assert "tau_y: 114.0 ms -> 300 ms ± 12 ms (± 19 ms scaled by s² = 2.5) [at a bound" in out
    assert "A3_plus +1.000 -0.610" in out and "tau_y   -0.610 +1.000" in out


def test_fit_command_prints_values_rounded_to_their_error_and_the_files_keep_them_in_full(
        monkeypatch, capsys, tmp_path):
    """The printed value stops at the decimal place of its standard error (2 significant
    digits); the JSON and the TOML keep the full double, which a rerun reads."""
    import json
    import re
    import tomllib

    from biodyn.cli._output import round_to_uncertainty

    _fake_nonlinear_replays(monkeypatch)
    out_toml = tmp_path / "f.toml"
    assert main(["fit", "sjostrom_2001", "--free", "A3_plus,A2_minus", "--bounds", "A3_plus=1e-5:0.05",
                 "--bounds", "A2_minus=0:0.05", "--starts", "1", "--max-evaluations", "20",
                 "--batch", "1", "--out", str(out_toml), "-q"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out_toml.with_suffix(".json").read_text())["fit"]
    toml_values = tomllib.loads(out_toml.read_text())
    for name in ("A3_plus", "A2_minus"):
        full = doc["values"][name]
        se, se_s = doc["uncertainty"]["standard_errors"][name], doc["uncertainty"]["standard_errors_scaled"][name]
        line = next(ln for ln in out.splitlines() if ln.startswith(f"  {name}:"))
        shown = re.search(r"-> (\S+) ± (\S+)", line)
        assert shown, line
        assert (shown.group(1), shown.group(2)) == round_to_uncertainty(float(full), se)
        assert f"(± {round_to_uncertainty(float(full), se_s)[1]} scaled" in line
        assert len(shown.group(1)) < len(full)  # rounded on screen ...
        assert len(full.replace("-", "").lstrip("0.")) >= 15  # ... in full (repr) in the JSON
        assert repr(float(full)) == full
        assert "in full in the TOML and JSON files" in out
    assert toml_values["values"]["A3_plus"] == doc["values"]["A3_plus"]  # the TOML too


def test_fit_command_prints_the_value_in_full_and_why_without_a_standard_error(
        monkeypatch, capsys, tmp_path):
    """A singular J^T J (inf standard errors) leaves nothing to round to: the value in full
    and the reason; with n = p the scaled error is missing and the output says why."""
    from types import SimpleNamespace

    def fake(unc):
        def fake_fit(spec, *, progress, **kwargs):
            return SimpleNamespace(evaluations=9, starts=[{}], start_values={"A3_plus": "0.0065"},
                                   values={"A3_plus": "0.006502356289142985"}, chi_before=1.25,
                                   chi_after=0.5, n=1, path=tmp_path / "f.toml", figure=tmp_path / "f.png",
                                   json=tmp_path / "f.json", uncertainty=unc)
        return fake_fit

    base = {"parameters": ["A3_plus"], "units": ["1"], "correlation": [[1.0]], "at_bound": []}
    monkeypatch.setattr(jobs, "fit", fake(dict(base, s2=float("nan"), dof=0, identifiable=False,
                                               standard_errors={"A3_plus": float("inf")},
                                               standard_errors_scaled={"A3_plus": float("nan")})))
    assert main(["fit", "sjostrom_2001", "--free", "A3_plus", "-q"]) == 0
    out = capsys.readouterr().out
    assert "A3_plus: 0.0065 -> 0.006502356289142985 (no ±: J^T J is singular" in out
    assert "inf" not in out
    monkeypatch.setattr(jobs, "fit", fake(dict(base, s2=float("nan"), dof=0, identifiable=True,
                                               standard_errors={"A3_plus": 0.00069},
                                               standard_errors_scaled={"A3_plus": float("nan")})))
    assert main(["fit", "sjostrom_2001", "--free", "A3_plus", "-q"]) == 0
    out = capsys.readouterr().out
    assert "A3_plus: 0.0065 -> 0.00650 ± 0.00069\n" in out
    assert "no scaled ±: n - p = 0 residual degrees of freedom" in out


# -- batched fits (issue 17) ---------------------------------------------------------------------

def _fake_nonlinear_replays(monkeypatch):
    """Replace the replays by a model nonlinear in (A3_plus, A2_minus) (v = a f exp(-b g / a)…),
    ``run`` one point and ``run_batch`` several as "copies"; returns the batch sizes run."""
    import threading
    from types import SimpleNamespace

    import numpy as np

    from biodyn import protocols

    f = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    g = np.array([-1.0, 0.5, -2.0, 1.0, 0.0, -0.5, 1.5])
    sem = np.array([1e-3, 2e-3, 1e-3, 3e-3, 2e-3, 1e-3, 2e-3])
    data = 0.004 * f - 0.01 * g ** 2 + np.array([1, -1, 2, -2, 1, 0, 1]) * 1e-3

    def value(overrides):
        a, b = float(overrides["A3_plus"]), float(overrides["A2_minus"])
        v = a * f * np.exp(-b * np.abs(g)) - b * g ** 2 + 0.3 * a * b
        r = (v - data) / sem
        conds = [{"labels": {"k": k}, "value": float(v[k]), "data": float(data[k]), "error": float(sem[k])}
                 for k in range(f.size)]
        return SimpleNamespace(summary={"conditions": conds, "score": {"chi": float(np.sqrt(np.mean(r ** 2)))},
                                        "target": "numpy", "overrides": dict(overrides)})

    sizes = []

    def fake_run(spec, model, params, overrides, variants, **kwargs):
        assert threading.current_thread() is threading.main_thread()  # Brian2 is not thread-safe
        sizes.append(1)
        return value(overrides)

    def fake_run_batch(spec, points, *, max_copies=None, varying=(), **kwargs):
        assert threading.current_thread() is threading.main_thread()
        assert max_copies == len(points) and set(varying) == {"A3_plus", "A2_minus"}
        sizes.append(len(points))
        out = []
        for j, p in enumerate(points):
            r = value(p["overrides"])
            r.summary["batch"] = {"size": len(points), "copy": j}
            out.append(r)
        return out

    monkeypatch.setattr(protocols, "run", fake_run)
    monkeypatch.setattr(protocols, "run_batch", fake_run_batch)
    monkeypatch.setattr(jobs._fit, "write_fit_figure", lambda doc, path: path)
    return sizes


def test_batched_fit_finds_the_same_optimum_and_uncertainties_to_the_last_bit(monkeypatch, tmp_path):
    """Starts in lock-step, Jacobian columns and uncertainty probes in batches: each start
    evaluates the same points as unbatched, so every number of the fit is bit-identical, in
    fewer runs, every run one build (the same number of copies)."""
    import json

    sizes = _fake_nonlinear_replays(monkeypatch)
    kw = dict(free=["A3_plus", "A2_minus"], starts=3, max_evaluations=30, target="numpy",
              bounds={"A3_plus": (1e-5, 0.05), "A2_minus": (0.0, 0.05)})
    today = jobs.fit("sjostrom_2001", batch=1, out=tmp_path / "a.toml", **kw)
    runs_today = len(sizes)
    assert set(sizes) == {1} and today.batch["runs"] == runs_today == today.evaluations
    for batch, size, fewer in (("auto", 9, 3), (4, 4, 1.5)):
        del sizes[:]
        b = jobs.fit("sjostrom_2001", batch=batch, out=tmp_path / f"b{size}.toml", **kw)
        assert b.values == today.values and b.chi_after == today.chi_after
        assert b.chi_before == today.chi_before and b.evaluations == today.evaluations
        assert b.starts == today.starts  # each start's path, end and evaluations
        assert b.uncertainty == today.uncertainty  # covariance, standard errors, ... exactly
        assert set(sizes) == {size} and len(sizes) < runs_today / fewer
        assert b.batch["size"] == size and b.batch["runs"] == len(sizes) and b.batch["lock_step_starts"]
        assert 0 < b.batch["ahead_used"] <= b.batch["ahead"]
        doc = json.loads(b.json.read_text())
        assert doc["fit"]["batch"]["size"] == size and doc["fit"]["batch"]["batched"] is True
        assert f"batch = {size}" in (tmp_path / f"b{size}.toml").read_text()


def test_fit_batch_must_be_a_whole_number_or_auto():
    for bad in (0, "two", 1.5):
        with pytest.raises(SpecError) as info:
            jobs.fit("sjostrom_2001", free=["A3_plus"], target="numpy", out=False, batch=bad)
        assert "--batch" in str(info.value) and "auto" in str(info.value)


@pytest.mark.slow
def test_batched_fit_of_real_replays_on_numpy_is_the_fit_run_one_replay_at_a_time():
    """The real sjostrom_2001 replays (shortened stimulus), two starts in lock-step, their
    Jacobian columns and the uncertainty probes as copies of one numpy run: the same fit."""
    kw = dict(free=["A3_plus", "A2_minus"], bounds={"A3_plus": (0.0, 0.05), "A2_minus": (0.0, 0.05)},
              starts=2, max_evaluations=2, target="numpy", stimulus={"repetitions": 2}, out=False)
    today = jobs.fit("sjostrom_2001", batch=1, **kw)
    batched = jobs.fit("sjostrom_2001", batch="auto", **kw)
    assert batched.batch["batched"] and batched.batch["runs"] < today.batch["runs"]
    assert batched.values == today.values and batched.chi_after == today.chi_after
    assert batched.starts == today.starts and batched.uncertainty == today.uncertainty
    assert batched.evaluations == today.evaluations


def test_fit_command_batch_flag_is_checked_before_any_replay(capsys):
    code = main(["fit", "sjostrom_2001", "--free", "A3_plus", "--batch", "two", "--target", "numpy"])
    err = capsys.readouterr().err
    assert code == 2 and "--batch" in err and "'two'" in err and err.strip().count("\n") == 0


def test_forward_steps_follow_the_relative_step_rule_and_stay_inside_the_box():
    import numpy as np

    from biodyn.jobs._fit import forward_steps

    h = forward_steps(np.array([0.5, 0.0, 1.0, 0.9995]), 1e-3)
    assert h[0] == 1e-3 * 0.5  # r |u|
    assert h[1] == np.finfo(float).eps ** 0.5  # u = 0: sqrt(eps) max(1, |u|)
    assert h[2] == -1e-3  # at the upper bound: backward
    assert h[3] == -1e-3 * 0.9995  # would leave the box: reversed
    assert forward_steps(np.array([0.5]), 1e-20)[0] == np.finfo(float).eps ** 0.5  # below the spacing of u
    narrow = forward_steps(np.array([0.3]), 1.2, lo=0.0, hi=0.5)  # neither way fits: to the farther bound
    assert narrow[0] == -0.3


def test_a_fit_with_biodyns_forward_jacobian_is_scipys_2_point_fit_to_the_last_bit():
    # biodyn replaced scipy's private _numdiff helpers with its own difference: the same steps,
    # the same probes, the same path and optimum as least_squares(jac="2-point")
    import numpy as np
    from scipy.optimize import least_squares

    from biodyn.jobs._fit import _forward_probes, forward_jacobian

    t = np.linspace(0.0, 1.0, 9)
    y = 0.7 * np.exp(-3.0 * t) + 0.05 * np.sin(7 * t)

    def residuals(u):
        return u[0] * np.exp(-5.0 * u[1] * t) + u[2] * t - y

    for u0 in (np.array([0.2, 0.9, 0.0]), np.array([1.0, 0.1, 0.5])):
        seen_scipy, seen_ours = [], []

        def f_scipy(u):
            seen_scipy.append(u.copy())
            return residuals(u)

        def f_ours(u):
            seen_ours.append(u.copy())
            return residuals(u)

        def jac(u):
            return forward_jacobian(lambda ps: [f_ours(p) for p in ps], u, residuals(u), 1e-3)

        kw = dict(bounds=(0.0, 1.0), method="trf", x_scale=1.0, max_nfev=40)
        a = least_squares(f_scipy, u0, diff_step=1e-3, **kw)
        b = least_squares(f_ours, u0, jac=jac, **kw)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.jac, b.jac) and a.nfev == b.nfev
        assert np.array_equal(np.array(seen_scipy), np.array(seen_ours))  # every point, in order
        probes = _forward_probes(a.x, 1e-3)
        assert all(p.min() >= 0.0 and p.max() <= 1.0 for p in probes) and len(probes) == 3


@pytest.mark.parametrize("flag, value", [("--starts", "0"), ("--starts", "-2"), ("--max-evaluations", "0")])
def test_fit_starts_and_max_evaluations_below_one_are_refused_before_any_replay(flag, value, capsys, tmp_path):
    """--starts 0 ran replays (and then failed or fitted nothing); it is a one-line error."""
    code = main(["fit", "sjostrom_2001", "--free", "A3_plus", flag, value, "--target", "numpy",
                 "--out", str(tmp_path / "f.toml")])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and repr(value) in err and err.strip().count("\n") == 0
    assert not list(tmp_path.iterdir())


# -- what a fit records and says (a new user's review of issue 17) -------------------------------

def test_fit_parameter_set_records_the_target_the_replays_ran_on_not_auto(monkeypatch, tmp_path):
    """`biodyn fit` with the default --target auto wrote `target = "auto"` in the fitted
    set's [fit] table, while the JSON said cpp_standalone: the TOML must name the target the
    replays ran on (and keep what was asked)."""
    import tomllib

    _fake_nonlinear_replays(monkeypatch)  # replays whose summaries say target = "numpy"
    jobs.fit("sjostrom_2001", free=["A3_plus", "A2_minus"], starts=1, max_evaluations=5,
             bounds={"A3_plus": (1e-4, 0.05), "A2_minus": (1e-4, 0.05)}, target="auto",
             out=tmp_path / "f.toml", batch=1)
    fit = tomllib.loads((tmp_path / "f.toml").read_text())["fit"]
    assert fit["target"] == "numpy" and fit["target_requested"] == "auto"


def test_fit_says_when_a_start_value_lies_outside_its_bounds(monkeypatch, capsys, tmp_path):
    """--bounds A3_plus=0.1:0.5 around a set value of 0.0065: the first start is moved onto
    the bound, and chi before (0.0065) can be far better than chi after; the fit says so in
    its notes (stderr of biodyn fit, and the JSON) instead of silently."""
    import json

    _fake_nonlinear_replays(monkeypatch)
    r = jobs.fit("sjostrom_2001", free=["A3_plus", "A2_minus"], starts=1, max_evaluations=5,
                 bounds={"A3_plus": (0.1, 0.5), "A2_minus": (1e-4, 0.05)}, target="numpy",
                 out=tmp_path / "f.toml", batch=1)
    assert len(r.notes) == 1
    assert "start value of A3_plus (0.0065) lies outside its bounds [0.1, 0.5]" in r.notes[0]
    assert "the first start is 0.1" in r.notes[0]
    assert json.loads(r.json.read_text())["fit"]["notes"] == r.notes
    assert main(["fit", "sjostrom_2001", "--free", "A3_plus,A2_minus", "--bounds", "A3_plus=0.1:0.5",
                 "--bounds", "A2_minus=0.0001:0.05", "--starts", "1", "--max-evaluations", "5",
                 "--target", "numpy", "--batch", "1", "--out", str(tmp_path / "g.toml"), "-q"]) == 0
    assert "note: the start value of A3_plus (0.0065) lies outside" in capsys.readouterr().err
