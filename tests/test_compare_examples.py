"""The comparison examples run as a user runs them (a fresh process), print the known answers
and write their figures and JSON. The Hebb example is in the default run; the others are slow
(their library-level known answers are tested in the default run by test_compare_*.py)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, out, timeout=300):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), str(out)], capture_output=True,
                          text=True, timeout=timeout, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _float(pattern, text):
    m = re.search(pattern, text)
    assert m, pattern
    return [float(g) for g in m.groups()]


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_hebb_vs_delta_example(tmp_path):
    out = run_example("compare_hebb_vs_delta.py", tmp_path)
    dist_c, = _float(r"correlated inputs: \|C_yx - W_LS\| = ([\d.e+-]+)", out)
    dist_o, = _float(r"orthonormal inputs: \|C_yx - W_LS\| = ([\d.e+-]+)", out)
    assert dist_c > 0.3 and dist_o < 1e-12
    lo, end = _float(r"orthonormal inputs:.*alignment min ([-\d.]+), end ([-\d.]+)", out)
    assert lo == pytest.approx(1.0, abs=1e-6) and end == pytest.approx(1.0, abs=1e-6)
    hebb, = _float(r"correlated inputs:.*Hebb \(Brian2\) ends ([\d.e+-]+) from C_yx", out)
    assert hebb < 0.02
    for inputs in ("correlated", "orthonormal"):
        assert (tmp_path / inputs / "hebb_vs_delta.png").stat().st_size > 20_000
        doc = json.loads((tmp_path / inputs / "hebb_vs_delta.json").read_text())
        assert doc["summary"]["inputs"] == inputs


@pytest.mark.slow
def test_oja_vs_backprop_example(tmp_path):
    out = run_example("compare_oja_vs_backprop.py", tmp_path)
    flow, jac, gap = _float(r"averaged flow rate ([\d.]+), Jacobian's slowest rate ([\d.]+), gap ([\d.]+)", out)
    assert flow == pytest.approx(gap, rel=0.01) and jac == pytest.approx(gap, rel=1e-5)
    mode, gd, hess, closed = _float(r"slowest Hessian mode decays at ([\d.]+), GD map's rate ([\d.]+) "
                                    r"\(Hessian eigenvalue ([\d.]+); balanced closed form ([\d.]+)\)", out)
    assert mode == pytest.approx(gd, rel=5e-3) and hess == pytest.approx(closed, rel=2e-3)
    assert "W2 W1 1.0000 1.0000 0.0000 0.0000 0.0000" in out
    assert (tmp_path / "oja_vs_backprop.png").stat().st_size > 20_000


@pytest.mark.slow
def test_bcm_vs_gradient_example(tmp_path):
    out = run_example("compare_bcm_vs_gradient.py", tmp_path)
    assert out.count("stable with the threshold as a state: True") == 2
    assert "tau_theta = 5 s: stable on the objective True, stable with the threshold as a state False" in out
    b, a = _float(r"BCM \(Brian2\) ends in state (\d)", out) + _float(r"ascent on R in state (\d)", out)
    assert a == b
    assert (tmp_path / "bcm_vs_gradient.png").stat().st_size > 20_000


@pytest.mark.slow
def test_rnn_lyapunov_vs_bptt_example(tmp_path):
    out = run_example("compare_rnn_lyapunov_vs_bptt.py", tmp_path)
    rows = re.findall(r"g = ([\d.]+): lambda_max ([-+\d.]+) ± ([\d.]+), BPTT growth ([-+\d.]+), "
                      r"linearisation at 0 ([-+\d.]+)", out)
    assert len(rows) == 7
    for g, lam, se, bptt, lin in (map(float, r) for r in rows):
        assert bptt == pytest.approx(lam, abs=0.025)       # O(1/T), T = 100 tau
        if g <= 1.0:
            assert lam == pytest.approx(lin, abs=0.01)    # below the transition: the linearisation
    cross, = _float(r"lambda_max crosses 0 at g = ([\d.]+)", out)
    assert 1.0 < cross < 2.0                               # near 1: N = 200 shifts it a little up
    assert (tmp_path / "rnn_lyapunov_vs_bptt.png").stat().st_size > 20_000
