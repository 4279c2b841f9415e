"""Benchmark: the song_2000 network through biodyn against the same network in plain Brian2.

The network (Song, Miller & Abbott 2000): one conductance-based LIF neuron, 1000 excitatory
Poisson inputs (10 Hz) through additive pair-based STDP, 200 inhibitory Poisson inputs (10 Hz),
100 s of simulated time, dt = 0.1 ms, both on cpp_standalone in this one process.

* biodyn: ``protocols.run("song_2000", select=[0])`` — the first condition of the protocol
  (10 Hz, no correlated group). Inputs are Poisson spike times drawn event by event (numpy)
  and replayed by SpikeGeneratorGroups; parameters and initial values are command-line
  arguments of the binary (run_args). "cold" builds into an empty cache folder; "warm" is a
  second replay in the same process with another A_plus: it reruns the compiled binary.
* plain Brian2: the same equations written directly, with PoissonGroups (one random draw per
  input per time step) and constants in the generated code, built into its own folder.

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
    """The same network, written directly in Brian2 (PoissonGroup inputs)."""
    import brian2
    from brian2 import (Hz, Network, PoissonGroup, NeuronGroup, SpikeMonitor, Synapses, mV, ms,
                        second, set_device, device)
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    dev = CPPStandaloneDevice()
    set_device(dev, build_on_run=False, directory=str(directory))
    brian2.start_scope()
    brian2.defaultclock.dt = 0.1 * ms
    ns = dict(tau_m=20 * ms, E_L=-70 * mV, v_th=-54 * mV, v_reset=-60 * mV, E_e=0 * mV,
              E_i=-70 * mV, tau_e=5 * ms, tau_i=5 * ms, g_max=0.015, g_inh=0.05,
              tau_plus=20 * ms, tau_minus=20 * ms, A_plus=0.005, A_minus=1.05 * 0.005)
    neuron = NeuronGroup(1, """
        dv/dt = (E_L - v + g_e*(E_e - v) + g_i*(E_i - v)) / tau_m : volt
        dg_e/dt = -g_e / tau_e : 1
        dg_i/dt = -g_i / tau_i : 1
        """, threshold="v > v_th", reset="v = v_reset", method="rk4",
        namespace=ns, name="neuron")
    neuron.v = -70 * mV
    exc = PoissonGroup(1000, rates=10 * Hz, name="exc")
    inh = PoissonGroup(200, rates=10 * Hz, name="inh")
    stdp = Synapses(exc, neuron, """
        w : 1
        dapre/dt = -apre / tau_plus : 1 (event-driven)
        dapost/dt = -apost / tau_minus : 1 (event-driven)
        """, on_pre="""
        g_e_post += w*g_max
        apre += 1
        w = clip(w - A_minus*apost, 0, 1)
        """, on_post="""
        apost += 1
        w = clip(w + A_plus*apre, 0, 1)
        """, namespace=ns, name="stdp")
    stdp.connect()
    stdp.w = "rand()"
    inhib = Synapses(inh, neuron, on_pre="g_i_post += g_inh", namespace=ns, name="inhib")
    inhib.connect()
    spikes = SpikeMonitor(neuron, name="spikes")
    net = Network(neuron, exc, inh, stdp, inhib, spikes)
    net.run(duration * second, namespace={})
    t0 = time.perf_counter()
    dev.build(directory=str(directory), compile=True, run=True, with_output=False)
    total = time.perf_counter() - t0
    rate = spikes.num_spikes / duration
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
