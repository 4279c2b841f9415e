"""The rstdp learner: reward-modulated STDP from the catalog spec, tied to its Brian2 simulation."""

import numpy as np
import pytest

pytest.importorskip("jax")


def _brian_weight_change(pre, post, rpe, dt, rule_params=None, variants=None):
    """Delta w of every synapse (P, H) from Brian2 running the catalog's rstdp spec (numpy target):
    one trial, a modulator event of d_release*rpe at t_R = T dt, w read as its exact limit."""
    import brian2 as b2

    from biodyn import build

    T, P = pre.shape
    H = post.shape[1]
    r = build.resolve("rstdp", rule_params, variants=variants)
    d_release = float(r.namespace["d_release"])
    over = {"d_release": repr(d_release * rpe), "w_min": "-1e9", "w_max": "1e9"}
    net = b2.Network()
    ti, ii = np.nonzero(pre)
    G_pre = b2.SpikeGeneratorGroup(P, ii, ti * dt * b2.second, dt=dt * b2.second)
    ti, jj = np.nonzero(post)
    G_post = b2.SpikeGeneratorGroup(H, jj, ti * dt * b2.second, dt=dt * b2.second)
    R = b2.SpikeGeneratorGroup(1, [0], [T * dt] * b2.second, dt=dt * b2.second)
    S = build.synapses("rstdp", G_pre, G_post, rule_params, overrides=over, variants=variants, connect=True,
                       dt=dt * b2.second, init={"w": 0.0})
    M = build.modulator(R, S, dt=dt * b2.second)
    net.add(G_pre, G_post, R, S, M)
    old = b2.prefs.codegen.target
    b2.prefs.codegen.target = "numpy"
    try:
        net.run((T + 1) * dt * b2.second, namespace={})
    finally:
        b2.prefs.codegen.target = old
    tau_c, tau_d, tau_s = (float(r.namespace[k]) for k in ("tau_c", "tau_d", "tau_s"))
    tau_cd = 1.0 / (1.0 / tau_c + 1.0 / tau_d)
    w = np.asarray(S.w[:]) + np.asarray(S.c[:]) * np.asarray(S.d[:]) * tau_cd / tau_s  # exact limit t -> inf
    out = np.zeros((P, H))
    out[np.asarray(S.i[:]), np.asarray(S.j[:])] = w
    return out


@pytest.mark.parametrize("pairing", ["all_to_all", "nearest"])
def test_rstdp_learner_weight_change_equals_brian2_simulation_of_the_catalog_rstdp_synapse(pairing):
    import brian2 as b2
    import jax

    from biodyn.learn._rstdp import read_rule, weight_change

    rng = np.random.default_rng(7)
    T, P, H, dt = 80, 5, 4, 1e-3
    pre = (rng.random((T, P)) < 0.12).astype(float)
    post = (rng.random((T, H)) < 0.10).astype(float)
    post[10] = pre[10] = 1.0  # coinciding spikes: pre before post
    variants = {"pairing": pairing}
    rule = read_rule("rstdp", variants=variants)
    assert rule.pairing == pairing and rule.parameter_set == "izhikevich_2007"
    for rpe in (0.7, -1.3):
        with jax.enable_x64(True):
            dw = np.asarray(weight_change(rule, pre[:, None], post[:, None], np.array([rpe]), dt))
        ref = _brian_weight_change(pre, post, rpe, dt, variants=variants)
        assert np.abs(ref).max() > 1.0  # a real change, both signs
        np.testing.assert_allclose(dw, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
