"""Protocols: classic experiments replayed on a model, scored against published data.

A protocol spec (TOML, ``kind = "protocol"``) names its default model and
parameter set, the stimulus, the conditions and the published measurements.
:func:`run` simulates every condition in ONE Brian2 run (conditions are
independent synapses or neurons) and returns a :class:`ProtocolResult` whose
``summary`` follows the JSON contract of ``biodyn replay``::

    {"protocol", "model", "parameter_set", "overrides", "variants", "parameters",
     "stimulus", "network", "inputs", "select", "record_dt", "seed", "target", "dt",
     "versions", "sources", "units", "conditions": [{"labels", "value", "data", "error"}],
     "score": {"chi", "n"}, "files": {"block", "figure"}}

Engines that can tell whether a value had settled by the end of the run (``poisson_network``:
the output rate, :func:`biodyn.protocols._network.rate_settledness`) add ``settled`` and
``settling`` to each condition and ``unsettled`` (indices) to the summary, with a note
naming those conditions; :attr:`ProtocolResult.settled` reads them.

It records everything that shaped the run (see :func:`summary`), and
:func:`rerun_arguments` turns it back into the arguments of :func:`run`
(``biodyn replay --from RESULT.json``).

Engines (how a protocol is simulated) are registered in :data:`ENGINES`:

* ``spike_pattern`` — scripted pre/post spike patterns through a synapse model
  (``bi_poo_1998``, ``sjostrom_2001``, ``wang_2005``);
* ``spike_trains`` — recorded spike trains from a neo file, one synapse per pair;
* ``poisson_network`` — a neuron per condition driven by plastic Poisson inputs (``song_2000``);
* ``neuron_pairing`` — pairings onto a model neuron whose spikes are evoked by current pulses, or
  a clamped neuron (``clopath_2010``, ``clopath_2010_clamp``);
* ``rate_inputs`` — a rate neuron per condition learning from random input vectors
  (``oja_pca``, ``bcm_selectivity``);
* ``current_steps`` — neuron models under current steps (``fi_curve``, ``firing_patterns``);
* ``poisson_inputs`` — a spike rule between Poisson inputs (optionally with lagged correlations)
  and a rate-driven or linear Poisson neuron (``triplet_poisson``, ``stdp_correlated_symmetric``,
  ``stdp_correlated_asymmetric``) or a model neuron (``clopath_correlated``), one circuit per
  condition: learning scenarios of ``biodyn analyze flow``.

On ``cpp_standalone`` a run keeps its compiled build in the process, and a
later run whose generated code would be the same (other parameter values,
other spike times of the same number) reruns the binary with the new values
(``run_args``) instead of generating and compiling code again; see :func:`run`.

:func:`run_batch` runs several points (other parameter values, seeds, or stimulus values
that change arrays, not code) as independent copies of ONE Brian2 run, each point's
result the one it gives alone; engines declare whether and how they batch
(:attr:`Engine.batch`, :attr:`Engine.batch_stimulus`).
Timings (``ProtocolResult.timings``, a sweep point's ``extra.timings``; not in the replay
JSON), wall-clock seconds, each key present only where its step happened
(:data:`TIMINGS` says it in full; :data:`TIMING_PARTS` what each is part of)::

    total                   the Brian2 run behind the result, from building its objects to
                            the values collected (in a batch: the whole batch's)
    per_point               this point's share: total / points run together (alone: total)
    batch                   in a batch only: = total (its earlier name)
    run                     Simulation.run (Brian2's Network.run with its code generation;
                            on cpp_standalone with build)          part of total
    rerun                   cpp_standalone, a kept build's binary run  part of total
    build                   cpp_standalone: code generation, compilation, first run
                                                                   part of run
    standalone_make         Brian2's timer of 'make'               part of build
    standalone_run_binary   Brian2's timer of the binary's run     part of build

In a batch, ``run``/``rerun``/``build``/``standalone_*`` are those of the batch's one Brian2
run, shared by its copies; add up ``per_point`` (not ``total``) over the points of a sweep.
"""

from ._engine import (ENGINES, TIMING_PARTS, TIMINGS, Engine, Outcome, Plan, ProtocolResult,
                      RunOptions, check_changes,
                      clear_builds, condition_text, format_time, record, register_engine, rerun_arguments,
                      resolve_model, run, run_batch, score, sources, summary)
from ._spec import Condition, ProtocolSpec, load
from . import (_network, _neuron_pairing, _neurons, _rate, _spike_pattern,  # noqa: F401
               _spike_trains)
from . import _poisson_inputs  # noqa: F401,E402  (engine of the flow scenarios)

__all__ = ["run", "load", "ProtocolSpec", "ProtocolResult", "Condition", "ENGINES", "Engine",
           "Outcome", "Plan", "RunOptions", "register_engine", "score", "summary", "resolve_model",
           "format_time", "clear_builds", "condition_text", "check_changes", "rerun_arguments", "sources", "record", "run_batch",
           "TIMINGS", "TIMING_PARTS"]
