"""The Euler view: a rate rule run in Brian2 with Euler steps h = lr*dt is forward Euler on its
averaged flow, and loses stability at a stable state once h > 2/|lambda|.

The Brian2 runs use a constant input pattern (one pattern shown with probability 1), so that
every step's update IS the averaged field's Euler step (no sampling noise): the simulated
weights must equal the Euler iterates of the averaged field, shrink in an alternating way just
below the limit and grow in an alternating way just above it.
"""

import numpy as np
import pytest

from biodyn import build
from biodyn.flow import (PatternRates, Scenario, averaged_field, euler_limit, fixed_points,
                         simulate_rate)

X = np.array([1.0, 0.5])
ETA, GAMMA = 1.0, 2.0


@pytest.fixture(scope="module")
def hebb():
    rule = build.resolve("hebb", "with_decay", {"gamma": f"{GAMMA} Hz", "w_min": "-1e3", "w_max": "1e3"})
    neuron = build.resolve("rate", variants={"dynamics": "instantaneous", "gain": "linear"})
    sc = Scenario("euler", rule, "rate", PatternRates([X], [1.0]), {"neuron": neuron},
                  np.array([[0.5, 0.5]]), (np.full(2, -1.0), np.full(2, 1.0)))
    return sc, averaged_field(sc)


def test_euler_limit_is_two_over_the_largest_eigenvalue_at_the_stable_state(hebb):
    sc, field = hebb
    stable = [s for s in fixed_points(field) if s.stable]
    assert len(stable) == 1 and np.linalg.norm(stable[0].w) < 1e-12
    # A = eta x x' - gamma I: eigenvalues eta |x|^2 - gamma = -0.75 and -gamma = -2
    np.testing.assert_allclose(np.sort(stable[0].eigenvalues.real), [-GAMMA, ETA * X @ X - GAMMA], atol=1e-9)
    assert euler_limit(stable[0]) == pytest.approx(2 / GAMMA, rel=1e-9)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_brian2_rule_oscillates_and_decays_below_the_limit_and_diverges_above(hebb, factor):
    sc, field = hebb
    h = factor * 2 / GAMMA                       # dt = the learning step (lr = 1)
    w0 = np.array([0.3, -0.4])
    t, W = simulate_rate(sc, w0, duration=24 * h, dt=h, lr=1.0, copies=1, seed=0)
    w = W[0]
    A = field.jacobian(np.zeros(2))
    euler = [w0]
    for _ in range(len(t) - 1):
        euler.append(euler[-1] + h * A @ euler[-1])
    np.testing.assert_allclose(w, np.array(euler), rtol=1e-9, atol=1e-12)
    # the component on the fast eigenvector (orthogonal to x) flips sign every step
    e_fast = np.array([-X[1], X[0]]) / np.linalg.norm(X)
    c = w @ e_fast
    assert np.all(np.sign(c[1:]) == -np.sign(c[:-1]))
    growth = abs(c[-1] / c[0])
    if factor < 1:
        assert growth < 0.2                      # |1 - 0.9*2| = 0.8 per step: decays
    else:
        assert growth > 5                        # |1 - 1.1*2| = 1.2 per step: diverges
