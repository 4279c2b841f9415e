"""The ``biodyn`` command. Thin: it parses arguments and calls the library.

Each command lives in a module ``cmd_<name>.py`` of this package exposing
``register(subparsers)``; modules are discovered, so adding a command means
adding a module. Errors a user can cause (:class:`~biodyn.errors.BiodynError`)
are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from ..errors import BiodynError, shorten

__all__ = ["main", "build_parser"]

EPILOG = """examples:
  biodyn list models
  biodyn show stdp_pair
  biodyn replay bi_poo_1998 --set tau_plus="16.8 ms" --out results/
  biodyn fit sjostrom_2001 --free A3_plus,A2_minus
  biodyn analyze lyapunov lorenz --json lorenz.json
  biodyn analyze flow oja_pca --json oja.json
  biodyn compare oja_vs_backprop
  biodyn sweep my_sweep.toml --workers 2
  biodyn plot results/bi_poo_1998.json
  biodyn cache                 # size of the compiled-build cache; biodyn cache clear

every command: COMMAND --help for its options and examples; -q quiet, --debug tracebacks.
"""


def build_parser():
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="biodyn",
        description="biodyn: learning as a dynamical system, on top of Brian2.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"biodyn {__version__}")
    _global_flags(parser, default=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_"))
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(sub)
    _flags_everywhere(sub)  # the global flags work after the (sub)command too
    return parser


def _flags_everywhere(subparsers_action):
    for sub_parser in subparsers_action.choices.values():
        _global_flags(sub_parser, default=argparse.SUPPRESS)
        for action in sub_parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                _flags_everywhere(action)


def _global_flags(parser, default):
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show tracebacks of errors")
    parser.add_argument("--quiet", "-q", action="store_true", default=default,
                        help="no progress output: only results and errors")


def seed_arg(text):
    """``--seed``: a non-negative integer (numpy's generators reject negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, found {text!r}")
    return value


def add_model_options(parser, model=True):
    """The options every command taking a model shares: --params, --set, --variant, --seed."""
    if model:
        parser.add_argument("--model", "-m", help="model name or spec path (default: the protocol's)")
    parser.add_argument("--params", "-p", metavar="SET",
                        help="parameter set: a name of the model's sets or a .toml file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                        help="override a parameter, with its unit: --set tau_plus='16.8 ms' (repeatable)")
    parser.add_argument("--variant", dest="variants", action="append", default=[], metavar="AXIS=OPTION",
                        help="choose a variant of the model: --variant pairing=nearest (repeatable)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="random seed (default 0; recorded in outputs)")


def parse_assignments(items, key):
    from ..spec import parse_assignment

    out = {}
    for item in items:
        name, value = parse_assignment(item, key=key)
        out[name] = value
    return out


def add_stimulus_option(parser):
    """``--stimulus KEY=VALUE`` (repeatable): a change to the protocol's stimulus table."""
    parser.add_argument("--stimulus", dest="stimulus", action="append", default=[], metavar="KEY=VALUE",
                        help="change a stimulus entry of the protocol, VALUE in TOML (--stimulus "
                        "repetitions=5, --stimulus duration='20 second', --stimulus "
                        "'patterns=[[1,0,0],[0,1,0]]'; repeatable)")


def parse_stimulus(items, flag="--stimulus"):
    """``["repetitions=5", ...]`` -> ``{"repetitions": 5}`` (values read as TOML)."""
    from ..spec import parse_value

    return {name: parse_value(value) for name, value in parse_assignments(items, flag).items()}


#: How protocol changes given on the command line are named in errors.
COMMAND_LINE = {"stimulus": ("<command line>", "--stimulus "),
                "network": ("<command line>", "--network "),
                "inputs": ("<command line>", "--input")}


def check_protocol_changes(protocol, stimulus=None, inputs=None):
    """Check ``--stimulus`` and ``--input`` against what the protocol's engine reads, before
    anything runs (errors name the flag)."""
    from .. import protocols

    protocols.check_changes(protocol, stimulus=stimulus, inputs=inputs, where=COMMAND_LINE)


def flags_of(parser, **aliases):
    """``{keyword: flag}`` for the options of ``parser`` (``{"batch_size": "--batch-size"}``,
    by each option's ``dest``), plus ``aliases`` (library keyword -> flag, for keywords named
    otherwise than the flag's dest). A command passes it as ``set_defaults(keyword_flags=...)``
    and :func:`main` names the flags in the library's errors (:func:`keyword_errors_as_flags`).
    The alias ``"**"`` names the flag that gives the library's catch-all keywords (``--set`` for
    a task's parameters, ``train(task, n_train=32)``): an error about any other keyword names
    it as ``--set n_train``."""
    out = {}
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs and action.dest not in ("help", "debug", "quiet"):
            out[action.dest] = longs[0]
    out.update(aliases)
    return out


def keyword_errors_as_flags(exc, flags):
    """The library's error about keyword arguments (``SpecError("<arguments>", "epochs", ...)``,
    which names the keyword, as a script calls it) said the way the command line was typed:
    ``<command line>: --epochs: ...``; ``keyword=VALUE`` in its text becomes ``--flag VALUE``;
    an entry of a mapping keyword (``parameters.delay`` of ``parameters={"delay": ...}``) becomes
    the flag that fills it (``--set delay``).
    Other errors come back unchanged."""
    import re

    from ..errors import SpecError

    if not isinstance(exc, SpecError) or exc.file not in ("<arguments>", None) or not flags:
        return exc
    keys = [k.strip() for k in str(exc.key).split(",")]
    rest = flags.get("**")  # the flag of the catch-all keywords (--set NAME=VALUE)

    def entry(k):  # "parameters.delay": the entry delay of the mapping keyword parameters= (--set delay)
        head, _, tail = k.partition(".")
        return tail if head in flags and head != "**" and tail.isidentifier() else None

    if not all(k in flags or k.startswith("--") or (rest and k.isidentifier()) or entry(k) for k in keys):
        return exc
    names = sorted((k for k in flags if k != "**"), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, names)) + r")=")

    def text(t):
        return None if t is None else pattern.sub(lambda m: flags[m.group(1)] + " ", str(t))

    def flag(k):
        if k in flags and k != "**":
            return flags[k]
        if k.startswith("--"):
            return k
        return f"{flags[k.partition('.')[0]]} {entry(k)}" if entry(k) else f"{rest} {k}"

    # a task parameter's "found hidden=3" is what was typed after --set: no flag in it
    typed_after_set = all(k not in flags and not k.startswith("--") for k in keys)
    new = SpecError("<command line>", ", ".join(flag(k) for k in keys), text(exc.expected),
                    exc.found if typed_after_set else text(exc.found), text(exc.hint))
    new.__cause__ = exc
    return new


def _quiet_brian(debug=False):
    """Keep Brian2's console to errors and stop it writing debug log files."""
    try:
        from brian2 import prefs

        prefs.logging.file_log = False
        prefs.logging.delete_log_on_exit = True
        if not debug:
            prefs.logging.console_log_level = "ERROR"
            from brian2.utils.logger import BrianLogger

            BrianLogger.console_handler.setLevel("ERROR")
    except Exception:  # pragma: no cover
        pass


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    _quiet_brian(args.debug)
    from .._signals import interrupts

    try:
        with interrupts():  # Ctrl-C and SIGTERM: Interrupted, never a truncated result
            result = args.func(args)
    except BiodynError as exc:
        if args.debug:
            raise
        exc = keyword_errors_as_flags(exc, getattr(args, "keyword_flags", None))
        print(f"biodyn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # nothing was written: no result, no partial file
        print("biodyn: interrupted", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    except BrokenPipeError:  # `biodyn show adex | head`: the reader left; not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # pragma: no cover
            pass
        return 0
    except Exception as exc:  # a bug in biodyn (or Brian2): still one line, unless --debug
        if args.debug:
            raise
        text = shorten(exc, 500)
        print(f"biodyn: internal error: {type(exc).__name__}: {text} (rerun with --debug for the "
              "traceback, and please report it)", file=sys.stderr)
        return 1
    return int(result or 0)


def entry():
    sys.exit(main())
