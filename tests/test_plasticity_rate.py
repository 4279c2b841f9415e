"""Rate-based rules (hebb, covariance, oja, bcm) between rate neurons equal numpy Euler to 1e-9.

The presynaptic rates are a random TimedArray (the user's own group with a variable r); the
postsynaptic neuron is the catalog's rate neuron with instantaneous linear dynamics, so that
y = w.x, fed by the rule's own summed input I_post = w*r_pre.
"""

import numpy as np
import pytest

import plasticity_reference as ref

DT_MS = 1.0
N_IN = 3


def _floats(resolved):
    from brian2.units.fundamentalunits import Quantity

    return {k: float(np.asarray(v)) if isinstance(v, Quantity) else float(v)
            for k, v in resolved.namespace.items()}


def _run(specs, x, w0, theta0=0.0, target="numpy"):
    from brian2 import NeuronGroup, TimedArray, ms

    import biodyn
    from biodyn import build

    out = {}
    with biodyn.Simulation(target, dt=DT_MS * ms, seed=0) as sim:
        stim = TimedArray(x, dt=DT_MS * ms, name="stim")
        pre = NeuronGroup(N_IN, "r = stim(t, i) : 1", name="inputs", namespace={"stim": stim})
        objects = [pre]
        for key, (model, params, kw) in specs.items():
            post = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"},
                                  name=f"out_{key}")
            init = {"w": w0}
            if model == "bcm":
                init["theta_M"] = theta0
            syn = biodyn.synapses(model, pre, post, params, connect=True, init=init,
                                  name=f"syn_{key}", **kw)
            objects += [post, syn]
            out[key] = (syn, build.resolved_of(syn))
        sim.run(len(x) * DT_MS * ms, *objects)
        return {k: (np.array(s.w[:]), np.array(s.theta_M[:]) if "theta_M" in s.variables else None,
                    _floats(r)) for k, (s, r) in out.items()}


@pytest.fixture(scope="module")
def rate_run():
    rng = np.random.default_rng(11)
    x = rng.uniform(0.0, 1.0, size=(400, N_IN))
    w0 = np.array([0.3, 0.1, 0.2])
    specs = {
        "hebb": ("hebb", "dayan_abbott_2001", {"overrides": {"w_max": "0.33"}}),
        "hebb_decay": ("hebb", "with_decay", {}),
        "covariance": ("covariance", None, {}),
        "oja": ("oja", None, {}),
        "bcm": ("bcm", None, {"overrides": {"eta": "5 Hz", "tau_theta": "50 ms"}}),
    }
    return x, w0, _run(specs, x, w0, theta0=0.04)


@pytest.mark.parametrize("rule", ["hebb", "hebb_decay", "covariance", "oja", "bcm"])
def test_rate_rule_equals_euler_reference(rate_run, rule):
    x, w0, res = rate_run
    w, theta, p = res[rule]
    if rule == "hebb_decay":
        assert p["gamma"] > 0
        rule = "hebb"
    kw = {k: p[k] for k in ("eta", "gamma", "theta_x", "theta_y", "tau_theta", "w_min", "w_max")
          if k in p}
    want_w, want_theta = ref.rate_rule(rule, x, w0, dt=DT_MS * 1e-3, theta0=0.04, **kw)
    np.testing.assert_allclose(w, want_w, rtol=1e-9, atol=1e-15)
    assert np.max(np.abs(want_w - w0)) > 1e-2  # the weights moved
    if rule == "bcm":
        np.testing.assert_allclose(theta, want_theta, rtol=1e-9)


def test_hebb_weights_stop_at_the_upper_bound(rate_run):
    _, _, res = rate_run
    w, _, p = res["hebb"]
    assert p["w_max"] == 0.33
    assert np.max(w) == 0.33  # clipped exactly at the bound, not beyond


def test_oja_converges_to_principal_eigenvector():
    rng = np.random.default_rng(5)
    C = np.array([[1.0, 0.6], [0.6, 0.5]])
    x = rng.multivariate_normal([0, 0], C, size=10000)
    global N_IN
    saved, N_IN = N_IN, 2
    try:
        res = _run({"oja": ("oja", None, {"overrides": {"eta": "2 Hz"}})}, x, np.array([0.2, -0.5]))
    finally:
        N_IN = saved
    w = res["oja"][0]
    evals, evecs = np.linalg.eigh(C)
    e1 = evecs[:, np.argmax(evals)]
    assert abs(np.linalg.norm(w) - 1) < 0.05
    assert abs(abs(np.dot(w, e1)) - 1) < 0.01
