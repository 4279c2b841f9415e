"""Stimuli: event-driven Poisson trains have PoissonGroup's statistics; bad trains are refused."""

import numpy as np
import pytest
from brian2 import Hz, ms, second

from biodyn import stimuli
from biodyn.stimuli import StimulusError


def test_pattern_train_repeats_offsets_at_frequency():
    t = stimuli.pattern_train([0, 10] * ms, 3, 2 * Hz, start=100 * ms)
    np.testing.assert_allclose(np.asarray(t / ms), [100, 110, 600, 610, 1100, 1110])


def test_poisson_counts_are_bernoulli_per_step_like_poissongroup():
    """Each step holds a spike with probability p = rate*dt, independently: mean n*p and
    variance n*p*(1-p) (a Poisson process would give variance n*p)."""
    rng = np.random.default_rng(1)
    dt, n_steps, p = 1 * ms, 1000, 0.5
    counts = [len(stimuli.poisson_train(p / dt, n_steps * dt, dt, rng)) for _ in range(400)]
    mean, var = np.mean(counts), np.var(counts)
    assert abs(mean - n_steps * p) < 4 * np.sqrt(n_steps * p * (1 - p) / 400)
    assert 0.8 * n_steps * p * (1 - p) < var < 1.2 * n_steps * p * (1 - p)


def test_poisson_train_is_on_the_grid_one_spike_per_step_and_seeded():
    dt = 0.1 * ms
    a = stimuli.poisson_train(200 * Hz, 2 * second, dt, np.random.default_rng(7))
    b = stimuli.poisson_train(200 * Hz, 2 * second, dt, np.random.default_rng(7))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    steps = np.asarray(a / dt)
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    assert np.all(np.diff(steps) >= 1 - 1e-9)
    assert abs(len(a) / 2.0 - 200) < 4 * np.sqrt(400) / 2.0


def test_poisson_isi_distribution_is_geometric():
    """Inter-spike steps are geometric(p): P(k) = (1-p)^(k-1) p."""
    rng = np.random.default_rng(3)
    dt = 1 * ms
    t = stimuli.poisson_train(100 * Hz, 200 * second, dt, rng)
    isi = np.round(np.diff(np.asarray(t / dt))).astype(int)
    p = 0.1
    for k in (1, 2, 5, 10):
        expected = (1 - p) ** (k - 1) * p
        assert abs(np.mean(isi == k) - expected) < 5 * np.sqrt(expected / len(isi))


def test_poisson_trains_are_sorted_by_time():
    idx, times = stimuli.poisson_trains(np.array([10, 50, 5]) * Hz, 1 * second, 0.1 * ms,
                                        np.random.default_rng(0))
    assert np.all(np.diff(np.asarray(times)) >= 0)
    assert set(np.unique(idx)) <= {0, 1, 2}


@pytest.mark.parametrize("times, message", [
    ([0.3, 0.1], "sorted"),
    ([-0.1, 0.2], ">= 0"),
    ([0.1, np.nan], "finite"),
    ([0.1, 0.10002], "one spike per time step"),
])
def test_bad_trains_are_refused_with_the_reason(times, message):
    with pytest.raises(StimulusError) as info:
        stimuli.check_train(np.array(times) * second, dt=0.1 * ms, name="pre train 3")
    assert message in str(info.value) and "pre train 3" in str(info.value)


def test_generator_emits_the_trains():
    from brian2 import Network, SpikeMonitor, prefs

    prefs.codegen.target = "numpy"
    trains = [np.array([1.0, 5.0]) * ms, np.array([2.0]) * ms]
    G = stimuli.generator(trains, dt=0.1 * ms)
    M = SpikeMonitor(G)
    Network(G, M).run(10 * ms)
    assert list(np.asarray(M.i)) == [0, 1, 0]
    np.testing.assert_allclose(np.asarray(M.t / ms), [1.0, 2.0, 5.0])


def test_stable_order_is_numpys_stable_argsort_of_integer_steps():
    """The radix-sort shortcut used to merge Poisson trains orders exactly as a stable argsort,
    ties kept in input order, beyond 16 bits and at the 2**32 fallback."""
    from biodyn import stimuli

    rng = np.random.default_rng(5)
    for high in (10, 70_000, 3_000_000, 2**33):
        steps = rng.integers(0, high, 50_000)
        assert np.array_equal(stimuli.stable_order(steps), np.argsort(steps, kind="stable"))
    assert stimuli.stable_order(np.array([], dtype=np.int64)).size == 0


def test_merged_positions_equal_the_stable_sort_of_the_concatenation():
    """The counting merge of step-sorted runs puts every element where a stable sort by step of
    the concatenated runs puts it (ties: earlier run first, then the run's own order)."""
    import numpy as np

    from biodyn import stimuli

    rng = np.random.default_rng(5)
    runs = [np.sort(rng.integers(0, 50, size=n)) for n in (0, 1, 37, 200, 5)]
    where = stimuli.merged_positions(runs, 50)
    order = stimuli.stable_order(np.concatenate(runs))
    placed = np.empty(order.size, dtype=np.int64)
    for k, pos in enumerate(where):
        placed[pos] = np.arange(sum(r.size for r in runs[:k]), sum(r.size for r in runs[:k + 1]))
    assert np.array_equal(placed, order)
    with pytest.raises(ValueError):
        stimuli.merged_positions([np.array([3, 1])])
