"""biodyn compare eprop_vs_bptt / rstdp_vs_bptt: a local learner and BPTT on the same task, seed
and initial weights — learning curves, alignment with BPTT's gradient, the adjoint through time,
and the trained networks' lambda_max and firing in Brian2 (tiny sizes)."""

import json

import numpy as np
import pytest

pytest.importorskip("jax")

from biodyn import compare  # noqa: E402
from biodyn.cli import main  # noqa: E402
from biodyn.errors import SpecError  # noqa: E402

TINY = {"hidden": 8, "epochs": 2, "n_train": 16, "n_test": 8, "n_steps": 40, "batch_size": 8,
        "dynamics_duration": "300 ms", "dynamics_transient": "50 ms"}


@pytest.fixture(scope="module")
def cli_doc(tmp_path_factory):
    out = tmp_path_factory.mktemp("snncmp")
    args = ["-q", "compare", "eprop_vs_bptt", "--seed", "2", "--out", str(out), "--json", str(out / "e.json")]
    for k, v in TINY.items():
        args += ["--set", f"{k}={v}"]
    assert main(args) == 0
    return out, json.loads((out / "e.json").read_text())


@pytest.mark.slow  # ~25 s: two JAX compilations and three Brian2 runs
def test_eprop_vs_bptt_writes_figure_and_json_with_both_learners_from_the_same_start(cli_doc):
    out, doc = cli_doc
    assert (out / "eprop_vs_bptt.png").stat().st_size > 20_000
    assert tuple(doc) == compare.JSON_KEYS and doc["seed"] == 2
    s, S = doc["series"], doc["summary"]
    assert S["learners"] == ["eprop", "bptt"] and S["task"]["name"] == "spike_patterns"
    assert S["sizes"] == {"train": 16, "test": 8} and S["settings"]["hidden"] == 8
    assert s["epoch"] == [0, 1, 2]
    # same data, seed and initial weights: the epoch-0 numbers coincide
    assert s["test_loss_eprop"][0] == s["test_loss_bptt"][0]
    assert s["adjoint_start_eprop"] == s["adjoint_start_bptt"]
    assert len(s["adjoint_end_eprop"]) == len(s["step_ms"]) == 40
    # BPTT is aligned with itself; e-prop's estimate is a different, positively aligned direction
    np.testing.assert_allclose(s["alignment_bptt"][1:], 1.0, atol=1e-9)
    assert s["alignment_eprop"][0] is None and all(0 < a < 1 - 1e-6 for a in s["alignment_eprop"][1:])
    for L in ("eprop", "bptt"):
        d = S["per_learner"][L]["dynamics"]
        assert d["method"].startswith("two_trajectory_brian2") and d["duration_s"] == 0.3
        assert d["lambda_max_per_s"] is None or d["lambda_max_se_per_s"] is not None
        assert d["firing"]["rate_hz"] >= 0
        assert S["per_learner"][L]["config"]["learner"] == L and S["per_learner"][L]["config"]["seed"] == 2
    assert S["initial_dynamics"]["firing"]["rate_hz"] >= 0


@pytest.mark.slow  # two trainings, ~12 s
def test_rstdp_vs_bptt_is_generic_over_learner_names():
    """Until the rstdp learner is registered it runs with any learner of train_snn."""
    from biodyn.learn._snn import LEARNERS

    r = compare.rstdp_vs_bptt(seed=1, **{**TINY, "epochs": 1, "learner": "eprop_random"})
    assert r.summary["learners"] == ["eprop_random", "bptt"]
    assert set(r.summary["per_learner"]) == {"eprop_random", "bptt"}
    assert all(r.summary["per_learner"][L]["adjoint_ratio_end"] > 0 for L in ("eprop_random", "bptt"))
    default = compare.COMPARISONS["rstdp_vs_bptt"].settings["learner"].default
    assert default == "rstdp"
    if "rstdp" not in LEARNERS:
        with pytest.raises(SpecError, match="learner"):
            compare.rstdp_vs_bptt(seed=1, **TINY)


def test_unknown_learner_and_bptt_against_itself_are_errors_before_training():
    with pytest.raises(SpecError, match="eprop"):
        compare.eprop_vs_bptt(learner="epropp", **TINY)
    with pytest.raises(SpecError, match="other than bptt"):
        compare.eprop_vs_bptt(learner="bptt", **TINY)


def test_dynamics_duration_and_transient_take_time_quantities_and_refuse_bare_numbers():
    """The help promises units ('with its unit where it has one'): '1 s' and '100 ms' are read as
    times; a bare number (seconds? ms?) is refused naming the setting; a negative transient or
    one not shorter than the duration is refused before anything trains."""
    from biodyn.compare._base import resolve_settings

    table = compare.COMPARISONS["eprop_vs_bptt"].settings
    v = resolve_settings("eprop_vs_bptt", table, {"dynamics_duration": "1 s", "dynamics_transient": "100 ms"})
    assert float(v["dynamics_duration"]) == 1.0 and abs(float(v["dynamics_transient"]) - 0.1) < 1e-15
    with pytest.raises(SpecError, match="dynamics_duration.*second"):
        resolve_settings("eprop_vs_bptt", table, {"dynamics_duration": "2"})
    for bad in ({"dynamics_transient": "-10 ms"}, {"dynamics_duration": "100 ms", "dynamics_transient": "200 ms"}):
        with pytest.raises(SpecError, match="dynamics_transient"):
            compare.eprop_vs_bptt(**{**TINY, **bad})


def _task_with_spiking_table(folder, table):
    from biodyn import catalog

    text = catalog.find("delayed_copy", "tasks").read_text().split("[training.spiking]")[0]
    text = text.replace("train = 512", "train = 2").replace("test = 256", "test = 2")
    path = folder / "copy.toml"
    path.write_text(text + "\n[training.spiking]\n" + table)
    return path


def test_spiking_comparisons_resolve_their_training_settings_as_biodyn_train_net_lif_does(tmp_path):
    """The task's [training.spiking] table (neuron, hyper-parameters, parameters) applies to
    eprop_vs_bptt as to biodyn train --net lif (before: neuron lif, H 32, 20 epochs, lr 0.01 and
    batch 32 always, the table's values ignored); a setting given wins; sources recorded."""
    from biodyn.compare._base import resolve_settings
    from biodyn.compare._snn import snn_training
    from biodyn.learn._snn import SNN_DEFAULTS, settings_and_sources

    path = _task_with_spiking_table(tmp_path, "neuron = 'alif'\nhidden = 5\nepochs = 3\nlr = 0.004\n"
                                              "tau_out = '7 ms'\nparameters = {delay = 2}\n")
    table = compare.COMPARISONS["eprop_vs_bptt"].settings
    values = resolve_settings("eprop_vs_bptt", table, {"task": str(path), "batch_size": 2, "n_steps": 8})
    task, arguments, record = snn_training(values, "eprop_vs_bptt")
    assert record["settings"] == {"neuron": "alif", "hidden": 5, "epochs": 3, "lr": 0.004, "batch_size": 2}
    expected_values, expected_sources = settings_and_sources(task, batch_size=2)  # biodyn train's resolution
    assert record["training"] == {"neuron": "alif", **expected_values}
    assert record["training_sources"] == {"neuron": "task", **expected_sources}
    assert record["training_sources"]["batch_size"] == "argument" and record["training"]["tau_out"] == "7 ms"
    assert record["training_sources"]["w_in"] == "default" and record["training"]["w_in"] == SNN_DEFAULTS["w_in"]
    assert task.parameters["delay"] == 2 and task.parameters["n_steps"] == 8
    assert record["task_parameters_for_spiking"] == {"delay": 2}
    assert arguments["model"] is None and arguments["hidden"] is None  # train_snn resolves them the same way
    # a comparison's n_steps too short for the table's delay: named as the comparison's setting
    values = resolve_settings("eprop_vs_bptt", table, {"task": str(path), "n_steps": 2})
    with pytest.raises(SpecError) as e:
        snn_training(values, "eprop_vs_bptt")
    assert (e.value.file, e.value.key) == ("<settings of eprop_vs_bptt>", "n_steps")
    assert "training.spiking.parameters.delay" in str(e.value)


@pytest.mark.slow  # ~15 s: two JAX compilations and three (tiny) Brian2 runs
def test_eprop_vs_bptt_trains_with_the_tasks_training_spiking_table_and_records_it(tmp_path):
    path = _task_with_spiking_table(tmp_path, "hidden = 3\nepochs = 1\nbatch_size = 2\nlr = 0.004\n"
                                              "parameters = {delay = 2}\n")
    r = compare.eprop_vs_bptt(task=str(path), n_steps=6, dynamics_duration="20 ms", dynamics_transient="5 ms")
    S = r.summary
    for L in ("eprop", "bptt"):
        c = S["per_learner"][L]["config"]
        assert (c["hidden"], c["epochs"], c["batch_size"], c["lr"]) == (3, 1, 2, 0.004)
        assert c["task_parameters_for_spiking"] == {"delay": 2} and c["sources"] == S["training_sources"]
    assert S["task"]["parameters"]["delay"] == 2 and S["training_sources"]["hidden"] == "task"
    assert {k: S["settings"][k] for k in ("neuron", "hidden", "epochs", "lr", "batch_size")} == {
        "neuron": "lif", "hidden": 3, "epochs": 1, "lr": 0.004, "batch_size": 2}
