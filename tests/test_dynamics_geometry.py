"""Phase-space geometry: stable/unstable manifolds of saddles, basins of attraction, Lyapunov
functions — on systems with known answers (linear saddles, the unforced double-well Duffing
oscillator, dx/dt = y - x^3, dy/dt = -x)."""

import json
from pathlib import Path

import numpy as np
import pytest

from biodyn.dynamics import find_fixed_points, read

LINEAR2 = '''
kind = "system"
description = "A linear saddle: dx/dt = (a x + b y)/tau, dy/dt = (c x + d y)/tau."
model = """
dx/dt = (a*x + b*y)/tau : 1
dy/dt = (c*x + d*y)/tau : 1
"""
time_unit = "tau"
[parameters]
a = { unit = "1" }
b = { unit = "1" }
c = { unit = "1" }
d = { unit = "1" }
tau = { unit = "ms" }
[initial]
x = "0.1"
y = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { a = "1", b = "2", c = "0", d = "-1", tau = "1 ms" }
'''

LINEAR3 = '''
kind = "system"
description = "A linear saddle in 3-D with a two-dimensional stable eigenspace (the plane x = 0)."
model = """
dx/dt = x/tau : 1
dy/dt = (-y + 3*z)/tau : 1
dz/dt = (x - 2*z)/tau : 1
"""
time_unit = "tau"
[parameters]
tau = { unit = "ms" }
[initial]
x = "0.1"
y = "0"
z = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
z = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { tau = "1 ms" }
'''

CUBIC = '''
kind = "system"
description = "dx/dt = y - x^3, dy/dt = -x: V = x^2 + y^2 has dV/dt = -2 x^4."
model = """
dx/dt = (y - x**3)/tau : 1
dy/dt = -x/tau : 1
"""
time_unit = "tau"
[parameters]
tau = { unit = "ms" }
[initial]
x = "0.5"
y = "0"
[ranges]
x = ["-1", "1"]
y = ["-1", "1"]
[citations.none]
authors = "test"
year = 2026
title = "test"
journal = "test"
[parameter_sets.default]
citation = "none"
values = { tau = "1 ms" }
'''


def _spec(folder, name, text):
    (folder / f"{name}.toml").write_text(text)
    return name


# --------------------------------------------------------------------------
# Manifolds
# --------------------------------------------------------------------------


def test_manifolds_of_a_linear_saddle_are_its_eigenvector_lines(catalog_path):
    from biodyn.dynamics import saddle_manifolds

    field = read(_spec(catalog_path, "lin2", LINEAR2))
    ms = saddle_manifolds(field, np.zeros(2), fixed_points=[np.zeros(2)])
    assert sorted((m.kind, m.sign) for m in ms) == [("stable", -1), ("stable", 1),
                                                  ("unstable", -1), ("unstable", 1)]
    # eigenvalue 1 along (1, 0); eigenvalue -1 along (1, -1)/sqrt(2)
    lines = {"unstable": np.array([1.0, 0.0]), "stable": np.array([1.0, -1.0]) / np.sqrt(2)}
    for m in ms:
        v = lines[m.kind]
        P = m.points
        assert len(P) > 50 and m.end == "left the box"
        normal = np.array([-v[1], v[0]])
        assert np.max(np.abs(P @ normal)) < 1e-9          # on the eigenvector's line
        assert np.max(np.abs(P).max(axis=1)) > 1.0         # and followed out of the box
        assert np.all(np.sign(P[1:] @ v) == m.sign)         # each branch on its own side
        np.testing.assert_allclose(abs(m.directions[0] @ v), 1.0, atol=1e-12)
        assert m.eigenvalues[0].real == pytest.approx(1.0 if m.kind == "unstable" else -1.0)


def test_two_dimensional_stable_manifold_of_a_3d_linear_saddle_is_its_eigenplane(catalog_path):
    from biodyn.dynamics import saddle_manifolds

    field = read(_spec(catalog_path, "lin3", LINEAR3))
    ms = saddle_manifolds(field, np.zeros(3), fixed_points=[np.zeros(3)], n_orbits=12)
    (st,) = [m for m in ms if m.kind == "stable"]
    assert st.dimension == 2 and len(st.orbits) == 12
    assert np.max(np.abs(st.points[:, 0])) < 1e-9              # the plane x = 0
    assert np.max(np.abs(st.points[:, 1:])) > 1.0               # spread over it
    un = [m for m in ms if m.kind == "unstable"]
    assert len(un) == 2 and all(m.dimension == 1 for m in un)
    v = np.array([1.0, 0.5, 1.0 / 3.0])
    v /= np.linalg.norm(v)
    for m in un:  # along (1, 1/2, 1/3)
        P = m.points
        assert np.max(np.linalg.norm(P - np.outer(P @ v, v), axis=1)) < 1e-9


def test_duffing_saddle_unstable_manifold_ends_at_the_two_wells():
    from biodyn.dynamics import saddle_manifolds, trajectory

    field = read("duffing", overrides={"gamma": "0"})
    fps = find_fixed_points(field)
    (saddle,) = [p for p in fps if p.type == "saddle"]
    ms = saddle_manifolds(field, saddle, fixed_points=fps)
    ends = sorted(tuple(np.round(fps[m.end_index[0]].state, 6)) for m in ms if m.kind == "unstable")
    assert ends == [(-1.0, 0.0), (1.0, 0.0)]
    assert all(m.end == "fixed point" for m in ms if m.kind == "unstable")
    for m in ms:
        if m.kind == "stable":   # backward in time the stable manifold spirals out of the box
            assert m.end == "left the box"
            # a point on it flows forward to the saddle (before the unstable direction wins)
            p = m.points[len(m.points) // 3]
            _, X = trajectory(field, p, 12.0, 0.001)
            assert np.min(np.linalg.norm(X, axis=1)) < 1e-3


def test_cli_phase_portrait_draws_and_writes_the_saddle_manifolds(tmp_path):
    from biodyn.cli import main

    js = tmp_path / "pp.json"
    assert main(["-q", "analyze", "phase-portrait", "duffing", "--out", str(tmp_path), "--json", str(js)]) == 0
    d = json.loads(js.read_text())
    assert Path(d["files"]["figure"]).exists()
    ms = d["manifolds"]
    assert sorted(m["kind"] for m in ms) == ["stable", "stable", "unstable", "unstable"]
    wells = sorted(d["fixed_points"][m["orbits"][0]["end_index"]]["x"] for m in ms if m["kind"] == "unstable")
    np.testing.assert_allclose(wells, [-1.0, 1.0], atol=1e-9)
    for m in ms:
        assert set(m["orbits"][0]["points"]) == {"x", "y"} and len(m["orbits"][0]["points"]["x"]) > 10
    js2 = tmp_path / "pp2.json"
    assert main(["-q", "analyze", "phase-portrait", "duffing", "--no-manifolds", "--out", str(tmp_path),
                 "--json", str(js2)]) == 0
    assert "manifolds" not in json.loads(js2.read_text())
