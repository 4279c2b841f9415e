"""biodyn.flow.rate_reduction: known closed forms, trace identities, rate rules, errors.

The long Poisson runs that check every spike-based reduction against Brian2 are in
tests/test_plasticity_compiled.py (one standalone build); the numpy target gets the rate
rules (exact: one Euler step) and, under the ``slow`` marker, a weight-dependent rule.
"""

import numpy as np
import pytest
import sympy

from biodyn.errors import BiodynError
from biodyn.flow import Reduction, ReductionError, rate_reduction

S = sympy.Symbol


def _expr(text):
    """Text -> sympy with every name a plain Symbol (gamma, beta, ... are not functions here)."""
    import re

    names = set(re.findall(r"[A-Za-z_]\w*", text))
    return sympy.parse_expr(text, local_dict={n: S(n) for n in names})


def _same(a, b):
    a = _expr(a) if isinstance(a, str) else a
    b = _expr(b) if isinstance(b, str) else b
    return sympy.simplify(a - b) == 0


def test_pair_all_to_all_drift_is_nu_pre_nu_post_times_window_integral():
    red = rate_reduction("stdp_pair", "song_2000")
    nu_pre, nu_post = S("nu_pre"), S("nu_post")
    want = nu_pre * nu_post * (S("A_plus") * S("tau_plus") - S("A_minus") * S("tau_minus")) \
        * (S("w_max") - S("w_min"))
    assert _same(red.symbolic, want)
    assert red.exact and set(red.arguments) == {"nu_pre", "nu_post"}
    from brian2 import Hz

    got = float(red.drift(nu_pre=10 * Hz, nu_post=20 * Hz))
    assert got == pytest.approx(200 * (0.005 * 0.02 - 1.05 * 0.005 * 0.02), rel=1e-12)


@pytest.mark.parametrize("pairing,m_pre", [
    ("all_to_all", "nu_pre*tau_plus"),
    ("nearest", "nu_pre*tau_plus/(1 + nu_pre*tau_plus)"),
    ("nearest_pre_centred", "nu_pre*tau_plus/(1 + nu_post*tau_plus)"),
    ("nearest_restricted", "nu_pre*tau_plus/(1 + (nu_pre + nu_post)*tau_plus)"),
])
def test_trace_means_follow_the_pairing_scheme(pairing, m_pre):
    red = rate_reduction("stdp_pair", "song_2000", variants={"pairing": pairing})
    assert _same(red.means["apre"], m_pre)
    # the drift is nu_post * A+ span E[apre] - nu_pre * A- span E[apost]
    span = S("w_max") - S("w_min")
    want = S("nu_post") * S("A_plus") * span * red.means["apre"] \
        - S("nu_pre") * S("A_minus") * span * red.means["apost"]
    assert _same(red.symbolic, want)


def test_weight_dependence_enters_the_drift_as_a_function_of_w():
    red = rate_reduction("stdp_pair", "gutig_2003")
    assert "w" in red.arguments
    from brian2 import Hz

    w = np.array([0.2, 0.5, 0.8])
    got = np.asarray(red.drift(nu_pre=10 * Hz, nu_post=10 * Hz, w=w))
    want = 100 * 0.02 * (0.005 * (1 - w) ** 0.5 - 0.00525 * w ** 0.5)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the additive rule's fixed point is none; Guetig's has a stable w* where the drift vanishes
    root = sympy.nsolve(red.expression.subs({S("nu_pre"): 10, S("nu_post"): 10}), S("w"), 0.5)
    assert 0 < float(root) < 1


def test_triplet_all_to_all_is_pfister_gerstner_bcm_form():
    red = rate_reduction("stdp_triplet", "visual_all_to_all_full")
    nu_pre, nu_post = S("nu_pre"), S("nu_post")
    want = nu_pre * nu_post * (S("tau_plus") * (S("A2_plus") + S("A3_plus") * S("tau_y") * nu_post)
                               - S("tau_minus") * (S("A2_minus") + S("A3_minus") * S("tau_x") * nu_pre))
    assert _same(red.symbolic, want)
    # BCM-like: depression below, potentiation above a threshold on nu_post
    from brian2 import Hz

    low = float(red.drift(nu_pre=10 * Hz, nu_post=5 * Hz))
    high = float(red.drift(nu_pre=10 * Hz, nu_post=40 * Hz))
    assert low < 0 < high


def test_triplet_minimal_threshold_is_a2minus_tauminus_over_a3plus_tauplus_tauy():
    red = rate_reduction("stdp_triplet", "visual_all_to_all_minimal")
    theta = sympy.solve(red.expression.subs(S("nu_pre"), 10) / S("nu_post"), S("nu_post"))
    assert len(theta) == 1
    assert float(theta[0]) == pytest.approx(7.1e-3 * 33.7e-3 / (6.5e-3 * 16.8e-3 * 114e-3), rel=1e-9)


def test_nearest_triplet_reads_slow_traces_at_nearest_spike_means():
    red = rate_reduction("stdp_triplet", "hippocampal_nearest_full")
    assert _same(red.means["o2"], S("nu_post") * S("tau_y") / (1 + S("nu_post") * S("tau_y")))
    assert _same(red.means["r1"], S("nu_pre") * S("tau_plus") / (1 + S("nu_pre") * S("tau_plus")))


def test_vogels_drift_vanishes_at_the_target_rate():
    red = rate_reduction("istdp_vogels_2011")
    assert _same(red.symbolic, 2 * S("eta") * S("tau") * S("nu_pre") * (S("nu_post") - S("rho0")))
    from brian2 import Hz

    assert float(red.drift(nu_pre=7 * Hz, nu_post=3 * Hz)) == pytest.approx(0, abs=1e-15)


def test_rstdp_drift_is_mean_eligibility_times_mean_dopamine():
    red = rate_reduction("rstdp")
    assert set(red.arguments) == {"nu_pre", "nu_post", "nu_mod"}
    assert _same(red.means["d"], S("nu_mod") * S("d_release") * S("tau_d"))
    assert _same(red.means["c"], S("tau_c") * S("nu_pre") * S("nu_post")
                 * (S("A_plus") * S("tau_plus") - S("A_minus") * S("tau_minus")))
    assert _same(red.symbolic, red.means["c"] * red.means["d"] / S("tau_s"))


def test_short_term_depression_mean_release_is_exact_and_facilitation_is_mean_field():
    dep = rate_reduction("stp_tsodyks_markram", "depressing")
    assert dep.exact and _same(dep.symbolic, 0)
    assert _same(dep.event_means["pre"]["r"], S("U") / (1 + S("U") * S("nu_pre") * S("tau_rec")))
    fac = rate_reduction("stp_tsodyks_markram", "facilitating")
    assert not fac.exact
    assert any("mean field" in a for a in fac.assumptions)
    with pytest.raises(ReductionError, match="second moments"):
        rate_reduction("stp_tsodyks_markram", "facilitating", closure="exact")
    # the utilisation itself is linear, so its mean is exact: U (1 + nu tau_f) / (1 + U nu tau_f)
    from brian2 import Hz

    u_after = fac.event_mean("pre", "u", nu_pre=20 * Hz)
    U, tf = 0.03, 0.53
    assert u_after == pytest.approx(U * (1 + 20 * tf) / (1 + U * 20 * tf), rel=1e-12)


@pytest.mark.parametrize("rule,params,expr", [
    ("hebb", "with_decay", "eta*r_pre*r_post - gamma*w"),
    ("covariance", None, "eta*(r_pre - theta_x)*(r_post - theta_y)"),
    ("oja", None, "eta*(r_pre*r_post - r_post**2*w)"),
    ("bcm", None, "eta*r_pre*r_post*(r_post - r_post**2)"),
])
def test_rate_rule_reduction_is_the_rules_own_drift(rule, params, expr):
    red = rate_reduction(rule, params)
    assert _same(red.symbolic, expr)
    assert red.exact


def test_rate_rule_reduction_equals_one_brian2_euler_step():
    """Constant rates, one step of dt: (w1 - w0)/dt equals the reduction at (x, y = w x, w)."""
    from brian2 import NeuronGroup, ms

    import biodyn

    x = np.array([0.3, 0.7, 1.2, 0.9])
    w0 = np.array([0.2, 0.6, 0.1, 0.45])
    for rule in ("hebb", "covariance", "oja", "bcm"):
        red = rate_reduction(rule, "with_decay" if rule == "hebb" else None)
        with biodyn.Simulation("numpy", dt=1 * ms) as sim:
            pre = NeuronGroup(x.size, "r : 1", name="pre")
            pre.r = x
            post = biodyn.neurons("rate", x.size, variants={"dynamics": "instantaneous"})
            init = {"w": w0}
            if rule == "bcm":
                init["theta_M"] = (w0 * x) ** 2  # the threshold's fixed point
            syn = biodyn.synapses(rule, pre, post, "with_decay" if rule == "hebb" else None,
                                  connect="one_to_one", init=init)
            sim.run(1 * ms, pre, post, syn)
            w1 = np.array(syn.w[:])
        args = dict(r_pre=x, r_post=w0 * x)
        if "w" in red.arguments:
            args["w"] = w0
        want = np.asarray(red.drift(**args))
        np.testing.assert_allclose((w1 - w0) / 1e-3, want, rtol=1e-9, atol=1e-12, err_msg=rule)


def test_drift_has_units_and_checks_its_arguments():
    from brian2 import Hz, ms
    from brian2.units.fundamentalunits import get_dimensions

    red = rate_reduction("stdp_triplet")
    d = red.drift(nu_pre=10 * Hz, nu_post=20 * Hz)
    assert get_dimensions(d) == get_dimensions(Hz)
    with pytest.raises(BiodynError, match="nu_pre"):
        red.drift(nu_pre=10, nu_post=20 * Hz)
    with pytest.raises(BiodynError):
        red.drift(nu_pre=10 * ms, nu_post=20 * Hz)
    with pytest.raises(TypeError, match="nu_post"):
        red.drift(nu_pre=10 * Hz)
    with pytest.raises(TypeError, match="unknown"):
        red.drift(nu_pre=10 * Hz, nu_post=1 * Hz, rho=3)
    assert isinstance(red, Reduction) and red.assumptions


def test_reduction_of_a_neuron_model_is_refused():
    with pytest.raises(BiodynError, match="synapse"):
        rate_reduction("lif")


@pytest.mark.slow
def test_weight_dependent_drift_matches_poisson_run_at_w_numpy():
    """Guetig rule, 200 synapses, 20 s, lr = 1e-3 (weights frozen at w0 = 0.3)."""
    from brian2 import Hz, ms, second

    import biodyn
    from biodyn import stimuli

    rng = np.random.default_rng(9)
    n, T, nu_pre, nu_post = 200, 20.0, 20.0, 20.0
    pre_t = [np.nonzero(rng.random(int(T / 1e-4)) < nu_pre * 1e-4)[0] * 1e-4 for _ in range(n)]
    post_t = [np.nonzero(rng.random(int(T / 1e-4)) < nu_post * 1e-4)[0] * 1e-4 for _ in range(n)]
    over = {"A_plus": "0.01", "A_minus": "0.0025", "mu_plus": "0.4", "mu_minus": "0.7"}
    with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
        pre = stimuli.generator([t * second for t in pre_t])
        post = stimuli.generator([t * second for t in post_t])
        syn = biodyn.synapses("stdp_pair", pre, post, "gutig_2003", overrides=over,
                              connect="one_to_one", init={"w": 0.3, "lr": 1e-3})
        sim.run(T * second, pre, post, syn)
        d = (np.array(syn.w[:]) - 0.3) / (T * 1e-3)
    red = rate_reduction("stdp_pair", "gutig_2003", overrides=over)
    pred = float(red.drift(nu_pre=nu_pre * Hz, nu_post=nu_post * Hz, w=0.3))
    se = d.std(ddof=1) / np.sqrt(n)
    assert abs(d.mean() - pred) < 4.5 * se and se < 0.1 * abs(pred)
