"""Stimuli: spike trains and currents for driving models.

* :func:`pattern_train` — a pattern of spikes repeated ``n`` times at a frequency
  (pairings, triplets, bursts);
* :func:`poisson_train` — Poisson spike times drawn event by event on the
  simulation's time grid: the number of steps between spikes is geometric with
  ``p = rate*dt``, which is exactly the statistics of Brian2's ``PoissonGroup``
  (a Bernoulli draw per neuron per step) at the cost of one draw per spike
  instead of one per neuron per step;
* :func:`check_train` — validation of user-given spike times (sorted, finite,
  non-negative, one spike per time step);
* :func:`generator` — a ``SpikeGeneratorGroup`` from a list of trains;
* :func:`capacity`, :func:`pad`, :func:`generator_values` — spike arrays of a
  fixed size and their values for a rerun of a compiled build, so that the
  spikes of a replay can change without changing the generated code.

All times are Brian2 quantities at the interface; arrays inside are in seconds.
"""

from __future__ import annotations

import sys

import numpy as np

from .errors import BiodynError, SpecError

__all__ = ["pattern_train", "poisson_train", "poisson_trains", "check_train", "merge",
           "generator", "StimulusError", "timebins", "capacity", "pad", "generator_values",
           "spike_generator", "correlated_poisson_trains", "poisson_steps",
           "correlated_poisson_steps"]


class StimulusError(BiodynError, ValueError):
    """Spike trains that cannot be used (unsorted, two spikes in one step, ...)."""


def _seconds(q, name):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity, get_dimensions
    from brian2.units.allunits import second

    if isinstance(q, Quantity):
        if get_dimensions(q) != second.dim:
            raise SpecError(None, name, "a time (e.g. '10 ms')", repr(q))
        return np.asarray(q / second, dtype=float)
    if get_dimensions(q) is DIMENSIONLESS and np.size(q) and np.all(np.asarray(q) == 0):
        return np.zeros(np.shape(q))
    raise SpecError(None, name, "a time with a unit (e.g. 10*ms)", repr(q))


def pattern_train(offsets, repetitions, frequency, start=0.0):
    """Spike times of a pattern repeated ``repetitions`` times at ``frequency``.

    .. math:: t_{k,m} = t_0 + k / f + o_m, \\quad k = 0..n-1

    Parameters
    ----------
    offsets : Quantity array
        Spike times within one repetition.
    repetitions : int
    frequency : Quantity (Hz)
        Repetition frequency.
    start : Quantity
        Time of the first repetition.

    Returns
    -------
    Quantity array, sorted.
    """
    from brian2 import second

    offsets = np.atleast_1d(_seconds(offsets, "offsets"))
    period = 1.0 / float(frequency / (1 / second))
    start_s = float(_seconds(start, "start")) if not np.isscalar(start) or start != 0 else 0.0
    k = np.arange(int(repetitions))[:, None]
    times = (start_s + k * period + offsets[None, :]).ravel()
    return np.sort(times) * second


def poisson_train(rate, duration, dt, rng, start=0.0):
    """Poisson spike times on the time grid, drawn event by event.

    The number of time steps from one spike to the next is geometric with
    success probability ``p = rate*dt``, so each step holds a spike with
    probability ``p`` independently — the statistics of Brian2's ``PoissonGroup``
    — and no neuron spikes twice in one step.

    Parameters
    ----------
    rate : Quantity (Hz)
    duration, dt : Quantity (s)
    rng : numpy.random.Generator
        Explicit generator (seeded by the caller) for reproducibility.
    start : Quantity

    Returns
    -------
    Quantity array of spike times (multiples of ``dt`` after ``start``).
    """
    from brian2 import second

    rate_hz = float(rate * second)
    dt_s = float(_seconds(dt, "dt"))
    n_steps = int(round(float(_seconds(duration, "duration")) / dt_s))
    start_s = float(_seconds(start, "start")) if not (np.isscalar(start) and start == 0) else 0.0
    steps = _geometric_steps(rate_hz * dt_s, n_steps, rng)
    return (start_s + steps * dt_s) * second


def _geometric_steps(p, n_steps, rng):
    if p <= 0 or n_steps <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(n_steps, dtype=np.int64)
    expected = p * n_steps
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    parts, last = [], -1
    while True:
        gaps = rng.geometric(p, size=chunk)
        steps = last + np.cumsum(gaps)
        parts.append(steps[steps < n_steps])
        if steps[-1] >= n_steps:
            break
        last = steps[-1]
    return np.concatenate(parts)


def poisson_trains(rates, duration, dt, rng, start=0.0):
    """Independent Poisson trains for several neurons: ``(indices, times)`` sorted by time.

    ``rates`` is one rate or an array with one rate per neuron. Drawn event by
    event as :func:`poisson_train` (each time step holds a spike with
    probability ``rate*dt``, independently), vectorised over the neurons of
    equal rate; see :func:`poisson_steps`.
    """
    from brian2 import second

    dt_s = float(_seconds(dt, "dt"))
    start_s = float(_seconds(start, "start")) if not (np.isscalar(start) and start == 0) else 0.0
    idx, steps = poisson_steps(rates, duration, dt, rng)
    return idx.astype(np.int64), (start_s + steps * dt_s) * second


def poisson_steps(rates, duration, dt, rng):
    """Independent Poisson trains as time steps: ``(indices, steps)`` sorted by step, then index.

    Neuron ``i`` spikes in each of the ``duration/dt`` steps with probability
    ``p_i = rates[i]*dt``, independently — the statistics of Brian2's
    ``PoissonGroup`` — drawn event by event: the gaps between a neuron's
    spikes are geometric with parameter ``p_i`` (one random number per spike),
    for all neurons of one rate at once.

    The gaps are numpy's ``rng.geometric(p, (neurons, block))`` draws, a block of
    ``6 sqrt(expected) + 16`` more than the expected spikes per neuron at a time, number
    for number (computed faster from numpy's exponential draws where that gives the same
    numbers: :func:`_geometric_gaps`), so a seed gives the same trains whichever way they
    are computed; the spikes of one rate are sorted by a radix sort of packed (step,
    neuron) words (:func:`_sorted_trains`).

    Returns ``indices`` as int32 and ``steps`` as int64.
    """
    from brian2 import Hz

    rates_hz = np.atleast_1d(np.asarray(rates / Hz, dtype=float))
    dt_s = float(_seconds(dt, "dt"))
    n_steps = int(round(float(_seconds(duration, "duration")) / dt_s))
    idx, steps = _poisson_steps(rates_hz, dt_s, n_steps, rng)
    return idx, steps.astype(np.int64, copy=False)


def _poisson_steps(rates_hz, dt_s, n_steps, rng, into=None):
    """:func:`poisson_steps` from the rates (Hz, floats), the time step (s) and the number of
    steps: ``(indices, steps)``, int32 indices and steps as int32 if ``n_steps < 2**31``
    (else int64).

    ``into`` (optional): two 1-d arrays (indices: int32, steps: the steps' type) to write the
    spikes to, from their start, if they fit; the returned arrays are then views of them.

    The pairs (step, index) are unique (one spike per neuron and step), so their order is the
    same whatever sort makes it: a stable sort by step of spikes drawn neuron by neuron
    (:func:`stable_order`) or a sort by step then index (``np.lexsort``).
    """
    rates_hz = np.asarray(rates_hz, dtype=float)
    step_type = np.int32 if n_steps < 2**31 else np.int64
    p = float(rates_hz[0]) * dt_s if rates_hz.size else 0.0
    if (0 < p < 1 and 0 < n_steps < 2**31 and rates_hz.size <= 2**16
            and (n_steps <= 2**18 or rates_hz.size * p * 2**16 >= _SPIKES_PER_RANGE)
            and np.all(rates_hz == rates_hz[0])):  # one rate: drawn and sorted in one go
        return _sorted_trains(rates_hz[0] * dt_s, n_steps, rates_hz.size, rng, into)
    idx_parts, step_parts, by_row = [], [], True
    for rate in np.unique(rates_hz):
        members = np.nonzero(rates_hz == rate)[0]
        rows, steps, row_major = _geometric_steps_many(rate * dt_s, n_steps, members.size, rng)
        by_row = by_row and row_major
        idx_parts.append(rows if members.size == rates_hz.size else members[rows].astype(np.int32))
        step_parts.append(steps)
    if len(idx_parts) == 1:
        idx, steps = idx_parts[0], step_parts[0]
    elif idx_parts:
        idx, steps = np.concatenate(idx_parts), np.concatenate(step_parts)
    else:
        idx, steps = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=step_type)
    if len(idx_parts) == 1 and by_row:
        order = stable_order(steps, n_steps)  # indices ascending: a stable sort by step
    else:
        order = np.lexsort((idx, steps))
    if (into is None or idx.size > min(into[0].size, into[1].size)
            or into[0].dtype != idx.dtype or into[1].dtype != steps.dtype):
        return idx[order], steps[order]
    out_idx, out_steps = into[0][:idx.size], into[1][:idx.size]
    np.take(idx, order, out=out_idx)
    np.take(steps, order, out=out_steps)
    return out_idx, out_steps


def stable_order(steps, n_steps=None):
    """``np.argsort(steps, kind="stable")`` for non-negative integer steps, faster: numpy's
    radix sort (on uint8 and uint16 keys) on the steps' 16-bit digits.

    Steps below 2**16: one radix sort. Below 2**18: the steps are split stably by their high
    bits (at most 4 groups, in order) and each group radix sorted by its low 16 bits. Below
    2**32: two passes, the low 16 bits then the high ones (least significant digit first).
    Else numpy's merge sort. ``n_steps`` (optional): a bound known to the caller (all steps
    in ``[0, n_steps)``), which saves two passes over them.
    """
    steps = np.asarray(steps)
    if steps.size < 2 or steps.dtype.kind not in "iu":
        return np.argsort(steps, kind="stable")
    if n_steps is None:
        if int(steps.min()) < 0:
            return np.argsort(steps, kind="stable")
        high = int(steps.max())
    else:
        high = int(n_steps) - 1
    if high >= 2**32:
        return np.argsort(steps, kind="stable")
    if high < 2**16:
        return np.argsort(steps.astype(np.uint16), kind="stable")
    if high < 2**18:  # most significant digit first: a stable split, then one sort per group
        top = (steps >> 16).astype(np.uint8)
        parts = []
        for q in range((high >> 16) + 1):
            part = np.flatnonzero(top == q)
            parts.append(part[np.argsort(steps[part].astype(np.uint16), kind="stable")])
        return np.concatenate(parts)
    low = np.argsort(steps.astype(np.uint16), kind="stable")
    top = steps[low] >> 16
    return low[np.argsort(top.astype(np.uint8 if high < 2**24 else np.uint16), kind="stable")]


def merged_positions(steps_list, n_steps=None):
    """Where each element of runs sorted by step lands in the stable sort by step of their
    concatenation: a list of position arrays, one per run.

    The same order as ``stable_order(np.concatenate(steps_list))``, without sorting: a
    counting merge, O(elements + runs * steps) with memory O(min(elements, runs * steps)
    + steps) beside the positions. Each run's
    ``steps`` must be non-negative integers in ascending order (as :func:`poisson_steps`
    returns them); see :func:`iter_merged_positions`.
    """
    steps_list = [np.asarray(s) for s in steps_list]
    for s in steps_list:
        if s.size > 1 and np.any(s[1:] < s[:-1]):
            raise ValueError("merged_positions: a run's steps are not in ascending order")
    return list(iter_merged_positions(steps_list, n_steps))


def iter_merged_positions(steps_list, n_steps=None, totals=None):
    """:func:`merged_positions`, one run at a time (the positions of all the runs need not be
    held at once); the runs' steps are not checked (they must be ascending, below ``n_steps``).
    ``totals`` (optional, ``n_steps`` int64): receives the elements of all runs per step,
    before the first run's positions are made.

    With ``c[k, b]`` the elements of run ``k`` at step ``b``, the element ``e`` of run ``k``
    (at step ``b``) lands at ``sum_{b' < b} sum_j c[j, b'] + sum_{j < k} c[j, b]
    + e - sum_{b' < b} c[k, b']``: one count per run and step (``bincount``) and one gather
    per run.
    """
    steps_list = [np.asarray(s) for s in steps_list]
    if n_steps is None:
        n_steps = max((int(s[-1]) + 1 for s in steps_list if s.size), default=0)
    n_total = sum(s.size for s in steps_list)
    # the counts per run and step are kept (one bincount per run) unless they would take
    # more room than the elements (sparse runs): then counted again in the second pass
    keep = len(steps_list) * n_steps <= max(n_total, 1 << 20)
    count_type = np.int32 if n_total < 2**31 else np.int64
    counts = np.empty((len(steps_list) if keep else 0, n_steps), dtype=count_type)
    if totals is None:
        totals = np.empty(n_steps, dtype=np.int64)
    totals[:] = 0
    for k, s in enumerate(steps_list):
        count = np.bincount(s, minlength=n_steps)
        totals += count
        if keep:
            counts[k] = count
    # start[b]: where run k's elements at step b begin (elements of all runs at steps < b and
    # of the runs before k at step b)
    start = np.zeros(n_steps, dtype=np.int64)
    if n_steps > 1:
        np.cumsum(totals[:-1], out=start[1:])
    longest = max((s.size for s in steps_list), default=0)
    ramp = np.arange(longest, dtype=np.int64)
    where = np.empty(longest, dtype=np.intp)  # a run's steps as indices (take is slow with int32)
    own = np.empty(n_steps, dtype=np.int64)
    for k, s in enumerate(steps_list):
        count = counts[k] if keep else np.bincount(s, minlength=n_steps)
        np.cumsum(count, out=own)
        own -= count  # run k's own elements at steps < b
        np.subtract(start, own, out=own)  # start - own: each element then adds its position
        np.copyto(where[:s.size], s)
        pos = np.take(own, where[:s.size])
        pos += ramp[:s.size]
        yield pos
        start += count


def _geometric_steps_many(p, n_steps, m, rng):
    """Spike steps of ``m`` Bernoulli(p)-per-step trains of ``n_steps`` steps: ``(rows, steps,
    row_major)``; int32 rows, steps int32 if ``n_steps < 2**31`` (else int64). Each row's
    steps are ascending; ``row_major``: the spikes come row by row (rows ascending) — else
    the rows that needed more than one block of draws come again at the end.

    The gaps are drawn in blocks of ``chunk`` per row (``rng.geometric(p, (rows, chunk))``,
    :func:`_geometric_gaps`) until every row has passed the end.
    """
    step_type = np.int32 if n_steps < 2**31 else np.int64
    if p <= 0 or n_steps <= 0 or m == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=step_type), True
    if p >= 1:
        return (np.repeat(np.arange(m, dtype=np.int32), n_steps),
                np.tile(np.arange(n_steps, dtype=step_type), m), True)
    draws = _GapDraws(p, n_steps, m)
    counts = np.empty(m, dtype=np.intp)
    # room for all the draws; only the part used is touched
    steps = np.empty(m * draws.chunk, dtype=step_type)
    n = 0
    for a, s, ins in draws.first(rng):
        c = counts[a:a + s.shape[0]]
        c[:] = np.count_nonzero(ins, axis=1)
        k = int(c.sum())
        steps[n:n + k] = s[ins]  # row by row
        n += k
    rows, steps = np.repeat(np.arange(m, dtype=np.int32), counts), steps[:n]
    if not draws.unfinished.size:
        return rows, steps, True
    more_rows, more_steps = draws.rest(rng, step_type)
    return np.concatenate([rows] + more_rows), np.concatenate([steps] + more_steps), False


def _sorted_trains(p, n_steps, m, rng, into=None):
    """:func:`_geometric_steps_many` sorted by step then row: ``(rows, steps)`` (int32), for
    ``0 < p < 1``, ``0 < n_steps < 2**31`` and ``m <= 2**16``; written to the arrays of
    ``into`` (from their start, returned as views) if they fit.

    Each spike is packed as ``(step mod 2**16) * 2**16 + row`` (uint32) and put, while its
    group of rows' draws are in the cache, in the buffer of the range of ``2**16`` steps it
    falls in (range ``q = step // 2**16``): by a counting sort of the group's spikes by ``q``
    (numpy's stable radix argsort of uint8 keys, uint16 past 256 ranges: one pass whatever
    the number of ranges, where one boolean mask per range would be one pass per range) and
    one gather per range. With many ranges a group holds more rows (about 2048 draws per
    range, up to 2**20 draws), so that the gathers stay long. The spikes of a range come in
    row order (groups in order, rows ascending in a group), so one radix sort of the range by
    its low 16 bits of step (numpy's stable argsort of uint16 keys, on about ``m p 2**16``
    words that stay in the cache) puts it in order by step then row: one spike per row and
    step. The ranges are then written one after the other. The rows needing more than one
    block of draws (rare) are sorted with the others by ``np.lexsort``.

    Memory: the spikes' packed words (4 bytes each, ranges allocated for their expected
    count and 8 standard deviations, grown if needed) and a group's draws (about 21 bytes
    each) besides the output. Measured (song_2000, 1000 inputs at 15 Hz, 1e6 steps): 23 ns
    per spike, as for 1e5 steps; numpy's LSD passes over all the spikes
    (:func:`stable_order`) took twice that.
    """
    draws = _GapDraws(p, n_steps, m)
    n_ranges = (n_steps - 1 >> 16) + 1
    masks = n_ranges == 1  # (measured: the counting sort is faster from 2 ranges on)
    lengths = [min(1 << 16, n_steps - (q << 16)) for q in range(n_ranges)]
    if masks:  # room for all the draws
        packed = [np.empty(m * draws.chunk, dtype=np.uint32)]
    else:  # room for the expected spikes of each range and 8 standard deviations
        packed = [np.empty(_range_room(m * p * n), dtype=np.uint32) for n in lengths]
    filled = [0] * n_ranges
    row_ids = np.arange(m, dtype=np.uint32)[:, None] if m else None
    key_type = np.uint8 if n_ranges <= 256 else np.uint16
    range_ids = np.arange(n_ranges + 1, dtype=np.int64)  # (0 .. n_ranges: the bounds)
    little = sys.byteorder == "little"
    byte_key = little and n_ranges <= 256  # steps inside below 2**24
    # a group of rows holds at least ~2048 draws per range (few gathers per spike), up to 2**20
    per_group = _DRAWS_PER_GROUP if masks else min(max(_DRAWS_PER_GROUP, n_ranges << 11), 1 << 20)
    group = max(1, min(m, per_group // draws.chunk))  # (rows per group, as draws.first)
    words = np.empty((group, draws.chunk), dtype=np.uint32)
    for a, s, ins in draws.first(rng, per_group):
        # the low 16 bits of each step (the high ones shifted out), then the row
        pk = words[:s.shape[0]]
        np.left_shift(s.view(np.uint32) if s.dtype == np.int32 else s.astype(np.uint32), 16,
                      out=pk)
        pk |= row_ids[a:a + s.shape[0]]
        if masks:  # one range
            parts = [pk[ins]]  # (a boolean index copies runs faster than np.compress)
        else:
            inside = pk[ins]  # row by row
            if byte_key:  # the third byte of each (little-endian) sum: its bits 16 to 23
                key = s.view(np.uint8)[..., 2::s.itemsize][ins]
            else:
                key = np.right_shift(s[ins], 16).astype(key_type)
            order = np.argsort(key, kind="stable")  # by range, row order kept
            bounds = np.searchsorted(key[order], range_ids).tolist()
            parts = [order[bounds[q]:bounds[q + 1]] for q in range(n_ranges)]
        for q, part in enumerate(parts):
            k = part.size
            if filled[q] + k > packed[q].size:  # more spikes than room: grow (rare)
                grown = np.empty(max(2 * packed[q].size, filled[q] + k), dtype=np.uint32)
                grown[:filled[q]] = packed[q][:filled[q]]
                packed[q] = grown
            if masks:
                packed[q][filled[q]:filled[q] + k] = part
            else:  # (the range's positions in inside)
                np.take(inside, part, out=packed[q][filled[q]:filled[q] + k], mode="clip")
            filled[q] += k
    n = sum(filled)
    fits = (into is not None and n <= min(into[0].size, into[1].size)
            and into[0].dtype == np.int32 and into[1].dtype == np.int32)
    idx_out = into[0][:n] if fits else np.empty(n, dtype=np.int32)
    steps_out = into[1][:n] if fits else np.empty(n, dtype=np.int32)
    pos = 0
    for q in range(n_ranges):
        part = packed[q][:filled[q]]
        # (the high half of each little-endian word: its step's low 16 bits)
        order = np.argsort(part.view(np.uint16)[1::2] if little
                           else (part >> 16).astype(np.uint16), kind="stable")
        k = part.size
        # sorted into the steps' room (a uint32 view: no cast; all values below 2**31), then
        # split there
        low = np.take(part, order, out=steps_out[pos:pos + k].view(np.uint32), mode="clip")
        np.bitwise_and(low, 0xFFFF, out=idx_out[pos:pos + k].view(np.uint32))
        np.right_shift(low, 16, out=low)
        if q:
            low += np.uint32(q << 16)
        pos += k
        packed[q] = None  # (freed as it goes)
    if draws.unfinished.size:
        more_rows, more_steps = draws.rest(rng, np.int32)
        idx = np.concatenate([idx_out] + more_rows)
        steps = np.concatenate([steps_out] + more_steps)
        order = np.lexsort((idx, steps))
        fits = (into is not None and idx.size <= min(into[0].size, into[1].size)
                and into[0].dtype == np.int32 and into[1].dtype == np.int32)
        idx_out = into[0][:idx.size] if fits else np.empty(idx.size, dtype=np.int32)
        steps_out = into[1][:idx.size] if fits else np.empty(idx.size, dtype=np.int32)
        np.take(idx, order, out=idx_out)
        np.take(steps, order, out=steps_out)
    return idx_out, steps_out


def _range_room(expected):
    """Room first made for a range's spikes in :func:`_sorted_trains` (grown if they need more):
    their expected number, 8 standard deviations and 64."""
    return int(expected + 8 * np.sqrt(expected) + 64)


class _GapDraws:
    """The draws of :func:`_geometric_steps_many`: ``m`` rows of geometric(p) gaps, a block of
    ``chunk`` per row at a time, summed into steps, until each row has passed ``n_steps``.

    :meth:`first` draws the first block, row by row in groups of rows small enough for the
    cache (the same numbers as one call for all the rows: each is drawn from the stream in
    turn), and yields ``(first row, steps, inside)`` per group (valid until the next
    group); then :attr:`unfinished` holds the rows not past the end and :meth:`rest` draws
    their next blocks as the loop of one call per block did.
    """

    def __init__(self, p, n_steps, m):
        self.p, self.n_steps, self.m = p, n_steps, m
        self.chunk = _gaps_per_block(p * n_steps)
        # Gaps beyond n_steps + 1 are cut to it: a step past the end stays past the end, and
        # the sums of a row then fit int32 when chunk * (n_steps + 1) + n_steps does.
        self.cut = n_steps + 1
        self.sum_type = np.int32 if self.chunk * self.cut + n_steps < 2**31 else np.int64
        self.unfinished = np.zeros(0, dtype=np.int32)

    def first(self, rng, per_group=None):
        m, chunk = self.m, self.chunk
        group = max(1, min(m, (per_group or _DRAWS_PER_GROUP) // chunk))
        scratch = np.empty((group, chunk))
        sums = np.empty((group, chunk), dtype=self.sum_type)
        inside = np.empty((group, chunk), dtype=bool)
        late, lasts = [], []
        for a in range(0, m, group):
            r = min(group, m - a)
            s, ins = sums[:r], inside[:r]
            _geometric_gaps(rng, self.p, self.cut, s, scratch[:r])
            s[:, 0] -= 1  # (the sums less 1: the steps, counted from 0)
            np.cumsum(s, axis=1, out=s)
            np.less(s, self.n_steps, out=ins)  # a prefix of each row: steps increase along it
            yield a, s, ins
            rows = np.flatnonzero(ins[:, -1])
            if rows.size:
                late.append(rows.astype(np.int32) + a)
                lasts.append(s[rows, -1])
        if late:
            self.unfinished = np.concatenate(late)
            self._lasts = np.concatenate(lasts)

    def rest(self, rng, step_type):
        """The spikes of the next blocks of the unfinished rows: lists of rows and of steps."""
        rows_out, steps_out = [], []
        active = self.unfinished
        last = np.full(self.m, -1, dtype=self.sum_type)
        last[active] = self._lasts
        while active.size:
            s = np.empty((active.size, self.chunk), dtype=self.sum_type)
            _geometric_gaps(rng, self.p, self.cut, s)
            np.cumsum(s, axis=1, out=s)
            s += last[active, None]
            ins = s < self.n_steps
            rows_out.append(np.repeat(active, np.count_nonzero(ins, axis=1)))
            steps_out.append(s[ins].astype(step_type, copy=False))
            last[active] = s[:, -1]
            active = active[ins[:, -1]]
        return rows_out, steps_out


def _gaps_per_block(expected):
    """Gaps drawn per row and block for ``expected`` spikes per row: 6 standard deviations
    and 16 more, so that a second block is rare."""
    return int(expected + 6 * np.sqrt(expected) + 16)


#: Expected spikes per range of 2**16 steps from which runs of more than 2**18 steps are
#: drawn by :func:`_sorted_trains` (fewer: its work per range costs more than it saves).
_SPIKES_PER_RANGE = 1024

#: Random numbers drawn per group of rows in :class:`_GapDraws` (their arrays stay in the
#: cache).
_DRAWS_PER_GROUP = 1 << 15


#: ``p`` from which numpy's ``Generator.geometric`` searches the distribution function
#: instead of inverting it (numpy/random/src/distributions/distributions.c).
_GEOMETRIC_SEARCH = 0.333333333333333333333333
#: Whether this numpy's ``Generator.geometric(p)`` is ``ceil(E / -log1p(-p))`` of its
#: ``standard_exponential`` draws E, for p below :data:`_GEOMETRIC_SEARCH` (None: not checked yet).
_GEOMETRIC_IS_EXPONENTIAL = None


def _geometric_is_exponential():
    """Check once per process that numpy's geometric draws are the inversion of its exponential
    draws, number for number and with the same use of the bit stream (numpy 2.3 draws them so;
    an implementation that inverts a uniform draw instead fails the check and is called
    directly)."""
    global _GEOMETRIC_IS_EXPONENTIAL
    if _GEOMETRIC_IS_EXPONENTIAL is None:
        import math

        ok = True
        for p in (1e-6, 2.5e-3, 0.1, 0.3333):
            a, b = (np.random.Generator(np.random.PCG64(20260101)) for _ in range(2))
            direct = a.geometric(p, size=4096)
            e = b.standard_exponential(size=4096)
            ok = ok and np.array_equal(direct, np.ceil(e / -math.log1p(-p))) \
                and a.bit_generator.state == b.bit_generator.state
        _GEOMETRIC_IS_EXPONENTIAL = bool(ok)
    return _GEOMETRIC_IS_EXPONENTIAL


def _geometric_gaps(rng, p, cut, out, scratch=None):
    """Fill the integer array ``out`` with ``np.minimum(rng.geometric(p, out.shape), cut)``: the
    same numbers, drawing the same random bits, faster. ``scratch``: optional float64 array
    of ``out``'s shape for the intermediate values.

    For ``p`` below 1/3, numpy's ``Generator.geometric`` is the inversion
    ``ceil(-E / log1p(-p))`` of a standard exponential draw ``E`` (ziggurat),
    with ``log1p(-p)`` recomputed for every number; drawing all the ``E`` with
    ``rng.standard_exponential`` (the same algorithm on the same bit stream) and
    dividing by the constant once computed (Python's ``math.log1p``: the C library's
    ``log1p``, which numpy calls) gives the same doubles — division rounds
    symmetrically in sign, ``ceil`` is exact — three times faster.
    :func:`_geometric_is_exponential` checks this numpy draws so; else, and for
    other ``p`` or generators, ``rng.geometric`` itself.
    """
    if (type(rng) is np.random.Generator and 0 < p < _GEOMETRIC_SEARCH
            and _geometric_is_exponential()):
        import math

        gaps = scratch if scratch is not None else np.empty(out.shape)
        rng.standard_exponential(out=gaps)
        np.divide(gaps, -math.log1p(-p), out=gaps)
        np.ceil(gaps, out=gaps)
    else:
        gaps = rng.geometric(p, size=out.shape)
    np.minimum(gaps, gaps.dtype.type(cut), out=gaps)
    np.copyto(out, gaps, casting="unsafe")


def correlated_poisson_trains(n, rate, correlation, duration, dt, rng, start=0.0):
    """``n`` Poisson trains of rate ``rate`` with pairwise correlation ``correlation``.

    The mixture (thinning) construction of Kuhn, Aertsen & Rotter (2003, Neural
    Comput 15:67-101): a mother Poisson train of rate ``rate/c`` is drawn on the
    time grid, and each of the ``n`` trains keeps each mother spike independently
    with probability ``c``. Each train is Poisson with rate ``rate``; two trains
    share spikes at zero lag, with correlation coefficient ``c`` of their counts
    in a time bin. ``c = 0`` gives independent trains.

    Returns ``(indices, times)`` sorted by time, as :func:`poisson_trains`.
    """
    from brian2 import second

    dt_s = float(_seconds(dt, "dt"))
    start_s = float(_seconds(start, "start")) if not (np.isscalar(start) and start == 0) else 0.0
    idx, steps = correlated_poisson_steps(n, rate, correlation, duration, dt, rng)
    return idx.astype(np.int64), (start_s + steps * dt_s) * second


def correlated_poisson_steps(n, rate, correlation, duration, dt, rng):
    """As :func:`correlated_poisson_trains`, as ``(indices, steps)`` sorted by step, then index."""
    from brian2 import Hz

    c = float(correlation)
    if not 0.0 <= c <= 1.0:
        raise StimulusError(f"correlation: expected a number in [0, 1], found {c}")
    if c == 0.0 or n == 0:
        return poisson_steps(np.full(n, float(rate / Hz)) * Hz, duration, dt, rng)
    _, mother = poisson_steps(np.array([float(rate / Hz) / c]) * Hz, duration, dt, rng)
    keep = rng.random((mother.size, n)) < c
    spike, train = np.nonzero(keep)  # row-major: in time order, then by train
    return train.astype(np.int32), mother[spike]


def check_train(times, dt=None, name="spike train"):
    """Check that spike times are usable; return them in seconds (float array).

    Raises :class:`StimulusError` naming ``name`` for times that are not
    finite, negative, unsorted, or (given ``dt``) two in one time step.
    """
    from brian2.units.fundamentalunits import Quantity

    if isinstance(times, Quantity):
        t = _seconds(times, name)
    else:
        try:  # quantities (neo) or plain seconds
            import quantities as pq

            t = np.asarray(times.rescale(pq.s).magnitude) if hasattr(times, "rescale") else np.asarray(times, float)
        except ImportError:  # pragma: no cover
            t = np.asarray(times, float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1:
        raise StimulusError(f"{name}: expected a 1-d array of spike times, found shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise StimulusError(f"{name}: expected finite spike times, found NaN or infinity")
    if t.size and t.min() < 0:
        raise StimulusError(f"{name}: expected spike times >= 0, found {t.min()} s")
    if np.any(np.diff(t) < 0):
        k = int(np.nonzero(np.diff(t) < 0)[0][0])
        raise StimulusError(f"{name}: expected sorted spike times, found {t[k]} s before {t[k+1]} s "
                            f"(positions {k} and {k+1})")
    if dt is not None and t.size > 1:
        dt_s = float(_seconds(dt, "dt"))
        bins = np.floor(t / dt_s + 1e-3).astype(np.int64)
        same = np.nonzero(np.diff(bins) == 0)[0]
        if same.size:
            k = int(same[0])
            raise StimulusError(
                f"{name}: expected at most one spike per time step (dt = {dt_s*1e3:g} ms), found "
                f"spikes at {t[k]} s and {t[k+1]} s; use a smaller dt or remove one")
    return t


def merge(trains, dt=None, names=None):
    """Merge per-neuron trains into ``(indices, times)`` sorted by time, checking each."""
    from brian2 import second

    idx, times = [], []
    for i, train in enumerate(trains):
        label = names[i] if names is not None else f"train {i}"
        t = check_train(train, dt, label)
        idx.append(np.full(t.size, i, dtype=np.int64))
        times.append(t)
    if not trains:
        return np.zeros(0, dtype=np.int64), np.zeros(0) * second
    idx = np.concatenate(idx)
    times = np.concatenate(times)
    order = np.lexsort((idx, times))
    return idx[order], times[order] * second


def generator(trains, dt=None, name=None, names=None, N=None, replaceable=False):
    """A ``SpikeGeneratorGroup`` emitting ``trains`` (one list entry per neuron).

    ``replaceable=True`` lets a rerun of a compiled standalone build replace the
    spikes (:func:`generator_values`); see :func:`spike_generator`.
    """
    indices, times = merge(trains, dt, names)
    return spike_generator(N if N is not None else len(trains), indices, times, name=name,
                           replaceable=replaceable)


def spike_generator(N, indices, times, name=None, replaceable=False):
    """A ``SpikeGeneratorGroup`` of ``N`` neurons from sorted ``(indices, times)``.

    With ``replaceable=True`` the group's spike arrays (``neuron_index``,
    ``spike_time``, ``_timebins``, ``_lastindex``) are made writable, so that
    ``device.run(run_args=...)`` can set them: Brian2 declares them read-only,
    which would exclude them from the binary's command-line arguments. On a plain
    Brian2 device the arrays keep their size, so new spikes must come as many as the
    old ones (:func:`pad`). Under a :class:`biodyn.build.Simulation` on
    ``cpp_standalone`` the spikes stay in Python and reach the binary as run
    arguments at every run, instead of being compiled into the project as static
    arrays and written back after the run (see :func:`biodyn.build._standalone_device`):
    a rerun with other spikes moves 8 bytes per spike through files instead of about
    70, and their number may change from run to run (it is not compiled in).
    """
    import contextlib

    from brian2 import SpikeGeneratorGroup, get_device

    kwargs = {"sorted": True}
    if name is not None:
        kwargs["name"] = name
    capture = getattr(get_device(), "capturing_inputs", None) if replaceable else None
    # The group runs on the default clock (a clock of its own would be one more
    # object for Brian2 to generate).
    with capture() if capture is not None else contextlib.nullcontext():
        group = SpikeGeneratorGroup(N, indices, times, **kwargs)
    if capture is not None:
        get_device().hold_inputs(group)
    if replaceable:
        for var in ("neuron_index", "spike_time", "_timebins", "_lastindex"):
            group.variables[var].read_only = False
    return group


def timebins(times, dt):
    """The time steps Brian2's ``SpikeGeneratorGroup`` puts spikes in: ``int((t + 1e-3 dt)/dt)``.

    ``times`` and ``dt`` in seconds (floats) or Brian2 quantities.
    """
    t = np.asarray(_seconds(times, "times") if hasattr(times, "dim") else times, dtype=float)
    dt_s = float(_seconds(dt, "dt")) if hasattr(dt, "dim") else float(dt)
    return np.asarray((t + 1e-3 * dt_s) / dt_s, dtype=np.int32)


def capacity(expected, minimum=64):
    """A fixed size for a random number of spikes: ``expected`` plus 8 standard deviations,
    rounded up to a multiple of 1024 — the same for every seed, so that the arrays (and
    the generated code) keep their size from one draw to the next.

    A Poisson count exceeds ``expected + 8 sqrt(expected)`` with probability below 1e-14.
    """
    expected = float(expected)
    need = max(expected + 8.0 * np.sqrt(max(expected, 1.0)) + 16, minimum)
    return int(np.ceil(need / 1024.0) * 1024)


def pad(indices, times, size, start, dt):
    """Pad sorted ``(indices, times)`` (times in seconds) to ``size`` spikes.

    The extra spikes go to neuron 0 at one time step each from ``start``
    (seconds; at or after the end of the run), where they are never emitted.
    Raises :class:`StimulusError` if there are more than ``size`` spikes.
    """
    indices = np.asarray(indices, dtype=np.int32)
    times = np.asarray(times, dtype=float)
    extra = size - indices.size
    if extra < 0:
        raise StimulusError(f"{indices.size} spikes do not fit the {size} reserved")
    pad_t = _padding_times(times, extra, start, dt)
    return (np.concatenate([indices, np.zeros(extra, dtype=np.int32)]),
            np.concatenate([times, pad_t]))


def _padding_times(times, extra, start, dt):
    """The times of :func:`pad`'s ``extra`` spikes after sorted ``times``."""
    first = int(np.ceil(float(start) / float(dt) - 1e-9))
    if times.size:
        first = max(first, int(timebins(times[-1:], dt)[0]) + 1)
    return (first + np.arange(extra)) * float(dt)


def pad_into(indices, times, bins, n, start, dt):
    """:func:`pad` in place: ``indices``, ``times`` and ``bins`` (their :func:`timebins`) hold
    ``n`` sorted spikes followed by free room, which gets the padding spikes of :func:`pad`
    (neuron 0, one step each from ``start``); returns the three arrays."""
    extra = indices.size - n
    indices[n:] = 0
    times[n:] = _padding_times(times[:n], extra, start, dt)
    bins[n:] = timebins(times[n:], dt)
    return indices, times, bins


def generator_values(group, indices, times, dt, bins=None):
    """Values replacing the spikes of a replaceable generator in a rerun: ``{view: array}``.

    ``indices``, ``times`` (seconds) sorted by time and of the group's array size;
    ``bins`` (optional): their :func:`timebins`, if known (else computed; ``times`` is
    then not read and may be ``None``).

    The generated code of a ``SpikeGeneratorGroup`` reads only ``neuron_index`` and
    ``_timebins`` (the step of each spike) while it runs, so only those are replaced
    (with ``_lastindex``): passing ``spike_time`` too would write, read and write back
    another 8 bytes per spike (0.1 GB for a batch of 64 song_2000 points of 10 s) for
    nothing. On a plain Brian2 device the group's ``spike_time`` then still holds the times
    of the build (the spikes that ran are those of ``indices`` and ``bins``); under a
    :class:`biodyn.build.Simulation` the spikes live in Python (:func:`spike_generator`),
    ``times`` (if given) are recorded there without reaching the binary, and the group's
    ``spike_time`` reads the times that ran (or raises if they were not given).
    """
    indices = np.asarray(indices, dtype=np.int32)
    device = getattr(group.variables["spike_time"], "device", None)
    held = getattr(device, "input_arrays", None) is not None  # a biodyn standalone device
    size = indices.size if held else int(group.variables["neuron_index"].size)
    if indices.size != size:
        raise StimulusError(f"{group.name}: {indices.size} spikes given for a build holding {size}")
    if bins is None:
        bins = timebins(np.asarray(times, dtype=float), dt)
    bins = np.asarray(bins, dtype=np.int32)
    if bins.size != size:
        raise StimulusError(f"{group.name}: {bins.size} time bins given for {size} spikes")
    out = {group.neuron_index: indices, group._timebins: bins, group._lastindex: 0}
    if times is not None and held:
        times = np.asarray(times, dtype=float)
        if times.size != size:
            raise StimulusError(f"{group.name}: {times.size} spike times given for {size} spikes")
        out[group.spike_time] = times  # recorded by the device, not passed to the binary
    return out
