r"""A recurrent network of catalog neurons as a differentiable JAX map.

``N`` neurons of one :class:`~biodyn.snn.Reading`, driven by ``M`` input spike trains through
``W_in`` (``M x N``) and by their own spikes through ``W_rec`` (``N x N``; ``W[i, j]`` is the
weight from presynaptic ``i`` to postsynaptic ``j``, Brian2's ``Synapses`` orientation), in SI
units of the synaptic variable (amp for currents; the conductance's unit). The step is that
of :mod:`biodyn.snn._reading` (Brian2's order of operations within a step); the time loop is
``jax.lax.scan``; every computation runs in float64 inside ``jax.enable_x64(True)``.

**Readout in the loop.** With ``readout=(W_out, kappa)`` the leaky readout of the spikes
(Bellec et al. 2020, Methods)

.. math:: y_n = \kappa\, y_{n-1} + W_{out}^\top s_n, \qquad y_{-1} = 0,

is carried in the same ``scan`` as the neurons, and ``spikes=False`` leaves the spikes out of
the scan's outputs. A loss of the readout then never holds the ``(T, B, N)`` spike array:
written as a second ``scan`` over stored spikes, the readout costs a ``T x B x N`` float64 array
written and read again, a second loop of ``T`` iterations forward, and in the gradient a second
``T x B x N`` array of the spikes' cotangents (with ``T = 1000``, ``B = 32``, ``N = 200``: 51 MB
each, and a forward pass 1.5x as long as the same network written in one loop; measured by
``benchmarks/snn_train.py``).

References
----------
Bellec G, Scherr F, Subramoney A, Hajek E, Salaj D, Legenstein R, Maass W (2020) A solution to
the learning dilemma for recurrent networks of spiking neurons. Nat Commun 11:3625.
doi:10.1038/s41467-020-17236-y
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["run", "Trace", "make_step", "initial_carry"]

_NEVER = -(2 ** 40)  # the step of the last spike of a neuron that has not spiked


@dataclass
class Trace:
    """What :func:`run` returns: ``spikes`` ``(T, B, N)`` (0/1; ``None`` with ``spikes=False``),
    the recorded state variables ``states[name]`` ``(T, B, N)`` after each step (after the
    reset, as Brian2's ``StateMonitor`` with ``when="end"`` sees them), the final carry of the
    neurons, and with a ``readout`` its outputs ``outputs`` ``(T, B, O)`` (else ``None``)."""

    spikes: object
    states: dict
    final: object
    outputs: object = None


def initial_carry(reading, batch, n, init=None):
    """The carry ``(state, last, step)`` at step 0: the spec's ``[initial]`` values or ``init``
    (name -> value or array broadcastable to ``(batch, n)``)."""
    import jax.numpy as jnp

    state = {}
    for var in reading.state:
        value = (init or {}).get(var, reading.initial[var])
        state[var] = jnp.broadcast_to(jnp.asarray(value, dtype=jnp.float64), (batch, n))
    last = jnp.full((batch, n), _NEVER, dtype=jnp.int64)
    return state, last, jnp.asarray(0, dtype=jnp.int64)


def make_step(reading, *, shape="fast_sigmoid", width=1e-3, smooth=False, detach_reset=None):
    r"""``step(carry, x_t, W_in, W_rec, ext) -> (carry, (s_t, state_t))`` (see module doc).

    ``detach_reset``: which reset statements are not differentiated in the spike (Zenke & Vogels
    2021). Default (``None``): with surrogate spikes the membrane's (the reset of
    :attr:`~biodyn.snn.Reading.membrane`, ``v``) only — not detached, each step a neuron spends
    near threshold multiplies the gradient by about :math:`\sigma'(0)\,|v_{th} - v_{reset}|`
    (7.5 for ``lif`` with a 1 mV fast sigmoid), and the gradient of a neuron hovering below
    threshold explodes — while an adaptation's jump (``a += 1`` of ``alif``, ``w += b`` of
    ``adex``) is differentiated, as in Bellec et al.'s (2018, 2020) ALIF gradient and e-prop
    (its :math:`\epsilon^a`); with ``smooth`` none. ``True``: every reset statement detached;
    ``False``: none."""
    import jax
    import jax.numpy as jnp

    from ._surrogate import smooth_step, spike_function

    update, margin_of, reset_values = reading.compile()
    inclusive = reading.threshold[1] in (">=", "<=")
    spike = spike_function(shape, width, inclusive)
    ref = reading.ref_steps
    if smooth and ref:
        from ..errors import SpecError
        raise SpecError(reading.resolved.spec.file, "refractory", "no refractory period with smooth=True "
                        "(the refractory clock is not differentiable)", f"{ref} steps",
                        "override t_ref = '0 ms'")
    exc, inh = reading.targets["exc"], reading.targets["inh"]
    dt = reading.dt
    reset_vars = [var for var, _ in reading.reset]
    if detach_reset is None:
        detached = set() if smooth else {reading.membrane} & set(reset_vars)
    else:
        detached = set(reset_vars) if detach_reset else set()

    def step(carry, x_t, W_in, W_rec, ext):
        state, last, n = carry
        if ref is None:
            nr = jnp.ones_like(last, dtype=jnp.float64)
        else:
            nr = ((n - last) >= ref).astype(jnp.float64)
        new = update(state, ext, nr, n * dt)
        h = margin_of(new, ext)
        if smooth:
            s = smooth_step(jnp, shape, h, width)
            fired = None
        else:
            s = spike(h) * nr
            fired = s > 0
        # synapses (Brian2's 'synapses' slot: after the thresholds, before the resets)
        drive = x_t @ W_in + s @ W_rec if W_rec is not None else x_t @ W_in
        if exc == inh:
            new = dict(new)
            new[exc] = new[exc] + drive
        else:
            pos = x_t @ jnp.maximum(W_in, 0.0) + (s @ jnp.maximum(W_rec, 0.0) if W_rec is not None else 0.0)
            neg = x_t @ jnp.maximum(-W_in, 0.0) + (s @ jnp.maximum(-W_rec, 0.0) if W_rec is not None else 0.0)
            new = dict(new)
            new[exc] = new[exc] + pos
            new[inh] = new[inh] + neg
        # reset: Brian2's assignment forward, d/ds (new - x) backward
        after = reset_values(new, ext)
        for var, value in after.items():
            value = jnp.broadcast_to(value, new[var].shape)
            if smooth:
                sr = jax.lax.stop_gradient(s) if var in detached else s
                new[var] = new[var] + sr * (value - new[var])
            elif var in detached:
                new[var] = jnp.where(fired, value, new[var])
            else:
                ds = s - jax.lax.stop_gradient(s)
                new[var] = jnp.where(fired, value, new[var]) + ds * (value - new[var])
        if fired is not None and ref is not None:
            last = jnp.where(fired, n, last)
        return (new, last, n + 1), (s, new)

    return step


def run(reading, W_in, W_rec, x, *, ext=None, init=None, shape="fast_sigmoid", width=1e-3, smooth=False,
        detach_reset=None, record=(), carry=None, probe=None, readout=None, spikes=True):
    r"""Run the network on input spikes ``x`` ``(T, B, M)`` (or ``(T, M)``: one sequence).

    ``shape``, ``width`` (SI units of the threshold margin), ``smooth``, ``detach_reset``: the
    surrogate (see :func:`make_step`). Call inside ``jax.enable_x64(True)`` (as :func:`biodyn.snn.simulate` does). Differentiable
    in ``W_in``, ``W_rec``, ``ext`` and ``init`` (JAX arrays). ``ext``: per-neuron constant
    parameters of the model (``I_ext`` for current synapses; default 0). ``readout``: ``(W_out,
    kappa)``, ``W_out`` ``(N, O)`` and ``kappa`` a number: the leaky readout
    :math:`y_n = \kappa y_{n-1} + W_{out}^\top s_n` computed in the time loop (module doc),
    differentiable in ``W_out``. ``spikes=False``: the spikes are not returned (nor stored).
    Returns a :class:`Trace` (a batch axis of length 1 added if ``x`` had none).
    """
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(x, dtype=jnp.float64)
    if x.ndim == 2:
        x = x[:, None, :]
    T, B, M = x.shape
    N = W_in.shape[1]
    ext_full = {}
    for name in reading.external:
        value = (ext or {}).get(name, 0.0)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            ext_full[name] = float(value)  # a constant: folded into the step when it is traced
        else:
            ext_full[name] = jnp.broadcast_to(jnp.asarray(value, dtype=jnp.float64), (B, N))
    step = make_step(reading, shape=shape, width=width, smooth=smooth, detach_reset=detach_reset)
    c0 = carry if carry is not None else initial_carry(reading, B, N, init)
    if readout is not None:
        W_out, kappa = readout
        c0 = (c0, jnp.zeros((B, W_out.shape[1]), dtype=jnp.float64))

    def body(c, inp):
        x_t, pr = inp
        if readout is not None:
            c, y = c
        c, (s, st) = step(c, x_t, W_in, W_rec, ext_full)
        if pr:
            state = dict(c[0])
            for k, v in pr.items():
                state[k] = state[k] + v
            c = (state, c[1], c[2])
        out = (s if spikes else None, {k: st[k] for k in record})
        if readout is None:
            return c, out
        y = kappa * y + s @ W_out
        return (c, y), (*out, y)

    final, out = jax.lax.scan(body, c0, (x, dict(probe or {})))
    if readout is None:
        return Trace(out[0], out[1], final)
    return Trace(out[0], out[1], final[0], out[2])


def spike_indices(spikes):
    """``(i, n)``: neuron and step indices of the spikes of ``spikes`` ``(T, N)`` (numpy),
    sorted by step then neuron."""
    s = np.asarray(spikes)
    n, i = np.nonzero(s > 0)
    return i, n
