"""Classification of fixed points (every trace-determinant class) and continuation: normal
forms bifurcate at their known parameter values, maps fold and period-double where theory says."""

import numpy as np
import pytest

from biodyn import dynamics
from biodyn.spec import from_dict


def planar(a, b, c, d):
    """dx/dt = a x + b y, dy/dt = c x + d y as a spec (parameters a..d), read as a field."""
    data = {"kind": "system", "description": "planar linear system",
            "model": "dx/dt = (a*x + b*y)/tau : 1\ndy/dt = (c*x + d*y)/tau : 1",
            "time_unit": "tau",
            "parameters": {"a": "1", "b": "1", "c": "1", "d": "1", "tau": "ms"},
            "parameter_sets": {"default": {"values": {"a": repr(a), "b": repr(b), "c": repr(c),
                                                      "d": repr(d), "tau": "1 ms"}}},
            "initial": {"x": "0.5", "y": "-0.3"}}
    return dynamics.read(from_dict(data, "planar"))


# (matrix, class) over the trace-determinant plane (Strogatz 2015, Fig. 5.2.8)
PLANAR = [
    ((1, 2, 3, -1), "saddle"),                     # det < 0
    ((-2, 0, 0, -1), "stable node"),               # tr < 0, tr^2 > 4 det
    ((2, 1, 0, 3), "unstable node"),               # tr > 0, tr^2 > 4 det
    ((-1, -3, 3, -1), "stable focus"),             # tr < 0, tr^2 < 4 det
    ((0.5, -2, 2, 0.5), "unstable focus"),         # tr > 0, tr^2 < 4 det
    ((0, -1, 4, 0), "centre"),                     # tr = 0, det > 0
    ((-1, 1, 0, -1), "stable node"),               # tr^2 = 4 det: degenerate node
    ((-3, 0, 0, -3), "stable node"),               # star
    ((1, 0, 0, 0), "non-hyperbolic"),              # det = 0: a line of fixed points
]


@pytest.mark.parametrize("matrix, kind", PLANAR)
def test_every_trace_determinant_class_of_planar_linear_systems_is_classified(matrix, kind):
    A = np.array(matrix, float).reshape(2, 2)
    assert dynamics.classify(np.linalg.eigvals(A))[0] == kind
    if kind == "non-hyperbolic":
        return  # a continuum of fixed points: the origin is one of them, see below
    F = planar(*matrix)
    (fp,) = dynamics.find_fixed_points(F)
    assert fp.type == kind and fp.stable == kind.startswith("stable")
    np.testing.assert_allclose(fp.state, [0, 0], atol=1e-12)
    np.testing.assert_allclose(np.sort_complex(fp.eigenvalues), np.sort_complex(np.linalg.eigvals(A)),
                               atol=1e-12)


def test_line_of_equilibria_is_non_hyperbolic_everywhere():
    F = planar(1, 0, 0, 0)  # dy/dt = 0: the y axis is a line of fixed points
    fps = dynamics.find_fixed_points(F)
    assert fps and all(fp.type == "non-hyperbolic" and not fp.stable for fp in fps)
    assert all(abs(fp.state[0]) < 1e-12 for fp in fps)


def test_map_multipliers_are_classified_against_the_unit_circle():
    assert dynamics.classify([0.5, -0.2], is_map=True) == ("stable node", True)
    assert dynamics.classify([0.5 + 0.5j, 0.5 - 0.5j], is_map=True) == ("stable focus", True)
    assert dynamics.classify([2.0, 0.3], is_map=True) == ("saddle", False)
    assert dynamics.classify([-1.5, 1.2], is_map=True) == ("unstable node", False)
    assert dynamics.classify([np.exp(0.3j), np.exp(-0.3j)], is_map=True) == ("centre", False)
    assert dynamics.classify([1.0, 0.5], is_map=True) == ("non-hyperbolic", False)


def points(result, kind):
    return [p for p in result.points if p.type == kind]


def test_saddle_node_normal_form_folds_at_zero():
    c = dynamics.continuation(dynamics.read("saddle_node"), "r", -1, 1)
    (fold,) = points(c, "fold")
    assert abs(fold.value) < 1e-6 and abs(fold.state[0]) < 1e-4
    assert not points(c, "branch") and not points(c, "hopf")


def test_pitchfork_normal_form_has_a_branch_point_at_zero_and_switches_onto_the_parabola():
    c = dynamics.continuation(dynamics.read("pitchfork"), "r", -1, 1)
    (bp,) = points(c, "branch")
    assert abs(bp.value) < 1e-6 and abs(bp.state[0]) < 1e-6
    assert not points(c, "fold")  # the turning of r on the parabola is the branch point itself
    on_parabola = [(r, x) for b in c.branches for r, x in zip(b.values, b.states[:, 0]) if abs(x) > 0.2]
    assert on_parabola and all(abs(x * x - r) < 1e-8 for r, x in on_parabola)  # x = +-sqrt(r)
    trivial = [b for b in c.branches if np.all(np.abs(b.states[:, 0]) < 1e-9)]
    assert trivial and all(s == (r < 0) for b in trivial for r, s in zip(b.values, b.stable)
                           if abs(r) > 1e-3)


def test_hopf_normal_form_and_van_der_pol_have_hopf_points_at_zero():
    for model, param in (("hopf", "mu"), ("van_der_pol", "mu")):
        c = dynamics.continuation(dynamics.read(model), param, -1, 1)
        (h,) = points(c, "hopf")
        assert abs(h.value) < 1e-6
        pair = h.eigenvalues[np.argsort(np.abs(h.eigenvalues.real))[:2]]
        assert np.allclose(pair.real, 0, atol=1e-6) and np.allclose(np.abs(pair.imag), 1.0, atol=1e-6)


def test_lorenz_hopf_points_at_the_closed_form_rho():
    c = dynamics.continuation(dynamics.read("lorenz"), "rho", 0, 30)
    sigma, beta = 10.0, 8.0 / 3.0
    rho_h = sigma * (sigma + beta + 3) / (sigma - beta - 1)
    hopfs = points(c, "hopf")
    assert len(hopfs) == 2 and all(abs(h.value - rho_h) < 1e-5 for h in hopfs)  # C+ and C-
    (bp,) = points(c, "branch")
    assert abs(bp.value - 1.0) < 1e-6  # the pitchfork of the origin at rho = 1


def test_logistic_map_branches_at_one_and_period_doubles_at_three():
    c = dynamics.continuation(dynamics.read("logistic"), "r", 0.5, 3.5)
    (bp,) = points(c, "branch")
    (pd,) = points(c, "period_doubling")
    assert abs(bp.value - 1.0) < 1e-6 and abs(pd.value - 3.0) < 1e-6
    assert pd.state[0] == pytest.approx(1 - 1 / 3.0, abs=1e-6)
    assert np.min(np.abs(pd.eigenvalues + 1)) < 1e-5


def test_henon_map_folds_and_period_doubles_at_the_closed_form_values():
    b = 0.3
    c = dynamics.continuation(dynamics.read("henon"), "a", -0.5, 1.4)
    (fold,) = points(c, "fold")
    (pd,) = points(c, "period_doubling")
    assert fold.value == pytest.approx(-(1 - b) ** 2 / 4, abs=1e-6)
    assert pd.value == pytest.approx(3 * (1 - b) ** 2 / 4, abs=1e-6)


def test_wilson_cowan_hysteresis_folds_bracket_the_bistable_set():
    c = dynamics.continuation(dynamics.read("wilson_cowan", params="bistable"), "P", -1, 1)
    folds = sorted(p.value for p in points(c, "fold"))
    assert len(folds) == 2 and folds[0] < 0 < folds[1]  # P = 0 (the set) lies between them


def test_continuation_in_a_parameter_with_units():
    F = dynamics.read("lif")
    c = dynamics.continuation(F, "I", 0, 300e-12)  # a model variable: SI (amp)
    (b,) = c.branches
    np.testing.assert_allclose(b.states[:, 0], -65e-3 + 10e6 * b.values, atol=1e-9)
    assert c.unit == "amp" and not c.points


def test_hodgkin_huxley_rest_loses_stability_in_a_hopf_at_9_78_uA_per_cm2():
    # Hassard (1978): subcritical Hopf of the HH rest state at I = 9.78 uA/cm^2 (6.3 C)
    F = dynamics.read("hodgkin_huxley")
    c = dynamics.continuation(F, "I", 0.05, 0.15)  # A/m^2 (SI): 5 to 15 uA/cm^2
    (h,) = points(c, "hopf")
    assert h.value * 100 == pytest.approx(9.78, abs=0.01)  # A/m^2 -> uA/cm^2
    (b,) = c.branches
    assert b.stable[b.values < h.value - 1e-3].all() and not b.stable[b.values > h.value + 1e-3].any()


LOGISTIC2 = {"kind": "map", "description": "second iterate of the logistic map",
             "model": "x_next = r*(r*x*(1 - x))*(1 - r*x*(1 - x)) : 1\nx : 1",
             "parameters": {"r": "1"}, "parameter_sets": {"default": {"values": {"r": "3.2"}}},
             "initial": {"x": "0.3"}, "ranges": {"x": ["0", "1"]}}


@pytest.mark.parametrize("lo,hi,max_ds", [(2.8, 3.2, None), (2.5, 3.55, None), (2.0, 3.05, 0.05),
                                          (2.5, 3.2, 0.1), (2.95, 3.01, 0.01), (2.99, 3.55, 0.01)])
def test_branch_point_of_the_second_logistic_iterate_at_3_whatever_the_range_and_step(lo, hi, max_ds):
    # F^2 has a pitchfork at r = 3: the fixed point 1 - 1/r (multiplier (2 - r)^2 = 1) meets the
    # period-2 orbit. With --range 2.5 3.55 it was missed (and reported as a fold for some steps)
    F = dynamics.read(from_dict(LOGISTIC2, "logistic2"))
    res = dynamics.continuation(F, "r", lo, hi, max_ds=max_ds, ds=None if max_ds is None else max_ds / 2)
    (bp,) = [p for p in res.points if p.type == "branch"]
    assert bp.value == pytest.approx(3.0, abs=1e-5) and bp.state[0] == pytest.approx(2 / 3, abs=1e-4)
    assert not any(p.type == "fold" for p in res.points)
    pd = sorted(p.state[0] for p in res.points if p.type == "period_doubling")
    if hi > 3.45:   # F^2's own period doubling at 1 + sqrt(6), on both period-2 points
        assert len(pd) == 2 and all(p.value == pytest.approx(1 + 6 ** 0.5, abs=1e-5)
                                    for p in res.points if p.type == "period_doubling")


def test_cli_bifurcation_finds_the_branch_point_with_either_range(tmp_path):
    import json

    from biodyn.cli import main

    spec = tmp_path / "logistic2.toml"
    spec.write_text('kind = "map"\ndescription = "second iterate of the logistic map"\n'
                    'model = """\nx_next = r*(r*x*(1 - x))*(1 - r*x*(1 - x)) : 1\nx : 1\n"""\n'
                    '[parameters]\nr = "1"\n[initial]\nx = "0.3"\n[ranges]\nx = ["0", "1"]\n'
                    '[parameter_sets.default]\nvalues = { r = "3.2" }\n')
    for lo, hi in (("2.8", "3.2"), ("2.5", "3.55")):
        js = tmp_path / f"b{lo}.json"
        rc = main(["-q", "analyze", "bifurcation", str(spec), "--param", "r", "--range", lo, hi,
                   "--out", str(tmp_path), "--json", str(js)])
        assert rc == 0
        pts = [p for p in json.loads(js.read_text())["points"] if p["type"] == "branch"]
        assert len(pts) == 1 and pts[0]["value"] == pytest.approx(3.0, abs=1e-5)


def test_lif_rest_branch_ends_at_threshold_at_the_rheobase_current():
    # E_L + R I = v_th at I = (v_th - E_L)/R = 15 mV / 10 Mohm = 1.5 nA; above it the root of
    # the subthreshold flow lies above threshold: no rest state, the neuron fires. It was drawn
    # as a stable branch with no special point.
    F = dynamics.read("lif")
    res = dynamics.continuation(F, "I", 0.0, 3e-9)
    (pt,) = [p for p in res.points if p.type == "threshold"]
    assert pt.value == pytest.approx(1.5e-9, rel=1e-6) and pt.state[0] == pytest.approx(-0.05, rel=1e-6)
    (b,) = res.branches
    assert np.all(b.stable[b.values < 1.49e-9]) and not np.any(b.stable[b.values > 1.51e-9])
    assert any("fires" in n for n in res.notes)
