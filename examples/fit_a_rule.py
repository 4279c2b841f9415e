"""Fit a plasticity rule's parameters to published data, and replay the fitted set.

Sjöström, Turrigiano & Nelson (2001) found that pairings at high frequency potentiate whatever
the order of the spikes. In the minimal triplet rule (Pfister & Gerstner 2006) this comes from
the triplet amplitude A3_plus. This script starts the rule from a wrong A3_plus, fits it by
weighted least squares (weights 1/SEM) to the data at 40 and 50 Hz, writes the fitted
parameter set as a TOML file, and replays the protocol with that file as --params.

    python examples/fit_a_rule.py [--target numpy|cpp_standalone] [--out fitted.toml]

The same from the command line (all frequencies, compiled; each evaluation reruns one build):

    biodyn fit sjostrom_2001 --free A3_plus,A2_minus --bounds A3_plus=0:0.05 --bounds A2_minus=0:0.05
    biodyn replay sjostrom_2001 --params sjostrom_2001-stdp_triplet-fit.toml
"""

import argparse

from biodyn import jobs, protocols


def main():
    parser = argparse.ArgumentParser(description="fit A3_plus of the triplet rule to Sjöström's data")
    parser.add_argument("--target", default="numpy", help="numpy (default), cython, cpp_standalone")
    parser.add_argument("--out", default="fitted_triplet.toml", help="the parameter-set file to write")
    args = parser.parse_args()
    high = protocols.load("sjostrom_2001").select(lambda labels: labels["frequency"] >= 40)
    result = jobs.fit(high, free=["A3_plus"], overrides={"A3_plus": "0.02"},
                      bounds={"A3_plus": (0.0, 0.05)}, starts=1, max_evaluations=10,
                      target=args.target, out=args.out)
    print(f"A3_plus: {result.start_values['A3_plus']} -> {result.values['A3_plus']} "
          f"(Pfister & Gerstner 2006: 6.5e-3)")
    print(f"chi: {result.chi_before:.3f} -> {result.chi_after:.3f} over {result.n} conditions, "
          f"{result.evaluations} replays")
    replay = protocols.run(high, params=str(result.path), target=args.target, block=False)
    print(f"replay with --params {result.path}: chi = {replay.summary['score']['chi']:.3f}")


if __name__ == "__main__":
    main()
