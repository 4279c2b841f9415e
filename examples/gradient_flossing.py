"""Gradient flossing (Engelken 2023): push the leading Lyapunov exponents of an RNN to zero before
and during training, and a long delay becomes trainable where plain backprop through time fails.

The same tanh RNN (same seed, same initial weights, same minibatches) is trained twice on
``TASK`` with a long delay by BPTT with Adam:

* plain — the task loss only;
* flossed — ``floss=K``: ``floss_epochs`` passes of flossing alone before training (the mean
  square of the first K Lyapunov exponents, estimated by the QR method under the task's input
  and differentiated through the QR steps), then the flossing loss (weight 10) added to the
  task loss in every ``floss_every``-th epoch.

Along training it records the test accuracy, the first K Lyapunov exponents (biodyn's numpy
QR spectrum of the network driven by the test inputs, 1000 steps: an independent measurement,
not the flossing estimate) and the condition number of the long-time Jacobian product that BPTT
multiplies over one test sequence, kappa_K = sigma_1 / sigma_K (the K directions flossing
controls) and kappa = sigma_1 / sigma_N (all of them). Prints the numbers and draws
OUT/gradient_flossing.png (accuracy; exponents; log10 condition numbers against the epoch).

Run:  python examples/gradient_flossing.py [OUT_FOLDER]      (default: results/; a few minutes)
The same runs from the command line:
    biodyn train delayed_copy --net rnn --hidden 32 --set delay=40 --set n_steps=60 --lr 0.003 \\
        --epochs 40 --batch-size 32 --floss 8 --floss-epochs 20 --floss-every 2 --floss-weight 10 --lyapunov-every 5 \\
        --out results
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from biodyn import learn  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
TASK, PARAMETERS = "delayed_copy", {"delay": 40, "n_steps": 60}
NET = dict(net="rnn", hidden=32, g=1.0, epochs=40, lr=0.003, optimizer="adam", batch_size=32, seed=0,
           lyapunov_every=5, lyapunov_steps=1000)
K = 8
FLOSS = dict(floss=K, floss_epochs=20, floss_every=2, floss_weight=10.0)


def run(**extra):
    # task parameters as parameters={...}, never as loose keywords (a task parameter named like a
    # training setting must not be taken for the setting)
    return learn.train(TASK, parameters=PARAMETERS, **NET, **extra)


def condition(r, k):
    """log10 kappa_k of the Jacobian product over one test sequence, per spectrum record."""
    mu = np.asarray(r.curves["jacobian_product_exponents"])
    T = PARAMETERS["n_steps"]
    return T * (mu[:, 0] - mu[:, k - 1]) / np.log(10.0)


runs = {"plain BPTT": run(), f"flossed (K = {K})": run(**FLOSS)}
OUT.mkdir(parents=True, exist_ok=True)
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
for (label, r), colour in zip(runs.items(), ("C0", "C3")):
    c = r.curves
    lam = np.asarray(c["lyapunov_exponents"])[:, :K]
    axes[0].plot(c["epoch"], c["test_metric"], color=colour, marker=".", label=label)
    for i in range(K):
        axes[1].plot(c["lyapunov_epoch"], lam[:, i], color=colour, lw=1.5 if i == 0 else 0.7,
                     label=label if i == 0 else None)
    axes[2].plot(c["lyapunov_epoch"], condition(r, K), color=colour, marker="o", label=label)
    e0 = list(c["lyapunov_epoch"]).index(0)
    print(f"{label}: test accuracy {c['test_metric'][0]:.3f} (untrained) -> {c['test_metric'][-1]:.3f} "
          f"(epoch {c['epoch'][-1]}), best {max(c['test_metric']):.3f}")
    for name, j in (("untrained", 0), ("start of training", e0), ("end", -1)):
        print(f"  {name} (epoch {c['lyapunov_epoch'][j]}): lambda_1..{K} = "
              + " ".join(f"{v:+.4f}" for v in lam[j]) + f" (per step, ± {np.max(c['lyapunov_se'][j][:K]):.4f}); "
              f"log10 kappa_{K} = {condition(r, K)[j]:.2f}, log10 kappa = {c['jacobian_log10_condition'][j]:.2f}")
    if "floss" in r.config:
        print(f"  flossing estimate at the start of training: " + " ".join(
            f"{v:+.4f}" for v in c["floss_exponents"][list(c["epoch"]).index(0)]))
axes[0].axhline(0.5, color="0.6", lw=0.8, ls=":")
axes[0].set(xlabel="epoch (negative: flossing before training)", ylabel="test accuracy (sign of output)",
            title=f"{TASK}, delay {PARAMETERS['delay']} steps", ylim=(0.4, 1.02))
axes[1].axhspan(-0.01, 0.01, color="0.85")
axes[1].axhline(0, color="0.5", lw=0.8)
axes[1].set(xlabel="epoch", ylabel="λ_i (1/step)", title=f"first {K} Lyapunov exponents (numpy QR, test input)")
axes[2].set(xlabel="epoch", ylabel=f"log10 κ_K = log10 σ_1/σ_{K}",
            title=f"Jacobian product over {PARAMETERS['n_steps']} steps (BPTT)")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7)
fig.suptitle(f"Gradient flossing (Engelken 2023): tanh RNN, N = {NET['hidden']}, g = {NET['g']}, Adam lr = "
             f"{NET['lr']}, seed {NET['seed']}", fontsize=10)
path = OUT / "gradient_flossing.png"
fig.savefig(path, dpi=120)
print(f"wrote {path}")
