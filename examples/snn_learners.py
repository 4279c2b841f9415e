"""Every learner on every spiking task: BPTT, e-prop (symmetric and random feedback), a trained
read-out alone and reward-modulated STDP, on the same spiking network, read on the same axes.

For each task and learner, ``biodyn.jobs.train_snn`` (what ``biodyn train TASK --net lif
--learner L`` runs) trains a recurrent network of catalog LIF neurons and writes, under
``OUT/TASK/``, the trained weights (``.npz``), the learning curves (``.png``) and the JSON
document (``TASK-LEARNER.json``: configuration, curves, the metric re-run in Brian2, and the
trained network's dynamics in Brian2). The script then prints, and writes to
``OUT/snn_learners.md`` (and ``.json``), one table:

* the task's test metric before and after training (accuracy, sign accuracy, or R^2);
* the alignment of the learner's update with the BPTT surrogate gradient on the same
  minibatch (cosine; the mean over epochs and the last epoch's; 1 for BPTT by definition;
  for ``readout`` |g_out|/|g|; for ``rstdp`` the whole update, rule and delta-rule read-out);
* the trained network's largest Lyapunov exponent by two copies in Brian2 (per second;
  ``-inf`` when the copies merge), and its finite-size version (separation 1 SD: the
  instability of spike patterns, Monteforte & Wolf 2012);
* the mean firing rate on the test set.

Tasks and learners: ``spike_patterns`` (classification, Gütig & Sompolinsky 2006),
``temporal_xor`` and ``delayed_copy`` (analog ±1 streams encoded as spikes; Engelken 2023),
``spike_sine_generation`` (pattern generation, Bellec et al. 2020 Fig. 2) and
``cue_accumulation`` (Bellec et al. 2020 Fig. 3). ``rstdp``'s third factor is the trial's reward
minus a running baseline: +1/-1 for a right/wrong class, else minus the trial's loss (MSE) — a
reward for regression as well as for classification (Frémaux & Gerstner 2016), so every learner
trains every task.

Per-task settings are in ``SETTINGS`` below (a task's ``[training.spiking]`` table gives its
defaults; what is set here wins). ``neuron`` is the catalog model of the network:
``cue_accumulation`` runs on ``"alif"`` (adaptive LIF, as Bellec et al. use for it).

Run:   python examples/snn_learners.py [--out results/snn_learners] [--quick]
       [--tasks spike_patterns,temporal_xor] [--learners bptt,eprop]
``--quick``: few epochs and short sequences (a smoke run of every cell of the table, minutes;
its numbers are not the learners' performance). Without it the full table takes one to two
hours of CPU (cue_accumulation's 1700-step trials are the longest).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

LEARNERS = ("bptt", "eprop", "eprop_random", "readout", "rstdp")

# ---------------------------------------------------------------------------------------------
# Per-task settings (keyword arguments of biodyn.jobs.train_snn). ``neuron``: the catalog model.
# ``task``: task-parameter overrides, passed as ``parameters={...}`` (not as loose keywords: a
# task parameter may share a name with a training setting, e.g. ``rate``). ``by_learner``:
# per-learner overrides. ``quick``: what --quick changes. A task's [training.spiking] table
# supplies whatever is not set here.
# ---------------------------------------------------------------------------------------------
SETTINGS = {
    "spike_patterns": {
        "neuron": "lif", "hidden": 32, "epochs": 15, "lr": 0.02, "batch_size": 32,
        "quick": {"epochs": 2, "hidden": 16},
    },
    "temporal_xor": {
        "neuron": "lif",  # hidden, epochs, lr, encoding, ...: tasks/temporal_xor.toml [training.spiking]
        "quick": {"epochs": 2, "hidden": 16, "task": {"n_steps": 20}},
    },
    "delayed_copy": {
        "neuron": "lif",  # tasks/delayed_copy.toml [training.spiking]
        "quick": {"epochs": 2, "hidden": 16, "task": {"n_steps": 20}},
    },
    "spike_sine_generation": {
        "neuron": "lif",  # tasks/spike_sine_generation.toml [training.spiking]
        "quick": {"epochs": 2, "hidden": 16, "task": {"n_steps": 200, "frequencies": [0.005, 0.01, 0.015, 0.025]}},
    },
    "cue_accumulation": {
        "neuron": "alif",  # adaptive LIF, as Bellec et al. 2020 (Fig. 3); tasks/cue_accumulation.toml [training.spiking]
        "by_learner": {"bptt": {"epochs": 15}},
        "quick": {"epochs": 1, "hidden": 16,
                  "task": {"n_cues": 3, "cue_steps": 20, "gap_steps": 10, "delay_steps": 50, "recall_steps": 20}},
    },
}


def _settings(task, learner, quick):
    s = {k: v for k, v in SETTINGS[task].items() if k not in ("quick", "by_learner")}
    s.update(SETTINGS[task].get("by_learner", {}).get(learner, {}))
    if quick:
        s.update(SETTINGS[task].get("quick", {}))
    return s


def run_one(task, learner, out, seed, quick, dynamics=True):
    from biodyn import jobs

    s = _settings(task, learner, quick)
    neuron, overrides = s.pop("neuron"), s.pop("task", {})
    folder = out / task
    json_path = folder / f"{task}-{learner}.json"
    t0 = time.perf_counter()
    job = jobs.train_snn(task, neuron=neuron, learner=learner, seed=seed, out=folder, json=json_path,
                         dynamics=dynamics, dynamics_duration=0.5 if quick else 2.0,
                         brian_check=4 if quick else 16, parameters=overrides, **s)
    doc = job.summary
    curves, final = doc["curves"], doc["final"]
    align = [a for a in curves["alignment"][1:] if a is not None]
    dyn = doc.get("dynamics", {})
    row = {"task": task, "learner": learner, "neuron": neuron, "metric": doc["config"]["task"]["metric"],
           "metric_start": curves["test_metric"][0], "metric_final": final["test_metric"],
           "alignment_mean": sum(align) / len(align) if align else None,
           "alignment_final": align[-1] if align else None,
           "lambda_max_per_s": dyn.get("lambda_max_per_s"), "lambda_finite_per_s": dyn.get("lambda_finite_per_s"),
           "rate_hz": final["rate_hz"], "metric_brian": doc.get("brian", {}).get("test_metric_brian"),
           "hidden": doc["config"]["hidden"], "epochs": doc["config"]["epochs"], "lr": doc["config"]["lr"],
           "seconds": time.perf_counter() - t0, "json": str(json_path), "figure": str(job.paths.get("figure"))}
    return row


def table(rows):
    head = ("| task | learner | metric | test metric (start → final) | in Brian2 (first 16 test seq.; 4 with --quick) "
            "| alignment with BPTT (mean / final) | λmax (1/s) | λ finite-size (1/s) | rate (Hz) |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lam = "-inf" if r["lambda_max_per_s"] is None else f"{r['lambda_max_per_s']:.3g}"
        lamf = "n/a" if r["lambda_finite_per_s"] is None else f"{r['lambda_finite_per_s']:.3g}"
        al = ("n/a" if r["alignment_mean"] is None else
              f"{r['alignment_mean']:.2f} / {r['alignment_final']:.2f}")
        brian = "n/a" if r["metric_brian"] is None else f"{r['metric_brian']:.3f}"
        lines.append(f"| {r['task']} | {r['learner']} | {r['metric']} | {r['metric_start']:.3f} → "
                     f"{r['metric_final']:.3f} | {brian} | {al} | {lam} | {lamf} | {r['rate_hz']:.3g} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="results/snn_learners", help="output folder (default results/snn_learners)")
    p.add_argument("--quick", action="store_true", help="few epochs, short sequences: a smoke run")
    p.add_argument("--tasks", default=",".join(SETTINGS), help="comma-separated tasks (default all)")
    p.add_argument("--learners", default=",".join(LEARNERS), help="comma-separated learners (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-dynamics", action="store_true", help="skip the Lyapunov exponents in Brian2")
    a = p.parse_args(argv)
    tasks, learners = a.tasks.split(","), a.learners.split(",")
    for t in tasks:
        if t not in SETTINGS:
            p.error(f"--tasks: {t!r} is not one of {', '.join(SETTINGS)}")
    for lrn in learners:
        if lrn not in LEARNERS:
            p.error(f"--learners: {lrn!r} is not one of {', '.join(LEARNERS)}")
    out = Path(a.out)
    rows = []
    for t in tasks:
        for lrn in learners:
            print(f"{t} / {lrn} ...", file=sys.stderr, flush=True)
            row = run_one(t, lrn, out, a.seed, a.quick, dynamics=not a.no_dynamics)
            print(f"  {row['metric']} {row['metric_start']:.3f} -> {row['metric_final']:.3f}, "
                  f"{row['seconds']:.0f} s", file=sys.stderr, flush=True)
            rows.append(row)
    text = table(rows)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    mode = "quick (smoke run: not the learners' performance)" if a.quick else "full"
    (out / "snn_learners.md").write_text(f"Spiking learners on spiking tasks, seed {a.seed}, {mode}.\n\n{text}\n")
    (out / "snn_learners.json").write_text(json.dumps({"seed": a.seed, "quick": a.quick, "rows": rows}, indent=1))
    print(f"wrote {out / 'snn_learners.md'} and {out / 'snn_learners.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
