"""Phase-space geometry: stable/unstable manifolds of saddles, basins of attraction, Lyapunov
functions — on systems with known answers (linear saddles, the unforced double-well Duffing
oscillator, dx/dt = y - x^3, dy/dt = -x)."""

import json
from pathlib import Path

import numpy as np
import pytest

from biodyn.dynamics import find_fixed_points, read

LINEAR2 = '''
kind = "system"
description = "A linear saddle: dx/dt = (a x + b y)/tau, dy/dt = (c x + d y)/tau."
model = """
dx/dt = (a*x + b*y)/tau : 1
dy/dt = (c*x + d*y)/tau : 1
"""
time_unit = "tau"
[parameters]
a = { unit = "1" }
b = { unit = "1" }
c = { unit = "1" }
d = { unit = "1" }
tau = { unit = "ms" }
[initial]
x = "0.1"
y = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { a = "1", b = "2", c = "0", d = "-1", tau = "1 ms" }
'''

LINEAR3 = '''
kind = "system"
description = "A linear saddle in 3-D with a two-dimensional stable eigenspace (the plane x = 0)."
model = """
dx/dt = x/tau : 1
dy/dt = (-y + 3*z)/tau : 1
dz/dt = (x - 2*z)/tau : 1
"""
time_unit = "tau"
[parameters]
tau = { unit = "ms" }
[initial]
x = "0.1"
y = "0"
z = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
z = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { tau = "1 ms" }
'''

CUBIC = '''
kind = "system"
description = "dx/dt = y - x^3, dy/dt = -x: V = x^2 + y^2 has dV/dt = -2 x^4."
model = """
dx/dt = (y - x**3)/tau : 1
dy/dt = -x/tau : 1
"""
time_unit = "tau"
[parameters]
tau = { unit = "ms" }
[initial]
x = "0.5"
y = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { tau = "1 ms" }
'''


def _spec(folder, name, text):
    (folder / f"{name}.toml").write_text(text)
    return name


# --------------------------------------------------------------------------
# Manifolds
# --------------------------------------------------------------------------


def test_manifolds_of_a_linear_saddle_are_its_eigenvector_lines(catalog_path):
    from biodyn.dynamics import saddle_manifolds

    field = read(_spec(catalog_path, "lin2", LINEAR2))
    ms = saddle_manifolds(field, np.zeros(2), fixed_points=[np.zeros(2)])
    assert sorted((m.kind, m.sign) for m in ms) == [("stable", -1), ("stable", 1),
                                                  ("unstable", -1), ("unstable", 1)]
    # eigenvalue 1 along (1, 0); eigenvalue -1 along (1, -1)/sqrt(2)
    lines = {"unstable": np.array([1.0, 0.0]), "stable": np.array([1.0, -1.0]) / np.sqrt(2)}
    for m in ms:
        v = lines[m.kind]
        P = m.points
        assert len(P) > 50 and m.end == "left the box"
        normal = np.array([-v[1], v[0]])
        assert np.max(np.abs(P @ normal)) < 1e-9          # on the eigenvector's line
        assert np.max(np.abs(P).max(axis=1)) > 1.0         # and followed out of the box
        assert np.all(np.sign(P[1:] @ v) == m.sign)         # each branch on its own side
        np.testing.assert_allclose(abs(m.directions[0] @ v), 1.0, atol=1e-12)
        assert m.eigenvalues[0].real == pytest.approx(1.0 if m.kind == "unstable" else -1.0)


def test_two_dimensional_stable_manifold_of_a_3d_linear_saddle_is_its_eigenplane(catalog_path):
    from biodyn.dynamics import saddle_manifolds

    field = read(_spec(catalog_path, "lin3", LINEAR3))
    ms = saddle_manifolds(field, np.zeros(3), fixed_points=[np.zeros(3)], n_orbits=12)
    (st,) = [m for m in ms if m.kind == "stable"]
    assert st.dimension == 2 and len(st.orbits) == 12
    assert np.max(np.abs(st.points[:, 0])) < 1e-9              # the plane x = 0
    assert np.max(np.abs(st.points[:, 1:])) > 1.0               # spread over it
    un = [m for m in ms if m.kind == "unstable"]
    assert len(un) == 2 and all(m.dimension == 1 for m in un)
    v = np.array([1.0, 0.5, 1.0 / 3.0])
    v /= np.linalg.norm(v)
    for m in un:  # along (1, 1/2, 1/3)
        P = m.points
        assert np.max(np.linalg.norm(P - np.outer(P @ v, v), axis=1)) < 1e-9


def test_duffing_saddle_unstable_manifold_ends_at_the_two_wells():
    from biodyn.dynamics import saddle_manifolds, trajectory

    field = read("duffing", overrides={"gamma": "0"})
    fps = find_fixed_points(field)
    (saddle,) = [p for p in fps if p.type == "saddle"]
    ms = saddle_manifolds(field, saddle, fixed_points=fps)
    ends = sorted(tuple(np.round(fps[m.end_index[0]].state, 6)) for m in ms if m.kind == "unstable")
    assert ends == [(-1.0, 0.0), (1.0, 0.0)]
    assert all(m.end == "fixed point" for m in ms if m.kind == "unstable")
    for m in ms:
        if m.kind == "stable":   # backward in time the stable manifold spirals out of the box
            assert m.end == "left the box"
            # a point on it flows forward to the saddle (before the unstable direction wins)
            p = m.points[len(m.points) // 3]
            _, X = trajectory(field, p, 12.0, 0.001)
            assert np.min(np.linalg.norm(X, axis=1)) < 1e-3


def test_cli_phase_portrait_draws_and_writes_the_saddle_manifolds(tmp_path):
    from biodyn.cli import main

    js = tmp_path / "pp.json"
    assert main(["-q", "analyze", "phase-portrait", "duffing", "--out", str(tmp_path), "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    assert Path(d["files"]["figure"]).exists()
    ms = d["manifolds"]
    assert sorted(m["kind"] for m in ms) == ["stable", "stable", "unstable", "unstable"]
    wells = sorted(d["fixed_points"][m["orbits"][0]["end_index"]]["x"] for m in ms if m["kind"] == "unstable")
    np.testing.assert_allclose(wells, [-1.0, 1.0], atol=1e-9)
    for m in ms:
        assert set(m["orbits"][0]["points"]) == {"x", "y"} and len(m["orbits"][0]["points"]["x"]) > 10
    js2 = tmp_path / "pp2.json"
    assert main(["-q", "analyze", "phase-portrait", "duffing", "--no-manifolds", "--out", str(tmp_path),
                 "--json", str(js2)]) == 0
    assert "manifolds" not in json.loads(js2.read_text())


# --------------------------------------------------------------------------
# Basins
# --------------------------------------------------------------------------


def test_wilson_interval_matches_the_closed_form():
    from biodyn.dynamics import wilson_interval

    # k = 0 of n: upper limit z^2 / (n + z^2)
    z = 1.959963984540054
    assert wilson_interval(0, 10) == pytest.approx((0.0, z * z / (10 + z * z)))
    lo, hi = wilson_interval(50, 100)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(2 * z * 0.05 / (1 + z * z / 100)
                                                                            * np.sqrt(1 + z * z / 100), rel=1e-12)


def test_wilson_interval_is_exact_at_the_ends_so_error_bars_are_never_negative(tmp_path):
    from biodyn import plot
    from biodyn.dynamics import wilson_interval

    assert wilson_interval(60, 60)[1] == 1.0 and wilson_interval(0, 60)[0] == 0.0
    # one attractor reached from every start (a cycle): the fractions' panel draws
    ax = plot.basin_fractions({"attractors": [{"kind": "cycle", "type": "cycle", "fraction": 1.0,
                                               "interval": list(wilson_interval(60, 60))}],
                               "n_starts": 60})
    plot.save(ax, tmp_path / "one.png")


def test_duffing_sampled_basins_are_two_halves_within_the_interval():
    from biodyn.dynamics import basins

    field = read("duffing", overrides={"gamma": "0"})
    b = basins(field, samples=1500, seed=1, confidence=0.99)
    wells = [a for a in b.attractors if a["kind"] == "fixed point" and a["type"] == "stable focus"]
    assert sorted(a["state"][0] for a in wells) == pytest.approx([-1.0, 1.0])
    assert sum(a["count"] for a in wells) == 1500      # nothing else is reached from random starts
    for a in wells:
        lo, hi = a["interval"]
        assert lo < 0.5 < hi and hi - lo < 0.08
    assert b.dt > 0 and b.duration > 100


def test_duffing_basin_boundary_is_the_saddle_stable_manifold():
    from biodyn.dynamics import basins, saddle_manifolds

    field = read("duffing", overrides={"gamma": "0"})
    fps = find_fixed_points(field)
    b = basins(field, grid=40, fixed_points=fps)
    L = b.label_map
    wells = {j for j, a in enumerate(b.attractors) if a["type"] == "stable focus"}
    assert set(np.unique(L)) == wells and len(wells) == 2
    assert np.all(L == sum(wells) - L[::-1, ::-1])   # (x, y) -> (-x, -y) swaps the basins
    (saddle,) = [p for p in fps if p.type == "saddle"]
    lo, hi = np.array([-2.0, -1.5]), np.array([2.0, 1.5])
    ws = [m for m in saddle_manifolds(field, saddle, fixed_points=fps, box=(lo, hi)) if m.kind == "stable"]
    curve = np.concatenate([m.points for m in ws])
    gx, gy = np.asarray(b.grid["grid_x"]), np.asarray(b.grid["grid_y"])
    h = max(gx[1] - gx[0], gy[1] - gy[0])
    X, Y = np.meshgrid(gx, gy)
    changes = []
    for a, c in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),
                 ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):
        diff = L[a] != L[c]
        mid = np.stack([(X[a] + X[c])[diff] / 2, (Y[a] + Y[c])[diff] / 2], axis=1)
        changes.append(mid)
    mids = np.concatenate(changes)
    assert len(mids) > 40
    dist = np.min(np.linalg.norm(mids[:, None, :] - curve[None, :, :], axis=2), axis=1)
    assert np.max(dist) < h          # every change of basin is next to the stable manifold
    # and the two sides of the manifold go to different wells
    inside = [m.points[(np.abs(m.points[:, 0]) < 1.9) & (np.abs(m.points[:, 1]) < 1.4)] for m in ws]
    probes, pairs = [], 0
    for P in inside:
        for k in range(5, len(P) - 1, max(1, len(P) // 15)):
            t = P[k + 1] - P[k - 1]
            nrm = np.array([-t[1], t[0]]) / np.linalg.norm(t)
            probes += [P[k] + 0.01 * nrm, P[k] - 0.01 * nrm]
            pairs += 1
    bb = basins(field, samples=np.array(probes), fixed_points=fps)
    lab = bb.labels.reshape(-1, 2)
    assert pairs > 15 and np.all(lab[:, 0] != lab[:, 1])


def test_cli_basins_of_duffing_write_the_map_fractions_and_redraw(tmp_path, capsys):
    from biodyn.cli import main

    js = tmp_path / "b.json"
    assert main(["analyze", "basins", "duffing", "--grid", "16", "--out", str(tmp_path), "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "stable focus at x = -1" in printed and "50.00 % of 256" in printed
    d = json.loads(js.read_text())
    assert d["analysis"] == "basins" and d["x"] == "x" and d["y"] == "y" and d["n_starts"] == 256
    assert np.asarray(d["labels"]).shape == (16, 16) and len(d["grid_x"]) == 16
    fr = sorted(a["fraction"] for a in d["attractors"])
    assert fr == [0.5, 0.5] and all(a["interval"][0] < 0.5 < a["interval"][1] for a in d["attractors"])
    assert [m["kind"] for m in d["manifolds"]] == ["stable", "stable"]
    png = tmp_path / "redrawn.png"
    assert main(["-q", "plot", str(js), "--out", str(png)]) == 0 and png.exists()
    assert main(["-q", "analyze", "basins", "henon", "--out", str(tmp_path)]) == 2   # a map: one line
    assert "flows" in capsys.readouterr().err


# --------------------------------------------------------------------------
# Lyapunov functions
# --------------------------------------------------------------------------

BISTABLE1 = '''
kind = "system"
description = "dx/dt = -x + x^3: x = 0 is stable with basin |x| < 1."
model = "dx/dt = (-x + x**3)/tau : 1"
time_unit = "tau"
[parameters]
tau = { unit = "ms" }
[initial]
x = "0.1"
[ranges]
x = ["-2", "2"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { tau = "1 ms" }
'''


def test_candidate_x2_plus_y2_for_y_minus_x3_has_derivative_minus_2x4(catalog_path):
    import sympy

    from biodyn.dynamics import check_lyapunov_function

    field = read(_spec(catalog_path, "cubic", CUBIC))
    r = check_lyapunov_function(field, "x**2 + y**2", samples=500)
    x = sympy.Symbol("x", real=True)
    assert sympy.sympify(r.Vdot, locals={"x": x}) - (-2 * x ** 4) == 0   # exactly
    assert r.symbolic == "nonpositive"
    np.testing.assert_allclose(r.derivative, -2 * r.samples[:, 0] ** 4, rtol=1e-12, atol=1e-300)
    assert r.fractions["positive"] == 0 and r.fractions["negative"] > 0.99
    on_axis = check_lyapunov_function(field, "x**2 + y**2", samples=np.array([[0.0, 0.3], [0.0, -1.0]]))
    assert list(on_axis.sign) == [0, 0]                                  # dV/dt = 0 on x = 0


def test_duffing_energy_is_a_lyapunov_function_with_derivative_minus_delta_y2():
    from biodyn.dynamics import check_lyapunov_function

    field = read("duffing", overrides={"gamma": "0"})
    r = check_lyapunov_function(field, "y**2/2 - x**2/2 + x**4/4", samples=300)
    assert r.Vdot == "-y**2/4" and r.symbolic == "nonpositive"         # delta = 0.25
    # parameters and units may appear in the candidate, valued in SI
    r2 = check_lyapunov_function(field, "(y**2/2 - x**2/2 + x**4/4) * tau/ms", samples=50)
    assert r2.Vdot == "-y**2/4"


def test_candidate_errors_name_the_flag_and_suggest(catalog_path):
    from biodyn.dynamics import check_lyapunov_function
    from biodyn.errors import SpecError

    field = read(_spec(catalog_path, "cubic", CUBIC))
    with pytest.raises(SpecError, match="--candidate.*'xx'"):
        check_lyapunov_function(field, "xx**2 + y**2")
    with pytest.raises(SpecError, match="--candidate"):
        check_lyapunov_function(field, "x**2 +* y")
    with pytest.raises(SpecError, match="depends on the state"):
        check_lyapunov_function(field, "tau/ms")


def test_quadratic_certificate_solves_the_lyapunov_equation_and_finds_the_basin_of_x_minus_x3(catalog_path):
    from biodyn.dynamics import quadratic_lyapunov

    field = read(_spec(catalog_path, "bist", BISTABLE1))
    q = quadratic_lyapunov(field, np.zeros(1), samples=4000)
    # A = -1 in x, D = 4 (the box): A^T P + P A = -1 -> P = 1/2, V = x^2/32
    np.testing.assert_allclose(q.P, [[0.5]], rtol=1e-12)
    assert q.extra["lyapunov_equation_residual"] < 1e-12
    # dV/dt = x (-x + x^3)/16 < 0 exactly for 0 < |x| < 1: the level set is |x| < 1
    assert np.sqrt(32 * q.level) == pytest.approx(1.0, abs=1e-6)   # sampled, then refined
    assert q.extra["level_limited_by"] == "samples"


def test_quadratic_certificate_of_a_stable_linear_system_covers_the_box(catalog_path):
    from biodyn.dynamics import quadratic_lyapunov
    from biodyn.errors import BiodynError

    field = read(_spec(catalog_path, "lin2", LINEAR2), overrides={"a": "-1", "b": "2", "d": "-3"})
    q = quadratic_lyapunov(field, np.zeros(2), samples=2000)
    A = field.jacobian(np.zeros(2)) * (q.scale[None, :] / q.scale[:, None])
    np.testing.assert_allclose(A.T @ q.P + q.P @ A, -np.eye(2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(q.P) > 0)
    assert q.fractions["positive"] == 0 and q.extra["level_limited_by"] == "box"
    with pytest.raises(BiodynError, match="not a hyperbolic attractor"):
        quadratic_lyapunov(read("lin2"), np.zeros(2))       # the saddle


def test_cli_lyapunov_function_candidate_and_certificate(catalog_path, tmp_path, capsys):
    from biodyn.cli import main

    _spec(catalog_path, "cubic", CUBIC)
    _spec(catalog_path, "bist", BISTABLE1)
    js = tmp_path / "v.json"
    assert main(["analyze", "lyapunov-function", "cubic", "--candidate", "x**2 + y**2", "--samples", "400",
                 "--out", str(tmp_path), "--json", str(js)]) == 0
    printed = capsys.readouterr().out
    assert "dV/dt = -2*x**4" in printed and "nonpositive" in printed
    d = json.loads(js.read_text())
    assert d["analysis"] == "lyapunov-function" and d["Vdot"] == "-2*x**4" and d["fractions"]["positive"] == 0
    assert len(d["samples"]["x"]) == 400 and Path(d["files"]["figure"]).exists()
    assert main(["-q", "plot", str(js), "--out", str(tmp_path / "re.png")]) == 0
    js2 = tmp_path / "q.json"
    assert main(["-q", "analyze", "lyapunov-function", "bist", "--out", str(tmp_path), "--json", str(js2)]) == 0
    d2 = json.loads(js2.read_text())
    (c,) = d2["certificates"]
    assert np.sqrt(32 * c["region_of_attraction"]["level"]) == pytest.approx(1.0, abs=1e-6)
    assert main(["-q", "analyze", "lyapunov-function", "cubic", "--candidate", "x**2 + z**2",
                 "--out", str(tmp_path)]) == 2
    assert "--candidate" in capsys.readouterr().err


def test_box_of_a_neuron_takes_ranges_with_units_and_states_print_in_mv(tmp_path, capsys):
    from biodyn.cli import main
    from biodyn.errors import SpecError
    from biodyn.jobs import state_box

    field = read("adex")
    lo, hi = state_box(field, {"v": ("-90 mV", "-50 mV"), "w": ("-200 pA", "200 pA")})
    np.testing.assert_allclose([lo[0], hi[0], lo[1], hi[1]], [-0.09, -0.05, -2e-10, 2e-10], rtol=1e-12)
    with pytest.raises(SpecError, match="--range v"):
        state_box(field, {"v": ("-90 ms", "-50 mV")})
    assert main(["analyze", "lyapunov-function", "adex", "--range", "v", "-90 mV", "-50 mV", "--range", "w",
                 "-200 pA", "200 pA", "--samples", "300", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "v = -70.5999 mV" in out and " pA" in out


BAUTIN = '''
kind = "system"
description = "Subcritical Hopf normal form with quintic saturation: dr/dt = r (mu + r^2 - r^4)."
model = """
dx/dt = (x*(mu + (x**2 + y**2) - (x**2 + y**2)**2) - y)/tau : 1
dy/dt = (y*(mu + (x**2 + y**2) - (x**2 + y**2)**2) + x)/tau : 1
"""
time_unit = "tau"
[parameters]
mu = { unit = "1" }
tau = { unit = "ms" }
[initial]
x = "0.9"
y = "0"
[ranges]
x = ["-1.2", "1.2"]
y = ["-1.2", "1.2"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { mu = "-0.2", tau = "1 ms" }
'''


def test_basins_of_a_stable_point_and_a_stable_cycle_are_split_by_the_unstable_cycle(catalog_path):
    from biodyn.dynamics import basins

    field = read(_spec(catalog_path, "bautin", BAUTIN))
    b = basins(field, samples=600, seed=3, dt=0.01, duration=60.0, confidence=0.99)
    r_u = np.sqrt((1 - np.sqrt(1 - 4 * 0.2)) / 2)     # unstable cycle: r^2 = (1 -+ sqrt(1 + 4 mu))/2
    r_s = np.sqrt((1 + np.sqrt(1 - 4 * 0.2)) / 2)     # stable cycle
    kinds = sorted(a["kind"] for a in b.attractors)
    assert kinds == ["bounded", "fixed point"]
    (origin,) = [j for j, a in enumerate(b.attractors) if a["kind"] == "fixed point"]
    (cycle,) = [j for j, a in enumerate(b.attractors) if a["kind"] == "bounded"]
    np.testing.assert_allclose(b.attractors[cycle]["range"], [[-r_s, r_s], [-r_s, r_s]], atol=5e-3)
    r0 = np.linalg.norm(b.starts, axis=1)
    clear = np.abs(r0 - r_u) > 0.01
    assert np.all(b.labels[clear & (r0 < r_u)] == origin) and np.all(b.labels[clear & (r0 > r_u)] == cycle)
    lo, hi = b.attractors[origin]["interval"]
    assert lo < np.pi * r_u ** 2 / 2.4 ** 2 < hi                 # the disc's share of the box


# --------------------------------------------------------------------------
# Objectives of gradient flows are Lyapunov functions
# --------------------------------------------------------------------------


def test_hebb_decay_objective_is_a_lyapunov_function_of_its_flow():
    from biodyn import build
    from biodyn.flow import GaussianRates, Scenario, averaged_field, check_objective, objective_for

    mu = np.array([0.3, -0.2])
    C = np.array([[1.0, 0.3], [0.3, 0.5]])
    resolved = build.resolve("hebb", "with_decay")
    neuron = build.resolve("rate", variants={"dynamics": "instantaneous", "gain": "linear"})
    sc = Scenario("test", resolved, "rate", GaussianRates(mu, C), {"neuron": neuron}, np.zeros((1, 2)),
                  (np.full(2, -1.5), np.full(2, 1.5)))
    field = averaged_field(sc)
    obj = objective_for(field)
    W = np.random.default_rng(5).uniform(-1.5, 1.5, (200, 2))
    check = check_objective(field, obj, W)
    # f = grad L exactly: dV/dt = -|grad L|^2 < 0 away from the fixed point
    assert check.lyapunov == {"negative": 1.0, "zero": 0.0, "positive": 0.0}
    # a claimed objective with the wrong sign is refuted the same way
    from dataclasses import replace

    wrong = check_objective(field, replace(obj, sign=-obj.sign), W)
    assert wrong.lyapunov["positive"] == 1.0


def test_candidate_units_are_checked_and_dvdt_reported_in_v_units_per_second():
    from biodyn.dynamics import check_lyapunov_function
    from biodyn.errors import SpecError

    field = read("adex")
    r = check_lyapunov_function(field, "(v - E_L)**2 + (w*ohm)**2", samples=20)
    assert r.extra["V_unit"] == "volt2" and r.extra["Vdot_unit"] == "volt2/s"
    assert check_lyapunov_function(field, "((v - E_L)/mV)**2 + (w/pA)**2", samples=5).extra["V_unit"] == "1"
    for bad, what in [("v + w", "v in volt added to w in amp"), ("exp(v)", "argument of exp"),
                      ("(v/mV)**(w)", "dimensionless exponent"), ("(v - E_L)**2/mV + w", "added to")]:
        with pytest.raises(SpecError, match="--candidate") as exc:
            check_lyapunov_function(field, bad, samples=5)
        assert what in str(exc.value) and repr(bad) in str(exc.value)
    # an abstract system: dV/dt per its time unit tau = 1 ms, i.e. x 1000 per second
    duff = read("duffing", overrides={"gamma": "0"})
    r = check_lyapunov_function(duff, "y**2/2 - x**2/2 + x**4/4", samples=5)
    assert r.extra["Vdot_unit"] == "1 per tau (1 ms)" and r.extra["Vdot_per_second"] == pytest.approx(1000.0)


def test_basins_refuse_a_box_whose_time_step_would_need_millions_of_steps_instead_of_hanging():
    import time

    from biodyn.dynamics import basins
    from biodyn.errors import BiodynError

    field = read("adex")   # no [ranges]: the default box reaches v = +0.9 V, where exp(...) explodes
    t0 = time.perf_counter()
    with pytest.raises(BiodynError, match=r"--range VAR LO HI"):
        basins(field, samples=20)
    assert time.perf_counter() - t0 < 30


def test_basins_in_many_dimensions_report_bounded_states_together_instead_of_an_orbit_each():
    from biodyn.dynamics import basins

    field = read("lorenz96", overrides={"N": "12"})       # chaotic for F = 8
    b = basins(field, samples=6, duration=5.0, dt=0.01)
    d = b.as_dict(field)
    (att,) = [a for a in d["attractors"] if a["kind"] == "bounded"]
    assert "not separated in more than 10 dimensions" in att["type"] and att["count"] == 6
