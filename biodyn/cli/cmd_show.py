"""biodyn show NAME"""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("show", help="show a model's equations, parameter sets and citations",
                       description="Show a model (equations, event code, variants, parameter sets "
                       "with citations), a protocol, a sweep or a task.",
                       epilog="example:\n  biodyn show stdp_pair\n  biodyn show bi_poo_1998",
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("name", help="model, protocol, sweep or task name, or a path to a spec file")
    p.set_defaults(func=run)


def run(args):
    from .. import catalog

    # The file's kind decides how it is read, so that a broken model is reported with its
    # own error (not as "not a protocol"), and a broken file's error is shown as it is.
    group = catalog.group_of(args.name)
    if group == "protocols":
        from .. import protocols

        spec = protocols.load(args.name)
    elif group == "tasks":
        from .. import learn

        spec = learn.load_task(args.name)
    elif group == "sweeps":
        from .. import sweep

        spec = sweep.load(args.name)
    else:
        spec = catalog.load(args.name)
    print(spec.describe())
    return 0
