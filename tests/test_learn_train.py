"""biodyn.learn.train: JAX steps and gradients against the numpy cells, and learning."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from biodyn import dynamics, learn  # noqa: E402
from biodyn.ann import RNN  # noqa: E402
from biodyn.learn._task import Task  # noqa: E402
from biodyn.learn._train import jax_loss_and_grad  # noqa: E402
from biodyn.spec import read_toml  # noqa: E402
from biodyn import catalog  # noqa: E402


def small_task(name, train=16, test=8, **parameters):
    data = read_toml(catalog.find(name, "tasks"))
    data["sizes"] = {"train": train, "test": test}
    return Task(name, None, data, parameters)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_jax_step_equals_the_numpy_cell_step_to_1e_13(kind):
    import jax.numpy as jnp

    cell = dynamics.CELLS[kind].random(7, 3, seed=1, g=1.5, bias=0.3)
    rng = np.random.default_rng(0)
    s = rng.normal(size=(5, cell.state_size))
    x = rng.normal(size=(5, 3))
    with jax.enable_x64(True):
        got = np.asarray(dynamics.cell_step(jnp, kind, *(jnp.asarray(a) for a in
                                                          (cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh, s, x))))
    np.testing.assert_allclose(got, cell.step(s, x), rtol=0, atol=1e-13)


def test_jax_step_equals_the_numpy_relu_rnn_step():
    import jax.numpy as jnp

    cell = dynamics.RNNCell.random(6, 2, seed=3, nonlinearity="relu")
    s, x = np.random.default_rng(1).normal(size=(2, 4, 6)), np.ones((4, 2))
    with jax.enable_x64(True):
        got = np.asarray(dynamics.cell_step(jnp, "rnn", cell.W_ih, cell.W_hh, cell.b_ih, cell.b_hh, s[0], x, "relu"))
    np.testing.assert_allclose(got, cell.step(s[0], x), rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("name", ["flipflop_3bit", "sine_classification"])
def test_autodiff_gradients_equal_the_numpy_reverse_time_recursion(kind, name):
    task = small_task(name, n_steps=12)
    b = task.data(0)[0]
    net = RNN(task.n_inputs, 5, task.n_outputs, cell=kind, readout=task.readout, sigma_w=1.3, sigma_b=0.2, seed=4)
    ref = net.backprop(b.x, b.y, task.loss)
    mask = np.ones(len(b), bool) if b.mask is None else b.mask
    with jax.enable_x64(True):
        value, grad, _ = jax_loss_and_grad(kind, 5, task.readout, task.loss)
        L = float(value(net.params, b.x, b.y, mask))
        G = {k: np.asarray(v) for k, v in grad(net.params, b.x, b.y, mask).items()}
    assert abs(L - ref.loss) < 1e-12
    assert set(G) == set(ref.grads)
    for k in G:
        np.testing.assert_allclose(G[k], ref.grads[k], rtol=0, atol=1e-10 * max(1.0, np.abs(ref.grads[k]).max()),
                                   err_msg=k)


def test_masked_mse_is_mse_over_the_scored_steps_only():
    task = small_task("delayed_copy", n_steps=10, delay=4)
    b = task.data(0)[0]
    net = RNN(1, 4, 1, cell="rnn", readout="all", seed=0)
    y = net(b.x)
    expected = np.mean((y[:, 4:, :] - b.y[:, 4:, :]) ** 2)
    with jax.enable_x64(True):
        value, _, _ = jax_loss_and_grad("rnn", 4, "all", "mse")
        assert abs(float(value(net.params, b.x, b.y, b.mask)) - expected) < 1e-13


def test_flipflop_loss_falls_and_the_saved_weights_reproduce_the_network(tmp_path):
    task = small_task("flipflop_3bit", train=64, test=32, n_steps=30, pulse_prob=0.1)
    r = learn.train(task, net="gru", hidden=12, epochs=8, lr=0.02, optimizer="adam", seed=1, batch_size=16)
    c = r.curves
    assert list(c["epoch"]) == list(range(9))
    assert c["train_loss"][-1] < 0.6 * c["train_loss"][0]
    assert c["test_loss"][-1] < 0.7 * c["test_loss"][0]
    assert c["test_metric"][-1] > c["test_metric"][0]
    path = r.save(tmp_path / "weights.npz")
    back = learn.load_result(path)
    assert back.config["net"] == "gru" and back.config["seed"] == 1 and back.config["lr"] == 0.02
    assert back.config["task"]["parameters"]["n_steps"] == 30 and back.config["optimizer"] == "adam"
    assert "jax" in back.config["versions"]
    test = task.data(1)[1]
    with jax.enable_x64(True):
        value, _, _ = jax_loss_and_grad("gru", 12, "all", "mse")
        L = float(value(back.params, test.x, test.y, test.mask))
    # the numpy network with the saved weights gives the same loss (same equations)
    assert abs(back.network().backprop(test.x, test.y, "mse").loss - L) < 1e-12
    np.testing.assert_array_equal(back.curves["test_loss"], c["test_loss"])


def test_training_is_reproducible_from_its_seed_and_plain_gd_also_descends():
    task = small_task("delayed_copy", train=32, test=16, n_steps=12, delay=2)
    a = learn.train(task, net="rnn", hidden=8, epochs=3, lr=0.05, optimizer="gd", seed=3, batch_size=32)
    b = learn.train(task, net="rnn", hidden=8, epochs=3, lr=0.05, optimizer="gd", seed=3, batch_size=32)
    np.testing.assert_array_equal(a.curves["train_loss"], b.curves["train_loss"])
    assert np.all(np.diff(a.curves["train_loss"]) < 0)  # full-batch GD, small step: monotone


def test_train_rejects_bad_arguments_before_training():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="net.*rnn, gru, lstm.*'lsmt'.*lstm"):
        learn.train("flipflop_3bit", net="lsmt")
    with pytest.raises(SpecError, match="optimiser.*'adm'"):
        learn.train("flipflop_3bit", optimizer="adm")
    with pytest.raises(SpecError, match="hidden"):
        learn.train("flipflop_3bit", hidden=0)
    with pytest.raises(SpecError, match="implicit_gd"):
        learn.train("flipflop_3bit", optimizer="implicit_gd")


def test_lyapunov_spectra_along_training_are_those_of_the_numpy_cells_with_the_saved_weights(tmp_path):
    from biodyn.learn._train import spectrum_of

    task = small_task("delayed_copy", train=32, test=8, n_steps=20, delay=3)
    r = learn.train(task, net="lstm", hidden=4, epochs=5, lr=0.02, seed=0, batch_size=16, lyapunov_every=2,
                    lyapunov_steps=200)
    c = r.curves
    assert list(c["lyapunov_epoch"]) == [0, 2, 4, 5]
    assert c["lyapunov_exponents"].shape == (4, 8)  # the LSTM's full (h, c) state: 2H exponents
    back = learn.load_result(r.save(tmp_path / "w.npz"))
    test = task.data(0)[1]
    drive = test.x[:10].reshape(-1, 1)  # ceil(200 / 20) = 10 sequences
    again = spectrum_of(back.params, back.config, drive, None, 200)
    np.testing.assert_allclose(again.exponents, c["lyapunov_exponents"][-1], rtol=0, atol=1e-12)
    assert np.all(np.diff(c["lyapunov_exponents"], axis=1) <= 1e-12)  # sorted, largest first


def test_tanh_rnn_leading_exponent_is_bounded_by_the_log_of_the_largest_singular_value():
    # |tanh'| <= 1, so |D_t v| <= sigma_max(W_hh)|v|: lambda_1 <= log sigma_max(W_hh) at every record
    task = small_task("flipflop_3bit", train=32, test=8, n_steps=20)
    r = learn.train(task, net="rnn", hidden=10, epochs=2, lr=0.02, seed=5, batch_size=16, g=2.0,
                    lyapunov_every=1, lyapunov_steps=300, lyapunov_k=3)
    assert r.curves["lyapunov_exponents"].shape == (3, 3)
    lam1 = r.curves["lyapunov_exponents"][-1, 0]
    assert lam1 <= np.log(np.linalg.norm(r.params["cell.W_hh"], 2)) + 1e-9
    assert np.isfinite(r.curves["lyapunov_entropy_rate"]).all()


def test_the_json_document_has_null_for_non_finite_values():
    r = learn.TrainResult({}, {"epoch": np.array([0, 1]), "train_loss": np.array([1.0, 0.5]),
                               "test_loss": np.array([1.0, 0.6]), "train_metric": np.array([0.5, 0.7]),
                               "test_metric": np.array([0.5, 0.6]),
                               "lyapunov_exponents": np.array([[0.1, -np.inf], [0.0, -1.0]]),
                               "lyapunov_kaplan_yorke": np.array([np.nan, 1.0])}, {})
    doc = r.document()
    assert doc["curves"]["lyapunov_exponents"] == [[0.1, None], [0.0, -1.0]]
    assert doc["curves"]["lyapunov_kaplan_yorke"] == [None, 1.0]
    assert doc["final"]["test_loss"] == 0.6


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_autodiff_gradients_equal_central_finite_differences(kind):
    task = small_task("temporal_xor", n_steps=9, delay=4)
    b = task.data(0)[0]
    net = RNN(1, 4, 1, cell=kind, readout="all", sigma_w=1.2, sigma_b=0.3, seed=2)
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        value, grad, _ = jax_loss_and_grad(kind, 4, "all", "mse")
        G = grad(net.params, b.x, b.y, b.mask)
        for key in ("cell.W_hh", "cell.W_ih", "cell.b_ih", "readout.W"):
            W = net.params[key]
            idx = tuple(rng.integers(0, n) for n in W.shape)
            h = 1e-6
            plus, minus = {**net.params, key: W.copy()}, {**net.params, key: W.copy()}
            plus[key][idx] += h
            minus[key][idx] -= h
            fd = (float(value(plus, b.x, b.y, b.mask)) - float(value(minus, b.x, b.y, b.mask))) / (2 * h)
            assert abs(float(G[key][idx]) - fd) < 1e-8, (key, idx)


def test_jacobian_product_records_are_the_singular_values_of_the_product_over_the_first_test_sequence():
    task = small_task("temporal_xor", train=16, test=4, n_steps=8, delay=2)
    r = learn.train(task, net="gru", hidden=3, epochs=1, lr=0.01, seed=0, batch_size=16, lyapunov_every=1,
                    lyapunov_steps=20)
    net = r.network()
    x = task.data(0)[1].x[:1]
    P = net.input_output_jacobian(x)[0]  # D_8 ... D_1, formed directly (short sequence)
    sv = np.linalg.svd(P, compute_uv=False)
    np.testing.assert_allclose(r.curves["jacobian_product_exponents"][-1], np.log(sv) / 8, rtol=0, atol=1e-10)
    assert abs(r.curves["jacobian_log10_condition"][-1] - np.log10(sv[0] / sv[-1])) < 1e-8


def test_fixed_point_of_a_contracting_tanh_rnn_is_the_origin_with_the_eigenvalues_of_w_hh():
    task = small_task("delayed_copy", train=8, test=8, n_steps=10, delay=2)
    r = learn.train(task, net="rnn", hidden=6, epochs=0, g=0.3, seed=1)  # untrained: no bias, |W| < 1
    W = r.params["cell.W_hh"]
    assert np.linalg.norm(W, 2) < 1  # a contraction: the fixed point is unique
    fps = learn.network_fixed_points(r, n_starts=10)
    assert len(fps) == 1
    p = fps[0]
    np.testing.assert_allclose(p.state, 0.0, atol=1e-10)
    np.testing.assert_allclose(np.sort_complex(p.eigenvalues), np.sort_complex(np.linalg.eigvals(W)), atol=1e-10)
    assert p.stable
    np.testing.assert_allclose(p.output, r.params["readout.b"], atol=1e-10)


@pytest.mark.slow
def test_a_trained_flipflop_network_has_eight_stable_fixed_points_at_the_eight_corners():
    # Sussillo & Barak (2013) Fig. 2: one stable fixed point per memory, saddles between them
    r = learn.train("flipflop_3bit", net="gru", hidden=24, epochs=20, lr=0.01, batch_size=64, seed=0)
    assert r.curves["test_metric"][-1] > 0.999
    stable = [p for p in learn.network_fixed_points(r) if p.stable]
    corners = {tuple(np.sign(p.output).astype(int)) for p in stable}
    assert len(stable) == 8 and len(corners) == 8
    for p in stable:
        assert np.max(np.abs(np.abs(p.output) - 1)) < 0.3


def test_a_linear_rnn_with_normal_w_has_the_log_moduli_of_the_eigenvalues_of_w_as_exponents():
    # h <- W h + U x + b: a ReLU RNN kept in the positive orthant (W, U >= 0, x >= 0, b > 0) is this
    # linear map exactly, its tangent map is W at every step, and for a normal W (here circulant)
    # the exponents are log|eig(W)| (conjugate pairs give equal exponents)
    from biodyn.learn._train import spectrum_of

    H = 6
    row = np.array([0.45, 0.25, 0.12, 0.06, 0.03, 0.01])
    W = np.array([np.roll(row, i) for i in range(H)])
    assert np.allclose(W @ W.T, W.T @ W)  # normal
    rng = np.random.default_rng(0)
    params = {"cell.W_hh": W, "cell.W_ih": rng.uniform(0, 1, (H, 2)), "cell.b_hh": np.full(H, 0.1),
              "cell.b_ih": np.zeros(H), "readout.W": np.zeros((1, H)), "readout.b": np.zeros(1)}
    config = {"n_inputs": 2, "hidden": H, "n_outputs": 1, "net": "rnn", "nonlinearity": "relu",
              "readout": "all", "seed": 0}
    res = spectrum_of(params, config, rng.uniform(0, 1, (50, 2)), steps=400)
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(W))))[::-1]
    np.testing.assert_allclose(res.exponents, expected, rtol=0, atol=1e-6)


def test_train_takes_the_tasks_training_defaults_unless_given():
    pytest.importorskip("jax")
    task = small_task("sine_generation", train=8, test=4, n_steps=10)
    c = learn.train(task, net="gru", epochs=0).config
    assert (c["hidden"], c["lr"], c["batch_size"], c["g"], c["optimizer"]) == (32, 0.003, 8, 1.5, "adam")
    assert c["task_defaults_used"] == ["batch_size", "g", "hidden", "lr", "optimizer"]
    c = learn.train(task, net="gru", epochs=0, hidden=4, lr=0.1, g=1.0).config
    assert (c["hidden"], c["lr"], c["g"]) == (4, 0.1, 1.0)
    c = learn.train(small_task("delayed_copy", train=8, test=4, n_steps=10), epochs=0).config
    assert (c["hidden"], c["lr"], c["g"]) == (32, 0.01, 1.0)


def test_train_records_where_each_setting_came_from_argument_task_table_or_default():
    """sine_generation's [training] sets hidden, epochs, lr, batch_size and g, not optimizer.
    Given hidden and g (g = 1.0, TRAIN_DEFAULTS' value: the source is who gave it, not a
    comparison of values), the table gives lr and batch_size, TRAIN_DEFAULTS the optimizer."""
    task = small_task("sine_generation", train=8, test=4, n_steps=5)
    c = learn.train(task, net="rnn", hidden=3, epochs=0, g=1.0).config
    assert c["sources"] == {"hidden": "argument", "epochs": "argument", "lr": "task", "optimizer": "default",
                            "batch_size": "task", "g": "argument"}
    assert (c["hidden"], c["epochs"], c["lr"], c["optimizer"], c["batch_size"], c["g"]) == (
        3, 0, 0.003, learn.TRAIN_DEFAULTS["optimizer"], 8, 1.0)  # batch 16 of the table, at most the 8 sequences
    assert set(c["sources"]) == set(learn.TRAIN_DEFAULTS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_sine_generation_gru_at_the_task_defaults_reaches_r2_above_0_9(seed):
    # what `biodyn train sine_generation --net gru` runs (Sussillo & Abbott 2009's g = 1.5)
    r = learn.train("sine_generation", net="gru", seed=seed)
    assert r.curves["test_metric"][-1] > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_context_integration_gru_at_the_task_defaults_reaches_accuracy_above_0_9(seed):
    # what `biodyn train context_integration --net gru` runs (Mante et al. 2013's task; ideal observer 0.97)
    r = learn.train("context_integration", net="gru", seed=seed)
    assert r.curves["test_metric"][-1] > 0.9


TASKS = ["flipflop_3bit", "delayed_copy", "temporal_xor", "sine_generation", "context_integration",
         "sine_classification"]


@pytest.mark.slow
@pytest.mark.parametrize("net", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("name", TASKS)
def test_every_task_trains_with_every_cell_for_one_epoch_with_spectra(name, net):
    task = small_task(name, train=8, test=4)
    r = learn.train(task, net=net, hidden=3, epochs=1, batch_size=4, lyapunov_every=1, lyapunov_steps=20)
    assert list(r.curves["epoch"]) == [0, 1]
    assert np.all(np.isfinite(r.curves["test_loss"]))
    lam = np.asarray(r.curves["lyapunov_exponents"])
    assert lam.shape == (2, 6 if net == "lstm" else 3) and np.all(np.isfinite(lam))
    assert np.all(np.diff(lam, axis=1) <= 1e-12)  # ordered, largest first


def test_epochs_error_says_zero_is_allowed_and_a_negative_gain_is_refused():
    from biodyn.errors import SpecError

    # 0 epochs (the untrained network) is accepted, so the message must not say "positive"
    with pytest.raises(SpecError, match=r"epochs: expected a non-negative integer .*found -1"):
        learn.train("flipflop_3bit", epochs=-1)
    # W_hh ~ N(0, g^2/H): a negative g is a typo, not a gain (a task file's g is checked too)
    with pytest.raises(SpecError, match=r"\bg: expected a gain >= 0.*found -1"):
        learn.train("flipflop_3bit", g=-1.0)


def test_clip_by_global_norm_keeps_the_direction_and_caps_the_norm():
    from biodyn.learn._train import clip_by_global_norm

    g = np.array([3.0, -4.0, 12.0])  # norm 13
    clipped, norm = clip_by_global_norm(g, 1.3)
    assert norm == 13.0 and np.allclose(clipped, g / 10.0)
    same, _ = clip_by_global_norm(g, 20.0)
    assert np.array_equal(same, g)  # under the cap: untouched
    assert np.array_equal(clip_by_global_norm(g, None)[0], g)


def test_clipped_training_update_has_at_most_the_clip_norm_along_the_unclipped_direction():
    # one gd update (one minibatch of the whole training set): theta_1 - theta_0 = -lr * g, clipped
    # to norm <= lr * c along the unclipped gradient (Pascanu et al. 2013)
    from biodyn.errors import SpecError

    # the shapes of the reproducibility test above: the compiled loss is reused
    task = small_task("delayed_copy", train=32, test=16, n_steps=12, delay=2)
    kw = dict(net="rnn", hidden=8, epochs=1, lr=0.1, optimizer="gd", seed=3, batch_size=32)
    start = learn.train(task, **{**kw, "epochs": 0})
    free = learn.train(task, **kw)
    c = 1e-3
    clipped = learn.train(task, **kw, clip_grad=c)
    keys = sorted(start.params)
    d_free = np.concatenate([(free.params[k] - start.params[k]).ravel() for k in keys])
    d_clip = np.concatenate([(clipped.params[k] - start.params[k]).ravel() for k in keys])
    assert np.linalg.norm(d_free) > 10 * 0.1 * c  # the cap binds
    assert np.linalg.norm(d_clip) <= 0.1 * c * (1 + 1e-12)
    assert np.isclose(np.linalg.norm(d_clip), 0.1 * c, rtol=1e-9)
    cos = d_clip @ d_free / (np.linalg.norm(d_clip) * np.linalg.norm(d_free))
    assert cos > 1 - 1e-12
    assert clipped.config["clip_grad"] == c and clipped.config["clipped_gradients"] == 1
    assert clipped.config["gradients"] == 1 and free.config["clip_grad"] is None
    assert "clipped_gradients" not in free.config
    loose = learn.train(task, **kw, clip_grad=1e9)  # a cap that never binds changes nothing
    assert all(np.array_equal(loose.params[k], free.params[k]) for k in keys)
    for bad in (0.0, -1.0, float("inf"), True):
        with pytest.raises(SpecError, match="clip_grad"):
            learn.train(task, **kw, clip_grad=bad)


def _gain_probe_task(monkeypatch):
    """A task whose generator has a parameter named like learn.train's keyword ``g``: inputs of
    amplitude exactly ``g`` (so where the value went is read off the data)."""
    from biodyn.learn._generators import GENERATORS, Batch

    def gain_probe(n, rng, n_steps=4, g=1.0):
        x = np.full((int(n), int(n_steps), 1), float(g))
        return Batch(x, rng.normal(size=(int(n), int(n_steps), 1)), np.ones((int(n), int(n_steps)), bool))

    monkeypatch.setitem(GENERATORS, "gain_probe", gain_probe)
    data = {"kind": "task", "description": "inputs of amplitude g", "generator": "gain_probe", "readout": "all",
            "loss": "mse", "metric": "r2", "parameters": {"n_steps": {"value": 4, "unit": "step"}},
            "sizes": {"train": 8, "test": 4},
            "citation": {"authors": "none", "year": 2026, "journal": "test", "doi": "none"}}
    return Task("gain_probe", None, data)


def test_train_parameters_named_like_a_training_setting_reach_the_task_not_the_setting(monkeypatch):
    """parameters={"g": 0.25} is the task's g (inputs of amplitude 0.25), not the recurrent gain:
    that stays the default 1.0 (source "default"), or the keyword's value when g= is given too."""
    task = _gain_probe_task(monkeypatch)
    r = learn.train(task, parameters={"g": 0.25}, hidden=3, epochs=0)
    assert r.config["g"] == 1.0 and r.config["sources"]["g"] == "default"
    assert r.config["task"]["parameters"]["g"] == 0.25
    assert np.all(r.task.data(0)[0].x == 0.25)
    assert r.config["task"]["parameter_sources"] == {"n_steps": "task", "g": "argument"}
    r = learn.train(task, parameters={"g": 0.25}, g=2.0, hidden=3, epochs=0)
    assert (r.config["g"], r.config["sources"]["g"], r.config["task"]["parameters"]["g"]) == (2.0, "argument", 0.25)
    r = learn.train(task, hidden=3, epochs=0)  # nothing given: the generator's default, recorded as such
    assert r.config["task"]["parameter_sources"]["g"] == "default" and np.all(r.task.data(0)[0].x == 1.0)


def test_train_parameters_of_spike_patterns_rate_reach_the_task_and_are_recorded_with_their_source():
    task = small_task("spike_patterns", train=8, test=4, n_steps=10)
    c = learn.train(task, parameters={"rate": 0.05}, hidden=3, epochs=0).config
    assert c["task"]["parameters"]["rate"] == 0.05
    src = c["task"]["parameter_sources"]
    assert (src["rate"], src["n_steps"], src["jitter"], src["pattern_seed"]) == ("argument", "argument", "task",
                                                                                 "default")


def test_train_refuses_a_loose_keyword_that_is_both_a_training_setting_and_a_task_parameter():
    """rate= would be spike_patterns' rate in learn.train but the input encoding's in train_snn:
    one SpecError naming the keyword and pointing to parameters=, before any data are drawn."""
    task = small_task("spike_patterns", train=8, test=4, n_steps=10)
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as e:
        learn.train(task, rate=0.05, hidden=3, epochs=0)
    assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "rate", "rate=0.05")
    assert "parameters={'rate': 0.05}" in str(e.value)
    # a spiking setting that is no parameter of the task: not learn.train's either
    with pytest.raises(SpecError, match="train_snn") as e:
        learn.train(small_task("delayed_copy", train=8, test=4, n_steps=10), dt="1 ms", epochs=0)
    assert e.value.key == "dt"


def test_train_keeps_loose_task_parameters_that_name_no_training_setting_and_refuses_a_name_given_twice():
    from biodyn.errors import SpecError

    task = small_task("delayed_copy", train=8, test=4, n_steps=10)
    c = learn.train(task, delay=2, hidden=3, epochs=0).config
    assert c["task"]["parameters"]["delay"] == 2 and c["task"]["parameter_sources"]["delay"] == "argument"
    c2 = learn.train(task, parameters={"delay": 2}, hidden=3, epochs=0).config
    assert c2["task"]["parameters"] == c["task"]["parameters"]
    with pytest.raises(SpecError, match="each task parameter once") as e:
        learn.train(task, delay=2, parameters={"delay": 3}, epochs=0)
    assert e.value.key == "delay"
    with pytest.raises(SpecError, match="a mapping") as e:
        learn.train(task, parameters=[("delay", 2)], epochs=0)
    assert e.value.key == "parameters"


def test_a_typo_in_train_parameters_names_the_keyword_and_the_valid_task_parameters():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as e:
        learn.train("delayed_copy", parameters={"dealy": 3}, epochs=0)
    assert (e.value.file, e.value.key) == ("<arguments>", "parameters.dealy")
    assert "delay" in e.value.expected and "n_steps" in e.value.expected and "delay" in (e.value.hint or "")
    # a value out of range is named as given too, and a training setting points to its keyword
    with pytest.raises(SpecError) as e:
        learn.train("delayed_copy", parameters={"delay": 0}, epochs=0)
    assert e.value.key == "parameters.delay"
    with pytest.raises(SpecError, match="hidden=3") as e:
        learn.train("delayed_copy", parameters={"hidden": 3}, epochs=0)
    assert e.value.key == "parameters.hidden"
    with pytest.raises(SpecError, match="spiking") as e:  # rate is no setting of learn.train: no "give it as rate="
        learn.train("delayed_copy", parameters={"rate": 3}, epochs=0)
    assert e.value.key == "parameters.rate" and "give it as" not in str(e.value)
