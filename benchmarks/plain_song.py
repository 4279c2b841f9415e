"""The song_2000 neuron written directly in plain Brian2: the reference of the benchmarks.

One conductance-based LIF neuron (Song, Miller & Abbott 2000) with 1000 excitatory
``PoissonGroup`` inputs (one random draw per input per time step) through additive pair STDP
(``(event-driven)`` traces) and 200 inhibitory ``PoissonGroup`` inputs at 10 Hz, on a
cpp_standalone device of its own, dt = 0.1 ms. ``A_plus`` is a shared constant variable and the
excitatory rate a variable of the group, so that one build reruns with other values through
``device.run(run_args={stdp.A_plus: ..., exc.rates: ...})`` (``benchmarks/sweep_throughput.py``);
``benchmarks/song_2000.py`` builds and runs it once.
"""

from __future__ import annotations


def song_network(duration, directory, a_plus=0.005, rate=10.0):
    """Record the network's run of ``duration`` seconds on a new standalone device (not built).

    Returns a dict: ``device`` (build it with ``device.build(directory=..., ...)``), ``stdp``
    (the plastic synapses: ``stdp.A_plus``, ``stdp.w``), ``exc`` (``exc.rates``) and
    ``spikes`` (the output SpikeMonitor). The caller sets the runtime device back
    (``set_device("runtime")``) when done.
    """
    import brian2
    from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, mV, ms,
                        second, set_device)
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    dev = CPPStandaloneDevice()
    set_device(dev, build_on_run=False, directory=str(directory))
    brian2.start_scope()
    brian2.defaultclock.dt = 0.1 * ms
    ns = dict(tau_m=20 * ms, E_L=-70 * mV, v_th=-54 * mV, v_reset=-60 * mV, E_e=0 * mV,
              E_i=-70 * mV, tau_e=5 * ms, tau_i=5 * ms, g_max=0.015, g_inh=0.05,
              tau_plus=20 * ms, tau_minus=20 * ms)
    neuron = NeuronGroup(1, """
        dv/dt = (E_L - v + g_e*(E_e - v) + g_i*(E_i - v)) / tau_m : volt
        dg_e/dt = -g_e / tau_e : 1
        dg_i/dt = -g_i / tau_i : 1
        """, threshold="v > v_th", reset="v = v_reset", method="rk4", namespace=ns, name="neuron")
    neuron.v = -70 * mV
    exc = PoissonGroup(1000, rates=rate * Hz, name="exc")
    inh = PoissonGroup(200, rates=10 * Hz, name="inh")
    stdp = Synapses(exc, neuron, """
        w : 1
        A_plus : 1 (shared, constant)
        dapre/dt = -apre / tau_plus : 1 (event-driven)
        dapost/dt = -apost / tau_minus : 1 (event-driven)
        """, on_pre="""
        g_e_post += w*g_max
        apre += 1
        w = clip(w - 1.05*A_plus*apost, 0, 1)
        """, on_post="""
        apost += 1
        w = clip(w + A_plus*apre, 0, 1)
        """, namespace=ns, name="stdp")
    stdp.connect()
    stdp.w = "rand()"
    stdp.A_plus = a_plus
    inhib = Synapses(inh, neuron, on_pre="g_i_post += g_inh", namespace=ns, name="inhib")
    inhib.connect()
    spikes = SpikeMonitor(neuron, name="spikes")
    net = Network(neuron, exc, inh, stdp, inhib, spikes)
    net.run(duration * second, namespace={})
    return {"device": dev, "stdp": stdp, "exc": exc, "spikes": spikes}
