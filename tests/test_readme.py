"""The README stays true: every model, protocol, comparison and command is in its tables, and
the files and commands it names exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _names(group):
    from biodyn import catalog

    return [e.name for e in catalog.entries(group) if e.source == "built-in"]


@pytest.mark.parametrize("group", ["models", "protocols"])
def test_every_builtin_model_and_protocol_is_in_the_readme(group):
    missing = [n for n in _names(group) if f"`{n}`" not in README]
    assert not missing, f"README lacks {group}: {missing}"


def test_every_comparison_and_command_is_in_the_readme():
    from biodyn.cli import build_parser
    from biodyn.compare import COMPARISONS

    assert all(f"`{n}`" in README for n in COMPARISONS)
    sub = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices)
    assert all(f"biodyn {c}" in README for c in sub.choices), sorted(sub.choices)


def test_quick_start_lines_and_named_files_exist():
    lines = [ln for ln in README.splitlines() if ln.startswith("python3 -m venv .venv")]
    assert lines == ['python3 -m venv .venv && . .venv/bin/activate && pip install . && biodyn replay bi_poo_1998',
                     'python3 -m venv .venv && . .venv/bin/activate && pip install ".[test]" && python -m pytest']
    for path in set(re.findall(r"`((?:examples|benchmarks|protocols|models)/[\w./-]+\.(?:py|toml))`", README)):
        assert (ROOT / path).exists(), path
    for script in re.findall(r"^\| `(\w+\.py)` \|", README, flags=re.M):
        assert (ROOT / "benchmarks" / script).exists(), script
