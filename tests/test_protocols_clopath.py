"""neuron_pairing (Clopath et al. 2010): evoked postsynaptic spikes; voltage clamp against closed forms."""

import numpy as np
import pytest

from biodyn import protocols

# clopath_2010 visual_cortex set and the adex_clopath rest
A_LTD, A_LTP, THETA_MINUS, THETA_PLUS, W0 = 14e-5, 8e-5, -70.6, -45.3, 0.5


def test_pulses_evoke_postsynaptic_spikes_at_the_pairing_times():
    r = protocols.run("clopath_2010", target="numpy", select=lambda l: l["frequency"] == 50,
                      stimulus={"repetitions": 3, "bursts": 1})
    assert [c["labels"] for c in r.summary["conditions"]] == [{"frequency": 50, "delta_t": 10},
                                                               {"frequency": 50, "delta_t": -10}]
    for fired, intended in zip(r.extra["post_spikes"], r.extra["intended_post"]):
        assert fired.size == intended.size == 3
        lag = fired - intended
        # the 1-ms pulse starts 1 ms early: the neuron fires at the intended time, later spikes
        # of a 50-Hz train a little later (adaptive threshold), always within the pulse's length
        assert np.all((lag >= -1e-9) & (lag < 1e-3))
        assert lag[0] <= 0.1e-3 + 1e-9
    pre_post, post_pre = r.values
    assert pre_post > post_pre  # pre-before-post potentiates more (Clopath et al. Fig. 2)
    np.testing.assert_allclose(r.values, r.extra["w_end"] / W0 - 1, rtol=1e-12)


def test_voltage_clamp_gives_no_change_below_theta_minus_ltd_between_and_ltp_above_theta_plus():
    """Clamped at v, the filtered voltages settle at v before the first presynaptic spike; each of
    the n presynaptic spikes then depresses by A_LTD (v - theta_minus)+, and above theta_plus the
    presynaptic trace (integral 1 per spike) potentiates by A_LTP (v - theta_plus)(v - theta_minus)."""
    n = 2
    r = protocols.run("clopath_2010_clamp", target="numpy", stimulus={"repetitions": n},
                      select=lambda l: l["v_clamp"] in (-75, -60, -40))
    v = np.array([c["labels"]["v_clamp"] for c in r.summary["conditions"]])
    ltd = A_LTD * np.clip(v - THETA_MINUS, 0, None)
    ltp = A_LTP * np.clip(v - THETA_PLUS, 0, None) * np.clip(v - THETA_MINUS, 0, None)
    expected = n * (ltp - ltd) / W0
    assert r.values[0] == 0.0
    np.testing.assert_allclose(r.values[1:], expected[1:], rtol=1e-3)
    assert r.values[1] < 0 < r.values[2]
    assert not any(t.size for t in r.extra["post_spikes"])  # a clamped neuron does not fire
