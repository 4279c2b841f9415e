import pytest
"""examples/learning_rule_as_gradient_flow.py runs as a user runs it and says what the theory says."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "learning_rule_as_gradient_flow.py"


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_gradient_flow_example_walks_bcm_from_simulation_to_objective(tmp_path):
    proc = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "a gradient flow: asymmetry" in out                       # fast threshold: gradient
    assert "threshold as a state variable: NOT a gradient flow" in out
    err = float(re.search(r"max \|f - grad R\| = ([0-9.e+-]+)", out).group(1))
    assert err < 1e-10
    dist = float(re.search(r"simulation ends at w = .*?, ([0-9.]+) from the nearest", out).group(1))
    assert dist < 0.25
    assert len(re.findall(r"^stable state", out, flags=re.M)) == 2
    assert (tmp_path / "bcm_gradient_flow.png").stat().st_size > 10_000
