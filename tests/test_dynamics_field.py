"""Specs read as vector fields: Jacobians derived from the equations equal analytic ones,
couplings and connectivity are the declared ones, the numpy field is what Brian2 integrates."""

import numpy as np
import pytest

from biodyn import dynamics
from biodyn.errors import BiodynError, SpecError
from biodyn.spec import from_dict


def wilson_cowan_reference(E, I, p):
    """Wilson & Cowan (1972) right-hand side and Jacobian, written out by hand (per tau)."""
    def S(x, a, th):
        return 1 / (1 + np.exp(-a * (x - th))) - 1 / (1 + np.exp(a * th))

    def dS(x, a, th):
        s = 1 / (1 + np.exp(-a * (x - th)))
        return a * s * (1 - s)

    xe = p["c1"] * E - p["c2"] * I + p["P"]
    xi = p["c3"] * E - p["c4"] * I + p["Q"]
    ke = 1 - 1 / (1 + np.exp(p["a_e"] * p["theta_e"]))
    ki = 1 - 1 / (1 + np.exp(p["a_i"] * p["theta_i"]))
    Se, Si = S(xe, p["a_e"], p["theta_e"]), S(xi, p["a_i"], p["theta_i"])
    dSe, dSi = dS(xe, p["a_e"], p["theta_e"]), dS(xi, p["a_i"], p["theta_i"])
    f = np.array([-E + (ke - E) * Se, -I + (ki - I) * Si])
    J = np.array([[-1 - Se + (ke - E) * dSe * p["c1"], (ke - E) * dSe * (-p["c2"])],
                  [(ki - I) * dSi * p["c3"], -1 - Si + (ki - I) * dSi * (-p["c4"])]])
    return f, J


WC_LIMIT_CYCLE = dict(c1=16, c2=12, c3=15, c4=3, a_e=1.3, theta_e=4, a_i=2, theta_i=3.7, P=1.25, Q=0)
WC_BISTABLE = dict(c1=12, c2=4, c3=13, c4=11, a_e=1.2, theta_e=2.8, a_i=1, theta_i=4, P=0, Q=0)


def test_wilson_cowan_field_and_jacobian_derived_from_spec_equal_the_analytic_ones():
    F = dynamics.read("wilson_cowan")
    assert F.names == ["E", "I"] and F.time_unit_text.startswith("tau")
    rng = np.random.default_rng(0)
    for E, I in rng.uniform(0, 0.5, size=(5, 2)):
        f_ref, J_ref = wilson_cowan_reference(E, I, WC_LIMIT_CYCLE)
        np.testing.assert_allclose(F.f(np.array([E, I])), f_ref, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(F.jacobian(np.array([E, I])), J_ref, rtol=1e-12, atol=1e-14)


def test_wilson_cowan_bistable_set_has_two_stable_states_and_a_saddle():
    F = dynamics.read("wilson_cowan", params="bistable")
    fps = dynamics.find_fixed_points(F)
    assert [fp.type for fp in fps] == ["stable node", "saddle", "stable node"]
    for fp in fps:  # fixed points of the hand-written equations too
        f_ref, J_ref = wilson_cowan_reference(*fp.state, WC_BISTABLE)
        assert np.max(np.abs(f_ref)) < 1e-10
        np.testing.assert_allclose(np.sort(np.linalg.eigvals(J_ref).real), np.sort(fp.eigenvalues.real),
                                   rtol=1e-8)
    np.testing.assert_allclose(fps[0].state, [0, 0], atol=1e-12)  # S(0) = 0: the quiescent state


def test_lif_subthreshold_fixed_point_is_rest_plus_RI_with_eigenvalue_minus_one_over_tau():
    F = dynamics.read("lif", overrides={"I": "150 pA"})
    (fp,) = dynamics.find_fixed_points(F)
    assert fp.state[0] == pytest.approx(-65e-3 + 10e6 * 150e-12, rel=1e-9)  # E_L + R I (V)
    assert fp.eigenvalues[0].real == pytest.approx(-1 / 10e-3, rel=1e-9)     # per second
    assert fp.type == "stable node" and F.units == ["volt"]


def test_field_of_a_rate_plasticity_rule_needs_its_partner_variables():
    with pytest.raises(SpecError, match="r_post"):
        dynamics.read("oja", overrides={"r_pre": "1"})
    F = dynamics.read("oja", overrides={"r_pre": "1", "r_post": "0.5"})
    (fp,) = dynamics.find_fixed_points(F)
    assert fp.state[0] == pytest.approx(2.0)      # w* = r_pre / r_post


def test_rate_rnn_couplings_are_gaussian_with_variance_g2_over_N_without_autapses():
    plan = dynamics.make_plan("rate_rnn", overrides={"N": "300", "g": "1.5"})
    (cp,) = plan.couplings
    assert len(cp.i) == 300 * 299 and not np.any(cp.i == cp.j)
    w = cp.weights["w"]
    assert abs(w.mean()) < 5 * 1.5 / 300 / np.sqrt(len(w)) * np.sqrt(300)
    assert w.var() * 300 == pytest.approx(1.5 ** 2, rel=0.02)
    again = dynamics.make_plan("rate_rnn", overrides={"N": "300", "g": "1.5"}, seed=99).couplings[0]
    np.testing.assert_array_equal(again.weights["w"], w)  # the spec's seed parameter, not the run's
    other = dynamics.make_plan("rate_rnn", overrides={"N": "300", "g": "1.5", "seed": "2"}).couplings[0]
    assert not np.allclose(other.weights["w"], w)


def test_rate_rnn_jacobian_is_minus_identity_plus_W_sech2_and_jvp_never_forms_it():
    F = dynamics.read("rate_rnn", overrides={"N": "40"})
    cp = F.plan.couplings[0]
    W = np.zeros((40, 40))
    np.add.at(W, (cp.j, cp.i), cp.weights["w"])
    h = F.x0()
    J_ref = -np.eye(40) + W * (1 - np.tanh(h) ** 2)[None, :]
    np.testing.assert_allclose(F.jacobian(h), J_ref, atol=1e-13)          # per tau
    np.testing.assert_allclose(F.f(h), -h + W @ np.tanh(h), atol=1e-13)
    Q = np.random.default_rng(1).standard_normal((40, 7))
    np.testing.assert_allclose(F.jvp(h, Q), J_ref @ Q, atol=1e-12)
    D = dynamics.read("rate_rnn", overrides={"N": "40"}, variants={"time": "discrete"})
    assert D.is_map and D.time_unit_text == "iteration"
    np.testing.assert_allclose(D.f(h), W @ np.tanh(h), atol=1e-13)        # h <- J tanh(h)


def test_lorenz96_neighbour_couplings_give_the_ring_equation():
    F = dynamics.read("lorenz96", overrides={"N": "9", "F": "8"})
    x = np.random.default_rng(2).standard_normal(9) + 8
    ref = (np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + 8
    np.testing.assert_allclose(F.f(x), ref, atol=1e-12)
    (fp,) = [fp for fp in dynamics.find_fixed_points(F) if np.allclose(fp.state, 8)]
    assert fp.type == "saddle"  # x_i = F is unstable at F = 8


def test_brunel_mean_field_fixed_point_is_the_self_consistent_siegert_rate():
    from scipy.integrate import quad
    from scipy.special import erf

    F = dynamics.read("brunel_2000")  # a spiking population: read as its mean field
    assert F.plan.reading == "mean_field" and F.names == ["nu_E", "nu_I"]
    (fp,) = dynamics.find_fixed_points(F)
    nu = fp.state[0]
    assert fp.state[1] == pytest.approx(nu, rel=1e-9)  # model A: identical populations
    J, tau, theta, Vr, trp, CE, g, gamma = 0.1e-3, 20e-3, 20e-3, 10e-3, 2e-3, 1000, 5.0, 0.25
    nu_ext = 2 * theta / (J * CE * tau)
    mu = CE * J * tau * (nu_ext + nu * (1 - gamma * g))
    sigma = J * np.sqrt(CE * tau * (nu_ext + nu * (1 + gamma * g ** 2)))
    integral = quad(lambda u: np.exp(u ** 2) * (1 + erf(u)), (Vr - mu) / sigma, (theta - mu) / sigma)[0]
    assert nu == pytest.approx(1 / (trp + tau * np.sqrt(np.pi) * integral), rel=1e-7)


def test_siegert_partial_derivatives_match_finite_differences():
    from biodyn.dynamics._functions import FUNCTIONS

    fn = FUNCTIONS["siegert_lif"]
    args = np.array([15e-3, 4e-3, 20e-3, 20e-3, 10e-3, 2e-3])
    for k, d in enumerate(fn.derivatives):
        h = 1e-6 * abs(args[k])
        up, dn = args.copy(), args.copy()
        up[k] += h
        dn[k] -= h
        fd = (fn.numpy_impl(*up) - fn.numpy_impl(*dn)) / (2 * h)
        assert float(d(*args)) == pytest.approx(float(fd), rel=1e-5)


def test_brunel_network_has_fixed_in_degrees_and_shared_poisson_drive():
    plan = dynamics.make_plan("brunel_2000", reading="network",
                              overrides={"N_E": "400", "epsilon": "0.2"})
    sizes = {g.name: g.size for g in plan.groups}
    assert sizes == {"E": 400, "I": 100} and plan.spiking
    by = {cp.name: cp for cp in plan.couplings}
    for name, c in (("excitatory_E", 80), ("excitatory_I", 80), ("inhibitory_E", 20), ("inhibitory_I", 20)):
        counts = np.bincount(by[name].j, minlength=sizes[name.split("_")[1]])
        assert np.all(counts == c)
    (inp,) = plan.inputs
    assert inp.count == 80 and inp.rate == pytest.approx(2 * 20e-3 / (0.1e-3 * 80 * 20e-3))


def test_lorenz_field_is_what_brian2_integrates():
    r = dynamics.simulate("lorenz", 1.0, dt=0.01)            # Brian2, numpy target, rk4
    F = dynamics.read("lorenz")
    t, X = dynamics.trajectory(F, F.x0(), 1.0, 0.01)         # numpy RK4 on the derived field
    n = min(len(r.times), len(t))
    for k, var in enumerate("xyz"):
        np.testing.assert_allclose(r.states["units"][var][:n, 0], X[:n, k], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(r.times[:n], t[:n] * 1e-3, atol=1e-12)  # tau = 1 ms


def test_henon_map_runs_in_brian2_as_simultaneous_updates():
    r = dynamics.simulate("henon", 20)
    x, y = 0.1, 0.1
    for k in range(20):
        assert r.states["units"]["x"][k, 0] == pytest.approx(x, abs=1e-12)
        x, y = 1 - 1.4 * x * x + y, 0.3 * x


def test_forced_duffing_has_no_fixed_points_and_says_so():
    F = dynamics.read("duffing", params="forced")
    assert not F.autonomous
    with pytest.raises(BiodynError, match="forcing"):
        dynamics.find_fixed_points(F)
    assert dynamics.read("duffing").autonomous  # gamma = 0: the forcing term vanishes


def test_map_spec_without_state_declaration_is_a_clear_error():
    data = {"kind": "map", "description": "bad", "model": "x_next = 2*x : 1"}
    with pytest.raises(SpecError, match="x : 1"):
        from_dict(data, "bad_map")


QIF_README = '''kind = "neuron"
description = "Quadratic integrate-and-fire neuron (Ermentrout & Kopell 1986)."
model = """
dv/dt = (k*(v - v_r)*(v - v_t) + I) / C : volt
I : amp
"""
threshold = "v > v_peak"
reset = "v = v_reset"
method = "euler"

[parameters]
k = "nS/mV"
v_r = "mV"
v_t = "mV"
C = "pF"
v_peak = "mV"
v_reset = "mV"

[citations.ek1986]
authors = "Ermentrout GB, Kopell N"
year = 1986
journal = "SIAM J Appl Math 46:233-253"
doi = "10.1137/0146017"

[parameter_sets.default]
citation = "ek1986"
values = { k = "0.7 nS/mV", v_r = "-60 mV", v_t = "-40 mV", C = "100 pF", v_peak = "35 mV", v_reset = "-50 mV" }
'''


@pytest.fixture
def qif_path(tmp_path):
    """The README's quadratic integrate-and-fire spec (rheobase k (v_t - v_r)^2 / 4 = 70 pA)."""
    p = tmp_path / "quadratic_if.toml"
    p.write_text(QIF_README)
    return str(p)


def test_quadratic_if_below_rheobase_has_the_two_closed_form_roots(qif_path):
    # k (v - v_r)(v - v_t) + I = 0: v = -50 mV -+ sqrt(100 mV^2 - I/k)
    F = dynamics.read(qif_path, overrides={"I": "10 pA"})
    fps = dynamics.find_fixed_points(F)
    half = np.sqrt(100.0 - 10.0 / 0.7) * 1e-3
    np.testing.assert_allclose([fp.state[0] for fp in fps], [-0.05 - half, -0.05 + half], rtol=1e-10)
    assert [fp.type for fp in fps] == ["stable node", "unstable node"]


def test_quadratic_if_above_rheobase_has_no_fixed_point_not_the_vertex_of_its_parabola(qif_path):
    # at I = 100 pA, |f| >= (I - 70 pA)/C = 0.3 V/s everywhere; its minimum (v = -50 mV) is
    # no root: it was reported as an "unstable node" with residual 0.30 V/s
    F = dynamics.read(qif_path, overrides={"I": "100 pA"})
    assert dynamics.find_fixed_points(F, include_excluded=True) == []
    vertex = np.array([-0.05])
    assert dynamics.relative_residual(F, vertex) == pytest.approx(0.3 / 70.3, rel=1e-6)


def test_a_root_where_every_term_vanishes_is_still_a_fixed_point():
    # the pitchfork at r = 0 (dx/dt = -x^3): its only root is degenerate
    (fp,) = dynamics.find_fixed_points(dynamics.read("pitchfork", overrides={"r": "0"}))
    assert abs(fp.state[0]) < 1e-6
    (fp,) = dynamics.find_fixed_points(dynamics.read("saddle_node", overrides={"r": "0"}))
    assert abs(fp.state[0]) < 1e-6 and fp.type == "non-hyperbolic"


def test_lif_root_above_threshold_is_excluded_with_its_reason():
    # R I = 30 mV: the subthreshold flow rests at -35 mV, 15 mV above v_th = -50 mV
    F = dynamics.read("lif", overrides={"I": "3 nA"})
    assert F.resets
    assert dynamics.find_fixed_points(F) == []
    (root,) = dynamics.find_fixed_points(F, include_excluded=True)
    assert root.state[0] == pytest.approx(-0.035, rel=1e-12)
    assert "v > v_th" in root.excluded and "v_th = -50 mV" in root.excluded
    # below threshold (R I = 10 mV) the same root is a fixed point
    (fp,) = dynamics.find_fixed_points(dynamics.read("lif", overrides={"I": "1 nA"}))
    assert fp.state[0] == pytest.approx(-0.055, rel=1e-12) and not fp.excluded


def test_a_threshold_without_reset_excludes_nothing():
    # Hodgkin-Huxley's threshold only detects spikes (no reset): its rest is a fixed point
    F = dynamics.read("hodgkin_huxley")
    assert not F.resets and F.threshold_crossed(np.array([0.05, 0.5, 0.5, 0.5])) == []
    assert any(fp.stable for fp in dynamics.find_fixed_points(F))


def test_an_override_that_names_nothing_is_an_error_not_silently_ignored():
    # `biodyn analyze lyapunov logistic --set rr=3.8` ran at r = 4 and said nothing
    with pytest.raises(SpecError, match=r"rr.*did you mean 'r'"):
        dynamics.read("logistic", overrides={"rr": "3.8"})


def test_an_override_of_a_state_variable_sets_its_initial_value():
    # `--set x=0.11` was silently ignored (every restart started from x = 0.3)
    F = dynamics.read("logistic", overrides={"r": "3.8", "x": "0.11"})
    assert F.x0().tolist() == [0.11]
    F = dynamics.read("lif", overrides={"v": "-70 mV", "I": "1 nA"})
    assert F.x0()[0] == pytest.approx(-0.07)
    with pytest.raises(SpecError, match="v"):
        dynamics.read("lif", overrides={"v": "3"})          # a voltage without its unit
