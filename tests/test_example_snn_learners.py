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
