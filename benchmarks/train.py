"""Speed of biodyn train's step and of the LSTM's Lyapunov spectrum, at N = 128, T = 200.

What is timed, for an LSTM of H = 128 units (PyTorch's gates), one input, one output, a readout
at every step and the mean-square loss, on sequences of T = 200 steps (the ``delayed_copy``
task's inputs and targets, ``n_steps = 200``), float64 throughout:

* train step (forward + backward + Adam update) on a minibatch of B = 32 sequences:
  - biodyn — exactly what ``biodyn.learn.train`` does per update: the jitted JAX gradient of
    :func:`biodyn.learn.jax_loss_and_grad` (the cell equations of
    ``biodyn.dynamics.cell_step``, ``lax.scan`` over time), the parameter vector flattened
    for biodyn's ``adam`` (``biodyn.ann``, numpy) and unflattened for the gradient;
  - jax.jit — a plain implementation written here: its own LSTM equations, ``lax.scan``,
    ``jax.grad`` and Adam, the whole step (gradient and update) in one ``jax.jit``;
* Lyapunov spectrum of the LSTM driven by one input sequence of T = 200 steps, all 2H = 256
  exponents of the full (h, c) map, QR every step (no transients: 200 tangent steps):
  - biodyn — ``biodyn.dynamics.lyapunov_spectrum`` on a ``DrivenCell`` of the numpy
    ``LSTMCell`` (explicit tangent map: one (4H x H) @ (H x 2H) product per step);
  - jax.jit — written here: ``lax.scan`` of the step and of the tangent map by ``jax.jvp``
    (vmapped over the 256 tangent vectors), ``jnp.linalg.qr`` every step, one ``jax.jit``;
  - bare — only the BLAS/LAPACK work the method cannot avoid, in numpy, as in
    ``benchmarks/lyapunov.py``: the (4H x H) @ (H x 2H) product and a 2H x 2H QR
    (dgeqrf + dorgqr) per step; nothing else.
  And biodyn with its default adaptive QR interval (what ``biodyn train --lyapunov-every``
  runs) for reference.

Goals: biodyn's train step within 1.3x of the jax.jit one; the numpy spectrum within 2x of bare.

Run:  python benchmarks/train.py [--hidden 128] [--steps 200] [--batch 32] [--repeats 3] [--wall]
Times are CPU times of the process (all its threads) with one BLAS thread and XLA's CPU
backend on one thread (set here before numpy and jax are imported), so they measure the work
done whatever else the shared machine runs: per call, the best over repeats of
(time of 2n calls - time of n calls)/n, which cancels set-up costs; variants interleaved.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--steps", type=int, default=200, help="sequence length T")
    p.add_argument("--batch", type=int, default=32, help="sequences per training step")
    p.add_argument("--calls", type=int, default=3, help="calls timed per run (n)")
    p.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    p.add_argument("--wall", action="store_true", help="wall-clock time instead of CPU time")
    return p.parse_args()


def main():
    args = parse()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()
    import jax
    import jax.numpy as jnp
    import numpy as np
    from scipy.linalg import lapack

    from biodyn import learn
    from biodyn.ann import RNN, optimiser
    from biodyn.dynamics import DrivenCell, lyapunov_spectrum
    from biodyn.learn._train import _Oracle, jax_loss_and_grad

    H, T, B, lr = args.hidden, args.steps, args.batch, 1e-3
    clock = time.perf_counter if args.wall else time.process_time

    def best_of(fns, n):
        times = {name: [] for name in fns}
        for _ in range(args.repeats):
            for name, fn in fns.items():
                t0 = clock()
                fn(n)
                t1 = clock()
                fn(2 * n)
                t2 = clock()
                times[name].append(((t2 - t1) - (t1 - t0)) / n)
        return {name: min(v) * 1e3 for name, v in times.items()}

    task = learn.load_task("delayed_copy", n_steps=T)
    batch = task.generate(B, [0, 0])
    x, t, mask = batch.x, batch.y.astype(float), batch.mask
    net = RNN(task.n_inputs, H, task.n_outputs, cell="lstm", readout="all", seed=0)
    keys = sorted(net.params)
    shapes = [net.params[k].shape for k in keys]
    splits = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    with jax.enable_x64(True):
        # --- biodyn: the update of biodyn.learn.train, as it runs there ---------------------------
        _, grad, _ = jax_loss_and_grad("lstm", H, "all", "mse")

        def unflatten(theta):
            return {k: a.reshape(s) for k, a, s in zip(keys, np.split(theta, splits), shapes)}

        def flatten(p):
            return np.concatenate([np.asarray(p[k], float).ravel() for k in keys])

        opt = optimiser("adam")
        theta0 = flatten(net.params)

        def biodyn_steps(n):
            theta, state = theta0, opt.init(theta0)
            for k in range(n):
                oracle = _Oracle(lambda th: flatten(grad(unflatten(th), x, t, mask)))
                theta, state = opt.step(theta, state, k, lr, oracle)
            return theta

        # --- plain jax.jit: its own LSTM, lax.scan, grad and Adam in one jit ----------------------
        def lstm_loss(p, x, t, mask):
            def body(carry, xt):
                h, c = carry
                a = xt @ p["cell.W_ih"].T + p["cell.b_ih"] + h @ p["cell.W_hh"].T + p["cell.b_hh"]
                i, f, g, o = jnp.split(a, 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                h = jax.nn.sigmoid(o) * jnp.tanh(c)
                return (h, c), h

            zero = jnp.zeros((x.shape[0], H))
            _, hs = jax.lax.scan(body, (zero, zero), jnp.swapaxes(x, 0, 1))
            y = jnp.swapaxes(hs, 0, 1) @ p["readout.W"].T + p["readout.b"]
            m = mask[..., None]
            return jnp.sum(m * (y - t) ** 2) / (jnp.sum(mask) * y.shape[-1])

        @jax.jit
        def jax_step(p, m, v, k, x, t, mask):
            g = jax.grad(lstm_loss)(p, x, t, mask)
            m = jax.tree_util.tree_map(lambda a, b: 0.9 * a + 0.1 * b, m, g)
            v = jax.tree_util.tree_map(lambda a, b: 0.999 * a + 0.001 * b * b, v, g)
            c1, c2 = 1 - 0.9 ** (k + 1), 1 - 0.999 ** (k + 1)
            p = jax.tree_util.tree_map(lambda a, mm, vv: a - lr * (mm / c1) / (jnp.sqrt(vv / c2) + 1e-8), p, m, v)
            return p, m, v

        p0 = {k: jnp.asarray(v) for k, v in net.params.items()}

        def jax_steps(n):
            p, m = p0, jax.tree_util.tree_map(jnp.zeros_like, p0)
            v = m
            for k in range(n):
                p, m, v = jax_step(p, m, v, float(k), x, t, mask)
            jax.block_until_ready(p)
            return p

        # the two compute the same update (and compile here, untimed)
        a, b = biodyn_steps(2), flatten(jax_steps(2))
        assert np.max(np.abs(a - b)) < 1e-9, np.max(np.abs(a - b))

        # --- spectra: biodyn (numpy cells), jax.jit, bare LAPACK ---------------------------------
        cell = net.cell()
        drive = x[0]
        n = cell.state_size

        def biodyn_spectrum(reorth_every=1):
            return lyapunov_spectrum(DrivenCell(cell, drive), np.zeros(n), duration=T, transient=0,
                                     tangent_transient=0, reorth_every=reorth_every, segments=2)

        P = {k: jnp.asarray(v) for k, v in net.params.items()}

        def F(s, xt):
            h, c = s[:H], s[H:]
            a = P["cell.W_ih"] @ xt + P["cell.b_ih"] + P["cell.W_hh"] @ h + P["cell.b_hh"]
            i, f, g, o = jnp.split(a, 4)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            return jnp.concatenate([jax.nn.sigmoid(o) * jnp.tanh(c), c])

        @jax.jit
        def jax_spectrum(xs, Q0):
            def body(carry, xt):
                s, Q, acc = carry
                s2, JQ = jax.vmap(lambda q: jax.jvp(lambda u: F(u, xt), (s,), (q,)), in_axes=1,
                                  out_axes=(None, 1))(Q)
                Q, R = jnp.linalg.qr(JQ)
                return (s2, Q, acc + jnp.log(jnp.abs(jnp.diag(R)))), None

            (s, Q, acc), _ = jax.lax.scan(body, (jnp.zeros(n), Q0, jnp.zeros(n)), xs)
            return jnp.sort(acc)[::-1] / xs.shape[0]

        Q0 = jnp.asarray(np.linalg.qr(np.random.default_rng(1).standard_normal((n, n)))[0])
        lam_b = biodyn_spectrum().exponents
        lam_j = np.asarray(jax_spectrum(jnp.asarray(drive), Q0))
        # same spectrum up to the different first tangent vectors (over 200 steps only)
        assert abs(lam_b[0] - lam_j[0]) < 0.05 and abs(lam_b.sum() - lam_j.sum()) < 1e-6 * n, (lam_b[:3], lam_j[:3])

        Wt = np.ascontiguousarray(net.params["cell.W_hh"].T)  # (H, 4H)
        lwork = max(int(lapack.dgeqrf_lwork(n, n)[0]), 64 * n)
        Qb = np.asfortranarray(np.linalg.qr(np.random.default_rng(2).standard_normal((n, n)))[0])

        def bare(n_spectra):
            for _ in range(n_spectra):
                q = Qb.copy(order="F")
                for _ in range(T):
                    P4 = (q[:H].T @ Wt).T  # (4H, 2H) = W_hh @ Q_h, unavoidable product
                    q[:H] = 0.25 * P4[:H]  # stand-in for the elementwise combination (same size)
                    q[H:] = 0.25 * P4[H:2 * H]
                    qr, tau, _, _ = lapack.dgeqrf(q, lwork=lwork, overwrite_a=True)
                    q, _, _ = lapack.dorgqr(qr, tau, lwork=lwork, overwrite_a=True)

        def many(fn):
            return lambda k: [fn() for _ in range(k)]

        ts = best_of({"biodyn": biodyn_steps, "jax": jax_steps}, args.calls)
        tl = best_of({"biodyn": many(biodyn_spectrum),
                      "jax": many(lambda: jax.block_until_ready(jax_spectrum(jnp.asarray(drive), Q0))),
                      "bare": bare, "adaptive": many(lambda: biodyn_spectrum(None))}, 1)

    import numpy

    try:
        from threadpoolctl import threadpool_info

        cfg = ", ".join(f"{i.get('internal_api')} {i.get('num_threads')} threads" for i in threadpool_info())
    except Exception:
        cfg = f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    print(f"LSTM H = {H}, sequence length T = {T}, float64; train step = forward + backward + Adam on "
          f"B = {B} sequences; spectrum = all {2 * H} exponents of (h, c), QR every step, {T} steps")
    print(f"numpy {numpy.__version__} ({cfg}); jax {jax.__version__} (XLA CPU, 1 thread); {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}; per call = best of {args.repeats} x "
          f"({'wall' if args.wall else 'CPU'} time of 2n - time of n calls) / n")
    print(f"{'':34s} {'biodyn':>10s} {'jax.jit':>10s} {'bare':>10s}")
    print(f"{'train step':34s} {ts['biodyn']:8.1f}ms {ts['jax']:8.1f}ms {'':>10s}")
    print(f"{'Lyapunov spectrum (QR every step)':34s} {tl['biodyn']:8.1f}ms {tl['jax']:8.1f}ms {tl['bare']:8.1f}ms")
    print(f"{'  biodyn, adaptive QR interval':34s} {tl['adaptive']:8.1f}ms")
    r_step, r_lyap, r_bare = ts["biodyn"] / ts["jax"], tl["biodyn"] / tl["jax"], tl["biodyn"] / tl["bare"]
    print(f"train step biodyn/jax.jit: {r_step:.2f}x")
    print(f"spectrum biodyn/jax.jit: {r_lyap:.2f}x")
    print(f"spectrum biodyn/bare: {r_bare:.2f}x")
    ok = r_step <= 1.3 and r_bare <= 2.0
    print("goal (train step within 1.3x of jax.jit, spectrum within 2x of bare):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
