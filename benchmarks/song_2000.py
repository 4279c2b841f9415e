"""Benchmark: the song_2000 network through biodyn against the same network in plain Brian2.

The network (Song, Miller & Abbott 2000): one conductance-based LIF neuron, 1000 excitatory
Poisson inputs (10 Hz) through additive pair-based STDP, 200 inhibitory Poisson inputs (10 Hz),
100 s of simulated time, dt = 0.1 ms, both on cpp_standalone in this one process.

* biodyn: ``protocols.run("song_2000", select=[0])`` — the first condition of the protocol
  (10 Hz, no correlated group). Inputs are Poisson spike times drawn event by event (numpy)
  and replayed by SpikeGeneratorGroups; parameters and initial values are command-line
  arguments of the binary (run_args). "cold" builds into an empty cache folder; "warm" is a
  second replay in the same process with another A_plus: it reruns the compiled binary.
* plain Brian2: the same equations written directly (``benchmarks/plain_song.py``, shared with
  ``benchmarks/sweep_throughput.py``), with PoissonGroups (one random draw per input per time
  step), built into its own folder.

Printed: the simulation time of each (the binary's run time), their ratio, the cold and warm
total wall time of the biodyn replay, the peak memory of this process and of the simulation
binaries, and the output rates (a sanity check: both networks should fire at similar rates).

Run: python benchmarks/song_2000.py [--duration SECONDS]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_mb(who):
    usage = resource.getrusage(who)
    return usage.ru_maxrss / 1024.0  # kB on Linux


def biodyn_runs(duration):
    from biodyn import protocols

    stim = {"duration": f"{duration} second"}
    t0 = time.perf_counter()
    cold = protocols.run("song_2000", target="cpp_standalone", select=[0], stimulus=stim, seed=1)
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = protocols.run("song_2000", target="cpp_standalone", select=[0], stimulus=stim, seed=1,
                         overrides={"A_plus": "0.0051"})
    t_warm = time.perf_counter() - t0
    return cold, t_cold, warm, t_warm


def plain_brian2(duration, directory):
    """The same network, written directly in Brian2 (``plain_song.py``: PoissonGroup inputs)."""
    from brian2 import set_device

    from plain_song import song_network

    net = song_network(duration, directory)
    dev = net["device"]
    t0 = time.perf_counter()
    dev.build(directory=str(directory), compile=True, run=True, with_output=False)
    total = time.perf_counter() - t0
    rate = net["spikes"].num_spikes / duration
    binary = dev.timers["run_binary"]
    set_device("runtime")
    return binary, total, rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=100.0, help="simulated seconds (default 100)")
    args = parser.parse_args()
    from brian2 import prefs

    prefs.logging.console_log_level = "ERROR"
    cache = Path(tempfile.mkdtemp(prefix="biodyn_bench_cache_"))
    os.environ["BIODYN_CACHE"] = str(cache)
    try:
        cold, t_cold, warm, t_warm = biodyn_runs(args.duration)
        plain_dir = cache / "plain_brian2"
        plain_sim, plain_total, plain_rate = plain_brian2(args.duration, plain_dir)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    sim_cold = cold.timings.get("standalone_run_binary", float("nan"))
    sim_warm = warm.timings.get("rerun", float("nan"))
    print(f"song_2000 network: 1000 excitatory + 200 inhibitory Poisson inputs, {args.duration:g} s, "
          "dt 0.1 ms, cpp_standalone")
    print(f"  biodyn simulation (binary run, cold build): {sim_cold:8.3f} s")
    print(f"  biodyn simulation (rerun, new A_plus):      {sim_warm:8.3f} s")
    print(f"  plain Brian2 simulation (PoissonGroup):     {plain_sim:8.3f} s")
    print(f"  ratio plain / biodyn simulation:            {plain_sim / sim_cold:8.2f} x (cold binary), "
          f"{plain_sim / sim_warm:.2f} x (rerun incl. reading results)")
    print(f"  biodyn total wall time, cold (empty cache): {t_cold:8.3f} s")
    print(f"  biodyn total wall time, warm (rerun):       {t_warm:8.3f} s")
    print(f"  plain Brian2 total (code generation, compilation, run): {plain_total:.3f} s")
    print(f"  peak memory: this process {peak_mb(resource.RUSAGE_SELF):.0f} MB, simulation binaries "
          f"{peak_mb(resource.RUSAGE_CHILDREN):.0f} MB (largest child, incl. the compiler)")
    whole = cold.extra["output_spikes"][0].size / args.duration
    print(f"  output rate over the whole run: biodyn {whole:.2f} Hz, plain Brian2 {plain_rate:.2f} Hz "
          f"(other random inputs); biodyn over the last 10 s: {cold.values[0]:.2f} Hz "
          f"(warm, A_plus 0.0051: {warm.values[0]:.2f} Hz)")


if __name__ == "__main__":
    main()
