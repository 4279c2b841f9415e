r"""Reward-modulated STDP (a three-factor rule) from the catalog's ``rstdp`` synapse spec.

**The rule** (Izhikevich 2007, Eqs. 1-2; the catalog spec ``models/synapses/rstdp.toml``, its
parameter set with units): every synapse :math:`p \to j` (an input or a network neuron
:math:`p` onto neuron :math:`j`) carries an eligibility trace :math:`c_{pj}` tagged by pair STDP
and decaying with :math:`\tau_c`; a reward event raises dopamine :math:`d` (decay
:math:`\tau_d`) and the weight follows :math:`dw/dt = c\,d/\tau_s`. With the pre- and
postsynaptic traces :math:`a^{pre}` (:math:`\tau_+`) and :math:`a^{post}` (:math:`\tau_-`), a
presynaptic spike adds :math:`-A_-\,a^{post}` to :math:`c`, a postsynaptic spike
:math:`A_+\,a^{pre}`; within a time step the presynaptic pathway runs first (a coinciding pair
counts as pre-before-post), traces are incremented (``all_to_all``) or set to 1 (``nearest``)
after their pathway, as the spec's pairing variant says. For spikes at steps
:math:`t = 0..T-1` (time :math:`t\,dt`) and the reward at :math:`t_R = T\,dt`:

.. math::
    c_{pj}(t_R) = \sum_t e^{-(t_R - t\,dt)/\tau_c}
        \left[A_+\, z_j^t\, a^{pre}_p(t) - A_-\, x_p^t\, a^{post}_j(t^-)\right],

:math:`a^{pre}(t)` including a presynaptic spike at :math:`t`, :math:`a^{post}(t^-)` excluding
a postsynaptic one. **Reward.** Each trial :math:`b` (one sequence, the network starting from
rest with :math:`c = d = 0`) ends with one dopamine event of size
:math:`d_{release}\,(R_b - \bar R)`: the spec's release scaled by the reward prediction error
(Frémaux & Gerstner 2016, Sec. 4: the success signal must be the reward minus its expectation,
or the rule learns the mean reward's correlations, not the task). :math:`R_b = +1` if the trial
is classified correctly, :math:`-1` otherwise (tasks scored by accuracy), or :math:`R_b = -`
the trial's loss (other tasks). :math:`\bar R` is a running average over trials,
:math:`\bar R \leftarrow \bar R + (R_b - \bar R)/n_R`, :math:`n_R = 20` trials, starting at 0
(Frémaux, Sprekeler & Gerstner 2010); within a minibatch the trials are taken in order, each with
the baseline of the trials before it. The weight change is the integral of :math:`c\,d/\tau_s`
after the reward (the trial's dopamine fully spent before the next trial; no clipping: the
network's weights are signed and in ``weight_unit``, so the spec's bounds, in Izhikevich's mV,
are not applied):

.. math::
    \Delta W_{pj} = \frac{1}{B}\sum_b d_{release}\,(R_b - \bar R_b)\,
        \frac{\tau_{cd}}{\tau_s}\,c^{(b)}_{pj}(t_R),\qquad
        \frac{1}{\tau_{cd}} = \frac{1}{\tau_c} + \frac{1}{\tau_d},

the mean over the minibatch of the trials' changes (the catalog rule with its ``lr`` = 1). The
optimiser receives :math:`-\Delta W` in place of a gradient: with ``--optimizer sgd`` the update
is exactly ``lr`` :math:`\times\,\Delta W` (one ``lr`` for the rule and the read-out, whose
scales differ by orders of magnitude: :math:`\tau_{cd}/\tau_s \approx 167` times the pair
count); with the default ``adam`` each weight's step is the rule's change divided by its running
RMS (Kingma & Ba 2015) — the sign and the relative history of the rule per synapse, not its
magnitude across synapses. Decision: ``adam`` stays the default, as for the other learners, so
that one ``--lr`` serves both parts. It is applied to :math:`W_{in}` and :math:`W_{rec}` (no self-connections).
**Read-out.** The leaky read-out :math:`W_{out}, b` learns by the delta rule: the gradient of the
task's loss with respect to the read-out only (the product of the output error and the filtered
spike trains, local to the read-out synapse), as in e-prop's read-out (Bellec et al. 2020).
No gradient flows into the network: the rule sees only spikes and the reward.

The identity with the catalog: :func:`weight_change` equals, to rounding, the Brian2 simulation of
``biodyn.build.synapses("rstdp")`` with the same spikes and a ``biodyn.build.modulator`` event of
:math:`d_{release}(R - \bar R)` at :math:`t_R`, the weight read as its exact limit
:math:`w + c\,d\,\tau_{cd}/\tau_s` (tested).

References
----------
Izhikevich EM (2007) Solving the distal reward problem through linkage of STDP and dopamine
signaling. Cereb Cortex 17:2443-2452. doi:10.1093/cercor/bhl152
Frémaux N, Gerstner W (2016) Neuromodulated spike-timing-dependent plasticity, and theory of
three-factor learning rules. Front Neural Circuits 9:85. doi:10.3389/fncir.2015.00085
Frémaux N, Sprekeler H, Gerstner W (2010) Functional requirements for reward-modulated
spike-timing-dependent plasticity. J Neurosci 30:13326-13337. doi:10.1523/JNEUROSCI.6249-09.2010
Bellec G et al. (2020) A solution to the learning dilemma for recurrent networks of spiking
neurons. Nat Commun 11:3625. doi:10.1038/s41467-020-17236-y
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["RstdpRule", "read_rule", "eligibility", "weight_change", "trial_rewards", "Baseline"]

BASELINE_TRIALS = 20


@dataclass(frozen=True)
class RstdpRule:
    """The rule's parameters in SI (seconds; the rest dimensionless) and its pairing variant."""

    tau_plus: float
    tau_minus: float
    A_plus: float
    A_minus: float
    tau_c: float
    tau_d: float
    tau_s: float
    d_release: float
    pairing: str
    parameter_set: str | None

    @property
    def gain(self):
        """:math:`\\tau_{cd}/\\tau_s`: the weight change per unit :math:`c\\,d` at the reward."""
        return 1.0 / (1.0 / self.tau_c + 1.0 / self.tau_d) / self.tau_s


_PRE = re.compile(r"^\s*c\s*\+=\s*-\s*A_minus\s*\*\s*apost\s*$")
_POST = re.compile(r"^\s*c\s*\+=\s*A_plus\s*\*\s*apre\s*$")
_MOD = re.compile(r"^\s*d\s*\+=\s*d_release\s*$")


def read_rule(synapse="rstdp", params=None, variants=None):
    """The rule of a catalog synapse spec, resolved with a parameter set (``params``) and variants.

    The spec's event code must be the pair-STDP eligibility rule with a dopamine trace (the
    statements of ``rstdp.toml``: ``c += -A_minus*apost`` on a presynaptic spike,
    ``c += A_plus*apre`` on a postsynaptic one, ``d += d_release`` on a modulator event, the
    traces' ``+= 1`` or ``= 1``); otherwise a :class:`~biodyn.errors.SpecError` names the block.
    """
    from .. import build
    from ..errors import SpecError

    r = build.resolve(synapse, params, variants=variants)
    file = r.spec.file
    code = {k: [ln.strip() for ln in (r.code.get(k) or "").splitlines() if ln.strip()]
            for k in ("on_pre", "on_post", "on_modulator")}

    def need(block, pattern, what):
        if not any(pattern.match(ln) for ln in code[block]):
            raise SpecError(file, block, f"the R-STDP statement {what} (the rstdp learner reads this rule)",
                            "; ".join(code[block]) or "nothing")

    need("on_pre", _PRE, "c += -A_minus*apost")
    need("on_post", _POST, "c += A_plus*apre")
    need("on_modulator", _MOD, "d += d_release")
    kinds = set()
    for block, trace in (("on_pre", "apre"), ("on_post", "apost")):
        m = [re.match(rf"^{trace}\s*(\+?=)\s*1$", ln) for ln in code[block]]
        m = [x.group(1) for x in m if x]
        if len(m) != 1:
            raise SpecError(file, block, f"one trace statement '{trace} += 1' or '{trace} = 1'",
                            "; ".join(code[block]))
        kinds.add(m[0])
    if len(kinds) != 1:
        raise SpecError(file, "variants.pairing", "the same pairing for both traces", repr(sorted(kinds)))
    ns = r.namespace
    return RstdpRule(*(float(ns[k]) for k in ("tau_plus", "tau_minus", "A_plus", "A_minus", "tau_c", "tau_d",
                                             "tau_s", "d_release")),
                     pairing="all_to_all" if kinds == {"+="} else "nearest", parameter_set=r.parameter_set)


def _traces(spikes, decay, nearest, include_now):
    """Trace before (``include_now=False``) or after each step's spikes, ``spikes`` ``(T, ...)``."""
    import jax
    import jax.numpy as jnp

    def body(a, s):
        a = a * decay
        after = jnp.where(s > 0, 1.0, a) if nearest else a + s
        return after, (after if include_now else a)

    _, out = jax.lax.scan(body, jnp.zeros(spikes.shape[1:]), spikes)
    return out


def eligibility(rule, pre, post, dt):
    """:math:`c^{(b)}(t_R)` ``(B, P, H)`` for presynaptic spikes ``pre`` ``(T, B, P)`` and postsynaptic
    ``post`` ``(T, B, H)`` (0/1 per step ``dt``), the reward at :math:`t_R = T\\,dt`."""
    import jax.numpy as jnp

    T = pre.shape[0]
    nearest = rule.pairing == "nearest"
    a_pre = _traces(pre, np.exp(-dt / rule.tau_plus), nearest, True)
    a_post = _traces(post, np.exp(-dt / rule.tau_minus), nearest, False)
    k = jnp.exp(-(T - jnp.arange(T)) * dt / rule.tau_c)
    return (rule.A_plus * jnp.einsum("t,tbp,tbh->bph", k, a_pre, post)
            - rule.A_minus * jnp.einsum("t,tbp,tbh->bph", k, pre, a_post))


def weight_change(rule, pre, post, rpe, dt):
    """:math:`\\Delta W` ``(P, H)``: the mean over trials of :math:`d_{release}\\,\\delta_b\\,
    (\\tau_{cd}/\\tau_s)\\, c^{(b)}(t_R)` for reward prediction errors ``rpe`` ``(B,)``."""
    import jax.numpy as jnp

    c = eligibility(rule, pre, post, dt)
    return rule.d_release * rule.gain * jnp.einsum("b,bph->ph", jnp.asarray(rpe), c) / pre.shape[1]


def trial_rewards(metric, y, t, mask, loss):
    """Per-trial reward ``(B,)``: +1 correct / -1 wrong for accuracy tasks, else minus the trial's loss."""
    y = np.asarray(y, float)
    if metric == "accuracy":
        return np.where(np.argmax(y, axis=-1) == np.asarray(t).astype(int), 1.0, -1.0)
    if loss == "cross_entropy":
        z = y - y.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        return np.take_along_axis(logp, np.asarray(t).astype(int)[:, None], axis=-1)[:, 0]
    m = np.asarray(mask, float)
    if m.ndim == 1 and y.ndim == 3:
        m = np.ones(y.shape[:2])
    err = ((y - np.asarray(t, float)) ** 2).mean(axis=-1)
    err = err.reshape(len(y), -1)
    m = m.reshape(len(y), -1) if m.size == err.size else np.ones_like(err)
    return -(err * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1)


class Baseline:
    """Running average of the reward over trials, :math:`\\bar R \\leftarrow \\bar R + (R - \\bar R)/n`."""

    def __init__(self, n=BASELINE_TRIALS, value=0.0):
        self.n, self.value = n, float(value)

    def errors(self, rewards, update=True):
        """Reward prediction errors of trials taken in order (each with the baseline before it)."""
        v, out = self.value, []
        for r in np.asarray(rewards, float):
            out.append(r - v)
            v += (r - v) / self.n
        if update:
            self.value = v
        return np.asarray(out)


class RstdpLearner:
    """The ``rstdp`` learner of :func:`biodyn.learn._snn.train_snn`: ``grad(p, x, t, mask)`` returns
    the negative update (``-ΔW`` for ``W_in``, ``W_rec``; the read-out's loss gradient for ``W_out``,
    ``b``) so that the optimiser's step applies the rule. Call inside ``jax.enable_x64(True)``."""

    def __init__(self, reading, task, *, steps_per_sample, tau_out, weight_unit, shape, width, rule_params=None):
        import jax
        import jax.numpy as jnp

        from ._snn import snn_functions

        self.rule = read_rule("rstdp", rule_params)
        self.task, self.baseline, dt = task, Baseline(), reading.dt
        forward, _, loss_of = snn_functions(reading, task.readout, task.loss, steps_per_sample, tau_out, weight_unit,
                                            shape, width)
        rule = self.rule

        def run(p, x, t, mask):
            y, s = forward(p, x)

            def readout_loss(W_out, b):
                return loss_of(forward.readout(s, W_out, b), t, mask)

            return y, s, jax.grad(readout_loss, argnums=(0, 1))(p["W_out"], p["b"])

        def change(x, s, rpe):
            pre = jnp.concatenate([jnp.swapaxes(x, 0, 1), s], axis=2)  # (T, B, M + H)
            return weight_change(rule, pre, s, rpe, dt)

        self._run, self._change = jax.jit(run), jax.jit(change)

    def describe(self):
        r = self.rule
        return {"synapse": "rstdp", "parameter_set": r.parameter_set, "pairing": r.pairing,
                "reward": "+1 correct / -1 wrong" if self.task.metric == "accuracy" else "minus the trial's loss",
                "baseline": f"running average over {self.baseline.n} trials", "readout": "delta rule",
                "values_si": {k: getattr(r, k) for k in ("tau_plus", "tau_minus", "A_plus", "A_minus", "tau_c",
                                                         "tau_d", "tau_s", "d_release")}}

    def grad(self, p, x, t, mask, update=True):
        import jax.numpy as jnp

        y, s, (g_out, g_b) = self._run(p, x, t, mask)
        rewards = trial_rewards(self.task.metric, np.asarray(y), t, mask, self.task.loss)
        rpe = self.baseline.errors(rewards, update=update)
        dW = self._change(jnp.asarray(x), s, jnp.asarray(rpe))
        M, H = p["W_in"].shape
        return {"W_in": -dW[:M], "W_rec": -dW[M:] * (1.0 - jnp.eye(H)), "W_out": g_out, "b": g_b}
