r"""e-prop (Bellec et al. 2020): eligibility traces computed forward in time times a learning signal.

For a network of :mod:`biodyn.snn` neurons (current synapses) with hidden state
:math:`h_j^t` (all state variables of neuron :math:`j` after step :math:`t`) and spikes
:math:`z_j^t`, the weight :math:`W_{pj}` from presynaptic :math:`p` (an input or another
neuron; spikes :math:`x_p^t`) adds :math:`W_{pj} x_p^t` to :math:`j`'s synaptic current after
the threshold of step :math:`t` (Brian2's order). e-prop's gradient estimate is

.. math::
    \widehat{\frac{dE}{dW_{pj}}} = \sum_t L_j^t\, e_{pj}^t,\qquad
    e_{pj}^t = \frac{\partial z_j^t}{\partial h_j^{t-1}}\,\epsilon_{pj}^{t-1},\qquad
    \epsilon_{pj}^t = \frac{\partial h_j^t}{\partial h_j^{t-1}}\,\epsilon_{pj}^{t-1}
                      + \frac{\partial h_j^t}{\partial a_j^t}\, x_p^t,

the eligibility vector :math:`\epsilon` carried forward with the neuron's own Jacobian
(forward-mode, ``jax.jvp`` of the reading's step: the same update, threshold, surrogate
derivative and reset as BPTT; :math:`a_j^t` the synaptic increment), and the learning signal
:math:`L_j^t = \partial E/\partial z_j^t`, the *partial* derivative of the loss through the
readout only (symmetric feedback, ``eprop``), or with the readout weights :math:`W_{out}`
replaced by a fixed random matrix :math:`B` in it (random feedback, ``eprop_random``,
:math:`B \sim \mathcal N(0, 1/H)`, seed ``[seed, 5]``). What e-prop drops are the paths through
other neurons' spikes (:math:`\partial z_k/\partial h_j` via :math:`W_{rec}`): without
recurrent connections (:math:`W_{rec} = 0`) the estimate *is* the gradient — BPTT's, to
rounding (tested). The readout's own parameters get their exact gradient.

Memory: the learning signals :math:`L^t` (``T x B x H``, like the spike trains) are computed
first (a forward pass and the readout's adjoint), then the traces run forward in a second
pass, accumulating :math:`\sum_t L^t e^t` — no ``T x P x H`` array is stored. (Bellec et al.'s
fully online form filters the eligibility traces with the readout's :math:`\kappa` instead; for
a leaky readout the two are the same sum.)

References
----------
Bellec G, Scherr F, Subramoney A, Hajek E, Salaj D, Legenstein R, Maass W (2020) A solution to
the learning dilemma for recurrent networks of spiking neurons. Nat Commun 11:3625.
doi:10.1038/s41467-020-17236-y
"""

from __future__ import annotations

__all__ = ["eprop_gradient"]


def eprop_gradient(reading, p, x, readout_loss, *, weight_unit, shape, width, feedback=None):
    """e-prop's estimate of the loss gradient for the parameter dict ``p`` (``W_in`` ``(M, H)``,
    ``W_rec`` ``(H, H)`` in ``weight_unit``; ``W_out``, ``b``) on inputs ``x`` ``(B, T, M)``.

    ``readout_loss(S, W_out, b)`` is the loss of the spike trains ``S`` ``(T, B, H)`` through the
    readout; ``feedback`` a matrix replacing ``W_out`` in the learning signal (random feedback).
    Returns a dict with the keys of ``p``. Call inside ``jax.enable_x64(True)``.
    """
    import jax
    import jax.numpy as jnp

    from ..errors import SpecError
    from ..snn._network import initial_carry, make_step

    if reading.targets["exc"] != reading.targets["inh"]:
        raise SpecError(reading.resolved.spec.file, "synapse", "current synapses for e-prop", reading.synapse)
    H = p["W_rec"].shape[0]
    W_rec = p["W_rec"] * (1.0 - jnp.eye(H))
    xs = jnp.swapaxes(x, 0, 1)  # (T, B, M)
    T, B, M = xs.shape
    step = make_step(reading, shape=shape, width=width)
    ext = {name: 0.0 for name in reading.external}
    target = reading.targets["exc"]
    c0 = initial_carry(reading, B, H)

    # pass 1: the spikes, and the learning signals dE/dz (through the readout only)
    def body(c, x_t):
        c, (s, _) = step(c, x_t, p["W_in"] * weight_unit, W_rec * weight_unit, ext)
        return c, s

    _, S = jax.lax.scan(body, c0, xs)
    S = jax.lax.stop_gradient(S)
    g_out = jax.grad(readout_loss, argnums=(1, 2))(S, p["W_out"], p["b"])
    fb = p["W_out"] if feedback is None else feedback
    L = jax.grad(lambda s: readout_loss(s, fb, p["b"]))(S)  # (T, B, H)

    # pass 2: eligibility vectors forward, accumulating sum_t L^t e^t
    update, margin_of, reset_values = reading.compile()
    sub = make_step(reading, shape=shape, width=width)

    def neuron(state, last, n, drive):
        """One step of every neuron with a given synaptic increment ``drive`` (B, H): (z, new state)."""
        zero_in = jnp.zeros((B, 1))
        carry, (s, new) = sub((state, last, n), zero_in, jnp.zeros((1, H)), None, ext)
        new = dict(new)
        # the increment enters after the threshold and before the reset; the reset does not touch
        # the synaptic variable of current synapses, so adding it after the reset is the same
        new[target] = new[target] + drive
        return s, new, carry[1]

    def body2(carry, inp):
        (state, last, n), eps, acc = carry
        x_t, s_t, L_t = inp
        pre = jnp.concatenate([x_t, s_t], axis=1)  # (B, P): inputs and the network's own spikes at t
        drive = pre @ (jnp.concatenate([p["W_in"], W_rec], axis=0) * weight_unit)

        def f(st):
            z, new, _ = neuron(st, last, n, drive)
            return z, new

        def tangent(e):
            return jax.jvp(f, (state,), (e,))[1]

        # eps: dict var -> (B, P, H); push each presynaptic slice through the neuron's Jacobian
        dz, dnew = jax.vmap(tangent, in_axes=(1,), out_axes=(1, 1))(eps)
        acc = acc + jnp.einsum("bh,bph->ph", L_t, dz)  # e^t = dz/dh^{t-1} eps^{t-1}
        z, new, last2 = neuron(state, last, n, drive)
        eps = dict(dnew)
        eps[target] = eps[target] + pre[:, :, None] * weight_unit  # d h^t / d a^t x_p^t
        return ((new, last2, n + 1), eps, acc), None

    eps0 = {var: jnp.zeros((B, M + H, H)) for var in reading.state}
    acc0 = jnp.zeros((M + H, H))
    (_, _, acc), _ = jax.lax.scan(body2, (c0, eps0, acc0), (xs, S, L))
    g_rec = acc[M:] * (1.0 - jnp.eye(H))
    return {"W_in": acc[:M], "W_rec": g_rec, "W_out": g_out[0], "b": g_out[1]}
