"""The examples run as a user runs them (a subprocess) and print what they promise."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, cwd):
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_replay_example_shows_the_pair_rule_cannot_tell_the_triplets_apart(tmp_path):
    out = run_example("replay_a_protocol.py", "--out", str(tmp_path / "res"), cwd=tmp_path)
    lines = out.splitlines()
    chi = {line.split()[0]: float(line.split("chi = ")[1].split()[0]) for line in lines
           if "chi =" in line}
    assert chi["pair"] > chi["triplet"] + 1.0
    for sub in ("triplet", "pairs_only"):
        for ext in ("json", "png", "pkl"):
            assert (tmp_path / "res" / sub / f"wang_2005.{ext}").stat().st_size > 0


def test_fit_example_recovers_the_published_amplitude_and_replays_the_file(tmp_path):
    out = run_example("fit_a_rule.py", "--out", str(tmp_path / "fitted.toml"), cwd=tmp_path)
    fitted = float(out.split("A3_plus: 0.02 -> ")[1].split()[0])
    assert fitted == pytest.approx(6.5e-3, rel=0.05)
    before, after = out.split("chi: ")[1].split(" over")[0].split(" -> ")
    assert float(after) < float(before) / 5
    assert f"chi = {float(after):.3f}" in out.splitlines()[-1]
    assert (tmp_path / "fitted.toml").exists()
