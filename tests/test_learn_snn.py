"""biodyn train TASK --net lif: spiking networks of catalog neurons from the command line."""

import json

import numpy as np
import pytest

pytest.importorskip("jax")

from biodyn import catalog  # noqa: E402
from biodyn.cli import main  # noqa: E402


def small_task_file(folder, name, train, test):
    data = catalog.find(name, "tasks").read_text()
    import re

    data = re.sub(r"train = \d+", f"train = {train}", data)
    data = re.sub(r"test = \d+", f"test = {test}", data)
    path = folder / f"small_{name}.toml"
    path.write_text(data)
    return path


@pytest.mark.slow  # ~10 s; the CLI path is also run by test_learn_rstdp.py
def test_biodyn_train_net_lif_writes_weights_figure_and_json_learning_curves(tmp_path, capsys):
    spec = small_task_file(tmp_path, "spike_patterns", 16, 8)
    out = tmp_path / "out"
    code = main(["-q", "train", str(spec), "--net", "lif", "--learner", "readout", "--hidden", "10", "--epochs", "2",
                 "--batch-size", "8", "--set", "n_steps=40", "--seed", "3", "--out", str(out),
                 "--json", str(tmp_path / "run.json")])
    assert code == 0
    assert "lif network H = 10, learner readout" in capsys.readouterr().out
    doc = json.loads((tmp_path / "run.json").read_text())
    c = doc["config"]
    assert c["learner"] == "readout" and c["model"] == "lif" and c["parameter_set"] == "dayan_abbott_2001"
    assert c["seed"] == 3 and c["method"] == "exact" and c["task"]["parameters"]["n_steps"] == 40
    assert len(doc["curves"]["test_loss"]) == 3 and len(doc["curves"]["alignment"]) == 3
    assert doc["curves"]["alignment"][0] is None  # no update at epoch 0
    stem = "small_spike_patterns-lif-readout-h10-s3"
    assert (out / f"{stem}.npz").is_file() and (out / f"{stem}.png").is_file()
    # the trained weights run back in Brian2 (the catalog spec, numpy target): same spikes, same metric
    b = doc["brian"]
    assert b["identical_spikes"] and b["n_sequences"] == 8 and b["spikes_brian"] > 0
    assert b["test_metric_brian"] == b["test_metric_jax"]
    with np.load(out / f"{stem}.npz") as z:
        assert z["param.W_rec"].shape == (10, 10) and z["param.W_out"].shape == (10, 3)


def test_biodyn_train_net_lif_encodes_an_analog_task_as_poisson_spikes(tmp_path):
    from biodyn.learn import load_task
    from biodyn.learn._snn import encode, train_snn

    task = load_task(small_task_file(tmp_path, "temporal_xor", 8, 4), n_steps=12, delay=2)
    b = task.generate(3, 0)
    x = encode(task, b, rate_hz=200.0, steps_per_sample=5, n_per_channel=2, dt=1e-3, rng=np.random.default_rng(0))
    assert x.shape == (3, 60, 4)  # 12 task steps x 5; (x+, x-) x 2 per channel
    pos = (b.x[:, :, 0] > 0).repeat(5, axis=1)
    assert np.all(x[:, :, :2][~pos] == 0) and np.all(x[:, :, 2:][pos] == 0)  # x+ fires only for +1, x- for -1
    lat = encode(task, b, encoding="latency", steps_per_sample=5, n_per_channel=1, dt=1e-3)
    np.testing.assert_array_equal(lat.reshape(3, 12, 5, 2).sum(axis=2), np.stack([b.x[..., 0] > 0, b.x[..., 0] < 0], -1))
    # temporal_xor's [training.spiking] table asks for latency spikes: poisson is asked for here
    r = train_snn(task, hidden=8, epochs=1, batch_size=4, steps_per_sample=5, n_per_channel=2, encoding="poisson")
    assert len(r.curves["test_metric"]) == 2 and r.config["encoding"]["kind"] == "poisson"


def test_biodyn_train_net_lif_errors_are_one_line_and_come_before_training(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["train", "spike_patterns", "--net", "lif", "--learner", "bpt", "--out", out]) == 2
    assert "bptt" in capsys.readouterr().err
    assert main(["train", "spike_patterns", "--net", "rnn", "--learner", "bptt", "--out", out]) == 2
    assert "--learner" in capsys.readouterr().err
    assert main(["train", "spike_patterns", "--net", "lif", "--neuron", "lif_cond", "--surrogate", "fast", "--out", out]) == 2
    assert "fast_sigmoid" in capsys.readouterr().err
    assert main(["train", "spike_patterns", "--net", "lif", "--lyapunov-every", "2", "--out", out]) == 2
    assert "--lyapunov-every" in capsys.readouterr().err
    assert main(["train", "spike_patterns", "--net", "lif", "--encoding", "latency", "--out", out]) == 2
    assert "already spikes" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_eprop_learners_train_and_their_alignment_with_bptt_is_recorded(tmp_path):
    from biodyn.learn._snn import train_snn

    task_file = small_task_file(tmp_path, "spike_patterns", 16, 8)
    for learner in ("eprop", "eprop_random"):
        r = train_snn(str(task_file), learner=learner, hidden=8, epochs=2, batch_size=8, n_steps=40, seed=1)
        a = r.curves["alignment"][1:]
        assert np.all(np.isfinite(a)) and np.all(a < 1.0 - 1e-9) and np.all(a > -1)
        assert r.curves["train_loss"][-1] < r.curves["train_loss"][0]


def test_the_adjoint_probe_leaves_the_trajectory_and_is_zero_after_the_last_step():
    import jax
    import jax.numpy as jnp

    from biodyn import snn
    from biodyn.learn._snn import _compiled, snn_functions

    r = snn.read("lif", dt="1 ms")
    rng = np.random.default_rng(0)
    B, T, M, H = 3, 40, 6, 5
    x = jnp.asarray((rng.random((B, T, M)) < 0.1).astype(float))
    p = {"W_in": jnp.asarray(rng.normal(3, 1, (M, H))), "W_rec": jnp.asarray(rng.normal(0, 1, (H, H))),
         "W_out": jnp.asarray(rng.normal(0, 1, (H, 1))), "b": jnp.zeros(1)}
    t, mask = jnp.asarray(rng.normal(size=(B, T, 1))), jnp.ones((B, T), bool)
    with jax.enable_x64(True):
        net, value, _ = snn_functions(r, "all", "mse", 1, 20e-3, 1e-9, "fast_sigmoid", 1e-3)
        y0, s0 = net(p, x)
        y1, s1 = net(p, x, {"v": jnp.zeros((T, B, H))})
        np.testing.assert_array_equal(np.asarray(y0), np.asarray(y1))
        assert float(jnp.sum(s0)) > 10
        adjoint = _compiled("lif", None, "5 ms", "1 ms", "all", "mse", 1, 20e-3, 1e-9, "fast_sigmoid", 1e-3)[3]
        norms = np.asarray(adjoint(p, x, t, mask))
    assert norms.shape == (T,) and norms[-1] == 0.0 and np.all(norms[:-1] > 0)


@pytest.mark.slow  # ~1.5 CPU minutes (8 epochs of 16 updates on 1.7 s trials); several wall minutes under load
def test_alif_network_learns_cue_accumulation_beyond_chance_with_bptt():
    # Bellec et al. (2020, Fig. 3): ALIF thresholds (tau_a = 2 s) hold the cue count over the delay.
    # Measured with these settings: test sign accuracy 0.50 at start, 0.68 after 8 epochs (seed 0)
    from biodyn.learn._snn import train_snn

    res = train_snn("cue_accumulation", model="alif", learner="bptt", hidden=100, epochs=8, lr=0.03, batch_size=16,
                    seed=0, w_in=6.0)
    c = res.curves
    assert abs(c["test_metric"][0] - 0.5) < 0.05
    assert c["test_metric"][-1] > 0.62 and c["test_loss"][-1] < c["test_loss"][0]


@pytest.mark.slow  # ~3 CPU minutes (e-prop's eligibility over 140 presynaptic x 100 neurons x 3 state variables)
def test_alif_network_learns_cue_accumulation_by_eprop_beyond_the_last_cue_baseline():
    # remembering the last cue alone answers 65 % of trials (p_group = 0.3; the task's notes); e-prop
    # with ALIF counts them: measured 0.85 test sign accuracy after 3 epochs, 0.90 after 4 (seed 0)
    from biodyn.learn._snn import train_snn

    res = train_snn("cue_accumulation", model="alif", learner="eprop", hidden=100, epochs=3, lr=0.03, batch_size=16,
                    seed=0, w_in=6.0)
    assert res.curves["test_metric"][-1] > 0.8


def test_snn_settings_come_from_arguments_then_the_tasks_training_spiking_table_then_defaults(tmp_path):
    from biodyn.learn._snn import SNN_DEFAULTS, settings

    text = catalog.find("delayed_copy", "tasks").read_text().split("[training.spiking]")[0]
    path = tmp_path / "copy.toml"
    path.write_text(text + "\n[training.spiking]\nhidden = 5\nencoding = 'latency'\ntau_out = '3 ms'\n")
    s = settings(str(path), hidden=None, lr=0.5, encoding=None)
    assert (s["hidden"], s["encoding"], s["tau_out"], s["lr"]) == (5, "latency", "3 ms", 0.5)
    assert s["epochs"] == SNN_DEFAULTS["epochs"] and s["w_in"] == SNN_DEFAULTS["w_in"]
    assert settings(str(path), hidden=9)["hidden"] == 9


def test_a_tasks_spiking_parameters_apply_unless_the_caller_sets_them(tmp_path):
    from biodyn.learn import load_task
    from biodyn.learn._snn import spiking_task

    path = tmp_path / "xor.toml"
    path.write_text(catalog.find("temporal_xor", "tasks").read_text().split("[training.spiking]")[0]
                    + "\n[training.spiking]\nparameters = {delay = 2}\n")
    task, applied = spiking_task(str(path))
    assert task.parameters["delay"] == 2 and applied == {"delay": 2}
    assert load_task(str(path)).parameters["delay"] == 6  # a rate network keeps the task's own
    task, applied = spiking_task(str(path), delay=4)
    assert task.parameters["delay"] == 4 and applied == {}
    task, applied = spiking_task(load_task(str(path), delay=3), n_steps=30)
    assert (task.parameters["delay"], task.parameters["n_steps"], applied) == (3, 30, {})


@pytest.mark.slow  # ~15-35 s (two compilations)
def test_train_snn_takes_the_tasks_training_spiking_defaults_and_explicit_arguments_win(tmp_path):
    from biodyn import catalog
    from biodyn.learn._snn import train_snn

    text = catalog.find("delayed_copy", "tasks").read_text().split("[training.spiking]")[0]
    text = text.replace("train = 512", "train = 4").replace("test = 256", "test = 4")
    path = tmp_path / "copy.toml"
    path.write_text(text + "\n[training.spiking]\nhidden = 5\nencoding = 'latency'\nsteps_per_sample = 2\n"
                    "tau_out = '3 ms'\nlr = 0.005\nparameters = {delay = 2}\n")
    r = train_snn(str(path), epochs=0, n_steps=8)
    c = r.config
    assert c["task"]["parameters"]["delay"] == 2 and c["task_parameters_for_spiking"] == {"delay": 2}
    assert (c["hidden"], c["tau_out"], c["lr"]) == (5, "3 ms", 0.005)
    assert c["encoding"]["kind"] == "latency" and c["encoding"]["steps_per_sample"] == 2
    assert c["task"]["spiking_training"]["hidden"] == 5
    r = train_snn(str(path), epochs=0, n_steps=8, hidden=6, encoding="poisson")
    assert r.config["hidden"] == 6 and r.config["encoding"]["kind"] == "poisson"


@pytest.mark.parametrize("flag, value", [("--w-in", "-1"), ("--w-in", "nan"), ("--w-rec", "-0.5")])
def test_negative_initial_weight_scales_are_one_line_errors_not_internal_errors(flag, value, tmp_path, capsys):
    """--w-in -1 was 'internal error: ValueError: scale < 0' after the task was built."""
    out = tmp_path / "o"
    assert main(["train", "spike_patterns", "--net", "lif", flag, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biodyn: error:") and flag in err and value in err  # the flag as typed
    assert "internal error" not in err and not out.exists()


def test_brian_check_below_zero_and_an_unknown_target_are_one_line_errors_before_training(tmp_path, capsys):
    """--brian-check -1 was an internal ValueError after training; --target cpp was accepted
    (unchecked) when nothing ran in Brian2."""
    out = tmp_path / "o"
    assert main(["train", "spike_patterns", "--net", "lif", "--brian-check", "-1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--brian-check" in err and "-1" in err and "internal error" not in err
    assert main(["train", "spike_patterns", "--net", "lif", "--target", "cpp", "--brian-check", "0",
                 "--no-dynamics", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cpp_standalone" in err and "internal error" not in err and not out.exists()


def test_load_result_reads_the_weights_of_a_spiking_training_and_refuses_a_file_without_weights(tmp_path):
    """biodyn.learn.load_result of `biodyn train --net lif`'s .npz returned a result with NO
    parameters (its keys are param.W_in, the rate networks' param/W_hh): a user loading the
    trained weights into Brian2 got an empty dict, silently."""
    from types import SimpleNamespace

    from biodyn import learn
    from biodyn.errors import BiodynError
    from biodyn.learn._snn import SNNTrainResult

    rng = np.random.default_rng(0)
    params = {"W_in": rng.normal(size=(5, 3)), "W_rec": rng.normal(size=(3, 3)), "W_out": rng.normal(size=(3, 2)),
              "b": np.zeros(2)}
    fake = SimpleNamespace(params=params, curves={"epoch": [0, 1], "test_metric": [0.5, 0.6]},
                           config={"net": "lif (bptt)", "weight_unit": "1. nA", "hidden": 3})
    path = SNNTrainResult.save(fake, tmp_path / "w.npz")
    back = learn.load_result(path)
    assert set(back.params) == set(params)
    for k in params:
        np.testing.assert_array_equal(back.params[k], params[k])
    assert back.config["weight_unit"] == "1. nA" and list(back.curves["epoch"]) == [0, 1]
    np.savez(tmp_path / "empty.npz", config=np.asarray("{}"))
    with pytest.raises(BiodynError, match="no trained parameters"):
        learn.load_result(tmp_path / "empty.npz")


def test_the_neuron_of_a_spiking_network_comes_from_the_argument_then_the_tasks_table_then_lif():
    """cue_accumulation's [training.spiking] values were tuned on alif neurons (Bellec et al. 2020):
    --net lif without --neuron used to run them on lif neurons, silently."""
    from biodyn.learn import load_task
    from biodyn.learn._snn import neuron_of

    assert load_task("cue_accumulation").spiking_training["neuron"] == "alif"
    assert neuron_of("cue_accumulation") == ("alif", "task")
    assert neuron_of("cue_accumulation", "lif") == ("lif", "argument")
    assert neuron_of("temporal_xor") == ("lif", "default")  # tuned on lif: no neuron key


@pytest.mark.parametrize("value, hint", [("alfi", "alif"), ("stdp_pair", None), (3, None)])
def test_a_bad_training_spiking_neuron_is_one_spec_error_naming_the_task_file_and_key(tmp_path, value, hint):
    from biodyn.errors import SpecError
    from biodyn.learn import load_task

    toml = f'"{value}"' if isinstance(value, str) else str(value)
    path = tmp_path / "cue.toml"
    path.write_text(catalog.find("cue_accumulation", "tasks").read_text().replace('neuron = "alif"', f"neuron = {toml}"))
    with pytest.raises(SpecError) as e:
        load_task(str(path))
    assert e.value.key == "training.spiking.neuron" and "cue.toml" in e.value.file and repr(value) in str(e.value)
    if hint:
        assert hint in e.value.hint


def test_a_tasks_neuron_the_spiking_reading_cannot_read_is_named_as_the_tasks_key_before_training(tmp_path):
    """izhikevich is a catalog neuron whose input I is in volts (not a current synapses can add to)."""
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    path = tmp_path / "cue.toml"
    path.write_text(catalog.find("cue_accumulation", "tasks").read_text().replace('neuron = "alif"',
                                                                                 'neuron = "izhikevich"'))
    with pytest.raises(SpecError) as e:
        train_snn(str(path), epochs=0)
    assert e.value.key == "training.spiking.neuron" and e.value.file.endswith("cue.toml")
    assert "'izhikevich'" in e.value.found and "--neuron" in e.value.hint


def test_biodyn_train_cue_accumulation_net_lif_without_neuron_trains_alif_and_records_where_it_came_from(
        tmp_path, capsys):
    spec = small_task_file(tmp_path, "cue_accumulation", 2, 2)
    tiny = ["--hidden", "4", "--epochs", "1", "--batch-size", "2", "--set", "n_cues=1", "--set", "cue_steps=3",
            "--set", "gap_steps=1", "--set", "delay_steps=3", "--set", "recall_steps=3", "--brian-check", "0",
            "--no-dynamics"]
    out = tmp_path / "out"
    # (--clip-grad rides along, a cap that never binds: the flag reaches the spiking training, recorded)
    assert main(["-q", "train", str(spec), "--net", "lif", *tiny, "--clip-grad", "1e9", "--out", str(out),
                 "--json", str(tmp_path / "a.json")]) == 0
    c = json.loads((tmp_path / "a.json").read_text())["config"]
    assert (c["model"], c["model_source"], c["parameter_set"]) == ("alif", "task", "bellec_2020")
    assert (c["clip_grad"], c["clipped_gradients"], c["gradients"]) == (1e9, 0, 1)
    assert c["task_defaults_used"] == ["lr", "neuron", "w_in"]  # the table's, the flags not given
    assert (c["lr"], c["init"]["w_in"]) == (0.03, 6.0)
    assert (out / "small_cue_accumulation-alif-bptt-h4-s0.npz").is_file()
    assert "neuron alif: the task's [training.spiking] neuron" in capsys.readouterr().out
    # the flag wins: --neuron izhikevich is read (and refused by the reading, naming its own spec, not the task)
    assert main(["train", str(spec), "--net", "lif", "--neuron", "izhikevich", *tiny, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "izhikevich.toml" in err and "training.spiking.neuron" not in err


@pytest.mark.slow  # ~6 s, nearly all JAX compilation of the network's four functions
def test_a_clipped_spiking_update_has_norm_lr_times_the_clip_along_the_unclipped_direction(tmp_path):
    """--clip-grad for --net lif (Pascanu et al. 2013): one plain-gd update over the whole training
    set is theta_1 - theta_0 = -lr g, clipped to norm lr c along the unclipped g."""
    from biodyn.learn._snn import train_snn

    spec = small_task_file(tmp_path, "spike_patterns", 4, 2)
    kw = dict(learner="bptt", hidden=6, epochs=1, lr=0.1, optimizer="gd", batch_size=4, seed=1, n_steps=20)
    start = train_snn(str(spec), **{**kw, "epochs": 0})
    free = train_snn(str(spec), **kw)
    c = 1e-4
    clipped = train_snn(str(spec), **kw, clip_grad=c)
    keys = sorted(start.params)
    d_free = np.concatenate([(free.params[k] - start.params[k]).ravel() for k in keys])
    d_clip = np.concatenate([(clipped.params[k] - start.params[k]).ravel() for k in keys])
    assert np.linalg.norm(d_free) > 10 * 0.1 * c  # the cap binds
    assert np.isclose(np.linalg.norm(d_clip), 0.1 * c, rtol=1e-9)
    assert d_clip @ d_free / (np.linalg.norm(d_clip) * np.linalg.norm(d_free)) > 1 - 1e-12
    assert (clipped.config["clip_grad"], clipped.config["clipped_gradients"], clipped.config["gradients"]) == (c, 1, 1)
    assert free.config["clip_grad"] is None and "clipped_gradients" not in free.config
    loose = train_snn(str(spec), **kw, clip_grad=1e9)  # a cap that never binds changes nothing
    assert all(np.array_equal(loose.params[k], free.params[k]) for k in keys)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), True, "1"])
def test_a_spiking_networks_clip_norm_is_checked_before_anything_is_compiled(bad):
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    with pytest.raises(SpecError) as e:
        train_snn("spike_patterns", clip_grad=bad)
    assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "clip_grad", repr(bad))


def _settings_of(config):
    """The training settings a spiking config records (what shaped the training, not the run)."""
    keep = ("model", "parameter_set", "learner", "hidden", "epochs", "lr", "optimizer", "optimizer_options",
            "batch_size", "dt_ms", "tau_syn", "tau_out", "surrogate", "weight_unit", "init", "encoding", "seed",
            "steps", "sources", "task_defaults_used")
    return {k: config[k] for k in keep}


def test_biodyn_train_net_lif_and_train_snn_given_nothing_train_with_the_same_settings_from_one_table(
        tmp_path, monkeypatch):
    """The CLI reads the generic defaults from SNN_DEFAULTS (patched here to a tiny network, so
    both paths must follow the patch); before, it passed its own 32 / 30 / 0.01 / 64."""
    from biodyn import jobs
    from biodyn.learn._snn import SNN_DEFAULTS, train_snn

    for key, value in (("hidden", 3), ("epochs", 1), ("batch_size", 2), ("lr", 0.004)):
        monkeypatch.setitem(SNN_DEFAULTS, key, value)
    spec = small_task_file(tmp_path, "spike_patterns", 2, 2)  # no [training.spiking] table
    assert main(["-q", "train", str(spec), "--net", "lif", "--set", "n_steps=6", "--brian-check", "0",
                 "--no-dynamics", "--out", str(tmp_path / "cli"), "--json", str(tmp_path / "cli.json")]) == 0
    cli = json.loads((tmp_path / "cli.json").read_text())["config"]
    lib = train_snn(str(spec), n_steps=6).config
    job = jobs.train_snn(str(spec), n_steps=6, brian_check=0, dynamics=False, figure=False,
                         out=tmp_path / "job").summary["config"]
    hyper = ("hidden", "epochs", "batch_size", "lr")
    assert [cli[k] for k in hyper] == [lib[k] for k in hyper] == [job[k] for k in hyper] == [3, 1, 2, 0.004]
    assert _settings_of(cli) == _settings_of(json.loads(json.dumps(lib))) == _settings_of(job)
    assert cli["sources"] == {"neuron": "default", **{k: "default" for k in SNN_DEFAULTS}}


def test_train_snn_records_where_each_setting_came_from_argument_task_table_or_default(tmp_path):
    from biodyn.learn._snn import SNN_DEFAULTS, settings_and_sources

    text = catalog.find("delayed_copy", "tasks").read_text().split("[training.spiking]")[0]
    path = tmp_path / "copy.toml"
    path.write_text(text + "\n[training.spiking]\nneuron = 'alif'\nhidden = 5\ntau_out = '3 ms'\n")
    values, sources = settings_and_sources(str(path), hidden=None, lr=0.5, dt="0.5 ms")
    assert (values["hidden"], values["lr"], values["dt"], values["epochs"]) == (5, 0.5, "0.5 ms",
                                                                                 SNN_DEFAULTS["epochs"])
    assert (sources["hidden"], sources["tau_out"], sources["lr"], sources["dt"], sources["epochs"]) == (
        "task", "task", "argument", "argument", "default")
    assert set(sources) == set(SNN_DEFAULTS)


def test_biodyn_train_help_prints_the_generic_defaults_of_the_libraries_tables(capsys):
    """The numbers in --help are SNN_DEFAULTS' and TRAIN_DEFAULTS', not copies typed in the CLI."""
    import re

    from biodyn.learn import TRAIN_DEFAULTS
    from biodyn.learn._snn import SNN_DEFAULTS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, key in (("--hidden", "hidden"), ("--epochs", "epochs"), ("--lr", "lr"), ("--batch-size", "batch_size"),
                      ("--optimizer", "optimizer")):
        rate, spk = TRAIN_DEFAULTS[key], SNN_DEFAULTS[key]
        fmt = (lambda v: f"{v:g}") if key == "lr" else str
        line = re.search(re.escape(flag) + r" [A-Z_]+ (.*?)(?= --[a-z-]+ [A-Z])", text).group(1)
        assert f"[training] table, else {fmt(rate)};" in line, line
        assert f"[training.spiking] table, else {fmt(spk)})" in line, line
    for flag, key in (("--dt", "dt"), ("--tau-syn", "tau_syn"), ("--rate", "rate"), ("--surrogate-width",
                                                                                    "surrogate_width")):
        line = re.search(re.escape(flag) + r" [A-Z_]+ (.*?)(?= --[a-z-]+ [A-Z])", text).group(1)
        assert f"'{SNN_DEFAULTS[key]}')" in line, line


@pytest.mark.parametrize("net, typed, hint", [
    ("rnn", "hidden=3", "give it as --hidden 3"), ("lif", "hidden=3", "give it as --hidden 3"),
    ("lif", "batch_size=3", "give it as --batch-size 3"), ("rnn", "lr=0.5", "give it as --lr 0.5"),
    ("lif", "epochs=2", "give it as --epochs 2"), ("rnn", "lyapunov_every=2", "give it as --lyapunov-every 2"),
    ("lif", "lyapunov_every=2", "lyapunov_every is a setting of rate networks (biodyn.learn.train), not of train_snn"),
    ("lif", "w_in=2", "give it as --w-in 2"), ("rnn", "hiden=3", "did you mean the training setting --hidden 3?")])
def test_a_training_setting_given_to_set_is_refused_with_a_hint_naming_its_flag(net, typed, hint, capsys):
    """--set is for the task's generator; a training setting typed there points to its flag
    (before: no hint for rate networks, an internal TypeError for --net lif)."""
    assert main(["train", "spike_patterns", "--net", net, "--set", typed, "--out", "unused"]) == 2
    err = capsys.readouterr().err
    name = typed.partition("=")[0]
    assert err.startswith(f"biodyn: error: <command line>: --set {name}: expected a parameter of spike_patterns")
    assert err.rstrip().endswith(hint) and "internal error" not in err


def test_set_rate_of_spike_patterns_with_net_lif_is_the_tasks_rate_not_the_input_encodings(capsys):
    """spike_patterns has a generator parameter rate (spikes per step); train_snn has a keyword rate=
    (the poisson encoding's): --set reaches the task (parameters=), whose check refuses 2 per step."""
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    assert main(["train", "spike_patterns", "--net", "lif", "--set", "rate=2", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "<command line>: --set rate: expected a probability per step" in err and "encoding" not in err
    with pytest.raises(SpecError) as e:
        train_snn("spike_patterns", parameters={"rate": 2})
    assert (e.value.file, e.value.key) == ("<arguments>", "parameters.rate")
    with pytest.raises(SpecError) as e:
        train_snn("spike_patterns", parameters={"n_steps": 5}, n_steps=6)
    assert e.value.key == "n_steps" and "once" in e.value.expected


def test_every_keyword_of_the_trainings_is_a_training_setting_the_set_hint_knows():
    import inspect

    from biodyn.jobs import train as train_job, train_snn as train_snn_job
    from biodyn.learn._snn import SNN_DEFAULTS, train_snn
    from biodyn.learn._task import TRAINING_SETTINGS
    from biodyn.learn._train import train

    not_settings = {"task", "progress", "parameters", "task_parameters", "options", "out", "json", "figure", "net",
                    "neuron", "params", "dynamics_duration", "dynamics_transient"}
    for fn in (train, train_snn, train_job, train_snn_job):
        names = {p.name for p in inspect.signature(fn).parameters.values()
                 if p.kind is not inspect.Parameter.VAR_KEYWORD} - not_settings
        assert names <= TRAINING_SETTINGS, (fn.__name__, names - TRAINING_SETTINGS)
    assert set(SNN_DEFAULTS) <= TRAINING_SETTINGS


def test_train_snn_hints_at_a_loose_setting_of_rate_networks_without_naming_a_keyword_it_lacks():
    """train_snn("delayed_copy", g=1.0) said 'give it as g=1.0', but train_snn has no keyword g:
    the hint names where g belongs, as learn.train's does for dt (one helper, call_parameters)."""
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    for call in ({"g": 1.0}, {"parameters": {"g": 1.0}}):
        with pytest.raises(SpecError) as e:
            train_snn("delayed_copy", **call)
        assert e.value.found == "g=1.0" and "give it as" not in str(e.value)
        assert "learn.train" in e.value.hint and "not of train_snn" in e.value.hint
    with pytest.raises(SpecError) as e:  # a setting of the job, under another name here
        train_snn("delayed_copy", neuron="lif")
    assert "jobs.train_snn" in e.value.hint and "model" in e.value.hint and "give it as" not in e.value.hint
    # a setting train_snn has still points to its keyword; a misspelt one to the keyword it has
    with pytest.raises(SpecError, match="give it as hidden=3") as e:
        train_snn("delayed_copy", parameters={"hidden": 3})
    assert e.value.key == "parameters.hidden"
    with pytest.raises(SpecError, match="tau_syn=3") as e:
        train_snn("delayed_copy", tau_sin=3)
    assert e.value.key == "tau_sin"


def test_train_snn_refuses_rate_on_spike_patterns_as_ambiguous_and_points_to_parameters():
    """rate= is train_snn's poisson encoding rate, which spike_patterns (spikes already) has none of,
    and rate is spike_patterns' spikes per step: one SpecError naming the keyword and parameters=
    (as learn.train's for its loose rate=), not a guess from the task; parameters= trains."""
    from biodyn.errors import SpecError
    from biodyn.learn._snn import train_snn

    for value in (0.05, "50 Hz"):
        with pytest.raises(SpecError) as e:
            train_snn("spike_patterns", rate=value)
        assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "rate", f"rate={value!r}")
        assert f"parameters={{'rate': {value!r}}}" in str(e.value) and "encoding" in e.value.expected
    # an encoding keyword the task has no parameter of: the error it had (no encoding)
    with pytest.raises(SpecError, match="no input encoding") as e:
        train_snn("spike_patterns", encoding="latency")
    assert e.value.key == "encoding"


def test_the_job_keywords_train_snn_hints_at_are_the_jobs_settings_it_lacks():
    import inspect

    from biodyn.jobs import train_snn as train_snn_job
    from biodyn.learn._snn import _JOB_KEYWORDS, _KEYWORDS
    from biodyn.learn._task import TRAINING_SETTINGS

    assert _JOB_KEYWORDS == (set(inspect.signature(train_snn_job).parameters) & TRAINING_SETTINGS) - _KEYWORDS


def test_jobs_train_with_net_lif_points_to_the_spiking_training(tmp_path):
    from biodyn import jobs
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as e:
        jobs.train("spike_patterns", net="lif", out=tmp_path)
    assert e.value.key == "net" and "train_snn" in e.value.hint
