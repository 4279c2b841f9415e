"""Replay a classic experiment on a model and see how it compares with the data.

Wang, Gerkin, Nauen & Bi (2005) paired pre- and postsynaptic spikes in triplets: post-pre-post
triplets potentiate, symmetric pre-post-pre triplets do not. A rule that sums spike pairs cannot
tell them apart; the triplet rule of Pfister & Gerstner (2006) can. This script replays the
protocol (20 spike patterns, 60 repetitions at 1 Hz, all in one Brian2 run) with the minimal
triplet rule fitted to hippocampal data, and with the same rule without its triplet term, and
prints each one's score (chi: the root mean square of (model - data)/SEM).

    python examples/replay_a_protocol.py [--target numpy|cpp_standalone] [--out results/]

The same from the command line:

    biodyn replay wang_2005 --params hippocampal_all_to_all_minimal
    biodyn replay wang_2005 --params hippocampal_all_to_all_minimal --set A3_plus=0
"""

import argparse

from biodyn import jobs


def main():
    parser = argparse.ArgumentParser(description="replay wang_2005 with and without triplet terms")
    parser.add_argument("--target", default="numpy", help="numpy (default), cython, cpp_standalone")
    parser.add_argument("--out", default="results", help="output folder")
    args = parser.parse_args()
    for label, overrides, out in (("triplet rule", {}, f"{args.out}/triplet"),
                                  ("pair terms only", {"A3_plus": "0"}, f"{args.out}/pairs_only")):
        result = jobs.replay("wang_2005", params="hippocampal_all_to_all_minimal", overrides=overrides,
                             target=args.target, out=out)
        s = result.summary
        print(f"{label:16s} chi = {s['score']['chi']:.2f} over {s['score']['n']} triplets")
        for c in s["conditions"][:8]:
            kind = "pre-post-pre " if c["labels"]["pattern"] == 0 else "post-pre-post"
            print(f"    {kind} ({c['labels']['dt1']:+4g}, {c['labels']['dt2']:+4g}) ms: model "
                  f"{c['value']:+.3f}, data {c['data']:+.3f} +- {c['error']:.3f}")
        print(f"    files: {result.paths['json']}, {result.paths['figure']}, {result.paths['block']}")


if __name__ == "__main__":
    main()
