"""The biodyn.ann example runs as a user runs it (a fresh process), prints right numbers and
writes its figures; the figure functions draw from plain data."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biodyn import ann, plot

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "backprop_as_a_dynamical_system.py"


def test_backprop_example_runs_and_reports_known_answers(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True,
                          timeout=600, cwd=EXAMPLE.parent.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for measured, theory in re.findall(r"measured ([\d.]+), mean field sqrt\(chi_1\) = ([\d.]+)", out):
        assert float(measured) == pytest.approx(float(theory), rel=0.03)
    assert "-> vanishing" in out and "-> exploding" in out
    assert "linear, orthogonal: singular values in [1, 1]" in out
    assert "gd 2, heun 2, rk4 2.785" in out and "heavy_ball 3.8, nesterov 1.357, adam 38, implicit_gd inf" in out
    m = re.search(r"median ([\d.]+) over the last \d+ steps; 2/lr = ([\d.]+)", out)
    assert float(m.group(1)) == pytest.approx(float(m.group(2)), rel=0.1)
    m = re.search(r"adjoint directional derivative ([-\d.]+), finite differences ([-\d.]+)", out)
    adj, fd = map(float, m.groups())
    assert adj == pytest.approx(fd, rel=1e-6)
    assert re.search(r"output error order -(0\.9|1\.[01])", out)
    for cell in ("rnn", "gru", "lstm"):  # BPTT decays at the top exponent of the forward dynamics
        lam, rate = map(float, re.search(cell + r": \(1/T\) log sigma_1 of the Jacobian product ([-\d.]+) per step; "
                                         r"BPTT \|\|delta_t\|\| decays by ([-\d.]+)", out).groups())
        assert rate == pytest.approx(lam, abs=0.03)
    pairs = re.findall(r"QR Lyapunov exponents \[([^\]]+)\], Jacobian-product exponents \[([^\]]+)\]", out)
    assert len(pairs) == 3  # rnn, gru, lstm against biodyn.dynamics.lyapunov_spectrum
    for qr, svd in pairs:
        np.testing.assert_allclose(np.array(svd.split(), float), np.array(qr.split(), float), atol=0.02)
    assert (tmp_path / "lstm_lyapunov.png").stat().st_size > 10_000
    for name in ("layer_gradient_norms", "jacobian_spectra", "stability_limits", "trajectories", "edge_of_stability"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_figure_functions_take_and_return_axes_from_plain_data():
    import matplotlib

    matplotlib.use("Agg")
    net = ann.MLP([3, 5, 5, 2], "tanh", seed=0)
    rec = net.backprop(np.ones((2, 3)), np.zeros((2, 2)))
    ax = plot.layer_gradient_norms({"a": rec.summary()})
    assert plot.layer_gradient_norms(rec, ax=ax) is ax
    assert len(ax.lines) == 4
    ax = plot.singular_value_spectrum({"x": np.array([0.5, 1.0, 2.0])})
    q = ann.Quadratic([1.0, 2.0])
    r = ann.against_gradient_flow(q, "gd", np.ones(2), lr=0.1, steps=10)
    r_plain = dict(r, trajectory=r["trajectory"].to_dict())
    ax = plot.optimiser_trajectory(r_plain)
    assert len(ax.lines) == 2
    ax = plot.optimiser_trajectory(r, plane=False)
    assert ax.get_xlabel() == "gradient-flow time t"
    ax = plot.stability_limits({"gd": 2.0, "implicit_gd": float("inf")}, expected={"gd": 2.0})
    assert [t.get_text() for t in ax.texts] == ["2", "∞"]
    eos = {"steps": [0, 10], "sharpness": [1.0, 2.0], "threshold": 2.0, "lr": 1.0, "loss_steps": [0, 10],
           "loss": [1.0, 0.5], "hvp": "exact", "method": "lanczos"}
    ax = plot.sharpness_vs_threshold(eos)
    assert ax.lines[1].get_ydata()[0] == 2.0
    ax = plot.lyapunov_comparison({"svd_exponents": [0.1, -0.5], "qr_exponents": [0.1, -0.49]})
    assert len(ax.lines) == 3
    import matplotlib.pyplot as plt

    plt.close("all")
