"""Build Brian2 objects from specs, and run them on a chosen target.

Two halves:

* :func:`neurons` and :func:`synapses` turn a spec (plus a parameter set,
  overrides and variants) into ordinary Brian2 ``NeuronGroup`` / ``Synapses``
  objects carrying their own namespace. They work in any Brian2 script, on any
  target, and change no global state::

      from brian2 import *
      import biodyn

      G = biodyn.neurons("lif", 100, params="dayan_abbott_2001")
      G.I = "2*nA * i / N"
      S = biodyn.synapses("stdp_pair", G, G, connect="i != j")
      run(1 * second)

* :class:`Simulation` is the one place in biodyn that picks the code-generation
  target (``numpy``, ``cython`` or ``cpp_standalone``), sets ``dt`` and the seed,
  runs a network, and checks that no state went NaN or infinite. Standalone
  projects are kept in a cache folder keyed by the caller (``build_key``), so
  a second run of the same model recompiles only what changed. It runs its own
  ``Network`` and leaves the caller's magic network, device, prefs, default clock
  and random state as it found them (restored on exit, also after an error).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gc
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
import weakref
from pathlib import Path

import numpy as np

from . import _signals, catalog
from .errors import BiodynError, SimulationError, SpecError, shorten
from .spec import ModelSpec, Resolved

__all__ = ["neurons", "synapses", "resolve", "Simulation", "StaleBuild", "SpikeParts", "TARGETS", "resolve_target",
           "cache_dir", "resolved_of", "versions", "start_values", "modulator", "progress",
           "AccuracyWarning"]

_UNSET = object()
_REPORT = contextvars.ContextVar("biodyn_report", default=None)


@contextlib.contextmanager
def progress(report="text"):
    """The progress setting of the :class:`Simulation` s made inside the block that are given
    no ``report`` of their own: for jobs whose Brian2 runs lie deep in library code (a
    comparison's learners), ``with build.progress("text"): ...`` shows them on stderr.
    ``None`` keeps them quiet (the default outside such a block)."""
    token = _REPORT.set(report)
    try:
        yield
    finally:
        _REPORT.reset(token)

#: The code-generation targets biodyn can run on.
TARGETS = ("numpy", "cython", "cpp_standalone")


def versions():
    """Versions recorded in every output: ``{"biodyn": ..., "brian2": ...}``."""
    import brian2

    from . import __version__

    return {"biodyn": __version__, "brian2": brian2.__version__}


def cache_dir():
    """biodyn's cache folder (``$BIODYN_CACHE`` or ``~/.cache/biodyn``)."""
    root = os.environ.get("BIODYN_CACHE")
    if root:
        return Path(root).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "biodyn"


def object_cache_dir():
    """The folder of compiled objects shared by all standalone projects (``cache_dir()/objects``)."""
    return cache_dir() / "objects"


def object_cache_make_args(environ=None):
    """``make`` arguments that compile a standalone project through biodyn's object cache.

    ``['CXX=python .../_objcache.py CACHE g++']``: ``make`` runs the compiler it would have run
    (``$CXX``, else GNU make's default ``g++``) through :mod:`biodyn._objcache`, which reuses
    the object of any source that some earlier project compiled with the same compiler, flags
    and preprocessed text (in a cold build, the sources every project shares:
    ``network.cpp``, ``run.cpp``, ``synapses_classes.cpp``, and code objects that are the
    same in several models). Objects are byte-for-byte what the compiler makes, so results are
    those of a build without the cache. Empty (no cache) if ``BIODYN_OBJECT_CACHE`` is ``0``,
    or on Windows (nmake; not supported).

    With GNU's compiler the wrapper also precompiles the standard headers that every generated
    source includes, once per compiler and flags (``--pch``,
    :func:`biodyn._objcache.precompiled_header`), and compiles each source with them: about
    half of a cold project's compilation is parsing those headers again in every source. The
    objects hold the same code (for code objects, measured: the same bytes). ``BIODYN_PCH=0``
    switches this off.
    """
    import shlex

    env = os.environ if environ is None else environ
    if os.name == "nt" or env.get("BIODYN_OBJECT_CACHE", "1").strip().lower() in _OFF:
        return []
    folder = object_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return []  # no writable cache: compile as Brian2 would
    real = env.get("CXX") or "g++"
    script = Path(__file__).with_name("_objcache.py")
    # -I -S: no site-packages, no PYTHON* variables: the wrapper needs only the standard library,
    # and make starts it once per source file (so the compiler's identity is computed here, once).
    pch = (["--pch"] if env.get("BIODYN_PCH", "1").strip().lower() not in _OFF
           and _is_gcc(real) else [])
    cxx = " ".join(shlex.quote(str(a)) for a in (sys.executable, "-I", "-S", script,
                                                 f"--id={_compiler_identity(real)}", *pch, folder,
                                                 real))
    return [shlex.quote(f"CXX={cxx}")]


_OFF = ("0", "no", "off", "false")


@functools.lru_cache(maxsize=None)
def _is_gcc(real):
    """Whether the compiler command ``real`` is GNU's (its precompiled headers are ``.gch`` files
    found beside an ``-include``d header; clang's work otherwise)."""
    import shlex
    import subprocess

    try:
        out = subprocess.run(shlex.split(real) + ["--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return b"Free Software Foundation" in out and b"clang" not in out.lower()


@functools.lru_cache(maxsize=None)
def _compiler_identity(real):
    import shlex

    from ._objcache import compiler_identity

    return compiler_identity(shlex.split(real))


#: ``make`` goals of a standalone build: the two largest compilation units first (``objects.cpp``,
#: all arrays and their input/output, takes ~40 % of a small project's compilation; ``main.cpp``
#: next), then the rest (``all``). ``make -j2`` starts goals in this order, so the longest job
#: no longer starts last and leaves a core idle at the end (longest-processing-time-first
#: scheduling, Graham 1969, SIAM J. Appl. Math. 17:416). The same objects are built.
MAKE_GOALS = ["objects.o", "main.o", "all"]


#: The compilation units of a standalone project that hold no model arithmetic: ``objects.cpp``
#: (allocating, initialising, loading and writing the arrays, setting run arguments) and
#: ``main.cpp`` (constants and copies into the arrays, then calls of the code objects in order).
#: Code objects, ``network.cpp`` (the time loop) and the rest keep the user's flags.
LIGHT_UNITS = ("objects.o", "main.o")


def light_units_make_args(flags):
    """``make`` arguments that compile :data:`LIGHT_UNITS` at ``-O1`` where the compilation
    ``flags`` ask for ``-O2``/``-O3`` (else none).

    ``objects.cpp`` is the largest unit of every project: at ``-O3`` its optimisation and code
    generation took ~40 % of a cold project's compilation (gcc 12 ``-ftime-report``: 3.0 of
    3.3 s for ``clopath_2010``'s), at ``-O1`` half as long; ``main.cpp`` 0.45 -> 0.3 s. Neither
    computes anything a result depends on (they copy values; the time loop is ``network.cpp``),
    so results and simulation speed are those of the user's flags. A target-specific variable
    of GNU make (``--eval``), appended after the user's flags, so the makefile Brian2 writes is
    unchanged (an edited makefile would make Brian2 rewrite it, and ``make`` recompile every
    unit, on the next build).
    """
    import shlex

    levels = [f for f in flags if re.fullmatch(r"-O(\d*|fast|s|z|g)", f)]
    if not levels or levels[-1] not in ("-O2", "-O3") or not _make_has_eval():
        return []
    return [shlex.quote(f"--eval={' '.join(LIGHT_UNITS)}: CXXFLAGS += -O1")]


@functools.lru_cache(maxsize=None)
def _make_has_eval():
    """Whether ``make`` is GNU make 3.82 or later (``--eval``; macOS ships 3.81)."""
    import subprocess

    try:
        out = subprocess.run(["make", "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return False
    m = re.search(r"GNU Make (\d+)\.(\d+)", out)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (3, 82)


def _user_compile_flags():
    from brian2 import prefs

    flags = prefs["codegen.cpp.extra_compile_args"]
    if flags is None:
        flags = prefs["codegen.cpp.extra_compile_args_gcc"]
    return list(flags or [])


def has_compiler():
    """Whether a C++ compiler (``g++``, ``c++`` or ``clang++``) is on ``PATH``.

    A compiler found is remembered for that ``PATH`` while its file stays executable (the
    search costs ~0.1 ms, once per point of a sweep otherwise); none found is never
    remembered (one installed later is found)."""
    search = os.environ.get("PATH", os.defpath)
    found = _COMPILERS.get(search)
    if found is not None and os.access(found, os.X_OK):
        return True
    found = next((p for p in map(shutil.which, ("g++", "c++", "clang++")) if p), None)
    if found is not None:
        _COMPILERS[search] = found
    return found is not None


#: The compiler :func:`has_compiler` found, by ``PATH``.
_COMPILERS: dict = {}


def resolve_target(target):
    """``"auto"`` -> ``cpp_standalone`` if a C++ compiler is found, else ``numpy``."""
    if target in (None, "auto"):
        return "cpp_standalone" if has_compiler() else "numpy"
    if target not in TARGETS:
        from .errors import suggest

        raise SpecError("<command line>", "--target", "one of " + ", ".join(TARGETS + ("auto",)),
                        repr(target), suggest(target, TARGETS))
    if target != "numpy" and not has_compiler():
        raise SpecError("<command line>", "--target", "a target this machine can compile for "
                        "(no C++ compiler found)", repr(target), "use --target numpy")
    return target


# --------------------------------------------------------------------------
# Objects
# --------------------------------------------------------------------------


def resolve(model, params=None, overrides=None, variants=None):
    """A model (name, path or spec) resolved with a parameter set, overrides and variants.

    ``params`` may be the name of a set, a path to a parameter-set TOML file (as
    written by ``biodyn fit``), or ``None`` for the spec's default set.
    """
    if isinstance(model, Resolved):
        if params is None and not overrides and not variants:
            return model
        model = model.spec
    spec = catalog.load(model)
    if isinstance(params, (str, os.PathLike)) and (str(params).endswith(".toml")
                                                    or os.sep in str(params)):
        from .spec import read_parameter_set

        params = read_parameter_set(params, spec)
    return spec.resolve(params, overrides, variants)


def _unit_text(dim):
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    if dim is DIMENSIONLESS:
        return "1"
    return repr(get_unit(dim))


def _parameter_equations(resolved, names, shared=True, varying=()):
    """Equation lines declaring parameters as constant variables (shared, or one per element;
    the names in ``varying`` one per element in any case)."""
    from brian2.units.fundamentalunits import get_dimensions

    lines = []
    for name in names:
        dim = get_dimensions(resolved.namespace[name])
        flags = "(shared, constant)" if shared and name not in varying else "(constant)"
        lines.append(f"{name} : {_unit_text(dim)} {flags}")
    return "\n".join(lines)


def _used_parameters(resolved):
    from brian2.utils.stringtools import get_identifiers

    ids = set()
    for text in resolved.code.values():
        if isinstance(text, str):
            ids |= get_identifiers(text)
    for text in resolved.spec.initial.values():
        ids |= get_identifiers(text)
    return [p for p in resolved.namespace if p in ids]


def _prepare(resolved, parameters_as, varying=()):
    if varying and parameters_as != "variables":
        raise ValueError("varying parameters need parameters_as='variables'")
    if parameters_as not in ("namespace", "variables", "per_element"):
        raise ValueError("parameters_as must be 'namespace', 'variables' or 'per_element'")
    model = resolved.code["model"]
    namespace = dict(resolved.namespace)
    as_variables = []
    if parameters_as in ("variables", "per_element"):
        # Brian2 reserves the _pre/_post suffixes in Synapses for partner variables (spec
        # loading refuses such parameter names; this guards specs built in code)
        as_variables = [p for p in _used_parameters(resolved)
                        if not (resolved.spec.kind == "synapse" and p.endswith(("_pre", "_post")))]
        missing = [p for p in varying if p not in as_variables]
        if missing:
            raise ValueError(f"varying: {', '.join(missing)} not parameters of the model's code")
        model = model + "\n" + _parameter_equations(resolved, as_variables,
                                                    shared=parameters_as == "variables",
                                                    varying=varying)
        namespace = {k: v for k, v in namespace.items() if k not in as_variables}
    elif resolved.spec.kind == "neuron":
        # A synapse reading this group's subexpression (``r_post`` with r = g*(I - theta))
        # makes Brian2 look the expression's constants up in the *synapse's* namespace, where
        # two partner groups with different values (or a rule's own parameter of that name)
        # would collide. Constants of subexpressions become shared constant variables of
        # the group instead: Brian2 then renames them per partner (theta_post, theta_pre).
        as_variables = _subexpression_parameters(resolved)
        if as_variables:
            model = model + "\n" + _parameter_equations(resolved, as_variables, shared=True)
            namespace = {k: v for k, v in namespace.items() if k not in as_variables}
    return model, namespace, as_variables


def _subexpression_parameters(resolved):
    from brian2 import Equations
    from brian2.utils.stringtools import get_identifiers

    ids = set()
    for eq in Equations(resolved.code["model"]).values():
        if eq.type == "subexpression" and eq.expr is not None:
            ids |= get_identifiers(str(eq.expr))
    return [p for p in resolved.namespace if p in ids]


def _initial_value(text, resolved):
    """An initial value: a number/quantity if ``text`` is an expression of parameters and
    units, else the text itself (for Brian2 to evaluate per neuron: ``rand()``, ``i``, ...)."""
    if not isinstance(text, str):
        return text
    from ._quantity import QuantityError, evaluate

    try:
        return evaluate(text, resolved.namespace)  # only read
    except QuantityError:
        return text


def _initialise(group, resolved, as_variables, init):
    for name in as_variables:
        setattr(group, name, resolved.namespace[name])
    for var, text in resolved.spec.initial.items():
        if init and var in init:
            continue
        setattr(group, var, _initial_value(text, resolved))
    for var, value in (init or {}).items():
        setattr(group, var, _initial_value(value, resolved))


def _wrap_brian_error(resolved, what, exc):
    return SpecError(resolved.spec.file, what, "code Brian2 accepts",
                     shorten(exc, 400))


def neurons(model, N, params=None, *, overrides=None, variants=None, name=None, method=None,
            dt=None, init=None, parameters_as="namespace", initialise=True, varying=(), **kwargs):
    """A ``NeuronGroup`` of ``N`` neurons of a catalog model.

    Parameters
    ----------
    model : str or ModelSpec or Resolved
        A neuron (or rate-neuron) model: catalog name, path, or spec.
    N : int
    params : str, optional
        Parameter set (name or path); the spec's default if not given.
    overrides : dict, optional
        Parameter values replacing the set's: ``{"tau_m": "20 ms"}``.
    variants : dict, optional
        Variant options: ``{"gain": "tanh"}``.
    init : dict, optional
        Initial values replacing the spec's ``[initial]``.
    parameters_as : {"namespace", "variables", "per_element"}
        ``"namespace"`` (default) passes parameters as constants (fastest code);
        ``"variables"`` declares them as ``(shared, constant)`` variables, which a
        standalone build can change with ``device.run(run_args=...)`` without
        recompiling; ``"per_element"`` as ``(constant)`` variables with one value
        per neuron (or synapse), so that the elements of one group can hold the
        values of different parameter sets.
    initialise : bool
        ``False`` sets neither the parameter variables nor the ``[initial]``
        values: the caller passes :func:`start_values` to ``Simulation.run(values=...)``
        instead, so that no value enters a standalone project's generated code.
    varying : sequence of str
        With ``parameters_as="variables"``: parameters declared ``(constant)`` with one
        value per element, the others staying shared. Batched sweeps run several
        parameter points as independent copies of one build this way (each copy's
        elements hold its point's values), while the parameters all copies share keep
        the shared variables, and so the arithmetic, of an unbatched run.
    **kwargs
        Passed to ``NeuronGroup`` (``events``, ``order``, ...).

    Returns
    -------
    brian2.NeuronGroup
        With the resolved model in its ``_biodyn`` attribute.
    """
    from brian2 import NeuronGroup

    resolved = resolve(model, params, overrides, variants)
    spec = resolved.spec
    if spec.kind != "neuron":
        raise SpecError(spec.file, "kind", "a neuron model for biodyn.neurons", repr(spec.kind),
                        "use biodyn.synapses for synapse models")
    code, namespace, as_variables = _prepare(resolved, parameters_as, varying)
    args = dict(model=code, namespace=namespace, method=method or spec.data.get("method", "euler"))
    for key in ("threshold", "reset", "refractory"):
        if resolved.code.get(key):
            value = resolved.code[key]
            args[key] = value
    if name is not None:
        args["name"] = name
    if dt is not None:
        args["dt"] = dt
    args.update(kwargs)
    try:
        group = NeuronGroup(N, **args)
        if initialise:
            _initialise(group, resolved, as_variables, init)
    except BiodynError:
        raise
    except Exception as exc:
        raise _wrap_brian_error(resolved, "model", exc) from exc
    group._biodyn = resolved
    group._biodyn_parameters = tuple(as_variables)
    _check_step(resolved, group.clock.dt, method)
    return group


class AccuracyWarning(UserWarning):
    """A neuron model built to run at a time step above its accuracy step ``max_dt``."""


#: Models already warned about in this process (one AccuracyWarning per model).
_STEP_WARNED: set = set()


def _check_step(resolved, dt, method=None):
    """Warn once per model and process when ``dt`` exceeds the spec's ``max_dt``.

    ``max_dt`` is stated for the spec's own ``method``; a caller's ``method=`` is the
    caller's responsibility and is not checked.
    """
    from .spec import max_dt

    spec = resolved.spec
    if method is not None and method != spec.data.get("method", "euler"):
        return
    limit = max_dt(spec)
    if limit is None or float(dt) <= float(limit) * (1 + 1e-9) or spec.name in _STEP_WARNED:
        return
    _STEP_WARNED.add(spec.name)
    warnings.warn(f"neuron model {spec.name!r} runs at dt = {_ms_text(dt)}, above its accuracy "
                  f"step max_dt = {_ms_text(limit)} (method {spec.data.get('method', 'euler')}): "
                  f"spike times and counts may be off; use dt <= {_ms_text(limit)} "
                  f"(see the model's notes)", AccuracyWarning, stacklevel=3)


def synapses(model, source, target, params=None, *, overrides=None, variants=None,
             connect=None, transmit=None, name=None, method=None, delay=None, init=None,
             parameters_as="namespace", initialise=True, varying=(), **kwargs):
    """A ``Synapses`` object of a catalog synapse model between two groups.

    Parameters
    ----------
    model : str or ModelSpec or Resolved
        A synapse model (``stdp_pair``, ...).
    source, target : brian2 groups
        Any Brian2 groups; the target must have the variables listed under the
        spec's ``[requires.post]`` (and the source those of ``[requires.pre]``).
    connect : str, bool, dict or None
        ``"one_to_one"`` (``j = i``), a Brian2 condition string (``"i != j"``),
        ``True`` (all to all), a dict of ``Synapses.connect`` arguments, or
        ``None`` to connect later yourself: ``S.connect(p=0.1)`` then gives the
        new synapses the parameter set's start values (``w``, ``lr``, ... and
        ``init``), exactly as ``connect=`` does; values you set after connecting
        replace them. Each later ``connect`` call sets only the synapses it
        creates (on ``cpp_standalone``, a second call is an error: connect in
        one call there). Synapses created past the object's ``connect``
        (``brian2.Synapses.connect(S, ...)``) stop the first run with an error
        rather than learn from zeros; :func:`initialise` repairs them.
    transmit : str, optional
        Statements appended to ``on_pre`` to act on the target, e.g.
        ``"ge_post += w*nS"``. The catalog's plasticity rules change ``w`` only:
        what a weight does to the postsynaptic neuron belongs to the network.
    init : dict, optional
        Initial values replacing the spec's ``[initial]`` (e.g. ``{"w": 0.5}``);
        applied after each ``connect``.
    parameters_as : {"namespace", "variables"}
        As in :func:`neurons`.
    initialise : bool
        As in :func:`neurons`.
    varying : sequence of str
        As in :func:`neurons` (one value per synapse).
    """
    from brian2 import Synapses

    resolved = resolve(model, params, overrides, variants)
    spec = resolved.spec
    if spec.kind != "synapse":
        raise SpecError(spec.file, "kind", "a synapse model for biodyn.synapses", repr(spec.kind))
    _check_partners(spec, source, target)
    code, namespace, as_variables = _prepare(resolved, parameters_as, varying)
    namespace = _with_partner_constants(namespace, code, spec, source, target,
                                        [resolved.code.get(k) for k in ("on_pre", "on_post")]
                                        + [transmit])
    on_pre = resolved.code.get("on_pre") or ""
    if transmit:
        on_pre = (on_pre.rstrip() + "\n" + transmit).strip()
    args = dict(model=code, namespace=namespace)
    if on_pre.strip():
        args["on_pre"] = on_pre
    if (resolved.code.get("on_post") or "").strip():
        args["on_post"] = resolved.code["on_post"]
    args["method"] = method or spec.data.get("method", "exact")
    if name is not None:
        args["name"] = name
    if delay is not None:
        args["delay"] = delay
    args.update(kwargs)
    try:
        syn = Synapses(source, target, **args)
        _order_pathways(syn, resolved)
        syn._biodyn = resolved
        syn._biodyn_parameters = tuple(as_variables)
        if initialise:
            _defaults_on_connect(syn, resolved, as_variables, init)
        if connect is not None and connect is not False:
            if connect == "one_to_one":
                syn.connect(j="i")
            elif connect is True:
                syn.connect()
            elif isinstance(connect, str):
                syn.connect(condition=connect)
            elif isinstance(connect, dict):
                syn.connect(**connect)
            else:
                raise TypeError(f"connect must be a string, True or a dict, not {connect!r}")
    except BiodynError:
        raise
    except Exception as exc:
        raise _wrap_brian_error(resolved, "model", exc) from exc
    return syn


def _order_pathways(syn, resolved):
    """Run the post pathway before the pre pathway when the spec says ``post_first``.

    Brian2 orders a Synapses' pathways pre (order -1) before post (order 1) within the
    ``synapses`` slot of a time step; ``pathway_order = "post_first"`` puts the post
    pathway at order -2 (NEST's handling of a pre and a post spike in one step, e.g.
    ``stdp_pair`` with ``coincidence = "nest"``).
    """
    order = (resolved.code.get("pathway_order") or "pre_first").strip()
    if order == "post_first":
        pre_orders = [pw.order for pw in syn._pathways if pw.prepost == "pre"]
        for pw in syn._pathways:
            if pw.prepost == "post":
                pw.order = min(pre_orders, default=pw.order) - 1


def _start_assignments(resolved, as_variables, init):
    """``[(variable, value)]`` in the order :func:`_initialise` sets them."""
    out = [(name, resolved.namespace[name]) for name in as_variables]
    out += [(var, _initial_value(text, resolved)) for var, text in resolved.spec.initial.items()
            if not (init and var in init)]
    out += [(var, _initial_value(value, resolved)) for var, value in (init or {}).items()]
    return out


def _is_standalone():
    from brian2.devices.device import RuntimeDevice, get_device

    return not isinstance(get_device(), RuntimeDevice)


def _defaults_on_connect(syn, resolved, as_variables, init):
    """Give ``syn`` the set's values at creation and every synapse the set's values when created.

    The first ``connect`` call sets every start value (Brian2 lets no variable of a
    ``Synapses`` be written before it): shared ones (``lr``, parameters declared
    ``(shared, constant)``) and those of the synapses it created. Later calls set the
    per-synapse ones (``w``, traces with a non-zero start, per-element parameters)
    of the synapses they create, leaving the values of earlier synapses and of shared
    variables as the user left them. All this happens right after each call, as
    ``biodyn.synapses(..., connect=...)`` sets them: the
    instance's ``connect`` is wrapped (the object stays a plain ``brian2.Synapses``;
    on ``cpp_standalone`` the assignments are recorded after the connection code).
    Values the user sets after connecting replace them, as in any Brian2 script.

    On ``cpp_standalone`` the number of synapses is known only when the binary runs,
    so only the synapses of the first ``connect`` call can be given their values;
    a second call is refused with an error naming the way out. Synapses created
    past the wrapper (``brian2.Synapses.connect(S, ...)``) are refused at the
    first run (``before_run``), never left at zero.
    """
    import functools
    import weakref

    from brian2 import Synapses

    assignments = _start_assignments(resolved, as_variables, init)
    per_synapse = [(var, value) for var, value in assignments
                   if not (var in syn.variables and syn.variables[var].scalar)]
    ref = weakref.ref(syn)
    syn._biodyn_defaults = {"initialised": 0, "connects": 0, "standalone": _is_standalone()}

    @functools.wraps(Synapses.connect)
    def connect(condition=None, i=None, j=None, p=1.0, n=1, skip_if_invalid=False,
                namespace=None, level=0):
        s = ref()
        state = s._biodyn_defaults
        if state["standalone"] and state["connects"]:
            raise BiodynError(
                f"{s.name!r} ({resolved.spec.name}): on cpp_standalone biodyn can give the "
                "synapses of one connect() call the parameter set's start values, not those "
                "of a second call (the number of synapses is known only when the binary runs). "
                "Connect in one call, or build with biodyn.synapses(..., initialise=False), "
                "connect, and then set every start value yourself (biodyn.build.start_values(S))")
        old = 0 if state["standalone"] else len(s)
        Synapses.connect(s, condition, i, j, p, n, skip_if_invalid, namespace, level + 1)
        first = state["connects"] == 0
        state["connects"] += 1
        try:
            for var, value in assignments if first else per_synapse:
                if old == 0:
                    setattr(s, var, value)
                else:
                    getattr(s, var)[old:] = value
        except Exception as exc:
            raise _wrap_brian_error(resolved, "initial", exc) from exc
        state["initialised"] = None if state["standalone"] else len(s)

    def before_run(run_namespace):
        s = ref()
        _check_defaults_applied(s, resolved)
        return Synapses.before_run(s, run_namespace)

    syn.connect = connect
    syn.before_run = before_run


def _check_defaults_applied(syn, resolved):
    state = getattr(syn, "_biodyn_defaults", None)
    if state is None:
        return
    if state["standalone"]:
        missing = bool(syn._connect_called) and not state["connects"]
    else:
        missing = len(syn) > (state["initialised"] or 0)
    if missing:
        raise BiodynError(
            f"{syn.name!r} ({resolved.spec.name}): synapses were created without the parameter "
            "set's start values (w, lr, ... would be 0), by a connect() that bypassed "
            "the object's own (brian2.Synapses.connect(S, ...)). Connect with S.connect(...), "
            "or call biodyn.build.initialise(S) after connecting")


def initialise(group, init=None):
    """Apply a built group's spec ``[initial]`` values to all its elements.

    Synapses built by :func:`synapses` get these values when they are connected
    (``S.connect(...)``) without this call; it resets them, or applies ``init``.
    """
    resolved = resolved_of(group)
    _initialise(group, resolved, [], init)
    state = getattr(group, "_biodyn_defaults", None)
    if state is not None:
        state["connects"] = max(state["connects"], 1)
        state["initialised"] = None if state["standalone"] else len(group)


def start_values(group, init=None, resolved=None):
    """The values a group built with ``initialise=False`` starts from: ``{variable: value}``.

    Parameter variables (``parameters_as="variables"``) take the resolved model's
    values, state variables the spec's ``[initial]`` values (``init`` replacing
    them), evaluated with the parameters. A value that is not a number (``"rand()"``,
    ``"i*mV"``) stays text, for Brian2 to evaluate per element. ``resolved``
    (another parameter set or overrides of the same model and variants) gives
    the values of a replay that reuses a compiled build.
    """
    resolved = resolved if resolved is not None else resolved_of(group)
    out = {}
    for name in getattr(group, "_biodyn_parameters", ()):
        out[name] = resolved.namespace[name]
    for var, text in resolved.spec.initial.items():
        if not (init and var in init):
            out[var] = _initial_value(text, resolved)
    for var, value in (init or {}).items():
        out[var] = _initial_value(value, resolved)
    return out


def _check_partners(spec, source, target):
    requires = spec.data.get("requires", {})
    for side, group in (("pre", source), ("post", target)):
        for var in requires.get(side, {}):
            if var not in group.variables:
                raise SpecError(spec.file, f"requires.{side}.{var}",
                                f"a variable {var!r} in the {side}synaptic group {group.name!r}",
                                "no such variable (it has " + ", ".join(
                                    sorted(v for v in group.variables if not v.startswith("_"))[:12])
                                + ")")


def _with_partner_constants(namespace, model, spec, source, target, code=()):
    """``namespace`` plus the constants that the partners' subexpressions name.

    A synapse reading a partner's subexpression (``r_post`` with ``r = g*(I - theta)``)
    makes Brian2 resolve that expression's external constants (``g``, ``theta``) in the
    *synapse's* namespace. The constants of the subexpressions the synapse's code reads
    (``model``, ``code``) are added here under their names; a name the synapse model uses
    for something else (a variable, or another value) would silently change the
    partner's expression, so it is an error.
    """
    from brian2 import Equations
    from brian2.utils.stringtools import get_identifiers

    own = set(Equations(model).names) if model else set()
    ids = set()
    for text in [model, *code]:
        ids |= get_identifiers(text) if text else set()
    merged = dict(namespace)
    for side, group in (("pre", source), ("post", target)):
        ns = getattr(group, "namespace", None) or {}
        eqs = getattr(group, "equations", None)
        if not ns or eqs is None:
            continue
        subexpr = {eq.varname: get_identifiers(str(eq.expr)) for eq in eqs.values()
                   if eq.type == "subexpression" and eq.expr is not None}
        read = {name for name in subexpr if f"{name}_{side}" in ids}
        todo = list(read)
        while todo:  # subexpressions that read subexpressions
            for other in subexpr[todo.pop()] & set(subexpr):
                if other not in read:
                    read.add(other)
                    todo.append(other)
        needed = set()
        for name in read:
            needed |= subexpr[name] & set(ns)
        for cname in sorted(needed):
            value = ns[cname]
            if cname in own:
                raise SpecError(spec.file, "model", f"no variable named {cname!r}, which a "
                                f"subexpression of the {side}synaptic group {group.name!r} uses "
                                f"as a constant", f"a variable {cname!r} in the synapse model",
                                "rename the synapse's variable")
            if cname in merged and not _same_value(merged[cname], value):
                raise SpecError(spec.file, "parameters", f"no parameter named {cname!r} with "
                                f"another value than the {side}synaptic group {group.name!r}'s, "
                                "whose subexpressions use it", f"{cname!r} = {merged[cname]!r}",
                                f"build the {side}synaptic group with parameters_as='variables'")
            merged[cname] = value
    return merged


def _same_value(a, b):
    try:
        return bool(np.all(a == b))
    except Exception:
        return a is b


def resolved_of(group):
    """The :class:`~biodyn.spec.Resolved` model a group was built from."""
    try:
        return group._biodyn
    except AttributeError:
        raise BiodynError(f"{group.name!r} was not built by biodyn") from None


_MODULATOR_KEEP = frozenset(("t", "dt", "t_in_timesteps", "i", "j", "N", "N_incoming",
                             "N_outgoing", "N_pre", "N_post"))


def modulator(source, synapses, *, name=None, connect=True, delay=None, **kwargs):
    """Deliver neuromodulator events (dopamine, ...) from ``source`` to plastic ``synapses``.

    At every spike of ``source``, the ``on_modulator`` statements of the synapse
    spec run for each synapse of ``synapses`` (a Brian2 ``Synapses`` may target
    another ``Synapses``; the spec's variables are rewritten to their ``_post``
    names). Its pathway is named after ``synapses`` so that, within a time step,
    it runs after the plastic synapses' own pre- and postsynaptic pathways.

    Parameters
    ----------
    source : brian2 group
        Its spikes are the modulator events (e.g. a ``SpikeGeneratorGroup`` of
        reward times).
    synapses : brian2.Synapses
        Built by :func:`synapses` from a spec with ``on_modulator`` (``rstdp``).
    connect : bool, str or dict
        ``True`` (default): every source neuron reaches every synapse; otherwise
        as in :func:`synapses` (``j`` indexes the plastic synapses).

    Returns
    -------
    brian2.Synapses
    """
    from brian2 import Synapses
    from brian2.utils.stringtools import get_identifiers, word_substitute

    resolved = resolved_of(synapses)
    spec = resolved.spec
    code = (resolved.code.get("on_modulator") or "").strip()
    if not code:
        raise SpecError(spec.file, "on_modulator", "statements run on a neuromodulator event",
                        "none: this synapse model takes no modulator")
    own = {v for v in synapses.variables if not v.startswith("_") and v not in _MODULATOR_KEEP
           and not v.endswith("_pre") and not v.endswith("_post")}
    code = word_substitute(code, {v: f"{v}_post" for v in get_identifiers(code) & own})
    args = dict(on_pre=code, namespace=dict(synapses.namespace),
                name=name or f"{synapses.name}_modulator")
    if delay is not None:
        args["delay"] = delay
    args.update(kwargs)
    try:
        mod = Synapses(source, synapses, **args)
        if connect is True:
            mod.connect()
        elif isinstance(connect, str):
            mod.connect(condition=connect)
        elif isinstance(connect, dict):
            mod.connect(**connect)
    except BiodynError:
        raise
    except Exception as exc:
        raise _wrap_brian_error(resolved, "on_modulator", exc) from exc
    return mod


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _file_lock(path):
    """An exclusive lock on ``path`` (a file) across processes, where the OS allows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows
            pass
        try:
            yield
        finally:
            try:
                import fcntl

                fcntl.flock(f, fcntl.LOCK_UN)
            except ImportError:  # pragma: no cover
                pass


def _safe_key(key):
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key))[:80]
    digest = hashlib.sha1(str(key).encode()).hexdigest()[:8]
    return f"{text}-{digest}"


class _CallerState:
    """The caller's Brian2 and numpy state that a :class:`Simulation` must leave as it found it.

    biodyn is a guest in the user's script: a library call changes neither the magic
    network (the scope ``run()`` collects), nor the active device (the same object,
    with its stack of previous devices, build options and default clock), nor the
    preferences (``prefs``), nor the random state (numpy's global generator and
    the runtime device's random buffers). Saved when a Simulation is entered,
    restored when it is left (also after an error).
    """

    _scope_keys = None

    def __init__(self):
        import copy
        import importlib
        import itertools

        from brian2 import prefs
        from brian2.core.base import BrianObject
        from brian2.devices.device import RuntimeDevice

        if _CallerState._scope_keys is None:
            # Negative scope keys: the user's own keys start at 0 and only grow
            # (start_scope), so objects built in a Simulation never join their magic network.
            _CallerState._scope_keys = itertools.count(-1, -1)
        self._devices = importlib.import_module("brian2.devices.device")  # the module, not the proxy
        self.prefs = {k: copy.deepcopy(v) for k, v in prefs.prefs.items()}
        self.device = self._devices.active_device
        self.stack = list(self._devices.previous_devices)
        self.build_on_run = getattr(self.device, "build_on_run", True)
        self.build_options = dict(getattr(self.device, "build_options", None) or {})
        self.scope_key = BrianObject._scope_current_key
        self.runtime = isinstance(self.device, RuntimeDevice)
        self.np_random = np.random.get_state()
        self.device_random = self.device.get_random_state() if self.runtime else None
        self.clock = None
        clock = getattr(self.device, "defaultclock", None)
        if self.runtime and clock is not None:
            self.clock = (clock, clock._old_dt, {n: np.array(clock.variables[n].get_value(), copy=True)
                                                 for n in ("dt", "t", "timestep")})

    def new_scope(self):
        from brian2.core.base import BrianObject

        BrianObject._scope_current_key = next(_CallerState._scope_keys)

    def restore_device(self):
        self._devices.active_device = self.device
        self._devices.previous_devices[:] = self.stack
        if self.device is not None:
            self.device.build_on_run = self.build_on_run
            self.device.build_options = dict(self.build_options)

    def restore(self):
        from brian2 import prefs
        from brian2.core.base import BrianObject

        self.restore_device()
        if self.clock is not None:
            clock, old_dt, values = self.clock
            for name, value in values.items():
                clock.variables[name].set_value(value)
            clock._old_dt = old_dt
        BrianObject._scope_current_key = self.scope_key
        for key, value in self.prefs.items():
            if key not in prefs.prefs or prefs.prefs[key] != value:
                prefs.prefs[key] = value
        if self.device_random is not None:
            self.device.set_random_state(self.device_random)
        np.random.set_state(self.np_random)


class Simulation:
    """One simulation on one code-generation target: the only place a target is chosen.

    Use as a context manager; create the Brian2 objects inside it (the
    standalone device records objects as they are created), then call
    :meth:`run`, then read the monitors inside the block::

        with Simulation("cpp_standalone", dt=0.1*ms, seed=1, build_key="bi_poo") as sim:
            G = biodyn.neurons("lif", 10)
            M = SpikeMonitor(G)
            sim.run(1*second)
            spikes = M.t[:]

    Parameters
    ----------
    target : {"numpy", "cython", "cpp_standalone", "auto"}
    dt : Quantity
        The default clock's time step.
    seed : int
        Seeds Brian2's random numbers (and numpy's global generator).
    build_key : str, optional
        For ``cpp_standalone``: names the cached project folder under
        ``cache_dir()/standalone``, so that rebuilding the same model
        recompiles only what changed. Without it (and without ``directory``) a fresh
        temporary folder is used, removed when the run's objects are gone (they read their
        values from it), at the latest when the interpreter exits.
    directory : path, optional
        An explicit standalone project folder (overrides ``build_key``).
    check_finite : bool
        Stop with :class:`~biodyn.errors.SimulationError` naming the variable
        and time if a state variable becomes NaN or infinite.
    report : str or callable or None, optional
        Default: that of an enclosing :func:`progress` block, else ``None`` (quiet).
        Progress, on stderr (results belong on stdout). On runtime targets Brian2's own report:
        ``"text"`` or ``"stderr"`` (both to stderr), ``"stdout"``, or a function. On
        ``cpp_standalone`` any value but ``None`` prints elapsed-time lines for code
        generation and compilation and for the binary's run (:class:`biodyn._progress.Phase`):
        Brian2's in-binary report is not used there, because it is code in ``main.cpp`` (a
        report switched on or off would recompile the project) and because it calls
        ``std::clock()`` for every object at every time step: 2.3 µs a call on the 2-core
        test machine, which made a 20 s network of 100 Poisson inputs and 100 LIF neurons
        run 3.5 s instead of 0.9 s.
    report_period : Quantity, optional
        Wall time between two progress lines (default 10 s).
    keep : bool
        For ``cpp_standalone``: keep the compiled project and its objects after
        the ``with`` block, so that :meth:`rerun` can run the same binary again
        with other values (``device.run(run_args=...)``) — no code generation,
        no compilation. Each standalone Simulation has a device of its own, so
        kept builds do not interfere with later ones.

    Notes
    -----
    Compile once, run many times: build groups with ``parameters_as="variables"``
    and ``initialise=False`` and pass their values (:func:`start_values`) as
    ``run(..., values=...)``. On ``cpp_standalone`` the values are then command-line
    arguments of the binary and never enter the generated code, so a second
    build with other values generates identical code (``make`` recompiles
    nothing), and a kept build reruns in milliseconds::

        with Simulation("cpp_standalone", build_key="demo", keep=True) as sim:
            S = biodyn.synapses("stdp_pair", pre, post, connect="i == j",
                                parameters_as="variables", initialise=False)
            sim.run(1*second, pre, post, S, values={S.A_plus: 0.005, S.w: 0.5})
        sim.rerun({S.A_plus: 0.01, S.w: 0.5})   # same binary, new values
        S.w[:]                                   # results of the rerun
    """

    def __init__(self, target="numpy", *, dt=None, seed=0, build_key=None, directory=None,
                 check_finite=True, check_interval=None, report=_UNSET, report_period=None,
                 keep=False):
        from brian2 import ms, second

        if report is _UNSET:  # not given: the setting of an enclosing ``progress()`` block
            report = _REPORT.get()

        self.target = resolve_target(target)
        self.dt = dt if dt is not None else 0.1 * ms
        self.seed = int(seed) if seed is not None else None
        self.build_key = build_key
        self.directory = Path(directory) if directory is not None else None
        self.check_finite = check_finite
        self.check_interval = check_interval if check_interval is not None else 100 * ms
        self.report = report
        self.report_period = report_period if report_period is not None else 10 * second
        self.timings = {}
        self.keep = bool(keep)
        self._objects = []
        self._network = None
        self._active = False
        self._built = False
        self._device = None
        self._stamp = None
        self._before = set()

    # -- context -----------------------------------------------------------------
    def __enter__(self):
        if self._active:
            raise RuntimeError("a Simulation can be entered only once")
        self._caller = _CallerState()
        try:
            return self._enter()
        except BaseException:
            self._caller.restore()
            raise

    def _enter(self):
        import brian2
        from brian2 import defaultclock, prefs, set_device

        # Objects of earlier runs that are still alive would make Brian2 rename this
        # run's objects (``pre_clock_2``), which changes the generated code and
        # forces a full standalone recompile: collect them first. (A full collection
        # costs ~0.3 s in a process holding many objects; runtime targets do not
        # need it: their code is not compiled per project.)
        if self.target == "cpp_standalone":
            gc.collect()
        if self.target == "cpp_standalone":
            temporary = False
            if self.directory is None:
                if self.build_key is not None:
                    self.directory = cache_dir() / "standalone" / _safe_key(self.build_key)
                else:
                    import tempfile

                    self.directory = Path(tempfile.mkdtemp(prefix="biodyn_standalone_"))
                    temporary = True
            self.directory.mkdir(parents=True, exist_ok=True)
            # A device of its own (what ``device.reinit()`` would give), so that a kept
            # build stays runnable while later Simulations build other projects.
            self._device = _standalone_device()
            if temporary:
                # the run's arrays are read from the folder's results/ as long as its objects
                # (which hold the device) live: the folder goes with the device, at the latest
                # when the interpreter exits
                weakref.finalize(self._device, shutil.rmtree, str(self.directory), True)
            self._before = _tracked_ids()
            # Brian2 runs `make -j` (unbounded): dozens of compilers at once thrash a small
            # machine. One job per core compiles as fast without the memory spike.
            prefs.devices.cpp_standalone.extra_make_args_unix = (
                [f"-j{os.cpu_count() or 1}"] + object_cache_make_args()
                + light_units_make_args(_user_compile_flags()) + MAKE_GOALS)
            set_device(self._device, directory=str(self.directory), build_on_run=False)
        else:
            if not self._caller.runtime:
                set_device("runtime")
            prefs.codegen.target = self.target
        self._caller.new_scope()
        defaultclock.dt = self.dt
        if self.seed is not None:
            brian2.seed(self.seed)
            np.random.seed(self.seed)
        self._active = True
        return self

    def __exit__(self, *exc):
        self._active = False
        self._caller.restore_device()
        if self.target == "cpp_standalone":
            _forget_device(self._device)
            if self.keep and self._built:
                # Kept objects must not make Brian2 rename the objects of later
                # builds (``synapses_pre_1``), which would change their code.
                _untrack_since(self._before)
            else:
                self._device = None
        if not (self.keep and self._built):
            self._network = None
            self._objects = []
        if self.target == "cpp_standalone":
            gc.collect()
        self._caller.restore()  # prefs (target, make arguments), clock, scope, random state
        return False

    # -- running -----------------------------------------------------------------
    def network(self, *objects):
        """Collect the objects to run (a Brian2 ``Network``)."""
        from brian2 import Network

        if self._network is None:
            self._network = Network()
        self._network.add(*objects)
        self._objects.extend(objects)
        return self._network

    def run(self, duration, *objects, namespace=None, values=None):
        """Run ``objects`` (added to the network) for ``duration``; build if standalone.

        ``values`` maps variables (``group.var`` views, or ``(group, "var")``;
        on a standalone rerun also ``TimedArray`` s, to new values of the same shape)
        to the values they start the run with: set before the run on runtime
        targets, passed as command-line arguments of the binary (``run_args``)
        on ``cpp_standalone``, where they do not enter the generated code. Text
        values (``"rand()"``) are code and are set before the run on every target.

        Returns the wall-clock seconds the run took (compilation included).
        """
        if not self._active:
            raise RuntimeError("Simulation.run must be called inside 'with Simulation(...)'")
        if objects:
            self.network(*objects)
        net = self._network
        if net is None:
            raise ValueError("nothing to run: pass Brian2 objects to Simulation.run")
        t0 = time.perf_counter()
        run_args = self._apply_values(values)
        checker = None
        if self.check_finite and self.target != "cpp_standalone":
            checker = self._finite_checker()
            net.add(checker)
        report = self.report
        t_end = net.t + duration if self.target != "cpp_standalone" else None
        if self.target == "cpp_standalone":
            report = None  # never in the generated code: see the class doc (``report``)
        elif report == "text":
            report = "stderr"  # progress is not a result: keep stdout for results
        try:
            net.run(duration, namespace=namespace if namespace is not None else {},
                    report=report, report_period=self.report_period)
        except SimulationError:
            raise
        except Exception as exc:
            raise _simulation_error(exc) from exc
        finally:
            if checker is not None:
                net.remove(checker)
        if self.target == "cpp_standalone":
            self._build(run_args)
        _signals.check_run(net, t_end)  # a run stopped by Ctrl-C/SIGTERM is never a result
        self.timings["run"] = time.perf_counter() - t0
        if self.check_finite and self.target == "cpp_standalone":
            self.check_state()
        return self.timings["run"]

    def rerun(self, values=None):
        """Run a kept standalone build again with other ``values`` (see :meth:`run`).

        Only the binary runs: no code generation, no compilation. The monitors
        and variables of the build then read the new results. Array values are
        written to the project folder for the binary to read and removed after the
        run (:func:`_rerun_arguments`). Raises
        :class:`StaleBuild` if the project folder was rebuilt by another
        Simulation since (the caller builds again).
        """
        if self.target != "cpp_standalone" or not self.keep or not self._built:
            raise RuntimeError("rerun needs a kept cpp_standalone build (Simulation(..., keep=True))")
        run_args = self._apply_values(values)
        lock = self.directory / ".biodyn.lock"
        t0 = time.perf_counter()
        with _file_lock(lock):
            if _read_stamp(self.directory) != self._stamp:
                raise StaleBuild(f"the standalone project in {self.directory} was rebuilt by "
                                 "another simulation")
            written = []
            try:
                args = _rerun_arguments(self._device, self.directory, run_args, written)
                with self._phase("running the kept build"):
                    self._device.run(directory=str(self.directory), with_output=False,
                                     run_args=args)
            except SimulationError:
                raise
            except Exception as exc:
                raise _simulation_error(exc, self.directory) from exc
            finally:
                for path in written:  # a rerun leaves no input files behind
                    path.unlink(missing_ok=True)
        _signals.check_run(None, None)
        self.timings["rerun"] = time.perf_counter() - t0
        if self.check_finite:
            self.check_state()
        return self.timings["rerun"]

    def _apply_values(self, values):
        """Set text values and, on runtime targets, all values; return the run_args."""
        from brian2 import TimedArray
        from brian2.core.variables import VariableView

        run_args = {}
        for key, value in (values or {}).items():
            if isinstance(value, SpikeParts):  # a generator's spikes, merged by the binary
                if self.target != "cpp_standalone":
                    raise SimulationError(f"the spikes of {getattr(key, 'name', key)!r} can be "
                                          "SpikeParts only on cpp_standalone")
                run_args[key] = value
                continue
            if isinstance(key, TimedArray):  # its values, on a standalone rerun
                if self.target != "cpp_standalone":
                    raise SimulationError(f"the values of TimedArray {key.name!r} can be replaced "
                                          "only in a rerun of a cpp_standalone build")
                run_args[key] = value
                continue
            if isinstance(key, tuple):
                group, name = key
                view = getattr(group, name)
            elif isinstance(key, VariableView):
                view = key
                group, name = key.group, key.name
            else:
                raise TypeError(f"values: keys are group.var views or (group, name), not {key!r}")
            try:
                if isinstance(value, str) or self.target != "cpp_standalone":
                    setattr(group, name, value)
                else:
                    run_args[view] = value
            except Exception as exc:
                raise SimulationError(f"cannot set {name!r} of {getattr(group, 'name', group)!r} "
                                      f"to {value!r}: {shorten(exc)}") from exc
        return run_args

    def _build(self, run_args=None):
        lock = self.directory / ".biodyn.lock"
        t0 = time.perf_counter()
        with _file_lock(lock):
            try:
                with self._phase("generating code and compiling"):
                    self._device.build(directory=str(self.directory), compile=True, run=False,
                                       with_output=False)
                written = []
                try:
                    args = _rerun_arguments(self._device, self.directory, run_args or {}, written)
                    with self._phase("running"):
                        self._device.run(directory=str(self.directory), with_output=False,
                                         run_args=args)
                finally:
                    for path in written:
                        path.unlink(missing_ok=True)
            except SimulationError:
                raise
            except Exception as exc:
                raise _simulation_error(exc, self.directory) from exc
            self._stamp = _write_stamp(self.directory)
        self._built = True
        self.timings["build"] = time.perf_counter() - t0
        timers = getattr(self._device, "timers", {})
        self.timings.update({f"standalone_{k}": v for k, v in timers.items() if isinstance(v, float)})
        make = (timers.get("compile") or {}).get("make")
        if isinstance(make, float):
            self.timings["standalone_make"] = make

    def _phase(self, what):
        """Elapsed-time lines on stderr for a standalone step (nothing if ``report`` is None)."""
        if self.report is None:
            return contextlib.nullcontext()
        from ._progress import Phase
        from brian2 import second

        name = self.build_key or self.directory.name
        return Phase(f"cpp_standalone {name}: {what}", every=float(self.report_period / second))

    def _finite_checker(self):
        from brian2 import NetworkOperation

        groups = [o for o in self._objects if hasattr(o, "variables") and hasattr(o, "N")]

        def check(t):
            for group in groups:
                _check_group_finite(group, t)

        return NetworkOperation(check, dt=self.check_interval, when="end", name="biodyn_finite_check")

    def check_state(self):
        """Check the final state and every record of the monitors for NaN/Inf.

        A ``SpikeGeneratorGroup`` is skipped: its arrays are the given spikes (finite when
        they were set), not state the run changes — and reading them back from a standalone
        build costs as much as the inputs are large.
        """
        from brian2 import SpikeGeneratorGroup, StateMonitor

        seen = set()  # a Synapses' v_post is its target's v: each variable is read once
        for obj in self._objects:
            if isinstance(obj, SpikeGeneratorGroup):
                continue
            if isinstance(obj, StateMonitor):
                for var in obj.record_variables:
                    values = np.asarray(getattr(obj, var))
                    if values.size and not np.all(np.isfinite(values)):
                        bad = np.nonzero(~np.isfinite(values))
                        k = int(bad[-1].min()) if values.ndim > 1 else int(bad[0].min())
                        t = obj.t[k]
                        raise SimulationError(
                            f"variable {var!r} of {obj.source.name!r} became "
                            f"{'NaN' if np.isnan(values[bad][0]) else 'infinite'} at t = {t}")
            elif hasattr(obj, "variables") and hasattr(obj, "N"):
                _check_group_finite(obj, None, seen)


def _ms_text(t):
    """A simulation time as plain text in ms (a clock's ``t`` arrives as a VariableView)."""
    from brian2 import ms

    try:
        value = t[:] if not hasattr(t, "dim") or hasattr(t, "get_item") else t
        return f"{float(np.asarray(value / ms).ravel()[0]):g} ms"
    except Exception:  # pragma: no cover - anything else, as Brian2 prints it
        return str(t)


def _check_group_finite(group, t, seen=None):
    """Raise :class:`SimulationError` if a float variable of ``group`` holds NaN/Inf.

    ``seen``: ids of the variables checked already (a set this adds to): the variables of a
    Synapses include its partners' (``v_post`` *is* the target group's ``v``) and every
    group has its clock's ``t`` and ``dt``; the first group holding one checks it, and the
    first non-finite variable found is the one found without skipping."""
    from brian2.core.variables import ArrayVariable

    for name, var in group.variables.items():
        if name.startswith("_") or not isinstance(var, ArrayVariable):
            continue
        if var.dtype is None or not np.issubdtype(var.dtype, np.floating):
            continue
        if seen is not None:
            if id(var) in seen:
                continue
            seen.add(id(var))
        try:
            values = var.get_value()
        except Exception:
            continue
        if values.size and not np.all(np.isfinite(values)):
            kind = "NaN" if np.any(np.isnan(values)) else "infinite"
            when = f"by t = {_ms_text(t)}" if t is not None else "by the end of the run"
            raise SimulationError(f"variable {name!r} of {group.name!r} became {kind} {when}")


class StaleBuild(BiodynError):
    """A kept standalone build whose project folder has been rebuilt since."""


def _rerun_arguments(device, directory, run_args, written):
    """The command-line arguments of a rerun of the binary in ``directory``: ``name=value``
    for single values, ``name=static_arrays/<file>`` for arrays, whose files this writes
    (their paths appended to ``written``, for the caller to remove after the run).

    The arguments Brian2's ``device.run(run_args={view: value})`` would pass, with the same
    checks (dimensions, dtype, size), but each array is written once under a fixed name
    (``biodyn_rerun_<group>.<variable>.dat``) instead of under the MD5 hash of its bytes:
    Brian2 hashes every array (0.3 s for the 180 MB of spikes of a 64-point batch of 10 s)
    and keeps every file it wrote, which fills the project folder by the size of the
    inputs at each rerun. The caller holds the project's lock, so no other rerun of the
    folder writes the same names meanwhile. ``TimedArray`` values go through Brian2's own
    preparation (they are small).
    """
    from brian2 import TimedArray
    from brian2.core.variables import VariableView
    from brian2.units.fundamentalunits import fail_for_dimension_mismatch

    out = []
    folder = Path(directory) / "static_arrays"
    if getattr(device, "input_arrays", None):
        run_args, files, merges = _with_inputs(device, run_args)
        for name, array in files.items():  # files of any size: the binary sizes its arrays
            path = folder / f"biodyn_rerun_{name}.dat"
            written.append(path)
            array.tofile(path)
            out.append(f"{name}={os.path.join('static_arrays', path.name)}")
        for group, spikes in merges.items():  # parts the binary merges (SpikeParts)
            lines = []
            for k, ((idx, bins), offset) in enumerate(zip(spikes.parts, spikes.offsets)):
                names = []
                for what, array in (("idx", idx), ("bins", bins)):
                    path = folder / f"biodyn_rerun_{group}.{k}.{what}"
                    written.append(path)
                    array.tofile(path)
                    names.append(os.path.join("static_arrays", path.name))
                lines.append(f"{names[0]} {names[1]} {int(offset)}\n")
            path = folder / f"biodyn_rerun_{group}.parts"
            written.append(path)
            path.write_text("".join(lines))
            out.append(f"{_MERGE_ARG}{group}={os.path.join('static_arrays', path.name)}")
    for key, value in run_args.items():
        if isinstance(key, TimedArray):
            name, text, file_name, array = device._prepare_timed_array_run_arg(key, value)
            if file_name is None:  # a single value, on the command line
                out.append(f"{name}={text}")
                continue
        elif isinstance(key, VariableView):
            fail_for_dimension_mismatch(key.dim, value)
            array = np.asarray(value, dtype=key.dtype)
            name = f"{key.group_name}.{key.name}"
            if array.ndim == 0 or array.size == 1:
                out.append(f"{name}={array.item()!r}")
                continue
            if array.ndim != 1 or (not key.variable.dynamic and array.size != key.shape[0]):
                raise TypeError(f"Incorrect size for variable '{name}'. Shape {key.shape} != "
                                f"{array.shape}.")
        else:
            raise TypeError(f"run_args: a VariableView or a TimedArray, not {key!r}")
        path = folder / f"biodyn_rerun_{name}.dat"
        written.append(path)
        array.tofile(path)
        out.append(f"{name}={os.path.join('static_arrays', path.name)}")
    return out


class SpikeParts:
    """The spikes of a replaceable input generator (:func:`biodyn.stimuli.spike_generator`)
    for one standalone run, as parts the binary merges: ``parts`` is a list of
    ``(indices, bins)`` (int32: neuron and time step of each spike), each sorted by step
    (then as its own order), and part ``k``'s indices are shifted by ``offsets[k]``. The
    run's spikes are all the parts' spikes sorted by step, then part, then their order in
    the part — the copies of a batch, each drawn alone, without merging (and holding) the
    batch's arrays in Python. Pass it as a run value keyed by the generator:
    ``sim.rerun({generator: SpikeParts(...)})`` (``cpp_standalone`` only).
    """

    def __init__(self, parts, offsets=None):
        self.parts = []
        for idx, bins in parts:
            idx, bins = np.asarray(idx, dtype=np.int32), np.asarray(bins, dtype=np.int32)
            if idx.shape != bins.shape or idx.ndim != 1:
                raise ValueError(f"SpikeParts: indices {idx.shape} and bins {bins.shape} differ")
            self.parts.append((idx, bins))
        self.offsets = [0] * len(self.parts) if offsets is None else [int(o) for o in offsets]
        if len(self.offsets) != len(self.parts):
            raise ValueError(f"SpikeParts: {len(self.offsets)} offsets for {len(self.parts)} parts")
        self.size = sum(idx.size for idx, _ in self.parts)
        self._merged = None

    def merged(self):
        """``(indices, bins)`` of the run: what the binary makes of the parts (numpy's stable
        sort by step, for reading them back)."""
        if self._merged is None:
            idx = np.concatenate([i + o for (i, _), o in zip(self.parts, self.offsets)] or
                                 [np.zeros(0, np.int32)]).astype(np.int32)
            bins = np.concatenate([b for _, b in self.parts] or [np.zeros(0, np.int32)])
            order = np.argsort(bins, kind="stable")
            self._merged = idx[order], bins[order]
        return self._merged


class _FromParts:
    """An input array of a run given as :class:`SpikeParts`, computed when read."""

    def __init__(self, spikes, name, dtype):
        self.spikes, self.name, self.dtype = spikes, name, dtype

    def __call__(self):
        if self.name == "spike_number":
            return np.arange(self.spikes.size, dtype=self.dtype)
        idx, bins = self.spikes.merged()
        return np.asarray(idx if self.name == "neuron_index" else bins, dtype=self.dtype)


#: The run argument of :class:`SpikeParts` (``biodyn_spikes::<group>=<file of parts>``).
_MERGE_ARG = "biodyn_spikes::"


def _with_inputs(device, run_args):
    """Split ``run_args`` for a device holding input generators (:func:`_standalone_device`):
    returns ``(rest, files, merges)``: the other run arguments, ``{"group.var": array}`` of the
    arrays the generated code reads (``neuron_index``, ``_timebins``), passed at every run as
    files of any size — the run's own values where ``run_args`` has them, else the build's —
    and ``{group: SpikeParts}`` of the generators whose spikes the binary merges from parts.
    Records what the run used (``device.last_inputs``): a generator whose spikes the run
    replaces without their ``spike_time`` has no known ``spike_time`` after it."""
    from brian2.core.variables import VariableView

    given, rest, merges = {}, {}, {}
    for key, value in run_args.items():
        if isinstance(value, SpikeParts):
            name = getattr(key, "name", None)
            if name not in device.input_groups:
                raise TypeError(f"SpikeParts are the spikes of a replaceable input generator, not "
                                f"of {name or key!r}")
            merges[name] = value
        elif isinstance(key, VariableView) and id(key.variable) in device.input_arrays:
            given[id(key.variable)] = np.asarray(value, dtype=key.variable.dtype)
        else:
            rest[key] = value
    groups = {}
    for i, (var, built) in device.input_arrays.items():
        groups.setdefault(var.owner.name, {})[var.name] = (i, var, built)
    last, files = {}, {}
    for name, members in groups.items():
        if name in merges:
            if any(i in given for i, _, _ in members.values()):
                raise TypeError(f"the spikes of '{name}' given twice (SpikeParts and arrays)")
            spikes = merges[name]
            for vname, (i, var, _) in members.items():
                last[i] = None if vname == "spike_time" else _FromParts(spikes, vname, var.dtype)
                var.size = spikes.size
            continue
        replaced = any(i in given for i, _, _ in members.values())
        values = {}
        for vname, (i, var, built) in members.items():
            if i in given:
                values[vname] = given[i]
            elif replaced and vname == "spike_time":
                values[vname] = None  # the spikes changed, their times were not given
            elif replaced and vname == "spike_number":
                values[vname] = None  # set below from the run's size
            else:
                values[vname] = built
        sizes = {v.size for k, v in values.items() if v is not None}
        if len(sizes) > 1 or any(v is not None and v.ndim != 1 for v in values.values()):
            raise TypeError(f"Incorrect size for the spikes of '{name}': "
                            + ", ".join(f"{k} {np.shape(v)}" for k, v in sorted(values.items())
                                        if v is not None) + " (one value per spike each)")
        size = sizes.pop() if sizes else 0
        if "spike_number" in values and values["spike_number"] is None:
            values["spike_number"] = np.arange(size, dtype=members["spike_number"][1].dtype)
        for vname, (i, var, _) in members.items():
            last[i] = values[vname]
            var.size = size  # Brian2 indexes the array by it (as after reading results)
            if vname in INPUT_READ:
                files[f"{name}.{vname}"] = values[vname]
    device.last_inputs = last
    return rest, files, merges


def _write_stamp(directory):
    import uuid

    stamp = uuid.uuid4().hex
    (Path(directory) / ".biodyn_build").write_text(stamp)
    return stamp


def _read_stamp(directory):
    try:
        return (Path(directory) / ".biodyn_build").read_text()
    except OSError:
        return None


def _tracked_ids():
    """ids of the Brian2 objects alive now (Brian2 tracks them to find free names)."""
    from brian2.core.names import Nameable

    return {id(r()) for r in list(Nameable.__instances__()) if r() is not None}


def _untrack_since(before):
    """Stop Brian2 tracking the objects created since ``before`` (they stay alive)."""
    from brian2.core.tracking import Trackable

    for tracked in Trackable.__instancefollower__.instance_sets.values():
        for r in list(tracked):
            obj = r()
            if obj is not None and id(obj) not in before:
                set.discard(tracked, r)


#: The per-step clock read of Brian2's network loop (``network.cpp``) and the line after the loop.
_STEP_CLOCK = re.compile(r"(clock = next_clocks\(\);\s*?\n)(\s*)current = std::clock\(\);\s*\n\s*"
                         r"elapsed_realtime = (\(double\)\(current - start\)/\([^;\n]*\));\n")
_LOOP_END = "    Network::_globally_running = false;\n"


def _without_step_clock(text):
    """Brian2's ``network.cpp`` with the run's CPU time read once, after the loop, instead of
    at every time step; ``text`` unchanged if it is not the loop this expects.

    The loop calls ``std::clock()`` after each step to compare the elapsed time with
    ``maximum_run_time`` (a limit biodyn never sets) and keeps the last value as the run's
    time. ``std::clock()`` is a system call: 0.6 µs on the 2-core test machine, 0.06 s
    of CPU per 10 s of simulated time at dt = 0.1 ms — as much as half the run of one
    song_2000 neuron. Reading it once after the loop gives the same run time.
    """
    match = _STEP_CLOCK.search(text)
    if match is None or len(_STEP_CLOCK.findall(text)) != 1 or text.count(_LOOP_END) != 1:
        return text
    text = text[:match.start()] + match.group(1) + text[match.end():]
    return text.replace(_LOOP_END, f"    current = std::clock();\n    elapsed_realtime = "
                        f"{match.group(3)};\n" + _LOOP_END)


#: The spike arrays of a replaceable ``SpikeGeneratorGroup`` (:func:`biodyn.stimuli.spike_generator`)
#: that a biodyn standalone device holds in Python: the generated code reads the first two (passed
#: to the binary at every run), never the last two (the binary keeps them empty).
INPUT_READ = ("neuron_index", "_timebins")
INPUT_KEPT = ("spike_time", "spike_number")


def _write_back_block(name):
    """The block of ``objects.cpp``'s ``_write_arrays()`` that writes array ``name`` back."""
    n = re.escape(name)
    return re.compile(rf"    ofstream outfile_{n};\n.*?Error writing output file for {n}\."
                      rf"\" << endl;\n    \}}\n", re.S)


def _without_write_back(text, names):
    """``objects.cpp`` without the write-back of the arrays ``names`` at the end of a run; a
    name whose block is not found exactly once stays (written back, as Brian2 does)."""
    for name in sorted(names):
        pattern = _write_back_block(name)
        if len(pattern.findall(text)) == 1:
            text = pattern.sub("", text)
    return text


#: C++ of :func:`_reading_inputs`: an input array of the size of its file (exit 1 on an error,
#: said on the binary's stdout, which Brian2 keeps in results/stdout.txt: Brian2's own reader
#: prints a size mismatch and runs on).
_READ_INPUT = """
// biodyn: the spikes of an input generator are run arguments of any size
template<class T> void _biodyn_read_input(std::string varname, std::vector<T> &values, std::string filename) {
    std::ifstream f(filename.c_str(), std::ios::in | std::ios::binary | std::ios::ate);
    if (!f.is_open()) {
        std::cout << "biodyn: cannot read '" << filename << "' for " << varname << std::endl;
        std::exit(1);
    }
    const std::streamoff size = f.tellg();
    if (size < 0 || size % (std::streamoff)sizeof(T) != 0) {
        std::cout << "biodyn: '" << filename << "' is no array of " << varname << std::endl;
        std::exit(1);
    }
    values.resize((size_t)(size / (std::streamoff)sizeof(T)));
    f.seekg(0, std::ios::beg);
    if (size > 0 && !f.read(reinterpret_cast<char *>(&values[0]), size)) {
        std::cout << "biodyn: error reading '" << filename << "' for " << varname << std::endl;
        std::exit(1);
    }
}

"""
_MERGE_SPIKES = """
// biodyn: the spikes of an input generator merged from parts (build.SpikeParts): each line of
// the file names a part's neuron indices, its time steps (sorted) and the offset of its indices;
// the spikes come out sorted by step, then part, then their order in the part
static void _biodyn_merge_spikes(std::string varname, std::string filename,
                                 std::vector<int32_t> &indices, std::vector<int32_t> &bins) {
    std::ifstream f(filename.c_str());
    if (!f.is_open()) {
        std::cout << "biodyn: cannot read '" << filename << "' for " << varname << std::endl;
        std::exit(1);
    }
    std::vector< std::vector<int32_t> > idx, stp;
    std::vector<long long> offset;
    std::string fi, fb;
    long long off;
    size_t total = 0;
    while (f >> fi >> fb >> off) {
        idx.push_back(std::vector<int32_t>());
        stp.push_back(std::vector<int32_t>());
        _biodyn_read_input(varname, idx.back(), fi);
        _biodyn_read_input(varname, stp.back(), fb);
        const std::vector<int32_t> &b = stp.back();
        bool sorted = idx.back().size() == b.size();
        for (size_t j = 1; sorted && j < b.size(); j++)
            sorted = b[j - 1] <= b[j];
        if (!sorted) {
            std::cout << "biodyn: part " << idx.size() - 1 << " of " << varname
                      << " is not sorted by step, or its arrays differ in size" << std::endl;
            std::exit(1);
        }
        offset.push_back(off);
        total += b.size();
    }
    if (!f.eof()) {
        std::cout << "biodyn: '" << filename << "' is no list of parts of " << varname << std::endl;
        std::exit(1);
    }
    indices.resize(total);
    bins.resize(total);
    for (size_t k = 0; k < stp.size(); k++)
        if (!stp[k].empty() && stp[k][0] < 0) {
            std::cout << "biodyn: part " << k << " of " << varname << " has a negative step" << std::endl;
            std::exit(1);
        }
    // a stable counting sort by step, in blocks of steps whose spikes stay in the cache: in
    // each block, the parts in order, each part's spikes in order
    const int64_t block = 4096;
    std::vector<size_t> pos(idx.size(), 0), next((size_t)block + 1);
    size_t out = 0;
    for (int64_t s0 = 0; out < total; s0 += block) {
        int64_t first = INT64_MAX;  // no block without spikes
        for (size_t k = 0; k < stp.size(); k++)
            if (pos[k] < stp[k].size() && stp[k][pos[k]] < first)
                first = stp[k][pos[k]];
        if (first > s0)
            s0 = first;
        const int64_t s1 = s0 + block;
        std::fill(next.begin(), next.end(), (size_t)0);
        for (size_t k = 0; k < stp.size(); k++) {
            const std::vector<int32_t> &b = stp[k];
            for (size_t p = pos[k]; p < b.size() && b[p] < s1; p++)
                ++next[(size_t)(b[p] - s0) + 1];
        }
        next[0] = out;
        for (int64_t j = 0; j < block; j++)
            next[(size_t)j + 1] += next[(size_t)j];
        for (size_t k = 0; k < stp.size(); k++) {
            const std::vector<int32_t> &b = stp[k], &i = idx[k];
            const long long o = offset[k];
            size_t p = pos[k];
            for (; p < b.size() && b[p] < s1; p++) {
                const size_t at = next[(size_t)(b[p] - s0)]++;
                indices[at] = (int32_t)(i[p] + o);
                bins[at] = b[p];
            }
            pos[k] = p;
        }
        out = next[(size_t)block];
    }
}

"""
_SET_BY_NAME = "//////////////// set arrays by name ///////\n"
_SETTER = "void set_variable_by_name(std::string name, std::string s_value) {\n"


def _reading_inputs(text, arrays, groups=()):
    """``objects.cpp`` whose ``set_variable_by_name`` reads each of ``arrays``
    (``("group.var", "_dynamic_array_group_var")``) from its file at the file's size, so
    that a build runs spikes of any number. Raises :class:`SimulationError` if this
    Brian2's ``objects.cpp`` is not the shape this expects (the binary would otherwise
    read spikes of another number wrongly)."""
    if not arrays:
        return text
    if text.count(_SET_BY_NAME) != 1:
        raise SimulationError("biodyn cannot adapt this Brian2 version's objects.cpp (no "
                              "'set arrays by name' section): input spikes cannot be run arguments")
    text = text.replace(_SET_BY_NAME, _READ_INPUT + _MERGE_SPIKES + _SET_BY_NAME)
    if groups:
        if text.count(_SETTER) != 1:
            raise SimulationError("biodyn cannot adapt this Brian2 version's objects.cpp (no "
                                  "set_variable_by_name): input spikes cannot be run arguments")
        text = text.replace(_SETTER, _SETTER + "".join(
            f'    if (name == "{_MERGE_ARG}{group}") {{\n'
            f"        _biodyn_merge_spikes(name, s_value, {index}, {bins});\n"
            "        return;\n    }\n" for group, index, bins in groups))
    for name, array in arrays:
        head = f'    if (name == "{name}") {{\n'
        if text.count(head) != 1:
            raise SimulationError(f"biodyn cannot adapt this Brian2 version's objects.cpp (no "
                                  f"setter of {name}): input spikes cannot be run arguments")
        text = text.replace(head, head + f"        _biodyn_read_input(name, {array}, s_value);\n"
                                          "        return;\n")
    return text


#: The support code of a synaptic pathway's code object starts here (``_remembering_exp``).
_SUPPORT = "////// SUPPORT CODE ///////\nnamespace {\n"
#: ``exp`` called as a function in generated C++ (not ``_exp``, ``std::exp``, ``x.exp``).
_EXP_CALL = re.compile(r"(?<![\w:.>])exp\(")
_REMEMBERING_EXP = """
    // biodyn: exp that returns the last call's value again for the same argument (an
    // event-driven synapse decays two traces by exp(-(t - lastupdate)/tau): one exp, not two,
    // when the time constants are equal; the same function, so the same value)
    static inline double _biodyn_exp(const double x) {
        static double last_x = 0.0, last_y = 1.0;
        if (x != last_x) {
            last_x = x;
            last_y = exp(x);
        }
        return last_y;
    }
    // any other argument (float, integer): the exp that the plain call would call
    template <typename T> static inline auto _biodyn_exp(const T x) -> decltype(exp(x)) { return exp(x); }
"""


#: Brian2's ``CSpikeQueue`` (``brianlib/spikequeue.h``): the end of ``prepare`` and the
#: homogeneous-delay branch of ``push`` (:func:`_flat_spike_queue`).
_QUEUE_PREPARED = "        scalar_delay = (min_delay == max_delay);\n"
_QUEUE_PUSH = re.compile(r"(        if\(scalar_delay\)\n        \{\n).*?(        \} else // \(!scalar_delay\)\n)", re.S)
_QUEUE_MEMBERS = "    vector< vector<int> > synapses;\n"
_FLAT_QUEUE_MEMBERS = """    // biodyn: the synapses of each source as one array (first[i] .. first[i + 1] in flat)
    vector<size_t> biodyn_first;
    vector<int32_t> biodyn_flat;
"""
_FLAT_QUEUE_PREPARED = """        // biodyn: the synapses of each source in one array, in the order of `synapses`
        biodyn_first.assign(synapses.size() + 1, 0);
        for (size_t i = 0; i < synapses.size(); i++)
            biodyn_first[i + 1] = biodyn_first[i] + synapses[i].size();
        biodyn_flat.resize(biodyn_first.back());
        for (size_t i = 0; i < synapses.size(); i++)
            std::copy(synapses[i].begin(), synapses[i].end(), biodyn_flat.begin() + biodyn_first[i]);
"""
_FLAT_QUEUE_PUSH = r"""\1            // biodyn: the synapses of all spikes appended at once (one resize per step)
            vector<int32_t> &homog_queue = queue[(offset+delays[0])%queue.size()];
            const size_t * __restrict first = biodyn_first.data();
            size_t n = 0;
            for(int idx_spike=start; idx_spike<stop; idx_spike++)
            {
                const int idx_neuron = rspikes[idx_spike] - source_start;
                n += first[idx_neuron + 1] - first[idx_neuron];
            }
            if(n > 0)
            {
                const size_t cur = homog_queue.size();
                homog_queue.resize(cur + n);
                int32_t * __restrict hq = &(homog_queue[cur]);
                const int32_t * __restrict flat = biodyn_flat.data();
                for(int idx_spike=start; idx_spike<stop; idx_spike++)
                {
                    const int idx_neuron = rspikes[idx_spike] - source_start;
                    for(size_t j = first[idx_neuron]; j < first[idx_neuron + 1]; j++)
                        *hq++ = flat[j];
                }
            }
\2"""


def _flat_spike_queue(text):
    """Brian2's ``spikequeue.h`` whose ``push`` of spikes with one delay for all synapses
    appends the synapses of a time step's spikes at once from one flat array (built in
    ``prepare``, in the order of Brian2's per-source lists) — the same synapses in the same
    order; ``text`` unchanged if it is not the shape this expects.

    Brian2's ``push`` resizes the step's queue once per spike (a call of
    ``vector::_M_default_append``) and reads each source's synapses from its own heap
    vector: 20% of a batched song_2000 run (1000 inputs each with one synapse)."""
    if (text.count(_QUEUE_PREPARED) != 1 or text.count(_QUEUE_MEMBERS) != 1
            or len(_QUEUE_PUSH.findall(text)) != 1):
        return text
    text = text.replace(_QUEUE_MEMBERS, _QUEUE_MEMBERS + _FLAT_QUEUE_MEMBERS)
    text = text.replace(_QUEUE_PREPARED, _QUEUE_PREPARED + _FLAT_QUEUE_PREPARED)
    return _QUEUE_PUSH.sub(_FLAT_QUEUE_PUSH, text)


def _remembering_exp(text):
    """A synaptic pathway's code object (Brian2's ``synapses`` template) whose calls of
    ``exp`` remember the last argument and value (:data:`_REMEMBERING_EXP`); ``text``
    unchanged if it is not the shape this expects.

    Brian2 writes the event-driven update of each trace as ``trace * exp(-(t -
    lastupdate)/tau)``, one ``exp`` per trace at every event of every synapse (the pre
    and post traces of pair STDP: two per event, ~20% of a batched song_2000 run). With equal time
    constants (``tau_plus = tau_minus``, as in Song et al. 2000) the second call has the
    argument of the first, bit for bit, and gets its value without calling ``exp``;
    otherwise the remembered argument differs and ``exp`` is called as before. Single
    threaded only (the remembered pair is a static variable)."""
    if text.count(_SUPPORT) != 1 or not _EXP_CALL.search(text):
        return text
    head, body = text.split(_SUPPORT)
    return head + _SUPPORT + _REMEMBERING_EXP + _EXP_CALL.sub("_biodyn_exp(", body)


def _standalone_device():
    """A new ``CPPStandaloneDevice`` for biodyn's standalone runs.

    Five changes to Brian2's; the first four change no number, the fifth may change the
    last bit of a synapse's arithmetic:

    * the network loop reads the clock once per run, not once per time step
      (:func:`_without_step_clock`) unless a ``maximum_run_time`` needs it;
    * the spike arrays of the input generators made inside :meth:`capturing_inputs`
      (:func:`biodyn.stimuli.spike_generator` with ``replaceable=True``) live in Python.
      Brian2 stores a generator's spikes as static arrays of the project, which the
      binary reads at every start and copies into its dynamic arrays (``spike_number``,
      ``neuron_index``, ``spike_time`` and ``_timebins``: 24 bytes per spike), even when
      the run's own spikes then come as ``run_args``, and it writes all four back to
      ``results/`` at the end — 0.55 GB of file traffic for a batch of 64 song_2000
      points of 10 s, for arrays that no run changes — and their number is compiled in
      (other rates, another build). Here the binary gets the two arrays its code reads
      (``neuron_index`` and ``_timebins``) as files at every run (the build's, or the
      run's own: :func:`_rerun_arguments`) and sizes them by the file
      (:func:`_reading_inputs`), keeps the other two empty and writes none of them back:
      the build does not depend on the number of spikes. Reading any of them in Python
      gives the values the last run used (:meth:`get_value`; ``spike_time`` after a run
      that replaced only the steps of the spikes raises :class:`SimulationError`);
    * a run may give a generator's spikes as :class:`SpikeParts` (one part per copy of a
      batch, each sorted by step), which the binary merges by step, then part
      (``_biodyn_merge_spikes`` in ``objects.cpp``, a counting sort in blocks of 4096
      steps): no batch-sized arrays in Python;
    * the spike queue appends the synapses of a step's spikes at once, from one flat array
      (:func:`_flat_spike_queue`), in Brian2's order;
    * a synaptic pathway's ``exp`` remembers its last argument and value
      (:func:`_remembering_exp`): the two traces of pair STDP with equal time constants
      (Song et al. 2000) cost one ``exp`` per event, not two. The values of ``exp`` are
      the same, but the code around it is compiled anew, and under Brian2's default
      ``-ffast-math`` the compiler may order a product or fuse a multiply-add differently
      from the plain code: a song_2000 batch's final weights differ from those of Brian2's
      plain code by at most 8e-16 (the last bit). Every run of a build uses the same code,
      so batched points still equal their runs alone bit for bit, and the agreement with
      NEST's synapse models (1e-13) is unchanged. Not with OpenMP threads (the remembered
      pair is one static variable).

    Measured on the song_2000 batch of 16 points x 100 s (binary only, CPU under load): 2.10
    s with Brian2's queue and plain ``exp`` and the old merge, 1.72 s with all three.
    """
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    class StandaloneDevice(CPPStandaloneDevice):
        def __init__(self):
            super().__init__()
            self.input_groups = set()  # names of the generators whose arrays live here
            self.input_arrays = {}  # id(var) -> (var, the build's values)
            self.last_inputs = {}  # id(var) -> values of the last run (None: not known)
            self._capturing = False

        @contextlib.contextmanager
        def capturing_inputs(self):
            """The ``SpikeGeneratorGroup`` made in this block keeps its spikes in Python."""
            self._capturing, before = True, set(self.input_groups)
            try:
                yield
            finally:
                self._capturing = False
                self.input_groups |= {v.owner.name for v, _ in self.input_arrays.values()
                                      if v.name in INPUT_READ} - before

        def hold_inputs(self, group):
            """``group`` (made in :meth:`capturing_inputs`) keeps its spikes here, also when it
            has none (Brian2 then fills none of its arrays)."""
            for name in INPUT_READ + INPUT_KEPT:
                var = group.variables[name]
                if id(var) not in self.input_arrays:
                    self.input_arrays[id(var)] = (var, np.zeros(0, dtype=var.dtype))
            self.input_groups.add(group.name)

        def _is_input(self, var):
            if var.name not in INPUT_READ + INPUT_KEPT:
                return False
            try:
                name = var.owner.name
            except (AttributeError, ReferenceError):
                return False
            return self._capturing or name in self.input_groups

        def fill_with_array(self, var, arr):
            if not self._is_input(var):
                return super().fill_with_array(var, arr)
            value = np.empty(int(var.size), dtype=var.dtype)
            value[:] = np.asarray(arr)
            self.array_cache[var] = None
            self.input_arrays[id(var)] = (var, value)
            self.last_inputs.pop(id(var), None)

        def resize(self, var, new_size):
            if self._is_input(var):  # sized by each run's own spikes (INPUT_READ), or never
                if id(var) not in self.input_arrays:  # (a generator of no spikes is never filled)
                    self.input_arrays[id(var)] = (var, np.zeros(int(new_size), dtype=var.dtype))
                return
            return super().resize(var, new_size)

        def get_value(self, var, access_data=True):
            entry = self.input_arrays.get(id(var))
            if entry is None or entry[0] is not var:
                return super().get_value(var, access_data)
            value = self.last_inputs.get(id(var), entry[1]) if self.has_been_run else entry[1]
            if isinstance(value, _FromParts):
                value = self.last_inputs[id(var)] = value()
            if value is None:
                raise SimulationError(
                    f"{var.owner.name}.{var.name} is not known after this run: the run replaced the "
                    "generator's spikes by their time steps and indices only")
            return value

        def generate_objects_source(self, writer, *args, **kwargs):
            names = {self.get_array_name(v, access_data=False) for v, _ in self.input_arrays.values()}

            read = [(f"{v.owner.name}.{v.name}", self.get_array_name(v, access_data=False))
                    for v, _ in self.input_arrays.values() if v.name in INPUT_READ]
            arrays = {(v.owner.name, v.name): self.get_array_name(v, access_data=False)
                      for v, _ in self.input_arrays.values()}
            groups = [(g, arrays[g, "neuron_index"], arrays[g, "_timebins"])
                      for g in sorted(self.input_groups)
                      if (g, "neuron_index") in arrays and (g, "_timebins") in arrays]

            class Writer:
                def write(self, filename, contents):
                    if filename == "objects.*":
                        text = _without_write_back(contents.cpp_file, names)
                        contents.cpp_file = _reading_inputs(text, read, groups)
                    return writer.write(filename, contents)

                def __getattr__(self, name):
                    return getattr(writer, name)

            return super().generate_objects_source(Writer(), *args, **kwargs)

        def copy_source_files(self, writer, directory):
            super().copy_source_files(writer, directory)
            queue = Path(directory) / "brianlib" / "spikequeue.h"
            text = queue.read_text()
            flat = _flat_spike_queue(text)
            if flat != text:
                queue.write_text(flat)

        def generate_codeobj_source(self, writer):
            from brian2 import prefs

            pathways = set()
            if not prefs.devices.cpp_standalone.openmp_threads:  # _biodyn_exp: one thread
                pathways = {f"code_objects/{name}.cpp" for name, obj in self.code_objects.items()
                            if obj.template_name == "synapses"}

            class Writer:
                def write(self, filename, contents):
                    if filename in pathways:
                        contents = _remembering_exp(contents)
                    return writer.write(filename, contents)

                def __getattr__(self, name):
                    return getattr(writer, name)

            return super().generate_codeobj_source(Writer())

        def run(self, directory=None, results_directory=None, with_output=False, run_args=None):
            """Brian2's run, quiet: the binary's output goes to ``results/stdout.txt`` and
            ``results/stderr.txt`` and nothing to the process's own (:func:`_quiet_binary`;
            ``with_output`` is ignored).

            A binary that exits normally but reported on its stderr that it could not set a
            variable from a run argument is a :class:`~biodyn.errors.SimulationError`:
            Brian2's generated code then runs on with the build's values (``Error reading
            '...': file size ... does not match``) — not the run that was asked for. Other
            lines on its stderr (a C++ runtime's notes) are a ``RuntimeWarning``: the user's to
            see or filter, as they would have been on the terminal.
            """
            if results_directory is None:
                results = Path(self.results_dir)
            else:
                results = Path(directory if directory is not None else self.project_dir,
                               results_directory)
            with _quiet_binary(results):
                done = super().run(directory, results_directory, False, run_args)
            try:
                said = (results / "stderr.txt").read_text(errors="replace").split("\n")
            except OSError:
                said = []
            said = [shorten(ln, 300) for ln in said if ln.strip()]
            failed = [ln for ln in said if _NOT_SET.match(ln)]
            where = f" (all of it: {results / 'stderr.txt'})"
            if failed:
                raise SimulationError("the standalone binary could not set a variable from a run "
                                      "argument and ran on with the build's value: "
                                      + " | ".join(failed[:5]) + where)
            if said:
                warnings.warn("the standalone binary wrote to its stderr: "
                              + " | ".join(said[-5:]) + where, RuntimeWarning, stacklevel=2)
            return done

        def compile_source(self, directory, compiler, debug, clean):
            """Brian2's ``make``, quiet (:func:`_make`), unless the user asked to see the
            compiler (``debug``, or Brian2's pref ``logging.std_redirection`` off)."""
            from brian2 import prefs

            if compiler == "msvc" or debug or not prefs["logging.std_redirection"]:
                return super().compile_source(directory, compiler, debug, clean)
            return _make(self, directory, clean)

        def generate_network_source(self, writer, compiler):
            if self._maximum_run_time is not None:
                return super().generate_network_source(writer, compiler)
            network = self.code_object_class().templater.network(None, None,
                                                                 maximum_run_time=None)
            writer.write("network.cpp", _without_step_clock(network.cpp_file))
            writer.write("network.h", network.h_file)

    return StandaloneDevice()


#: Lines of Brian2's generated ``objects.cpp`` (``set_variable_from_file``) on the binary's stderr
#: when a run argument did not set its variable; the binary then runs on.
_NOT_SET = re.compile(r"(Error reading|Could not read|Cannot set unknown variable) ")

#: The thread running a biodyn standalone binary now holds the binary's stderr file here.
_quiet = threading.local()
_quiet_lock = threading.Lock()
_quiet_count = [0]  # binaries of biodyn running now, in all threads


def _quiet_print(*args, **kwargs):
    """``print`` of Brian2's standalone device module while biodyn runs a binary: silent in
    the thread running it (Brian2 prints a failing binary's whole output to stdout), Python's
    own in any other thread."""
    if getattr(_quiet, "stderr", None) is None:
        print(*args, **kwargs)


class _QuietSubprocess:
    """``subprocess`` of Brian2's standalone device module while biodyn runs a binary: in the
    thread running it, ``call`` sends the binary's stderr to biodyn's file (Brian2 keeps
    only its stdout, in ``results/stdout.txt``); the module's own everywhere else."""

    def __getattr__(self, name):
        return getattr(subprocess, name)

    def call(self, *args, **kwargs):
        err = getattr(_quiet, "stderr", None)
        if err is not None and kwargs.get("stderr") is None:
            kwargs["stderr"] = err
        return subprocess.call(*args, **kwargs)


@contextlib.contextmanager
def _quiet_binary(results):
    """A standalone run that prints nothing to the process's stdout or stderr.

    biodyn is a guest in the user's script. Brian2's ``CPPStandaloneDevice.run`` lets the
    binary write to the process's stderr and, when it fails, prints all of its stdout (also
    with ``with_output=False``). Here, for the thread running the binary only, its stderr
    goes to ``results/stderr.txt`` (next to Brian2's ``results/stdout.txt``) and Brian2's
    print of a failure is silent: :func:`_simulation_error` puts what the binary said into the
    error instead. Neither ``sys.stdout`` nor the file descriptors of the process change, so
    the prints of the user's other threads go where they went; Brian2's prefs are untouched.
    The device module's ``print`` and ``subprocess`` names are replaced while any biodyn binary
    runs (and restored after the last one), with stand-ins that act for biodyn's thread only.
    """
    import importlib

    module = importlib.import_module("brian2.devices.cpp_standalone.device")
    results.mkdir(parents=True, exist_ok=True)
    with open(results / "stderr.txt", "w") as err:
        with _quiet_lock:
            if _quiet_count[0] == 0:
                module.print = _quiet_print
                module.subprocess = _QuietSubprocess()
            _quiet_count[0] += 1
        _quiet.stderr = err
        try:
            yield
        finally:
            _quiet.stderr = None
            with _quiet_lock:
                _quiet_count[0] -= 1
                if _quiet_count[0] == 0:
                    del module.print
                    module.subprocess = subprocess


def _make(device, directory, clean):
    """Compile the standalone project in ``directory`` as Brian2 does (its prefs
    ``make_cmd_unix`` and ``extra_make_args_unix``, the timers it keeps), with the compiler's
    output in ``make.log`` of the project.

    Brian2 runs make inside ``std_silent``, which points the file descriptors 1 and 2 of the
    whole process to a log of its own for the time of the build (the prints of the user's
    other threads go there too) and, when the build fails, writes that log — every compiler
    message of the session so far — to the user's stdout and stderr. Here only make's output
    is redirected, and a failure is the same ``RuntimeError`` as Brian2's
    (``"Project compilation failed (error code: N)"``, ``N`` the wait status, as
    :func:`_killing_signal` reads it); :func:`_simulation_error` adds the compiler's errors.
    """
    from brian2 import prefs

    where = {"cwd": str(directory), "stdin": subprocess.DEVNULL}
    with open(Path(directory) / "make.log", "w") as log:
        if clean:
            t0 = time.time()
            subprocess.call("make clean", shell=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **where)
            device.timers["compile"]["clean"] = time.time() - t0
        command = " ".join([prefs.devices.cpp_standalone.make_cmd_unix]
                           + list(prefs.devices.cpp_standalone.extra_make_args_unix))
        t0 = time.time()
        code = subprocess.call(command, shell=True, stdout=log, stderr=subprocess.STDOUT, **where)
        device.timers["compile"]["make"] = time.time() - t0
    if code != 0:
        status = -code if code < 0 else code << 8  # killed by signal -code, or exit code
        raise RuntimeError(f"Project compilation failed (error code: {status})")


def _make_said(directory, keep=5, width=300):
    """The compiler's own error lines in ``make.log`` of the project ``directory`` (the first
    ``keep``: later errors often follow from the first), else its last ``keep`` lines."""
    try:
        text = (Path(directory) / "make.log").read_text(errors="replace")
    except OSError:
        return []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.search(r"\berror\b", ln, re.IGNORECASE)
              and not ln.startswith("make")]
    return [shorten(ln, width) for ln in (errors[:keep] or lines[-keep:])]


def _binary_said(directory, keep=5, width=300):
    """What a standalone binary said before it failed (``results/stdout.txt`` and
    ``results/stderr.txt`` of its project ``directory``): its own ``biodyn:`` lines if it
    wrote any, else the last ``keep`` lines of its output; each line cut to ``width``."""
    lines = []
    for name in ("stdout.txt", "stderr.txt"):
        try:
            text = (Path(directory) / "results" / name).read_text(errors="replace")
        except OSError:
            continue
        lines += [ln.strip() for ln in text.splitlines() if ln.strip()]
    own = [ln for ln in lines if ln.startswith("biodyn:")]
    return [shorten(ln, width) for ln in (own or lines)[-keep:]]


def _forget_device(device):
    """Drop ``device`` from Brian2's stack of previously used devices (no leak)."""
    import importlib

    devices = importlib.import_module("brian2.devices.device")  # the module, not the proxy
    devices.previous_devices[:] = [d for d in devices.previous_devices if d[0] is not device]


def _killing_signal(exc):
    """The signal (SIGINT or SIGTERM) that killed the C++ compiler, if that is why Brian2
    reports "Project compilation failed (error code: N)", else ``None``.

    Brian2 compiles with ``os.system(make)``, which ignores SIGINT in Python's process while
    make runs: Ctrl-C at the terminal reaches make (same process group) only, make dies of
    it, and ``N`` is the wait status of a process killed by a signal (``N & 0x7f`` the
    signal, no exit code) — not make's failure (exit code 2: ``N = 512``)."""
    import signal

    m = re.search(r"compilation failed \(error code: (\d+)\)", str(exc))
    if not m:
        return None
    status = int(m.group(1))
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGINT, signal.SIGTERM):
        return int(os.WTERMSIG(status))
    return None


def _simulation_error(exc, directory=None):
    """A Brian2 error during a run, as one line for the user (or the interrupt that caused it:
    Ctrl-C also stops a standalone binary, and a compiler killed by it is no compilation
    failure: :func:`_killing_signal`). What the compiler or the standalone binary said is
    added (:func:`_make_said`, :func:`_binary_said`: ``make.log`` and ``results/`` of the
    project ``directory``), with the files that hold all of it."""
    interrupted = _signals.pending_interrupt()
    if interrupted is not None:
        return interrupted
    signum = _killing_signal(exc)
    if signum is not None:
        from .errors import Interrupted

        _signals.clear()
        return Interrupted(signum)
    said = ""
    if directory is not None and "compilation failed" in str(exc):
        lines = _make_said(directory)
        if lines:
            said = (f"; the compiler said: {' | '.join(lines)} (all of it: "
                    f"{Path(directory) / 'make.log'})")
    elif directory is not None and "run failed" in str(exc):
        lines = _binary_said(directory)
        if lines:
            results = Path(directory) / "results"
            said = (f"; the binary said: {' | '.join(lines)} (all of its output: "
                    f"{results / 'stdout.txt'} and {results / 'stderr.txt'})")
    return SimulationError(f"Brian2 could not run the simulation: {shorten(exc, 500)}{said}")
