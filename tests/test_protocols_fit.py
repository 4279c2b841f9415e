"""biodyn fit: the command's input errors (the fits themselves are in test_protocols_compiled)."""

import pytest

from biodyn import catalog, jobs
from biodyn.cli import main
from biodyn.errors import SpecError


def test_fit_needs_published_data():
    with pytest.raises(SpecError) as info:
        jobs.fit("bi_poo_1998", free=["A_plus"], target="numpy", out=False)
    assert "published data" in str(info.value)


def test_unknown_free_parameter_is_named_with_a_suggestion():
    with pytest.raises(SpecError) as info:
        jobs.fit("sjostrom_2001", free=["A3_plsu"], target="numpy", out=False)
    assert "A3_plsu" in str(info.value) and "A3_plus" in str(info.value)


def test_a_free_parameter_starting_at_zero_needs_bounds():
    with pytest.raises(SpecError) as info:  # A2_plus = 0 in the minimal visual set
        jobs.fit("sjostrom_2001", free=["A2_plus"], target="numpy", out=False)
    assert "--bounds A2_plus=LO:HI" in str(info.value)


def test_bounds_are_parsed_in_the_parameters_unit_or_with_units():
    spec = catalog.load("stdp_triplet")
    b = jobs.parse_bounds(["tau_y=20:300", "A3_plus=0:0.05"], spec, ["tau_y", "A3_plus"])
    assert b == {"tau_y": (20.0, 300.0), "A3_plus": (0.0, 0.05)}
    assert jobs.parse_bounds(["tau_y=20*ms:0.3*second"], spec, ["tau_y"]) == {"tau_y": (20.0, 300.0)}
    for bad, words in (("tau_y=20", "NAME=LO:HI"), ("tau_y=5 mV:1 mV", "ms"), ("tau_y=9:3", "LO < HI"),
                       ("tau_x=1:2", "free parameters")):
        with pytest.raises(SpecError) as info:
            jobs.parse_bounds([bad], spec, ["tau_y"])
        assert words in str(info.value)


def test_fit_command_errors_are_one_line(capsys):
    code = main(["fit", "sjostrom_2001", "--free", "A3_plus", "--bounds", "A3_plus=1", "--target", "numpy"])
    err = capsys.readouterr().err
    assert code == 2 and "NAME=LO:HI" in err and err.strip().count("\n") == 0



def test_fit_command_prints_evaluations_as_progress_on_stderr_and_results_on_stdout(
        monkeypatch, capsys, tmp_path):
    """Each evaluation line is progress (stderr, gone with -q); the fitted values are results."""
    from types import SimpleNamespace

    from biodyn import jobs

    def fake_fit(spec, *, progress, **kwargs):
        progress(1, {"A3_plus": 0.0065}, 1.25)
        progress(2, {"A3_plus": 0.007}, 0.5)
        return SimpleNamespace(evaluations=2, starts=[{}], start_values={"A3_plus": "0.0065"},
                               values={"A3_plus": "0.007"}, chi_before=1.25, chi_after=0.5, n=7,
                               path=tmp_path / "f.toml", figure=tmp_path / "f.png",
                               json=tmp_path / "f.json")

    monkeypatch.setattr(jobs, "fit", fake_fit)
    for quiet in ([], ["-q"]):
        assert main(["fit", "sjostrom_2001", "--free", "A3_plus", *quiet]) == 0
        out, err = capsys.readouterr()
        assert "evaluation" not in out
        assert "A3_plus: 0.0065 -> 0.007" in out and "chi: 1.2500 -> 0.5000" in out
        assert out.splitlines()[-1] == str(tmp_path / "f.json")
        if quiet:
            assert err == ""
        else:
            assert "evaluation 2: A3_plus = 0.007: chi = 0.5000" in err


def test_fit_outputs_record_the_variants_and_stimulus_the_replays_ran_with(tmp_path):
    # issue 11 §2 for fit: the JSON, the figure's line and the fitted set's [fit] table
    import json

    from biodyn import jobs

    r = jobs.fit("sjostrom_2001", free=["A3_plus"], starts=1, max_evaluations=1, target="numpy",
                 stimulus={"repetitions": 2}, variants={"pairing": "nearest"},
                 out=tmp_path / "f.toml")
    doc = json.loads(r.json.read_text())
    assert doc["fit"]["variants"]["pairing"] == "nearest" and doc["fit"]["stimulus"] == {"repetitions": 2}
    assert doc["after"]["stimulus"] == {"repetitions": 2} and "A3_plus" in doc["after"]["parameters"]
    assert "pairing=nearest" in doc["fit"]["footer"] and "repetitions=2" in doc["fit"]["footer"]
    assert "stimulus = { repetitions = 2 }" in (tmp_path / "f.toml").read_text()
