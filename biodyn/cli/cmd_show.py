"""biodyn show NAME"""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("show", help="show a model's equations, parameter sets and citations",
                       description="Show a model (equations, event code, variants, parameter sets "
                       "with citations) or a protocol.",
                       epilog="example:\n  biodyn show stdp_pair\n  biodyn show bi_poo_1998",
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("name", help="model or protocol name, or a path to a spec file")
    p.set_defaults(func=run)


def run(args):
    from .. import catalog, protocols
    from ..errors import SpecError

    try:
        spec = catalog.load(args.name)
    except SpecError as model_error:
        try:
            spec = protocols.load(args.name)
        except SpecError as exc:
            if "unknown protocol" in str(exc) and "unknown model" in str(model_error):
                raise SpecError("catalog", "name", "a model or protocol in the catalog",
                                f"unknown name {args.name!r}", model_error.hint) from None
            raise exc if "unknown protocol" not in str(exc) else model_error
    print(spec.describe())
    return 0
