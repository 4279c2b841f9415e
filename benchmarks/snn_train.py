"""Speed and memory of training a recurrent LIF network read from the catalog (biodyn.snn).

What is timed, per training step (forward + backward, surrogate-gradient BPTT) for H recurrent
``lif`` neurons (dayan_abbott_2001, exponential current synapses tau_syn = 5 ms, exact
integration) over T steps of dt = 1 ms, batch B, M Poisson inputs, a leaky readout and MSE loss:

* biodyn — ``biodyn.learn._snn.snn_functions``: the step derived from the spec by Brian2's state
  updater and sympy (``biodyn.snn.read``), refractoriness, detached reset, fast-sigmoid
  surrogate, ``jax.lax.scan``;
* plain  — the same network written by hand here with ``jax.jit``: the closed-form propagator
  (a = exp(-dt/tau_m), c = exp(-dt/tau_syn) and the I_syn -> v coefficient) as constants,
  the same refractory counter, threshold, surrogate and readout; no spec, no sympy.

Both run in float64 (``jax.enable_x64``) and are checked to give the same loss. Goal (issue 15):
biodyn within 1.3x of plain. Also printed: the memory XLA allocates for temporaries
(``compiled.memory_analysis().temp_size_in_bytes``) for BPTT, e-prop's two-pass form ("2p",
spikes and learning signals stored) and e-prop's online form (what the learners use: eligibility
and filtered traces carried forward, nothing stored per step) at T = 100 ... 800.

Run:  python benchmarks/snn_train.py [--H 200] [--T 1000] [--B 32] [--repeats 5]
Times are wall-clock medians of ``repeats`` calls after one warm-up (compilation excluded).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def plain_network(H, M, T, B, unit, kappa, width):
    import jax
    import jax.numpy as jnp

    dt, tau_m, tau_s, R = 1e-3, 10e-3, 5e-3, 10e6
    E_L, v_th, v_r, ref = -65e-3, -50e-3, -65e-3, 2
    a, c = np.exp(-dt / tau_m), np.exp(-dt / tau_s)
    k = R * tau_s / (tau_s - tau_m) * (c - a)  # I_syn -> v over one step (exact, tau_s != tau_m)

    @jax.custom_jvp
    def spike(h):
        return (h > 0).astype(h.dtype)

    @spike.defjvp
    def _(pr, tg):
        (h,), (dh,) = pr, tg
        return spike(h), 0.5 / (width * (1 + jnp.abs(h / width)) ** 2) * dh

    def loss(p, x, t):
        W_rec = p["W_rec"] * (1 - jnp.eye(H)) * unit
        W_in = p["W_in"] * unit

        def step(carry, x_t):
            v, I, last, n, y = carry
            nr = (n - last >= ref).astype(v.dtype)
            v_new = jnp.where(nr > 0, E_L + (v - E_L) * a + k * I, v)
            I = I * c
            s = spike(v_new - v_th) * nr
            I = I + x_t @ W_in + s @ W_rec
            fired = s > 0
            v_new = jnp.where(fired, v_r, v_new)
            last = jnp.where(fired, n, last)
            y = kappa * y + s @ p["W_out"]
            return (v_new, I, last, n + 1, y), y + p["b"]

        z = jnp.zeros((B, H))
        c0 = (z + E_L, z, jnp.full((B, H), -(2 ** 40), dtype=jnp.int64), jnp.asarray(0, jnp.int64),
              jnp.zeros((B, p["W_out"].shape[1])))
        _, o = jax.lax.scan(step, c0, jnp.swapaxes(x, 0, 1))
        return jnp.mean((jnp.swapaxes(o, 0, 1) - t) ** 2)

    return loss


def timeit(f, args, repeats):
    import jax

    jax.block_until_ready(f(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", type=int, default=200)
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--M", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--memory-T", default="100,200,400,800", help="sequence lengths for the memory table")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp

    from biodyn import snn
    from biodyn.learn._eprop import eprop_gradient, eprop_online
    from biodyn.learn._snn import snn_functions

    H, T, B, M = args.H, args.T, args.B, args.M
    unit, width, tau_out = 1e-9, 1e-3, 20e-3
    kappa = float(np.exp(-1e-3 / tau_out))
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        x = jnp.asarray((rng.random((B, T, M)) < 0.02).astype(float))
        t = jnp.asarray(rng.normal(size=(B, T, 1)))
        mask = jnp.ones((B, T), bool)
        p = {"W_in": jnp.asarray(rng.normal(0.4, 0.4, (M, H))), "W_rec": jnp.asarray(rng.normal(0, 1 / np.sqrt(H), (H, H))),
             "W_out": jnp.asarray(rng.normal(0, 1 / np.sqrt(H), (H, 1))), "b": jnp.zeros(1)}
        reading = snn.read("lif", dt="1 ms")
        net, value, loss_of = snn_functions(reading, "all", "mse", 1, tau_out, unit, "fast_sigmoid", width)
        plain = plain_network(H, M, T, B, unit, kappa, width)
        vb = jax.jit(value)(p, x, t, mask)
        vp = jax.jit(plain)(p, x, t)
        print(f"loss: biodyn {float(vb):.15g}, plain {float(vp):.15g} (relative difference "
              f"{abs(float(vb) - float(vp)) / abs(float(vp)):.1e})")
        rate = float(jnp.mean(net(p, x)[1])) / 1e-3
        print(f"network: H = {H} LIF, M = {M} inputs, T = {T} steps of 1 ms, batch {B}; mean rate {rate:.1f} Hz")
        gb = jax.jit(jax.value_and_grad(value))
        gp = jax.jit(jax.value_and_grad(plain))
        tb = timeit(gb, (p, x, t, mask), args.repeats)
        tp = timeit(gp, (p, x, t), args.repeats)
        fb = timeit(jax.jit(lambda q, xx: net(q, xx)[0]), (p, x), args.repeats)
        print(f"{'':8s} {'fwd+bwd (s)':>12s} {'ratio':>7s}")
        print(f"{'biodyn':8s} {tb:12.3f} {tb / tp:7.2f}")
        print(f"{'plain':8s} {tp:12.3f} {1.0:7.2f}")
        print(f"biodyn forward only: {fb:.3f} s")

        print("\nXLA temporary memory (MB) of one gradient, H = %d, batch %d:" % (H, B))
        print(f"{'T':>6s} {'BPTT':>10s} {'e-prop 2p':>10s} {'e-prop':>10s}")
        for TT in [int(v) for v in args.memory_T.split(",")]:
            xx = x[:, :TT] if TT <= T else jnp.tile(x, (1, -(-TT // T), 1))[:, :TT]
            tt, mm = jnp.zeros((B, TT, 1)), jnp.ones((B, TT), bool)

            def readout_loss(S, W_out, b, tt=tt, mm=mm):
                return loss_of(net.readout(S, W_out, b), tt, mm)

            mb = jax.jit(jax.grad(value)).lower(p, xx, tt, mm).compile().memory_analysis()
            m2 = jax.jit(lambda q, xs: eprop_gradient(reading, q, xs, readout_loss, weight_unit=unit,
                                                      shape="fast_sigmoid", width=width)).lower(p, xx).compile()
            m2 = m2.memory_analysis()
            me = jax.jit(lambda q, xs, ts, ms: eprop_online(reading, q, xs, ts, ms, readout="all", loss="mse",
                                                            steps_per_sample=1, kappa=kappa, weight_unit=unit,
                                                            shape="fast_sigmoid", width=width))
            me = me.lower(p, xx, tt, mm).compile().memory_analysis()
            f = (lambda m: f"{m.temp_size_in_bytes / 2 ** 20:10.1f}" if m is not None else f"{'n/a':>10s}")
            print(f"{TT:6d} {f(mb)} {f(m2)} {f(me)}")


if __name__ == "__main__":
    main()
