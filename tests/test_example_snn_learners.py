"""examples/snn_learners.py runs as a user runs it (quick mode) and writes its table, JSON and figures."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a few minutes: two tasks x two learners, each trained and re-run in Brian2
def test_snn_learners_example_quick_writes_a_row_json_and_figure_per_task_and_learner(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "snn_learners.py"), "--quick", "--out", str(out),
                           "--tasks", "spike_sine_generation,delayed_copy", "--learners", "bptt,rstdp"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "snn_learners.json").read_text())
    assert doc["quick"] is True
    rows = {(r["task"], r["learner"]): r for r in doc["rows"]}
    assert set(rows) == {(t, lrn) for t in ("spike_sine_generation", "delayed_copy") for lrn in ("bptt", "rstdp")}
    for (task, learner), r in rows.items():
        assert Path(r["json"]).is_file() and Path(r["figure"]).is_file()
        assert json.loads(Path(r["json"]).read_text())["config"]["learner"] == learner
        assert r["metric"] == ("r2" if task == "spike_sine_generation" else "sign_accuracy")
        assert "dynamics" in json.loads(Path(r["json"]).read_text())
    assert rows[("delayed_copy", "bptt")]["alignment_final"] == pytest.approx(1.0, abs=1e-9)  # BPTT is BPTT
    md = (out / "snn_learners.md").read_text()
    assert md.count("| spike_sine_generation |") == 2 and "λmax" in md


def test_snn_learners_passes_its_task_overrides_as_parameters_not_as_training_keywords(monkeypatch, tmp_path):
    """A task override named like a training setting (``rate``: the poisson encoding's maximal
    rate) reaches jobs.train_snn as parameters={"rate": ...}; as a loose keyword (before) it was
    taken for the setting."""
    import importlib.util
    from types import SimpleNamespace

    from biodyn import jobs

    spec = importlib.util.spec_from_file_location("snn_learners_example", ROOT / "examples" / "snn_learners.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.setitem(example.SETTINGS, "temporal_xor", {"neuron": "lif", "hidden": 3,
                                                           "quick": {"task": {"rate": 0.2, "n_steps": 20}}})
    given = {}

    def fake_train_snn(task, **kwargs):
        given.update(kwargs)
        return SimpleNamespace(paths={}, summary={
            "curves": {"alignment": [None, 1.0], "test_metric": [0.5, 0.6]},
            "final": {"test_metric": 0.6, "rate_hz": 10.0},
            "config": {"task": {"metric": "accuracy"}, "hidden": 3, "epochs": 1, "lr": 0.1}})

    monkeypatch.setattr(jobs, "train_snn", fake_train_snn)
    example.run_one("temporal_xor", "bptt", tmp_path, 0, quick=True, dynamics=False)
    assert given["parameters"] == {"rate": 0.2, "n_steps": 20}
    assert "rate" not in given and "n_steps" not in given and given["hidden"] == 3
