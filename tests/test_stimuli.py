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
    for high in (10, 70_000, 3_000_000, 30_000_000, 2**33):
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


# -- the fast draws and merges equal slow, obviously correct references ------------------------

def _reference_poisson_steps(rates_hz, dt_s, n_steps, rng, chunk_of=None):
    """Poisson trains as documented, one input at a time: per rate (ascending) its inputs draw
    blocks of ``chunk`` geometric gaps (``rng.geometric``, all the inputs still running, one
    call per block), each input's steps the running sum of its own gaps; then the spikes sorted
    by step, then index (``np.lexsort``)."""
    rates_hz = np.asarray(rates_hz, dtype=float)
    idx, steps = [], []
    for rate in np.unique(rates_hz):
        members = np.nonzero(rates_hz == rate)[0]
        p = rate * dt_s
        if p <= 0 or n_steps <= 0:
            continue
        if p >= 1:
            for i in members:
                idx += [i] * n_steps
                steps += list(range(n_steps))
            continue
        expected = p * n_steps
        chunk = (chunk_of or (lambda e: int(e + 6 * np.sqrt(e) + 16)))(expected)
        last = {i: -1 for i in members}
        active = list(members)
        while active:
            gaps = rng.geometric(p, size=(len(active), chunk))
            still = []
            for row, i in enumerate(active):
                own = last[i] + np.cumsum(gaps[row])
                idx += [i] * int(np.sum(own < n_steps))
                steps += list(own[own < n_steps])
                last[i] = own[-1]
                if own[-1] < n_steps:
                    still.append(i)
            active = still
    idx, steps = np.array(idx, dtype=np.int64), np.array(steps, dtype=np.int64)
    order = np.lexsort((idx, steps))
    return idx[order], steps[order]


POISSON_CASES = {
    "one rate": ([20.0] * 300, 1.0),
    "one rate, steps beyond 2**16": ([15.0] * 40, 10.0),
    "one rate, steps beyond 2**18": ([2.0] * 5, 30.0),
    "one rate, 3e5 steps (5 ranges of 2**16)": ([40.0] * 20, 30.0),
    "one rate, 1e6 steps (16 ranges of 2**16)": ([15.0] * 12, 100.0),
    "one rate, 1e6 steps, a lone input": ([200.0], 100.0),
    "one rate, 1e6 steps, few spikes per range": ([15.0] * 3, 100.0),
    "one rate, 2e7 steps (306 ranges: 16-bit range keys)": ([80.0] * 2, 2000.0),
    "mixed rates": ([10.0, 40.0, 10.0, 0.0, 25.0, 40.0], 2.0),
    "rate 0": ([0.0] * 4, 1.0),
    "p >= 1": ([10000.0, 20000.0, 5.0], 0.01),
    "p in [1/3, 1): numpy searches": ([5000.0] * 3 + [3333.3333333333335] * 2, 0.05),
    "a single input": ([30.0], 3.0),
    "no input": ([], 1.0),
    "no step": ([10.0] * 3, 0.0),
    "tiny p": ([1e-3] * 50, 5.0),
}


@pytest.mark.parametrize("case", sorted(POISSON_CASES))
def test_poisson_steps_equal_a_per_input_reference_of_the_same_geometric_draws(case):
    """Same spikes, same dtypes, and the generator left in the same state: the fast draws
    (exponential draws inverted, cache-sized groups, packed radix sorts) change nothing."""
    rates, duration = POISSON_CASES[case]
    dt_s = 1e-4
    n_steps = int(round(duration / dt_s))
    for seed in (0, 1):
        fast, slow = np.random.default_rng(seed), np.random.default_rng(seed)
        idx, steps = stimuli.poisson_steps(np.array(rates, dtype=float) * Hz, duration * second,
                                           dt_s * second, fast)
        ref_idx, ref_steps = _reference_poisson_steps(rates, dt_s, n_steps, slow)
        assert idx.dtype == np.int32 and steps.dtype == np.int64
        assert np.array_equal(idx, ref_idx) and np.array_equal(steps, ref_steps)
        assert np.array_equal(fast.integers(0, 2**62, 8), slow.integers(0, 2**62, 8))


def test_poisson_steps_past_the_first_block_of_draws_equal_the_reference(monkeypatch):
    """Inputs still before the end after their first block of gaps draw more blocks (rare with
    the real block size: forced here with blocks of 3 gaps), as the reference does."""
    def chunk_of(expected):
        return 3

    monkeypatch.setattr(stimuli, "_gaps_per_block", chunk_of)
    for rates in ([50.0] * 40, [50.0, 80.0] * 10, [900.0] * 3):
        fast, slow = np.random.default_rng(4), np.random.default_rng(4)
        idx, steps = stimuli.poisson_steps(np.array(rates) * Hz, 1 * second, 1 * ms, fast)
        ref_idx, ref_steps = _reference_poisson_steps(rates, 1e-3, 1000, slow, chunk_of)
        assert np.array_equal(idx, ref_idx) and np.array_equal(steps, ref_steps)
        assert fast.random() == slow.random()


def test_long_poisson_steps_past_the_first_block_of_draws_equal_the_reference(monkeypatch):
    """Runs of more than 2**18 steps (sorted by ranges of 2**16 steps), with blocks of 40 gaps:
    inputs need several blocks of draws, some none after the first."""
    def chunk_of(expected):
        return 40

    monkeypatch.setattr(stimuli, "_gaps_per_block", chunk_of)
    for rates, n_steps in (([8.0] * 20, 300_000), ([4.0] * 40, 1_000_000),
                           ([0.2, 0.3] * 8, 1_000_000)):
        fast, slow = np.random.default_rng(5), np.random.default_rng(5)
        idx, steps = stimuli.poisson_steps(np.array(rates) * Hz, n_steps * 1e-4 * second,
                                           0.1 * ms, fast)
        ref_idx, ref_steps = _reference_poisson_steps(rates, 1e-4, n_steps, slow, chunk_of)
        assert idx.dtype == np.int32 and steps.dtype == np.int64
        assert np.array_equal(idx, ref_idx) and np.array_equal(steps, ref_steps)
        assert fast.random() == slow.random()


def test_long_one_rate_draws_grow_a_range_whose_spikes_overflow_its_first_room(monkeypatch):
    """More spikes in a range of 2**16 steps than room made for them (forced: room for 5): the
    room grows (several groups of rows) and the spikes are the reference's."""
    monkeypatch.setattr(stimuli, "_range_room", lambda expected: 5)
    rates = [2.0] * 300
    fast, slow = np.random.default_rng(6), np.random.default_rng(6)
    idx, steps = stimuli.poisson_steps(np.array(rates) * Hz, 40 * second, 0.1 * ms, fast)
    ref_idx, ref_steps = _reference_poisson_steps(rates, 1e-4, 400_000, slow)
    assert np.array_equal(idx, ref_idx) and np.array_equal(steps, ref_steps)
    assert fast.random() == slow.random()


def test_long_one_rate_draws_fill_the_arrays_given_or_new_ones_when_they_do_not_fit():
    """``into``: the spikes of a run of 1e6 steps written to the start of the arrays given (the
    same spikes as without), new arrays when they are too small."""
    rates, n_steps = np.full(10, 20.0), 1_000_000
    idx, steps = stimuli._poisson_steps(rates, 1e-4, n_steps, np.random.default_rng(2))
    into = (np.full(idx.size + 5, -1, dtype=np.int32), np.full(idx.size + 5, -1, dtype=np.int32))
    i2, s2 = stimuli._poisson_steps(rates, 1e-4, n_steps, np.random.default_rng(2), into=into)
    assert np.shares_memory(i2, into[0]) and np.shares_memory(s2, into[1])
    assert np.array_equal(into[0][:idx.size], idx) and np.array_equal(into[1][:idx.size], steps)
    assert np.all(into[0][idx.size:] == -1)
    small = (np.zeros(idx.size - 1, dtype=np.int32), np.zeros(idx.size - 1, dtype=np.int32))
    i3, s3 = stimuli._poisson_steps(rates, 1e-4, n_steps, np.random.default_rng(2), into=small)
    assert not np.shares_memory(i3, small[0]) and np.array_equal(i3, idx)
    assert np.array_equal(s3, steps) and np.all(small[0] == 0)


def test_geometric_gaps_are_numpys_geometric_draws_number_for_number():
    """The inversion of numpy's exponential draws is its geometric draw, for p across the
    inversion range, at its edge and where numpy searches instead; the stream is used alike."""
    for p in (1e-9, 1e-5, 1e-3, 0.0025, 0.1, 0.3333, 0.333333333333333, 0.34, 0.9):
        a, b = np.random.default_rng(11), np.random.default_rng(11)
        out = np.empty((37, 1000), dtype=np.int32)
        stimuli._geometric_gaps(a, p, 10**6, out)
        assert np.array_equal(out, np.minimum(b.geometric(p, size=(37, 1000)), 10**6)), p
        assert a.random() == b.random()


def test_correlated_poisson_steps_equal_the_mixture_reference():
    """Mother train (the reference Poisson draw at rate/c), each of its spikes kept per train
    with probability c: the same spikes from the same generator."""
    for n, c in ((20, 0.2), (1, 0.5), (30, 1.0)):
        fast, slow = np.random.default_rng(2), np.random.default_rng(2)
        idx, steps = stimuli.correlated_poisson_steps(n, 15 * Hz, c, 2 * second, 0.1 * ms, fast)
        _, mother = _reference_poisson_steps([15.0 / c], 1e-4, 20000, slow)
        spike, train = np.nonzero(slow.random((mother.size, n)) < c)
        assert np.array_equal(idx, train) and np.array_equal(steps, mother[spike])


def test_merged_positions_report_the_elements_per_step_of_all_runs():
    rng = np.random.default_rng(8)
    runs = [np.sort(rng.integers(0, 30, size=k)) for k in (5, 0, 40)]
    totals = np.empty(30, dtype=np.int64)
    where = list(stimuli.iter_merged_positions(runs, 30, totals=totals))
    assert np.array_equal(totals, np.bincount(np.concatenate(runs), minlength=30))
    assert all(np.array_equal(a, b) for a, b in zip(where, stimuli.merged_positions(runs, 30)))


@pytest.mark.parametrize("on_grid", [True, False])
def test_merged_copies_are_the_lexsort_of_all_their_spikes_then_the_padding(on_grid):
    """A batch's inputs: copy k's neuron i is k*width + i; the spikes sorted by step, then
    neuron; bins their steps, times the bins times dt (or each spike's own time); then the
    padding of stimuli.pad (neuron 0, one step each from the end) to the copies' total size."""
    from biodyn.protocols._network import _merge_copies, _padded

    rng = np.random.default_rng(3)
    dt, n_steps, width = 1e-4, 5000, 7
    copies, ref_i, ref_s, ref_t = [], [], [], []
    for k, (rate, cap) in enumerate(((30.0, 1024), (0.0, 64), (80.0, 3072), (30.0, 1024))):
        idx, st = stimuli.poisson_steps(np.full(width, rate) * Hz, n_steps * dt * second, dt * second,
                                        rng)
        (i, t), b = _padded(idx.astype(np.int32), st, cap, n_steps, dt)
        if not on_grid:
            t = t.copy()
            t[:idx.size] += 1e-7  # times off the grid: each kept as it is
        copies.append(((i, t), b if on_grid else None))
        ref_i.append(idx + k * width)
        ref_s.append(st)
        ref_t.append(t[:idx.size])
    (i_m, t_m), b_m, size = _merge_copies([c[0] for c in copies], [c[1] for c in copies], width,
                                          n_steps, dt, on_grid)
    ref_i, ref_s, ref_t = map(np.concatenate, (ref_i, ref_s, ref_t))
    order = np.lexsort((ref_i, ref_s))
    n = order.size
    assert size == 1024 + 64 + 3072 + 1024 == i_m.size == t_m.size == b_m.size
    assert i_m.dtype == np.int32 and b_m.dtype == np.int32 and t_m.dtype == float
    assert np.array_equal(i_m[:n], ref_i[order]) and np.array_equal(b_m[:n], ref_s[order])
    assert np.array_equal(t_m[:n], ref_s[order] * dt if on_grid else ref_t[order])
    pad_i, pad_t = stimuli.pad(i_m[:n], t_m[:n], size, n_steps * dt, dt)
    assert np.array_equal(i_m, pad_i) and np.array_equal(t_m, pad_t)
    assert np.array_equal(b_m[n:], stimuli.timebins(t_m[n:], dt))


def test_poisson_steps_draw_numpys_geometric_itself_where_it_is_not_the_exponential_inversion(
        monkeypatch):
    """A numpy whose geometric draws are not the inversion of its exponential draws (the check
    fails) gets rng.geometric called directly: the same spikes."""
    monkeypatch.setattr(stimuli, "_GEOMETRIC_IS_EXPONENTIAL", False)
    fast, slow = np.random.default_rng(6), np.random.default_rng(6)
    idx, steps = stimuli.poisson_steps(np.full(30, 20.0) * Hz, 8 * second, 0.1 * ms, fast)
    ref_idx, ref_steps = _reference_poisson_steps([20.0] * 30, 1e-4, 80000, slow)
    assert np.array_equal(idx, ref_idx) and np.array_equal(steps, ref_steps)


def test_merged_positions_of_sparse_runs_count_them_again_instead_of_keeping_the_counts():
    """Runs with far fewer elements than runs * steps: the same positions (counted twice)."""
    rng = np.random.default_rng(12)
    runs = [np.sort(rng.choice(2_000_000, size=k, replace=False)) for k in (3, 0, 5, 1)]
    where = stimuli.merged_positions(runs, 2_000_000)
    order = np.argsort(np.concatenate(runs), kind="stable")
    placed = np.empty(order.size, dtype=np.int64)
    placed[np.concatenate(where)] = np.arange(order.size)
    assert np.array_equal(placed, order)
