r"""Task generators: seeded, generated data (never downloaded).

Every generator is ``generator(n, rng, **parameters) -> Batch`` with ``rng`` a
``numpy.random.Generator`` (``numpy.random.default_rng(seed)``). Time is counted in steps of
the network's map (one step = one application of the cell, as in
:class:`biodyn.dynamics.DrivenCell`); frequencies are in cycles per step.

A :class:`Batch` holds inputs ``x`` ``(n, T, I)``, targets ``y`` and a ``mask``:

* sequence tasks (``readout = "all"``): ``y`` is ``(n, T, O)`` and ``mask`` ``(n, T)`` says
  which steps are scored (steps before the answer is defined are not);
* classification (``readout = "last"``): ``y`` is ``(n,)`` class indices, ``mask`` is ``None``.

=========================  =====================================================================
``flipflop_3bit``          Sussillo & Barak (2013): 3 input channels receive sparse ±1 pulses
                           (probability ``pulse_prob`` per step and channel); output channel k
                           holds the sign of the last pulse on channel k (0 before the first).
``delayed_copy``           ±1 random input stream; target :math:`y_t = x_{t-d}` (delay d steps),
                           scored for :math:`t \ge d` (long-horizon task of Engelken 2023).
``temporal_xor``           ±1 random input stream; target :math:`y_t = -x_{t-d}\,x_{t-\lceil d/2\rceil}`,
                           i.e. +1 when the two bits differ (XOR) and −1 when they agree,
                           scored for :math:`t \ge d` (the delayed XOR of Engelken 2023; the two
                           taps at :math:`d` and :math:`\lceil d/2\rceil` are biodyn's choice).
``sine_generation``        a static input :math:`u = f/f_{max}` cues a frequency f drawn from
                           ``n_frequencies`` values evenly spaced in [f_min, f_max] (cycles/step);
                           target :math:`\sin(2\pi f t)` (Sussillo & Abbott 2009; Sussillo &
                           Barak 2013 §3.3).
``context_integration``    Mante et al. (2013): two noisy sensory streams (coherences drawn
                           from ``coherences`` with random sign, Gaussian noise ``noise`` per
                           step) and two one-hot context inputs; target: the sign of the
                           coherence of the contextually relevant stream, on the last
                           ``response_steps`` steps (scored there only).
``sine_classification``    a *generated* pattern-classification set: ``n_classes`` classes of
                           noisy sinusoids (class c: frequency :math:`f_c` evenly spaced in
                           [f_min, f_max], random phase, additive Gaussian noise); label at
                           the last step. None of biodyn's required packages (brian2, numpy,
                           scipy, sympy, matplotlib, neo, quantities) ships a classification
                           data set without a download, so the set is generated (``iris_sequences`` is the real
                           data set, shipped inside biodyn itself).
``spike_patterns``         spike-pattern classification: ``n_classes`` frozen Poisson patterns
                           (``n_inputs`` channels, ``rate`` spikes per step and channel, drawn
                           with ``default_rng(pattern_seed)`` so that train and test sets share
                           them); a sample is its class's pattern with every spike moved by a
                           uniform integer jitter in [-``jitter``, ``jitter``] steps and
                           Poisson noise spikes (``noise_rate`` per step and channel) added;
                           inputs are spikes (0/1), the label is read at the end (the
                           classification of Gütig & Sompolinsky 2006's tempotron, on a grid).
``cue_accumulation``       evidence accumulation (Bellec et al. 2020, Fig. 3): ``n_cues`` cues
                           (``cue_steps`` long, ``gap_steps`` apart), each on the left or right
                           input group (``n_per_group`` channels firing at ``cue_rate``), then
                           a delay of ``delay_steps`` and a recall cue (third group) for
                           ``recall_steps``; a fourth group fires at ``noise_rate`` throughout.
                           Target during the recall: +1 if most cues were left, -1 otherwise
                           (``n_cues`` odd: no ties); scored there only. Inputs are spikes.
                           Cue sides: independent fair coins (``p_group = 0.5``), or, as in
                           Bellec et al.'s code for Fig. 3 (``p_group = 0.3``), each trial
                           first picks a favoured side (fair coin), then each cue is on it with
                           probability ``1 - p_group`` (fewer close 4:3 trials).
``spike_sine_generation``  spiking pattern generation (Bellec et al. 2020, Fig. 2): one frozen
                           Poisson input pattern (``n_inputs`` channels, ``rate`` spikes per
                           step and channel, drawn with ``default_rng(pattern_seed)``) and one
                           frozen target, a sum of sines
                           :math:`y_t = \sum_k a_k \sin(2\pi f_k t + \varphi_k)` with the
                           ``frequencies`` :math:`f_k` (cycles/step; 1, 2, 3 and 5 Hz at dt = 1 ms),
                           amplitudes :math:`a_k \sim U[0.5, 2]` and phases
                           :math:`\varphi_k \sim U[0, 2\pi)` drawn with the same
                           ``default_rng(pattern_seed)``, divided by its standard deviation over
                           the sequence (unit variance, so MSE is the normalised MSE and
                           :math:`R^2 = 1 -` MSE/Var); a sample is the pattern with fresh Poisson
                           noise spikes (``noise_rate`` per step and channel) added, so the test
                           set asks for the pattern under input noise the training never saw.
                           Every step is scored.
``iris_sequences``         pattern classification on a small *real* data set shipped inside
                           biodyn (``biodyn/learn/data/iris.csv``: Fisher's 1936 iris, 150
                           flowers × 4 measurements, 3 species): split once per species by
                           ``split_seed`` (``test_per_class`` test flowers each, never trained
                           on); a sample is one flower's standardised measurements presented
                           for ``n_steps`` steps with Gaussian noise of SD ``noise``; species
                           read at the last step.
=========================  =====================================================================

References
----------
Bezdek JC, Keller JM, Krishnapuram R, Kuncheva LI, Pal NR (1999) Will the real iris data
please stand up? IEEE Trans Fuzzy Syst 7:368-369. doi:10.1109/91.771092
Fisher RA (1936) The use of multiple measurements in taxonomic problems. Ann Eugenics
7:179-188. doi:10.1111/j.1469-1809.1936.tb02137.x
Sussillo D, Barak O (2013) Opening the black box: low-dimensional dynamics in
high-dimensional recurrent neural networks. Neural Comput 25:626-649. doi:10.1162/NECO_a_00409
Sussillo D, Abbott LF (2009) Generating coherent patterns of activity from chaotic neural
networks. Neuron 63:544-557. doi:10.1016/j.neuron.2009.07.018
Mante V, Sussillo D, Shenoy KV, Newsome WT (2013) Context-dependent computation by recurrent
dynamics in prefrontal cortex. Nature 503:78-84. doi:10.1038/nature12742
Bellec G, Scherr F, Subramoney A, Hajek E, Salaj D, Legenstein R, Maass W (2020) A solution
to the learning dilemma for recurrent networks of spiking neurons. Nat Commun 11:3625.
doi:10.1038/s41467-020-17236-y
Gütig R, Sompolinsky H (2006) The tempotron: a neuron that learns spike timing-based
decisions. Nat Neurosci 9:420-428. doi:10.1038/nn1643
Engelken R (2023) Gradient flossing: improving gradient descent through dynamic control of
Jacobians. NeurIPS 36. arXiv:2312.17306
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Batch", "GENERATORS", "constant_inputs", "flipflop_3bit", "delayed_copy", "temporal_xor", "sine_generation",
           "context_integration", "sine_classification", "spike_patterns", "cue_accumulation", "spike_sine_generation",
           "iris_sequences", "SPIKING"]


@dataclass(frozen=True)
class Batch:
    """Inputs ``x`` ``(n, T, I)``, targets ``y`` and the scored steps ``mask`` (see module doc)."""

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None

    def __len__(self):
        return self.x.shape[0]


def flipflop_3bit(n, rng, n_steps=100, pulse_prob=0.05, n_bits=3):
    n, T, K = int(n), int(n_steps), int(n_bits)
    pulse = rng.random((n, T, K)) < pulse_prob
    sign = np.where(rng.random((n, T, K)) < 0.5, -1.0, 1.0)
    x = np.where(pulse, sign, 0.0)
    y = np.zeros_like(x)
    held = np.zeros((n, K))
    for t in range(T):
        held = np.where(pulse[:, t], x[:, t], held)
        y[:, t] = held
    return Batch(x, y, np.ones((n, T), bool))


def _bits(n, T, rng):
    return np.where(rng.random((n, T)) < 0.5, -1.0, 1.0)


def delayed_copy(n, rng, n_steps=60, delay=5):
    n, T, d = int(n), int(n_steps), int(delay)
    u = _bits(n, T, rng)
    y = np.zeros((n, T))
    y[:, d:] = u[:, :T - d]
    mask = np.zeros((n, T), bool)
    mask[:, d:] = True
    return Batch(u[..., None], y[..., None], mask)


def temporal_xor(n, rng, n_steps=60, delay=6):
    n, T, d = int(n), int(n_steps), int(delay)
    h = -(-d // 2)
    u = _bits(n, T, rng)
    y = np.zeros((n, T))
    y[:, d:] = -u[:, :T - d] * u[:, d - h:T - h]
    mask = np.zeros((n, T), bool)
    mask[:, d:] = True
    return Batch(u[..., None], y[..., None], mask)


def sine_generation(n, rng, n_steps=100, f_min=0.01, f_max=0.05, n_frequencies=5):
    n, T = int(n), int(n_steps)
    freqs = np.linspace(f_min, f_max, int(n_frequencies))
    f = freqs[rng.integers(0, len(freqs), n)]
    t = np.arange(1, T + 1)
    x = np.broadcast_to((f / f_max)[:, None, None], (n, T, 1)).copy()
    y = np.sin(2 * np.pi * f[:, None] * t[None, :])[..., None]
    return Batch(x, y, np.ones((n, T), bool))


def context_integration(n, rng, n_steps=50, coherences=(0.05, 0.1, 0.2, 0.4), noise=0.3, response_steps=5):
    n, T = int(n), int(n_steps)
    coh = np.asarray(coherences, float)
    c = coh[rng.integers(0, len(coh), (n, 2))] * np.where(rng.random((n, 2)) < 0.5, -1.0, 1.0)
    ctx = rng.integers(0, 2, n)
    sensory = c[:, None, :] + noise * rng.standard_normal((n, T, 2))
    context = np.zeros((n, T, 2))
    context[np.arange(n), :, ctx] = 1.0
    x = np.concatenate([sensory, context], axis=2)
    answer = np.sign(c[np.arange(n), ctx])
    y = np.zeros((n, T, 1))
    mask = np.zeros((n, T), bool)
    r = int(response_steps)
    y[:, T - r:, 0] = answer[:, None]
    mask[:, T - r:] = True
    return Batch(x, y, mask)


def sine_classification(n, rng, n_steps=40, n_classes=3, f_min=0.05, f_max=0.2, noise=0.5):
    n, T, K = int(n), int(n_steps), int(n_classes)
    freqs = np.linspace(f_min, f_max, K)
    label = rng.integers(0, K, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(T)
    x = np.sin(2 * np.pi * freqs[label][:, None] * t[None, :] + phase[:, None])
    x = x + noise * rng.standard_normal((n, T))
    return Batch(x[..., None], label, None)


def spike_patterns(n, rng, n_steps=100, n_inputs=20, n_classes=3, rate=0.02, jitter=2, noise_rate=0.002,
                   pattern_seed=0):
    n, T, M, K, J = int(n), int(n_steps), int(n_inputs), int(n_classes), int(jitter)
    templates = np.random.default_rng(int(pattern_seed)).random((K, T, M)) < rate
    label = rng.integers(0, K, n)
    x = np.zeros((n, T, M))
    for k in range(n):
        t, c = np.nonzero(templates[label[k]])
        t = np.clip(t + rng.integers(-J, J + 1, len(t)), 0, T - 1)
        x[k, t, c] = 1.0
    x[rng.random((n, T, M)) < noise_rate] = 1.0
    return Batch(x, label, None)


def cue_accumulation(n, rng, n_cues=7, cue_steps=100, gap_steps=50, delay_steps=500, recall_steps=150,
                     n_per_group=10, cue_rate=0.04, noise_rate=0.01, p_group=0.5):
    n, K, G = int(n), int(n_cues), int(n_per_group)
    c, g, d, r = int(cue_steps), int(gap_steps), int(delay_steps), int(recall_steps)
    T = K * (c + g) + d + r
    if not 0.0 < float(p_group) <= 0.5:
        raise ValueError(f"p_group: expected a probability in (0, 0.5], found {p_group!r}")
    if float(p_group) == 0.5:
        side = rng.integers(0, 2, (n, K))  # 0 left, 1 right: fair coins
    else:  # Bellec et al.'s code: a favoured side per trial, each cue on it with probability 1 - p_group
        favoured = rng.integers(0, 2, (n, 1))
        other = rng.random((n, K)) < float(p_group)
        side = np.where(other, 1 - favoured, favoured)
    rate = np.zeros((n, T, 4 * G))
    for k in range(K):
        t0 = k * (c + g)
        for s_ in (0, 1):
            rows = side[:, k] == s_
            rate[rows, t0:t0 + c, s_ * G:(s_ + 1) * G] = cue_rate
    rate[:, T - r:, 2 * G:3 * G] = cue_rate
    rate[:, :, 3 * G:] = noise_rate
    x = (rng.random(rate.shape) < rate).astype(float)
    answer = np.where(side.sum(axis=1) * 2 < K, 1.0, -1.0)  # +1: most cues left
    y = np.zeros((n, T, 1))
    y[:, T - r:, 0] = answer[:, None]
    mask = np.zeros((n, T), bool)
    mask[:, T - r:] = True
    return Batch(x, y, mask)


def spike_sine_generation(n, rng, n_steps=1000, n_inputs=20, rate=0.01, frequencies=(0.001, 0.002, 0.003, 0.005),
                          noise_rate=0.001, pattern_seed=0):
    n, T, M = int(n), int(n_steps), int(n_inputs)
    frozen = np.random.default_rng(int(pattern_seed))
    pattern = frozen.random((T, M)) < rate
    f = np.asarray(frequencies, float)
    amp = frozen.uniform(0.5, 2.0, len(f))
    phase = frozen.uniform(0.0, 2 * np.pi, len(f))
    t = np.arange(T)
    target = (amp[:, None] * np.sin(2 * np.pi * f[:, None] * t[None, :] + phase[:, None])).sum(axis=0)
    target = (target - target.mean()) / target.std()
    x = np.broadcast_to(pattern, (n, T, M)).astype(float)
    x[rng.random((n, T, M)) < noise_rate] = 1.0
    y = np.broadcast_to(target[None, :, None], (n, T, 1)).copy()
    return Batch(x, y, np.ones((n, T), bool))


def _iris():
    """The iris measurements ``(x (150, 4) in cm, species index (150,))`` shipped with biodyn
    (``biodyn/learn/data/iris.csv``; Fisher 1936)."""
    from pathlib import Path

    path = Path(__file__).with_name("data") / "iris.csv"
    rows = [line.split(",") for line in path.read_text().splitlines()
            if line and not line.startswith("#")][1:]
    names = sorted({r[4] for r in rows})
    return np.array([[float(v) for v in r[:4]] for r in rows]), np.array([names.index(r[4]) for r in rows])


def _iris_split(y, split_seed, test_per_class):
    """Boolean mask of the test flowers: ``test_per_class`` of each species, drawn with
    ``default_rng(split_seed)``."""
    split = np.random.default_rng(int(split_seed))
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        test[split.permutation(np.flatnonzero(y == c))[:int(test_per_class)]] = True
    return test


def iris_sequences(n, rng, n_steps=10, noise=0.5, test_per_class=15, split_seed=0, part="train"):
    # A data set, not a generator of new samples: the 150 flowers are split once, per species,
    # by ``split_seed`` into a training part and a test part (``test_per_class`` flowers of each
    # species); ``part`` says which one is drawn (Task.data passes it: the test flowers are never
    # trained on). Features are standardised with the training part's mean and SD. A sample is
    # one flower of the part, its 4 standardised measurements presented at every step with
    # independent Gaussian noise of SD ``noise`` (the network must integrate the evidence);
    # n equal to the part's size gives each flower once, in a random order; otherwise flowers
    # are drawn with replacement.
    x, y = _iris()
    test = _iris_split(y, split_seed, test_per_class)
    mean, sd = x[~test].mean(axis=0), x[~test].std(axis=0)
    if part not in ("train", "test"):
        raise ValueError(f"part: expected 'train' or 'test', found {part!r}")
    pool = np.flatnonzero(test if part == "test" else ~test)
    n, T = int(n), int(n_steps)
    pick = rng.permutation(pool) if n == len(pool) else rng.choice(pool, n, replace=True)
    z = (x[pick] - mean) / sd
    seq = z[:, None, :] + noise * rng.standard_normal((n, T, 4))
    return Batch(seq, y[pick], None)


#: Generators that draw from a fixed data set split into parts (``part="train"|"test"``).
iris_sequences.parts = True


#: Generators whose inputs are spikes (0/1 per step and channel), fed to spiking networks as they are.
SPIKING = ("spike_patterns", "cue_accumulation", "spike_sine_generation")


def constant_inputs(generator, parameters):
    """The task's constant inputs, ``[(label, u), ...]``: the inputs under which the trained
    network is an autonomous map whose fixed points explain it (Sussillo & Barak 2013) —
    no pulse (flip-flop), each input bit held (delayed copy, XOR), each frequency cue (sine
    generation), each context with no sensory evidence (Mante et al. 2013), zero input
    (classification)."""
    from inspect import signature

    p = {k: v.default for k, v in signature(GENERATORS[generator]).parameters.items()
         if v.default is not v.empty}
    p.update(parameters)
    if generator == "flipflop_3bit":
        return [("no pulse", np.zeros(int(p["n_bits"])))]
    if generator in ("delayed_copy", "temporal_xor"):
        return [("x = +1", np.array([1.0])), ("x = -1", np.array([-1.0]))]
    if generator == "sine_generation":
        return [(f"f = {f:.4g} cycle/step", np.array([f / p["f_max"]]))
                for f in np.linspace(p["f_min"], p["f_max"], int(p["n_frequencies"]))]
    if generator == "spike_patterns":
        return [("no input spikes", np.zeros(int(p["n_inputs"])))]
    if generator == "cue_accumulation":
        return [("no input spikes", np.zeros(4 * int(p["n_per_group"])))]
    if generator == "spike_sine_generation":
        return [("no input spikes", np.zeros(int(p["n_inputs"])))]
    if generator == "iris_sequences":
        return [("zero input (the mean flower)", np.zeros(4))]
    if generator == "context_integration":
        return [("motion context", np.array([0.0, 0.0, 1.0, 0.0])),
                ("colour context", np.array([0.0, 0.0, 0.0, 1.0]))]
    return [("zero input", np.zeros(1))]


#: Generators by name.
GENERATORS = {f.__name__: f for f in (flipflop_3bit, delayed_copy, temporal_xor, sine_generation,
                                      context_integration, sine_classification, spike_patterns, cue_accumulation,
                                      spike_sine_generation, iris_sequences)}
