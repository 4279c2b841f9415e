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
replaced by a fixed random matrix :math:`B` in the feedback path (random feedback, ``eprop_random``,
:math:`B \sim \mathcal N(0, 1/H)`, seed ``[seed, 5]``). What e-prop drops are the paths through
other neurons' spikes (:math:`\partial z_k/\partial h_j` via :math:`W_{rec}`): without
recurrent connections (:math:`W_{rec} = 0`) the estimate *is* the gradient — BPTT's, to
rounding (tested). The readout's own parameters get their exact gradient.

Memory: :func:`eprop_online` (what the learners use) is Bellec et al.'s online form — the
eligibility vectors :math:`\epsilon`, the readout-filtered traces :math:`\bar e` and the update
carried forward in one pass, ``O(B (M+H) H)`` whatever the sequence length (measured by
``benchmarks/snn_train.py``; tested). :func:`eprop_gradient` is the two-pass form (spikes and
learning signals, ``T x B x H``, stored for a second pass), kept as the reference the online form
is tested against. With random feedback the learning signal is the error of the real output
(through :math:`W_{out}`) sent back through :math:`B` (Bellec et al. 2020, Eq. 4 with
:math:`B_{jk}` for :math:`W^{out}_{kj}`).

References
----------
Bellec G, Scherr F, Subramoney A, Hajek E, Salaj D, Legenstein R, Maass W (2020) A solution to
the learning dilemma for recurrent networks of spiking neurons. Nat Commun 11:3625.
doi:10.1038/s41467-020-17236-y
"""

from __future__ import annotations

__all__ = ["eprop_gradient", "eprop_online"]


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
    # dE/dz through the readout with the error of the real output (W_out) sent back through fb:
    # the readout is linear in A = S W_out, so dE/dA is the readout loss's gradient with W = I
    O = p["W_out"].shape[1]
    dA = jax.grad(lambda a: readout_loss(a, jnp.eye(O), p["b"]))(S @ p["W_out"])  # (T, B, O)
    L = dA @ fb.T  # (T, B, H)

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


def eprop_online(reading, p, x, t, mask, *, readout, loss, steps_per_sample, kappa, weight_unit, shape, width,
                 feedback=None):
    r"""e-prop in its online form (Bellec et al. 2020, Methods, "Online"): one forward pass, no
    array with a time axis stored, memory :math:`O(B\,P\,H)` (:math:`P = M + H` presynaptic
    neurons) independent of the sequence length :math:`T`.

    With the leaky readout :math:`y^t = \kappa y^{t-1} + W_{out}^\top z^t` of
    :func:`biodyn.learn._snn.snn_functions`, the learning signal of the two-pass form is
    :math:`L_j^t = \sum_{t' \ge t} \kappa^{t'-t} \sum_k B_{jk}\,\delta_k^{t'}` with
    :math:`\delta^{t'} = \partial E/\partial y^{t'}` (:math:`B = W_{out}` or the random feedback),
    so exchanging the sums

    .. math::
        \sum_t L_j^t e_{pj}^t = \sum_{t'} \Big(\sum_k B_{jk}\delta_k^{t'}\Big)\,\bar e_{pj}^{t'},
        \qquad \bar e^{t} = \kappa\,\bar e^{t-1} + e^t,

    the filtered eligibility trace :math:`\bar e` carried forward beside :math:`\epsilon`, and the
    update accumulated at every step where the loss sees the output. The readout's exact gradient
    is accumulated the same way with the filtered spikes :math:`\bar z^t = \kappa\bar z^{t-1} + z^t`
    (:math:`\partial E/\partial W_{out} = \sum_t \bar z^{t\top}\delta^t`). :math:`\delta^t` is
    available at step :math:`t` for the per-step losses (``readout="all"``, MSE:
    :math:`\delta^t = 2 m^t (o^t - y^{*t}) / (O \sum m)` at each task step's last time step); for
    the time-averaged output (``readout="last"``, :math:`\bar o = \tfrac1T\sum_t o^t`)
    :math:`\delta^t = \partial E/\partial\bar o / T` is the same at every step and known at the end,
    so :math:`\sum_t \bar e^t` is carried instead (one more ``B x P x H`` array) and multiplied
    once. Equal to :func:`eprop_gradient` (the two-pass form) to rounding (tested).

    ``x`` ``(B, T, M)``, ``t``/``mask`` the task's targets and mask (as ``snn_functions``' loss
    takes them); ``readout`` ``"all"``/``"last"``, ``loss`` ``"mse"``/``"cross_entropy"``. Call
    inside ``jax.enable_x64(True)``.
    """
    import jax
    import jax.numpy as jnp

    from ..errors import SpecError
    from ..snn._network import initial_carry, make_step

    if reading.targets["exc"] != reading.targets["inh"]:
        raise SpecError(reading.resolved.spec.file, "synapse", "current synapses for e-prop", reading.synapse)
    if readout == "all" and loss != "mse":
        raise SpecError("task", "loss", "mse with readout 'all' for online e-prop", loss)
    H = p["W_rec"].shape[0]
    off = 1.0 - jnp.eye(H)
    W_rec = p["W_rec"] * off
    B, T, M = x.shape
    O = p["W_out"].shape[1]
    S = int(steps_per_sample)
    fb = p["W_out"] if feedback is None else feedback
    W_all = jnp.concatenate([p["W_in"], W_rec], axis=0) * weight_unit  # (P, H)
    sub = make_step(reading, shape=shape, width=width)
    ext = {name: 0.0 for name in reading.external}
    target = reading.targets["exc"]
    c0 = initial_carry(reading, B, H)
    zero_in, zero_w = jnp.zeros((B, 1)), jnp.zeros((1, H))

    def neuron(state, last, n):
        """One step of every neuron without synaptic input: (z, new state, new last)."""
        carry, (s, new) = sub((state, last, n), zero_in, zero_w, None, ext)
        return s, new, carry[1]

    def body(carry, _):
        (state, last, n), eps, ebar, zbar, acc, gW, gb, count = carry
        x_t = jax.lax.dynamic_index_in_dim(x, n, axis=1, keepdims=False)  # (B, M)

        def tangent(e):
            return jax.jvp(lambda st: neuron(st, last, n)[:2], (state,), (e,))[1]

        dz, dnew = jax.vmap(tangent, in_axes=(1,), out_axes=(1, 1))(eps)  # e^t = dz/dh^{t-1} eps^{t-1}
        s, new, last = neuron(state, last, n)
        pre = jnp.concatenate([x_t, s], axis=1)  # (B, P)
        new = dict(new)
        new[target] = new[target] + pre @ W_all  # after the threshold, before the reset (untouched)
        eps = dict(dnew)
        eps[target] = eps[target] + pre[:, :, None] * weight_unit
        ebar = kappa * ebar + dz
        zbar = kappa * zbar + s
        if readout == "all":
            i = n // S
            on = (n % S == S - 1).astype(jnp.float64)
            o = zbar @ p["W_out"] + p["b"]
            y_t = jax.lax.dynamic_index_in_dim(t, jnp.minimum(i, t.shape[1] - 1), axis=1, keepdims=False)
            m_t = jax.lax.dynamic_index_in_dim(mask, jnp.minimum(i, mask.shape[1] - 1), axis=1,
                                               keepdims=False).astype(jnp.float64)
            # 2 m (o - y*) without the 1/(O sum m) of the mean, applied at the end (sum m counted here)
            delta = (2.0 * on) * m_t[:, None] * (o - y_t)  # (B, O)
            count = count + on * jnp.sum(m_t)
            acc = acc + jnp.einsum("bh,bph->ph", delta @ fb.T, ebar)
            gW = gW + zbar.T @ delta
            gb = gb + jnp.sum(delta, axis=0)
        else:  # carry the sums over t; multiplied by the constant delta at the end
            acc = acc + ebar
            gW = gW + zbar
        return ((new, last, n + 1), eps, ebar, zbar, acc, gW, gb, count), None

    P = M + H
    eps0 = {var: jnp.zeros((B, P, H)) for var in reading.state}
    ebar0 = jnp.zeros((B, P, H))
    zbar0 = jnp.zeros((B, H))
    if readout == "all":
        acc0, gW0 = jnp.zeros((P, H)), jnp.zeros((H, O))
    else:
        acc0, gW0 = jnp.zeros((B, P, H)), jnp.zeros((B, H))
    carry0 = (c0, eps0, ebar0, zbar0, acc0, gW0, jnp.zeros(O), jnp.zeros(()))
    (_, _, _, _, acc, gW, gb, count), _ = jax.lax.scan(body, carry0, None, length=T)
    if readout == "all":
        acc, gW, gb = (v / (O * count) for v in (acc, gW, gb))
    if readout == "last":
        o_bar = gW @ p["W_out"] / T + p["b"]  # the mean output: (1/T) sum_t zbar^t W_out + b
        if loss == "cross_entropy":
            d = (jax.nn.softmax(o_bar, axis=-1) - jax.nn.one_hot(t.astype(int), O)) / B
        else:
            m = (jnp.ones((B,)) if mask.ndim != 1 else mask).astype(jnp.float64)
            d = 2.0 * m[:, None] * (o_bar - t.reshape(o_bar.shape)) / (O * jnp.sum(m))
        acc = jnp.einsum("bh,bph->ph", d @ fb.T / T, acc)
        gW, gb = gW.T @ d / T, jnp.sum(d, axis=0)
    return {"W_in": acc[:M], "W_rec": acc[M:] * off, "W_out": gW, "b": gb}
