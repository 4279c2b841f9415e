"""Attach biodyn's plasticity rules to your own Brian2 groups, one line per pathway.

The catalog's rules are ordinary Brian2 ``Synapses``: ``biodyn.synapses(rule, source,
target, params, connect=..., transmit=...)`` works in any Brian2 script, on any target.
A rule changes ``w`` only; what ``w`` does to your neuron is your ``transmit`` statement.

This script builds a small conductance-based network in plain Brian2 and attaches

* triplet STDP (Pfister & Gerstner 2006) to the excitatory inputs,
* inhibitory STDP with a target rate (Vogels et al. 2011) to the inhibitory inputs,
* short-term depression (Tsodyks & Markram) to a second excitatory pathway,
* Oja's rule to a small rate network,

runs it, switches plasticity off for a test phase (``lr = 0``, no rebuild), and compares the
mean triplet weight change with the rule's rate reduction at the measured rates.

Run: ``python examples/plasticity_in_your_network.py`` (a few seconds on the numpy target).
"""

import numpy as np
from brian2 import (Hz, NeuronGroup, PoissonGroup, SpikeMonitor, TimedArray, defaultclock, mV,
                    ms, prefs, run, second, seed)

import biodyn
from biodyn.flow import rate_reduction

prefs.codegen.target = "numpy"
seed(2024)
np.random.seed(2024)
defaultclock.dt = 0.1 * ms

# ---------------------------------------------------------------- your network --------
taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
El, Ee, Ei = -70 * mV, 0 * mV, -80 * mV
neurons = NeuronGroup(
    10, """dv/dt = (El - v + ge*(Ee - v) + gi*(Ei - v)) / taum : volt
           dge/dt = -ge / taue : 1
           dgi/dt = -gi / taui : 1""",
    threshold="v > -54*mV", reset="v = -60*mV", refractory=2 * ms, method="euler")
neurons.v = El
exc = PoissonGroup(100, rates=12 * Hz)
exc_depressing = PoissonGroup(25, rates=30 * Hz)
inh = PoissonGroup(25, rates=10 * Hz)

# ---------------------------------------------------------------- plasticity: one line each
tri = biodyn.synapses("stdp_triplet", exc, neurons, "visual_all_to_all_minimal",
                      overrides={"w_max": "2"}, connect=True, transmit="ge_post += 0.05*w")
istdp = biodyn.synapses("istdp_vogels_2011", inh, neurons, connect=True,
                        transmit="gi_post += 0.04*w")
stp = biodyn.synapses("stp_tsodyks_markram", exc_depressing, neurons, "depressing",
                      connect=True, transmit="ge_post += 0.08*w*r")

# a rate network: 3 inputs with correlated fluctuations onto one linear rate neuron
rng = np.random.default_rng(1)
C = np.array([[1.0, 0.8, 0.2], [0.8, 1.0, 0.2], [0.2, 0.2, 0.5]])
stim = TimedArray(rng.multivariate_normal(np.zeros(3), C, size=4000), dt=1 * ms)
rate_in = NeuronGroup(3, "r = stim(t, i) : 1", dt=1 * ms)
rate_out = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"}, dt=1 * ms)
oja = biodyn.synapses("oja", rate_in, rate_out, connect=True, overrides={"eta": "5 Hz"},
                      init={"w": [0.3, -0.2, 0.1]}, dt=1 * ms)

spikes = SpikeMonitor(neurons)
spikes_in = SpikeMonitor(exc)

# ---------------------------------------------------------------- learning, then testing
T = 1.5 * second
w_tri0 = np.array(tri.w[:])
run(T)
rate_out_hz = spikes.num_spikes / (len(neurons) * T / second)
rate_in_hz = spikes_in.num_spikes / (len(exc) * T / second)
dw_tri = (np.array(tri.w[:]) - w_tri0).mean()
w_learned = np.array(tri.w[:])
for syn in (tri, istdp, oja):
    syn.lr = 0  # test phase: plasticity off, same objects, no rebuild
run(0.2 * second)
assert np.all(np.array(tri.w[:]) == w_learned)

# ---------------------------------------------------------------- what happened
red = rate_reduction("stdp_triplet", "visual_all_to_all_minimal", overrides={"w_max": "2"})
predicted = float(red.drift(nu_pre=rate_in_hz * Hz, nu_post=rate_out_hz * Hz)) * float(T / second)
evals, evecs = np.linalg.eigh(C)
pc1 = evecs[:, np.argmax(evals)]
w_oja = np.array(oja.w[:])

print(f"output rate {rate_out_hz:.1f} Hz, excitatory input {rate_in_hz:.1f} Hz")
print(f"triplet STDP: mean weight change {dw_tri:+.2e} over {T}; the rate reduction "
      f"{red.expression} predicts {predicted:+.2e} for independent Poisson trains at these rates "
      "(the difference: input-output spike correlations, which the reduction assumes away)")
w_inh = np.mean(istdp.w[:])
print(f"inhibitory STDP: mean inhibitory weight {w_inh:.3f} (from 1): "
      f"{'up, the output is above' if w_inh > 1 else 'down, the output is below'} the 3 Hz target rate")
print(f"short-term depression: release fraction of the last spikes {np.mean(stp.r[:]):.3f}; "
      f"stationary mean {rate_reduction('stp_tsodyks_markram', 'depressing').event_mean('pre', 'r', nu_pre=30 * Hz):.3f}")
print(f"Oja: |w| = {np.linalg.norm(w_oja):.3f}, |cos(w, PC1)| = {abs(w_oja @ pc1) / np.linalg.norm(w_oja):.3f}")
print("test phase with lr = 0: weights unchanged")
