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

