"""biodyn.snn: the differentiable reading of catalog neurons — forward identity with Brian2,
closed forms, surrogate derivatives, gradients against finite differences."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from biodyn import snn  # noqa: E402
from biodyn.errors import SpecError  # noqa: E402


def random_network(reading, N, M, T, rate_hz, w_in, w_rec, seed, p_in=0.3, p_rec=0.1):
    rng = np.random.default_rng(seed)
    x = (rng.random((T, M)) < rate_hz * reading.dt).astype(float)
    W_in = rng.normal(w_in, w_in / 3, (M, N)) * (rng.random((M, N)) < p_in)
    W_rec = rng.normal(0, w_rec, (N, N)) * (rng.random((N, N)) < p_rec)
    np.fill_diagonal(W_rec, 0)
    return x, W_in, W_rec


def jax_spikes(reading, W_in, W_rec, x, **kw):
    tr = snn.simulate(reading, W_in, W_rec, x, **kw)
    n, i = np.nonzero(tr.spikes[:, 0])
    order = np.lexsort((i, n))
    return i[order], n[order], tr


def brian_spikes(reading, W_in, W_rec, x, **kw):
    ii, nn = np.nonzero(x.T)
    return snn.brian_run(reading, W_in, W_rec, ii, nn, x.shape[0], **kw)


def lif100():
    r = snn.read("lif", dt="0.1 ms")  # dayan_abbott_2001: t_ref = 2 ms = 20 steps
    x, W_in, W_rec = random_network(r, 100, 50, 10000, 20.0, 1.2e-9, 1.5e-9, seed=1)
    return r, x, W_in, W_rec


def test_recurrent_lif_network_of_100_gives_brians_spike_steps_over_1_s_numpy_target():
    r, x, W_in, W_rec = lif100()
    i, n, _ = jax_spikes(r, W_in, W_rec, x)
    b = brian_spikes(r, W_in, W_rec, x)
    assert len(i) > 1000  # > 10 Hz on average: thresholds, resets and refractory periods at work
    np.testing.assert_array_equal(i, b["i"])
    np.testing.assert_array_equal(n, b["n"])
    # no neuron fires within its refractory period (20 steps)
    isi = min(np.diff(n[i == k]).min() for k in np.unique(i) if np.sum(i == k) > 1)
    assert isi > r.ref_steps
    # the recurrent weights matter: without them the trains differ
    i0, n0, _ = jax_spikes(r, W_in, None, x)
    assert len(i0) != len(i) or not np.array_equal(n0, n)


def test_recurrent_alif_network_gives_brians_spike_steps_and_thresholds_over_1_s_numpy_target():
    # Bellec et al.'s ALIF (bellec_2020: tau_a = 2 s, 5 ms refractory) at their dt = 1 ms
    r = snn.read("alif", dt="1 ms")
    assert r.membrane == "v" and set(r.state) == {"v", "a", "I_syn"}
    x, W_in, W_rec = random_network(r, 60, 40, 1000, 20.0, 1.0e-9, 1.0e-9, seed=4)
    i, n, tr = jax_spikes(r, W_in, W_rec, x, record=("a",))
    b = brian_spikes(r, W_in, W_rec, x, record=("a",))
    assert len(i) > 600  # > 10 Hz
    np.testing.assert_array_equal(i, b["i"])
    np.testing.assert_array_equal(n, b["n"])
    np.testing.assert_allclose(tr.states["a"][:, 0], b["a"], rtol=1e-12, atol=1e-12)
    assert float(np.max(b["a"])) > 5  # the thresholds moved by several jumps (tests/test_models_neurons.py
    # checks the intervals they make against the closed form)


@pytest.mark.compiled
@pytest.mark.slow  # ~55 s on the 2-core machine (one standalone build of 100 neurons, 1 s)
def test_recurrent_lif_network_of_100_gives_brians_spike_steps_cpp_standalone():
    r, x, W_in, W_rec = lif100()
    i, n, _ = jax_spikes(r, W_in, W_rec, x)
    b = brian_spikes(r, W_in, W_rec, x, target="cpp_standalone", build_key="test_snn_lif100")
    np.testing.assert_array_equal(i, b["i"])
    np.testing.assert_array_equal(n, b["n"])


@pytest.mark.parametrize("model, dt, w_in, w_rec", [("lif_cond", "0.1 ms", 0.15, 0.2),
                                                     ("adex", "0.05 ms", 1.5e-9, 0.5e-9)])
def test_conductance_lif_rk4_and_adex_euler_networks_give_brians_spikes_and_voltages(model, dt, w_in, w_rec):
    r = snn.read(model, dt=dt)
    assert r.method == {"lif_cond": "rk4", "adex": "euler"}[model]
    x, W_in, W_rec = random_network(r, 20, 30, 4000, 30.0, w_in, w_rec, seed=2, p_in=0.5, p_rec=0.2)
    i, n, tr = jax_spikes(r, W_in, W_rec, x, record=("v",))
    b = brian_spikes(r, W_in, W_rec, x, record=("v",))
    assert len(i) > 200
    np.testing.assert_array_equal(i, b["i"])
    np.testing.assert_array_equal(n, b["n"])
    np.testing.assert_allclose(tr.states["v"][:, 0], b["v"], rtol=0, atol=1e-12)


def test_exact_lif_step_is_the_closed_form_propagator():
    # one LIF neuron, constant current below threshold: v(t) = E_L + R I (1 - exp(-t/tau_m)) exactly
    r = snn.read("lif", dt="1 ms")
    I = 1.2e-9  # R I = 12 mV < 15 mV
    tr = snn.simulate(r, np.zeros((1, 1)), None, np.zeros((50, 1)), ext={"I_ext": I}, record=("v", "I_syn"))
    t = np.arange(1, 51) * 1e-3
    expected = -65e-3 + 10e6 * I * (1 - np.exp(-t / 10e-3))
    np.testing.assert_allclose(tr.states["v"][:, 0, 0], expected, rtol=0, atol=1e-15)
    # a synaptic current jump w at step 0 decays as w exp(-n dt/tau_syn), and v follows the two-exponential PSP
    tr = snn.simulate(r, np.full((1, 1), 1e-9), None, np.eye(50, 1), record=("v", "I_syn"))
    tau_m, tau_s, R = 10e-3, 5e-3, 10e6
    tt = np.arange(50) * 1e-3
    np.testing.assert_allclose(tr.states["I_syn"][:, 0, 0], 1e-9 * np.exp(-tt / tau_s), rtol=1e-14)
    psp = R * 1e-9 * tau_s / (tau_m - tau_s) * (np.exp(-tt / tau_m) - np.exp(-tt / tau_s))
    np.testing.assert_allclose(tr.states["v"][:, 0, 0], -65e-3 + psp, rtol=0, atol=1e-15)


def test_reading_refuses_what_it_cannot_read_with_the_spec_file_and_key():
    with pytest.raises(SpecError, match="lif_cond.toml: model: .*input current"):
        snn.read("lif_cond", synapse="current")
    with pytest.raises(SpecError, match="synapse"):
        snn.read("lif", synapse="curent")
    with pytest.raises(SpecError, match="method"):
        snn.read("lif", method="gsl")
    with pytest.raises(SpecError, match="refractory"):
        snn.simulate(snn.read("lif"), np.zeros((1, 1)), None, np.zeros((3, 1)), smooth=True)


@pytest.mark.parametrize("shape", snn.SHAPES)
def test_surrogate_derivative_integrates_to_one_and_is_the_spike_functions_jvp(shape):
    import jax.numpy as jnp

    w = 2e-3
    h = np.linspace(-2.0, 2.0, 400001)
    d = np.asarray(snn.step_derivative(np, shape, h, w))
    total = np.sum((d[1:] + d[:-1]) / 2 * np.diff(h))
    assert total == pytest.approx(1.0, abs=2e-3)  # the tails beyond +-2 V hold ~ w / 2 V of the mass
    with jax.enable_x64(True):
        spike = snn.spike_function(shape, w)
        hs = jnp.asarray([-3e-3, -1e-4, 0.0, 1e-4, 5e-3])
        np.testing.assert_array_equal(np.asarray(spike(hs)), [0, 0, 0, 1, 1])
        g = jax.vmap(jax.grad(spike))(hs)
        np.testing.assert_allclose(np.asarray(g), snn.step_derivative(np, shape, np.asarray(hs), w), rtol=1e-14)
        # the smooth step's own derivative is the surrogate derivative
        gs = jax.vmap(jax.grad(lambda x: snn.smooth_step(jnp, shape, x, w)))(hs)
        np.testing.assert_allclose(np.asarray(gs), np.asarray(g), rtol=1e-12)


def test_smooth_network_autodiff_gradient_equals_central_finite_differences():
    # the spike replaced by the surrogate's own smooth step: a differentiable map, whose autodiff
    # gradient must be the derivative (reset differentiated too; t_ref = 0)
    import jax.numpy as jnp

    r = snn.read("lif", dt="1 ms", overrides={"t_ref": "0 ms"})
    rng = np.random.default_rng(5)
    x = (rng.random((150, 3, 6)) < 0.08).astype(float)
    W_in0 = rng.normal(1.5e-9, 0.5e-9, (6, 4))
    W_rec0 = rng.normal(0.0, 1e-9, (4, 4))
    c = rng.normal(size=4)

    with jax.enable_x64(True):
        @jax.jit
        def loss(W_in, W_rec):
            tr = snn.run(r, W_in, W_rec, x, smooth=True, width=2e-3, record=("v",))
            return jnp.sum(tr.spikes @ c) + 1e3 * jnp.sum(tr.states["v"] ** 2)

        gi, gr = jax.grad(loss, argnums=(0, 1))(jnp.asarray(W_in0), jnp.asarray(W_rec0))
        s_total = float(jnp.sum(snn.run(r, W_in0, W_rec0, x, smooth=True, width=2e-3).spikes))
        assert s_total > 10  # the smooth spikes are not negligible
        for _ in range(3):
            Di, Dr = rng.normal(size=W_in0.shape) * 1e-9, rng.normal(size=W_rec0.shape) * 1e-9
            eps = 1e-5
            fd = (float(loss(W_in0 + eps * Di, W_rec0 + eps * Dr)) - float(loss(W_in0 - eps * Di, W_rec0 - eps * Dr))) / (2 * eps)
            ad = float(np.sum(np.asarray(gi) * Di) + np.sum(np.asarray(gr) * Dr))
            assert ad == pytest.approx(fd, rel=1e-6)


def lif_count_closed_form(I, T, dt=1e-3, tau=10e-3, R=10e6, E_L=-65e-3, th=-50e-3, v_r=-65e-3, ref=2):
    """Spike count in T steps of the exact LIF step (dayan_abbott_2001) under a constant current I,
    from rest: the first spike at step k1 - 1, k1 = floor(tau/dt ln(RI/(E - th))) + 1, then every
    P = max(ref, 1) - 1 + j steps, j = floor(tau/dt ln((E - v_r)/(E - th))) + 1, E = E_L + R I."""
    E = E_L + R * I
    if E <= th:
        return 0
    k1 = int(np.floor(np.log(R * I / (E - th)) * tau / dt)) + 1
    j = int(np.floor(np.log((E - v_r) / (E - th)) * tau / dt)) + 1
    P = max(ref, 1) - 1 + j
    return 0 if k1 - 1 > T - 1 else 1 + (T - 1 - (k1 - 1)) // P


def test_single_lif_neuron_learning_a_spike_count_has_the_closed_form_gradient_sign_and_fixed_point():
    import jax.numpy as jnp

    r = snn.read("lif", dt="1 ms")
    T, target = 200, 14
    x = np.zeros((T, 1, 1))
    currents = np.linspace(1.0e-9, 4e-9, 31)
    counts = [lif_count_closed_form(I, T) for I in currents]
    with jax.enable_x64(True):
        def count(I):
            return jnp.sum(snn.run(r, jnp.zeros((1, 1)), None, x, ext={"I_ext": I}).spikes)

        def loss(I):
            return 0.5 * (count(I) - target) ** 2

        grad = jax.jit(jax.grad(loss))
        count_j = jax.jit(count)
        for I, n in zip(currents, counts):
            assert float(count_j(I)) == n  # the forward count is the closed form's
            g = float(grad(I))
            assert np.sign(g) == np.sign(n - target)  # too few spikes: raise I; too many: lower it
        # gradient descent from below stops where the closed-form count equals the target
        I = 1.6e-9
        for _ in range(200):
            I = I - 1e-21 * float(grad(I))
        assert lif_count_closed_form(I, T) == target
        assert float(grad(I)) == 0.0


def small_spiking_task(train=24, test=12, **parameters):
    from biodyn import catalog
    from biodyn.learn._task import Task
    from biodyn.spec import read_toml

    data = read_toml(catalog.find("spike_patterns", "tasks"))
    data["sizes"] = {"train": train, "test": test}
    return Task("spike_patterns", None, data, parameters)


def test_bptt_lowers_the_loss_and_readout_learns_only_the_output_weights():
    from biodyn.learn._snn import train_snn

    task = small_spiking_task(n_steps=60)
    res = {L: train_snn(task, learner=L, hidden=12, epochs=3, batch_size=8, seed=1) for L in ("bptt", "readout")}
    for L, r in res.items():
        c = r.curves
        assert c["train_loss"][-1] < c["train_loss"][0]
        assert c["rate_hz"][0] > 1  # the network spikes
    # same seed, same initial network: readout keeps W_in and W_rec, bptt changes them
    b, o = res["bptt"].params, res["readout"].params
    assert not np.allclose(b["W_in"], o["W_in"])
    init = train_snn(task, learner="readout", hidden=12, epochs=0, batch_size=8, seed=1).params
    np.testing.assert_array_equal(o["W_in"], init["W_in"])
    np.testing.assert_array_equal(o["W_rec"], init["W_rec"])
    assert not np.allclose(o["W_out"], init["W_out"])
    np.testing.assert_allclose(res["bptt"].curves["alignment"][1:], 1.0, rtol=1e-12)
    assert np.all(res["readout"].curves["alignment"][1:] < 1)


def eprop_setup(W_rec_scale, readout="last", seed=7, model="lif", overrides=None):
    import jax.numpy as jnp

    from biodyn.learn._snn import snn_functions

    r = snn.read(model, dt="1 ms", overrides=overrides)
    rng = np.random.default_rng(seed)
    B, T, M, H, O = 2, 50, 5, 6, 2
    x = (rng.random((B, T, M)) < 0.1).astype(float)
    p = {"W_in": rng.normal(2.0, 0.7, (M, H)), "W_rec": rng.normal(0, W_rec_scale, (H, H)),
         "W_out": rng.normal(0, 0.5, (H, O)), "b": rng.normal(0, 0.1, O)}
    t = rng.integers(0, O, B) if readout == "last" else rng.normal(size=(B, T, O))
    mask = np.ones((B, T), bool)
    loss = "cross_entropy" if readout == "last" else "mse"
    net, value, loss_of = snn_functions(r, readout, loss, 1, 20e-3, 1e-9, "fast_sigmoid", 1e-3)

    def readout_loss(S, W_out, b):
        return loss_of(net.readout(S, W_out, b), jnp.asarray(t), jnp.asarray(mask))

    return r, x, p, t, mask, value, readout_loss


@pytest.mark.parametrize("readout, model", [("last", "lif"), ("all", "lif"), ("all", "alif")])
def test_eprop_update_equals_bptt_without_recurrent_connections(readout, model):
    # alif: the adaptation a is a second slow state whose jump a += 1 is differentiated through the
    # spike, so e-prop's eligibility carries Bellec et al.'s epsilon^a (a strong beta makes it count)
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_gradient

    over = {"beta": "3 mV", "v_th": "5 mV"} if model == "alif" else None
    r, x, p, t, mask, value, readout_loss = eprop_setup(0.0, readout, model=model, overrides=over)
    p["W_rec"] = np.zeros_like(p["W_rec"])
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        bptt = jax.jit(jax.grad(value))(pj, jnp.asarray(x), jnp.asarray(t), jnp.asarray(mask))
        ep = jax.jit(lambda q, xx: eprop_gradient(r, q, xx, readout_loss, weight_unit=1e-9, shape="fast_sigmoid",
                                                  width=1e-3))(pj, jnp.asarray(x))
        assert float(jnp.sum(snn.run(r, pj["W_in"] * 1e-9, None, jnp.swapaxes(jnp.asarray(x), 0, 1)).spikes)) > 20
        for k in ("W_in", "W_rec", "W_out", "b"):
            assert float(jnp.max(jnp.abs(bptt[k]))) > 0
            np.testing.assert_allclose(np.asarray(ep[k]), np.asarray(bptt[k]), rtol=1e-9,
                                       atol=1e-12 * float(jnp.max(jnp.abs(bptt[k]))))
        on = online_eprop(r, pj, x, t, mask, readout)
        for k in ("W_in", "W_rec", "W_out", "b"):
            np.testing.assert_allclose(np.asarray(on[k]), np.asarray(bptt[k]), rtol=1e-9,
                                       atol=1e-12 * float(jnp.max(jnp.abs(bptt[k]))))


def test_alif_gradient_carries_the_adaptation_path_and_the_membrane_reset_stays_detached():
    """With the defaults, BPTT through alif differentiates a += 1 (Bellec et al.'s ALIF gradient)
    but not v = v_reset: the gradient differs both from the one with every reset detached and
    from the one with none detached."""
    import jax.numpy as jnp

    r, x, p, t, mask, value, readout_loss = eprop_setup(0.0, "all", model="alif",
                                                        overrides={"beta": "3 mV", "v_th": "5 mV"})
    xs = jnp.swapaxes(jnp.asarray(x), 0, 1)

    def loss(W_in, detach):
        tr = snn.run(r, W_in * 1e-9, None, xs, detach_reset=detach)
        return readout_loss(tr.spikes, jnp.asarray(p["W_out"]), jnp.asarray(p["b"]))

    with jax.enable_x64(True):
        W = jnp.asarray(p["W_in"])
        g_default = jax.grad(loss)(W, None)
        g_all = jax.grad(loss)(W, True)
        g_none = jax.grad(loss)(W, False)
    scale = float(jnp.max(jnp.abs(g_default)))
    assert scale > 0
    assert float(jnp.max(jnp.abs(g_default - g_all))) > 1e-3 * scale  # the a-path is there
    assert float(jnp.max(jnp.abs(g_default - g_none))) > 1e-3 * scale  # the v-reset is not


def online_eprop(r, pj, x, t, mask, readout, T=None, feedback=None):
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_online

    loss = "cross_entropy" if readout == "last" else "mse"
    f = jax.jit(lambda q, xx, tt, mm: eprop_online(r, q, xx, tt, mm, readout=readout, loss=loss, steps_per_sample=1,
                                                   kappa=float(np.exp(-1e-3 / 20e-3)), weight_unit=1e-9,
                                                   shape="fast_sigmoid", width=1e-3, feedback=feedback))
    return f(pj, jnp.asarray(x), jnp.asarray(t), jnp.asarray(mask))


@pytest.mark.parametrize("readout", ["last", "all"])
def test_online_eprop_equals_the_two_pass_form_on_a_recurrent_network(readout):
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_gradient

    r, x, p, t, mask, value, readout_loss = eprop_setup(2.0, readout)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        fb = jnp.asarray(np.random.default_rng(3).normal(size=p["W_out"].shape))
        for feedback in (None, fb):
            two = jax.jit(lambda q, xx: eprop_gradient(r, q, xx, readout_loss, weight_unit=1e-9, shape="fast_sigmoid",
                                                       width=1e-3, feedback=feedback))(pj, jnp.asarray(x))
            on = online_eprop(r, pj, x, t, mask, readout, feedback=feedback)
            assert float(jnp.max(jnp.abs(two["W_rec"]))) > 0
            for k in ("W_in", "W_rec", "W_out", "b"):
                scale = float(jnp.max(jnp.abs(two[k])))
                assert float(jnp.max(jnp.abs(on[k] - two[k]))) <= 1e-10 * scale


def test_online_eprop_memory_does_not_grow_with_sequence_length():
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_online

    r = snn.read("lif", dt="1 ms")
    B, M, H, O = 4, 5, 8, 1
    p = {"W_in": jnp.zeros((M, H)), "W_rec": jnp.zeros((H, H)), "W_out": jnp.zeros((H, O)), "b": jnp.zeros(O)}
    temp = []
    with jax.enable_x64(True):
        for T in (100, 800):
            f = jax.jit(lambda q, xx, tt, mm: eprop_online(r, q, xx, tt, mm, readout="all", loss="mse",
                                                           steps_per_sample=1, kappa=0.95, weight_unit=1e-9,
                                                           shape="fast_sigmoid", width=1e-3))
            c = f.lower(p, jnp.zeros((B, T, M)), jnp.zeros((B, T, O)), jnp.ones((B, T), bool)).compile()
            m = c.memory_analysis()
            if m is None:
                pytest.skip("no memory analysis on this backend")
            temp.append(m.temp_size_in_bytes)
    assert temp[1] <= temp[0] + 1024  # a T x B x H array at T = 800 would add 200 kB


@pytest.mark.slow
def test_eprop_differs_from_bptt_with_recurrent_connections():
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_gradient

    r, x, p, t, mask, value, readout_loss = eprop_setup(2.0)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        bptt = jax.jit(jax.grad(value))(pj, jnp.asarray(x), jnp.asarray(t), jnp.asarray(mask))
        ep = jax.jit(lambda q, xx: eprop_gradient(r, q, xx, readout_loss, weight_unit=1e-9, shape="fast_sigmoid",
                                                  width=1e-3))(pj, jnp.asarray(x))
        a, b = np.asarray(ep["W_in"]).ravel(), np.asarray(bptt["W_in"]).ravel()
        assert not np.allclose(a, b, rtol=1e-3)  # the paths through other neurons' spikes are missing


def test_reading_warns_above_the_specs_accuracy_step_like_biodyn_neurons():
    from biodyn import build

    build._STEP_WARNED.discard("adex")
    with pytest.warns(build.AccuracyWarning, match="max_dt"):
        snn.read("adex", dt="0.1 ms")


def test_online_eprop_equals_the_two_pass_form_with_several_steps_per_sample_and_a_partial_mask():
    import jax.numpy as jnp

    from biodyn.learn._eprop import eprop_gradient, eprop_online
    from biodyn.learn._snn import snn_functions

    r = snn.read("lif", dt="1 ms")
    rng = np.random.default_rng(1)
    B, n, S, M, H, O = 3, 12, 3, 5, 6, 2
    x = (rng.random((B, n * S, M)) < 0.1).astype(float)
    p = {"W_in": rng.normal(2.0, 0.7, (M, H)), "W_rec": rng.normal(0, 2.0, (H, H)),
         "W_out": rng.normal(0, 0.5, (H, O)), "b": rng.normal(0, 0.1, O)}
    t, mask = rng.normal(size=(B, n, O)), rng.random((B, n)) < 0.7
    net, value, loss_of = snn_functions(r, "all", "mse", S, 20e-3, 1e-9, "fast_sigmoid", 1e-3)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        tj, mj, xj = jnp.asarray(t), jnp.asarray(mask), jnp.asarray(x)
        two = eprop_gradient(r, pj, xj, lambda s_, W, b: loss_of(net.readout(s_, W, b), tj, mj), weight_unit=1e-9,
                             shape="fast_sigmoid", width=1e-3)
        on = eprop_online(r, pj, xj, tj, mj, readout="all", loss="mse", steps_per_sample=S,
                          kappa=float(np.exp(-1e-3 / 20e-3)), weight_unit=1e-9, shape="fast_sigmoid", width=1e-3)
        for k in ("W_in", "W_rec", "W_out", "b"):
            scale = float(jnp.max(jnp.abs(two[k])))
            assert scale > 0 and float(jnp.max(jnp.abs(on[k] - two[k]))) <= 1e-10 * scale


def test_readout_in_the_time_loop_is_the_leaky_filter_of_the_spikes_and_the_loss_stores_no_spike_array():
    # y_n = kappa y_{n-1} + W_out^T s_n (Bellec et al. 2020), computed in the network's own scan
    # (snn.run's readout): equal to the recursion run in numpy on the spikes, as is snn_functions'
    # readout of given spikes (Brian2's, e-prop's); and jit(loss) holds no (T, B, H) array
    import jax.numpy as jnp

    from biodyn.learn._snn import snn_functions

    r = snn.read("lif", dt="1 ms")
    rng = np.random.default_rng(5)
    B, T, M, H, O, S, kappa = 2, 200, 3, 64, 2, 2, float(np.exp(-1 / 20))
    x = (rng.random((B, T, M)) < 0.2).astype(float)
    p = {"W_in": rng.normal(3.0, 1.0, (M, H)), "W_rec": rng.normal(0, 1.0, (H, H)),
         "W_out": rng.normal(0, 0.5, (H, O)), "b": rng.normal(0, 0.1, O)}
    net, value, loss_of = snn_functions(r, "all", "mse", S, 20e-3, 1e-9, "fast_sigmoid", 1e-3)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v) for k, v in p.items()}
        out, spikes = net(pj, jnp.asarray(x))
        s = np.asarray(spikes)
        assert s.sum() > 500
        y, want = np.zeros((B, O)), []
        for n in range(T):
            y = kappa * y + s[n] @ p["W_out"]
            want.append(y + p["b"])
        want = np.swapaxes(np.array(want)[S - 1::S], 0, 1)
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(net.readout(spikes, pj["W_out"], pj["b"])), want, rtol=1e-12, atol=1e-12)
        t, mask = jnp.zeros((B, T // S, O)), jnp.ones((B, T // S), bool)
        f = jax.jit(value)
        np.testing.assert_allclose(float(f(pj, jnp.asarray(x), t, mask)), np.mean(want ** 2), rtol=1e-12)
        mem = f.lower(pj, jnp.asarray(x), t, mask).compile().memory_analysis()
        if mem is None:
            pytest.skip("no memory analysis on this backend")
        assert mem.temp_size_in_bytes < T * B * H * 8 / 2  # the spikes alone would be T B H float64
