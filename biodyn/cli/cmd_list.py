"""biodyn list [models|protocols|sweeps|tasks|all]"""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("list", help="list the catalog's models, protocols, sweeps or tasks",
                       description="List the models, protocols, sweeps or tasks in the catalog (built-in, "
                       "BIODYN_PATH folders, and installed packages' entry points).",
                       epilog="examples:\n  biodyn list models\n  biodyn list protocols\n  biodyn list sweeps      "
                       "# biodyn's example sweeps (examples/sweeps) and yours on BIODYN_PATH",
                       formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="?", default="models", choices=["models", "protocols", "sweeps", "tasks", "all"])
    p.set_defaults(func=run)


def _first_sentence(text, width=70):
    """The first sentence (a period followed by a capitalised word), cut to ``width``."""
    import re

    text = " ".join(text.split())
    m = re.search(r"(?<!\b[A-Za-z])(?<!\bch)(?<!\bet al)(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z(])", text)
    if m and m.start() < width:
        text = text[: m.start() + 1]
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args):
    import sys

    from .. import catalog

    # Files that cannot be read as specs (TOML errors, no or unknown kind) belong to no group:
    # name them, with their errors, on stderr rather than leave them out without a word.
    for e in catalog.broken():
        print(f"biodyn: warning: not listed, cannot be read: {e.error}  [{e.source}]",
              file=sys.stderr)
    groups = ["models", "protocols", "sweeps", "tasks"] if args.what == "all" else [args.what]
    for group in groups:
        entries = catalog.entries(group)
        if len(groups) > 1:
            print(f"{group}:")
        if not entries:
            print(f"(no {group} found)")
        rows = []
        for e in entries:
            from ..errors import BiodynError

            try:
                if group == "models":
                    spec = catalog.load(str(e.path))
                    info = f"{len(spec.parameter_sets)} set{'s' if len(spec.parameter_sets) != 1 else ''}"
                    desc = spec.description
                elif group == "tasks":
                    from .. import learn

                    spec = learn.load_task(str(e.path))
                    info, desc = f"{spec.generator}, {spec.loss}", spec.description
                elif group == "sweeps":
                    from ..spec import read_toml

                    data = read_toml(e.path)
                    job = data.get("run", {}).get("job", "?") if isinstance(data.get("run"), dict) else "?"
                    info, desc = f"job {job}", str(data.get("description", ""))
                else:
                    from .. import protocols

                    spec = protocols.load(str(e.path))
                    n = len(spec.data["points"]) if spec.data else 0
                    info = f"{spec.model}, {len(spec.conditions)} cond., {n} data"
                    desc = spec.description
            except BiodynError as exc:
                info, desc = "INVALID", "(the error is on stderr)"
                print(f"biodyn: warning: {e.name} is invalid: {exc}", file=sys.stderr)
            if group == "sweeps":  # a sweep is a template to copy: where its file is
                from ..errors import display_path

                rows.append((e.name, e.kind, info, f"{_first_sentence(desc)}  [{e.source}: {display_path(e.path)}]"))
                continue
            where = "" if e.source == "built-in" else f"  [{e.source}]"
            shadow = f"  (hides {len(e.shadowed)} other)" if e.shadowed else ""
            rows.append((e.name, e.kind, info, f"{_first_sentence(desc)}{where}{shadow}"))
        if rows:
            w = [max(len(r[k]) for r in rows) for k in range(3)]
            for r in rows:
                print(f"{r[0]:{w[0]}s}  {r[1]:{w[1]}s}  {r[2]:{w[2]}s}  {r[3]}")
    return 0
