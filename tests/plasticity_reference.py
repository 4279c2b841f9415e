"""Independent pure-numpy references for the plasticity rules of biodyn's catalog.

Nothing here reads a spec or shares code with biodyn: each rule is written out from its
paper, in a different formulation where one exists (the spike-pair rules sum explicit pair
terms exp(-|dt|/tau) over the partner spikes that each pairing scheme admits, instead of
running traces). Times are in seconds, on the simulation grid; spikes are processed in
Brian2's order: by time, and within a time step presynaptic before postsynaptic before
modulator events.

Also here: the scripted spike patterns the tests run (single pairs at both orders,
pre-post-pre and post-pre-post triplets, quadruplets, simultaneous spikes, bursts, random
Poisson trains).
"""

from __future__ import annotations

import math

import numpy as np

PRE, POST, MOD = 0, 1, 2


# --------------------------------------------------------------------------
# Spike patterns
# --------------------------------------------------------------------------


def on_grid(times_ms, dt_ms):
    """Times (ms) rounded to the grid, in seconds, as Brian2 computes t = step*dt."""
    steps = np.round(np.asarray(times_ms, float) / dt_ms).astype(np.int64)
    return np.unique(steps) * (dt_ms * 1e-3)


def scripted_patterns(dt_ms=0.1, seed=7, poisson_ms=600.0, rate_hz=25.0):
    """Named (pre, post) spike trains in seconds on the grid.

    Every pattern starts after 5 ms and ends before 400 ms, except the Poisson pairs
    (``poisson_ms`` long).
    """
    rng = np.random.default_rng(seed)
    p = {
        "pair_pre_post": ([10], [20]),
        "pair_post_pre": ([20], [10]),
        "pair_pre_post_short": ([10], [11]),
        "simultaneous": ([10], [10]),
        "simultaneous_in_train": ([10, 20, 40], [20, 30, 40]),
        "pre_post_pre": ([10, 20], [15]),
        "post_pre_post": ([15], [10, 20]),
        "triplet_5_m15": ([10, 30], [15]),
        "quadruplet_post_pre_pre_post": ([15, 25], [10, 30]),
        "quadruplet_pre_post_post_pre": ([10, 30], [15, 25]),
        "burst_pre_post_50hz": ([10 + 20 * k for k in range(5)], [16 + 20 * k for k in range(5)]),
        "burst_post_pre_40hz": ([16 + 25 * k for k in range(5)], [10 + 25 * k for k in range(5)]),
        "post_burst_then_pre": ([60], [10, 12, 14, 16]),
        "pre_burst_then_post": ([10, 12, 14, 16], [60]),
        "only_pre": ([10, 30, 50], []),
        "only_post": ([], [10, 30, 50]),
    }
    out = {k: (on_grid(a, dt_ms), on_grid(b, dt_ms)) for k, (a, b) in p.items()}
    for k in range(3):
        out[f"poisson_{k}"] = (poisson(rate_hz, poisson_ms, dt_ms, rng),
                               poisson(rate_hz, poisson_ms, dt_ms, rng))
    return out


def poisson(rate_hz, duration_ms, dt_ms, rng, start_ms=5.0):
    """Bernoulli-per-step Poisson train (seconds) on the grid: one spike per step at most."""
    n = int(round((duration_ms - start_ms) / dt_ms))
    steps = np.nonzero(rng.random(n) < rate_hz * dt_ms * 1e-3)[0] + int(round(start_ms / dt_ms))
    return steps * (dt_ms * 1e-3)


def events(pre, post, mod=()):
    """Merged events ``[(t, kind), ...]`` in Brian2's processing order."""
    ev = [(float(t), PRE) for t in pre] + [(float(t), POST) for t in post] + \
         [(float(t), MOD) for t in mod]
    return sorted(ev, key=lambda e: (round(e[0] * 1e7), e[1]))


# --------------------------------------------------------------------------
# Pair STDP: explicit pair sums (Morrison, Diesmann & Gerstner 2008, Fig. 7)
# --------------------------------------------------------------------------


def _weight_factors(weight, w, w_min, w_max, mu_plus, mu_minus):
    span = w_max - w_min
    wt = (w - w_min) / span
    if weight == "additive":
        return span, span
    if weight == "multiplicative":
        return w_max - w, w - w_min
    if weight == "gutig":
        return span * (1.0 - wt) ** mu_plus, span * wt ** mu_minus
    if weight == "van_rossum":
        return span, w - w_min
    raise ValueError(weight)


def pair_stdp(pre, post, *, pairing, weight, tau_plus, tau_minus, A_plus, A_minus, w_min, w_max,
              w0, mu_plus=0.0, mu_minus=0.0, lr=1.0):
    """Final weight of one synapse under the pair rule; every pair term written out.

    Pairing schemes, on the merged event sequence (pre before post within a step):

    * ``all_to_all``: a post spike pairs with every earlier pre spike, a pre spike with
      every earlier post spike;
    * ``nearest``: with the last earlier spike of the other side;
    * ``nearest_pre_centred``: a pre spike depresses with the last earlier post spike; a
      post spike potentiates with every pre spike since the previous post spike;
    * ``nearest_restricted``: a spike pairs with the last earlier spike of the other side
      only if no spike of its own side came in between.
    """
    w = float(w0)
    seq = events(pre, post)
    for n, (t, kind) in enumerate(seq):
        earlier = seq[:n]
        other = POST if kind == PRE else PRE
        partners = [s for s, k in earlier if k == other]
        tau = tau_minus if kind == PRE else tau_plus
        if pairing == "all_to_all":
            chosen = partners
        elif pairing == "nearest" or (pairing == "nearest_pre_centred" and kind == PRE):
            chosen = partners[-1:]
        elif pairing == "nearest_pre_centred":  # post spike: all pre since the previous post
            last_post = max([i for i, (_, k) in enumerate(earlier) if k == POST], default=-1)
            chosen = [s for i, (s, k) in enumerate(earlier) if k == PRE and i > last_post]
        elif pairing == "nearest_restricted":
            own_last = max([i for i, (_, k) in enumerate(earlier) if k == kind], default=-1)
            other_last = max([i for i, (_, k) in enumerate(earlier) if k == other], default=-1)
            chosen = [earlier[other_last][0]] if other_last > own_last else []
        else:
            raise ValueError(pairing)
        total = sum(math.exp(-(t - s) / tau) for s in chosen)
        f_plus, f_minus = _weight_factors(weight, w, w_min, w_max, mu_plus, mu_minus)
        if kind == POST:
            w = w + lr * A_plus * f_plus * total
        else:
            w = w - lr * A_minus * f_minus * total
        w = min(max(w, w_min), w_max)
    return w


# --------------------------------------------------------------------------
# Triplet STDP (Pfister & Gerstner 2006)
# --------------------------------------------------------------------------


def triplet_stdp(pre, post, *, pairing, tau_plus, tau_x, tau_minus, tau_y, A2_plus, A3_plus,
                 A2_minus, A3_minus, w_min, w_max, w0, lr=1.0):
    """Final weight under the triplet rule, detectors as sums over earlier spikes.

    At a post spike: w += r1*(A2+ + A3+*o2) with r1 = sum over earlier pre spikes of
    exp(-dt/tau_plus) and o2 = sum over *earlier* post spikes of exp(-dt/tau_y) (the
    spike's own contribution excluded); at a pre spike: w -= o1*(A2- + A3-*r2). Nearest:
    only the most recent earlier spike of each kind counts.
    """
    w = float(w0)
    seq = events(pre, post)
    for n, (t, kind) in enumerate(seq):
        earlier = seq[:n]
        pres = [s for s, k in earlier if k == PRE]
        posts = [s for s, k in earlier if k == POST]
        if pairing == "nearest":
            pres, posts = pres[-1:], posts[-1:]

        def det(times, tau):
            return sum(math.exp(-(t - s) / tau) for s in times)

        if kind == POST:
            w = w + lr * det(pres, tau_plus) * (A2_plus + A3_plus * det(posts, tau_y))
        else:
            w = w - lr * det(posts, tau_minus) * (A2_minus + A3_minus * det(pres, tau_x))
        w = min(max(w, w_min), w_max)
    return w


# --------------------------------------------------------------------------
# Inhibitory STDP (Vogels et al. 2011)
# --------------------------------------------------------------------------


def vogels(pre, post, *, tau, eta, rho0, w_min, w_max, w0, lr=1.0):
    """Final weight: pre spike w += eta*(sum_post exp - 2 rho0 tau), post w += eta*sum_pre exp."""
    w = float(w0)
    seq = events(pre, post)
    for n, (t, kind) in enumerate(seq):
        earlier = seq[:n]
        if kind == PRE:
            s = sum(math.exp(-(t - u) / tau) for u, k in earlier if k == POST)
            w = w + lr * eta * (s - 2 * rho0 * tau)
        else:
            s = sum(math.exp(-(t - u) / tau) for u, k in earlier if k == PRE)
            w = w + lr * eta * s
        w = min(max(w, w_min), w_max)
    return w


# --------------------------------------------------------------------------
# Reward-modulated STDP (Izhikevich 2007)
# --------------------------------------------------------------------------


def rstdp(pre, post, reward, *, pairing, tau_plus, tau_minus, A_plus, A_minus, tau_c, tau_d,
          tau_s, d_release, w_min, w_max, w0, lr=1.0, t_end=None):
    """(w, c, d) after the last event (or at ``t_end``), with dw/dt = c*d/tau_s.

    c(t) and d(t) are kept as lists of jumps (c is a sum of pair terms, each decaying
    with tau_c; d a sum of releases decaying with tau_d). Over an interval [a, b] with no
    event, the weight gains the exact integral of c*d/tau_s, computed term by term:
    sum_jk C_j D_k exp(-(a-t_j)/tau_c - (a-t_k)/tau_d) * tau_cd*(1 - exp(-(b-a)/tau_cd)),
    and is clipped at the end (c*d keeps its sign in between).
    """
    w = float(w0)
    cj, dk = [], []  # (time, jump)
    tau_cd = 1.0 / (1.0 / tau_c + 1.0 / tau_d)
    seq = events(pre, post, reward)
    if t_end is not None:
        seq = seq + [(float(t_end), 3)]
    last = 0.0
    for n, (t, kind) in enumerate(seq):
        if t > last:
            gain = 0.0
            for tj, cjump in cj:
                for tk, djump in dk:
                    gain += cjump * djump * math.exp(-(last - tj) / tau_c - (last - tk) / tau_d)
            w = w + lr * gain / tau_s * tau_cd * (1.0 - math.exp(-(t - last) / tau_cd))
            w = min(max(w, w_min), w_max)
            last = t
        earlier = [e for e in seq[:n] if e[1] in (PRE, POST)]
        if kind == PRE:
            posts = [s for s, k in earlier if k == POST]
            posts = posts[-1:] if pairing == "nearest" else posts
            cj.append((t, -A_minus * sum(math.exp(-(t - s) / tau_minus) for s in posts)))
        elif kind == POST:
            pres = [s for s, k in earlier if k == PRE]
            pres = pres[-1:] if pairing == "nearest" else pres
            cj.append((t, A_plus * sum(math.exp(-(t - s) / tau_plus) for s in pres)))
        elif kind == MOD:
            dk.append((t, d_release))
    c = sum(j * math.exp(-(last - s) / tau_c) for s, j in cj)
    d = sum(j * math.exp(-(last - s) / tau_d) for s, j in dk)
    return w, c, d


# --------------------------------------------------------------------------
# Short-term plasticity (Tsodyks & Markram)
# --------------------------------------------------------------------------


def tsodyks_markram(pre, *, U, tau_rec, tau_facil=None):
    """Released fraction r_n of every presynaptic spike (Maass & Markram 2002 recursion).

    ``tau_facil=None``: depressing (u_n = U); otherwise u_n = u_{n-1}^+ e^{-D/tau_f}
    + U (1 - u_{n-1}^+ e^{-D/tau_f}). x_n = 1 - (1 - x_{n-1}(1 - u_{n-1})) e^{-D/tau_rec}.
    """
    r = []
    x, u_used, last = 1.0, 0.0, None
    for t in pre:
        if last is None:
            x_now = 1.0
            u_dec = 0.0
        else:
            D = t - last
            x_now = 1.0 - (1.0 - x) * math.exp(-D / tau_rec)
            u_dec = 0.0 if tau_facil is None else u_used * math.exp(-D / tau_facil)
        u_now = U if tau_facil is None else u_dec + U * (1.0 - u_dec)
        r.append(u_now * x_now)
        x = x_now * (1.0 - u_now)
        u_used = u_now
        last = t
    return np.array(r)


# --------------------------------------------------------------------------
# Clopath et al. (2010): the rule on given postsynaptic traces, and the neuron
# --------------------------------------------------------------------------


def clopath_rule(pre_steps, V, UM, UP, UH, *, dt, A_LTD, A_LTP, theta_minus, theta_plus, tau_x,
                 u_ref2, w_min, w_max, w0, homeostasis=True, lr=1.0):
    """Weight after ``len(V)`` steps of the voltage-based rule, Euler at ``dt`` (SI units).

    ``V[n], UM[n], UP[n], UH[n]``: the postsynaptic v, u_minus_read, u_plus_read (volt)
    and u_homeo (volt**2) as the synapse reads them in step n. Step n: the LTP increment
    uses xbar before the step's update and decay; then a presynaptic spike of step n
    adds 1/tau_x to xbar and applies LTD.
    """
    w = float(w0)
    xbar = 0.0
    spikes = np.zeros(len(V), bool)
    spikes[np.asarray(pre_steps, int)] = True
    for n in range(len(V)):
        ltp = A_LTP * xbar * max(V[n] - theta_plus, 0.0) * max(UP[n] - theta_minus, 0.0)
        w = min(max(w + dt * lr * ltp, w_min), w_max)
        xbar = xbar - dt * xbar / tau_x
        if spikes[n]:
            xbar += 1.0 / tau_x
            h = UH[n] / u_ref2 if homeostasis else 1.0
            w = min(max(w - lr * A_LTD * h * max(UM[n] - theta_minus, 0.0), w_min), w_max)
    return w


def adex_clopath(I, *, dt, C, g_L, E_L, Delta_T, V_T_rest, V_T_max, tau_VT, a, b, tau_w, I_sp,
                 tau_z, v_spike, V_clamp, t_clamp, v_reset, tau_minus, tau_plus, tau_homeo,
                 t_read, u_homeo0=0.0, kicks=(), kick_value=None, reading="held"):
    """Euler integration of the Clopath et al. AdEx neuron (SI units), ``I[n]`` per step.

    ``reading``: ``"held"``, the rule reads u_minus and u_plus frozen at their values
    from the spike step for t_clamp + t_read steps after it; ``"delayed"``, it reads
    second filters of v delayed by t_clamp + t_read = R steps: the clamped spike exactly
    (V_clamp in the K steps from R + 1 steps after the spike step), the rest of v through
    three first-order stages of (t_clamp + t_read)/3 (an exact delay of three steps when
    that equals dt).

    ``kicks``: steps at which vm is set to ``kick_value`` after the spike test (a
    synapse's on_pre; a spike in the same step resets afterwards). Returns a dict of
    arrays (after each step, before the spike test: what a synapse reads) and the spike
    steps.
    """
    kicks = set(int(k) for k in kicks)
    n_steps = len(I)
    K = int(round(t_clamp / dt))
    R = int(round((t_clamp + t_read) / dt))
    vm, w_ad, z, VT = E_L, 0.0, 0.0, V_T_rest
    um, up, uh = E_L, E_L, u_homeo0
    um_hold, up_hold = E_L, E_L
    um_seen, up_seen = E_L, E_L  # the filters the "delayed" reading integrates
    vd = [E_L, E_L, E_L]  # its delay line
    last = None  # step of the last spike
    out = {k: np.empty(n_steps) for k in ("v", "vm", "u_minus_read", "u_plus_read", "u_homeo")}
    spikes = []

    def observed(n, vm):  # v as the rule reads it after the update of step n
        clamped = last is not None and n < last + K
        return V_clamp if (clamped or vm > v_spike) else vm

    for n in range(n_steps):
        # what the filters integrate in step n: the clamped spike for the K steps after the
        # spike step (the value the rule read in each of the spike's K steps)
        v0 = V_clamp if (last is not None and n <= last + K) else observed(n, vm)
        refractory = last is not None and n < last + K
        dvm = (-g_L * (vm - E_L) + g_L * Delta_T * math.exp((vm - VT) / Delta_T) - w_ad + z
               + I[n]) / C
        dw = (a * (vm - E_L) - w_ad) / tau_w
        new_vm = vm if refractory else vm + dt * dvm
        new_w = w_ad if refractory else w_ad + dt * dw
        z = z - dt * z / tau_z
        VT = VT + dt * (V_T_rest - VT) / tau_VT
        um = um + dt * (v0 - um) / tau_minus
        up = up + dt * (v0 - up) / tau_plus
        uh = uh + dt * ((v0 - E_L) ** 2 - uh) / tau_homeo
        # "delayed": v through three first-order stages of (t_clamp + t_read)/3 (the clamped
        # spike left out: vm, held at v_reset, instead), and the clamp itself R steps late
        clamped = last is not None and n <= last + K
        v_chain = vm if clamped else v0
        late = last is not None and last + R < n <= last + R + K
        v_late = V_clamp if late else vd[2]
        stage = (t_clamp + t_read) / 3
        vd = [vd[0] + dt * (v_chain - vd[0]) / stage, vd[1] + dt * (vd[0] - vd[1]) / stage,
              vd[2] + dt * (vd[1] - vd[2]) / stage]
        um_seen = um_seen + dt * (v_late - um_seen) / tau_minus
        up_seen = up_seen + dt * (v_late - up_seen) / tau_plus
        vm, w_ad = new_vm, new_w
        held = last is not None and n <= last + R
        out["v"][n] = observed(n, vm)
        out["vm"][n] = vm
        if reading == "held":
            out["u_minus_read"][n] = um_hold if held else um
            out["u_plus_read"][n] = up_hold if held else up
        else:
            out["u_minus_read"][n], out["u_plus_read"][n] = um_seen, up_seen
        out["u_homeo"][n] = uh
        spiking = vm > v_spike and not refractory
        if n in kicks:
            vm = kick_value
        if spiking:
            spikes.append(n)
            last = n
            vm = v_reset
            w_ad += b
            # the after-spike values at the membrane's restart, K - 1 steps later
            z = I_sp * math.exp((t_clamp - dt) / tau_z)
            VT = V_T_rest + (V_T_max - V_T_rest) * math.exp((t_clamp - dt) / tau_VT)
            um_hold, up_hold = um, up
    return out, np.array(spikes, int)


# --------------------------------------------------------------------------
# Rate-based rules (Euler; Brian2's order: summed input, then the updates)
# --------------------------------------------------------------------------


def rate_rule(rule, x, w0, *, dt, eta, gamma=0.0, theta_x=0.0, theta_y=0.0, tau_theta=None,
              theta0=0.0, w_min=-np.inf, w_max=np.inf, lr=1.0):
    """Weights (and BCM thresholds) after len(x) steps for one linear instantaneous neuron.

    ``x[n]``: presynaptic rates in step n (shape steps x inputs). Each step: y = w . x,
    then every rule's Euler update with (x, y) of that step.
    """
    w = np.array(w0, float)
    theta = np.full_like(w, theta0)
    for xn in np.asarray(x, float):
        y = float(np.dot(w, xn))
        if rule == "hebb":
            w = np.clip(w + dt * lr * (eta * xn * y - gamma * w), w_min, w_max)
        elif rule == "covariance":
            w = np.clip(w + dt * lr * eta * (xn - theta_x) * (y - theta_y), w_min, w_max)
        elif rule == "oja":
            w = w + dt * lr * eta * (xn * y - y * y * w)
        elif rule == "bcm":
            w, theta = (w + dt * lr * eta * xn * y * (y - theta),
                        theta + dt * (y * y - theta) / tau_theta)
        else:
            raise ValueError(rule)
    return w, theta


# --------------------------------------------------------------------------
# NEST's conventions (coincidence = "nest"), written the way NEST computes them
# --------------------------------------------------------------------------
#
# A second, separate formulation of the pair, triplet and Vogels rules: the weight is updated
# only at presynaptic spikes, as in NEST 3's stdp_synapse, stdp_nn_symm_synapse,
# stdp_nn_pre_centered_synapse, stdp_nn_restr_synapse, stdp_triplet_synapse and
# vogels_sprekeler_synapse (their ``send()``): a presynaptic spike at t first applies the
# potentiation of every postsynaptic spike in (t_last, t] (t_last: the previous presynaptic
# spike), each against the presynaptic trace as it was at t_last, then its own depression
# against the postsynaptic trace of spikes strictly before t (``ArchivingNode::get_K_value``
# excludes a spike at t itself). So a pre and a post spike in the same time step do not
# interact, and at a shared step the post spike is handled before the pre spike. The
# postsynaptic spikes after the last presynaptic spike are flushed at the end, as the next
# presynaptic spike would. NEST's phantom presynaptic spike at t = 0 (``t_lastspike_ = 0``
# before the first spike) is not modelled: trains that care about it start late.


def _step(t, dt_s=1e-7):
    return math.inf if t == math.inf else int(round(t / dt_s))


def _before(times, t):
    """Times strictly before t (on the 0.1 us grid)."""
    return [s for s in times if _step(s) < _step(t)]


def pair_stdp_nest(pre, post, *, pairing, weight, tau_plus, tau_minus, A_plus, A_minus, w_min,
                   w_max, w0, mu_plus=0.0, mu_minus=0.0, lr=1.0):
    """Final weight under NEST's pairing convention (see the section comment).

    ``all_to_all`` = stdp_synapse, ``nearest`` = stdp_nn_symm_synapse,
    ``nearest_pre_centred`` = stdp_nn_pre_centered_synapse, ``nearest_restricted`` =
    stdp_nn_restr_synapse, each with biodyn's weight dependences.
    """
    w = float(w0)
    pre = sorted(float(t) for t in pre)
    post = sorted(float(t) for t in post)
    kplus = 0.0  # NEST's Kplus_ (all_to_all, pre_centred): presynaptic trace at t_last
    t_last = None

    def clip(x):
        return min(max(x, w_min), w_max)

    def facilitate(w, k):
        return clip(w + lr * A_plus * _weight_factors(weight, w, w_min, w_max, mu_plus, mu_minus)[0] * k)

    def depress(w, k):
        return clip(w - lr * A_minus * _weight_factors(weight, w, w_min, w_max, mu_plus, mu_minus)[1] * k)

    def in_range(t):  # post spikes in (t_last, t]
        return [s for s in post if (t_last is None or _step(s) > _step(t_last)) and _step(s) <= _step(t)]

    def potentiate(w, posts):
        nonlocal kplus
        if t_last is None:
            return w
        if pairing in ("nearest_pre_centred", "nearest_restricted"):
            posts = posts[:1]  # only the first post spike after t_last
        for s in posts:
            if pairing == "all_to_all":
                w = facilitate(w, kplus * math.exp(-(s - t_last) / tau_plus))
            elif pairing == "nearest_pre_centred":
                w = facilitate(w, kplus * math.exp(-(s - t_last) / tau_plus))
                kplus = 0.0
            else:  # nearest, nearest_restricted: the trace of the last pre spike alone
                w = facilitate(w, math.exp(-(s - t_last) / tau_plus))
        return w

    for t in pre:
        posts = in_range(t)
        w = potentiate(w, posts)
        earlier = _before(post, t)
        if pairing == "all_to_all":
            k = sum(math.exp(-(t - s) / tau_minus) for s in earlier)
        else:  # nearest-neighbour trace of the post spike strictly before t
            k = math.exp(-(t - earlier[-1]) / tau_minus) if earlier else 0.0
        if pairing != "nearest_restricted" or posts:
            w = depress(w, k)
        if pairing in ("all_to_all", "nearest_pre_centred"):
            kplus = (kplus * math.exp(-(t - t_last) / tau_plus) if t_last is not None else 0.0) + 1.0
        t_last = t
    return potentiate(w, in_range(math.inf)) if t_last is not None else w


def triplet_stdp_nest(pre, post, *, pairing, tau_plus, tau_x, tau_minus, tau_y, A2_plus, A3_plus,
                      A2_minus, A3_minus, w_min, w_max, w0, lr=1.0):
    """Final weight under NEST's stdp_triplet_synapse convention (all_to_all).

    ``nearest`` extends it by the same rule (no pair within one step; only the most
    recent strictly earlier spike of each kind counts); NEST has no nearest triplet synapse.
    """
    w = float(w0)
    pre = sorted(float(t) for t in pre)
    post = sorted(float(t) for t in post)

    def det(times, t, tau):
        times = times[-1:] if pairing == "nearest" else times
        return sum(math.exp(-(t - s) / tau) for s in times)

    def clip(x):
        return min(max(x, w_min), w_max)

    t_last = None
    for t in pre + [math.inf]:
        for s in post:
            if (t_last is None or _step(s) > _step(t_last)) and (t == math.inf or _step(s) <= _step(t)):
                if t_last is None:
                    continue
                r1 = det([p for p in pre if _step(p) <= _step(t_last)], s, tau_plus)
                o2 = det(_before(post, s), s, tau_y)
                w = clip(w + lr * r1 * (A2_plus + A3_plus * o2))
        if t == math.inf:
            break
        o1 = det(_before(post, t), t, tau_minus)
        r2 = det(_before(pre, t), t, tau_x)
        w = clip(w - lr * o1 * (A2_minus + A3_minus * r2))
        t_last = t
    return w


def vogels_nest(pre, post, *, tau, eta, rho0, w_min, w_max, w0, lr=1.0):
    """Final weight under NEST's vogels_sprekeler_synapse convention.

    At a presynaptic spike: the potentiations of the post spikes in (t_last, t] (against
    the pre trace at t_last), then ``w <- min(w + eta*x_post, w_max)`` with the post trace
    strictly before t, then ``w <- max(w - eta*alpha, w_min)``: two clips (NEST's
    facilitate_ then depress_, lower bound 0 there), where the paper's single update
    clips once.
    """
    w = float(w0)
    alpha = 2.0 * rho0 * tau
    pre = sorted(float(t) for t in pre)
    post = sorted(float(t) for t in post)
    t_last = None
    for t in pre + [math.inf]:
        if t_last is not None:
            x_pre_sum = [p for p in pre if _step(p) <= _step(t_last)]
            for s in post:
                if _step(s) > _step(t_last) and (t == math.inf or _step(s) <= _step(t)):
                    w = min(w + lr * eta * sum(math.exp(-(s - p) / tau) for p in x_pre_sum), w_max)
        if t == math.inf:
            break
        w = min(w + lr * eta * sum(math.exp(-(t - s) / tau) for s in _before(post, t)), w_max)
        w = max(w - lr * eta * alpha, w_min)
        t_last = t
    return w


def coincident_patterns(dt_ms=0.5, seed=11, poisson_ms=300.0, rate_hz=60.0):
    """Named (pre, post) trains (seconds, on the grid) with pre and post spikes in one step.

    Single coincident pairs, coincidences inside trains (with earlier pre spikes, earlier
    post spikes, both), a coincidence right after a pre spike that a post spike already
    used, and Poisson pairs at a rate that makes shared steps common.
    """
    rng = np.random.default_rng(seed)
    p = {
        "coincident_alone": ([10], [10]),
        "pre_then_coincident": ([10, 20], [20]),
        "post_then_coincident": ([20], [10, 20]),
        "coincident_then_post": ([10], [10, 18]),
        "coincident_then_pre": ([10, 18], [10]),
        "pre_post_coincident": ([10, 20], [14, 20]),
        "post_pre_coincident_pre": ([14, 20, 30], [10, 20]),
        "two_coincident": ([10, 16], [10, 16]),
        "coincident_after_pair": ([10, 20, 26], [12, 26]),
        "burst_coincident": ([10 + 5 * k for k in range(6)], [10 + 10 * k for k in range(3)]),
    }
    out = {k: (on_grid(a, dt_ms), on_grid(b, dt_ms)) for k, (a, b) in p.items()}
    for k in range(3):
        out[f"poisson_{k}"] = (poisson(rate_hz, poisson_ms, dt_ms, rng),
                               poisson(rate_hz, poisson_ms, dt_ms, rng))
    return out


def clopath_modeldb(pre_steps, post_steps, n_steps, *, A_LTD=14e-5, A_LTP=8e-5, theta_minus=-70.6,
                    theta_plus=-45.3, tau_x=15.0, tau_minus=10.0, tau_plus=7.0, w0=0.5):
    """Weight after ``n_steps`` 1-ms steps of the procedure of Clopath et al.'s code (ModelDB
    144566: VoTri.m with aEIF.m), written here from its description, in its units (mV, ms, pA,
    pF, nS). Used as the authors' model on given trains; not biodyn's discretisation.

    A postsynaptic time gets 1e6 pA in its step (the membrane crosses 20 mV within the step);
    a spike is 29.4 mV in the crossing step and 32.862 mV in the next, then the membrane
    restarts at E_L + 21.0984 mV with the adaptation increased by b = 0.0805 (pA), the
    after-depolarising current set to 400 pA and V_T to -30.4 mV. The filters are Euler steps
    of 1 ms that include the step's voltage; the rule reads them three steps late; the LTP of a
    step uses the presynaptic trace before that step's spike. No weight bounds.
    """
    E_L, C, g_L, Delta_T, tau_w, a, b = -70.6, 281.0, 30.0, 2.0, 144.0, 4.0, 0.0805
    pre = np.zeros(n_steps)
    pre[np.asarray(pre_steps, int)] = 1.0
    current = np.zeros(n_steps)
    current[np.asarray(post_steps, int)] = 1e6
    u = np.full(n_steps, E_L)
    u_md = np.full(n_steps + 1, E_L)  # u_md[t]: filtered through step t - 1
    u_mp = np.full(n_steps + 1, E_L)
    r = np.zeros(n_steps + 1)
    w_ad, z, V_T, phase, w = 0.0, 0.0, -50.4, 0, float(w0)
    for t in range(1, n_steps):
        v = u[t - 1]
        if phase == 2:  # the end of the 2-ms spike
            v, w_ad, z, V_T, phase = E_L + 21.0984, w_ad + b, 400.0, -30.4, 0
        dv = (-g_L * (v - E_L) + g_L * Delta_T * math.exp((v - V_T) / Delta_T) - w_ad + z
              + current[t]) / C
        dw = (a * (v - E_L) - w_ad) / tau_w
        v, w_ad = v + dv, w_ad + dw
        z -= z / 40.0
        V_T += (-50.4 - V_T) / 50.0
        if phase == 1:
            v, w_ad, phase = 32.862, w_ad - dw, 2
        elif v > 20.0:
            v, phase = 29.4, 1
        u[t] = v
        u_md[t + 1] = u_md[t] + (v - u_md[t]) / tau_minus
        u_mp[t + 1] = u_mp[t] + (v - u_mp[t]) / tau_plus
        r[t + 1] = r[t] + (pre[t] - r[t]) / tau_x
        if t >= 3:
            ltd = A_LTD * pre[t] * max(u_md[t - 3] - theta_minus, 0.0)
            ltp = A_LTP * max(v - theta_plus, 0.0) * r[t] * max(u_mp[t - 3] - theta_minus, 0.0)
            w += ltp - ltd
    return w
