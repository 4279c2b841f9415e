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

Also the forward pass of one sequence against Brian2 cpp_standalone on the same network and
input spikes (a warm call: the project built by a first call; and the binary's own run time).

Run:  python benchmarks/snn_train.py [--H 200] [--T 1000] [--B 32] [--repeats 9] [--no-brian]

Measurement (a shared 2-core machine): after one warm-up call each (compilation excluded),
biodyn and plain are called in turn for ``repeats`` rounds, the order alternating from round to
round, so that a change of load hits both alike (fwd+bwd and forward as two separate pairs: a
call that follows a gradient pays page faults for memory the gradient freed). Printed
per contender: wall-clock minimum, median and maximum, and CPU time (``time.process_time``,
all of the process's threads; less sensitive to other processes than wall-clock). Each ratio
line gives the ratio of the minima (the least disturbed calls; the figure to quote) and the
median and range of the per-round ratios (the two calls of a round ran back to back).
"forward" is the forward pass of the training step (the loss; neither version stores spikes).
"""

from __future__ import annotations

import argparse
import os
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
    """Minimum wall-clock and CPU times of ``repeats`` calls of ``f(*args)`` after a warm-up."""
    import jax

    jax.block_until_ready(f(*args))
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(f(*args))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.min(wall)), float(np.min(cpu))


def interleaved(fs, repeats):
    """Wall-clock and CPU times of each ``(f, args)`` in ``fs``, called in turn ``repeats`` times
    (rounds) after a warm-up, the order rotated from round to round: on a shared machine a
    change of load then hits every contender alike, and no contender always runs first.
    Returns ``(wall, cpu)``, arrays ``(repeats, len(fs))`` in seconds (CPU: this process's
    ``time.process_time``, all threads)."""
    import jax

    for f, a in fs:
        jax.block_until_ready(f(*a))
    wall = np.zeros((repeats, len(fs)))
    cpu = np.zeros((repeats, len(fs)))
    for r in range(repeats):
        for k in np.roll(np.arange(len(fs)), -r):
            f, a = fs[k]
            t0, c0 = time.perf_counter(), time.process_time()
            jax.block_until_ready(f(*a))
            wall[r, k], cpu[r, k] = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu


def ratio_line(label, num, den):
    """One line for the ratio of two contenders' times ``num``, ``den`` (one per round): the ratio
    of their minima (the least disturbed calls) and the median and range of the per-round ratios
    (calls of one round ran back to back, under nearly the same load)."""
    per = num / den
    return (f"ratio biodyn/plain {label}: {np.min(num) / np.min(den):.2f} (of minima); per round median "
            f"{np.median(per):.2f}, range {np.min(per):.2f}-{np.max(per):.2f}")


def brian_forward(reading, p, x, unit):
    """Forward pass of one sequence in Brian2 cpp_standalone: wall-clock of a warm call of
    :func:`biodyn.snn._brian.brian_run` (the project built by a first call; code generation,
    ``make`` with nothing to rebuild, the binary, reading the spikes back) and the binary's own
    simulation time (Brian2's ``last_run_info.txt``). Returns ``(wall, run, n_spikes)``."""
    from biodyn.build import _safe_key, cache_dir
    from biodyn.snn._brian import brian_run

    H = p["W_rec"].shape[0]
    W_rec = np.asarray(p["W_rec"]) * (1 - np.eye(H)) * unit
    steps, idx = np.nonzero(np.asarray(x[0]))
    key = "bench_snn_train"
    args = (reading, np.asarray(p["W_in"]) * unit, W_rec, idx, steps, x.shape[1])
    brian_run(*args, target="cpp_standalone", build_key=key)  # cold: builds the project
    t0 = time.perf_counter()
    out = brian_run(*args, target="cpp_standalone", build_key=key)
    wall = time.perf_counter() - t0
    info = cache_dir() / "standalone" / _safe_key(key) / "results" / "last_run_info.txt"
    run = float(info.read_text().split()[0]) if info.exists() else float("nan")
    return wall, run, len(out["i"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--H", type=int, default=200)
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--M", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--memory-T", default="100,200,400,800", help="sequence lengths for the memory table")
    ap.add_argument("--no-brian", action="store_true", help="skip the Brian2 cpp_standalone forward pass")
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
        fwd_b = jax.jit(value)  # the training step's forward pass: the loss
        fwd_p = jax.jit(plain)
        names = ["biodyn fwd+bwd", "plain fwd+bwd", "biodyn forward", "plain forward"]
        # two pairs timed apart: a call that follows a gradient (hundreds of MB freed) pays page
        # faults for its buffers, which would bias whichever forward pass follows it
        w1, c1 = interleaved([(gb, (p, x, t, mask)), (gp, (p, x, t))], args.repeats)
        w2, c2 = interleaved([(fwd_b, (p, x, t, mask)), (fwd_p, (p, x, t))], args.repeats)
        wall, cpu = np.hstack([w1, w2]), np.hstack([c1, c2])
        print(f"\ntimes (s) of {args.repeats} interleaved rounds per pair after a warm-up (load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        print(f"{'':16s} {'wall min':>9s} {'median':>9s} {'max':>9s} {'cpu min':>9s} {'median':>9s}")
        for k, name in enumerate(names):
            print(f"{name:16s} {wall[:, k].min():9.3f} {np.median(wall[:, k]):9.3f} {wall[:, k].max():9.3f} "
                  f"{cpu[:, k].min():9.3f} {np.median(cpu[:, k]):9.3f}")
        print(ratio_line("fwd+bwd", wall[:, 0], wall[:, 1]))
        print(ratio_line("forward", wall[:, 2], wall[:, 3]))
        print(ratio_line("fwd+bwd, CPU time", cpu[:, 0], cpu[:, 1]))
        print(ratio_line("forward, CPU time", cpu[:, 2], cpu[:, 3]))
        if not args.no_brian:
            x1 = x[:1]
            spikes_b = jax.jit(lambda q, xx: net(q, xx)[1])  # forward with the spikes, as Brian2 records them
            f1, c1 = timeit(spikes_b, (p, x1), args.repeats)
            fB, cB = timeit(spikes_b, (p, x), args.repeats)
            wall_b, run, n_sp = brian_forward(reading, p, np.asarray(x1), unit)
            n_jax = int(jnp.sum(net(p, x1)[1]))
            print(f"\nforward pass of one sequence ({T} steps, H = {H}): Brian2 cpp_standalone "
                  f"{n_sp} spikes, biodyn {n_jax} spikes (biodyn: minima of {args.repeats} calls; Brian2's "
                  "binary run is its own wall-clock)")
            print(f"{'':40s} {'wall':>8s} {'cpu':>8s}")
            print(f"{'Brian2 cpp_standalone, warm call (s)':40s} {wall_b:8.3f}")
            print(f"{'Brian2 cpp_standalone, binary run (s)':40s} {run:8.3f}")
            print(f"{'biodyn jit, batch 1 (s)':40s} {f1:8.3f} {c1:8.3f}")
            print(f"{'biodyn jit, batch %d per sequence (s)' % B:40s} {fB / B:8.3f} {cB / B:8.3f}")
            print(f"ratio biodyn batch 1 / Brian2 binary run: {f1 / run:.2f} (wall), {c1 / run:.2f} (cpu)")
            print(f"ratio biodyn batch {B} per sequence / Brian2 binary run: {fB / B / run:.2f} (wall), "
                  f"{cB / B / run:.2f} (cpu)")

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
