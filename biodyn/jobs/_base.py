"""What every job returns."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JobResult"]


@dataclass
class JobResult:
    """What a job wrote: its summary (as in the JSON file), the file paths, and timings."""

    summary: dict
    paths: dict
    timings: dict = field(default_factory=dict)
