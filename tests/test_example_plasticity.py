import pytest
"""examples/plasticity_in_your_network.py runs and reports what its rules did."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_plasticity_example_runs_and_reports_every_rule():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "plasticity_in_your_network.py")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    for word in ("triplet STDP", "inhibitory STDP", "short-term depression", "Oja",
                 "test phase with lr = 0: weights unchanged"):
        assert word in text
    rate = float(re.search(r"output rate ([\d.]+) Hz", text).group(1))
    assert 1 < rate < 100
    cos = float(re.search(r"\|cos\(w, PC1\)\| = ([\d.]+)", text).group(1))
    assert cos > 0.95  # Oja found the principal component
    release, stationary = map(float, re.search(
        r"last spikes ([\d.]+); stationary mean ([\d.]+)", text).groups())
    assert abs(release - stationary) < 0.02
