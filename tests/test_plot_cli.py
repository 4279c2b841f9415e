"""`biodyn plot FILE` redraws a saved result's figure from its JSON alone.

The honest check: the redrawn figure is pixel-for-pixel the figure the job drew, and a
number changed in the JSON changes the redrawn figure (it really draws from the file).
"""

import json
import shutil

import numpy as np
import pytest

from biodyn.cli import main


def _pixels(path):
    import matplotlib.image as mpimg

    return mpimg.imread(str(path))


def _same(a, b):
    x, y = _pixels(a), _pixels(b)
    return x.shape == y.shape and np.array_equal(x, y)


def _redraw_is_identical(tmp_path, capsys, json_path, figure):
    capsys.readouterr()
    again = tmp_path / "again.png"
    assert main(["plot", str(json_path), "--out", str(again)]) == 0
    assert capsys.readouterr().out.strip() == str(again)
    assert _same(figure, again), f"{json_path.name}: the redrawn figure differs from the job's"
    return again


CASES = {
    "lyapunov": (["analyze", "lyapunov", "lorenz", "--duration", "20"], "lorenz_lyapunov.png"),
    "bifurcation": (["analyze", "bifurcation", "saddle_node", "--param", "r", "--range", "-1", "1"],
                    "saddle_node_bifurcation_r.png"),
    "fixed_points": (["analyze", "fixed-points", "wilson_cowan"], "wilson_cowan_fixed_points.png"),
    "phase_portrait": (["analyze", "phase-portrait", "van_der_pol"], "van_der_pol_phase_portrait_x_y.png"),
    "flow": (["analyze", "flow", "hebb_decay", "--target", "numpy"], "hebb_decay_flow.png"),
    "compare": (["compare", "hebb_vs_delta"], "hebb_vs_delta.png"),
    "train": (["train", "delayed_copy", "--net", "rnn", "--hidden", "3", "--epochs", "1", "--set", "n_steps=6",
               "--set", "delay=2", "--lyapunov-every", "1", "--lyapunov-steps", "30"], "delayed_copy-rnn-h3-s0.png"),
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c == "flow" else c for c in sorted(CASES)],  # flow: long (CI budget)
)
def test_redrawn_figure_of_an_analysis_or_comparison_equals_the_original(tmp_path, capsys, case):
    argv, figure = CASES[case]
    out = tmp_path / "out"
    assert main(["-q", *argv, "--out", str(out), "--json", str(tmp_path / "r.json")]) == 0
    _redraw_is_identical(tmp_path, capsys, tmp_path / "r.json", out / figure)


def test_replay_figure_with_arrays_is_redrawn_from_json_and_npz_and_follows_edits(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["-q", "replay", "hebb_decay", "--target", "numpy", "--out", str(out)]) == 0
    summary = json.loads((out / "hebb_decay.json").read_text())
    assert summary["files"]["figure_data"] == "hebb_decay.figure.npz"
    with np.load(out / "hebb_decay.figure.npz") as data:
        assert {"t", "w_t"} <= set(data.files) and data["w_t"].ndim == 3
    again = _redraw_is_identical(tmp_path, capsys, out / "hebb_decay.json", out / "hebb_decay.png")

    # default figure path: beside the JSON, .png
    (out / "hebb_decay.png").unlink()
    assert main(["plot", str(out / "hebb_decay.json")]) == 0
    assert _same(out / "hebb_decay.png", again)

    # an edited value is drawn: the figure changes
    summary["conditions"][0]["value"] *= 3.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(summary))
    shutil.copy(out / "hebb_decay.figure.npz", tmp_path / "hebb_decay.figure.npz")
    assert main(["plot", str(edited)]) == 0
    assert not _same(tmp_path / "edited.png", again)

    # the arrays missing: one clear error naming them
    (tmp_path / "hebb_decay.figure.npz").unlink()
    capsys.readouterr()
    assert main(["plot", str(edited)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hebb_decay.figure.npz" in err


def test_bad_files_are_one_clear_error_each(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"a": 1}))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    cases = [(tmp_path / "missing.json", "no such file"), (other, "not a biodyn result"),
             (broken, "not a JSON file")]
    for path, text in cases:
        capsys.readouterr()
        assert main(["plot", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("biodyn: error: ") and text in err and err.count("\n") == 1
    assert main(["plot", str(other), "--out", str(tmp_path / "x.txt")]) == 2
    assert ".png, .pdf or .svg" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*part"))


def test_spiking_training_json_is_redrawn_as_its_own_figure(tmp_path, capsys):
    """`biodyn plot` of `biodyn train --net lif --json` output: an internal KeyError 'g' (it was
    drawn as a rate network's learning curves); now the spiking figure, equal to the job's."""
    from biodyn import plot
    from biodyn.jobs._train_snn import _footer

    doc = {"config": {"task": {"name": "spike_patterns", "loss": "cross_entropy", "metric": "accuracy"},
                      "net": "lif (bptt)", "model": "lif", "parameter_set": "dayan_abbott_2001", "learner": "bptt",
                      "hidden": 4, "epochs": 2, "lr": 0.01, "optimizer": "adam", "seed": 0, "batch_size": 8,
                      "dt_ms": 1.0, "method": "exact", "synapse": "current", "steps": 4,
                      "surrogate": {"shape": "fast_sigmoid", "width": "1 mV"},
                      "versions": {"biodyn": "0.1.0", "jax": "0.10.2", "numpy": "2.3.5"}},
           "curves": {"epoch": [0, 1, 2], "train_loss": [1.1, 1.0, 0.9], "test_loss": [1.1, 1.0, 0.95],
                      "train_metric": [0.3, 0.4, 0.5], "test_metric": [0.3, 0.35, 0.5], "rate_hz": [30, 31, 33],
                      "alignment": [None, 1.0, 1.0], "adjoint_norm": [[3.0, 2.0, 1.0], [6.0, 3.0, 1.0]]},
           "final": {"test_metric": 0.5}}
    (tmp_path / "t.json").write_text(json.dumps(doc))
    job = plot.save(plot.snn_learning_curves(doc, footer=_footer(doc)), tmp_path / "job.png")
    _redraw_is_identical(tmp_path, capsys, tmp_path / "t.json", job)
