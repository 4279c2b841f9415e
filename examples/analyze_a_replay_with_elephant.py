"""Analyse a replay's spike trains with Elephant and draw them with viziphant, as they come.

A replay writes a neo Block in PyNN's convention: every SpikeTrain carries ``source_population``,
``source_id``, ``channel_id`` and its condition's labels as quantities (here the step current
``current`` in nA), so Elephant and viziphant take it without any massaging. This script replays
the f-I curve of the leaky integrate-and-fire neuron (Dayan & Abbott 2001), reads the .pkl back
with neo, and computes with Elephant each neuron's mean rate and the coefficient of variation of
its inter-spike intervals (Softky & Koch 1993) over the step; then a viziphant raster.

    python examples/analyze_a_replay_with_elephant.py [OUT]
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import elephant.statistics as es  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import neo  # noqa: E402
import quantities as pq  # noqa: E402
import viziphant  # noqa: E402

from biodyn import io, jobs  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results/elephant")
result = jobs.replay("fi_curve", target="numpy", out=out)          # 41 currents, one Brian2 run
block = io.read(result.paths["block"])                              # the file, as a user reads it
seg = block.segments[0]

print(f"{len(seg.spiketrains)} trains; the first: {seg.spiketrains[0].name}, "
      f"annotations {sorted(seg.spiketrains[0].annotations)}")
first = seg.filter(channel_id=0, objects=neo.SpikeTrain)           # PyNN-style lookups work
print(f"channel_id 0: {[st.name for st in first]}")

# Elephant over the window the protocol counts (from 200 ms after the step onset to its end)
t0, t1 = 0.25 * pq.s, 1.05 * pq.s
print("current [nA]  rate (Elephant) [Hz]  rate (biodyn) [Hz]  CV of ISIs")
for st, cond in zip(seg.spiketrains, result.summary["conditions"]):
    current = st.annotations["current"]
    if float(current.magnitude) not in (1.0, 2.0, 3.0, 4.0):
        continue
    window = st.time_slice(t0, t1)
    rate = es.mean_firing_rate(window, t_start=t0, t_stop=t1).rescale(pq.Hz) if len(window) else 0 * pq.Hz
    cv = es.cv(es.isi(window)) if len(window) > 2 else float("nan")
    print(f"{float(current.rescale(pq.nA).magnitude):11.1f}  {float(rate.magnitude):19.2f}  "
          f"{cond['value']:18.2f}  {cv:10.2e}")

shown = list(seg.spiketrains[::4])
fig, ax = plt.subplots(figsize=(6.4, 4.0), constrained_layout=True)
viziphant.rasterplot.rasterplot(shown, axes=ax, s=2)
ax.set_yticks(range(len(shown)),
              [f"{float(st.annotations['current'].rescale(pq.nA).magnitude):.1f}" for st in shown])
ax.set_title("LIF f-I protocol: spikes at every 4th step current")
ax.set_ylabel("step current [nA]")
ax.set_xlabel("time [s]")
fig.savefig(out / "raster.png", dpi=120)
print(f"raster: {out / 'raster.png'}")
