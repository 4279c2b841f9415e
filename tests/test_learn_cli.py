"""biodyn train: the command, its files and its errors."""

import json

import numpy as np
import pytest

pytest.importorskip("jax")

from biodyn import catalog, learn  # noqa: E402
from biodyn.cli import main  # noqa: E402


def small_task_file(folder, name="delayed_copy", train=32, test=16):
    text = catalog.find(name, "tasks").read_text()
    text = text.replace("train = 512", f"train = {train}").replace("test = 256", f"test = {test}")
    path = folder / f"small_{name}.toml"
    path.write_text(text)
    return path


def test_biodyn_train_writes_weights_figure_and_json(tmp_path, capsys):
    spec = small_task_file(tmp_path)
    out = tmp_path / "out"
    code = main(["-q", "train", str(spec), "--net", "lstm", "--hidden", "6", "--epochs", "2", "--lr", "0.02",
                 "--set", "n_steps=15", "--set", "delay=3", "--seed", "2", "--lyapunov-every", "1",
                 "--lyapunov-steps", "60", "--out", str(out),
                 "--json", str(tmp_path / "run.json")])
    assert code == 0
    stdout = capsys.readouterr().out
    assert "small_delayed_copy: lstm H = 6" in stdout
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["config"]["task"]["parameters"] == {"n_steps": 15, "delay": 3}
    assert doc["config"]["seed"] == 2 and doc["config"]["net"] == "lstm" and doc["config"]["optimizer"] == "adam"
    assert len(doc["curves"]["test_loss"]) == 3
    assert doc["curves"]["lyapunov_epoch"] == [0, 1, 2] and len(doc["curves"]["lyapunov_exponents"][0]) == 12
    assert doc["config"]["lyapunov"]["state"] == "full (h, c)" and "largest Lyapunov exponent" in stdout
    weights = out / "small_delayed_copy-lstm-h6-s2.npz"
    assert weights.is_file() and (out / "small_delayed_copy-lstm-h6-s2.png").is_file()
    back = learn.load_result(weights)
    assert back.params["cell.W_hh"].shape == (24, 6)
    np.testing.assert_allclose(back.curves["test_loss"], doc["curves"]["test_loss"])


def test_biodyn_train_errors_are_one_line_and_come_before_training(tmp_path, capsys):
    assert main(["train", "flipflop_3bt", "--net", "rnn", "--out", str(tmp_path / "o")]) == 2
    assert "flipflop_3bit" in capsys.readouterr().err
    assert main(["train", "delayed_copy", "--net", "rnn", "--set", "dely=3", "--out", str(tmp_path / "o")]) == 2
    assert "delay" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "delayed_copy", "--net", "rnn", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err


def test_a_diverging_run_writes_no_file(tmp_path, capsys):
    spec = small_task_file(tmp_path)
    out = tmp_path / "out"
    code = main(["-q", "train", str(spec), "--net", "rnn", "--hidden", "4", "--epochs", "2", "--optimizer", "gd",
                 "--lr", "1e300", "--set", "n_steps=8", "--set", "delay=2", "--out", str(out),
                 "--json", str(tmp_path / "run.json")])
    assert code == 2
    assert "diverged" in capsys.readouterr().err
    assert not (tmp_path / "run.json").exists()
    assert not out.exists() or not any(out.iterdir())


SWEEP = """
kind = "sweep"
description = "delayed copy at two delays"
seed = 1

[run]
job = "train"
task = "{task}"
net = "rnn"
hidden = 4
epochs = 1
lyapunov_every = 1
lyapunov_steps = 40
figure = false
parameters = {{n_steps = 8}}

[grid]
{grid}
"""


def test_a_sweep_of_train_jobs_reports_final_losses_and_spectra(tmp_path):
    from biodyn import sweep

    spec = small_task_file(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(task=spec, grid="delay = [2, 3]"))
    result = sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert result.computed == 2
    records = list(result.records.values())
    assert all(r["status"] == "ok" for r in records), records
    for r in records:
        values = r["values"]
        assert values["metric"] == "sign_accuracy" and values["test_loss"] > 0
        assert values["lambda_max"] == values["lambda_1"] and "lambda_4" in values
        doc = json.loads((tmp_path / "out" / r["paths"]["json"]).read_text()
                         if not r["paths"]["json"].startswith("/") else open(r["paths"]["json"]).read())
        assert doc["config"]["task"]["parameters"]["delay"] == r["params"]["delay"]


def test_a_train_sweep_with_a_bad_task_parameter_fails_at_load_naming_the_grid_key(tmp_path):
    from biodyn import sweep
    from biodyn.errors import SpecError

    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(task="delayed_copy", grid="dealy = [2, 3]"))
    with pytest.raises(SpecError) as info:
        sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert info.value.key == "grid.dealy" and "delay" in str(info.value)
    path.write_text(SWEEP.format(task="delayed_copy", grid="net = ['gur']"))
    with pytest.raises(SpecError, match="gru") as info:
        sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert info.value.key == "grid.net"


def test_biodyn_train_fixed_points_writes_them_with_stability_and_a_figure(tmp_path, capsys):
    spec = small_task_file(tmp_path, "flipflop_3bit", train=16, test=8)
    out = tmp_path / "out"
    assert main(["-q", "train", str(spec), "--net", "rnn", "--hidden", "5", "--epochs", "0", "--g", "0.3",
                 "--set", "n_steps=10", "--fixed-points", "--out", str(out), "--json", str(tmp_path / "fp.json")]) == 0
    doc = json.loads((tmp_path / "fp.json").read_text())
    fp = doc["fixed_points"]
    # untrained, no bias, |W_hh| < 1 at g = 0.3: the origin is the only fixed point, stable
    assert fp["n_stable"] == 1 and fp["n_unstable"] == 0
    assert np.allclose(fp["points"][0]["state"], 0.0, atol=1e-10)
    assert len(fp["trajectories_pc"]) == 8 and len(fp["explained_variance"]) == 3
    assert (out / "small_flipflop_3bit-rnn-h5-s0-fixed_points.png").is_file()
    assert "fixed points, input no pulse: 1 stable, 0 unstable" in capsys.readouterr().out
    assert [b["label"] for b in fp["by_input"]] == ["no pulse"] and fp["by_input"][0]["n_stable"] == 1


@pytest.mark.parametrize("net, block", [("lstm", "full"), ("lstm", "h"), ("gru", "full")])
def test_the_spectrum_in_the_json_is_that_of_the_numpy_cell_with_the_saved_weights(tmp_path, net, block):
    # the training JSON's last spectrum, recomputed from the .npz alone with biodyn.dynamics' numpy
    # cell (its explicit tangent map) under the documented drive, transient and seed
    from biodyn.dynamics import CELLS, DrivenCell, lyapunov_spectrum

    spec = small_task_file(tmp_path)
    H, steps = 5, 120
    assert main(["-q", "train", str(spec), "--net", net, "--hidden", str(H), "--epochs", "2", "--lr", "0.02",
                 "--set", "n_steps=15", "--set", "delay=3", "--seed", "1", "--lyapunov-every", "2",
                 "--lyapunov-steps", str(steps), "--lstm-block", block, "--out", str(tmp_path / "out"),
                 "--json", str(tmp_path / "run.json")]) == 0
    doc = json.loads((tmp_path / "run.json").read_text())
    lam = np.array(doc["curves"]["lyapunov_exponents"][-1])
    assert lam.shape == ((2 * H,) if (net, block) == ("lstm", "full") else (H,))
    assert doc["config"]["lyapunov"]["block"] == block
    assert ("Vogt" in doc["config"]["lyapunov"]["state"]) == (block == "h")
    with np.load(tmp_path / "out" / f"small_delayed_copy-{net}-h5-s1.npz") as z:
        cell = CELLS[net](z["param/cell.W_ih"], z["param/cell.W_hh"], z["param/cell.b_ih"], z["param/cell.b_hh"])
    test = learn.load_task(spec, n_steps=15, delay=3).data(1)[1]
    drive = test.x[:8].reshape(-1, 1)  # ceil(120 / 15) = 8 test sequences, one after another
    assert doc["config"]["lyapunov"]["transient"] == len(drive)
    ref = lyapunov_spectrum(DrivenCell(cell, drive, block=block), np.zeros(cell.state_size), duration=steps,
                            transient=len(drive), seed=1)
    np.testing.assert_allclose(lam, ref.exponents, rtol=0, atol=1e-12)


def test_lstm_block_h_is_refused_for_a_gru(tmp_path, capsys):
    assert main(["train", "delayed_copy", "--net", "gru", "--lyapunov-every", "1", "--lstm-block", "h",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--lstm-block" in capsys.readouterr().err


def test_biodyn_plot_help_names_the_train_and_spectra_documents_it_redraws(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "biodyn train --json" in text and "learning curves" in text
    assert "analyze spectra" in text


def test_the_fixed_point_document_records_the_search_settings_that_shaped_it(tmp_path):
    from biodyn.jobs._train import fixed_point_document

    task = learn.load_task(str(small_task_file(tmp_path, train=8, test=4)))
    result = learn.train(task, net="rnn", hidden=3, epochs=0)
    doc = fixed_point_document(result, seed=7)
    assert doc["settings"] == {"seed": 7, "n_starts": 256, "q_tol": 1e-6, "merge": 1e-4, "outlier_scale": 10.0}


@pytest.mark.parametrize("args, flag", [(["--lyapunov-k", "3"], "--lyapunov-k"),
                                        (["--lyapunov-steps", "50"], "--lyapunov-steps"),
                                        (["--lstm-block", "h"], "--lstm-block")])
def test_spectrum_options_without_lyapunov_every_are_refused_not_ignored(tmp_path, capsys, args, flag):
    assert main(["train", "delayed_copy", "--net", "lstm", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert flag in err and "--lyapunov-every" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("grid, key, needle", [("hidden = [4, 0]", "grid.hidden", "positive integer"),
                                               ("epochs = [1, -2]", "grid.epochs", "non-negative"),
                                               ("lr = [0.01, -0.1]", "grid.lr", "positive"),
                                               ("g = [1.0, -1.0]", "grid.g", ">= 0"),
                                               ("clip_grad = [1.0, -1.0]", "grid.clip_grad", "positive")])
def test_a_train_sweep_with_a_bad_training_option_fails_at_load_naming_the_key(tmp_path, grid, key, needle):
    # not 2 points that each fail after the others have trained
    from biodyn import sweep
    from biodyn.errors import SpecError

    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(task="delayed_copy", grid=grid))
    with pytest.raises(SpecError, match=needle) as info:
        sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert info.value.key == key
    assert not (tmp_path / "out" / "summary.csv").exists()


def test_an_unknown_optimizer_names_the_flag(tmp_path, capsys):
    assert main(["train", "delayed_copy", "--net", "rnn", "--optimizer", "adamw", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--optimizer" in err and "'adamw'" in err and "did you mean 'adam'" in err


FLOSS_SWEEP = """
kind = "sweep"
description = "delayed copy without and with gradient flossing"
seed = 1

[run]
job = "train"
task = "{task}"
net = "rnn"
hidden = 4
epochs = 1
floss_epochs = 1
figure = false
parameters = {{n_steps = 8, delay = 2}}
{run}

[grid]
{grid}
"""


def test_a_train_sweep_over_floss_0_and_k_trains_plainly_and_flossed_and_records_the_options(tmp_path):
    from biodyn import sweep

    spec = small_task_file(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(FLOSS_SWEEP.format(task=spec, run="", grid="floss = [0, 2]"))
    result = sweep.run(str(path), out=tmp_path / "out", workers=0)
    records = {r["params"]["floss"]: r for r in result.records.values()}
    assert all(r["status"] == "ok" for r in records.values()), records
    off, on = records[0]["values"], records[2]["values"]
    # floss = 0: no flossing, the [run] table's floss_epochs does not apply to it
    assert off["floss"] == 0 and off["floss_epochs"] is None and off["floss_weight"] is None
    assert on["floss"] == 2 and on["floss_epochs"] == 1 and on["floss_weight"] == 1.0
    assert on["floss_transient"] == 2 and on["floss_fixed_trajectory"] is False  # n_steps // 4
    assert off["lstm_block"] == on["lstm_block"] == "full"
    docs = {k: json.loads(open(r["paths"]["json"] if r["paths"]["json"].startswith("/")
                               else tmp_path / "out" / r["paths"]["json"]).read()) for k, r in records.items()}
    assert "floss" not in docs[0]["config"] and docs[2]["config"]["floss"]["k"] == 2
    assert len(docs[2]["curves"]["floss_exponents"][0]) == 2


def test_train_sweep_options_map_floss_0_to_none_and_lstm_block_to_full_on_cells_without_c():
    from biodyn.sweep._runners import _train_arguments

    options, task = _train_arguments({"floss": 0, "delay": 3}, {"floss_every": 2, "lstm_block": "h", "net": "gru"})
    assert options["floss"] is None and options["floss_every"] is None and options["lyapunov_block"] == "full"
    assert task == {"delay": 3}
    options, _ = _train_arguments({"floss": 4, "net": "lstm"}, {"floss_every": 2, "lstm_block": "h"})
    assert options["floss"] == 4 and options["floss_every"] == 2 and options["lyapunov_block"] == "h"


@pytest.mark.parametrize("run, grid, key, words", [
    ("flos = 2", "delay = [2]", "run.flos", "'floss'"),                       # typo in [run]
    ("", "floss_wieght = [0.5]", "grid.floss_wieght", "'floss_weight'"),     # typo on the grid
    ("", "floss = [-1]", "grid.floss", "0 for no flossing"),
    ("", "floss = [9]", "grid.floss", "state dimension 4"),                  # K > hidden
    ("floss = 2\nfloss_epochs = 0", "delay = [2]", "run.floss", "floss_every"),  # no schedule
    ("", "lstm_block = ['hc']", "grid.lstm_block", "'full' or 'h'"),
    ("", "floss_fixed_trajectory = [1]", "grid.floss_fixed_trajectory", "true or false"),
])
def test_a_train_sweep_refuses_bad_or_unknown_training_keys_at_load_with_one_error(tmp_path, run, grid, key, words):
    from biodyn import sweep
    from biodyn.errors import SpecError

    path = tmp_path / "s.toml"
    text = FLOSS_SWEEP.format(task="delayed_copy", run=run, grid=grid)
    if run.startswith("floss = 2\nfloss_epochs"):
        text = text.replace("floss_epochs = 1\n", "", 1)
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert info.value.key == key and words in str(info.value), str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_bad_training_option_names_the_flag_on_the_command_line_and_the_keyword_in_code(tmp_path, capsys):
    # the command line said "<arguments>: epochs" for --epochs -1
    from biodyn import learn
    from biodyn.errors import SpecError

    assert main(["train", "delayed_copy", "--net", "rnn", "--epochs", "-1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "<command line>: --epochs: expected a non-negative integer" in err and "<arguments>" not in err
    assert main(["train", "delayed_copy", "--net", "rnn", "--batch-size", "0", "--out", str(tmp_path / "o")]) == 2
    assert "<command line>: --batch-size: expected a positive integer" in capsys.readouterr().err
    assert main(["train", "delayed_copy", "--net", "rnn", "--floss-epochs", "3", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--floss-epochs: expected --floss K" in err and "found --floss-epochs 3 without --floss K" in err
    assert not list(tmp_path.glob("o/*"))
    with pytest.raises(SpecError, match=r"^<arguments>: epochs: expected a non-negative integer"):
        learn.train("delayed_copy", net="rnn", epochs=-1)
    with pytest.raises(SpecError, match=r"^<arguments>: floss_epochs: expected floss=K .*found floss_epochs=3"):
        learn.train("delayed_copy", net="rnn", floss_epochs=3)


def test_keyword_errors_as_flags_leaves_errors_of_files_and_unknown_keywords_alone():
    from biodyn.cli import keyword_errors_as_flags
    from biodyn.errors import SpecError

    flags = {"epochs": "--epochs", "batch_size": "--batch-size"}
    exc = SpecError("task.toml", "epochs", "a positive integer", "0")
    assert keyword_errors_as_flags(exc, flags) is exc
    exc = SpecError("<arguments>", "n_per_channel", "a positive integer", "0")
    assert keyword_errors_as_flags(exc, flags) is exc
    new = keyword_errors_as_flags(SpecError("<arguments>", "batch_size", "batch_size=N with epochs=E", "x"), flags)
    assert str(new) == "<command line>: --batch-size: expected --batch-size N with --epochs E, found x"


def test_biodyn_train_clip_grad_is_recorded_in_json_figure_line_and_a_sweeps_options(tmp_path, capsys):
    from biodyn.jobs._train import _footer
    from biodyn.sweep._runners import _train_arguments

    spec = small_task_file(tmp_path)  # the shapes of test_a_diverging_run_writes_no_file: its compiled loss
    code = main(["-q", "train", str(spec), "--net", "rnn", "--hidden", "4", "--epochs", "1", "--optimizer", "gd",
                 "--set", "n_steps=8", "--set", "delay=2", "--clip-grad", "1e-6", "--out", str(tmp_path / "out"), "--json", str(tmp_path / "run.json")])
    assert code == 0
    doc = json.loads((tmp_path / "run.json").read_text())
    c = doc["config"]
    assert c["clip_grad"] == 1e-6 and c["clipped_gradients"] == c["gradients"] == c["steps"] > 0
    assert "gradient norm clipped at 1e-06" in _footer(doc)
    back = learn.load_result(next((tmp_path / "out").glob("*.npz")))
    assert back.config["clip_grad"] == 1e-6
    # spiking networks take it too (test_learn_snn.py); a bad norm is one line naming the flag
    assert main(["train", str(spec), "--net", "lif", "--clip-grad", "-1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "<command line>: --clip-grad: expected a positive finite" in err and "-1" in err, err
    options, _ = _train_arguments({"delay": 2}, {"clip_grad": 0.5})
    assert options["clip_grad"] == 0.5
    assert _train_arguments({}, {})[0]["clip_grad"] is None  # off by default


def test_an_unknown_task_parameter_is_named_as_the_keyword_from_python_and_as_set_from_the_command_line(
        tmp_path, capsys):
    from biodyn import jobs
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as info:  # from a script: the keyword, no command line anywhere
        jobs.train_snn("temporal_xor", n_train=32, out=tmp_path / "py")
    assert str(info.value).startswith("<arguments>: n_train: expected a parameter of temporal_xor (")
    assert "found n_train=32" in str(info.value) and "--set" not in str(info.value)
    assert not (tmp_path / "py").exists()
    for net in ("lif", "rnn"):  # typed: the flag as typed
        assert main(["train", "temporal_xor", "--net", net, "--set", "n_train=32", "--out",
                     str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "<command line>: --set n_train: expected a parameter of temporal_xor (" in err, err
        assert "<arguments>" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("grid", ["net = ['lif', 'rnn']", "delay = [2]"])
def test_a_train_sweep_of_a_spiking_net_is_refused_in_one_line_saying_it_is_not_a_sweep_job_yet(tmp_path, grid):
    """README promises every biodyn train option as a sweep key, but --net lif (jobs.train_snn,
    with options of its own) is not a train sweep job: the refusal says so and names the way
    round, instead of calling 'lif' a typo of rnn/gru/lstm."""
    from biodyn import sweep
    from biodyn.errors import SpecError

    path = tmp_path / "s.toml"
    text = SWEEP.format(task="delayed_copy", grid=grid)
    if "lif" not in grid:
        text = text.replace('net = "rnn"', 'net = "lif"')
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        sweep.run(str(path), out=tmp_path / "out", workers=0)
    assert info.value.key == ("grid.net" if "lif" in grid else "run.net")
    message = str(info.value)
    assert "not a sweep job yet" in message and "--net lif" in message and "eprop_vs_bptt" in message
    assert "\n" not in message.strip()


@pytest.mark.parametrize("net", ["rnn", "lif"])
def test_an_out_of_range_task_parameter_is_named_as_the_set_flag_and_its_value(net, tmp_path, capsys):
    """biodyn train delayed_copy --set delay=60 said 'tasks/delayed_copy.toml: parameters.delay',
    a key the user never typed."""
    out = tmp_path / "o"
    assert main(["train", "delayed_copy", "--net", net, "--set", "delay=60", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biodyn: error: <command line>: --set delay: expected an integer number of steps in "
                          "[1, n_steps - 1] (n_steps = 60), found 60"), err
    assert "delayed_copy.toml" not in err and not out.exists()
    # --set n_steps too short for the task's delay (5 for rnn; the [training.spiking] delay 2 for lif)
    short, key = ("4", "parameters.delay") if net == "rnn" else ("2", "training.spiking.parameters.delay")
    assert main(["train", "delayed_copy", "--net", net, "--set", f"n_steps={short}", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "<command line>: --set n_steps: expected an integer number of steps >= " in err, err
    assert f"delayed_copy.toml: {key})" in err and err.rstrip().endswith(f"found {short}")


def test_jobs_train_names_a_bad_task_parameter_as_the_parameters_keyword(tmp_path):
    """jobs.train(parameters={"delay": 60}) said 'tasks/delayed_copy.toml: parameters.delay';
    parameters={"hidden": 8} was an internal TypeError (two values for learn.train's hidden)."""
    from biodyn import jobs
    from biodyn.errors import SpecError

    for given, found in (({"delay": 60}, "60"), ({"dleay": 3}, "dleay=3"), ({"hidden": 8}, "hidden=8")):
        with pytest.raises(SpecError) as e:
            jobs.train("delayed_copy", parameters=given, out=tmp_path / "o")
        name = next(iter(given))
        assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", f"parameters.{name}", found)
    assert not (tmp_path / "o").exists()


def test_biodyn_train_json_of_a_rate_network_records_the_source_of_each_setting(tmp_path, capsys):
    """config.sources of the written JSON (biodyn train --json, jobs.train(json=)): --hidden given,
    lr / batch_size / g from sine_generation's [training] table, optimizer from TRAIN_DEFAULTS."""
    from biodyn import jobs

    text = catalog.find("sine_generation", "tasks").read_text()
    spec = tmp_path / "small_sine.toml"
    spec.write_text(text.replace("train = 256", "train = 8").replace("test = 128", "test = 4"))
    assert main(["-q", "train", str(spec), "--net", "gru", "--hidden", "3", "--epochs", "0", "--set", "n_steps=5",
                 "--out", str(tmp_path / "cli"), "--json", str(tmp_path / "cli.json")]) == 0
    expected = {"hidden": "argument", "epochs": "argument", "lr": "task", "optimizer": "default",
                "batch_size": "task", "g": "task"}
    assert json.loads((tmp_path / "cli.json").read_text())["config"]["sources"] == expected
    jobs.train(str(spec), net="gru", hidden=3, epochs=0, parameters={"n_steps": 5}, figure=False,
               out=tmp_path / "job", json=tmp_path / "job.json")
    assert json.loads((tmp_path / "job.json").read_text())["config"]["sources"] == expected
