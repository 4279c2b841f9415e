"""The ``poisson_network`` engine: one neuron per condition, driven by plastic Poisson inputs.

Each condition is one postsynaptic neuron (``network.neuron``, e.g. the
conductance-based ``lif_cond``) receiving ``network.n_inputs`` excitatory
inputs through the protocol's synapse model (e.g. additive ``stdp_pair``) and,
optionally, ``network.n_inhibitory`` inhibitory inputs of fixed strength —
the setting of Song, Miller & Abbott (2000). All conditions are independent
neurons of ONE Brian2 run.

Inputs are Poisson trains drawn event by event with numpy (seeded by the
run's seed) on the time grid and replayed by ``SpikeGeneratorGroup`` s
(:func:`biodyn.stimuli.poisson_trains`): one random draw per spike instead of
one per input per time step. A subgroup of ``network.correlated_inputs`` inputs
can share spikes with pairwise correlation ``correlation`` (label or value),
by the mixture construction of Kuhn, Aertsen & Rotter (2003)
(:func:`biodyn.stimuli.correlated_poisson_trains`). The spike arrays are
padded to a size fixed by the rates and the duration (not by the seed); on
``cpp_standalone`` the build does not depend on that size (the spikes are run
arguments, :func:`biodyn.build._standalone_device`), so that a rerun with
another seed, other rates or other parameter values generates no code.

Observables per condition: ``output_rate`` (Hz, over the last
``network.rate_window``), ``mean_weight``, ``bimodality`` (fraction of
weights within 10% of the range from either bound) and ``correlated_advantage``
(mean weight of the correlated subgroup minus that of the other inputs).
The Block holds the output spikes, the weights every ``record_dt`` (one channel
per synapse, array annotations ``condition`` and ``input``) and the final
weights; input spikes are not stored (they are regenerated from the seed).

Whether the output rate has settled (:func:`rate_settledness`): besides the rate over
the last ``rate_window``, the rate over the window before it (same length) is measured,
and a condition is called settled only if the two agree within their Poisson counting
error, the counts over the last five windows show no trend beyond it, AND the two
windows hold enough spikes for that comparison to mean something.
Each condition of the summary carries ``settled`` and ``settling`` (both rates, the
counts, the test statistic and the reason); ``summary["unsettled"]`` lists the others,
and the figure draws their points open. Song, Miller & Abbott (2000) ran their neuron
until the weights had settled; at 100 s the 10 Hz condition has not (see the protocol's
notes), and this check says so.
"""

from __future__ import annotations

import re

import numpy as np

from .. import build, io, stimuli
from ..errors import SpecError
from ..spec import Key
from ._engine import (Engine, MonitorRows, NotBatchable, Outcome, Plan, _dt_text, copy_values,
                      register_engine)


def _dims():
    from brian2.units.allunits import hertz, second

    return second.dim, hertz.dim


#: Settledness of the output rate (:func:`rate_settledness`): the two windows' counts, and the
#: trend over the last windows, may differ from constancy by at most this many standard errors ...
SETTLE_SIGMAS = 3.0
#: ... and the test must resolve a change of at most this fraction of the rate between the
#: windows: SETTLE_SIGMAS * sqrt(n1 + n2) <= SETTLE_RESOLUTION * (n1 + n2) / 2, i.e.
#: n1 + n2 >= (2 * SETTLE_SIGMAS / SETTLE_RESOLUTION)**2 = 144 spikes in the two windows.
SETTLE_RESOLUTION = 0.5
#: The trend is fitted over (at most) this many windows ending at the end of the run.
SETTLE_TREND_WINDOWS = 5
#: A change counts only above this fraction of the rate (between the two windows, or over the
#: trend's span): a settled plastic neuron's rate wanders by up to 11 % over 1000 s (song_2000,
#: 10 Hz, 2000-3000 s, seeds 0-2), beyond counting noise but not a transient.
SETTLE_TOLERANCE = 0.15


def rate_settledness(trains, duration, window, sigmas=SETTLE_SIGMAS, resolution=SETTLE_RESOLUTION,
                     trend_windows=SETTLE_TREND_WINDOWS, tolerance=SETTLE_TOLERANCE):
    r"""Whether each output rate has settled: the last window against the one before it, and
    the trend over the last few windows.

    With :math:`n_1` spikes in the last window :math:`[T-W, T)` and :math:`n_2` in the one
    before, :math:`[T-2W, T-W)`, a neuron firing at a constant rate :math:`r` (Poisson
    counts) gives :math:`E[n_1 - n_2] = 0` and :math:`\mathrm{Var}[n_1 - n_2] = 2rW`,
    estimated by :math:`n_1 + n_2`. Over the last :math:`M` windows (counts :math:`c_i` at
    :math:`x_i = i - (M-1)/2`, oldest first; :math:`M` = ``trend_windows`` = 5, fewer if the
    run holds fewer, and no trend test below 3) the least-squares slope
    :math:`b = \sum x_i c_i / \sum x_i^2` has :math:`\mathrm{Var}[b] = rW/\sum x_i^2`,
    estimated with the mean count :math:`\bar c`. With

    .. math::

        z = \frac{n_1 - n_2}{\sqrt{n_1 + n_2}}, \quad
        d = \frac{n_1 - n_2}{(n_1 + n_2)/2}, \quad
        z_M = \frac{b}{\sqrt{\bar c / \sum x_i^2}}, \quad
        d_M = \frac{(M - 1)\, b}{\bar c},

    the rate has *not* settled if the two windows differ (:math:`|z| > k` and
    :math:`|d| > \delta`) or the last :math:`M` windows have a trend (:math:`|z_M| > k` and
    :math:`|d_M| > \delta`), or if the test cannot see (:math:`2k/\sqrt{n_1+n_2} > \rho`);
    else it is *settled*. :math:`k` = ``sigmas`` (3), :math:`\delta` = ``tolerance``
    (0.15), :math:`\rho` = ``resolution`` (0.5); for :math:`M = 2`, :math:`z_M = z`.

    A change must be beyond counting noise: a neuron at a constant rate has
    :math:`|z| > 3` with probability 0.27 % (normal two-sided tail), and the output of an
    integrate-and-fire neuron in the fluctuation-driven regime is at most as irregular as a
    Poisson process (Fano factor <= 1). And it must exceed :math:`\delta` of the rate (over
    the two windows, or over the trend's span): plastic weights keep wandering once settled
    — song_2000's 10 Hz neuron changes by up to 11 % over 1000 s between 2000 and 3000 s
    (seeds 0-2; its settled rate differs by about 8 % between seeds), many counting errors
    with 200-s windows but not a transient. The trend sees slow drifts that two adjacent
    windows miss: song_2000's 20 Hz neuron at 100 s fires 29, 26, 24, 22.5 and 21 Hz over
    its last five 10-s windows (seed 0; it goes on down to about 14 Hz by 500 s): the last
    two are 0.6 SE and 6 % apart, the trend 3.9 SE and -31 %. The last condition asks that the test could see anything: the smallest
    difference it detects, :math:`k\sqrt{n_1+n_2}` spikes, must be at most half of the mean
    count :math:`(n_1+n_2)/2`, i.e. :math:`n_1 + n_2 \ge (2k/\rho)^2 = 144` spikes. Without
    it a neuron that fires a few spikes per window — song_2000's 10 Hz condition at 100 s,
    1-3 Hz on its slow way to about 12 Hz — would pass for want of evidence. A run shorter
    than two windows cannot be tested and is not settled.

    Passing is necessary, not sufficient: a drift too slow to show over the last
    :math:`M` windows passes. ``resolution_hz`` in the result says what the two windows
    resolved.

    Parameters
    ----------
    trains : sequence of array_like
        Spike times (s) per condition.
    duration, window : float
        The run's duration :math:`T` and the rate window :math:`W` (s).
    sigmas, resolution, tolerance : float
        :math:`k`, :math:`\rho` and :math:`\delta` above.
    trend_windows : int
        :math:`M`, the most windows the trend is fitted over.

    Returns
    -------
    list of dict
        Per condition: ``settled`` (bool), ``rate_hz`` and ``rate_before_hz`` (the two
        windows' rates), ``spikes`` and ``spikes_before`` (:math:`n_1, n_2`), ``window_s``,
        ``z`` (signed: positive while the rate rises; None if untestable) and ``change``
        (:math:`d`), ``trend_windows`` (:math:`M`), ``trend_z`` and ``trend_change``
        (:math:`z_M, d_M`; None if :math:`M < 3`), ``resolution_hz``
        (:math:`k\sqrt{n_1+n_2}/W`, the smallest change the two windows detect),
        ``criterion`` and ``reason`` (text).
    """
    n_min = (2 * sigmas / resolution) ** 2
    criterion = (f"n1 + n2 >= {n_min:g}; no change between the two windows, and no trend over the "
                 f"last (up to) {trend_windows} windows, that is both beyond {sigmas:g} Poisson "
                 f"standard errors and above {100 * tolerance:g} % of the rate (n1, n2: spikes in "
                 "the last rate window and in the one before)")
    available = int(np.floor(duration / window * (1 + 1e-9)))
    m = min(trend_windows, available)
    out = []
    for train in trains:
        t = np.asarray(train, dtype=float)
        n1 = int(np.sum((t >= duration - window) & (t < duration + 1e-12)))
        entry = {"settled": False, "rate_hz": n1 / window, "rate_before_hz": None, "spikes": n1,
                 "spikes_before": None, "window_s": window, "z": None, "change": None,
                 "trend_windows": None, "trend_z": None, "trend_change": None,
                 "resolution_hz": None, "criterion": criterion}
        if available < 2:
            entry["reason"] = (f"the run ({duration:g} s) is shorter than two rate windows "
                               f"(2 x {window:g} s): no window before the last to compare with")
            out.append(entry)
            continue
        n2 = int(np.sum((t >= duration - 2 * window) & (t < duration - window)))
        n = n1 + n2
        z = (n1 - n2) / np.sqrt(n) if n else 0.0
        d = (n1 - n2) / (n / 2) if n else 0.0
        entry.update(rate_before_hz=n2 / window, spikes_before=n2, z=float(z), change=float(d),
                     resolution_hz=float(sigmas * np.sqrt(n) / window))
        zt = dt = None
        if m >= 3:
            edges = duration - window * np.arange(m, -1, -1)
            counts = np.array([np.sum((t >= lo) & (t < hi)) for lo, hi in zip(edges[:-1], edges[1:])],
                              dtype=float)
            counts[-1] = n1  # the last window closes at the end of the run
            x = np.arange(m) - (m - 1) / 2
            sxx = float(np.sum(x * x))
            mean = counts.mean()
            slope = float(np.sum(x * counts) / sxx)
            zt = slope / np.sqrt(mean / sxx) if mean > 0 else 0.0
            dt = (m - 1) * slope / mean if mean > 0 else 0.0
            entry.update(trend_windows=m, trend_z=float(zt), trend_change=float(dt))
        rates = f"{n2 / window:.3g} then {n1 / window:.3g} Hz over two {window:g}-s windows"
        if n < n_min:
            entry["reason"] = (f"{rates}: too few spikes to tell ({n2} + {n1} < {n_min:g}; a change "
                               "of half the rate could go unseen)")
        elif abs(z) > sigmas and abs(d) > tolerance:
            entry["reason"] = (f"{rates}: {'rising' if z > 0 else 'falling'} by {100 * abs(d):.0f} %, "
                               f"{abs(z):.1f} counting errors (limits {100 * tolerance:g} %, {sigmas:g})")
        elif zt is not None and abs(zt) > sigmas and abs(dt) > tolerance:
            entry["reason"] = (f"{rates}, but {'rising' if zt > 0 else 'falling'} over the last {m} "
                               f"windows by {100 * abs(dt):.0f} %, a trend of {abs(zt):.1f} counting "
                               f"errors (limits {100 * tolerance:g} %, {sigmas:g})")
        else:
            entry["settled"] = True
            trend = (f"; trend over the last {m} windows {100 * dt:+.0f} % ({abs(zt):.1f} errors)"
                     if zt is not None else "")
            entry["reason"] = (f"{rates}: {100 * d:+.0f} % ({abs(z):.1f} counting errors){trend}; "
                               f"settled (a change shows if beyond {sigmas:g} errors and "
                               f"{100 * tolerance:g} %)")
        out.append(entry)
    return out


#: The last input draw of this process (seed and stimulus -> spikes): a replay with other
#: parameter values only reuses it, instead of drawing the same spikes again.
_DRAWS: dict = {}


@register_engine
class PoissonNetworkEngine(Engine):
    name = "poisson_network"
    stimulus_keys = {
        "duration": Key((str,), True, "simulated time (e.g. '100 second')"),
        "input_rate": Key((str,), True, "rate of each excitatory input (expression of labels)"),
        "correlation": Key((str,), False, "pairwise correlation of the correlated subgroup (default '0')"),
        "inhibitory_rate": Key((str,), False, "rate of each inhibitory input (default '10 Hz')"),
        "rate_window": Key((str,), False, "final window over which the output rate is measured (default '10 second')"),
    }
    network_keys = {
        "neuron": Key((str,), True, "the postsynaptic neuron model"),
        "neuron_params": Key((str,), False, "its parameter set (default: the model's)"),
        "n_inputs": Key((int,), True, "excitatory plastic inputs per neuron"),
        "correlated_inputs": Key((int,), False, "size of the correlated subgroup (default 0)"),
        "n_inhibitory": Key((int,), False, "inhibitory inputs per neuron, fixed strength (default 0)"),
        "transmit": Key((str,), True, "what an excitatory spike does to the neuron ('g_e_post += w*g_max')"),
        "inhibitory_transmit": Key((str,), False, "what an inhibitory spike does ('g_i_post += 0.05')"),
        "g_max": Key((str,), False, "value of g_max in transmit (dimensionless)"),
        "initial_weights": Key((str,), False, "'uniform' (in [w_min, w_max]) or a value (default 'uniform')"),
    }
    observables = ("output_rate", "mean_weight", "bimodality", "correlated_advantage")
    reusable = True
    batch = "copies"
    batch_stimulus = ("input_rate", "correlation", "inhibitory_rate")
    checks_settled = True  # rate_settledness, per condition

    # -- setup ------------------------------------------------------------------------
    def neuron_model(self):
        return build.resolve(self.network["neuron"], self.network.get("neuron_params"))

    def extra_code(self):
        return (self.network["transmit"], self.network.get("inhibitory_transmit", ""))

    def _conditions(self):
        """Per condition: (input rate Hz, correlation) from the stimulus entries."""
        from brian2 import Hz

        sec, hz = _dims()
        units = self.protocol.label_units()
        out = []
        for cond in self.protocol.conditions:
            labels = cond.quantities(units)
            rate = float(self.quantity(self.stimulus["input_rate"], hz, "stimulus.input_rate", labels) / Hz)
            c = float(self.quantity(self.stimulus.get("correlation", "0"), None, "stimulus.correlation",
                                    labels))
            if rate < 0 or not 0 <= c <= 1:
                raise SpecError(self.protocol.file, "stimulus", "a rate >= 0 and a correlation in [0, 1]",
                                f"rate {rate} Hz, correlation {c} for condition {dict(cond.labels)}")
            out.append((rate, c))
        return out

    def _transmit(self):
        text = self.network["transmit"]
        if "g_max" in text:
            g_max = self.network.get("g_max")
            if g_max is None:
                raise SpecError(self.protocol.file, "network.g_max", "a value for g_max used in transmit",
                                "nothing")
            value = float(self.quantity(g_max, None, "network.g_max"))
            text = re.sub(r"\bg_max\b", repr(value), text)
        return text

    # -- plan ---------------------------------------------------------------------------
    def plan(self):
        from brian2 import Hz, second

        sec, hz = _dims()
        n_in = int(self.network["n_inputs"])
        n_corr = int(self.network.get("correlated_inputs", 0))
        n_inh = int(self.network.get("n_inhibitory", 0))
        if n_in < 1 or not 0 <= n_corr <= n_in or n_inh < 0:
            raise SpecError(self.protocol.file, "network", "n_inputs >= 1, 0 <= correlated_inputs <= "
                            "n_inputs, n_inhibitory >= 0", f"{n_in}, {n_corr}, {n_inh}")
        duration = self.quantity(self.stimulus["duration"], sec, "stimulus.duration")
        dt = self.dt
        steps = int(round(float(duration / dt)))
        inh_rate = float(self.quantity(self.stimulus.get("inhibitory_rate", "10 Hz"), hz,
                                       "stimulus.inhibitory_rate") / Hz)
        conditions = self._conditions()
        dt_s = float(dt / second)
        key = (self.options.seed, tuple(conditions), n_in, n_corr, n_inh, inh_rate, steps, dt_s,
               self.network.get("initial_weights", "uniform"),
               tuple(float(np.asarray(v)) for k, v in sorted(self.resolved.namespace.items())
                     if k in ("w_min", "w_max")))
        drawn = _DRAWS.get(key)
        if drawn is None:
            drawn = self._draw(conditions, n_in, n_corr, n_inh, inh_rate, duration, steps)
            _DRAWS.clear()  # keep the last draw only (it can be large)
            _DRAWS[key] = drawn
        (exc, exc_bins), inh, cap_exc, cap_inh, w0, bounds, n_exc = drawn
        inh, inh_bins = inh if inh is not None else (None, None)
        neuron = self.neuron_model()
        # the numbers of spikes are not in it: a standalone build runs spikes of any number
        # (build._standalone_device), so other rates and seeds rerun the same build
        signature = ("poisson_network", len(conditions), n_in, n_inh, steps,
                     _dt_text(self.record_dt), self._transmit(), self.network.get("inhibitory_transmit", ""),
                     neuron.spec.name, tuple(sorted(neuron.code.items())),
                     tuple(sorted(neuron.namespace)))
        return Plan(signature, duration, {
            "conditions": conditions, "n_in": n_in, "n_corr": n_corr, "n_inh": n_inh,
            "exc": exc, "inh": inh, "exc_bins": exc_bins, "inh_bins": inh_bins, "w0": w0,
            "bounds": bounds, "neuron": neuron, "steps": steps,
            "n_exc_spikes": n_exc, "on_grid": True})

    def _draw(self, conditions, n_in, n_corr, n_inh, inh_rate, duration, steps):
        """The input spikes (padded to fixed sizes) and initial weights of a run's seed."""
        from brian2 import Hz, second

        dt = self.dt
        rng = np.random.default_rng(self.options.seed)
        dt_s = float(dt / second)
        n_steps = int(round(float(duration / second) / dt_s))  # as stimuli.poisson_steps
        expected_exc = 0.0
        for rate, _ in conditions:
            expected_exc += n_in * rate * float(duration / second)
        cap_exc = stimuli.capacity(expected_exc)
        cap_inh = stimuli.capacity(len(conditions) * n_inh * inh_rate * float(duration / second)) \
            if n_inh else 0
        exc_out = _spike_arrays(cap_exc)
        inh_out = _spike_arrays(cap_inh) if n_inh else None
        # one condition: its spikes are drawn straight into the padded arrays
        single = len(conditions) == 1
        exc_idx, exc_steps, inh_idx, inh_steps = [], [], [], []
        for k, (rate, c) in enumerate(conditions):
            base = k * n_in
            if n_corr and c > 0:
                i1, s1 = stimuli.correlated_poisson_steps(n_corr, rate * Hz, c, duration, dt, rng)
                i2, s2 = stimuli._poisson_steps(np.full(n_in - n_corr, rate), dt_s, n_steps, rng)
                idx, st = _merge_steps([i1, i2 + n_corr], [s1, s2.astype(s1.dtype)])
            else:
                idx, st = stimuli._poisson_steps(np.full(n_in, rate), dt_s, n_steps, rng,
                                                 into=(exc_out[0], exc_out[2]) if single else None)
            exc_idx.append(idx + base if base else idx)
            exc_steps.append(st)
            if n_inh:
                idx, st = stimuli._poisson_steps(np.full(n_inh, inh_rate), dt_s, n_steps, rng,
                                                 into=(inh_out[0], inh_out[2]) if single else None)
                inh_idx.append(idx + k * n_inh if k else idx)
                inh_steps.append(st)
        idx, st = _merge_steps(exc_idx, exc_steps)
        exc = _padded(idx, st, cap_exc, steps, dt_s, exc_out)
        inh = None
        if n_inh:
            idx, st = _merge_steps(inh_idx, inh_steps)
            inh = _padded(idx, st, cap_inh, steps, dt_s, inh_out)
        spec = self.resolved.spec
        lo = float(self.resolved.namespace.get(spec.data.get("bounds", {}).get("low", "w_min"), 0.0))
        hi = float(self.resolved.namespace.get(spec.data.get("bounds", {}).get("high", "w_max"), 1.0))
        n_syn = len(conditions) * n_in
        init = self.network.get("initial_weights", "uniform")
        if init == "uniform":
            w0 = rng.uniform(lo, hi, n_syn)
        else:
            w0 = np.full(n_syn, float(self.quantity(init, None, "network.initial_weights")))
        return exc, inh, cap_exc, cap_inh, w0, (lo, hi), int(sum(a.size for a in exc_idx))

    # -- build --------------------------------------------------------------------------
    def build(self, sim, plan):
        from brian2 import SpikeMonitor, StateMonitor, Synapses, second

        d = plan.data
        n_cond, n_in, n_inh = len(d["conditions"]), d["n_in"], d["n_inh"]
        standalone = sim.target == "cpp_standalone"
        # on cpp_standalone the generators are built empty: every run passes its spikes, as
        # parts the binary merges (_input_values); on runtime targets they hold the spikes
        spikes = {side: _NO_SPIKES if standalone else _merged(d, side, self.dt)
                  for side in ("exc", "inh") if side == "exc" or n_inh}
        exc = stimuli.spike_generator(n_cond * n_in, spikes["exc"][0], spikes["exc"][1] * second,
                                      name="inputs", replaceable=standalone)
        post = build.neurons(d["neuron"], n_cond, name="post", parameters_as="variables",
                             initialise=False)
        syn = build.synapses(self.resolved, exc, post, name="synapses", parameters_as="variables",
                             initialise=False, transmit=self._transmit(),
                             varying=d.get("varying", ()),
                             connect={"i": np.arange(n_cond * n_in),
                                      "j": np.repeat(np.arange(n_cond), n_in)})
        weight = self.resolved.spec.data.get("weight", "w")
        objects = [exc, post, syn]
        handles = {"exc": exc, "post": post, "synapses": syn, "weight": weight}
        if n_inh:
            inh = stimuli.spike_generator(n_cond * n_inh, spikes["inh"][0], spikes["inh"][1] * second,
                                          name="inhibitory_inputs", replaceable=standalone)
            text = self.network.get("inhibitory_transmit")
            if not text:
                raise SpecError(self.protocol.file, "network.inhibitory_transmit",
                                "what an inhibitory spike does (e.g. 'g_i_post += 0.05')", "nothing")
            isyn = Synapses(inh, post, on_pre=text, name="inhibitory_synapses", namespace={})
            isyn.connect(i=np.arange(n_cond * n_inh), j=np.repeat(np.arange(n_cond), n_inh))
            objects += [inh, isyn]
            handles.update(inh=inh, inhibitory_synapses=isyn)
        wmon = StateMonitor(syn, weight, record=np.arange(n_cond * n_in), dt=self.record_dt,
                            name="weight_monitor")
        smon = SpikeMonitor(post, name="output_spikes")
        objects += [wmon, smon]
        handles.update(objects=objects, wmon=wmon, smon=smon, standalone=standalone)
        return handles

    def values(self, handles, plan, rerun=False):
        d = plan.data
        post, syn = handles["post"], handles["synapses"]
        out = {(post, k): v for k, v in build.start_values(post, resolved=d["neuron"]).items()}
        init = {handles["weight"]: d["w0"]}
        out.update({(syn, k): v for k, v in
                    build.start_values(syn, init, resolved=self.resolved).items()})
        out.update(self._input_values(handles, d))
        return out

    def _input_values(self, handles, d):
        """On cpp_standalone, every run's spikes as :class:`~biodyn.build.SpikeParts` of its
        generators: one part per copy (its own draw, sorted by step then index), its neurons
        shifted to the copy's; the binary merges them by step, then copy, then index —
        the order of one generator's array (:func:`_merge_copies`) — with no merged arrays
        made or held in Python."""
        if not handles.get("standalone"):
            return {}
        plans = d.get("copies") or [None]
        out = {}
        for side, width in (("exc", d["n_in"]), ("inh", d["n_inh"])):
            if side == "inh" and not width:
                continue
            parts = [_real_spikes(p.data if p is not None else d, side, self.dt) for p in plans]
            n_cond = len(plans[0].data["conditions"]) if plans[0] is not None else len(d["conditions"])
            out[handles[side]] = build.SpikeParts(
                parts, offsets=[k * n_cond * width for k in range(len(parts))])
        return out

    # -- results ------------------------------------------------------------------------
    def collect(self, handles, plan, block=True):
        d = plan.data
        n_cond, n_in = len(d["conditions"]), d["n_in"]
        arrays = _read(handles, n_cond, n_in)
        return self._outcome(plan, arrays, handles["wmon"], block)

    def _outcome(self, plan, arrays, wmon, block):
        """The Outcome of one run (or one copy of a batch) from its arrays: final weights
        (conditions, inputs), output trains per condition, the recorded weights (synapses,
        times) and their times (s); ``wmon`` reads like the weight monitor of these synapses."""
        from brian2 import second

        d = plan.data
        conds = d["conditions"]
        n_cond, n_in, n_corr = len(conds), d["n_in"], d["n_corr"]
        duration = float(plan.duration / second)
        sec, _ = _dims()
        window = float(self.quantity(self.stimulus.get("rate_window", "10 second"), sec,
                                     "stimulus.rate_window") / second)
        window = min(window, duration)
        w_end = arrays["w_end"].reshape(n_cond, n_in)
        trains = arrays["trains"]
        weight = self.resolved.spec.data.get("weight", "w")
        rates = np.array([np.sum(t >= duration - window) / window for t in trains])
        settling = rate_settledness(trains, duration, window)
        lo, hi = d["bounds"]
        margin = 0.1 * (hi - lo)
        bimodality = np.mean((w_end <= lo + margin) | (w_end >= hi - margin), axis=1)
        mean_w = w_end.mean(axis=1)
        corr_adv = np.zeros(n_cond)
        if n_corr:
            corr_adv = w_end[:, :n_corr].mean(axis=1) - w_end[:, n_corr:].mean(axis=1)
        obs = self.protocol.observable
        values = {"output_rate": rates, "mean_weight": mean_w, "bimodality": bimodality,
                  "correlated_advantage": corr_adv}[obs]
        out = None
        if block:
            out = io.new_block(self.protocol.name, self.protocol.description.splitlines()[0],
                               observable=obs, n_inputs=n_in, correlated_inputs=n_corr,
                               n_inhibitory=d["n_inh"], record_dt=str(self.record_dt),
                               input_rates_hz=[c[0] for c in conds],
                               correlations=[c[1] for c in conds],
                               neuron=d["neuron"].spec.name, rate_window_s=window,
                               settled=[s["settled"] for s in settling],
                               rate_before_hz=[s["rate_before_hz"] for s in settling])
            seg = out.segments[0]
            io.add_spiketrains(seg, trains, plan.duration, "post")
            sig = io.state_monitor_signal(seg, wmon, weight, population="synapses",
                                          indices=np.arange(n_cond * n_in))
            sig.array_annotate(condition=np.repeat(np.arange(n_cond), n_in),
                               input=np.tile(np.arange(n_in), n_cond))
            final = io.add_signal(seg, f"{weight}_final", w_end.reshape(1, -1), plan.duration,
                                  t_start=plan.duration, population="synapses")
            final.array_annotate(condition=np.repeat(np.arange(n_cond), n_in),
                                 input=np.tile(np.arange(n_in), n_cond))
        w_t = arrays["w_t"]  # (synapses, times)
        extra = {"w_final": w_end, "w0": d["w0"].reshape(n_cond, n_in), "output_rates": rates,
                 "input_rates": np.array([c[0] for c in conds]),
                 "correlations": np.array([c[1] for c in conds]), "correlated_inputs": n_corr,
                 "bounds": (lo, hi), "t": arrays["t"],
                 "mean_weight_t": w_t.reshape(n_cond, n_in, -1).mean(axis=1),
                 "output_spikes": trains, "duration": duration,
                 "settled": np.array([s["settled"] for s in settling]),
                 "output_rates_before": np.array([np.nan if s["rate_before_hz"] is None
                                                  else s["rate_before_hz"] for s in settling])}
        if n_corr:
            wt = w_t.reshape(n_cond, n_in, -1)
            extra["correlated_weight_t"] = wt[:, :n_corr].mean(axis=1)
            extra["uncorrelated_weight_t"] = wt[:, n_corr:].mean(axis=1)
        info = [{"settled": s["settled"], "settling": {k: v for k, v in s.items() if k != "settled"}}
                for s in settling]
        return Outcome(values=values, block=out, extra=extra, conditions=info)

    # -- batches: the points of a sweep as copies of one run ----------------------------
    def batch_signature(self, plan):
        return plan.signature

    def estimate_bytes(self):
        from brian2 import Hz, second

        sec, hz = _dims()
        duration = float(self.quantity(self.stimulus["duration"], sec, "stimulus.duration") / second)
        n_in = int(self.network["n_inputs"])
        n_inh = int(self.network.get("n_inhibitory", 0))
        inh_rate = float(self.quantity(self.stimulus.get("inhibitory_rate", "10 Hz"), hz,
                                       "stimulus.inhibitory_rate") / Hz)
        rates = [r for r, _ in self._conditions()]
        spikes = duration * (n_in * sum(rates) + n_inh * inh_rate * len(rates))
        records = len(rates) * n_in * (duration / float(self.record_dt / second) + 1)
        # spikes, 64 bytes each: drawn and padded (int32 index, float64 time, int32 step: 16),
        # then on cpp_standalone the run's files and the binary's parts and merged arrays
        # (measured: 16 song_2000 points of 100 s, 31M spikes: 22 B/spike in this process,
        # 14 in the binary), on runtime targets the merged batch and Brian2's arrays
        return 64.0 * spikes + 8.0 * records * 3 + 2e5 * len(rates)

    def copy_state_bytes(self):
        """The plastic synapses' variables of one copy: 8 per synapse (weight, traces, last
        update, amplitudes, pre/post indices, delay), 8 bytes each."""
        return 64.0 * len(self.protocol.conditions) * int(self.network["n_inputs"])

    def merge(self, plans, engines):
        from brian2 import second

        d0 = plans[0].data
        n_cond, n_in, n_inh = len(d0["conditions"]), d0["n_in"], d0["n_inh"]
        neuron = d0["neuron"]
        for p in plans[1:]:
            other = p.data["neuron"]
            if set(other.namespace) != set(neuron.namespace) or any(
                    not np.array_equal(np.asarray(other.namespace[k]), np.asarray(neuron.namespace[k]))
                    for k in neuron.namespace):
                raise NotBatchable("the points' neurons have other parameter values")
        sig = plans[0].signature
        signature = ("poisson_network copies", len(plans)) + sig[1:]
        # the copies' spikes stay apart: merged by the binary on cpp_standalone
        # (_input_values), by _merged (numpy) only where a runtime target builds them
        data = dict(d0, conditions=[c for p in plans for c in p.data["conditions"]],
                    exc=None, inh=None, exc_bins=None, inh_bins=None,
                    w0=np.concatenate([p.data["w0"] for p in plans]), copies=plans,
                    steps=sig[4])
        return Plan(signature, plans[0].duration, data)

    def build_copies(self, sim, merged):
        return self.build(sim, merged)

    def values_copies(self, handles, merged, engines, rerun=False):
        d = merged.data
        plans = d["copies"]
        n_cond, n_in = len(plans[0].data["conditions"]), d["n_in"]
        post, syn = handles["post"], handles["synapses"]
        out = {(post, k): v for k, v in copy_values(
            post, [build.start_values(post, resolved=p.data["neuron"]) for p in plans],
            [n_cond] * len(plans)).items()}
        starts = [build.start_values(syn, {handles["weight"]: p.data["w0"]}, resolved=e.resolved)
                  for p, e in zip(plans, engines)]
        out.update({(syn, k): v for k, v in copy_values(syn, starts, [n_cond * n_in] * len(plans)).items()})
        out.update(self._input_values(handles, d))
        return out

    def collect_copies(self, handles, merged, engines, block=True):
        d = merged.data
        plans = d["copies"]
        n_cond, n_in = len(plans[0].data["conditions"]), d["n_in"]
        arrays = _read(handles, n_cond * len(plans), n_in)
        out = []
        per = n_cond * n_in
        for k, (plan, engine) in enumerate(zip(plans, engines)):
            rows = slice(k * per, (k + 1) * per)
            part = {"w_end": arrays["w_end"][rows], "w_t": arrays["w_t"][rows], "t": arrays["t"],
                    "trains": arrays["trains"][k * n_cond:(k + 1) * n_cond]}
            wmon = MonitorRows(handles["wmon"], handles["weight"], rows) if block else None
            out.append(engine._outcome(plan, part, wmon, block))
        return out


def _read(handles, n_cond, n_in):
    """The arrays a run leaves: final weights, output trains, recorded weights and times."""
    from brian2 import second

    weight = handles["weight"]
    wmon = handles["wmon"]
    return {"w_end": np.asarray(getattr(handles["synapses"], weight)[:], dtype=float),
            "trains": io.spike_monitor_trains(handles["smon"], n_cond),
            "w_t": np.asarray(getattr(wmon, weight)[:], dtype=float),
            "t": np.asarray(wmon.t[:] / second)}


#: The spikes of a generator built empty (every run passes its own).
_NO_SPIKES = (np.zeros(0, dtype=np.int32), np.zeros(0))


def _real_spikes(d, side, dt):
    """``(indices, bins)`` of a plan's drawn spikes of ``side`` without their padding."""
    from brian2 import second

    idx, t = d[side]
    bins = d.get(f"{side}_bins")
    if bins is None:
        bins = stimuli.timebins(t, float(dt / second))
    n = int(np.searchsorted(bins, d["steps"]))  # the padding lies at and after the last step
    return idx[:n], bins[:n]


def _merged(d, side, dt):
    """``(indices, times)`` of one generator holding a plan's spikes of ``side``: the plan's own
    (a point) or its copies' merged (:func:`_merge_copies`, a batch on a runtime target)."""
    from brian2 import second

    plans = d.get("copies")
    if not plans:
        return d[side]
    if d.get(f"merged_{side}") is None:
        width = d["n_in"] if side == "exc" else d["n_inh"]
        n_cond = len(plans[0].data["conditions"])
        d[f"merged_{side}"], _, _ = _merge_copies(
            [p.data[side] for p in plans], [p.data.get(f"{side}_bins") for p in plans],
            n_cond * width, d["steps"], float(dt / second),
            all(p.data.get("on_grid") for p in plans))
    return d[f"merged_{side}"]


def _merge_copies(spikes, bins, width, steps, dt_s, on_grid):
    """The inputs of a batch's copies as one generator's: ``((indices, times), bins, size)``.

    ``spikes``: per copy its padded ``(indices, times)``, sorted by step then index, the
    padding past the end (step ``steps`` on); ``bins``: their time bins (or None: computed).
    Copy ``k``'s neuron ``i`` becomes ``k*width + i``; the real spikes are sorted by step,
    then copy, then index (a stable counting merge of the copies,
    :func:`stimuli.iter_merged_positions`), their bins are the steps and, ``on_grid`` (every
    time is its step times ``dt_s``), their times the bins times ``dt_s``; the padding of
    :func:`stimuli.pad` follows, to the sum of the copies' sizes.
    """
    real_bins = []
    for (idx, t), b in zip(spikes, bins):
        if b is None:
            b = stimuli.timebins(t, dt_s)
        real_bins.append(b[:int(np.searchsorted(b, steps))])  # the padding lies past the end
    size = sum(idx.size for idx, _ in spikes)
    n = sum(b.size for b in real_bins)
    idx_all = np.empty(size, dtype=np.int32)
    t_all = np.empty(size, dtype=float)
    b_all = np.empty(size, dtype=np.int32)
    shifted = np.empty(max((b.size for b in real_bins), default=0), dtype=np.int32)
    per_step = np.empty(steps, dtype=np.int64)  # the spikes of all the copies at each step
    where = stimuli.iter_merged_positions(real_bins, steps, totals=per_step)
    for k, ((idx, t), b, pos) in enumerate(zip(spikes, real_bins, where)):
        np.add(idx[:b.size], k * width, out=shifted[:b.size])
        idx_all[pos] = shifted[:b.size]
        if not on_grid:
            t_all[pos] = t[:b.size]
    # sorted by step, the merged spikes' bins are the steps, each as often as spikes fall in it
    b_all[:n] = np.repeat(np.arange(steps, dtype=np.int32), per_step)
    if on_grid:  # every spike time is its step times dt (_padded): the same product
        np.multiply(b_all[:n], dt_s, out=t_all[:n])
    stimuli.pad_into(idx_all, t_all, b_all, n, steps * dt_s, dt_s)
    return (idx_all, t_all), b_all, size


def _merge_steps(idx_list, step_list):
    """Merge ``(indices, steps)`` parts, each sorted by step then index and covering increasing
    index ranges, into one array sorted by step then index (a stable sort of sorted runs)."""
    if not idx_list:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    if len(idx_list) == 1:  # one part: already in order
        return np.asarray(idx_list[0], dtype=np.int32), np.asarray(step_list[0])
    idx = np.empty(sum(a.size for a in idx_list), dtype=np.int32)
    steps = np.empty(idx.size, dtype=np.asarray(step_list[0]).dtype)
    for part, st, pos in zip(idx_list, step_list, stimuli.merged_positions(step_list)):
        idx[pos] = part
        steps[pos] = st
    return idx, steps


def _spike_arrays(size):
    """Room for ``size`` padded spikes: indices (int32), times (s) and time bins (int32)."""
    return np.empty(size, dtype=np.int32), np.empty(size, dtype=float), np.empty(size, dtype=np.int32)


def _padded(idx, st, size, steps, dt_s, out=None):
    """The padded ``(indices, times)`` (:func:`stimuli.pad`) of spikes at steps ``st`` and
    their time bins (``st`` itself for the spikes, :func:`stimuli.timebins` for the padding).

    ``out`` (optional): the three arrays (:func:`_spike_arrays`) to fill; ``idx`` and ``st``
    may already be the starts of its first and third (drawn into them).
    """
    n = idx.size
    if n > size:
        stimuli.pad(idx, st * dt_s, size, steps * dt_s, dt_s)  # raises: they do not fit
    out = out if out is not None else _spike_arrays(size)
    if not _starts(idx, out[0]):
        out[0][:n] = idx
    if not _starts(st, out[2]):
        out[2][:n] = st
    np.multiply(out[2][:n], dt_s, out=out[1][:n])
    idx, t, bins = stimuli.pad_into(*out, n, steps * dt_s, dt_s)
    return (idx, t), bins


def _starts(part, whole):
    """Whether ``part`` is ``whole[:part.size]`` (the same memory)."""
    return (part.dtype == whole.dtype and part.size <= whole.size
            and part.__array_interface__["data"][0] == whole.__array_interface__["data"][0])
