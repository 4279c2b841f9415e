"""Every catalog system, population and neuron through the phase-space geometry commands
(analyze cycles, basins, lyapunov-function, phase-portrait) on coarse settings: a JSON with
honest content, or one clear line of refusal (exit status 2) — never an internal error."""

import json

import numpy as np
import pytest

from biodyn import catalog
from biodyn.cli import main

KINDS = ("system", "map", "population", "neuron")
MODELS = sorted(e.name for e in catalog.entries() if e.kind in KINDS and e.source == "built-in")
COARSE = {"cycles": [], "basins": ["--samples", "60"], "lyapunov-function": ["--samples", "300"],
          "phase-portrait": ["--trajectories", "3"]}


def _honest(command, d):
    assert d["analysis"] == command and d["model"]
    if command == "cycles":
        assert d["cycles"] or d["notes"] or d["is_map"]      # a cycle, or why there is none
        for c in d["cycles"]:
            if c.get("kind") == "orbit":
                continue
            assert np.isfinite(c["period"]) and c["period"] > 0
            assert len(c["multipliers"]) >= 1 and c["trivial_multiplier_error"] < 1e-2
    elif command == "basins":
        assert sum(a["fraction"] for a in d["attractors"]) == pytest.approx(1.0)
        for a in d["attractors"]:
            assert a["interval"][0] <= a["fraction"] <= a["interval"][1]
    elif command == "lyapunov-function":
        assert sum(d["fractions"].values()) == pytest.approx(1.0)
        for c in d["certificates"]:
            assert c["region_of_attraction"]["level"] >= 0
    else:
        assert "fixed_points" in d


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COARSE))
@pytest.mark.parametrize("model", MODELS)
def test_geometry_commands_answer_or_refuse_clearly_on_every_catalog_model(model, command, tmp_path, capsys):
    js = tmp_path / "out.json"
    rc = main(["-q", "analyze", command, model, *COARSE[command], "--out", str(tmp_path), "--json", str(js)])
    err = capsys.readouterr().err.strip()
    assert rc in (0, 2), err                                   # 1: an internal error (a bug)
    if rc == 2:
        assert err.startswith("biodyn: error:") and err.count("\n") == 0 and "Traceback" not in err
        assert not js.exists()                                  # all or nothing
    else:
        _honest(command, json.loads(js.read_text()))


def test_cycles_of_a_200_unit_network_are_refused_in_one_line_not_left_running(tmp_path, capsys):
    rc = main(["analyze", "cycles", "rate_rnn", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "at most 50 components" in err and "--reading" in err
