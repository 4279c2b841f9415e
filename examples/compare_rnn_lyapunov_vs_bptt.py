"""The transition to chaos, read forward and backward: the largest Lyapunov exponent of a random
rate network and the growth of its backprop-through-time gradients.

The catalog's ``rate_rnn`` (Sompolinsky, Crisanti & Sommers 1988: tau dh/dt = -h + J tanh(h),
J_ij ~ N(0, g^2/N)), N = 200, for gains g from 0.5 to 3: lambda_max by the QR method
(biodyn.dynamics) and the BPTT growth rate (1/T) ln(|delta_0|/|delta_T|) of a loss at the
end, over the same stretch of the same trajectory. Below the transition both equal the
linearisation at h = 0 (about g - 1); lambda_max crosses 0 near g = 1 (for N -> infinity; a
finite network crosses a little above, with a marginal periodic regime just past g = 1), and
the BPTT gradients explode where it is positive and vanish where it is negative.

Run:  python examples/compare_rnn_lyapunov_vs_bptt.py [OUT_FOLDER]      (default: results/)
The same from the command line:
    biodyn compare rnn_lyapunov_vs_bptt --set duration=100 --json results/rnn.json
"""

import sys
from pathlib import Path

from biodyn import jobs

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")

result = jobs.compare("rnn_lyapunov_vs_bptt", seed=0, out=out, json=out / "rnn_lyapunov_vs_bptt.json",
                      settings={"g": [0.5, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0], "duration": 100.0,
                                "transient": 30.0, "align": 20.0})
s, S = result.comparison.series, result.summary["summary"]
for k, g in enumerate(s["g"]):
    print(f"g = {g:4.2f}: lambda_max {s['lambda_max'][k]:+.4f} ± {s['lambda_se'][k]:.4f}, BPTT growth "
          f"{s['bptt_rate'][k]:+.4f}, linearisation at 0 {s['lambda_linear'][k]:+.4f}, rms activity "
          f"{s['activity'][k]:.3f} (per {S['time_unit']})")
print(f"lambda_max crosses 0 at g = {S['crossing_g']:.3f}; the BPTT growth at g = {S['crossing_g_bptt']:.3f}; "
      f"largest |BPTT - lambda_max| = {S['max_rate_difference']:.4f}")
print(f"wrote {result.paths['figure']} and {result.paths['json']}")
