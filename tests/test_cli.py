"""The `biodyn` command: listings, one-line errors, and the end-to-end replay."""

import json
import subprocess
import sys

import numpy as np
import pytest

from biodyn.cli import main

from test_protocols import closed_form_pair


def run_cli(*args, cwd=None):
    """Run `python -m biodyn ARGS` in a subprocess: the real command, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "biodyn", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_list_models_and_protocols(capsys):
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "lif" in out and "stdp_pair" in out and "rate" in out
    assert main(["list", "protocols"]) == 0
    assert "bi_poo_1998" in capsys.readouterr().out


def test_show_prints_equations_sets_and_citations(capsys):
    assert main(["show", "stdp_pair"]) == 0
    out = capsys.readouterr().out
    assert "dapre/dt = -apre / tau_plus" in out
    assert "Song S, Miller KD, Abbott LF (2000)" in out and "10.1038/78829" in out
    assert main(["show", "bi_poo_1998"]) == 0
    assert "Bi GQ, Poo MM" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["show", "stdp_piar"], "did you mean 'stdp_pair'"),
    (["replay", "bi_poo_199"], "did you mean 'bi_poo_1998'"),
    (["replay", "bi_poo_1998", "--set", "tau_plus=16.8"], "tau_plus"),
    (["replay", "bi_poo_1998", "--set", "tau_plus"], "NAME=VALUE"),
    (["replay", "bi_poo_1998", "--target", "gpu"], "--target"),
    (["replay", "bi_poo_1998", "--params", "nope"], "unknown parameter set 'nope'"),
    (["replay", "bi_poo_1998", "--variant", "pairing=closest"], "one of all_to_all"),
])
def test_errors_are_one_line_and_exit_2(args, needle, capsys):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("biodyn: error:") and needle in lines[0]
    assert "Traceback" not in err


def test_error_in_a_real_process_is_one_line_without_traceback():
    code, out, err = run_cli("replay", "bi_poo_1998", "--set", "tau_plus=16.8")
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "expected a quantity in ms" in err


def test_help_lists_commands_with_examples():
    code, out, _ = run_cli("--help")
    assert code == 0 and "replay" in out and "example" in out
    code, out, _ = run_cli("replay", "--help")
    assert code == 0 and "--set" in out and "biodyn replay bi_poo_1998" in out


def test_every_command_and_analysis_has_help_with_an_example_of_itself(capsys):
    import argparse

    from biodyn.cli import build_parser

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield path + [name], sub
                    yield from walk(sub, path + [name])

    commands = list(walk(build_parser(), []))
    assert {"replay", "fit", "analyze", "compare", "sweep", "plot", "list", "show", "train"} <= {
        p[0] for p, _ in commands}
    for path, sub in commands:
        assert "example" in (sub.epilog or ""), path
        assert "biodyn " + " ".join(path) in sub.epilog, path  # an example of this very command
        text = sub.format_help()
        assert "--quiet" in text and "--debug" in text, path  # the global flags work here too


@pytest.mark.compiled
def test_replay_end_to_end_matches_closed_form(tmp_path):
    """`biodyn replay bi_poo_1998` writes .pkl/.png/.json; the window equals the pair rule's
    closed form to 1e-6; the .pkl read back with neo holds the weights and spike trains."""
    code, out, err = run_cli("replay", "bi_poo_1998", "--quiet", "--out", str(tmp_path / "res"))
    assert code == 0, err
    res = tmp_path / "res"
    summary = json.loads((res / "bi_poo_1998.json").read_text())
    assert set(summary) == {"protocol", "model", "parameter_set", "overrides", "seed", "target", "dt",
                            "versions", "units", "conditions", "score", "files", "variants",
                            "parameters", "stimulus", "network", "inputs", "select", "record_dt",
                            "sources", "footer"}
    assert summary["files"] == {"block": "bi_poo_1998.pkl", "figure": "bi_poo_1998.png"}
    assert summary["target"] == "cpp_standalone" and summary["seed"] == 0
    assert summary["dt"] == "0.1 ms" and summary["units"] == {"delta_t": "ms"}
    assert summary["score"] == {"chi": None, "n": 0}
    dts = np.array([c["labels"]["delta_t"] for c in summary["conditions"]])
    values = np.array([c["value"] for c in summary["conditions"]])
    w0 = 0.5
    expected = closed_form_pair(dts, 60, 0.005, 1.05 * 0.005, 20.0, 20.0) / w0
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert (res / "bi_poo_1998.png").stat().st_size > 10_000

    import neo
    import quantities as pq

    block = neo.io.PickleIO(str(res / "bi_poo_1998.pkl")).read_block()
    seg = block.segments[0]
    w = [s for s in seg.analogsignals if s.name == "w"][0]
    assert w.shape[1] == len(dts)
    k = int(np.nonzero(dts == 10)[0][0])
    w_final = [s for s in seg.analogsignals if s.name == "w_final"][0]
    assert float(w_final.magnitude[0, k]) == pytest.approx(w0 * (1 + values[k]), rel=1e-12)
    pre = sorted((st for st in seg.spiketrains if st.annotations["population"] == "pre"),
                 key=lambda st: st.annotations["index"])
    post = sorted((st for st in seg.spiketrains if st.annotations["population"] == "post"),
                  key=lambda st: st.annotations["index"])
    assert len(pre) == len(post) == len(dts) and all(len(st) == 60 for st in pre + post)
    lag = (post[k].rescale(pq.ms).magnitude - pre[k].rescale(pq.ms).magnitude)
    np.testing.assert_allclose(lag, 10.0, atol=1e-9)
    assert block.annotations["seed"] == 0 and block.annotations["target"] == "cpp_standalone"

    # a second replay with another parameter value and another format
    code, out, err = run_cli("replay", "bi_poo_1998", "-q", "--set", "tau_plus=16.8 ms",
                             "--format", "nix", "--seed", "3", "--out", str(res))
    assert code == 0, err
    summary = json.loads((res / "bi_poo_1998.json").read_text())
    assert summary["overrides"] == {"tau_plus": "16.8 ms"} and summary["seed"] == 3
    values = np.array([c["value"] for c in summary["conditions"]])
    expected = closed_form_pair(dts, 60, 0.005, 1.05 * 0.005, 16.8, 20.0) / w0
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    assert (res / "bi_poo_1998.nix").exists()


def test_uncaught_biodyn_error_in_a_script_is_not_reported_as_a_brian2_bug(tmp_path):
    """Brian2's excepthook calls every uncaught error a possible Brian 2 bug; a user's typo
    in a biodyn call gets Python's plain traceback with biodyn's one-line message instead."""
    script = tmp_path / "typo.py"
    script.write_text("import biodyn\nbiodyn.load('stdp_piar')\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Brian 2 encountered an unexpected error" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("biodyn.errors.SpecError: catalog: model:")
    assert "did you mean 'stdp_pair'" in proc.stderr


# --------------------------------------------------------------------------
# An output path that cannot be written is found before anything runs
# --------------------------------------------------------------------------


def _no_run(*args, **kwargs):
    raise AssertionError("the simulation/analysis ran before the output path was checked")


@pytest.fixture
def nothing_runs(monkeypatch):
    import biodyn.compare
    import biodyn.flow
    import biodyn.protocols
    from biodyn import dynamics

    monkeypatch.setattr(biodyn.protocols, "run", _no_run)
    monkeypatch.setattr(biodyn.flow, "analyze", _no_run)
    monkeypatch.setattr(biodyn.compare, "run", _no_run)
    monkeypatch.setattr(dynamics, "make_plan", _no_run)


SWEEP_SPEC = """
kind = "sweep"
description = "output check"
seed = 0
[run]
job = "callable"
function = "os:getcwd"
[grid]
x = [1]
"""


@pytest.mark.parametrize("args, flag", [
    (["replay", "bi_poo_1998", "--target", "numpy", "--out", "{file}"], "--out"),
    (["replay", "bi_poo_1998", "--target", "numpy", "--out", "{file}/sub"], "--out"),
    (["replay", "bi_poo_1998", "--target", "numpy", "--out", "{readonly}"], "--out"),
    (["fit", "sjostrom_2001", "--free", "A3_plus", "--target", "numpy", "--out", "{file}/fit.toml"], "--out"),
    (["fit", "sjostrom_2001", "--free", "A3_plus", "--target", "numpy", "--out", "{dir}"], "--out"),
    (["analyze", "flow", "oja_pca", "--out", "{file}"], "--out"),
    (["analyze", "flow", "oja_pca", "--out", "{dir}", "--json", "{file}/flow.json"], "--json"),
    (["analyze", "lyapunov", "lorenz", "--out", "{dir}", "--json", "{dir}"], "--json"),
    (["analyze", "lyapunov", "lorenz", "--out", "{readonly}"], "--out"),
    (["compare", "oja_vs_backprop", "--out", "{file}/sub"], "--out"),
    (["compare", "oja_vs_backprop", "--out", "{dir}", "--json", "{readonly}/c.json"], "--json"),
    (["sweep", "{sweep}", "--workers", "0", "--out", "{file}"], "--out"),
    (["plot", "{sweep}", "--out", "{file}/fig.png"], "--out"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_unwritable_output_is_one_line_exit_2_before_anything_runs(tmp_path, capsys, nothing_runs,
                                                                     args, flag):
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "adir").mkdir()
    sweep_spec = tmp_path / "check.toml"
    sweep_spec.write_text(SWEEP_SPEC)
    names = {"file": str(tmp_path / "afile"), "dir": str(tmp_path / "adir"),
             "readonly": "/proc/self/out", "sweep": str(sweep_spec)}
    args = [a.format(**names) for a in args]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"biodyn: error: <command line>: {flag}: expected a ") and err.count("\n") == 1, err
    assert "internal error" not in err
    assert (tmp_path / "afile").read_text() == "not a folder"
    assert list((tmp_path / "adir").iterdir()) == []


# -- catalog errors surface (issue 11 §4) ----------------------------------------------------

def _broken_catalog(folder):
    from test_catalog import DUPLICATE_KEY, SYNTAX_ERROR
    from test_spec import GOOD_NEURON

    folder.mkdir()
    (folder / "syntax_bad.toml").write_text(SYNTAX_ERROR)
    (folder / "dup_bad.toml").write_text(DUPLICATE_KEY)
    (folder / "unit_bad.toml").write_text(GOOD_NEURON.replace('tau = "10 ms"', 'tau = "10"'))
    return folder


def test_list_names_broken_files_on_stderr_and_keeps_stdout_a_table(tmp_path, monkeypatch):
    folder = _broken_catalog(tmp_path / "specs")
    monkeypatch.setenv("BIODYN_PATH", str(folder))
    code, out, err = run_cli("list")
    assert code == 0
    assert "syntax_bad.toml:9:" in err and "dup_bad.toml:9:" in err, err
    assert "unit_bad" in err and "values.tau" in err and "give the unit" in err, err
    assert "lif" in out and "syntax_bad" not in out and "biodyn: warning" not in out


@pytest.mark.parametrize("name, needle", [
    ("syntax_bad", "syntax_bad.toml:9:"),
    ("dup_bad", "dup_bad.toml:9:"),
    ("unit_bad", "values.tau: expected a quantity in ms"),
])
def test_show_broken_file_by_name_and_by_path_gives_its_real_error(tmp_path, monkeypatch, capsys,
                                                                    name, needle):
    from biodyn import catalog

    folder = _broken_catalog(tmp_path / "specs")
    monkeypatch.setenv("BIODYN_PATH", str(folder))
    catalog.refresh()
    for arg in (name, str(folder / f"{name}.toml")):
        code = main(["show", arg])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert needle in err, err
        assert "protocol" not in err and "othe" not in err and "unknown" not in err, err
        assert len(err.strip().splitlines()) == 1


# -- streams: results on stdout, progress on stderr, -q drops progress only (issue 13 §6) ----

def test_brian2_progress_on_numpy_goes_to_stderr_and_results_to_stdout(tmp_path):
    code, out, err = run_cli("replay", "fi_curve", "--target", "numpy", "--out", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("fi_curve: lif (dayan_abbott_2001) on numpy, 41 conditions")
    assert lines[1:] == [str(tmp_path / f"fi_curve.{ext}") for ext in ("pkl", "png", "json")]
    assert "Starting simulation" in err and "simulated in" in err, err


def test_quiet_drops_progress_but_keeps_the_results(tmp_path):
    argv = ["analyze", "lyapunov", "lorenz", "--duration", "5", "--out", str(tmp_path)]
    code, out_q, err_q = run_cli(*argv, "-q")
    assert code == 0 and err_q == ""
    assert out_q.splitlines()[0].startswith("lorenz (qr): λ = ")  # the exponents, with -q too
    assert out_q.splitlines()[-1] == str(tmp_path / "lorenz_lyapunov.png")
    code, out, err = run_cli(*argv)
    assert code == 0 and out == out_q  # progress changes nothing on stdout
    assert "lyapunov lorenz (qr) [" in err and "100% done" in err


def test_json_dash_is_the_only_thing_on_stdout_for_jq(tmp_path):
    argv = ["analyze", "lyapunov", "lorenz", "--duration", "5", "--out", str(tmp_path), "--json", "-"]
    code, out, err = run_cli(*argv, cwd=tmp_path)
    assert code == 0, err
    doc = json.loads(out)  # stdout is one JSON document, nothing else
    assert doc["model"] == "lorenz" and len(doc["exponents"]) == 3
    assert "json" not in doc["files"]
    assert not (tmp_path / "-").exists()  # no file named '-'
    assert "lorenz (qr): λ = " in err and str(tmp_path / "lorenz_lyapunov.png") in err
    assert "lyapunov lorenz (qr) [" in err  # progress stays on stderr


def _json_commands(parser=None, prefix=()):
    """Every (sub)command of `biodyn` that has a --json option, as argv prefixes."""
    import argparse

    from biodyn.cli import build_parser

    parser = parser or build_parser()
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if any("--json" in a.option_strings for a in sub._actions):
                    found.append(prefix + (name,))
                found += _json_commands(sub, prefix + (name,))
    return found


# cheap arguments for every command that takes --json (a new one must be added here)
JSON_COMMANDS = {
    ("analyze", "lyapunov"): ["henon", "--duration", "200"],
    ("analyze", "fixed-points"): ["henon"],
    ("analyze", "bifurcation"): ["saddle_node", "--param", "r", "--range", "-1", "1"],
    ("analyze", "phase-portrait"): ["van_der_pol", "--trajectories", "1", "--grid", "5",
                                    "--duration", "5"],
    ("analyze", "flow"): ["oja_pca", "--no-simulation"],
    ("analyze", "cycles"): ["van_der_pol"],
    ("analyze", "basins"): ["duffing", "--grid", "9"],
    ("analyze", "lyapunov-function"): ["duffing", "--candidate", "y**2/2 - x**2/2 + x**4/4"],
    ("compare",): ["hebb_vs_delta", "--set", "duration=200 ms"],
    ("train",): ["delayed_copy", "--net", "rnn", "--hidden", "3", "--epochs", "1", "--set", "n_steps=6",
                 "--set", "delay=2"],
    ("analyze", "spectra"): ["sweep", "--ae-steps", "50", "--folds", "2", "--repeats", "1"],  # a fake train sweep
}


def test_every_command_with_json_is_checked_below():
    assert sorted(_json_commands()) == sorted(JSON_COMMANDS)


@pytest.mark.parametrize("command", sorted(JSON_COMMANDS), ids=" ".join)
def test_json_dash_writes_stdout_and_quiet_keeps_results_for_every_command(command, tmp_path,
                                                                         capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if command == ("analyze", "spectra"):
        from test_learn_spectra import fake_sweep

        fake_sweep(tmp_path / "sweep")
    argv = [*command, *JSON_COMMANDS[command], "--out", str(tmp_path), "--json", "-", "-q"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert isinstance(doc, dict) and doc
    assert not (tmp_path / "-").exists()
    figure = [p for p in tmp_path.glob("*.png")]
    assert len(figure) == 1 and str(figure[0]) in err  # the result lines moved to stderr
    if command != ("analyze", "phase-portrait"):  # the portrait's only result is its figure
        assert len(err.strip().splitlines()) >= 2, err


@pytest.mark.slow  # two standalone replays, one compiling from scratch (70-170 s on 2 cores)
@pytest.mark.compiled
def test_cpp_standalone_progress_on_stderr_and_code_identical_with_or_without_it(tmp_path):
    """Compiling and running a standalone replay show elapsed-time lines on stderr; the
    generated code is the same with and without progress (-q), so nothing recompiles."""
    import hashlib
    import os
    from pathlib import Path

    env_cache = tmp_path / "cache"
    env = {**os.environ, "BIODYN_CACHE": str(env_cache)}

    def run(*extra):
        proc = subprocess.run([sys.executable, "-m", "biodyn", "replay", "fi_curve", "--target",
                               "cpp_standalone", "--out", str(tmp_path / "res"), *extra],
                              capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0, proc.stderr
        project = next((env_cache / "standalone").glob("fi_curve-*"))
        code = {p.relative_to(project): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(project.rglob("*.cpp")) + sorted(project.rglob("*.h"))}
        # Brian2 writes the clocks' initialisation in main.cpp in the order of a set of clocks
        # hashed by id, which differs between processes: compare main.cpp's lines as a multiset
        code[Path("main.cpp")] = sorted((project / "main.cpp").read_text().splitlines())
        return proc.stdout, proc.stderr, code

    out, err, code = run()
    for phase in ("generating code and compiling ...", "generating code and compiling: done in",
                  "running ...", "running: done in"):
        assert phase in err, err
    assert out.splitlines()[0].startswith("fi_curve: lif (dayan_abbott_2001) on cpp_standalone")
    assert len(out.splitlines()) == 4 and "done in" not in out
    out_q, err_q, code_q = run("-q")
    assert err_q == "" and out_q == out
    assert code_q == code and code


@pytest.mark.parametrize("args, needle", [
    # issue 11 §3: each exited 0 or ended in an internal error
    (["analyze", "flow", "stdp_correlated_asymmetric", "--no-simulation", "--stimulus", "foo=bar"],
     "<command line>: --stimulus foo: expected one of the keys delays, duration"),
    (["replay", "bi_poo_1998", "--target", "numpy", "--stimulus", "repetition=1"],
     "did you mean 'repetitions'"),
    (["replay", "bi_poo_1998", "--target", "numpy", "--input", "recording.nix"],
     "<command line>: --input: expected no input (protocol bi_poo_1998, engine spike_pattern"),
    (["fit", "sjostrom_2001", "--free", "A3_plus", "--stimulus", "repetition=1"],
     "did you mean 'repetitions'"),
    # a list value parses; three patterns with the spec's two probabilities is a clear error
    (["analyze", "flow", "bcm_selectivity", "--no-simulation", "--stimulus",
      "patterns=[[1,0,0],[0,1,0],[0,0,1]]"], "stimulus.probabilities: expected 3 probabilities"),
])
def test_stimulus_and_input_mistakes_are_one_line_errors_before_running(args, needle, capsys, tmp_path):
    assert main(args + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "internal error" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_stimulus_values_are_read_as_toml():
    from biodyn.cli import parse_stimulus

    assert parse_stimulus(["patterns=[[1,0,0],[0,1,0]]", "repetitions=5", "duration=20 second",
                           "angle='30'", "share=0.5", "rates=['10 Hz', '20 Hz']"]) == {
        "patterns": [[1, 0, 0], [0, 1, 0]], "repetitions": 5, "duration": "20 second",
        "angle": "30", "share": 0.5, "rates": ["10 Hz", "20 Hz"]}


def test_list_valued_stimulus_runs_the_flow_analysis(tmp_path, capsys):
    assert main(["analyze", "flow", "bcm_selectivity", "--no-simulation", "-q", "--stimulus",
                 "patterns=[[1,0],[0,1]]", "--stimulus", "probabilities=[0.5, 0.5]",
                 "--out", str(tmp_path), "--json", str(tmp_path / "f.json")]) == 0
    doc = json.loads((tmp_path / "f.json").read_text())
    assert doc["stimulus"] == {"patterns": [[1, 0], [0, 1]], "probabilities": [0.5, 0.5]}


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_replay_records_variant_stimulus_and_params_file_values_and_reruns_from_its_json(
        tmp_path, capsys):
    """issue 11 §2: `--variant pairing=nearest` appeared nowhere in the outputs, `--stimulus`
    was lost and `--params FILE` recorded by name only. Every output records them now, and
    `biodyn replay --from X.json` reruns the result: equal numbers on numpy, even after the
    parameter file has been edited (the values come from the record)."""
    import neo

    params = tmp_path / "mine.toml"
    params.write_text('model = "stdp_pair"\ninherits = "song_2000"\nvalues = { A_plus = "0.0061" }\n')
    first = tmp_path / "first"
    assert main(["replay", "bi_poo_1998", "-q", "--target", "numpy", "--variant", "pairing=nearest",
                 "--stimulus", "repetitions=2", "--params", str(params), "--set", "tau_plus=16.8 ms",
                 "--format", "nix", "--seed", "4", "--out", str(first)]) == 0
    s = json.loads((first / "bi_poo_1998.json").read_text())
    assert s["variants"] == {"pairing": "nearest", "weight": "additive", "coincidence": "biodyn"}
    assert s["stimulus"] == {"repetitions": 2} and s["overrides"] == {"tau_plus": "16.8 ms"}
    assert s["parameters"]["A_plus"] == "0.0061" and s["parameters"]["tau_plus"] == "16.8 ms"
    assert s["parameters"]["tau_minus"] == "20.0 ms"  # inherited from song_2000
    assert s["sources"]["parameter_set"]["path"] == str(params.resolve())
    assert len(s["sources"]["parameter_set"]["sha256"]) == 64
    assert (s["seed"], s["target"], s["dt"]) == (4, "numpy", "0.1 ms") and "brian2" in s["versions"]
    # the closed form of the nearest-neighbour pair rule: 2 pairings each
    dts = np.array([c["labels"]["delta_t"] for c in s["conditions"]])
    values = np.array([c["value"] for c in s["conditions"]])
    np.testing.assert_allclose(values, closed_form_pair(dts, 2, 0.0061, 1.05 * 0.0061, 16.8, 20.0) / 0.5,
                               rtol=1e-6)
    # the figure's line and the NIX annotations
    assert "pairing=nearest" in s["footer"] and "repetitions=2" in s["footer"]
    io = neo.io.NixIO(str(first / "bi_poo_1998.nix"), mode="ro")
    try:
        ann = io.read_block().annotations
    finally:
        io.close()
    assert json.loads(ann["variants"])["pairing"] == "nearest"
    assert json.loads(ann["stimulus"]) == {"repetitions": 2}
    assert json.loads(ann["parameters"])["A_plus"] == "0.0061"

    params.write_text('model = "stdp_pair"\ninherits = "song_2000"\nvalues = { A_plus = "0.009" }\n')
    capsys.readouterr()
    assert main(["replay", "--from", str(first / "bi_poo_1998.json"), "-q", "--out",
                 str(tmp_path / "again")]) == 0
    assert "mine.toml changed since the result was written" in capsys.readouterr().err
    r = json.loads((tmp_path / "again" / "bi_poo_1998.json").read_text())
    assert np.array_equal([c["value"] for c in r["conditions"]], values)  # bit for bit
    for key in ("model", "parameter_set", "overrides", "variants", "parameters", "stimulus", "seed",
                "target", "dt", "footer"):
        assert r[key] == s[key], key
    assert (tmp_path / "again" / "bi_poo_1998.nix").exists()  # the recorded format


@pytest.mark.parametrize("args, needle", [
    (["replay", "bi_poo_1998", "--from", "x.json"], "--from: expected only --out, --format and --target"),
    (["replay", "--from", "x.json", "--set", "tau_plus=1 ms"], "found --set"),
    (["replay", "--from", "no_such.json"], "no_such.json: <file>: expected a result JSON"),
    (["replay"], "PROTOCOL: expected a protocol name or spec path, or --from RESULT.json"),
])
def test_replay_from_refuses_what_it_would_ignore(args, needle, capsys):
    assert main(args) == 2
    assert needle in capsys.readouterr().err


def test_replay_from_an_old_json_without_its_record_says_why(tmp_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"protocol": "bi_poo_1998", "model": "stdp_pair", "seed": 0,
                               "target": "numpy", "conditions": []}))
    assert main(["replay", "--from", str(old)]) == 2
    err = capsys.readouterr().err
    assert "old.json: parameters: expected a result JSON written by biodyn replay" in err


def test_provenance_line_names_every_change_and_the_digest_of_the_values():
    from biodyn.jobs import provenance_line
    from biodyn.jobs._base import values_digest

    s = {"model": "stdp_pair", "parameter_set": "/x/mine.toml", "variants": {"pairing": "nearest"},
         "overrides": {"tau_plus": "16.8 ms"}, "stimulus": {"pre": ["0 ms"], "repetitions": 2},
         "parameters": {"tau_plus": "16.8 ms", "A_plus": "0.005"}, "seed": 1, "target": "numpy",
         "dt": "0.1 ms", "versions": {"biodyn": "0.1.0", "brian2": "2.9.0"}}
    line = provenance_line(s)
    for text in ("stdp_pair/mine.toml", "pairing=nearest", "set tau_plus=16.8 ms",
                 'stimulus pre=["0 ms"], repetitions=2', "seed 1, numpy, dt 0.1 ms", "brian2 2.9.0",
                 f"#{values_digest(s['parameters'])}"):
        assert text in line.replace("\n", " · "), text
    assert all(len(part) <= 110 for part in line.split("\n"))
    assert values_digest({"A_plus": "0.005", "tau_plus": "16.8 ms"}) == values_digest(s["parameters"])
    assert values_digest({"tau_plus": "16.9 ms", "A_plus": "0.005"}) != values_digest(s["parameters"])


def test_sweep_prints_the_path_of_its_figure_with_its_table(tmp_path, capsys):
    """Results (file paths) go to stdout: `biodyn sweep` prints summary.csv AND summary.png,
    the figure it writes (README, Streams)."""
    (tmp_path / "twice.py").write_text("def point(params, seed, out):\n"
                                       "    return {'y': 2 * params['x']}\n")
    spec = tmp_path / "twice.toml"
    spec.write_text('kind = "sweep"\ndescription = "paths"\nseed = 0\n[run]\njob = "callable"\n'
                    'function = "twice.py:point"\n[grid]\nx = [1, 2]\n')
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--workers", "0", "--out", str(out), "-q"]) == 0
    lines = capsys.readouterr().out.split()
    assert (out / "summary.png").exists()
    assert lines == [str(out / "summary.csv"), str(out / "summary.png")]


def test_bifurcation_prints_cycle_periods_with_their_time_unit(monkeypatch, capsys):
    """A cycle bifurcation's period is printed with a unit (as `analyze cycles` does), in ms
    for a model whose time unit is the second: `period 17.1585 ms`, never a bare number
    (Hodgkin-Huxley printed `period 0.0171585`, read as ms by a user, then
    `period 0.0171585 1 second`)."""
    from biodyn import jobs
    from biodyn.jobs._base import JobResult

    summary = {"param": "I", "param_unit": "amp / (meter ** 2)", "range": [0.05, 0.12],
               "time_unit": "1 second", "units": {}, "points": [], "branches": [[]],
               "cycle_points": [{"type": "period_doubling", "value": 0.0784534, "period": 0.0171585}]}
    monkeypatch.setattr(jobs, "analyze_bifurcation", lambda *a, **k: JobResult(summary, {}))
    assert main(["analyze", "bifurcation", "hodgkin_huxley", "--param", "I", "--range", "5", "12"]) == 0
    out = capsys.readouterr().out
    assert "I = 0.0784534 amp / (meter ** 2)   (period 17.1585 ms)" in out


@pytest.mark.parametrize("command", [["analyze", "lyapunov", "lorenz", "--duration", "1"],
                                     ["replay", "bi_poo_1998", "--target", "numpy"],
                                     ["compare", "oja_vs_backprop"], ["train", "flipflop_3bit"]])
def test_negative_seed_is_a_usage_error_naming_seed_before_anything_runs(command, capsys):
    """numpy's generators take seeds >= 0: `--seed -1` was an internal error after the
    model was read (lorenz) or recorded as seed -1 (replay); now exit 2 naming --seed."""
    with pytest.raises(SystemExit) as info:
        main([*command, "--seed", "-1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "non-negative integer" in err and "'-1'" in err


def test_replay_replicates_run_seeds_as_copies_of_one_run_each_equal_to_its_own_replay(
        tmp_path, capsys, monkeypatch):
    """--replicates 3 --seed 5: seeds 5, 6, 7 batched in one Brian2 run, each written to its
    own folder, each equal to the replay of that seed alone (issue 17)."""
    from biodyn import protocols
    from biodyn.protocols import _engine

    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2**20)  # room for 4 copies, any machine

    stim = ["--stimulus", "duration=0.1 second", "--stimulus", "rate_window=0.1 second"]
    assert main(["replay", "song_2000", "--target", "numpy", "--replicates", "3", "--seed", "5",
                 "--out", str(tmp_path), *stim]) == 0
    out = capsys.readouterr().out
    assert "3 replicates (seeds 5..7) as copies of one Brian2 run (batch of 3)" in out
    # what the numbers are, with units: the labels' units and the observable's label (song_2000's
    # rate_window is changed here, so the label must not say "the last 10 s")
    assert "input_rate=10 Hz, correlation=0:" in out and "input_rate=10," not in out
    assert "output rate over the final rate_window (Hz), mean ± s.d. over the 3 replicates" in out
    for copy, seed in enumerate((5, 6, 7)):
        summary = json.loads((tmp_path / f"seed_{seed}" / "song_2000.json").read_text())
        assert summary["seed"] == seed and summary["batch"] == {"size": 3, "copy": copy}
        if seed == 6:  # a copy in the middle of the batch, against its replay alone
            alone = protocols.run("song_2000", target="numpy", seed=seed,
                                  stimulus={"duration": "0.1 second", "rate_window": "0.1 second"})
            assert [c["value"] for c in summary["conditions"]] == alone.values.tolist()


def test_replay_replicates_must_be_positive_and_not_with_from(capsys):
    assert main(["replay", "bi_poo_1998", "--replicates", "0"]) == 2
    assert "--replicates: expected a number of replicates >= 1" in capsys.readouterr().err
    assert main(["replay", "--from", "x.json", "--replicates", "2"]) == 2
    assert "--replicates" in capsys.readouterr().err


def _small_song(tmp_path):
    """song_2000 with a small network (100 inputs at g_max x10, 20 inhibitory): a copy of the
    protocol file, as its notes tell users to make one (the CLI has no --network)."""
    from biodyn import protocols

    text = protocols.load("song_2000").path.read_text()
    for old, new in (("n_inputs = 1000", "n_inputs = 100"), ("correlated_inputs = 200", "correlated_inputs = 20"),
                     ("n_inhibitory = 200", "n_inhibitory = 20"), ('g_max = "0.015"', 'g_max = "0.15"'),
                     ('initial_weights = "uniform"', 'initial_weights = "1"')):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "song_small.toml"
    path.write_text(text)
    return path


def test_unsettled_line_names_each_unsettled_condition_with_its_reason_in_one_line():
    from biodyn.cli.cmd_replay import unsettled_line

    conds = [{"labels": {"input_rate": r, "correlation": 0}, "value": v, "settled": ok,
              "settling": {"reason": why}}
             for r, v, ok, why in ((10, 1.7, False, "2.5 then 1.7 Hz: too few spikes to tell"),
                                   (20, 21.2, True, "agree"), (40, 16.6, False, "falling"))]
    s = {"conditions": conds, "units": {"input_rate": "Hz", "correlation": "1"}, "unsettled": [0, 2]}
    line = unsettled_line(s)
    assert "\n" not in line and line.startswith("NOT SETTLED in the run (2 of 3 conditions")
    assert "[0] input_rate=10 Hz, correlation=0: 2.5 then 1.7 Hz: too few spikes to tell" in line
    assert "[2] input_rate=40 Hz, correlation=0: falling" in line and "input_rate=20" not in line
    assert unsettled_line({**s, "unsettled": []}) is None and unsettled_line({"conditions": []}) is None


@pytest.mark.slow  # two numpy runs, 5-7 s on a loaded machine
def test_replay_select_runs_those_conditions_and_names_the_unsettled_ones(tmp_path, capsys):
    """`--select 1` runs the 20 Hz condition alone; with pure depression (A+ = 0) its rate
    halves within the 1-s run: one stdout line says NOT SETTLED and names it, and the JSON
    records select, settled/settling and unsettled."""
    path = _small_song(tmp_path)
    assert main(["replay", str(path), "--select", "1", "-q", "--target", "numpy", "--set", "A_plus=0",
                 "--set", "A_minus=0.005", "--stimulus", "duration='1 second'",
                 "--stimulus", "rate_window='0.5 second'", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if "NOT SETTLED" in line]
    assert len(lines) == 1 and "[0] input_rate=20 Hz, correlation=0: " in lines[0] and "falling" in lines[0]
    assert "NOT SETTLED" not in captured.err  # said once
    s = json.loads((tmp_path / "song_small.json").read_text())
    assert s["select"] == [1] and [c["labels"]["input_rate"] for c in s["conditions"]] == [20]
    c = s["conditions"][0]
    assert c["settled"] is False and s["unsettled"] == [0]
    assert c["settling"]["rate_hz"] == c["value"] and c["settling"]["rate_before_hz"] > 1.5 * c["value"]


def test_replay_from_reruns_the_recorded_selection(tmp_path):
    """The JSON of `--select 2,0` records [2, 0]; `--from` runs those conditions again and
    its own JSON records them too (it recorded none before: a rerun of the rerun ran all)."""
    assert main(["replay", "bi_poo_1998", "--select", "2,0", "-q", "--target", "numpy",
                 "--stimulus", "repetitions=1", "--out", str(tmp_path / "a")]) == 0
    s = json.loads((tmp_path / "a" / "bi_poo_1998.json").read_text())
    assert s["select"] == [2, 0] and len(s["conditions"]) == 2
    assert main(["replay", "--from", str(tmp_path / "a" / "bi_poo_1998.json"), "-q",
                 "--out", str(tmp_path / "b")]) == 0
    r = json.loads((tmp_path / "b" / "bi_poo_1998.json").read_text())
    assert r["select"] == [2, 0] and r["conditions"] == s["conditions"]


@pytest.mark.parametrize("select, needle", [
    ("4", "--select: expected condition indices in 0..3 (the protocol song_2000 has 4 conditions), "
          "found 4; the conditions are 0: input_rate=10, correlation=0;"),
    ("0,x", "--select: expected condition indices 0..3 (or label=value), found 'x'"),
    ("rate=10", "did you mean 'input_rate'"),
    ("input_rate=15", "expected a value of input_rate that a condition has (10, 20, 40), found 'input_rate=15'"),
])
def test_replay_select_errors_name_the_flag_value_and_range_before_any_work(select, needle, capsys,
                                                                            monkeypatch):
    from biodyn import protocols

    monkeypatch.setattr(protocols, "run", lambda *a, **k: pytest.fail("ran before the check"))
    assert main(["replay", "song_2000", "--select", select]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "<command line>: --select: " in err and needle in err


def test_select_by_label_names_every_condition_with_that_value():
    from biodyn import protocols

    spec = protocols.load("song_2000")
    assert spec.selection(["input_rate=10"]) == [0, 3]
    assert spec.selection(["2", "input_rate=20", "2"]) == [2, 1]  # in the items' order, no repeats
    assert spec.selection(["correlation=0.2"]) == [3]


def test_replay_replicates_are_sized_to_the_cache_as_a_sweeps_batches_not_all_in_one_run(
        tmp_path, capsys, monkeypatch):
    """--replicates R put all R copies in one run whatever R (64 song_2000 copies of 100 s:
    about 4 GB); now sized as a sweep's batch = "auto" (memory, one core's L2 cache) in runs
    of equal shares: with room for 2 copies, 3 replicates run as 2 runs (2 + 1, not 1 run of
    3), each replicate still its own replay's numbers; --batch N sets it by hand."""
    from biodyn import protocols
    from biodyn.protocols import _engine

    monkeypatch.setattr(_engine, "cache_bytes", lambda: 2.5 * 256e3)  # 2 song_2000 copies
    stim = ["--stimulus", "duration=0.05 second", "--stimulus", "rate_window=0.05 second"]
    assert main(["replay", "song_2000", "--target", "numpy", "--replicates", "3", "--seed", "5",
                 "--out", str(tmp_path / "a"), "-q", *stim]) == 0
    out = capsys.readouterr().out
    assert "3 replicates (seeds 5..7) as copies of 2 Brian2 runs (batches of 2 at most" in out
    batches = [json.loads((tmp_path / "a" / f"seed_{s}" / "song_2000.json").read_text())["batch"]
               for s in (5, 6, 7)]
    assert batches[0] == {"size": 2, "copy": 0} and batches[1] == {"size": 2, "copy": 1}
    last = json.loads((tmp_path / "a" / "seed_7" / "song_2000.json").read_text())
    alone = protocols.run("song_2000", target="numpy", seed=7,
                          stimulus={"duration": "0.05 second", "rate_window": "0.05 second"})
    assert [c["value"] for c in last["conditions"]] == alone.values.tolist()
    assert main(["replay", "song_2000", "--target", "numpy", "--replicates", "2", "--batch", "1",
                 "--out", str(tmp_path / "b"), "-q", *stim]) == 0
    assert "2 replicates (seeds 0..1) one run each (--batch 1)" in capsys.readouterr().out


def test_replay_batch_flag_needs_replicates_and_a_size(capsys):
    assert main(["replay", "bi_poo_1998", "--batch", "2"]) == 2
    assert "--batch: expected --replicates R too" in capsys.readouterr().err
    assert main(["replay", "bi_poo_1998", "--replicates", "2", "--batch", "0"]) == 2
    assert "--batch: expected 'auto' or a number of replicates per run >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("value, error, shown", [
    (0.006502356289142985, 0.00069, ("0.00650", "0.00069")),   # the fit's example
    (0.123456, 0.00095, ("0.12346", "0.00095")),                # 2 digits: 0.00095 stays
    (0.123456, 0.000995, ("0.1235", "0.0010")),                 # rounds up a decade: 0.0010, not 0.001
    (-0.0065023, 0.00069, ("-0.00650", "0.00069")),             # negative
    (-1e-5, 0.0069, ("0.0000", "0.0069")),                      # below the error's place: no "-0.0000"
    (300.0, 12.0, ("300", "12")),
    (12345.6, 123.0, ("12350", "120")),
    (1234567.891, 0.012, ("1234567.891", "0.012")),             # many digits, all supported
    (6.5023e-9, 6.9e-10, ("6.50e-9", "0.69e-9")),               # very small: one shared exponent
    (1.23456789e9, 1.234e6, ("1.2346e9", "0.0012e9")),          # very large with place-filling zeros
    (1e300, 1e-300, ("1e+300", "1.0e-300")),                    # finer than a double: value in full
    (0.006502356289142985, float("nan"), ("0.006502356289142985", None)),
    (0.006502356289142985, float("inf"), ("0.006502356289142985", None)),
    (0.006502356289142985, None, ("0.006502356289142985", None)),
    (0.006502356289142985, 0.0, ("0.006502356289142985", None)),
])
def test_round_to_uncertainty_gives_two_significant_digits_and_the_value_to_the_same_place(
        value, error, shown):
    from biodyn.cli._output import round_to_uncertainty

    assert round_to_uncertainty(value, error) == shown
