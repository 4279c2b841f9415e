"""Use biodyn's catalog models inside your own Brian2 script.

biodyn builds ordinary Brian2 objects (NeuronGroup, Synapses) from its model specs,
with the parameter values of a published set and their citation attached. Everything
else — monitors, inputs, networks, targets — is plain Brian2.

Here: 20 leaky integrate-and-fire neurons (Dayan & Abbott 2001 parameters) receive
Poisson input through synapses with pair-based STDP (Song, Miller & Abbott 2000).
Run:  python examples/use_a_model_in_your_brian2_script.py
"""

import numpy as np
from brian2 import (Hz, PoissonGroup, SpikeMonitor, StateMonitor, defaultclock, mV, ms, nA,
                    prefs, run, second, seed)

import biodyn

prefs.codegen.target = "numpy"  # any Brian2 target works; numpy needs no compiler
defaultclock.dt = 0.1 * ms
seed(2024)

# 1. Neurons from the catalog: `biodyn show lif` prints the equations and parameter sets.
neurons = biodyn.neurons("lif", 20, params="dayan_abbott_2001", overrides={"tau_m": "20 ms"})
neurons.I = "1.2*nA"  # just below rheobase: (v_th - E_L)/R = 1.5 nA

# 2. Plasticity from the catalog, attached to your own groups. The rule changes w only;
#    what a weight does to the neuron is yours to say (`transmit`).
inputs = PoissonGroup(100, rates=15 * Hz)
synapses = biodyn.synapses("stdp_pair", inputs, neurons, connect="rand() < 0.5",
                           transmit="v_post += 1.5*mV * w")
synapses.w = "rand()"  # initial weights in [0, w_max]
w_start = np.array(synapses.w[:])

spikes = SpikeMonitor(neurons)
weights = StateMonitor(synapses, "w", record=range(3), dt=10 * ms)
run(2 * second)

resolved = biodyn.build.resolved_of(synapses)
print(f"rule: {resolved.spec.name} ({resolved.parameter_set}: {resolved.citation.short()})")
print(f"output rate: {spikes.num_spikes / (20 * 2.0):.1f} Hz per neuron")
print(f"mean weight: {w_start.mean():.3f} -> {np.mean(synapses.w[:]):.3f} "
      f"over {len(w_start)} synapses")

# 3. Freeze plasticity for a test phase, without rebuilding anything.
synapses.lr = 0
w_frozen = np.array(synapses.w[:])
run(0.5 * second)
assert np.array_equal(w_frozen, synapses.w[:]), "weights must not change while lr = 0"
print("plasticity frozen (lr = 0): weights unchanged over a 0.5 s test phase")
