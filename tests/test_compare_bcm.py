"""bcm_vs_gradient: the BCM rule (Brian2) and gradient ascent on the Intrator-Cooper objective
end in the same selective state; the selective states are the objective's stationary points
and the averaged field's fixed points; with a slow threshold they lose their stability."""

import numpy as np
import pytest

from biodyn import compare

SETTINGS = dict(eta="2 Hz", tau_theta="50 ms", duration="15 second")


@pytest.fixture(scope="module")
def bcm():
    return compare.bcm_vs_gradient(seed=0, **SETTINGS)


def test_selective_states_are_stationary_points_of_the_objective_and_fixed_points_of_bcm(bcm):
    P = np.array([[1.0, 0.3], [0.3, 1.0]])
    states = bcm.summary["selective_states"]
    assert len(states) == 2
    for k, st in enumerate(states):
        y = P @ np.asarray(st["w"])
        np.testing.assert_allclose(y, np.eye(2)[k] / 0.5, atol=1e-12)   # y_k = 1/p_k, others 0
        assert st["gradient_norm"] < 1e-12 and st["field_norm"] < 1e-12
        assert st["stable_on_objective"] and np.all(np.asarray(st["hessian_eigenvalues"]) < 0)
        assert st["jacobian_asymmetry"] < 1e-8        # the adiabatic field is a gradient field
        assert st["jacobian_vs_hessian"] < 1e-6       # ... of R: its Jacobian is R's Hessian
        assert st["stable_with_threshold_state"]      # tau_theta = 50 ms: fast enough


def test_bcm_and_the_ascent_end_in_the_same_selective_state(bcm):
    S = bcm.summary
    assert S["same_state"]
    assert S["final_distance_ann"] < 1e-2
    assert S["relative_distance_bio"] < 0.1                          # sampling noise of the online rule
    assert S["final_selectivity_ann"] == pytest.approx(S["perfect_selectivity"], abs=1e-3)
    assert S["final_selectivity_bio"] == pytest.approx(S["perfect_selectivity"], abs=0.05)


def test_adiabatic_bcm_field_is_the_gradient_of_the_intrator_cooper_objective(bcm):
    S, s = bcm.summary, bcm.series
    assert S["adiabatic_field_vs_gradient"] < 1e-12
    # with the simulated threshold, the BCM update points along grad R while the threshold keeps up
    assert S["median_alignment"] > 0.9
    early = s["t"] < 2.0
    assert np.min(s["alignment"][early]) > 0.99
    # the threshold tracks E[y^2]
    lag = np.abs(s["theta_bio"] - s["theta_adiabatic"]) / np.maximum(s["theta_adiabatic"], 1e-3)
    assert np.median(lag) < 0.2


def test_slow_threshold_destabilises_the_selective_states_the_objective_calls_stable():
    r = compare.bcm_vs_gradient(seed=0, tau_theta="5 second", duration="200 ms")
    for st in r.summary["selective_states"]:
        assert st["stable_on_objective"]
        assert not st["stable_with_threshold_state"]
        assert np.max(st["state_field_eigenvalues_real"]) > 0
        assert np.max(np.abs(st["state_field_eigenvalues_imag"])) > 0   # a Hopf-type loss (oscillation)


def test_selective_states_closed_form_for_three_patterns():
    P = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
    p = np.array([0.2, 0.3, 0.5])
    W = compare.selective_states(P, p)
    np.testing.assert_allclose(W @ P.T, np.diag(1 / p), atol=1e-12)


def test_dependent_patterns_are_a_clear_error():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="linearly independent"):
        compare.bcm_vs_gradient(patterns=[[1, 2], [2, 4]])
    with pytest.raises(SpecError, match="probabilities"):
        compare.bcm_vs_gradient(probabilities=[0.5, 0.6])
