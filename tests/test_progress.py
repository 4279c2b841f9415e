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
