"""biodyn.flow: averaged fields, gradient tests, potentials and objectives against known answers.

Every expected value is written here from the theory (closed forms in the rules' parameters,
eigen-decompositions of the input statistics), sharing no code with biodyn.flow.
"""

import numpy as np
import pytest

from biodyn import build
from biodyn.flow import (GaussianRates, MixturePoisson, PatternRates, Scenario, analyze,
                         averaged_field, decompose, fixed_points, gradient_test, objective_for,
                         pair_window, sample_points, scenario)


def _rate_scenario(rule, inputs, domain=1.5, overrides=None, params=None):
    resolved = build.resolve(rule, params, overrides)
    neuron = build.resolve("rate", variants={"dynamics": "instantaneous", "gain": "linear"})
    n = inputs.n
    return Scenario("test", resolved, "rate", inputs, {"neuron": neuron}, np.zeros((1, n)),
                    (np.full(n, -domain), np.full(n, domain)))


def _cov(std, angle_deg):
    a = np.radians(angle_deg)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return R @ np.diag(np.square(std)) @ R.T


# --------------------------------------------------------------------------
# Hebb with decay, covariance rule
# --------------------------------------------------------------------------


def test_hebb_decay_field_is_exactly_the_gradient_of_half_wT_C_minus_gamma_w():
    mu = np.array([0.3, -0.2, 0.5])
    A = np.array([[1.0, 0.2, 0.1], [0.0, 0.7, -0.3], [0.4, 0.0, 0.5]])
    C = A @ A.T
    sc = _rate_scenario("hebb", GaussianRates(mu, C), params="with_decay")
    field = averaged_field(sc)
    eta, gamma = 1.0, 0.5                       # the with_decay set: eta = 1 Hz, gamma = 0.5 Hz
    M = eta * (C + np.outer(mu, mu)) - gamma * np.eye(3)   # grad of 1/2 w'(eta E[xx'] - gamma) w
    W = np.random.default_rng(3).uniform(-1, 1, (50, 3))
    np.testing.assert_allclose(field.f(W), W @ M.T, rtol=0, atol=1e-13)
    obj = objective_for(field)
    assert obj.key == "hebb_decay"
    np.testing.assert_allclose(obj.gradient(W), W @ M.T, rtol=0, atol=1e-13)
    np.testing.assert_allclose(obj(W), 0.5 * np.einsum("bi,ij,bj->b", W, M, W), rtol=1e-14)


def test_covariance_rule_climbs_half_the_output_variance():
    mu = np.array([0.5, 0.5])
    C = _cov([1.0, 0.5], 60)
    sc = _rate_scenario("covariance", GaussianRates(mu, C))      # theta_x = 0.5 = E[x]
    field = averaged_field(sc)
    W = np.random.default_rng(4).uniform(-1, 1, (40, 2))
    np.testing.assert_allclose(field.f(W), W @ C.T, rtol=0, atol=1e-13)   # eta = 1 Hz: f = C w
    test = gradient_test(field.jacobian(W))
    assert test.gradient and test.asymmetry < 1e-9


# --------------------------------------------------------------------------
# Oja
# --------------------------------------------------------------------------


def test_oja_fixed_points_are_the_unit_principal_eigenvectors_with_the_eigenvalue_gaps():
    C = _cov([1.0, 0.5], 30)
    lam, vec = np.linalg.eigh(C)          # ascending: lam[1] = 1, lam[0] = 0.25
    e1, e2 = vec[:, 1], vec[:, 0]
    sc = _rate_scenario("oja", GaussianRates(np.zeros(2), C))
    field = averaged_field(sc)
    states = fixed_points(field)
    stable = [s for s in states if s.stable]
    assert len(stable) == 2
    for s in stable:
        assert abs(np.linalg.norm(s.w) - 1) < 1e-9
        assert abs(abs(s.w @ e1) - 1) < 1e-9
        # eta = 1: on the sphere eta*(lambda_2 - lambda_1); normal to it -2*eta*lambda_1
        np.testing.assert_allclose(np.sort(s.eigenvalues.real), np.sort([lam[0] - lam[1], -2 * lam[1]]),
                                   atol=1e-8)
    saddles = [s for s in states if s.type == "saddle"]
    assert len(saddles) == 2 and all(abs(abs(s.w @ e2) - 1) < 1e-9 for s in saddles)
    assert any(np.linalg.norm(s.w) < 1e-9 and s.type == "unstable node" for s in states)


def test_oja_is_the_riemannian_gradient_of_the_rayleigh_quotient_on_the_sphere_only():
    C = _cov([1.0, 0.4], 70)
    sc = _rate_scenario("oja", GaussianRates(np.zeros(2), C))
    field = averaged_field(sc)
    pts = sample_points(field.domain)
    test = gradient_test(field.jacobian(pts))
    assert not test.gradient and test.asymmetry > 0.1          # off the sphere: not a gradient
    obj = objective_for(field)
    th = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    S = np.stack([np.cos(th), np.sin(th)], 1)
    F = field.f(S)
    np.testing.assert_allclose(np.sum(S * F, 1), 0, atol=1e-14)               # the sphere is invariant
    rq = lambda w: 0.5 * (w @ C @ w) / (w @ w)                                  # noqa: E731
    G = np.array([[(rq(s + 1e-6 * e) - rq(s - 1e-6 * e)) / 2e-6 for e in np.eye(2)] for s in S])
    G -= np.sum(G * S, 1)[:, None] * S                                          # Riemannian gradient
    np.testing.assert_allclose(F, G, atol=1e-9)
    assert obj.manifold == "sphere"


# --------------------------------------------------------------------------
# BCM
# --------------------------------------------------------------------------


def test_bcm_stable_states_are_the_selective_states_of_intrator_and_cooper():
    P = np.array([[1.0, 0.3], [0.3, 1.0]])
    p = np.array([0.3, 0.7])
    sc = _rate_scenario("bcm", PatternRates(P, p), domain=5.0)
    field = averaged_field(sc)
    stable = [s for s in fixed_points(field) if s.stable]
    responses = sorted(tuple(np.round(P @ s.w, 9)) for s in stable)
    # selective: one pattern answered with y = 1/p_k, the other with 0 (theta = E[y^2] = 1/p_k)
    assert responses == sorted([(round(1 / p[0], 9), 0.0), (0.0, round(1 / p[1], 9))])


def test_bcm_with_a_fast_threshold_is_the_gradient_of_the_intrator_cooper_objective():
    mu = np.array([0.4, 0.1])
    C = _cov([0.8, 0.3], 20)
    sc = _rate_scenario("bcm", GaussianRates(mu, C))
    field = averaged_field(sc)
    W = sample_points(field.domain)
    assert gradient_test(field.jacobian(W)).gradient
    # R = 1/3 E[y^3] - 1/4 E[y^2]^2 for y = w.x Gaussian: E[y^2] = s2 + m^2, E[y^3] = m^3 + 3 m s2
    def R(w):
        m, s2 = w @ mu, w @ C @ w
        return (m ** 3 + 3 * m * s2) / 3 - (s2 + m ** 2) ** 2 / 4
    G = np.array([[(R(w + 1e-6 * e) - R(w - 1e-6 * e)) / 2e-6 for e in np.eye(2)] for w in W])
    np.testing.assert_allclose(field.f(W), G, atol=1e-7)


def test_bcm_with_a_threshold_as_slow_as_the_weights_is_not_a_gradient_flow():
    P = np.array([[1.0, 0.3], [0.3, 1.0]])
    sc = _rate_scenario("bcm", PatternRates(P, [0.4, 0.6]), domain=2.0,
                        overrides={"tau_theta": "2 second"})
    field = averaged_field(sc, aux="state")
    assert field.names[-1] == "theta_M" and field.n == 3
    # the threshold's dynamics: d theta/dt = (E[y^2] - theta)/tau_theta, closed form at a point
    w, theta = np.array([0.5, 0.2]), 0.3
    y = P @ w
    assert abs(field.f(np.r_[w, theta])[2] - ((np.array([0.4, 0.6]) @ y ** 2) - theta) / 2.0) < 1e-14
    test = gradient_test(field.jacobian(sample_points(field.domain, grid=5)))
    assert not test.gradient and test.asymmetry > 0.1


# --------------------------------------------------------------------------
# Spike rules: triplet threshold, pair STDP with correlations (Kempter et al. 1999)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("params", ["visual_all_to_all_minimal", "visual_all_to_all_full",
                                    "hippocampal_all_to_all_full"])
def test_triplet_threshold_on_nu_post_matches_the_closed_form(params):
    a = analyze("triplet_poisson", params=params, simulate=False)
    p = {k: float(v) for k, v in build.resolve("stdp_triplet", params).namespace.items()}
    for i, nu_pre in enumerate(a.scenario.inputs.rates):
        # Pfister & Gerstner (2006): dw/dt = nu_x nu_y (A2+ tau+ - A2- tau- + A3+ tau+ tau_y nu_y
        #                                                - A3- tau- tau_x nu_x)
        theta = (p["A2_minus"] * p["tau_minus"] + p["A3_minus"] * p["tau_minus"] * p["tau_x"] * nu_pre
                 - p["A2_plus"] * p["tau_plus"]) / (p["A3_plus"] * p["tau_plus"] * p["tau_y"])
        assert a.threshold["theta"][i] == pytest.approx(theta, rel=1e-9)


def test_triplet_minimal_is_a_gradient_flow_but_the_full_model_with_unequal_rates_is_not():
    minimal = analyze("triplet_poisson", simulate=False)
    assert minimal.gradient.gradient
    # the presynaptic triplet term (A3-) makes the drift nonlinear in nu_pre: J_ij - J_ji is
    # g nu_i nu_j A3- tau- tau_x nu_post (nu_j - nu_i), non-zero for inputs at 8 and 16 Hz
    full = analyze("triplet_poisson", params="hippocampal_all_to_all_full", simulate=False)
    assert not full.gradient.gradient and full.gradient.asymmetry > 0.1


def test_pair_window_derived_from_the_spec_is_song_abbott_exponential_window():
    W = pair_window(build.resolve("stdp_pair", "song_2000"))
    s = np.array([-0.05, -0.01, 0.002, 0.03])
    want = np.where(s > 0, 0.005 * np.exp(-s / 0.02), -0.00525 * np.exp(s / 0.02))
    np.testing.assert_allclose(W(s), want, rtol=1e-12)
    assert W.integral() == pytest.approx(0.005 * 0.02 - 0.00525 * 0.02, rel=1e-12)
    Wm = pair_window(build.resolve("stdp_pair", "rubin_2001"))        # multiplicative: LTP ~ (1 - w)
    assert Wm(np.array([0.01]), 0.25)[0] == pytest.approx(0.005 * 0.75 * np.exp(-0.5), rel=1e-12)


def _kempter_scenario(delays, jitter=0.0, share=(0.5, 0.5)):
    rule = build.resolve("stdp_pair", "song_2000")
    inputs = MixturePoisson([10.0, 10.0], mother_rate=20.0, share=list(share), delays=list(delays),
                            jitter=jitter)
    post = {"kind": "linear", "baseline": 5.0, "gain": 1.0, "tau_eps": 0.005}
    return Scenario("kempter", rule, "spike", inputs, post, np.zeros((1, 2)),
                    (np.zeros(2), np.ones(2)), bounds=(0.0, 1.0))


def test_kempter_drift_with_delta_correlations_matches_the_closed_form():
    d = 0.004
    sc = _kempter_scenario([0.0, d], jitter=0.0)
    field = averaged_field(sc)
    Ap, Am, tp, tm, te = 0.005, 0.00525, 0.02, 0.02, 0.005
    nu, kappa, nu0, g = 10.0, 0.5 * 0.5 * 20.0, 5.0, 1.0
    Wint = Ap * tp - Am * tm
    diag = nu * Ap * tp / (tp + te)                         # int W(s) nu eps(s) ds
    # c_01 peaks at lag +d (input 1 follows input 0): int_d^inf A+ e^{-s/tp} e^{-(s-d)/te}/te ds
    q01 = kappa * Ap * np.exp(-d / tp) * (1 / te) / (1 / tp + 1 / te)
    # c_10 peaks at -d: A+ part from 0 (kernel e^{-(s+d)/te}/te) minus A- part on [-d, 0)
    q10 = kappa * (Ap * np.exp(-d / te) * (1 / te) / (1 / tp + 1 / te)
                   - Am * np.exp(-d / te) / te * (1 - np.exp(-d * (1 / tm - 1 / te))) / (1 / tm - 1 / te))
    M = g * Wint * nu * nu * np.ones((2, 2)) + g * np.array([[diag, q01], [q10, diag]])
    b = Wint * nu * nu0 * np.ones(2)
    W = np.random.default_rng(5).uniform(0, 1, (20, 2))
    np.testing.assert_allclose(field.f(W), W @ M.T + b, rtol=1e-7, atol=1e-12)


def test_pair_stdp_jacobian_is_symmetric_for_lag_symmetric_correlations_only():
    sym = averaged_field(_kempter_scenario([0.0, 0.0], jitter=0.001))
    asym = averaged_field(_kempter_scenario([0.0, 0.005], jitter=0.001))
    pts = sample_points((np.zeros(2), np.ones(2)))
    t_sym, t_asym = gradient_test(sym.jacobian(pts)), gradient_test(asym.jacobian(pts))
    assert t_sym.gradient and t_sym.asymmetry < 1e-9
    assert not t_asym.gradient and t_asym.asymmetry > 0.3
    J = asym.jacobian(np.array([0.5, 0.5]))
    assert np.iscomplex(np.linalg.eigvals(J)).all()          # a rotation: impossible for a gradient


# --------------------------------------------------------------------------
# The gradient test and the decomposition on fields with known answers
# --------------------------------------------------------------------------


def test_gradient_test_asymmetry_of_symmetric_and_antisymmetric_jacobians():
    S = np.array([[1.0, 0.3], [0.3, -2.0]])
    A = np.array([[0.0, 1.0], [-1.0, 0.0]])
    assert gradient_test(np.stack([S] * 3)).asymmetry == 0.0
    assert gradient_test(np.stack([A] * 3)).asymmetry == pytest.approx(2.0)   # ||2A|| / ||A||
    J = S + 0.1 * A
    want = np.linalg.norm(0.2 * A) / np.linalg.norm(J)
    assert gradient_test(J).asymmetry == pytest.approx(want, rel=1e-12)


def test_measured_gradient_test_accepts_noise_and_rejects_asymmetry_beyond_it():
    rng = np.random.default_rng(11)
    S = np.array([[1.0, 0.3], [0.3, -2.0]])
    err = np.full((40, 2, 2), 0.01)
    noisy = S + 0.01 * rng.standard_normal((40, 2, 2))
    assert gradient_test(noisy, errors=err).gradient
    skew = noisy + np.array([[0.0, 0.03], [-0.03, 0.0]])   # 0.06 on each difference, 4 sigma
    res = gradient_test(skew, errors=err)
    assert not res.gradient and res.asymmetry > res.tolerance


def test_decomposition_recovers_an_exact_potential_and_splits_a_linear_field():
    pts = sample_points((np.full(2, -1.0), np.full(2, 1.0)), grid=11)
    x, y = pts[:, 0], pts[:, 1]
    phi = x ** 3 * y - 0.5 * y ** 4 + 2 * x * y
    grad = np.stack([3 * x ** 2 * y + 2 * y, x ** 3 - 2 * y ** 3 + 2 * x], 1)
    dec = decompose(pts, grad, degree=4)
    assert dec.fraction == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(dec.potential(pts) - dec.potential(np.zeros((1, 2))), phi, atol=1e-10)
    # f = (S + A) x on a symmetric grid: the quadratic potential's gradient is S x exactly and
    # A x is orthogonal to it, so the fraction is |Sx|^2 / (|Sx|^2 + |Ax|^2)
    S = np.array([[1.0, 0.4], [0.4, 0.5]])
    A = np.array([[0.0, 0.7], [-0.7, 0.0]])
    dec = decompose(pts, pts @ (S + A).T, degree=2)
    want = np.sum((pts @ S.T) ** 2) / (np.sum((pts @ S.T) ** 2) + np.sum((pts @ A.T) ** 2))
    assert dec.fraction == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(dec.gradient_part, pts @ S.T, atol=1e-12)


# --------------------------------------------------------------------------
# Every scenario's verdict (library, no simulation)
# --------------------------------------------------------------------------

VERDICTS = {
    "oja_pca": False, "bcm_selectivity": True, "hebb_decay": True, "covariance_rule": True,
    "triplet_poisson": True, "stdp_correlated_symmetric": True, "stdp_correlated_asymmetric": False,
}


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_every_scenario_gets_the_verdict_of_the_theory(name):
    a = analyze(name, simulate=False)
    s = a.summary()
    assert s["gradient"] is VERDICTS[name]
    assert 0.0 <= s["gradient_fraction"] <= 1.0
    if VERDICTS[name]:
        assert s["asymmetry"] < 1e-7 and s["gradient_fraction"] > 1 - 1e-9
        if s["objective_check"] is not None:
            assert s["objective_check"]["max_abs_error"] < 1e-10
    else:
        assert s["asymmetry"] > 0.1 and s["gradient_fraction"] < 0.99
    assert any(fp["stable"] for fp in s["fixed_points"])


def test_scenario_reads_the_protocol_it_is_replayed_from():
    sc = scenario("oja_pca", condition=2)     # the third condition: principal axis at 75 degrees
    lam, vec = np.linalg.eigh(sc.inputs.covariance)
    e1 = vec[:, 1]
    assert abs(abs(e1 @ [np.cos(np.radians(75)), np.sin(np.radians(75))]) - 1) < 1e-12
    np.testing.assert_allclose(lam, [0.25, 1.0])
