"""What every job returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import io

__all__ = ["JobResult", "check_outputs", "all_or_nothing"]

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
