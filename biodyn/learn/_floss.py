r"""Gradient flossing: the leading Lyapunov exponents as a differentiable loss (Engelken 2023).

For a network :math:`s_{t+1} = F_\theta(s_t, x_t)` driven by a task's input, the first
:math:`K` Lyapunov exponents are estimated by the QR method (Benettin et al. 1980; Shimada &
Nagashima 1979) over one input sequence: from an orthonormal :math:`Q_0\in\mathbb R^{n\times K}`,

.. math::

    Q_{t+1}R_{t+1} = D_t Q_t,\qquad D_t = \partial F_\theta/\partial s\,(s_t, x_t),\qquad
    \hat\lambda_i = \frac{1}{T_m}\sum_{t\in\text{measured}} \log\lvert(R_t)_{ii}\rvert ,

re-orthonormalising at every step (``jax.numpy.linalg.qr``; :math:`D_tQ_t` by forward-mode
Jacobian-vector products, never the full :math:`D_t`), after ``transient`` steps that are
evolved (state and :math:`Q`) but not counted, so that :math:`Q` aligns with the leading
Lyapunov vectors. Averaged over the sequences of a minibatch (a longer drive), the estimates
:math:`\bar\lambda_i` give the flossing loss

.. math::

    L_\text{floss}(\theta) = \frac1K\sum_{i=1}^K \bar\lambda_i^2 ,

differentiated by JAX's reverse mode *through* the QR steps (the derivative of the QR
factorisation is JAX's). Minimising it moves the first :math:`K`
exponents to zero: :math:`K` directions of the tangent dynamics neither grow nor shrink, so
the product of Jacobians that backprop through time multiplies has :math:`K` singular values
near one over any horizon and gradients carry over long delays (Engelken 2023, who sums
rather than averages the squares; the mean keeps ``floss_weight`` comparable across K).

Which gradient. The exponents depend on :math:`\theta` through the Jacobians :math:`D_t`
directly and through the states :math:`s_t` they are taken at. By default the gradient is
the full derivative (through the states too, as Engelken's code computes it). With
``fixed_trajectory`` (``--floss-fixed-trajectory``) it is taken *along the fixed
trajectory*: through every :math:`D_t = \partial F_\theta/\partial s(s_t, x_t)` as a function of :math:`\theta` at the given states :math:`s_t`, and through every
QR step, but not through the states' own dependence on :math:`\theta`. Both are measured
choices. In a strongly chaotic network backprop through the state trajectory of a time
average grows like :math:`e^{\lambda_1 T}` (Lea, Allen & Haine 2000) — for a g = 3 tanh RNN
with N = 32 over 60 steps its norm was 3·10³–7·10⁴ for a loss of 0.01, against 0.1 along the
fixed trajectory, and Adam or gradient descent on it did not bring :math:`\lambda_1` down
in 300 updates where the fixed-trajectory gradient did in ~150. In a network that is not
chaotic (g = 1 under the task's input, :math:`\lambda_1 \approx -0.6`) the full gradient is
well behaved and flosses better: K = 8 exponents of a 32-unit RNN reached [-0.0002, -0.034]
(numpy spectrum) after 20 flossing epochs, against [+0.03, -0.16] after 40 epochs along the
fixed trajectory (``examples/gradient_flossing.py``). The tests check both gradients against
finite differences.

Schedule (Engelken 2023, §4: flossing before training and intermittently during it):
``floss_epochs`` passes over the training set minimising :math:`w L_\text{floss}` alone
before training (recorded as epochs :math:`-E_f+1,\dots,0`; epoch :math:`-E_f` is the
untrained network), and, during training, every ``floss_every``-th epoch's updates minimise
:math:`L_\text{task} + w L_\text{floss}` on the same minibatch.

References
----------
Engelken R (2023) Gradient flossing: improving gradient descent through dynamic control of
Jacobians. NeurIPS 36. arXiv:2312.17306
Lea DJ, Allen MR, Haine TWN (2000) Sensitivity analysis of the climate of a chaotic system.
Tellus A 52:523-532. doi:10.3402/tellusa.v52i5.12283
Benettin G, Galgani L, Giorgilli A, Strelcyn J-M (1980) Lyapunov characteristic exponents for
smooth dynamical systems and for Hamiltonian systems; a method for computing all of them.
Meccanica 15:9-20. doi:10.1007/BF02128236
Shimada I, Nagashima T (1979) A numerical approach to ergodic problem of dissipative
dynamical systems. Prog Theor Phys 61:1605-1616. doi:10.1143/PTP.61.1605
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import SpecError

__all__ = ["qr_exponents", "floss_functions", "floss_q0", "check_floss"]


def _jax():
    from ._train import _jax as get

    return get()


def qr_exponents(jnp, jax, kind, nonlinearity, p, x, Q0, transient=0, state_transient=0, p_state=None):
    r"""The QR estimate of the first :math:`K` Lyapunov exponents (per step) of the cell
    ``kind`` with parameters ``p`` (:class:`biodyn.ann.RNN`'s keys ``cell.*``) driven by one
    input sequence ``x`` ``(T, I)`` from the zero state, :math:`K` = ``Q0.shape[1]``.

    The first ``state_transient`` steps move the state alone; the next ``transient`` steps
    move the state and the tangent vectors (QR at every step, nothing counted); the remaining
    :math:`T_m = T -` ``state_transient`` :math:`-` ``transient`` steps are measured. With
    :func:`biodyn.dynamics.lyapunov_spectrum`'s ``transient``, ``tangent_transient``, its
    initial tangent vectors and the same drive, the two give the same numbers. Differentiable
    in ``p`` (and in ``x``) with JAX. ``p_state`` (default ``p``): other parameters for the
    state trajectory :math:`s_{t+1} = F(s_t, x_t)` only, the tangent maps :math:`D_t` being
    those of ``p`` at these states; ``jax.lax.stop_gradient(p)`` there gives the gradient
    along a fixed trajectory. Pure function of JAX arrays; call it inside
    ``jax.enable_x64(True)`` for float64.
    """
    from ..dynamics import cell_step

    n = Q0.shape[0]

    def step(q, s, xt):
        return cell_step(jnp, kind, q["cell.W_ih"], q["cell.W_hh"], q["cell.b_ih"], q["cell.b_hh"], s, xt,
                         nonlinearity)

    moving = p if p_state is None else p_state

    def state_only(s, xt):
        return step(moving, s, xt), None

    def tangent(carry, xt):
        s, Q = carry
        s2 = step(moving, s, xt)
        _, jvp = jax.linearize(lambda s_: step(p, s_, xt), s)
        Q2, R = jnp.linalg.qr(jax.vmap(jvp, in_axes=1, out_axes=1)(Q))
        return (s2, Q2), jnp.log(jnp.abs(jnp.diagonal(R)))

    s = jnp.zeros(n, dtype=Q0.dtype)
    a, b = int(state_transient), int(state_transient) + int(transient)
    if a:
        s, _ = jax.lax.scan(state_only, s, x[:a])
    carry = (s, Q0)
    if b > a:
        carry, _ = jax.lax.scan(tangent, carry, x[a:b])
    _, logs = jax.lax.scan(tangent, carry, x[b:])
    return jnp.mean(logs, axis=0)


def floss_q0(n, k, seed):
    """The initial tangent vectors of flossing: the Q factor of a ``(n, k)`` standard normal
    matrix drawn by ``numpy.random.default_rng([seed, 3])`` (orthonormal columns)."""
    return np.linalg.qr(np.random.default_rng([int(seed), 3]).standard_normal((int(n), int(k))))[0]


@functools.lru_cache(maxsize=32)
def floss_functions(kind, nonlinearity, transient, through_state=True):
    """Jitted ``(exponents(p, x, Q0), loss(p, x, Q0), grad(p, x, Q0))`` over a batch of input
    sequences ``x`` ``(B, T, I)``: the batch-mean QR exponents :math:`\\bar\\lambda` (``(K,)``),
    :math:`L_\\text{floss} = \\operatorname{mean}_i \\bar\\lambda_i^2` and its gradient in ``p``
    (a dict like ``p``; zero for the readout). With ``through_state=False`` the gradient does
    not follow the state trajectory (``p_state`` = ``stop_gradient(p)`` in :func:`qr_exponents`):
    it is the derivative of the exponents along the *fixed* trajectory, through the Jacobians
    and the QR steps. Call inside ``jax.enable_x64(True)``."""
    jax, jnp = _jax()

    def exponents(p, x, Q0):
        ps = None if through_state else jax.lax.stop_gradient(p)
        one = lambda xi: qr_exponents(jnp, jax, kind, nonlinearity, p, xi, Q0, transient, p_state=ps)  # noqa: E731
        return jnp.mean(jax.vmap(one)(x), axis=0)

    def loss(p, x, Q0):
        return jnp.mean(exponents(p, x, Q0) ** 2)

    return jax.jit(exponents), jax.jit(loss), jax.jit(jax.grad(loss))


def _flag(name):
    """How an error names an option: by its keyword argument (``floss_epochs``); the command
    line names its flag instead (``--floss-epochs``, :func:`biodyn.cli.keyword_errors_as_flags`)."""
    return name


def check_floss(floss, floss_weight, floss_epochs, floss_every, floss_transient, floss_fixed_trajectory=False, *,
                net, hidden, n_steps):
    """Validate the flossing options (before anything is trained) and return the ``floss``
    part of the run's configuration, or ``None`` without ``floss``. One :class:`SpecError`
    naming the keyword argument, what was expected and what was found."""
    def integer(value, name, low):
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
        if not ok:
            raise SpecError("<arguments>", _flag(name), f"an integer >= {low}", repr(value))
        return int(value)

    given = {k: v for k, v in (("floss_weight", floss_weight), ("floss_epochs", floss_epochs),
                               ("floss_every", floss_every), ("floss_transient", floss_transient))
             if v is not None}
    if floss_fixed_trajectory:
        given["floss_fixed_trajectory"] = True
    if floss is None:
        if given:
            name = next(iter(given))
            raise SpecError("<arguments>", _flag(name), "floss=K (the number of exponents to floss) with it",
                            f"{_flag(name)}={given[name]!r} without floss=K", "add floss=K, e.g. floss=4")
        return None
    n_state = 2 * int(hidden) if net == "lstm" else int(hidden)
    k = integer(floss, "floss", 1)
    if k > n_state:
        raise SpecError("<arguments>", "floss", f"a number of exponents between 1 and the state dimension "
                        f"{n_state} ({'2 x ' if net == 'lstm' else ''}hidden={hidden})", repr(floss))
    weight = 1.0 if floss_weight is None else floss_weight
    try:
        ok = float(weight) == weight and np.isfinite(weight) and weight > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SpecError("<arguments>", "floss_weight", "a positive number", repr(floss_weight))
    epochs = integer(0 if floss_epochs is None else floss_epochs, "floss_epochs", 0)
    every = None if floss_every is None else integer(floss_every, "floss_every", 1)
    if epochs == 0 and every is None:
        raise SpecError("<arguments>", "floss", "a schedule: floss_epochs=E (flossing before training) "
                        "and/or floss_every=M (during every M-th training epoch)",
                        f"floss={k} with neither", "e.g. floss_epochs=20, as Engelken (2023)")
    transient = n_steps // 4 if floss_transient is None else integer(floss_transient, "floss_transient", 0)
    if transient >= n_steps:
        raise SpecError("<arguments>", "floss_transient", f"fewer steps than the task's sequences "
                        f"(n_steps = {n_steps})", repr(floss_transient))
    return {"k": k, "weight": float(weight), "epochs": epochs, "every": every, "transient": transient,
            "measured_steps": n_steps - transient, "through_state": not floss_fixed_trajectory,
            "loss": "mean_i lambda_i^2 over the first k exponents, lambda = batch mean of QR estimates",
            "method": "QR at every step (jax.numpy.linalg.qr), log|diag R| averaged over the measured "
                      "steps of each minibatch sequence from the zero state, differentiated through the QR "
                      "steps and the Jacobians" + (" and the state trajectory" if not floss_fixed_trajectory else
                                                   " along the fixed state trajectory") + " (Engelken 2023)",
            "q0": "Q of a standard normal (n, k) matrix, numpy.random.default_rng([seed, 3])",
            "schedule": "floss-only updates for `epochs` passes before training (epochs -epochs+1..0), then "
                        "task loss + weight * floss loss in every `every`-th training epoch"}
