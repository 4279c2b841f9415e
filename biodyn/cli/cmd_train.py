"""biodyn train TASK --net {rnn,gru,lstm,lif}"""

from __future__ import annotations

import argparse
import sys

from . import flags_of, seed_arg


def _defaults():
    """The generic defaults of rate (``TRAIN_DEFAULTS``) and spiking networks (``SNN_DEFAULTS``,
    the neuron ``DEFAULT_NEURON``), as the help prints them: the library's tables, never copies."""
    from ..learn._snn import DEFAULT_NEURON, SNN_DEFAULTS
    from ..learn._task import TRAIN_DEFAULTS

    def text(v):
        return f"{v:g}" if isinstance(v, float) else f"'{v}'" if isinstance(v, str) and " " in v else str(v)

    return ({k: text(v) for k, v in TRAIN_DEFAULTS.items()},
            {"neuron": DEFAULT_NEURON, **{k: text(v) for k, v in SNN_DEFAULTS.items()}})


def register(sub):
    rate, spk = _defaults()

    def both(key):  # a flag of both kinds of network: where its value comes from, per kind
        return (f"(default: the task's [training] table, else {rate[key]}; --net lif: the task's "
                f"[training.spiking] table, else {spk[key]})")

    p = sub.add_parser(
        "train", help="train a network of biodyn's cells on a task by backprop through time",
        description="Train an RNN, GRU or LSTM (biodyn's cells, PyTorch's layout) with a linear "
        "readout on a task of the catalog (biodyn list tasks) by backprop through time: "
        "gradients by JAX through the cells' own equations, updates by biodyn's optimisers. "
        "Writes OUT/TASK-NET-hH-sS.npz (weights, learning curves, everything that shaped them) "
        "and OUT/TASK-NET-hH-sS.png (learning curves); --json FILE writes {config, curves, final}, "
        "whose config.sources says where each setting came from (argument: a flag; task: the task's "
        "table; default: biodyn's).",
        epilog="examples:\n  biodyn train flipflop_3bit --net gru --hidden 32 --epochs 30 --out results\n"
               "  biodyn train delayed_copy --net lstm --set delay=20 --optimizer adam --lr 0.005 "
               "--out results --json copy.json\n"
               "  biodyn train flipflop_3bit --net rnn --hidden 32 --epochs 20 --lyapunov-every 5 --out results\n"
               "  biodyn train flipflop_3bit --net gru --hidden 24 --epochs 20 --fixed-points --out results\n"
               "  biodyn train delayed_copy --net rnn --set delay=30 --floss 4 --floss-epochs 10 "
               "--floss-every 5 --out results\n"
               "  biodyn train sine_classification --net rnn --optimizer gd --lr 0.1 --out results\n"
               "  biodyn train spike_patterns --net lif --learner eprop --hidden 32 --epochs 15 --lr 0.02 --out results\n"
               "  biodyn train spike_sine_generation --net lif --learner eprop --out results\n"
               "  biodyn train temporal_xor --net lif --neuron adex --dt '0.05 ms' --learner bptt --out results",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", metavar="TASK", help="a task name (biodyn list tasks) or a task spec path")
    p.add_argument("--net", required=True, choices=["rnn", "gru", "lstm", "lif"],
                   help="the cell; lif: a spiking network of catalog neurons (--neuron, --learner)")
    p.add_argument("--hidden", type=int, help="hidden units H " + both("hidden"))
    p.add_argument("--epochs", type=int, help="passes over the training set " + both("epochs"))
    p.add_argument("--lr", type=float, help="learning rate " + both("lr"))
    p.add_argument("--optimizer", help="a biodyn.ann optimiser: adam, gd, heavy_ball, nesterov, sgd, heun, rk4, "
                   "rk45 " + both("optimizer"))
    p.add_argument("--batch-size", type=int, help="sequences per update " + both("batch_size"))
    p.add_argument("--g", type=float, help="recurrent gain of the initial weights, "
                   f"W_hh ~ N(0, g^2/H) per gate (default: the task's [training] table, else {rate['g']})")
    p.add_argument("--set", dest="parameters", action="append", default=[], metavar="NAME=VALUE",
                   help="change a parameter of the task's generator (--set delay=20; repeatable)")
    p.add_argument("--lyapunov-every", type=int, metavar="K", help="Lyapunov spectrum of the network driven "
                   "by the test inputs at epoch 0, every K epochs and at the last (QR method)")
    p.add_argument("--lyapunov-k", type=int, metavar="N", help="number of exponents (default all: H, "
                   "2H for the LSTM's (h, c))")
    p.add_argument("--lyapunov-steps", type=int, help="steps measured per spectrum (default 1000)")
    p.add_argument("--lstm-block", choices=["full", "h"], help="LSTM spectra: of the full (h, c) "
                   "map (default; 2H Lyapunov exponents) or of the H x H blocks dh'/dh at fixed c of Vogt et al. "
                   "(2022) (h; not exponents of the map, since c also carries perturbations)")
    p.add_argument("--fixed-points", action="store_true", help="at the end, the fixed points of the trained "
                   "network under each constant input of the task, with stability and outputs (JSON), and a "
                   "figure of those of the first input on the top principal components (Sussillo & Barak 2013)")
    p.add_argument("--floss", type=int, metavar="K", help="gradient flossing (Engelken 2023): add the mean "
                   "square of the first K Lyapunov exponents (QR estimate under the task's input, differentiated "
                   "through the QR steps) to the loss; needs --floss-epochs and/or --floss-every")
    p.add_argument("--floss-weight", type=float, metavar="W", help="weight of the flossing loss (default 1)")
    p.add_argument("--floss-epochs", type=int, metavar="E", help="passes over the training set of flossing "
                   "alone before training (recorded as epochs -E+1..0)")
    p.add_argument("--floss-every", type=int, metavar="M", help="add the flossing loss to the task loss in "
                   "every M-th training epoch")
    p.add_argument("--floss-transient", type=int, metavar="T0", help="steps of each sequence evolved but not "
                   "counted in the flossed exponents (default a quarter of the sequence)")
    p.add_argument("--floss-fixed-trajectory", action="store_true", help="differentiate the exponents along "
                   "the fixed state trajectory (default: the full derivative, through the states too, which grows "
                   "like exp(lambda_1 T) in a strongly chaotic network)")
    p.add_argument("--clip-grad", type=float, metavar="NORM", help="clip every minibatch gradient to global "
                   "L2 norm NORM, direction kept (Pascanu et al. 2013), before the optimiser's update; tames "
                   "the loss spikes of tanh RNNs; --net lif: the learner's update (BPTT, e-prop, R-STDP) over the weights it "
                   "trains (default: no clipping; recorded in the JSON and the figure)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the data, initial weights and minibatch "
                   "order (default 0; recorded in the outputs)")
    s = p.add_argument_group("spiking networks (--net lif; biodyn.snn, biodyn.learn._snn)",
                             "flags not given take the task's [training.spiking] defaults where it has them "
                             "(neuron, hidden, epochs, lr, batch size, optimizer, w_in, w_rec, tau_syn, tau_out, "
                             "encoding, rate, steps_per_sample), else biodyn's generic ones (below; "
                             "biodyn.learn._snn.SNN_DEFAULTS); the JSON's config.sources says which")
    s.add_argument("--learner", help="bptt (surrogate-gradient backprop through time, default), readout "
                   "(only the output weights learn), eprop or eprop_random (Bellec et al. 2020: symmetric or "
                   "random feedback), rstdp (reward-modulated STDP from the catalog's rstdp synapse, delta-rule readout)")
    s.add_argument("--rule-params", help="--learner rstdp: the parameter set of the rstdp synapse spec "
                   "(default the spec's, izhikevich_2007)")
    s.add_argument("--neuron", help="the catalog neuron model (default: the task's [training.spiking] neuron, "
                   f"e.g. alif for cue_accumulation, else {spk['neuron']}; alif, adex, lif_cond, ...)")
    s.add_argument("--params", help="its parameter set (default: the spec's)")
    s.add_argument("--dt", help=f"time step with unit (default {spk['dt']})")
    s.add_argument("--tau-syn", help=f"synaptic current decay time (default: the task's, else {spk['tau_syn']})")
    s.add_argument("--surrogate", help="surrogate derivative shape: fast_sigmoid (SuperSpike) or sigmoid "
                   f"(default {spk['surrogate']})")
    s.add_argument("--surrogate-width", help="its width in the threshold margin's unit "
                   f"(default {spk['surrogate_width']})")
    s.add_argument("--w-in", type=float, help="initial input weight scale in the weight unit (1 nA for currents, "
                   "0.05 for conductances): W_in ~ N(w/sqrt(M), (w/sqrt(M))^2) (default: the task's, else "
                   f"{spk['w_in']})")
    s.add_argument("--w-rec", type=float, help="initial recurrent gain: W_rec ~ N(0, w^2/H) (default: the task's, "
                   f"else {spk['w_rec']})")
    s.add_argument("--encoding", help="analog task inputs as spikes: poisson or latency (default: the task's, else "
                   f"{spk['encoding']})")
    s.add_argument("--rate", help="maximal input rate of the poisson encoding (default: the task's, else "
                   f"{spk['rate']})")
    s.add_argument("--brian-check", type=int, metavar="N", help="run the trained network in Brian2 on N test "
                   "sequences and report the metric there beside the differentiable network's (default 16; 0: not)")
    s.add_argument("--target", help="Brian2 target of --brian-check and the dynamics (default numpy)")
    s.add_argument("--no-dynamics", action="store_const", const=True, help="skip the trained network's largest "
                   "Lyapunov exponent (two copies in Brian2) and firing statistics (default: computed, 2 s of "
                   "network time driven by the test sequences; the JSON's 'dynamics')")
    s.add_argument("--steps-per-sample", type=int, help="network steps per task step for analog tasks "
                   f"(default: the task's, else {spk['steps_per_sample']})")
    p.add_argument("--out", "-o", required=True, help="output folder")
    p.add_argument("--json", metavar="FILE", help="also write the JSON document to FILE ('-': stdout)")
    # errors of biodyn.learn name its keywords (epochs=); typed here, they name the flag (--epochs)
    p.set_defaults(func=run, keyword_flags=flags_of(p, lyapunov_block="--lstm-block", model="--neuron",
                                                    brian_target="--target", parameters="--set",
                                                    **{"**": "--set"}))


def run(args):
    from .. import jobs
    from ..errors import SpecError
    from ..spec import parse_value
    from . import parse_assignments
    from ._output import say

    parameters = {k: parse_value(v) for k, v in parse_assignments(args.parameters, "--set").items()}
    if args.net == "lif":
        return _run_spiking(args, parameters)
    for flag in _SPIKING_FLAGS:
        if getattr(args, flag) is not None:
            raise SpecError("<command line>", "--" + flag.replace("_", "-"), "a flag of spiking networks only "
                            "(--net lif)", f"--net {args.net}")
    if args.optimizer is not None:
        from ..ann import OPTIMISERS
        from ..errors import suggest

        names = [n for n in OPTIMISERS if n != "implicit_gd"]  # BPTT needs no Hessian-vector products
        if args.optimizer not in names:
            raise SpecError("<arguments>", "--optimizer", "one of " + ", ".join(names), repr(args.optimizer),
                            "implicit_gd needs Hessian-vector products, which training by BPTT here does not "
                            "provide" if args.optimizer == "implicit_gd" else suggest(args.optimizer, names))
    if args.lyapunov_every is None:  # options of the spectra would be silently ignored
        for flag, value in (("--lyapunov-k", args.lyapunov_k), ("--lyapunov-steps", args.lyapunov_steps),
                            ("--lstm-block", args.lstm_block)):
            if value is not None:
                raise SpecError("<arguments>", flag, "--lyapunov-every K as well (spectra are computed only "
                                "with it)", f"{flag} {value} alone")

    def progress(epoch, curves):
        if not args.quiet:
            print(f"  epoch {epoch}: train loss {curves['train_loss'][-1]:.4g}, test loss "
                  f"{curves['test_loss'][-1]:.4g}, test metric {curves['test_metric'][-1]:.4g}",
                  file=sys.stderr, flush=True)

    result = jobs.train(args.task, net=args.net, hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                        optimizer=args.optimizer, seed=args.seed, batch_size=args.batch_size, g=args.g,
                        parameters=parameters, lyapunov_every=args.lyapunov_every, lyapunov_k=args.lyapunov_k,
                        lyapunov_steps=1000 if args.lyapunov_steps is None else args.lyapunov_steps,
                        lyapunov_block=args.lstm_block or "full",
                        fixed_points=args.fixed_points, out=args.out,
                        floss=args.floss, floss_weight=args.floss_weight, floss_epochs=args.floss_epochs,
                        floss_every=args.floss_every, floss_transient=args.floss_transient,
                        floss_fixed_trajectory=args.floss_fixed_trajectory, clip_grad=args.clip_grad,
                        json=args.json, progress=progress)
    doc = result.summary
    c, f = doc["config"], doc["final"]
    say(args, f"{c['task']['name']}: {c['net']} H = {c['hidden']}, {c['epochs']} epochs, {c['optimizer']} "
              f"lr = {c['lr']:g}: test loss {doc['curves']['test_loss'][0]:.4g} -> {f['test_loss']:.4g}, "
              f"test {c['task']['metric']} {doc['curves']['test_metric'][0]:.3g} -> {f['test_metric']:.3g}")
    if c.get("clip_grad") is not None:
        say(args, f"  gradient norm clipped at {c['clip_grad']:g}: {c['clipped_gradients']} of {c['gradients']} "
                  "gradients")
    if doc["curves"].get("lyapunov_epoch"):
        lam = doc["curves"]["lyapunov_exponents"]
        say(args, "  largest Lyapunov exponent (per step): " + ", ".join(
            f"epoch {e}: {row[0]:.4g}" for e, row in zip(doc["curves"]["lyapunov_epoch"], lam)))
        say(args, "  log10 condition number of the Jacobian product over one test sequence: " + ", ".join(
            f"epoch {e}: {k:.3g}" for e, k in zip(doc["curves"]["lyapunov_epoch"],
                                                  doc["curves"]["jacobian_log10_condition"])))
    if doc["curves"].get("floss_exponents"):
        fe, ep = doc["curves"]["floss_exponents"], doc["curves"]["epoch"]
        row = lambda j: ", ".join(f"{v:.3g}" for v in fe[j])  # noqa: E731
        say(args, f"  flossed exponents (first {c['floss']['k']}, per step): epoch {ep[0]}: {row(0)}; "
                  f"epoch {ep[-1]}: {row(-1)}")
    for fp in doc.get("fixed_points", {}).get("by_input", []):
        say(args, f"  fixed points, input {fp['label']}: {fp['n_stable']} stable, {fp['n_unstable']} unstable; "
                  "stable outputs " + ", ".join("(" + ", ".join(f"{v:.2f}" for v in p["output"]) + ")"
                                                for p in fp["points"] if p["stable"]))
    for key in ("weights", "figure", "fixed_points_figure", "json"):
        path = result.paths.get(key)
        if path is not None and str(path) != "-":
            say(args, path)
    return 0


_SPIKING_FLAGS = ("learner", "neuron", "params", "dt", "tau_syn", "surrogate", "surrogate_width", "encoding", "rate",
                  "steps_per_sample", "brian_check", "target", "w_in", "w_rec", "rule_params", "no_dynamics")


def _run_spiking(args, parameters):
    from .. import jobs
    from ..errors import SpecError
    from ._output import say

    for flag, value in (("lyapunov_every", args.lyapunov_every), ("lyapunov_k", args.lyapunov_k),
                        ("fixed_points", args.fixed_points or None), ("g", args.g),
                        ("lstm_block", args.lstm_block), ("floss", args.floss)):
        if value is not None:
            raise SpecError("<command line>", "--" + flag.replace("_", "-"), "a flag of --net rnn/gru/lstm",
                            "--net lif", "not (yet) available for spiking networks")
    options = {k: getattr(args, k) for k in ("dt", "tau_syn", "surrogate", "surrogate_width", "encoding", "rate",
                                             "steps_per_sample", "w_in", "w_rec", "rule_params")
               if getattr(args, k) is not None}

    def progress(epoch, curves):
        if not args.quiet:
            print(f"  epoch {epoch}: train loss {curves['train_loss'][-1]:.4g}, test loss "
                  f"{curves['test_loss'][-1]:.4g}, test metric {curves['test_metric'][-1]:.4g}, "
                  f"{curves['rate_hz'][-1]:.3g} Hz", file=sys.stderr, flush=True)

    # flags not given are None: the training takes the task's [training.spiking] value, else
    # biodyn.learn._snn.SNN_DEFAULTS, as a script's call does, and records which (config.sources)
    result = jobs.train_snn(args.task, neuron=args.neuron, params=args.params,
                            learner=args.learner or "bptt", hidden=args.hidden, epochs=args.epochs, lr=args.lr,
                            optimizer=args.optimizer, seed=args.seed, batch_size=args.batch_size,
                            out=args.out, json=args.json, progress=progress,
                            brian_check=16 if args.brian_check is None else args.brian_check,
                            brian_target=args.target or "numpy", dynamics=not args.no_dynamics,
                            clip_grad=args.clip_grad, parameters=parameters, **options)
    doc = result.summary
    c, f = doc["config"], doc["final"]
    say(args, f"{c['task']['name']}: {c['model']} network H = {c['hidden']}, learner {c['learner']}, "
              f"{c['epochs']} epochs, {c['optimizer']} lr = {c['lr']:g}: test loss {doc['curves']['test_loss'][0]:.4g} "
              f"-> {f['test_loss']:.4g}, test {c['task']['metric']} {doc['curves']['test_metric'][0]:.3g} -> "
              f"{f['test_metric']:.3g}, {f['rate_hz']:.3g} Hz")
    if c.get("clip_grad") is not None:
        say(args, f"  update norm clipped at {c['clip_grad']:g}: {c['clipped_gradients']} of {c['gradients']} "
                  "updates")
    if c.get("model_source") == "task":
        say(args, f"  neuron {c['model']}: the task's [training.spiking] neuron (--neuron to change)")
    if c.get("task_parameters_for_spiking"):
        say(args, f"  task parameters for spiking networks (the task's [training.spiking]; --set to change): "
                  + ", ".join(f"{k} = {v}" for k, v in c["task_parameters_for_spiking"].items()))
    if "brian" in doc:
        b = doc["brian"]
        say(args, f"  in Brian2 ({b['target']}, {b['n_sequences']} test sequences): {c['task']['metric']} "
                  f"{b['test_metric_brian']:.3g} (differentiable network: {b['test_metric_jax']:.3g}); spike trains "
                  + ("identical" if b["identical_spikes"] else f"differ ({b['spikes_brian']} vs {b['spikes_jax']} spikes)"))
    if "dynamics" in doc:
        d = doc["dynamics"]
        lam = ("-inf (the copies merged: stable below what dt resolves)" if d["lambda_max_per_s"] is None
               else f"{d['lambda_max_per_s']:.4g} +- {d['lambda_max_se_per_s'] or float('nan'):.2g} /s")
        fs = d["firing"]
        cv = "n/a" if fs["cv_isi"] is None else f"{fs['cv_isi']:.3g}"
        say(args, f"  in Brian2 ({d['target']}, driven by the test sequences): largest Lyapunov exponent {lam}; "
                  f"rate {fs['rate_hz']:.3g} Hz, CV(ISI) {cv}")
    for key in ("weights", "figure", "json"):
        path = result.paths.get(key)
        if path is not None and str(path) != "-":
            say(args, path)
    return 0
