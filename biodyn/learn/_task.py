"""Task specs: ``kind = "task"`` TOML files (catalog group ``tasks``).

A task spec names its generator (one of :data:`biodyn.learn.GENERATORS`), its parameters,
the sizes of its train and test sets, the readout, the loss and the metric, and its
citation::

    kind = "task"
    description = "3-bit flip-flop: hold the sign of the last pulse on each of 3 channels"
    generator = "flipflop_3bit"
    readout = "all"          # "all": a target at every step; "last": one label per sequence
    loss = "mse"             # mse (PyTorch's MSELoss over the scored entries) | cross_entropy
    metric = "sign_accuracy" # sign_accuracy | accuracy | r2

    [parameters]
    n_steps = {value = 100, unit = "step", doc = "sequence length"}
    pulse_prob = {value = 0.05, unit = "1/step", doc = "pulse probability per step and channel"}

    [sizes]
    train = 512
    test = 256

    [citation]
    authors = "Sussillo D, Barak O"
    year = 2013
    journal = "Neural Comput 25:626-649"
    doi = "10.1162/NECO_a_00409"

    [training]               # optional: defaults of biodyn train for this task
    hidden = 32
    epochs = 60
    lr = 0.003
    batch_size = 16
    source = "where these values come from"

The ``[training]`` table sets the hyperparameters :func:`biodyn.learn.train` (and ``biodyn
train``, and ``job = "train"`` sweeps) use for this task when the caller does not give them
(``hidden``, ``epochs``, ``lr``, ``batch_size``, ``g``, ``optimizer``; the others from
:data:`TRAIN_DEFAULTS`), with ``source`` saying why: a task whose difficulty needs more updates
or a smaller step than the generic defaults carries its own.

Its sub-table ``[training.spiking]`` does the same for spiking networks (``biodyn train TASK
--net lif``, :func:`biodyn.learn._snn.train_snn`): the ``neuron`` model the values were tuned for
(a catalog neuron the spiking reading supports, e.g. ``"alif"``; without it, ``lif``), ``hidden``,
``epochs``, ``lr``, ``batch_size``, ``optimizer``, the initial weight scales ``w_in``, ``w_rec``, the time constants ``tau_syn``,
``tau_out`` (text with units) and, for tasks with analog inputs, their encoding as spikes
(``encoding``, ``rate``, ``steps_per_sample``, ``n_per_channel``), with its own ``source``. A
rate network's values are not used for a spiking one (their scales differ: a surrogate-gradient
step on weights in nA is not a step on a tanh unit's weights); what the sub-table does not set
takes the spiking learner's generic defaults. Explicit arguments and flags always win. Its
``parameters`` (e.g. ``{delay = 2}``) are task parameters a spiking network is trained with
when the caller does not set them (``--set``): a task a rate network solves may need a shorter
horizon to be learnable by a spiking one in CPU minutes; the values used are recorded in the
result (``config.task.parameters``) and printed by ``biodyn train``.

Time is discrete: the networks are maps, one step per input sample, so durations are in
``step`` and rates in ``1/step`` (frequencies in ``cycle/step``); a parameter is a plain
number (dimensionless) or a table ``{value, unit, doc}``, and its unit must be the one the
generator expects (:data:`PARAMETER_UNITS`). Data sets are seeded: the training set of seed
``s`` is drawn with ``numpy.random.default_rng([s, 0])``, the test set with
``default_rng([s, 1])`` (independent streams of one seed).

Metrics (computed on the scored entries, see :class:`~biodyn.learn.Batch`):
``sign_accuracy`` — fraction of entries where :math:`\\mathrm{sign}(y) = \\mathrm{sign}(t)`, among
those with :math:`t \\ne 0` (a flip-flop channel before its first pulse has no sign to hold);
``accuracy`` — fraction of sequences whose arg-max output is the label; ``r2`` —
:math:`1 - \\sum (y-t)^2/\\sum (t-\\bar t)^2`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .. import catalog
from ..errors import SpecError, display_path, suggest
from ..spec import Citation, Key, _citation, check_table, read_toml
from ._generators import GENERATORS, Batch

__all__ = ["Task", "load_task", "task_with", "TASK_KEYS", "METRICS", "PARAMETER_UNITS", "TRAIN_DEFAULTS", "SOURCES",
           "settings_with_sources", "metric_value", "call_parameters"]

TASK_KEYS = {
    "kind": Key((str,), True, "'task'"),
    "description": Key((str,), True, "what the task asks of the network, with its origin"),
    "notes": Key((str,), False, "free text"),
    "generator": Key((str,), True, "one of " + ", ".join(GENERATORS)),
    "readout": Key((str,), True, "'all' (a target at every step) or 'last' (one label per sequence)"),
    "loss": Key((str,), True, "'mse' or 'cross_entropy'"),
    "metric": Key((str,), True, "'sign_accuracy', 'accuracy' or 'r2'"),
    "parameters": Key((dict,), False, "generator parameter -> number or {value, unit, doc}"),
    "sizes": Key((dict,), True, "{train = N, test = M}: number of sequences"),
    "citation": Key((dict,), True, "{authors, year, journal, doi}"),
    "training": Key((dict,), False, "default training hyperparameters {hidden, epochs, lr, batch_size, g, "
                    "optimizer, source}"),
}
_PARAM_KEYS = {
    "value": Key((int, float, list), True, "the value"),
    "unit": Key((str,), False, "its unit: step, 1/step, cycle/step or 1"),
    "doc": Key((str,), False, "what it is"),
}
_TRAINING_KEYS = {
    "hidden": Key((int,), False, "hidden units H"),
    "epochs": Key((int,), False, "passes over the training set"),
    "lr": Key((int, float), False, "learning rate"),
    "batch_size": Key((int,), False, "sequences per update"),
    "g": Key((int, float), False, "recurrent gain of the initial weights"),
    "optimizer": Key((str,), False, "a biodyn.ann optimiser"),
    "source": Key((str,), False, "where these values come from (citation, measurement)"),
    "spiking": Key((dict,), False, "defaults of spiking networks (--net lif): {neuron, hidden, epochs, lr, batch_size, "
                   "optimizer, w_in, w_rec, tau_syn, tau_out, encoding, rate, steps_per_sample, n_per_channel, "
                   "source}"),
}
_SPIKING_KEYS = {
    "neuron": Key((str,), False, "the catalog neuron model of the network (biodyn.snn.read: lif, alif, adex, "
                  "lif_cond, ...)"),
    "hidden": Key((int,), False, "spiking neurons H"),
    "epochs": Key((int,), False, "passes over the training set"),
    "lr": Key((int, float), False, "learning rate"),
    "batch_size": Key((int,), False, "sequences per update"),
    "optimizer": Key((str,), False, "a biodyn.ann optimiser"),
    "w_in": Key((int, float), False, "initial input weight scale (weight units)"),
    "w_rec": Key((int, float), False, "initial recurrent gain"),
    "tau_syn": Key((str,), False, "synaptic time constant with unit, e.g. '5 ms'"),
    "tau_out": Key((str,), False, "read-out time constant with unit, e.g. '20 ms'"),
    "encoding": Key((str,), False, "analog inputs as spikes: 'poisson' or 'latency'"),
    "rate": Key((str,), False, "maximal rate of the poisson encoding with unit, e.g. '100 Hz'"),
    "steps_per_sample": Key((int,), False, "network steps per task step (analog tasks)"),
    "n_per_channel": Key((int,), False, "spike trains per input sign and channel (analog tasks)"),
    "parameters": Key((dict,), False, "task parameters a spiking network is trained with, e.g. {delay = 2} "
                      "(the task's own values otherwise)"),
    "source": Key((str,), False, "where these values come from (measurement)"),
}
#: Keys of ``[training.spiking]`` that only apply to tasks whose inputs are analog (encoded as spikes).
_ENCODING_KEYS = ("encoding", "rate", "steps_per_sample", "n_per_channel")
#: Training hyperparameters of a task without its own (``[training]`` table) and of
#: :func:`biodyn.learn.train`'s arguments left at ``None``.
TRAIN_DEFAULTS = MappingProxyType({"hidden": 32, "epochs": 30, "lr": 0.01, "batch_size": 64, "g": 1.0,
                                   "optimizer": "adam"})
#: Where a training setting came from (``config["sources"]`` of :func:`biodyn.learn.train` and
#: :func:`biodyn.learn._snn.train_snn`): the caller's argument or flag, the task's table, the
#: library's default.
SOURCES = ("argument", "task", "default")


def settings_with_sources(given, table, defaults):
    """``(values, sources)`` of training settings — the ONE resolution of both trainings.

    For each key of ``defaults``: ``given[key]`` if given and not ``None`` (source
    ``"argument"``), else ``table[key]`` (the task's ``[training]`` table for a rate network,
    its ``[training.spiking]`` table for a spiking one; source ``"task"``), else
    ``defaults[key]`` (:data:`TRAIN_DEFAULTS`, :data:`biodyn.learn._snn.SNN_DEFAULTS`; source
    ``"default"``). A key of ``given`` that is no setting is a ``TypeError`` (a caller's bug:
    the settings are the trainings' keywords).
    """
    unknown = set(given) - set(defaults)
    if unknown:
        raise TypeError(f"settings: unknown {sorted(unknown)}")
    sources = {k: "argument" if given.get(k) is not None else "task" if k in table else "default"
               for k in defaults}
    values = {k: given[k] if sources[k] == "argument" else table[k] if sources[k] == "task" else d
              for k, d in defaults.items()}
    return values, sources


#: Names of training settings — keywords of :func:`biodyn.learn.train`,
#: :func:`biodyn.learn._snn.train_snn` and the train jobs, flags of ``biodyn train`` — that are
#: no generator's parameter: one given as a task parameter (``--set hidden=3``,
#: ``parameters={"hidden": 3}``) is refused with a hint to give it as the setting it is
#: (``hidden=3``; ``biodyn train`` says ``--hidden 3``) when the training has that keyword, else
#: with the training it belongs to. :func:`biodyn.learn.train` and
#: :func:`biodyn.learn._snn.train_snn` refuse a loose keyword of these names (``rate=``: a task
#: parameter in learn.train, the encoding's in ``train_snn``) and ask for ``parameters={...}``
#: (:func:`call_parameters`).
TRAINING_SETTINGS = frozenset(TRAIN_DEFAULTS) | (frozenset(_SPIKING_KEYS) - {"parameters", "source"}) | frozenset((
    "seed", "clip_grad", "dt", "surrogate", "surrogate_width", "weight_unit", "learner", "model", "rule_params",
    "lyapunov_every", "lyapunov_k", "lyapunov_steps", "lyapunov_block", "fixed_points", "floss", "floss_weight",
    "floss_epochs", "floss_every", "floss_transient", "floss_fixed_trajectory", "brian_check", "brian_target",
    "dynamics", "nonlinearity", "optimizer_options"))


def _not_a_parameter_hint(key, value, allowed):
    """The hint of an unknown task parameter: the training setting it names, else the nearest name."""
    if key in TRAINING_SETTINGS:
        return f"{key} is a training setting, not a parameter of the task: give it as {key}={value!r}"
    near = suggest(key, allowed)
    if near is None:  # a misspelt setting (--set hiden=3)
        import difflib

        close = difflib.get_close_matches(str(key), sorted(TRAINING_SETTINGS), n=1, cutoff=0.8)
        if close:
            near = f"did you mean the training setting {close[0]}={value!r}?"
    return near


def _other_training(key, others):
    """Where the training setting ``key`` belongs when the caller has no keyword of that name:
    the labels of ``others`` (``{label: keywords}``) that have it, else the train jobs."""
    owners = [label for label, keywords in others.items() if key in keywords]
    return " and ".join(owners) if owners else "the train jobs (biodyn.jobs.train, biodyn.jobs.train_snn)"


def call_parameters(task, parameters, loose, *, function, keywords, others, inapplicable=None):
    """``(values, given_as)``: the task parameters of a call of a training ``function`` — its
    ``parameters=`` mapping and its loose keywords ``loose`` — checked, before any data are
    drawn, by the ONE set of rules of :func:`biodyn.learn.train` and
    :func:`biodyn.learn._snn.train_snn`:

    1. ``parameters`` is a mapping (or ``None``); a name in both it and ``loose`` is an error.
    2. A loose keyword that is a training setting (:data:`TRAINING_SETTINGS`) and a parameter
       of the task is ambiguous (``rate=`` is ``spike_patterns``' rate in ``learn.train``, the
       input encoding's in ``train_snn``): refused, pointing to ``parameters={...}``. So is a
       keyword of ``function`` itself given for a task it does not apply to
       (``inapplicable``, ``{name: value}``: ``train_snn``'s encoding keywords on a task whose
       inputs are spikes) when the task has a parameter of that name: the caller who typed
       ``train_snn("spike_patterns", rate=0.05)`` meant the task's rate or mistook the
       encoding's — the keyword means the encoding's rate on every task, so biodyn does not
       guess from the task which one; ``parameters={"rate": 0.05}`` says it.
    3. A name that is no parameter of the task is refused with a hint naming only what
       ``function`` has: ``give it as NAME=VALUE`` when ``NAME`` is one of its ``keywords``,
       else the training it belongs to (``others``, ``{label: keywords}``, else the train jobs),
       else the nearest task parameter or keyword of ``function``.

    ``values`` are all the task parameters given; ``given_as`` names each where it was typed
    (``<arguments>: parameters.NAME`` or ``<arguments>: NAME``) for the errors of their values.
    """
    from collections.abc import Mapping

    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise SpecError("<arguments>", "parameters", "a mapping of task parameters, e.g. parameters={'delay': 20}",
                        repr(parameters))
    parameters, loose = dict(parameters), dict(loose)
    both = sorted(set(parameters) & set(loose))
    if both:
        raise SpecError("<arguments>", ", ".join(both), "each task parameter once (parameters= or a keyword)",
                        "both", "give it in parameters= only")
    if not parameters and not loose and not inapplicable:
        return {}, {}
    base = load_task(task)
    names, gen = base.parameter_names, base.generator
    for key, value in sorted((inapplicable or {}).items()):
        if key in names:
            raise SpecError("<arguments>", key, f"a task parameter given as parameters={{{key!r}: ...}}: {key}= is "
                            f"{function}'s setting of the spike encoding of analog inputs, which {base.name} "
                            f"(inputs already spikes) has none of, and {key} is a parameter of {gen}, so the "
                            "keyword would mean one or the other",
                            f"{key}={value!r}", f"{function}(..., parameters={{{key!r}: {value!r}}})")
    for key in sorted(k for k in loose if k in TRAINING_SETTINGS):
        value = loose[key]
        if key in names:
            raise SpecError("<arguments>", key, f"a task parameter given as parameters={{{key!r}: ...}}: {key} names "
                            "a parameter of the task and a setting of "
                            + _other_training(key, {**others, function: keywords}) + ", so a loose keyword "
                            "would mean one or the other", f"{key}={value!r}",
                            f"{function}(..., parameters={{{key!r}: {value!r}}})")
        raise SpecError("<arguments>", key, f"a keyword of {function} or a parameter of the task ("
                        + ", ".join(names) + ")", f"{key}={value!r}",
                        f"{key} is a setting of {_other_training(key, others)}, not of {function}")
    given = [("parameters." + k, k, v) for k, v in parameters.items()] + [(k, k, v) for k, v in loose.items()]
    for where, key, value in given:
        if key in names:
            continue
        if key in keywords:
            hint = f"{key} is a training setting, not a parameter of the task: give it as {key}={value!r}"
        elif key in TRAINING_SETTINGS:
            hint = f"{key} is a setting of {_other_training(key, others)}, not of {function}"
        else:
            import difflib

            hint = suggest(key, names)
            close = difflib.get_close_matches(str(key), sorted(keywords), n=1, cutoff=0.8)
            if hint is None and close:  # a misspelt setting (hiden=3)
                hint = f"did you mean the training setting {close[0]}={value!r}?"
        raise SpecError("<arguments>", where, f"a parameter of {gen} (" + ", ".join(names) + ")",
                        f"{key}={value!r}", hint)
    return {**loose, **parameters}, {k: ("<arguments>", w) for w, k, _ in given}


_SIZE_KEYS = {"train": Key((int,), True, "number of training sequences"),
              "test": Key((int,), True, "number of test sequences")}

#: The unit of each generator parameter that has one (others are dimensionless, unit "1").
PARAMETER_UNITS = {"n_steps": "step", "delay": "step", "response_steps": "step", "pulse_prob": "1/step",
                   "f_min": "cycle/step", "f_max": "cycle/step", "rate": "1/step", "noise_rate": "1/step",
                   "jitter": "step", "cue_steps": "step", "gap_steps": "step", "delay_steps": "step",
                   "recall_steps": "step", "cue_rate": "1/step",
                   "frequencies": "cycle/step"}

METRICS = ("sign_accuracy", "accuracy", "r2")
_LOSSES = ("mse", "cross_entropy")


def metric_value(name, y, batch):
    """The metric ``name`` of outputs ``y`` on ``batch`` (numpy)."""
    y = np.asarray(y)
    if name == "accuracy":
        return float(np.mean(np.argmax(y, axis=-1) == batch.y))
    m = batch.mask
    yy, tt = y[m], np.asarray(batch.y)[m]
    if name == "sign_accuracy":
        scored = tt != 0
        return float(np.mean(np.sign(yy[scored]) == np.sign(tt[scored])))
    return float(1.0 - np.sum((yy - tt) ** 2) / np.sum((tt - tt.mean()) ** 2))


def _defaults(gen):
    return {k: p.default for k, p in inspect.signature(GENERATORS[gen]).parameters.items()
            if p.default is not inspect.Parameter.empty and k != "part"}


def _check_values(gen, values, file, origin=None):
    """The generator's parameter values make sense (before any data are drawn).

    ``origin(key)`` is ``(file, key)``: where the value of ``key`` was given, as the error names
    it — ``(file, "parameters.KEY")`` for the task file's own values (the default), the keyword
    or flag the caller typed for a changed one (``("<arguments>", "delay")``, ``--set delay``).
    A value that is wrong only beside another one (``delay`` against ``n_steps``) is named where
    the caller gave one of the two: the value typed, not the file's key it contradicts."""
    if origin is None:
        def origin(key):
            return file, f"parameters.{key}"

    def bad(key, expected):
        raise SpecError(*origin(key), expected, repr(values[key]))

    def typed(key):  # given by the caller, not by the task file (nor a generator default)
        return origin(key)[0] != file

    def number(key):
        v = values[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            bad(key, "a number")
        return v

    T = np.inf  # a generator without n_steps (cue_accumulation) derives its length
    if "n_steps" in values:
        T = number("n_steps")
        if int(T) != T or T < 2:
            bad("n_steps", "an integer number of steps >= 2")
    for key in ("delay", "response_steps"):
        if key in values:
            v = number(key)
            longest = "n_steps" + (" - 1" if key == "delay" else "")
            if int(v) != v or v < 1:
                bad(key, f"an integer number of steps in [1, {longest}]")
            if not v < T + (key == "response_steps"):
                if typed("n_steps") and not typed(key):  # the caller's n_steps is too short for the file's value
                    f, k = origin(key)
                    bad("n_steps", f"an integer number of steps >= {v + (key == 'delay')} ({key} = {v}, {f}: {k})")
                bad(key, f"an integer number of steps in [1, {longest}] (n_steps = {T})")
    for key in ("n_bits", "n_classes", "n_frequencies"):
        if key in values:
            v = number(key)
            if int(v) != v or v < (2 if key == "n_classes" else 1):
                bad(key, f"an integer >= {2 if key == 'n_classes' else 1}")
    for key in ("pulse_prob", "rate", "noise_rate", "cue_rate"):
        if key in values and not 0 <= number(key) <= 1:
            bad(key, "a probability per step in [0, 1]")
    if "test_per_class" in values:
        v = number("test_per_class")
        if int(v) != v or not 1 <= v <= 49:
            bad("test_per_class", "an integer in [1, 49] (each species has 50 flowers)")
    if "split_seed" in values and (int(number("split_seed")) != values["split_seed"] or values["split_seed"] < 0):
        bad("split_seed", "an integer >= 0")
    for key in ("n_inputs", "jitter", "pattern_seed", "n_cues", "cue_steps", "gap_steps", "delay_steps",
                "recall_steps", "n_per_group"):
        if key in values:
            v = number(key)
            low = 0 if key in ("jitter", "pattern_seed", "gap_steps", "delay_steps") else 1
            if int(v) != v or v < low:
                bad(key, f"an integer >= {low}")
    if "n_cues" in values and int(values["n_cues"]) % 2 == 0:
        bad("n_cues", "an odd number of cues (no ties)")
    if "p_group" in values and not 0 < number("p_group") <= 0.5:
        bad("p_group", "the probability of a cue on the trial's less favoured side, in (0, 0.5]")
    if "noise" in values and number("noise") < 0:
        bad("noise", "a standard deviation >= 0")
    if "f_min" in values and not 0 < number("f_min"):
        bad("f_min", "a frequency > 0 and <= f_max (cycles per step)")
    if "f_min" in values and not values["f_min"] <= number("f_max"):
        if typed("f_max") and not typed("f_min"):
            f, k = origin("f_min")
            bad("f_max", f"a frequency >= f_min (f_min = {values['f_min']}, {f}: {k})")
        bad("f_min", f"a frequency > 0 and <= f_max (f_max = {values['f_max']}; cycles per step)")
    if "frequencies" in values:
        v = values["frequencies"]
        if not isinstance(v, (list, tuple)) or not v or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < 0.5 for x in v):
            bad("frequencies", "a non-empty list of frequencies in (0, 0.5) cycles per step (below Nyquist)")
    if "coherences" in values:
        v = values["coherences"]
        if not isinstance(v, (list, tuple)) or not v or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in v):
            bad("coherences", "a non-empty list of positive coherences")


def _check_neuron(name, file):
    """``[training.spiking] neuron`` names a neuron model of the catalog (whether the differentiable
    reading supports its equations is checked when a network is trained: reading a spec costs
    sympy and Brian2's state updater, too much for every task load)."""
    neurons = sorted(e.name for e in catalog.entries("models") if e.kind == "neuron")
    if name not in neurons:
        raise SpecError(file, "training.spiking.neuron", "a neuron model of the catalog that the spiking "
                        "reading supports (lif, alif, adex, lif_cond, ...)", repr(name),
                        suggest(name, neurons) or "`biodyn list models` shows them all")


class Task:
    """A task: its generator with parameters, sizes, readout, loss, metric and citation.

    Use :func:`load_task` to read one from the catalog; :meth:`data` gives the seeded
    train and test sets.
    """

    def __init__(self, name, path, data, overrides=None, given_as=None):
        file = display_path(path) if path else f"<task {name}>"
        self.name, self.path, self.file = name, path, file
        self._data, self._overrides = data, dict(overrides or {})
        # where each override was given, as errors name it: (file, key); by default the keyword
        # of load_task/train (the command line turns "<arguments>: delay" into "--set delay")
        self._given_as = {k: tuple(given_as[k]) if given_as and k in given_as else ("<arguments>", k)
                          for k in self._overrides}
        check_table(data, TASK_KEYS, file=file)
        if data["kind"] != "task":
            raise SpecError(file, "kind", "'task'", repr(data["kind"]))
        gen = data["generator"]
        if gen not in GENERATORS:
            raise SpecError(file, "generator", "one of " + ", ".join(GENERATORS), repr(gen), suggest(gen, GENERATORS))
        self.generator = gen
        for key, allowed in (("readout", ("all", "last")), ("loss", _LOSSES), ("metric", METRICS)):
            if data[key] not in allowed:
                raise SpecError(file, key, "one of " + ", ".join(allowed), repr(data[key]),
                                suggest(data[key], allowed))
        self.readout, self.loss, self.metric = data["readout"], data["loss"], data["metric"]
        if (self.readout == "last") != (self.loss == "cross_entropy"):
            raise SpecError(file, "loss", "cross_entropy with readout 'last', mse with readout 'all'",
                            f"{self.loss!r} with readout {self.readout!r}")
        self.description = data["description"]
        allowed = [p for p in inspect.signature(GENERATORS[gen]).parameters if p not in ("n", "rng", "part")]
        #: The generator's parameter names (what ``--set`` and a sweep's task axes may change).
        self.parameter_names = tuple(allowed)
        params, units, docs = {}, {}, {}
        for key, value in data.get("parameters", {}).items():
            where = f"parameters.{key}"
            if key not in allowed:
                raise SpecError(file, where, f"a parameter of {gen} (" + ", ".join(allowed) + ")",
                                repr(key), suggest(key, allowed))
            if isinstance(value, str):
                expected = PARAMETER_UNITS.get(key, "1")
                example = "{value = 3" + ("" if expected == "1" else f', unit = "{expected}"') + "}"
                raise SpecError(file, where, f"a number or a table such as {example}", repr(value))
            if isinstance(value, dict):
                check_table(value, _PARAM_KEYS, file=file, prefix=where + ".")
                unit, doc, value = value.get("unit", "1"), value.get("doc", ""), value["value"]
            else:
                unit, doc = "1", ""
            expected = PARAMETER_UNITS.get(key, "1")
            if unit != expected:
                raise SpecError(file, where + ".unit", repr(expected), repr(unit),
                                "time is counted in steps of the network's map")
            params[key], units[key], docs[key] = value, unit, doc
        file_params = dict(params)  # the file's own values, before the caller's changes
        for key, value in (overrides or {}).items():
            if key not in allowed:
                # named as the caller gave it: the keyword (n_train=32); the command line says --set
                where_file, where_key = self._given_as[key]
                raise SpecError(where_file, where_key, f"a parameter of {gen} (" + ", ".join(allowed) + ")",
                                f"{key}={value!r}", _not_a_parameter_hint(key, value, allowed))
            params[key] = value
            units.setdefault(key, PARAMETER_UNITS.get(key, "1"))
        # the generator's defaults that the file does not set shaped the data too: record them
        defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in _defaults(gen).items()}
        for key, value in defaults.items():
            if key not in params:
                units[key], docs[key] = PARAMETER_UNITS.get(key, "1"), "generator default"
        params = {**defaults, **params}

        def origin(key):
            return self._given_as.get(key, (file, f"parameters.{key}"))

        _check_values(gen, params, file, origin)
        self.parameters = MappingProxyType(params)
        self.units = MappingProxyType(units)
        self.docs = MappingProxyType(docs)
        check_table(data["sizes"], _SIZE_KEYS, file=file, prefix="sizes.")
        self.sizes = MappingProxyType({k: int(data["sizes"][k]) for k in ("train", "test")})
        for k, v in self.sizes.items():
            if v < 1:
                raise SpecError(file, f"sizes.{k}", "a positive integer", repr(v))
        self.citation: Citation = _citation(data["citation"], file, "citation")
        training = dict(data.get("training", {}))
        check_table(training, _TRAINING_KEYS, file=file, prefix="training.")
        for key in ("hidden", "epochs", "batch_size"):
            if key in training and training[key] < 1:
                raise SpecError(file, f"training.{key}", "a positive integer", repr(training[key]))
        for key in ("lr", "g"):
            if key in training and not training[key] > 0:
                raise SpecError(file, f"training.{key}", "a positive number", repr(training[key]))
        if "optimizer" in training:
            from ..ann import OPTIMISERS

            names = [n for n in OPTIMISERS if n != "implicit_gd"]  # learn.train needs no Hessians
            if training["optimizer"] not in names:
                raise SpecError(file, "training.optimizer", "a biodyn.ann optimiser (" + ", ".join(names) + ")",
                                repr(training["optimizer"]), suggest(training["optimizer"], names))
        self.training_source = training.pop("source", None)
        spiking = dict(training.pop("spiking", {}))
        check_table(spiking, _SPIKING_KEYS, file=file, prefix="training.spiking.")
        for key in ("hidden", "epochs", "batch_size", "steps_per_sample", "n_per_channel"):
            if key in spiking and spiking[key] < 1:
                raise SpecError(file, f"training.spiking.{key}", "a positive integer", repr(spiking[key]))
        for key in ("lr", "w_in"):
            if key in spiking and not spiking[key] > 0:
                raise SpecError(file, f"training.spiking.{key}", "a positive number", repr(spiking[key]))
        if "w_rec" in spiking and not spiking["w_rec"] >= 0:
            raise SpecError(file, "training.spiking.w_rec", "a number >= 0", repr(spiking["w_rec"]))
        if "encoding" in spiking and spiking["encoding"] not in ("poisson", "latency"):
            raise SpecError(file, "training.spiking.encoding", "'poisson' or 'latency'", repr(spiking["encoding"]))
        if "neuron" in spiking:
            _check_neuron(spiking["neuron"], file)
        if "optimizer" in spiking:
            from ..ann import OPTIMISERS

            names = [n for n in OPTIMISERS if n != "implicit_gd"]
            if spiking["optimizer"] not in names:
                raise SpecError(file, "training.spiking.optimizer", "a biodyn.ann optimiser (" + ", ".join(names)
                                + ")", repr(spiking["optimizer"]), suggest(spiking["optimizer"], names))
        from ._generators import SPIKING

        if gen in SPIKING:
            for key in _ENCODING_KEYS:
                if key in spiking:
                    raise SpecError(file, f"training.spiking.{key}", f"no input encoding ({gen}'s inputs are "
                                    "already spikes)", repr(spiking[key]))
        sp_params = dict(spiking.pop("parameters", {}))
        for key, value in sp_params.items():
            if key not in allowed:
                raise SpecError(file, f"training.spiking.parameters.{key}", f"a parameter of {gen} ("
                                + ", ".join(allowed) + ")", repr(key), suggest(key, allowed))
            if isinstance(value, dict) or isinstance(value, str):
                raise SpecError(file, f"training.spiking.parameters.{key}", "a plain value in the unit of "
                                f"parameters.{key} ({PARAMETER_UNITS.get(key, '1')})", repr(value))
        if sp_params:
            def sp_origin(key):
                return (file, f"training.spiking.parameters.{key}") if key in sp_params else origin(key)

            # against the file's own values: the caller's changes meet the table's parameters in
            # biodyn.learn._snn.spiking_task, which names each value where it was given
            _check_values(gen, {**defaults, **file_params, **sp_params}, file, sp_origin)
        #: Task parameters of spiking networks (``[training.spiking] parameters``): applied by
        #: :func:`biodyn.learn._snn.train_snn` unless the caller sets them.
        self.spiking_parameters = MappingProxyType(sp_params)
        self.spiking_training_source = spiking.pop("source", None)
        #: Defaults of spiking networks for this task (its ``[training.spiking]`` table; what it does
        #: not set falls back to the caller's generic defaults).
        self.spiking_training = MappingProxyType(spiking)
        #: The task's training hyperparameters (its ``[training]`` table; the others from
        #: :data:`TRAIN_DEFAULTS`).
        self.training = MappingProxyType({**TRAIN_DEFAULTS, **training})
        #: The task's own ``[training]`` values (without ``source`` and ``spiking``): what
        #: :func:`settings_with_sources` records as ``"task"``.
        self.training_table = MappingProxyType(training)
        probe = self.generate(2, 0)
        self.n_inputs = probe.x.shape[2]
        if self.readout == "last":  # classes: the generator's n_classes, or those of its data set
            p = {**_defaults(gen), **params}
            self.n_outputs = int(p["n_classes"]) if "n_classes" in p else int(self.generate(
                self.sizes["train"], 0, part="train").y.max()) + 1
        else:
            self.n_outputs = probe.y.shape[2]

    def generate(self, n, seed, part=None):
        """``n`` sequences drawn with ``numpy.random.default_rng(seed)`` (a :class:`Batch`).

        For a task on a fixed data set (a generator with ``parts``, e.g. ``iris_sequences``)
        ``part`` is ``"train"`` or ``"test"``; by default the stream says which: ``[seed, 1]``
        is the test set's stream (:meth:`data`), anything else the training set's.
        """
        generator = GENERATORS[self.generator]
        if not getattr(generator, "parts", False):
            return generator(n, np.random.default_rng(seed), **self.parameters)
        if part is None:
            part = "test" if isinstance(seed, (list, tuple)) and len(seed) > 1 and seed[1] == 1 else "train"
        return generator(n, np.random.default_rng(seed), part=part, **self.parameters)

    def constant_inputs(self):
        """``[(label, u), ...]``: the task's constant inputs (see
        :func:`biodyn.learn._generators.constant_inputs`)."""
        from ._generators import constant_inputs

        return constant_inputs(self.generator, dict(self.parameters))

    def data(self, seed=0):
        """The ``(train, test)`` sets of seed ``seed`` (streams ``[seed, 0]`` and ``[seed, 1]``)."""
        return (self.generate(self.sizes["train"], [int(seed), 0], part="train"),
                self.generate(self.sizes["test"], [int(seed), 1], part="test"))

    def parameter_sources(self):
        """``{name: source}`` for every task parameter: where its value came from (:data:`SOURCES`)
        — ``"argument"`` (the caller's: ``parameters=``, a keyword, ``--set``, a sweep's axis),
        ``"task"`` (the task file: its ``[parameters]``, or its ``[training.spiking] parameters``
        applied to a spiking network) or ``"default"`` (the generator's default)."""
        out = {}
        for key in self.parameters:
            if key in self._overrides:
                out[key] = "task" if self._given_as[key][0] == self.file else "argument"
            else:
                out[key] = "task" if key in self._data.get("parameters", {}) else "default"
        return out

    def as_dict(self):
        """Everything that defines the task (for saved results)."""
        return {"name": self.name, "generator": self.generator, "parameters": dict(self.parameters),
                "parameter_sources": self.parameter_sources(),
                "units": dict(self.units), "sizes": dict(self.sizes), "readout": self.readout,
                "loss": self.loss, "metric": self.metric, "citation": str(self.citation),
                "training": dict(self.training), "training_source": self.training_source,
                "spiking_training": dict(self.spiking_training),
                "spiking_parameters": dict(self.spiking_parameters),
                "spiking_training_source": self.spiking_training_source,
                "file": None if self.path is None else str(self.path)}

    def describe(self):
        lines = [f"{self.name}: task ({self.generator})", f"  {self.description}",
                 f"  readout {self.readout}, loss {self.loss}, metric {self.metric}; "
                 f"train {self.sizes['train']}, test {self.sizes['test']} sequences",
                 "  parameters:"]
        for k, v in self.parameters.items():
            unit = self.units.get(k, "1")
            lines.append(f"    {k} = {v}" + ("" if unit == "1" else f" {unit}")
                         + (f"  ({self.docs[k]})" if self.docs.get(k) else ""))
        lines.append("  training defaults: " + ", ".join(f"{k} = {v}" for k, v in self.training.items())
                     + (f"  ({self.training_source})" if self.training_source else ""))
        if self.spiking_training or self.spiking_parameters:
            lines.append("  spiking-network defaults (--net lif): " + ", ".join(
                f"{k} = {v}" for k, v in self.spiking_training.items())
                + ("; task parameters " + ", ".join(f"{k} = {v}" for k, v in self.spiking_parameters.items())
                   if self.spiking_parameters else "")
                + (f"  ({self.spiking_training_source})" if self.spiking_training_source else ""))
        lines.append(f"  citation: {self.citation}")
        return "\n".join(lines)

    def __repr__(self):
        return f"Task({self.name!r}, generator={self.generator!r})"


def load_task(name, **overrides):
    """The task named ``name`` in the catalog (or at path ``name``), with parameter overrides.

    An error about an override names it as the keyword (``<arguments>: delay``; ``biodyn``'s
    command line says ``--set delay``); see :func:`task_with` to name it otherwise."""
    return task_with(name, overrides)


def task_with(name, parameters, *, file="<arguments>", prefix="", given_as=None):
    """:func:`load_task` of ``name`` with the task parameters ``parameters`` (a mapping), errors
    about them naming ``file: PREFIXname`` — where the caller typed them: ``prefix="parameters."``
    for the keyword ``parameters={...}`` of :func:`biodyn.jobs.train` (``<arguments>:
    parameters.delay``), ``file=spec_file, prefix="training.spiking.parameters."`` for a task's
    own spiking parameters. A value wrong in the task file is named by the file's key.
    ``given_as``: ``{name: (file, key)}`` for parameters named otherwise (the loose keywords of
    :func:`biodyn.learn.train`, named ``<arguments>: NAME``)."""
    parameters = dict(parameters or {})
    given = {k: (file, prefix + k) for k in parameters}
    given.update({k: tuple(v) for k, v in (given_as or {}).items() if k in parameters})
    if isinstance(name, Task):
        if not parameters:
            return name
        return Task(name.name, name.path, name._data, {**name._overrides, **parameters},
                    {**name._given_as, **given})
    path = catalog.find(name, "tasks")
    return Task(Path(path).stem, path, read_toml(path), parameters, given)
