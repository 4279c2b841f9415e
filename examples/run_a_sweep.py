"""Run a parameter sweep from Python, and check it against a closed form.

A sweep runs one job at every point of a grid (here: `replay` of the Bi & Poo 1998 pairing
protocol for three values of the pair rule's tau_plus) on a local dask cluster, writing one
result file per point and a summary CSV as points finish. Run it twice: the second run finds
every point finished and computes nothing (an interrupted sweep resumes the same way).

The same from the command line:
    biodyn sweep examples/sweeps/stdp_tau_plus.toml --workers 2

For the additive all-to-all pair rule with widely separated pairings, n pairings at
delta_t > 0 change the weight by n*A_plus*exp(-delta_t/tau_plus) (Song, Miller & Abbott 2000,
Nat Neurosci 3:919-926, doi:10.1038/78829), so the relative change from w0 is that over w0.

Run:  python examples/run_a_sweep.py [OUTPUT_FOLDER]
"""

import math
import sys
from pathlib import Path

from biodyn import protocols, sweep

HERE = Path(__file__).resolve().parent


def main(out=None):
    spec = sweep.load(HERE / "sweeps" / "stdp_tau_plus.toml")
    print(f"sweep {spec.name}: {len(spec.points)} points, job {spec.job}, seed {spec.seed}")
    result = sweep.run(spec, out=out, workers=2, progress=True)
    print(f"ran on {result.executor}: {result.computed} computed, {result.skipped} finished earlier")
    print(f"summary: {result.csv}")

    # The closed form, from the model's own parameter set (no number typed twice).
    protocol = protocols.load(spec.settings["protocol"])
    rule = protocols.resolve_model(protocol)
    a_plus = float(rule.namespace["A_plus"])
    w0 = float(protocol.initial["w"])
    n = int(spec.settings["stimulus"]["repetitions"])
    delta_t = 10.0  # ms
    print(f"\nrelative weight change at delta_t = +{delta_t:g} ms ({n} pairings, "
          f"{rule.spec.name}/{rule.parameter_set}):")
    print(f"{'tau_plus':>10s} {'model':>12s} {'closed form':>12s} {'rel. error':>11s}")
    worst = 0.0
    for row in result.table():
        tau = float(row["tau_plus [ms]"])
        model = float(row[f"value(delta_t={delta_t:g} ms)"])
        closed = n * a_plus * math.exp(-delta_t / tau) / w0
        err = abs(model - closed) / closed
        worst = max(worst, err)
        print(f"{tau:8.1f} ms {model:12.6f} {closed:12.6f} {err:11.2e}")
    print(f"largest relative error: {worst:.2e}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
