"""biodyn compare NAME: the figure and the JSON (exactly the documented keys, seed and versions,
atomically written), one-line errors, the settings listing; the figure functions draw from the
plain JSON; a compare point through a sweep gives the comparison's known answers per point."""

import json
import textwrap

import numpy as np
import pytest

from biodyn import compare, plot, sweep
from biodyn.cli import main
from biodyn.errors import SpecError


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    code = main(["compare", "hebb_vs_delta", "--set", "inputs=orthonormal", "--set", "duration=1 second",
                 "--seed", "5", "--out", str(out), "--json", str(out / "h.json"), "--quiet"])
    return code, out


def test_cli_writes_the_figure_and_a_json_with_exactly_the_documented_keys(cli_run, capsys):
    code, out = cli_run
    assert code == 0
    assert (out / "hebb_vs_delta.png").stat().st_size > 20_000
    doc = json.loads((out / "h.json").read_text())
    assert tuple(doc) == compare.JSON_KEYS == ("comparison", "seed", "versions", "series", "summary")
    assert doc["comparison"] == "hebb_vs_delta" and doc["seed"] == 5
    assert {"biodyn", "brian2"} <= set(doc["versions"])
    assert doc["summary"]["settings"]["inputs"] == "orthonormal"
    assert doc["summary"]["settings"]["duration"] == "1. s" and doc["summary"]["target"] == "numpy"
    assert doc["summary"]["fixed_point_distance"] < 1e-12       # the known answer survives the JSON
    np.testing.assert_allclose(doc["series"]["alignment"], 1.0, atol=1e-9)
    assert not list(out.glob("*.tmp*"))                        # atomic: no temporary files left


def test_cli_prints_a_verdict_and_the_paths(tmp_path, capsys):
    assert main(["compare", "hebb_vs_delta", "--set", "duration=500 ms", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "hebb_vs_delta (correlated inputs): |C_yx - W_LS|" in text
    assert str(tmp_path / "hebb_vs_delta.png") in text


def test_same_seed_gives_the_same_numbers(cli_run, tmp_path):
    code, out = cli_run
    again = compare.hebb_vs_delta(seed=5, inputs="orthonormal", duration="1 second").to_dict()
    first = json.loads((out / "h.json").read_text())
    np.testing.assert_array_equal(np.asarray(again["series"]["w_bio"]), np.asarray(first["series"]["w_bio"]))
    np.testing.assert_array_equal(np.asarray(again["summary"]["dataset"]["X"]),
                                  np.asarray(first["summary"]["dataset"]["X"]))


@pytest.mark.parametrize("args, needle", [
    (["compare", "oja_vs_backprp"], "did you mean 'oja_vs_backprop'"),
    (["compare", "hebb_vs_delta", "--set", "eta=2"], "give the unit"),
    (["compare", "hebb_vs_delta", "--set", "inputz=orthonormal"], "did you mean 'inputs'"),
    (["compare", "hebb_vs_delta", "--set", "inputs"], "KEY=VALUE"),
    (["compare", "rnn_lyapunov_vs_bptt", "--set", "g=[0.5, -1]"], "positive gains"),
])
def test_cli_errors_are_one_line_and_exit_2(args, needle, capsys, tmp_path):
    assert main(args + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("biodyn: error:") and needle in err and err.count("\n") == 1


def test_settings_listing_shows_every_setting_with_its_default(capsys):
    assert main(["compare", "bcm_vs_gradient", "--settings"]) == 0
    text = capsys.readouterr().out
    for key in compare.COMPARISONS["bcm_vs_gradient"].settings:
        assert key in text
    assert "100 ms" in text and "law_cooper" not in text


def test_settings_listing_checks_and_shows_the_set_values_in_aligned_columns(capsys, tmp_path):
    """`--set hidden=8 --settings` shows hidden 8 (what would run), not the default 32; a typo in
    --set is an error there too; the value column starts at the same place on every line."""
    assert main(["compare", "eprop_vs_bptt", "--set", "hidden=8", "--set", "dynamics_duration=1 s",
                 "--settings"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = {ln.split()[0]: ln for ln in lines}
    assert row["hidden"].split()[1] == "8" and "1 s" in row["dynamics_duration"]
    starts = {len(ln) - len(ln[len(ln.split()[0]):].lstrip()) for ln in lines}
    assert len(starts) == 1
    assert main(["compare", "eprop_vs_bptt", "--set", "hiden=8", "--settings"]) == 2
    assert "did you mean 'hidden'" in capsys.readouterr().err


def test_help_lists_every_comparison(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = capsys.readouterr().out
    for name in ("oja_vs_backprop", "bcm_vs_gradient", "hebb_vs_delta", "rnn_lyapunov_vs_bptt"):
        assert name in text


def test_figure_functions_draw_from_plain_json_and_return_axes(cli_run):
    import matplotlib

    matplotlib.use("Agg")
    _, out = cli_run
    doc = json.loads((out / "h.json").read_text())
    ax = plot.comparison_figure(doc, footer="test")
    assert len(ax.figure.axes) >= 4
    ax2 = plot.compare_alignment(doc)
    assert ax2.get_ylim() == (-1.05, 1.05) and len(ax2.lines) >= 2
    ax3 = plot.compare_projection(doc)
    assert len(ax3.lines) >= 2
    with pytest.raises(ValueError, match="no figure"):
        plot.comparison_figure(dict(doc, comparison="nothing"))


SWEEP = """
kind = "sweep"
description = "Hebb against the delta rule for two kinds of inputs"
seed = 3
[run]
job = "compare"
comparison = "hebb_vs_delta"
settings = {{ duration = "500 ms" }}
figure = false
[grid]
{grid}
"""


def test_compare_points_through_a_sweep_give_each_points_known_answer(tmp_path):
    path = tmp_path / "cmp.toml"
    path.write_text(textwrap.dedent(SWEEP.format(grid='inputs = ["orthonormal", "correlated"]')))
    result = sweep.run(path, out=tmp_path / "out", workers=0)
    assert result.ok, [r.get("error") for r in result.records.values()]
    rows = {r["inputs"]: r for r in result.table()}
    assert float(rows["orthonormal"]["fixed_point_distance"]) < 1e-12
    assert float(rows["orthonormal"]["final_alignment"]) == pytest.approx(1.0, abs=1e-9)
    assert float(rows["correlated"]["fixed_point_distance"]) > 0.3
    for p in result.spec.points:
        doc = json.loads((tmp_path / "out" / "points" / p.name / "compare.json").read_text())
        assert doc["seed"] == p.seed and doc["summary"]["settings"]["inputs"] == p.params["inputs"]


@pytest.mark.parametrize("grid, key, needle", [
    ("inputz = ['orthonormal']", "grid.inputz", "did you mean 'inputs'"),
    ("eta = [2]", "grid.eta", "give the unit"),
])
def test_compare_sweep_checks_every_point_before_running(tmp_path, grid, key, needle):
    path = tmp_path / "cmp.toml"
    path.write_text(textwrap.dedent(SWEEP.format(grid=grid)))
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == key and needle in str(info.value), str(info.value)


def test_unknown_comparison_in_a_sweep_is_a_spec_error(tmp_path):
    path = tmp_path / "cmp.toml"
    path.write_text(textwrap.dedent(SWEEP.format(grid="eta = ['1 Hz']")).replace("hebb_vs_delta", "hebb"))
    with pytest.raises(SpecError) as info:
        sweep.load(path)
    assert info.value.key == "run.comparison"


def test_compare_shows_the_brian2_progress_of_its_learner_on_stderr_unless_quiet(tmp_path, capsys):
    argv = ["compare", "hebb_vs_delta", "--set", "duration=200 ms", "--out", str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "Starting simulation" in err and "simulated in" in err
    assert "Starting simulation" not in out and "hebb_vs_delta (correlated inputs)" in out
    assert main(argv + ["-q"]) == 0
    out_q, err_q = capsys.readouterr()
    assert err_q == "" and out_q == out


def test_a_dry_run_of_a_compare_sweep_refuses_batch_with_the_runs_one_line_error(tmp_path, capsys):
    from biodyn.cli import main

    path = tmp_path / "cmp.toml"
    path.write_text(textwrap.dedent(SWEEP.format(grid='inputs = ["orthonormal", "correlated"]')))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--batch", "4"]) == 2
    run_err = capsys.readouterr().err
    assert "--batch: the 'compare' job runs its points one by one (found --batch 4)" in run_err
    assert main(["sweep", str(path), "--out", str(out), "--batch", "4", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.err == run_err and len(captured.err.strip().splitlines()) == 1
    assert "points" not in captured.out
    assert main(["sweep", str(path), "--out", str(out), "--batch", "1", "--dry-run"]) == 0  # 1: points alone
    assert "2 points" in capsys.readouterr().out
