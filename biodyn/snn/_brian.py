"""The same network in Brian2: a reading's equations, its weights and input spikes.

:func:`brian_run` builds the network of a :class:`~biodyn.snn.Reading` with weights
``W_in``, ``W_rec`` (SI units of the synaptic variable) as Brian2 objects — a
``SpikeGeneratorGroup`` of the inputs, a ``NeuronGroup`` of the reading's composed equations,
threshold, reset, refractory period and method, ``Synapses`` with ``on_pre`` adding the
weight to the target variable (no delay) — runs it inside :class:`biodyn.build.Simulation`
(any target; the user's magic network, device and random state are left alone) and returns
the spikes as step indices. It is the reference of the forward identity and the way trained
weights run back in Brian2.
"""

from __future__ import annotations

import numpy as np

__all__ = ["brian_run"]


def brian_run(reading, W_in, W_rec, input_indices, input_steps, n_steps, *, target="numpy", ext=None,
              init=None, record=(), seed=0, build_key=None):
    """Run the network in Brian2 for ``n_steps`` steps of the reading's ``dt``.

    Parameters
    ----------
    reading : Reading
    W_in, W_rec : array_like
        ``(M, N)`` and ``(N, N)`` weights (or ``W_rec=None``), SI units of the synaptic variable.
    input_indices, input_steps : array_like of int
        The input spikes: input neuron and step index.
    ext : dict, optional
        Per-neuron constant parameters (``I_ext`` in amp).
    init : dict, optional
        Initial values (SI floats or arrays) replacing the spec's.
    record : tuple of str
        State variables to record (``when="end"``, every step).

    Returns
    -------
    dict
        ``i``, ``n`` (neuron and step of each spike, sorted by step, then neuron), and per
        recorded variable a ``(n_steps, N)`` array in SI units.
    """
    from brian2 import NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, second

    from ..build import Simulation

    W_in = np.asarray(W_in, float)
    M, N = W_in.shape
    dt = reading.dt * second
    exc, inh = reading.targets["exc"], reading.targets["inh"]
    unit = reading.weight_unit()
    with Simulation(target, dt=dt, seed=seed, build_key=build_key, check_finite=True) as sim:
        kwargs = dict(model=reading.equations, method=reading.method, namespace=dict(reading.namespace),
                      threshold=reading.threshold_text, name="snn_neurons")
        if reading.reset_text.strip():
            kwargs["reset"] = reading.reset_text
        if reading.refractory_text is not None:
            kwargs["refractory"] = reading.refractory_text
        G = NeuronGroup(N, **kwargs)
        for var in reading.state:
            value = (init or {}).get(var, reading.initial[var])
            setattr(G, var, np.broadcast_to(np.asarray(value, float), (N,)) * reading.units[var])
        for name in reading.external:
            value = (ext or {}).get(name, 0.0)
            setattr(G, name, np.broadcast_to(np.asarray(value, float), (N,)) * reading.units[name])
        idx = np.asarray(input_indices, int)
        steps = np.asarray(input_steps, int)
        P = SpikeGeneratorGroup(M, idx, steps * dt, name="snn_inputs")
        objects = [G, P]

        def connect(source, W, tag):
            parts = [(exc, np.maximum(W, 0.0)), (inh, np.maximum(-W, 0.0))] if exc != inh else [(exc, W)]
            for k, (var, Wp) in enumerate(parts):
                i, j = np.nonzero(Wp)
                if len(i) == 0:
                    continue
                S = Synapses(source, G, model=f"w_snn : {_unit_text(unit)}", on_pre=f"{var}_post += w_snn",
                             name=f"snn_{tag}_{k}")
                S.connect(i=i, j=j)
                S.w_snn = Wp[i, j] * unit
                objects.append(S)

        connect(P, W_in, "in")
        if W_rec is not None:
            connect(G, np.asarray(W_rec, float), "rec")
        sm = SpikeMonitor(G, name="snn_spikes")
        objects.append(sm)
        st = None
        if record:
            st = StateMonitor(G, list(record), record=True, when="end", name="snn_states")
            objects.append(st)
        sim.run(n_steps * dt, *objects)
        n = np.round(np.asarray(sm.t / dt)).astype(int)
        i = np.asarray(sm.i[:], int)
        order = np.lexsort((i, n))
        out = {"i": i[order], "n": n[order]}
        for var in record:
            out[var] = np.asarray(getattr(st, var + "_")).T.copy()
    return out


def _unit_text(unit):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions, get_unit

    dim = get_dimensions(unit)
    return "1" if dim is DIMENSIONLESS else repr(get_unit(dim))
