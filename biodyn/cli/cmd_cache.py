"""biodyn cache [clear]"""

from __future__ import annotations

import argparse


def register(sub):
    p = sub.add_parser(
        "cache", help="show biodyn's cache (compiled cpp_standalone projects) or clear it",
        description="Show biodyn's cache folder ($BIODYN_CACHE, else ~/.cache/biodyn): its size and "
        "what is in it (compiled cpp_standalone projects, kept so that the next run of a model "
        "compiles nothing; the object cache, compiled objects that the first build of a new "
        "model reuses where its sources are those of an earlier project; sweep workers' slot "
        "locks). `biodyn cache clear` removes it all, except "
        "what a running biodyn process is using; later runs compile again.",
        epilog="examples:\n  biodyn cache\n  biodyn cache clear\n"
               "  BIODYN_CACHE=/scratch/biodyn biodyn replay bi_poo_1998   # cache elsewhere\n"
               "  BIODYN_OBJECT_CACHE=0 biodyn replay bi_poo_1998   # compile without the object cache",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", default="show", choices=["show", "clear"],
                   help="show (default) or clear")
    p.set_defaults(func=run)


def _count(items, kind, singular, plural):
    n = sum(1 for it in items if it.kind == kind)
    return f"{n} {singular if n == 1 else plural}" if n else None


def _summary(items):
    parts = [_count(items, "project", "compiled project", "compiled projects"),
             _count(items, "objects", "object cache", "object caches"),
             _count(items, "slot lock", "slot lock", "slot locks"),
             _count(items, "other", "other file or folder", "other files or folders")]
    return ", ".join(p for p in parts if p) or "nothing"


def run(args):
    from .. import cache

    root = cache.directory()
    if args.action == "clear":
        removed, kept = cache.clear()
        size = sum(it.bytes for it in removed)
        print(f"removed {_summary(removed)} ({cache.size_text(size)}) from {root}")
        for it in kept:
            print(f"kept {it.kind} {it.name}: in use by a running process")
        return 0
    items = cache.contents()
    if not items:
        print(f"{root}: empty" if root.is_dir() else f"{root}: empty (not created yet)")
        return 0
    total = sum(it.bytes for it in items)
    print(f"{root}: {cache.size_text(total)} in {_summary(items)}")
    rows = [it for it in items if it.kind != "slot lock"]
    if rows:
        width = max(len(it.name) for it in rows)
        for it in rows:
            line = (f"  {it.name:{width}s}  {cache.size_text(it.bytes):>9s}  "
                    f"{'other' if it.kind == 'other' else it.kind:7s}  "
                    f"used {cache.age_text(it.modified)}")
            if it.kind == "objects":
                st = cache.object_stats(it.path)
                line += (f"  ({st['objects']} compiled objects shared by all projects; "
                         f"reused {st['hits']} times, compiled {st['misses']})")
            print(line)
    print("`biodyn cache clear` removes them (compiled again when next needed)")
    return 0
