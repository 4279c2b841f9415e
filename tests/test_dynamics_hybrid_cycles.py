"""Cycles of integrate-and-fire neurons through their reset: period and Floquet multipliers by
saltation matrices (biodyn.dynamics._hybrid_cycles), against closed forms (LIF) and against
finite differences of the simulated return map (AdEx)."""

import json

import numpy as np
import pytest

from biodyn.dynamics import read
from biodyn.dynamics._hybrid_cycles import HybridNeuron, hybrid_cycle


@pytest.mark.parametrize("t_ref_ms", [2.0, 0.0])
def test_lif_cycle_has_the_closed_form_period_and_trivial_multiplier_one(t_ref_ms):
    field = read("lif", overrides={"I": "2 nA", "t_ref": f"{t_ref_ms} ms"})
    c = hybrid_cycle(field)
    RI, E_L, v_r, v_th, tau = 10e6 * 2e-9, -0.065, -0.065, -0.050, 0.010
    T = t_ref_ms * 1e-3 + tau * np.log((RI + E_L - v_r) / (RI + E_L - v_th))
    assert c.period == pytest.approx(T, rel=1e-9)
    # the flight's variational factor exp(-T_flight/tau) = f(v_th)/f(v_r) is undone by the
    # saltation f+/f-: the monodromy along the flow is exactly 1; a 1-D neuron has no other
    assert len(c.multipliers) == 1 and abs(c.trivial - 1) < 1e-7 and c.stable


def test_lif_saltation_matrix_is_the_ratio_of_the_fields_at_reset_and_threshold():
    field = read("lif", overrides={"I": "2 nA", "t_ref": "0 ms"})
    hn = HybridNeuron(field)
    T, xp, DP, M, _ = hn.spike(np.array([-0.065]), 1.0)
    RI, E_L, v_r, v_th, tau = 0.02, -0.065, -0.065, -0.050, 0.010
    assert M[0, 0] == pytest.approx(1.0, abs=1e-8)               # S * Phi = (f+/f-) * (f-/f+)
    assert DP[0, 0] == 0.0                                       # v = v_reset: perturbations erased
    assert T == pytest.approx(tau * np.log((RI + E_L - v_r) / (RI + E_L - v_th)), rel=1e-9)


def test_adex_multiplier_equals_the_slope_of_the_simulated_return_map():
    field = read("adex", overrides={"I": "1 nA"})
    c = hybrid_cycle(field)
    assert abs(c.trivial - 1) < 1e-6                             # the saltation is right
    (mu,) = c.multipliers[1:]
    hn = HybridNeuron(field)
    x = c.state
    d = 1e-4 * abs(x[1])
    up = hn.spike(x + [0, d], 1.0, variational=False)[1]
    down = hn.spike(x - [0, d], 1.0, variational=False)[1]
    slope = (up[1] - down[1]) / (2 * d)                          # d w_{k+1} / d w_k, no variational eqs
    assert mu.real == pytest.approx(slope, rel=1e-5) and abs(mu.imag) == 0
    assert 0 < mu.real < 1 and c.stable
    # the cycle is a fixed point of the return map
    again = hn.spike(x, 1.0, variational=False)
    np.testing.assert_allclose(again[1], x, rtol=1e-8)
    assert again[0] == pytest.approx(c.period, rel=1e-7)


def test_cli_cycles_of_integrate_and_fire_neurons_go_through_the_reset(tmp_path, capsys):
    from biodyn.cli import main

    js = tmp_path / "lif.json"
    assert main(["-q", "analyze", "cycles", "lif", "--set", "I=2 nA", "--out", str(tmp_path),
                 "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    (cyc,) = d["cycles"]
    assert cyc["through_reset"] and cyc["period"] == pytest.approx(0.0158629436, rel=1e-8)
    assert "saltation" in d["method"]
    # no drive: it rests, and says so (no cycle, no error)
    assert main(["-q", "analyze", "cycles", "lif", "--out", str(tmp_path), "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    assert d["cycles"] == [] and "rests" in " ".join(d["notes"])
