"""The examples in examples/ run as a user runs them (a fresh process) and say what they did."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, timeout=300):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                          timeout=timeout, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_use_a_model_in_your_brian2_script():
    out = run_example("use_a_model_in_your_brian2_script.py")
    assert "rule: stdp_pair (song_2000: Song et al. 2000)" in out
    assert "plasticity frozen (lr = 0): weights unchanged" in out
    rate = float(out.split("output rate: ")[1].split(" Hz")[0])
    assert rate > 0.5  # the Poisson drive makes the sub-rheobase neurons fire


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_analyze_your_own_model():
    pytest.importorskip("jax")
    out = run_example("analyze_your_own_model.py")
    exps = [float(v) for v in out.split("first 8: ")[1].splitlines()[0].split()]
    assert len(exps) == 8 and exps == sorted(exps, reverse=True)
    prod = [float(v) for v in out.split("first 3: ")[1].splitlines()[0].split()]
    assert len(prod) == 3 and all(np.isfinite(prod))
    assert "JAX's x64 mode is still False" in out


@pytest.mark.slow
def test_limit_cycles_and_bifurcations_prints_the_known_numbers(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLES / "limit_cycles_and_bifurcations.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=900, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "van der Pol mu = 1: T = 6.6633 tau" in out                     # published 6.6633
    assert "period 2 -> 4 at r = 3.44948974" in out                         # 1 + sqrt(6)
    deltas = [float(v) for v in out.split("logistic delta estimates: ")[1].split("(")[0].split(",")]
    assert abs(deltas[-1] - 4.6692016) < 2e-3
    first_pd = float(out.split("Roessler: period doubling at c = ")[1].split()[0])
    assert abs(first_pd - 2.8324) < 2e-3
    assert "Wilson-Cowan: hopf at P = 1.8793" in out
    assert (tmp_path / "limit_cycles_and_bifurcations.png").exists()
