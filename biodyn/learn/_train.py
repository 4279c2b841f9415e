r"""Training networks of biodyn's cells on tasks: backprop through time with JAX gradients.

The network is :class:`biodyn.ann.RNN`'s: a cell of :mod:`biodyn.dynamics` (``rnn``, ``gru``,
``lstm``; PyTorch's layout), :math:`s_t = F(s_{t-1}, x_t)` from :math:`s_0 = 0`, and a linear
readout :math:`y_t = V h_t + c` at every step (task readout ``"all"``) or at the last
(``"last"``). Its forward step is :func:`biodyn.dynamics.cell_step` — the *same* code as the
numpy cells, run with ``jax.numpy`` — and the gradient of the loss is JAX's reverse mode
through ``jax.lax.scan`` over time (Werbos 1990). The numpy reverse-time recursion of
:meth:`biodyn.ann.RNN.backprop` stays the explicit reading: the tests check that both give
the same gradients.

Losses (the task's): ``mse`` — PyTorch's ``MSELoss`` over the scored entries,
:math:`L = \frac{1}{|M|\,O}\sum_{(n,t)\in M}\lVert y_{nt}-t_{nt}\rVert^2` (with every step scored
this is exactly :func:`biodyn.ann` ``mse``); ``cross_entropy`` — PyTorch's
``CrossEntropyLoss`` on the last output.

Updates: biodyn's optimisers (:data:`biodyn.ann.OPTIMISERS`: ``gd``, ``adam``, ``heavy_ball``,
``nesterov``, ``sgd``, ``heun``, ``rk4``, ...) applied to the flattened parameter vector, one
step per minibatch; their ``step`` functions are used as they are, with an oracle whose
gradient is the JAX minibatch gradient (so a Runge–Kutta step evaluates it at its stages).
``implicit_gd`` needs Hessian-vector products and is refused. Minibatches are drawn without
replacement, shuffled each epoch by ``numpy.random.default_rng([seed, 2])`` (an incomplete
last minibatch is dropped, so every update sees ``batch_size`` sequences); the weights are
initialised exactly as :class:`biodyn.ann.RNN` does with ``seed`` (``sigma_w = g``).

All JAX work runs inside ``jax.enable_x64(True)`` (float64; a context, so the user's own JAX
configuration is never changed).

References
----------
Werbos PJ (1990) Backpropagation through time: what it does and how to do it. Proc IEEE
78(10):1550-1560. doi:10.1109/5.58337
Kingma DP, Ba J (2015) Adam: a method for stochastic optimization. ICLR. arXiv:1412.6980
"""

from __future__ import annotations

import functools
import inspect
import json
from dataclasses import dataclass, field

import numpy as np

from .._version import __version__
from ..errors import BiodynError, SpecError, suggest
from ._floss import check_floss, floss_functions, floss_q0
from ._task import TRAIN_DEFAULTS, call_parameters, metric_value, settings_with_sources, task_with

__all__ = ["train", "TrainResult", "NETS", "jax_loss_and_grad", "load_result", "spectrum_of", "jacobian_product_of",
           "clip_by_global_norm"]

NETS = ("rnn", "gru", "lstm")


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:  # pragma: no cover - jax is an extra
        raise BiodynError("biodyn train needs JAX: pip install jax") from exc
    return jax, jnp


def _forward(jnp, lax, kind, nonlinearity, readout, H, p, x):
    """Outputs ``(n, T, O)`` (readout ``all``) or ``(n, O)`` (``last``) for inputs ``(n, T, I)``."""
    from ..dynamics import cell_step

    W_ih, W_hh, b_ih, b_hh = p["cell.W_ih"], p["cell.W_hh"], p["cell.b_ih"], p["cell.b_hh"]
    n = x.shape[0]
    S = 2 * H if kind == "lstm" else H

    def body(s, xt):
        s2 = cell_step(jnp, kind, W_ih, W_hh, b_ih, b_hh, s, xt, nonlinearity)
        return s2, s2[:, :H]

    s_last, hs = lax.scan(body, jnp.zeros((n, S)), jnp.swapaxes(x, 0, 1))
    if readout == "last":
        return s_last[:, :H] @ p["readout.W"].T + p["readout.b"]
    return jnp.swapaxes(hs, 0, 1) @ p["readout.W"].T + p["readout.b"]


def _loss(jnp, jax, loss, y, t, mask):
    if loss == "cross_entropy":
        logp = jax.nn.log_softmax(y, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None].astype(int), axis=-1))
    m = mask[..., None]
    return jnp.sum(m * (y - t) ** 2) / (jnp.sum(mask) * y.shape[-1])


@functools.lru_cache(maxsize=32)
def jax_loss_and_grad(kind, H, readout, loss, nonlinearity="tanh"):
    """Jitted functions ``(loss(p, x, t, mask), grad(p, x, t, mask), outputs(p, x))`` of a
    parameter dict ``p`` with :class:`biodyn.ann.RNN`'s keys. Call them inside
    ``jax.enable_x64(True)``. Cached: networks of one shape share their compiled code."""
    jax, jnp = _jax()

    def outputs(p, x):
        return _forward(jnp, jax.lax, kind, nonlinearity, readout, H, p, x)

    def value(p, x, t, mask):
        return _loss(jnp, jax, loss, outputs(p, x), t, mask)

    return jax.jit(value), jax.jit(jax.grad(value)), jax.jit(outputs)


def clip_by_global_norm(g, max_norm):
    r"""The gradient ``g`` (all parameters, flattened) rescaled to global L2 norm at most
    ``max_norm``, its direction kept (Pascanu, Mikolov & Bengio 2013, "On the difficulty of
    training recurrent neural networks", ICML, Algorithm 1):

    .. math:: \hat g = g \, \min\left(1, \frac{c}{\lVert g\rVert_2}\right)

    ``max_norm=None``: ``g`` unchanged. Returns ``(clipped, norm)``, ``norm`` being
    :math:`\lVert g\rVert_2` before clipping."""
    g = np.asarray(g, float)
    norm = float(np.linalg.norm(g))
    if max_norm is None or not norm > max_norm:  # NaN norms pass through: the divergence check sees them
        return g, norm
    return g * (float(max_norm) / norm), norm


class _Oracle:
    """What biodyn's optimisers see: the minibatch gradient at any ``theta``, clipped to
    global norm ``clip`` (:func:`clip_by_global_norm`) if given; ``n_clipped`` counts the
    gradients that were."""

    def __init__(self, grad_of_theta, clip=None):
        self._g = grad_of_theta
        self.clip = clip
        self.n_grad = 0
        self.n_clipped = 0

    def grad(self, theta):
        self.n_grad += 1
        g = self._g(theta)
        if self.clip is None:
            return g
        clipped, norm = clip_by_global_norm(g, self.clip)
        self.n_clipped += bool(norm > self.clip)
        return clipped

    stochastic_grad = grad

    def hvp(self, theta, v):
        raise BiodynError("optimizer: this optimiser needs Hessian-vector products, which biodyn train "
                          "does not provide; use gd, adam, heavy_ball, nesterov, sgd, heun, rk4 or rk45")


@dataclass
class TrainResult:
    """A trained network: weights, learning curves and everything that shaped them."""

    params: dict
    curves: dict
    config: dict
    task: object = field(repr=False, default=None)

    def network(self):
        """The trained network as a :class:`biodyn.ann.RNN` (numpy; its ``cell()`` gives the
        :mod:`biodyn.dynamics` cell for Lyapunov spectra)."""
        from ..ann import RNN

        c = self.config
        net = RNN(c["n_inputs"], c["hidden"], c["n_outputs"], cell=c["net"], nonlinearity=c["nonlinearity"],
                  readout=c["readout"], seed=c["seed"])
        net.params = {k: np.array(v) for k, v in self.params.items()}
        return net

    def save(self, path):
        """Write the weights, curves and configuration (JSON in ``config``) to an ``.npz`` file."""
        from ..io import atomic_path

        arrays = {f"param/{k}": v for k, v in self.params.items()}
        arrays.update({f"curve/{k}": np.asarray(v) for k, v in self.curves.items()})
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, config=np.array(json.dumps(self.config, sort_keys=True)), **arrays)
        return path

    def document(self):
        """The JSON document of the run: ``{"config", "curves", "final"}`` (plain types)."""
        def finite(x):  # JSON has no NaN or infinity: null (a dead ReLU unit's exponent is -inf)
            if isinstance(x, list):
                return [finite(y) for y in x]
            return None if isinstance(x, float) and not np.isfinite(x) else x

        curves = {k: finite(np.asarray(v).tolist()) for k, v in self.curves.items()}
        final = {k: curves[k][-1] for k in ("train_loss", "test_loss", "train_metric", "test_metric")}
        return {"config": self.config, "curves": curves, "final": final}


def load_result(path):
    """A :class:`TrainResult` read back from :meth:`TrainResult.save`'s file, or from the .npz of a
    spiking network (``biodyn train --net lif``: keys ``param.W_in``; its ``W_in`` and ``W_rec``
    are in ``config["weight_unit"]``, e.g. ``"1. nA"``, while :func:`biodyn.snn.brian_run` takes
    SI values). A file without trained parameters is an error, never an empty result."""
    from ..errors import BiodynError

    with np.load(path, allow_pickle=False) as z:
        if "config" not in z.files:
            raise BiodynError(f"{path}: not a biodyn training result (no 'config' entry)")
        config = json.loads(str(z["config"]))
        params = {k[6:]: z[k] for k in z.files if k.startswith(("param/", "param."))}
        curves = {k[6:]: z[k] for k in z.files if k.startswith(("curve/", "curve."))}
    if not params:
        raise BiodynError(f"{path}: no trained parameters in the file (keys param/NAME or param.NAME)")
    return TrainResult(params, curves, config)


def _check_positive(value, flag, kind=int):
    try:
        ok = kind(value) == value and value > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SpecError("<arguments>", flag, f"a positive {'integer' if kind is int else 'number'}", repr(value))
    return kind(value)


def check_clip_grad(clip_grad):
    """``clip_grad`` as a float (a positive finite global norm, Pascanu et al. 2013), or None
    (no clipping); anything else is one SpecError naming the keyword (rate and spiking nets)."""
    if clip_grad is None:
        return None
    ok = (isinstance(clip_grad, (int, float, np.integer, np.floating)) and not isinstance(clip_grad, bool)
          and 0 < clip_grad < np.inf)
    if not ok:
        raise SpecError("<arguments>", "clip_grad", "a positive finite gradient norm (or none: no clipping)",
                        repr(clip_grad))
    return float(clip_grad)


def spectrum_of(params, config, inputs, k=None, steps=1000, block="full"):
    r"""The Lyapunov spectrum of the network's cell with weights ``params`` driven by ``inputs``
    ``(T, I)`` (cycled): :func:`biodyn.dynamics.lyapunov_spectrum` of a
    :class:`~biodyn.dynamics.DrivenCell`, from the zero state, after a transient of ``T``
    steps, over ``steps`` steps (exponents per step). The LSTM's are those of its full
    :math:`(h, c)` map, :math:`2H` of them (``block="full"``), or the :math:`H` of the
    products of the blocks :math:`\partial h_{t+1}/\partial h_t` that Vogt et al. (2022)
    used (``block="h"``; see :class:`~biodyn.dynamics.DrivenCell`)."""
    from ..ann import RNN
    from ..dynamics import DrivenCell, lyapunov_spectrum

    c = config
    net = RNN(c["n_inputs"], c["hidden"], c["n_outputs"], cell=c["net"], nonlinearity=c["nonlinearity"],
              readout=c["readout"], seed=c["seed"])
    cell = net.cell({k_: np.asarray(v) for k_, v in params.items()})
    return lyapunov_spectrum(DrivenCell(cell, inputs, block), np.zeros(cell.state_size), duration=int(steps),
                             transient=len(inputs), k=k, seed=int(c["seed"]))


def jacobian_product_of(params, config, inputs):
    r"""What backprop through time sees over one input sequence ``inputs`` ``(T, I)`` from the
    zero state: the exponents :math:`\frac1T\log\sigma_i(D_T\cdots D_1)` of the product of the
    state Jacobians (:func:`biodyn.ann.jacobian_product_exponents`, graded QR, accurate for
    any T) and the product's condition number as :math:`\log_{10}\kappa =
    T(\mu_1-\mu_n)/\ln 10` (Pascanu et al. 2013; Engelken 2023)."""
    from ..ann import RNN, jacobian_product_exponents

    c = config
    net = RNN(c["n_inputs"], c["hidden"], c["n_outputs"], cell=c["net"], nonlinearity=c["nonlinearity"],
              readout=c["readout"], seed=c["seed"])
    cell = net.cell({k_: np.asarray(v) for k_, v in params.items()})
    s = np.zeros(cell.state_size)
    jacobians = []
    for x in np.asarray(inputs, float):
        jacobians.append(cell.jacobian(s, x))
        s = cell.step(s, x)
    mu = jacobian_product_exponents(jacobians)
    return mu, float(len(jacobians) * (mu[0] - mu[-1]) / np.log(10.0))


def _task_of(task, parameters, loose):
    """The task of :func:`train` with its parameters: ``parameters=`` (named ``parameters.NAME``
    in errors) and the loose keywords (named ``NAME``), checked as :func:`train`'s docstring
    says (:func:`biodyn.learn._task.call_parameters`, the rules of ``train_snn`` too), before
    any data are drawn."""
    import inspect

    from ._snn import train_snn

    snn = frozenset(inspect.signature(train_snn).parameters) - {"task", "parameters", "task_parameters"}
    values, given_as = call_parameters(task, parameters, loose, function="learn.train", keywords=_KEYWORDS,
                                       others={"spiking networks (biodyn.learn._snn.train_snn)": snn})
    # one Task: errors name each value as it was given (parameters.NAME, or the keyword NAME)
    return task_with(task, values, given_as=given_as)


def train(task, net="rnn", hidden=None, epochs=None, lr=None, optimizer=None, seed=0, batch_size=None, g=None,
          nonlinearity="tanh", optimizer_options=None, progress=None, lyapunov_every=None, lyapunov_k=None,
          lyapunov_steps=1000, lyapunov_block="full", floss=None, floss_weight=None, floss_epochs=None,
          floss_every=None, floss_transient=None, floss_fixed_trajectory=False, clip_grad=None,
          parameters=None, **task_parameters):
    """Train a network of biodyn's cells on a task by backprop through time.

    Parameters
    ----------
    task : str or Task
        A task of the catalog (``biodyn list tasks``), a path to a task spec, or a :class:`Task`.
    net : {"rnn", "gru", "lstm"}

    ``hidden``, ``epochs``, ``lr``, ``optimizer``, ``batch_size`` and ``g`` left at ``None``
    take the task's training defaults (:attr:`Task.training`: its ``[training]`` table, else
    :data:`biodyn.learn.TRAIN_DEFAULTS`: 32 units, 30 epochs, lr 0.01, adam, 64 sequences,
    g = 1).

    hidden : int
        Number of hidden units :math:`H`.
    epochs : int
        Passes over the training set.
    lr : float
        Learning rate (the optimiser's step :math:`\\eta`).
    optimizer : str
        A name of :data:`biodyn.ann.OPTIMISERS` (``adam``, ``gd``, ...); ``optimizer_options``
        its hyperparameters (e.g. ``{"beta1": 0.9}``).
    seed : int
        Seeds the data (:meth:`Task.data`), the initial weights and the minibatch order.
    batch_size : int
        Sequences per minibatch (the whole training set if larger).
    g : float
        Recurrent gain: each gate block of :math:`W_{hh}` is :math:`\\mathcal N(0, g^2/H)`.
    nonlinearity : {"tanh", "relu"}
        Vanilla RNN only.
    progress : callable(epoch, curves), optional
        Called after each epoch.
    lyapunov_every : int, optional
        Compute the Lyapunov spectrum (:func:`spectrum_of`) at epoch 0, every
        ``lyapunov_every`` epochs and at the last, driven by the test set's inputs (its
        sequences one after another, cycled); ``lyapunov_k`` exponents (default all) over
        ``lyapunov_steps`` steps. Recorded in ``curves`` as ``lyapunov_epoch``,
        ``lyapunov_exponents`` ``(records, k)``, ``lyapunov_se``, ``lyapunov_kaplan_yorke``,
        ``lyapunov_entropy_rate``; with them, what backprop sees over the first test sequence
        (:func:`jacobian_product_of`): ``jacobian_product_exponents`` ``(records, n)`` and
        ``jacobian_log10_condition``.
    lyapunov_block : {"full", "h"}
        LSTM only: the spectrum of the full :math:`(h, c)` map (``"full"``, :math:`2H`
        Lyapunov exponents) or of the :math:`\\partial h'/\\partial h` blocks of Vogt et al.
        (2022) (``"h"``, :math:`H` numbers; not exponents of the map, since :math:`c` also
        carries perturbations). Recorded in ``config["lyapunov"]["state"]``.
    floss : int, optional
        Gradient flossing (:mod:`biodyn.learn._floss`, Engelken 2023): the number :math:`K`
        of leading Lyapunov exponents pushed to zero by the loss
        :math:`w\\,\\frac1K\\sum_{i\\le K}\\bar\\lambda_i^2` (QR estimate over each minibatch
        sequence, differentiated through the QR steps). Needs a schedule:
        ``floss_epochs`` passes of flossing alone before training (recorded as epochs
        :math:`-E_f+1..0`, epoch :math:`-E_f` being the untrained network; a fresh optimiser
        state starts the training) and/or ``floss_every`` (the updates of every M-th training
        epoch minimise task loss + :math:`w L_\\text{floss}`). ``floss_weight`` :math:`w`
        (default 1); ``floss_transient`` steps of each sequence are evolved but not counted
        (default a quarter of the sequence). ``floss_fixed_trajectory``: differentiate along the
        fixed state trajectory (default: the full derivative, through the states too; see
        :mod:`biodyn.learn._floss` for when each is better). Recorded in ``curves`` at every epoch:
        ``floss_exponents`` ``(epochs, K)`` (the batch-mean QR estimate on the first 64 test
        sequences) and ``floss_loss``; the options in ``config["floss"]``.
    clip_grad : float, optional
        Gradient norm clipping (Pascanu, Mikolov & Bengio 2013, ICML): every minibatch
        gradient the optimiser sees — of all parameters together, flossing term included —
        is rescaled to global L2 norm at most ``clip_grad``, its direction kept
        (:func:`clip_by_global_norm`), before the optimiser's update (Adam's moments see the
        clipped gradient, as in PyTorch's ``clip_grad_norm_``). It tames the loss spikes of
        tanh RNNs, whose gradients can jump by orders of magnitude near bifurcations of the
        hidden dynamics (Pascanu et al. 2013, Sec. 3). Default ``None``: no clipping (results
        are those of an unclipped run). Recorded in ``config["clip_grad"]`` with
        ``config["clipped_gradients"]`` (how many of ``config["gradients"]`` were clipped).
    parameters : mapping, optional
        The task's generator parameters to change, e.g. ``parameters={"delay": 20}`` — as
        ``parameters`` of :func:`biodyn.jobs.train`, :func:`biodyn.jobs.train_snn` and
        :func:`biodyn.learn._snn.train_snn`, and ``--set`` of ``biodyn train``. Every name in it is
        a task parameter, never a training setting: ``parameters={"rate": 0.05}`` is the
        ``spike_patterns`` generator's rate. An error about one names it ``parameters.NAME``
        (``<arguments>: parameters.dealy: expected a parameter of delayed_copy (n_steps, delay,
        ...)``); a name that is no parameter of the task but a training setting
        (``parameters={"hidden": 3}``) is refused with a pointer to the keyword.
    **task_parameters
        Task parameters as loose keywords (``delay=20``), kept for older scripts, with one
        exception: a loose keyword that names a training setting (:data:`biodyn.learn._task.
        TRAINING_SETTINGS`: ``rate``, ``dt``, ``w_in``, ...) is refused — with a pointer to
        ``parameters=`` when it is also a parameter of the task (``rate=0.05`` for
        ``spike_patterns`` would be the task's rate here but the input encoding's in
        :func:`~biodyn.learn._snn.train_snn`: the same call must not mean two things), otherwise
        as a setting that rate networks do not have. A name given both ways (keyword and
        ``parameters=``) is an error. Prefer ``parameters=``: it is what the jobs, ``biodyn train
        --set`` and sweeps of ``job = "train"`` pass.

    The task parameters used are recorded in ``config["task"]["parameters"]`` (all of them,
    the generator's defaults included) and where each came from in
    ``config["task"]["parameter_sources"]``: ``"argument"`` (``parameters=``, a keyword, or
    the :class:`Task` object's own changes), ``"task"`` (the task file's ``[parameters]``) or
    ``"default"`` (the generator's default).

    Returns
    -------
    TrainResult
        ``params`` (numpy arrays, :class:`biodyn.ann.RNN`'s keys), ``curves``
        (``epoch``, ``train_loss``, ``test_loss``, ``train_metric``, ``test_metric``; epoch 0 is
        the untrained network) and ``config`` (task and its parameters, seed, net, hidden, lr,
        optimiser with its hyperparameters, versions). ``config["sources"]`` says for each of
        ``hidden``, ``epochs``, ``lr``, ``optimizer``, ``batch_size`` and ``g`` where its value
        came from: ``"argument"`` (given, not ``None``), ``"task"`` (the task's ``[training]``
        table) or ``"default"`` (:data:`biodyn.learn.TRAIN_DEFAULTS`) — the resolution and the
        record of :func:`biodyn.learn._snn.train_snn` (:func:`biodyn.learn._task.settings_with_sources`).
        ``config["task_defaults_used"]`` (kept for older readers) lists the settings not given,
        whichever of the two tables supplied them.
    """
    from ..ann import RNN, optimiser as make_optimiser

    task = _task_of(task, parameters, task_parameters)
    given = {"hidden": hidden, "epochs": epochs, "lr": lr, "optimizer": optimizer, "batch_size": batch_size, "g": g}
    # the resolution of the spiking training too: the argument, else the task's [training], else
    # TRAIN_DEFAULTS; where each came from is recorded (config["sources"])
    hp, sources = settings_with_sources(given, task.training_table, TRAIN_DEFAULTS)
    hidden, epochs, lr, optimizer, batch_size, g = (hp[k] for k in given)
    if net not in NETS:
        raise SpecError("<arguments>", "net", "one of " + ", ".join(NETS), repr(net),
                        "a spiking network is trained by biodyn.jobs.train_snn (biodyn.learn._snn.train_snn; "
                        "biodyn train --net lif), whose settings are its own" if net == "lif"
                        else suggest(str(net), NETS))
    hidden = _check_positive(hidden, "hidden")
    if epochs == 0:
        epochs = 0
    else:  # 0 epochs (the untrained network) is allowed, so the message says non-negative
        try:
            epochs = _check_positive(epochs, "epochs")
        except SpecError:
            raise SpecError("<arguments>", "epochs", "a non-negative integer (0: the untrained network)",
                            repr(epochs)) from None
    if isinstance(g, bool) or not isinstance(g, (int, float, np.number)) or not g >= 0:
        raise SpecError("<arguments>", "g", "a gain >= 0 (W_hh ~ N(0, g^2/H))", repr(g))
    batch_size = _check_positive(batch_size, "batch_size")
    lr = _check_positive(float(lr), "lr", float)
    opt = make_optimiser(optimizer, **(optimizer_options or {}))
    if opt.name == "implicit_gd":
        raise SpecError("<arguments>", "optimizer", "an optimiser without Hessian-vector products "
                        "(gd, adam, heavy_ball, nesterov, sgd, heun, rk4, rk45)", repr(optimizer))
    seed = int(seed)
    clip_grad = check_clip_grad(clip_grad)
    if lyapunov_every is not None:
        lyapunov_every = _check_positive(lyapunov_every, "lyapunov_every")
        lyapunov_steps = _check_positive(lyapunov_steps, "lyapunov_steps")
        if lyapunov_block not in ("full", "h") or (lyapunov_block == "h" and net != "lstm"):
            raise SpecError("<arguments>", "lstm_block", "'full' or 'h' (h: the LSTM's h-block, Vogt et al. "
                            "2022; the other cells' state is h already)", f"{lyapunov_block!r} with net {net!r}")
        if lyapunov_k is not None:
            lyapunov_k = _check_positive(lyapunov_k, "lyapunov_k")
            n_state = 2 * hidden if net == "lstm" and lyapunov_block == "full" else hidden
            if lyapunov_k > n_state:
                raise SpecError("<arguments>", "lyapunov_k", f"at most the state dimension {n_state}",
                                repr(lyapunov_k))
    jax, jnp = _jax()

    train_set, test_set = task.data(seed)
    floss_config = check_floss(floss, floss_weight, floss_epochs, floss_every, floss_transient,
                               floss_fixed_trajectory, net=net, hidden=hidden, n_steps=train_set.x.shape[1])
    pre_epochs = 0 if floss_config is None else floss_config["epochs"]
    ref = RNN(task.n_inputs, hidden, task.n_outputs, cell=net, nonlinearity=nonlinearity, sigma_w=float(g),
              readout=task.readout, seed=seed)
    keys = sorted(ref.params)
    shapes = [ref.params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    splits = np.cumsum(sizes)[:-1]

    def unflatten(theta):
        return {k: a.reshape(s) for k, a, s in zip(keys, np.split(theta, splits), shapes)}

    def flatten(p):
        return np.concatenate([np.asarray(p[k], float).ravel() for k in keys])

    theta = flatten(ref.params)
    rng = np.random.default_rng([seed, 2])
    curves = {k: [] for k in ("epoch", "train_loss", "test_loss", "train_metric", "test_metric")}
    n_train = len(train_set)
    bs = min(batch_size, n_train)

    def targets(b):
        return b.y if task.readout == "last" else b.y.astype(float)

    def mask(b):
        return np.ones(len(b), bool) if b.mask is None else b.mask

    config = {"task": task.as_dict(), "net": net, "hidden": hidden, "epochs": epochs, "lr": lr,
              "optimizer": opt.name, "optimizer_options": opt.hyperparameters(), "seed": seed,
              "batch_size": bs, "g": float(g), "nonlinearity": nonlinearity, "readout": task.readout,
              "n_inputs": task.n_inputs, "n_outputs": task.n_outputs,
              "init": "biodyn.ann.RNN (gaussian, sigma_w = g, input_scale = 1)",
              "task_defaults_used": sorted(k for k, v in given.items() if v is None),
              "sources": sources,
              "clip_grad": clip_grad,
              "versions": {"biodyn": __version__, "jax": jax.__version__, "numpy": np.__version__}}
    if lyapunov_every is not None:
        n_seq = max(1, min(len(test_set), -(-int(lyapunov_steps) // test_set.x.shape[1])))
        drive = test_set.x[:n_seq].reshape(-1, task.n_inputs)
        config["lyapunov"] = {"every": lyapunov_every, "k": lyapunov_k, "steps": int(lyapunov_steps),
                              "transient": len(drive), "drive": f"the first {n_seq} test sequences, "
                              "one after another, cycled", "block": lyapunov_block,
                              "state": ("h-block dh'/dh at fixed c (Vogt et al. 2022)" if lyapunov_block == "h"
                                        else "full (h, c)" if net == "lstm" else "h"),
                              "method": "QR (biodyn.dynamics.lyapunov_spectrum), exponents per step"}
        for key in ("lyapunov_epoch", "lyapunov_exponents", "lyapunov_se", "lyapunov_kaplan_yorke",
                    "lyapunov_entropy_rate", "jacobian_product_exponents", "jacobian_log10_condition"):
            curves[key] = []

    if floss_config is not None:
        n_state = 2 * hidden if net == "lstm" else hidden
        floss_config["q0_seed"] = [seed, 3]
        floss_config["monitor"] = f"batch-mean QR estimate on the first {min(64, len(test_set))} test sequences"
        config["floss"] = floss_config
        for key in ("floss_exponents", "floss_loss"):
            curves[key] = []

    def spectrum(epoch, theta):
        if lyapunov_every is None or not (epoch % lyapunov_every == 0 or epoch in (epochs, -pre_epochs)):
            return
        res = spectrum_of(unflatten(theta), config, drive, lyapunov_k, lyapunov_steps, lyapunov_block)
        curves["lyapunov_epoch"].append(epoch)
        curves["lyapunov_exponents"].append(res.exponents)
        curves["lyapunov_se"].append(res.standard_error)
        curves["lyapunov_kaplan_yorke"].append(np.nan if res.kaplan_yorke is None else res.kaplan_yorke)
        curves["lyapunov_entropy_rate"].append(res.entropy_rate)
        mu, log10_kappa = jacobian_product_of(unflatten(theta), config, test_set.x[0])
        curves["jacobian_product_exponents"].append(mu)
        curves["jacobian_log10_condition"].append(log10_kappa)

    with jax.enable_x64(True):
        value, grad, outputs = jax_loss_and_grad(net, hidden, task.readout, task.loss, nonlinearity)
        if floss_config is not None:
            f_exponents, f_loss, f_grad = floss_functions(net, nonlinearity, floss_config["transient"],
                                                               floss_config["through_state"])
            Q0 = jnp.asarray(floss_q0(n_state, floss_config["k"], seed))
            w_floss = floss_config["weight"]
            x_monitor = test_set.x[:64]

        def evaluate(epoch, theta):
            p = unflatten(theta)
            spectrum(epoch, theta)
            if floss_config is not None:
                lam = np.asarray(f_exponents(p, x_monitor, Q0))
                curves["floss_exponents"].append(lam)
                curves["floss_loss"].append(float(np.mean(lam ** 2)))
            curves["epoch"].append(epoch)
            for name, b in (("train", train_set), ("test", test_set)):
                curves[f"{name}_loss"].append(float(value(p, b.x, targets(b), mask(b))))
                curves[f"{name}_metric"].append(metric_value(task.metric, np.asarray(outputs(p, b.x)), b))
            if progress is not None:
                progress(epoch, curves)

        def floss_grad(th, xb):
            return w_floss * flatten(f_grad(unflatten(th), xb, Q0))

        evaluate(-pre_epochs, theta)
        k_floss = 0
        n_grad = n_clipped = 0
        if pre_epochs:
            state = opt.init(theta)
            floss_rng = np.random.default_rng([seed, 4])  # training then sees the minibatches it would unflossed
            for epoch in range(-pre_epochs + 1, 1):
                order = floss_rng.permutation(n_train)
                for start in range(0, n_train - bs + 1, bs):
                    xb = train_set.x[order[start:start + bs]]
                    oracle = _Oracle(lambda th: floss_grad(th, xb), clip_grad)
                    with np.errstate(over="ignore", invalid="ignore"):
                        theta, state = opt.step(theta, state, k_floss, lr, oracle)
                    k_floss += 1
                    n_grad, n_clipped = n_grad + oracle.n_grad, n_clipped + oracle.n_clipped
                    if not np.all(np.isfinite(theta)):
                        raise BiodynError(f"biodyn train: the weights diverged at flossing update {k_floss} "
                                          f"(lr = {lr:g}); try a smaller --lr or --floss-weight")
                evaluate(epoch, theta)
        state = opt.init(theta)
        k = 0
        every = None if floss_config is None else floss_config["every"]
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n_train)
            flossing = every is not None and epoch % every == 0
            for start in range(0, n_train - bs + 1, bs):
                idx = order[start:start + bs]
                xb, tb, mb = train_set.x[idx], targets(train_set)[idx], mask(train_set)[idx]
                if flossing:
                    oracle = _Oracle(lambda th: flatten(grad(unflatten(th), xb, tb, mb)) + floss_grad(th, xb),
                                     clip_grad)
                else:
                    oracle = _Oracle(lambda th: flatten(grad(unflatten(th), xb, tb, mb)), clip_grad)
                with np.errstate(over="ignore", invalid="ignore"):
                    theta, state = opt.step(theta, state, k, lr, oracle)
                k += 1
                n_grad, n_clipped = n_grad + oracle.n_grad, n_clipped + oracle.n_clipped
                if not np.all(np.isfinite(theta)):
                    raise BiodynError(f"biodyn train: the weights diverged at update {k} (epoch {epoch}, "
                                      f"lr = {lr:g}); try a smaller --lr")
            evaluate(epoch, theta)

    config["steps"] = k
    if clip_grad is not None:
        config["gradients"], config["clipped_gradients"] = n_grad, n_clipped
    if floss_config is not None:
        config["floss"]["pre_training_steps"] = k_floss
    return TrainResult(unflatten(theta), {k: np.asarray(v) for k, v in curves.items()}, config, task)


#: The keywords of :func:`train` (a training setting among them is one learn.train has).
_KEYWORDS = frozenset(inspect.signature(train).parameters) - {"task", "parameters", "task_parameters"}
