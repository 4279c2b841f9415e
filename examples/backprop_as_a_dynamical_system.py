"""Backprop, optimisers and training read as dynamical systems (biodyn.ann).

Runs in well under 20 s and writes its figures to ``ann_figures/`` (or the folder given as
the first argument):

1. backprop is a linear system running backwards in depth: per-layer gradient norms of deep
   tanh nets below, at and above the order-to-chaos transition (mean-field chi_1;
   Schoenholz et al. 2017), and the singular values of the input-output Jacobian
   (orthogonal linear nets are exact isometries: Saxe et al. 2014; Pennington et al. 2017);
2. optimisers are integrators of the gradient flow: stability limits computed from each
   optimiser's own update, and trajectories against the gradient flow;
3. SGD is Euler-Maruyama for an SDE: stationary covariances (Li, Tai & E 2017);
4. full-batch GD trains at the edge of stability: the sharpness rises to 2/lr (Cohen et al. 2021);
5. a ResNet is forward Euler for a neural ODE trained by the adjoint method (Chen et al. 2018);
6. backprop through time in RNN/GRU/LSTM decays at the rate set by the forward Lyapunov
   exponents, computed both from the recorded Jacobian product and by the QR method of
   biodyn.dynamics (Pascanu et al. 2013; Engelken 2023).
"""

import os
import sys
import time
from pathlib import Path

# The matrices here are small (<= 200 x 200): BLAS threads only add overhead, and on a busy
# machine they slow QR and matmul down by an order of magnitude. Set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from biodyn import BiodynError, ann, plot  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "ann_figures")
start = time.time()

# 1. backprop as a reverse-time system -----------------------------------------------------
rng = np.random.default_rng(0)
width, depth = 200, 20
records = {}
for sigma_w in (0.6, 1.0, 3.0):
    mf = ann.mean_field("tanh", sigma_w, 0.05)
    net = ann.MLP([width] * (depth + 1), "tanh", output_activation=None, sigma_w=sigma_w, sigma_b=0.05, seed=1)
    x = rng.standard_normal((16, width)) * np.sqrt(max(mf["q_star"], 1e-2))
    rec = net.backprop(x, rng.standard_normal((16, width)))
    d = ann.diagnose(rec)
    records[f"σ_w = {sigma_w}"] = rec
    print(f"tanh net, sigma_w = {sigma_w}: per-layer growth of ||delta|| measured {np.exp(d['log_rate_fit']):.3f}, "
          f"mean field sqrt(chi_1) = {mf['rate']:.3f} -> {d['verdict']}")
plot.save(plot.layer_gradient_norms(records), out / "layer_gradient_norms.png")

spectra = {}
for label, kw in {"linear, orthogonal": dict(activation="linear", init="orthogonal"),
                  "linear, Gaussian": dict(activation="linear", init="gaussian"),
                  "tanh, Gaussian (σ_w = 1.05)": dict(activation="tanh", init="gaussian", sigma_w=1.05),
                  "tanh, orthogonal (σ_w = 1.05)": dict(activation="tanh", init="orthogonal", sigma_w=1.05)}.items():
    net = ann.MLP([100] * 11, output_activation=None, seed=2, **kw)
    spectra[label] = ann.jacobian_spectrum(net, 0.1 * rng.standard_normal((4, 100)))
    s = spectra[label]
    print(f"input-output Jacobian, {label}: singular values in [{s.min():.3g}, {s.max():.3g}]")
plot.save(plot.singular_value_spectrum(spectra), out / "jacobian_spectra.png")

# 2. optimisers as integrators -------------------------------------------------------------
limits = ann.stability_limits(["gd", "heun", "rk4", "rk45", "heavy_ball", "nesterov", "adam", "implicit_gd"])
expected = {"gd": 2, "heun": 2, "rk4": 2.785, "heavy_ball": 2 * 1.9, "nesterov": 3.8 / 2.8, "adam": 38}
print("stability limits max(lr*lambda): " + ", ".join(f"{k} {v:.4g}" for k, v in limits.items()))
plot.save(plot.stability_limits(limits, expected=expected), out / "stability_limits.png")

q = ann.Quadratic(np.array([[3.0, 1.0], [1.0, 1.0]]))
th0 = np.array([1.5, -1.0])
runs = {f"{name} (η = {lr})": ann.against_gradient_flow(q, name, th0, lr=lr, steps=int(3 / lr), **kw)
        for name, lr, kw in (("gd", 0.5, {}), ("heun", 0.5, {}), ("implicit_gd", 0.5, {}),
                             ("heavy_ball", 0.05, {"beta": 0.5}))}
for label, r in runs.items():
    print(f"{label}: max distance to the gradient flow {r['error'].max():.3g}")
plot.save(plot.optimiser_trajectory(runs), out / "trajectories.png")

# 3. SGD as an SDE -------------------------------------------------------------------------
A, S = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[1.0, 0.2], [0.2, 0.5]])
for lr in (0.05, 0.5, 1.5):
    err = ann.sde_accuracy(A, S, lr)[0]
    print(f"SGD lr = {lr}: SDE stationary covariance off by {100 * err:.1f}% from the exact discrete one")
print(f"the SDE is within 10% for lr <= {ann.sde_accurate_range(A, S, 0.1):.3f}")

# 4. edge of stability ---------------------------------------------------------------------
x = np.random.default_rng(6).uniform(-1, 1, (100, 4))
t = ann.MLP([4, 100, 1], "tanh", sigma_w=6.0, seed=11)(x)
t = t / t.std()
eos = ann.edge_of_stability(ann.MLP([4, 20, 20, 20, 1], "tanh", seed=6).objective(x, t), lr=0.3, steps=700, every=50,
                            tol=1e-3)
late = eos.sharpness[eos.steps >= 350]
print(f"edge of stability: sharpness {eos.sharpness[0]:.2f} -> median {np.median(late):.2f} "
      f"over the last 350 steps; 2/lr = {eos.threshold:.2f}")
plot.save(plot.sharpness_vs_threshold(eos), out / "edge_of_stability.png")

# 5. neural ODE and the ResNet as forward Euler --------------------------------------------
node = ann.NeuralODE(2, (8,), "tanh", sigma_w=1.5, sigma_b=0.5, seed=3)
z0, target = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
L, g = node.loss_and_gradient(z0, 1.0, target)
v = rng.standard_normal(g.size)
eps = 1e-5


def loss(theta):
    return 0.5 * np.sum((node.solve(z0, 1.0, 1e-12, 1e-14, node.unravel(theta)) - target) ** 2) / len(z0)


fd = (loss(node.ravel() + eps * v) - loss(node.ravel() - eps * v)) / (2 * eps)
print(f"neural ODE: adjoint directional derivative {g @ v:.8f}, finite differences {fd:.8f}")
conv = ann.resnet_euler_convergence(node, z0, 1.0, [8, 16, 32, 64, 128], target=target)
print(f"ResNet = forward Euler: output error order {conv['order_output']:.2f}, "
      f"gradient error order {conv['order_gradient']:.2f} in the depth")

# 6. recurrent nets: BPTT gradients decay at the rate of the forward Lyapunov exponents -----
inputs = 0.5 * np.random.default_rng(4).standard_normal((600, 1))
for cell in ("rnn", "gru", "lstm"):
    rnn = ann.RNN(1, 4, 1, cell=cell, sigma_w=1.5 if cell == "rnn" else 2.5, seed=3)
    rec = rnn.backprop(inputs[None], np.zeros((1, 1)))
    lam = ann.jacobian_product_exponents([J[0] for J in rec.jacobians()[100:]])
    d = ann.diagnose(rec)
    print(f"{cell}: (1/T) log sigma_1 of the Jacobian product {lam[0]:.3f} per step; "
          f"BPTT ||delta_t|| decays by {d['log_rate_fit']:.3f} per step")
    try:
        cmp = ann.rnn_lyapunov_comparison(rnn, inputs, transient=100)
    except BiodynError as exc:  # biodyn.dynamics.lyapunov_spectrum not available in this version
        print(f"  (QR comparison skipped: {exc})")
        continue
    print(f"  QR Lyapunov exponents {np.round(cmp['qr_exponents'], 3)}, "
          f"Jacobian-product exponents {np.round(cmp['svd_exponents'], 3)}")
    if cell == "lstm":
        plot.save(plot.lyapunov_comparison(cmp), out / "lstm_lyapunov.png")
print(f"figures in {out}/ ({time.time() - start:.1f} s)")
