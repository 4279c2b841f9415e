"""Progress output: the bar of long numpy loops (Lyapunov spectra) and the CLI's quiet flag."""

import io

import pytest

from biodyn._progress import ProgressBar, eta_text
from biodyn.cli import main


def test_bar_text_fraction_and_eta():
    bar = ProgressBar("job", stream=io.StringIO(), width=10)
    bar.start -= 10.0  # ten seconds in
    assert bar.text(0.5).startswith("job [#####.....]  50% eta 10 s")
    assert "done in 10 s" in bar.text(1.0)
    assert (eta_text(30), eta_text(600), eta_text(7200)) == ("30 s", "10 min", "2.0 h")


def test_bar_on_a_log_prints_one_line_per_tenth():
    out = io.StringIO()
    bar = ProgressBar("job", stream=out)
    for k in range(1001):
        bar(k / 1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("job [" + "#" * 30 + "] 100%")


def test_lyapunov_spectrum_reports_increasing_fractions_up_to_one():
    from biodyn.dynamics import lyapunov_spectrum, read

    seen = []
    res = lyapunov_spectrum(read("lorenz"), duration=20.0, dt=0.01, transient=5.0, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and 10 <= len(seen) <= 400
    quiet = lyapunov_spectrum(read("lorenz"), duration=20.0, dt=0.01, transient=5.0)
    assert list(quiet.exponents) == list(res.exponents)  # reporting changes nothing


def test_lyapunov_command_shows_a_bar_unless_quiet(tmp_path, capsys):
    argv = ["analyze", "lyapunov", "lorenz", "--duration", "20", "--out", str(tmp_path)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "lyapunov lorenz (qr) [" in err and "100% done in" in err
    assert main(argv + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_phase_prints_start_elapsed_beats_and_end_without_claiming_a_fraction():
    import time

    from biodyn._progress import Phase

    out = io.StringIO()
    with Phase("cpp_standalone x: running", stream=out, every=0.1):
        time.sleep(0.35)
    lines = out.getvalue().splitlines()
    assert lines[0] == "cpp_standalone x: running ..."
    assert 2 <= sum(ln.endswith("so far") for ln in lines) <= 4
    assert lines[-1].startswith("cpp_standalone x: running: done in 0.")
    assert "%" not in out.getvalue()


def test_phase_says_failed_when_the_step_raises():
    from biodyn._progress import Phase

    out = io.StringIO()
    with pytest.raises(RuntimeError):
        with Phase("compiling", stream=out, every=10):
            raise RuntimeError("make failed")
    assert out.getvalue().splitlines()[-1].startswith("compiling: failed after ")


def test_brian2_text_report_on_numpy_goes_to_stderr_not_stdout(capsys):
    """Brian2's "text" report writes to stdout; biodyn's Simulation sends it to stderr."""
    from brian2 import NeuronGroup, ms

    from biodyn.build import Simulation

    with Simulation("numpy", report="text") as sim:
        G = NeuronGroup(2, "dv/dt = -v / (10*ms) : 1", method="exact")
        sim.run(5 * ms, G)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Starting simulation" in err and "simulated in" in err
