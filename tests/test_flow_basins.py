"""Which stable state a learning rule ends in: basin probabilities of the averaged flow from the
protocol's initial-weight distribution (biodyn.flow.flow_basins), on known answers."""

import json

import numpy as np
import pytest

from biodyn import flow
from biodyn.dynamics import wilson_interval


def test_end_states_of_a_1d_bistable_flow_split_at_the_unstable_point():
    # dw/dt = (w - c)(1 - w^2): stable at -1 and +1, the basin boundary the unstable point c.
    c = 0.1
    f = lambda W: (W - c) * (1 - W ** 2)                                   # noqa: E731
    jac = lambda W: ((1 - W ** 2) - 2 * W * (W - c))[:, :, None]           # noqa: E731
    rng = np.random.default_rng(3)
    starts = rng.uniform(-0.5, 0.5, (2000, 1))
    labels, ends = flow.end_states(f, starts, np.array([[-1.0], [1.0]]), jacobian=jac, scale=1.0)
    # every start above c ends at +1, every start below at -1 (a deterministic flow)
    np.testing.assert_array_equal(labels, (starts[:, 0] > c).astype(int))
    # so the probability is the initial distribution's mass above c: 1 - CDF(c) = 0.4
    k = int(np.sum(labels == 1))
    lo, hi = wilson_interval(k, len(labels))
    assert lo < 0.4 < hi


def test_end_states_project_onto_bounds_and_flag_divergence():
    f = lambda W: W.copy()                                                 # dw/dt = w: runs away
    labels, W = flow.end_states(f, np.array([[0.5], [-0.2]]), np.array([[1.0]]),
                                bounds=(0.0, 1.0), h=0.01, max_time=50.0)
    assert list(labels) == [0, -1] and W[1, 0] == 0.0       # clipped to 0, not a stable state listed
    labels, _ = flow.end_states(f, np.array([[0.5]]), np.zeros((0, 1)), h=0.01, max_time=100.0, scale=1.0)
    assert list(labels) == [-2]


def test_end_states_reach_a_stable_state_on_a_bound_exactly():
    """dw0/dt = 1 pushes w0 onto its bound 1, where dw1/dt = w0/2 - w1 rests at w1 = 1/2
    exactly (the projected flow's stable state). The projected RK4 must end there (within the
    1e-3 * scale tolerance), not at the fixed point of stages evaluated past the bound
    (there w0 = 1 + h/2 and 1 + h, which moves the end of w1 by O(h) = 0.04 at h = 0.2)."""
    f = lambda W: np.stack([np.ones(len(W)), 0.5 * W[:, 0] - W[:, 1]], axis=1)   # noqa: E731
    jac = lambda W: np.broadcast_to(np.array([[0.0, 0.0], [0.5, -1.0]]), (len(W), 2, 2))  # noqa: E731
    starts = np.random.default_rng(1).uniform(0.0, 0.3, (50, 2))
    labels, ends = flow.end_states(f, starts, np.array([[1.0, 0.5]]), bounds=(0.0, 1.0),
                                   jacobian=jac, scale=1.0, h=0.2)
    assert list(labels) == [0] * 50
    np.testing.assert_allclose(ends, np.tile([1.0, 0.5], (50, 1)), atol=1e-3)


def test_end_states_stop_a_start_held_in_a_corner_that_is_no_stable_state():
    """dw/dt = w - 1/2 (per weight) on [0, 1]^2: the listed stable state is (0, 0) (the corner
    the flow takes starts below 1/2 to); a start above 1/2 runs into the corner (1, 1), where
    the projected flow holds it forever. Its end and label (unresolved) are final once a block
    of steps leaves it exactly where it was, so the integration stops there instead of running
    to max_steps (the zero eigenvalue of triplet_poisson made max_time infinite: 200000 steps
    from 400 starts, 20 s)."""
    calls = []

    def f(W):
        calls.append(len(W))
        return W - 0.5

    labels, ends = flow.end_states(f, np.array([[0.2, 0.3], [0.7, 0.9]]), np.array([[0.0, 0.0]]),
                                   bounds=(0.0, 1.0), h=0.05, max_time=1e9, scale=1.0)
    assert list(labels) == [0, -1]
    assert ends[1].tolist() == [1.0, 1.0] and np.all(np.abs(ends[0]) < 1e-3)
    assert len(calls) <= 4 * 50 * 10          # a few blocks, not 200000 steps


def test_covariance_rule_is_symmetric_so_its_two_corners_are_equally_likely():
    # dw/dt = eta C w is odd in w, the bounds [-1, 1] and the initial distribution (uniform in
    # [-0.3, 0.3]^2) symmetric: P(w -> (1, 1)) = P(w -> (-1, -1)).
    a = flow.analyze("covariance_rule", simulate=False, basins={"samples": 600})
    b = a.basins.as_dict()
    assert b["initial_distribution"] == {"kind": "uniform", "low": -0.3, "high": 0.3}
    by = {tuple(r["w"]): r for r in b["states"]}
    pp, mm = by[(1.0, 1.0)], by[(-1.0, -1.0)]
    assert pp["count"] + mm["count"] + by[(1.0, -1.0)]["count"] + by[(-1.0, 1.0)]["count"] == 600
    half = (pp["count"] + mm["count"]) / 2 / 600
    assert pp["interval"][0] < half < pp["interval"][1] and mm["interval"][0] < half < mm["interval"][1]
    assert half > 0.45                                  # the top eigenvector's diagonal dominates
    assert a.summary()["basins"]["n_samples"] == 600


def test_basins_can_be_switched_off_and_bad_options_are_refused():
    a = flow.analyze("covariance_rule", simulate=False, basins=False)
    assert a.basins is None and a.summary()["basins"] is None
    with pytest.raises(Exception, match="basins options"):
        flow.analyze("covariance_rule", simulate=False, basins={"sample": 3})


def test_simulated_end_states_over_seeds_are_assigned_and_compared():
    a = flow.analyze("covariance_rule", target="numpy", basins={"samples": 200, "seeds": 1})
    b = a.summary()["basins"]
    runs = b["simulated_runs"]
    assert [r["seed"] for r in runs] == [0, 0, 0, 1, 1, 1]          # 3 neurons per replay, 2 replays
    assert all(r["distance"] < 0.05 for r in runs)                  # they end at corners
    assert sum(r["simulated_count"] for r in b["states"]) == 6
    assert all(r["agree"] for r in b["states"])
    assert "simulated" in a.verdict() and "Wilson" in a.verdict()


def test_flow_figure_labels_each_stable_state_with_its_probability(tmp_path):
    from biodyn import jobs

    r = jobs.analyze_flow("covariance_rule", simulate=False, out=tmp_path, json=tmp_path / "c.json")
    portrait = json.loads((tmp_path / "c.json").read_text())["figure"]["portrait"]
    probs = {tuple(s["w"]): s["probability"] for s in portrait["states"] if s["stable"]}
    assert probs[(1.0, 1.0)] + probs[(-1.0, -1.0)] > 0.9 and all(p is not None for p in probs.values())
    assert all(s["probability"] is None for s in portrait["states"] if not s["stable"])
    assert (tmp_path / "covariance_rule_flow.png").exists()
