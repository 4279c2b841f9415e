"""The protocol engine: conditions in one run, the closed form of the pair rule, the summary."""

import numpy as np
import pytest

from biodyn import protocols


def closed_form_pair(delta_t_ms, n, A_plus, A_minus, tau_plus_ms, tau_minus_ms):
    """Weight change of n widely separated pairings under the additive pair rule."""
    d = np.asarray(delta_t_ms, float)
    return np.where(d >= 0, n * A_plus * np.exp(-d / tau_plus_ms), -n * A_minus * np.exp(d / tau_minus_ms))


def test_bi_poo_window_matches_closed_form_numpy():
    n = 3
    result = protocols.run("bi_poo_1998", target="numpy", stimulus={"repetitions": n})
    s = result.summary
    dts = np.array([c["labels"]["delta_t"] for c in s["conditions"]])
    assert dts.min() == -100 and dts.max() == 100 and len(dts) == 101
    expected = closed_form_pair(dts, n, 0.005, 1.05 * 0.005, 20.0, 20.0) / 0.5
    np.testing.assert_allclose(result.values, expected, rtol=1e-6)


def test_bi_poo_conditions_are_synapses_of_one_run():
    result = protocols.run("bi_poo_1998", target="numpy", stimulus={"repetitions": 1})
    w = [s for s in result.block.segments[0].analogsignals if s.name == "w"][0]
    assert w.shape[1] == 101  # one channel (synapse) per condition, one Segment (run)
    assert len(result.block.segments) == 1
