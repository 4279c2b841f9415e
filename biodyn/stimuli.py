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
    """
    from brian2 import Hz

    rates_hz = np.atleast_1d(np.asarray(rates / Hz, dtype=float))
    dt_s = float(_seconds(dt, "dt"))
    n_steps = int(round(float(_seconds(duration, "duration")) / dt_s))
    idx_parts, step_parts = [], []
    for rate in np.unique(rates_hz):
        members = np.nonzero(rates_hz == rate)[0]
        rows, steps = _geometric_steps_many(rate * dt_s, n_steps, members.size, rng)
        idx_parts.append(rows if members.size == rates_hz.size else members[rows])
        step_parts.append(steps)
    if not idx_parts:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    idx = np.concatenate(idx_parts).astype(np.int32)
    steps = np.concatenate(step_parts)
    if len(idx_parts) == 1 and (idx.size < 2 or np.all(np.diff(idx) >= 0)):
        order = stable_order(steps)  # indices ascending: a stable sort by step
    else:
        order = np.lexsort((idx, steps))
    return idx[order], steps[order]


def stable_order(steps):
    """``np.argsort(steps, kind="stable")`` for non-negative integer steps, faster: two passes
    of numpy's radix sort over 16-bit digits (steps below 2**32), else the merge sort."""
    steps = np.asarray(steps)
    if steps.size < 2 or steps.min() < 0 or steps.max() >= 2**32:
        return np.argsort(steps, kind="stable")
    low = np.argsort((steps & 0xFFFF).astype(np.uint16), kind="stable")
    high = np.argsort((steps[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def merged_positions(steps_list, n_steps=None):
    """Where each element of runs sorted by step lands in the stable sort by step of their
    concatenation: a list of position arrays, one per run.

    The same order as ``stable_order(np.concatenate(steps_list))``, without sorting: a
    counting merge, O(elements + runs * steps) with memory O(steps). Each run's ``steps``
    must be non-negative integers in ascending order (as :func:`poisson_steps` returns them).
    """
    steps_list = [np.asarray(s) for s in steps_list]
    if n_steps is None:
        n_steps = max((int(s[-1]) + 1 for s in steps_list if s.size), default=0)
    before = np.zeros(n_steps + 1, dtype=np.int64)  # before[b]: elements of all runs at steps < b
    for s in steps_list:
        if s.size > 1 and np.any(s[1:] < s[:-1]):
            raise ValueError("merged_positions: a run's steps are not in ascending order")
        before[1:] += np.bincount(s, minlength=n_steps)
    np.cumsum(before, out=before)
    # start[b]: where the run's elements at step b begin, less the run's own elements at
    # steps < b (each element then adds its position within the run): one gather per run
    start = before[:n_steps].copy()  # + the elements at step b of the runs already placed
    out = []
    for s in steps_list:
        count = np.bincount(s, minlength=n_steps)
        own = np.cumsum(count)
        own -= count  # the run's own elements at steps < b
        pos = (start - own)[s]
        pos += np.arange(s.size)
        out.append(pos)
        start += count
    return out


def _geometric_steps_many(p, n_steps, m, rng):
    """Spike steps of ``m`` Bernoulli(p)-per-step trains of ``n_steps`` steps: ``(rows, steps)``."""
    if p <= 0 or n_steps <= 0 or m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if p >= 1:
        return (np.repeat(np.arange(m), n_steps), np.tile(np.arange(n_steps, dtype=np.int64), m))
    expected = p * n_steps
    chunk = int(expected + 6 * np.sqrt(expected) + 16)
    rows_out, steps_out = [], []
    active = np.arange(m)
    last = np.full(m, -1, dtype=np.int64)
    while active.size:
        gaps = rng.geometric(p, size=(active.size, chunk))
        steps = last[active, None] + np.cumsum(gaps, axis=1)
        inside = steps < n_steps  # a prefix of each row: steps increase along it
        rows_out.append(np.repeat(active, inside.sum(axis=1)))
        steps_out.append(steps[inside])  # row by row, as np.nonzero orders them
        unfinished = inside[:, -1]
        last[active] = steps[:, -1]
        active = active[unfinished]
    return np.concatenate(rows_out), np.concatenate(steps_out)


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
