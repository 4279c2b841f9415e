"""What every job returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import io
from .._quantity import readable_text

__all__ = ["JobResult", "check_outputs", "all_or_nothing", "provenance_line", "values_digest"]

#: Every job writes its files all or nothing: an interrupted or failed job leaves none.
all_or_nothing = io.all_or_nothing


def check_outputs(out=None, json=None, *, out_is_folder=True):
    """Check, before anything runs, that the job can write ``out`` (folder, or file with
    ``out_is_folder=False``) and the ``json`` file: a clear one-line error, not a failure
    after the simulation."""
    if out is not None and out is not False:
        io.check_writable(out, "--out", folder=out_is_folder)
    if json:
        io.check_writable(json, "--json")


@dataclass
class JobResult:
    """What a job wrote: its summary (as in the JSON file), the file paths, and timings."""

    summary: dict
    paths: dict
    timings: dict = field(default_factory=dict)


def values_digest(parameters):
    """The first 8 hex digits of the SHA-256 of the resolved parameter values (their exact
    texts, sorted by name, as JSON): two results show the same digest iff they ran with the
    same values."""
    import hashlib
    import json

    text = json.dumps({str(k): str(v) for k, v in parameters.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _compact(value):
    """A value for the provenance line: quantities as a reader writes them
    (:func:`biodyn._quantity.readable_text`: ``"2e-05 second"`` → ``"20 µs"``), other data
    as compact JSON."""
    import json

    return readable_text(value) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def provenance_line(summary, width=110):
    """The grey line a result's figure carries: what shaped the result, in words.

    ``model/set (values #DIGEST) · variants · set NAME=VALUE (overrides) · stimulus KEY=VALUE ·
    network ... · input FILE · seed, target, dt · versions``; wrapped into lines of at most
    ``width`` characters (at its separators). The full resolved parameter values are in the
    JSON (``parameters``), which ``biodyn replay --from`` reruns; the figure carries their
    digest (:func:`values_digest`), which identifies the record a figure belongs to.
    """
    from pathlib import Path

    pset = str(summary.get("parameter_set") or "")
    if "/" in pset or pset.endswith(".toml"):
        pset = Path(pset).name
    head = f"{summary.get('model', '?')}/{pset or '-'}"
    if summary.get("parameters"):
        head += f" (values #{values_digest(summary['parameters'])})"
    parts = [head]
    if summary.get("variants"):
        parts.append(", ".join(f"{a}={o}" for a, o in summary["variants"].items()))
    for key, word in (("overrides", "set"), ("stimulus", "stimulus"), ("network", "network")):
        if summary.get(key):
            parts.append(f"{word} " + ", ".join(f"{k}={_compact(v)}" for k, v in summary[key].items()))
    if summary.get("inputs"):
        parts.append("input " + ", ".join(Path(str(v)).name for v in summary["inputs"].values()))
    if summary.get("select"):
        parts.append(f"conditions {_compact(summary['select'])}")
    run = f"seed {summary.get('seed')}"
    batch = summary.get("batch")
    if batch and batch.get("size", 1) > 1:
        run += f" (copy {batch['copy']} of a batch of {batch['size']})"
    if summary.get("target"):
        run += f", {summary['target']}"
    if summary.get("dt"):
        run += f", dt {readable_text(summary['dt'])}"
    parts.append(run)
    versions = summary.get("versions") or {}
    if versions:
        parts.append(", ".join(f"{k} {v}" for k, v in versions.items()))
    lines, line = [], ""
    for part in parts:
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = part
        else:
            line = f"{line} · {part}" if line else part
    lines.append(line)
    return "\n".join(lines)
