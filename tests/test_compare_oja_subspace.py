"""The oja_subspace synapse spec (Oja 1989) against an independent numpy Euler loop, exact to
1e-9; with one output neuron it is Oja's (1982) single-neuron rule (the oja spec)."""

import numpy as np
import pytest

DT_MS = 1.0


def _reference(X, W0, eta, dt, lr=1.0):
    """W <- W + dt*lr*eta*(y x' - y y' W), y = W x: the subspace rule, step by step."""
    W = np.array(W0, float)
    for x in X:
        y = W @ x
        W = W + dt * lr * eta * (np.outer(y, x) - np.outer(y, y) @ W)
    return W


def _run(X, W0s, eta_hz, lr=1.0):
    """One numpy-target run: one network per entry of W0s, fed the same inputs."""
    from brian2 import NeuronGroup, TimedArray, ms

    import biodyn

    d = X.shape[1]
    out = []
    with biodyn.Simulation("numpy", dt=DT_MS * ms, seed=0) as sim:
        table = TimedArray(X, dt=DT_MS * ms, name="stim")
        objects = []
        for n, W0 in enumerate(W0s):
            k = W0.shape[0]
            # the presynaptic side carries the back-projection xhat (the spec's requires.pre);
            # the neurons' input is summed first (post.order < pre.order, as the spec's notes say)
            pre = NeuronGroup(d, "r = stim(t, i) : 1\nxhat : 1", name=f"inputs{n}",
                              namespace={"stim": table}, order=0)
            post = biodyn.neurons("rate", k, variants={"dynamics": "instantaneous"}, name=f"out{n}",
                                  order=-1)
            syn = biodyn.synapses("oja_subspace", pre, post, overrides={"eta": f"{eta_hz} Hz"},
                                  connect={"i": np.tile(np.arange(d), k), "j": np.repeat(np.arange(k), d)},
                                  init={"w": W0.ravel()}, name=f"syn{n}")
            syn.lr = lr
            objects += [pre, post, syn]
            out.append(syn)
        sim.run(len(X) * DT_MS * ms, *objects)
        return [np.array(s.w[:]).reshape(W0.shape) for s, W0 in zip(out, W0s)]


def test_oja_subspace_rule_equals_numpy_euler_reference_to_1e9():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((500, 4)) * np.array([2.0, 1.2, 0.7, 0.3])
    W3 = 0.3 * rng.standard_normal((3, 4))
    W2 = 0.5 * rng.standard_normal((2, 4))
    got3, got2 = _run(X, [W3, W2], eta_hz=2.0, lr=0.7)
    for got, W0 in ((got3, W3), (got2, W2)):
        want = _reference(X, W0, eta=2.0, dt=DT_MS * 1e-3, lr=0.7)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
        assert np.max(np.abs(want - W0)) > 0.05  # the weights moved


def test_oja_subspace_with_one_neuron_is_ojas_single_neuron_rule():
    from brian2 import NeuronGroup, TimedArray, ms

    import biodyn

    rng = np.random.default_rng(8)
    X = rng.standard_normal((400, 3)) * np.array([1.5, 1.0, 0.5])
    w0 = np.array([0.4, -0.2, 0.3])
    with biodyn.Simulation("numpy", dt=DT_MS * ms, seed=0) as sim:
        table = TimedArray(X, dt=DT_MS * ms, name="stim")
        pre = NeuronGroup(3, "r = stim(t, i) : 1\nxhat : 1", name="inputs", namespace={"stim": table})
        a = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"}, name="a", order=-1)
        b = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"}, name="b")
        sub = biodyn.synapses("oja_subspace", pre, a, connect=True, init={"w": w0}, name="sub")
        one = biodyn.synapses("oja", pre, b, connect=True, init={"w": w0}, name="one")
        sim.run(len(X) * DT_MS * ms, pre, a, b, sub, one)
        w_sub, w_one = np.array(sub.w[:]), np.array(one.w[:])
    np.testing.assert_allclose(w_sub, w_one, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(w_sub - w0)) > 0.05


def test_oja_subspace_spec_cites_oja_1989_and_needs_the_back_projection():
    import biodyn
    from biodyn import build

    spec = biodyn.load("oja_subspace")
    cite = spec.data["citations"]["oja1989"]
    assert cite["doi"] == "10.1142/S0129065789000475" and "61-68" in cite["journal"]
    assert set(spec.data["requires"]["pre"]) == {"r", "xhat"}
    assert build.resolve("oja_subspace").citation.doi == cite["doi"]


def test_oja_subspace_without_the_presynaptic_xhat_is_a_clear_spec_error():
    from brian2 import NeuronGroup

    import biodyn
    from biodyn.errors import SpecError

    with biodyn.Simulation("numpy"):
        pre = NeuronGroup(3, "r : 1", name="plain_inputs")
        post = biodyn.neurons("rate", 2, variants={"dynamics": "instantaneous"})
        with pytest.raises(SpecError, match="xhat"):
            biodyn.synapses("oja_subspace", pre, post, connect=True)
