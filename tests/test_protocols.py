"""The protocol engine: conditions in one run, the closed form of the pair rule, the summary."""

import numpy as np
import pytest

from biodyn import protocols


def closed_form_pair(delta_t_ms, n, A_plus, A_minus, tau_plus_ms, tau_minus_ms):
    """Weight change of n widely separated pairings under the additive pair rule."""
    d = np.asarray(delta_t_ms, float)
    return np.where(d >= 0, n * A_plus * np.exp(-d / tau_plus_ms), -n * A_minus * np.exp(d / tau_minus_ms))


def test_bi_poo_window_matches_closed_form_numpy():
    n = 3
    result = protocols.run("bi_poo_1998", target="numpy", stimulus={"repetitions": n})
    s = result.summary
    dts = np.array([c["labels"]["delta_t"] for c in s["conditions"]])
    assert dts.min() == -100 and dts.max() == 100 and len(dts) == 101
    expected = closed_form_pair(dts, n, 0.005, 1.05 * 0.005, 20.0, 20.0) / 0.5
    np.testing.assert_allclose(result.values, expected, rtol=1e-6)


def test_bi_poo_conditions_are_synapses_of_one_run():
    result = protocols.run("bi_poo_1998", target="numpy", stimulus={"repetitions": 1})
    w = [s for s in result.block.segments[0].analogsignals if s.name == "w"][0]
    assert w.shape[1] == 101  # one channel (synapse) per condition, one Segment (run)
    assert len(result.block.segments) == 1


def test_misspelt_stimulus_key_is_an_error_before_anything_runs():
    # issue 11 §3: `stimulus={"repetition": 1}` (for repetitions) ran 60 pairings per condition
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as info:
        protocols.run("bi_poo_1998", stimulus={"repetition": 1})  # the exact call of the issue
    err = info.value
    assert err.key == "stimulus.repetition" and "did you mean 'repetitions'" in str(err)
    assert "repetitions" in err.expected and "unknown key 'repetition'" in err.found


def test_stimulus_value_of_the_wrong_type_and_input_to_an_engine_without_inputs_are_errors():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="stimulus.pre: expected an array"):
        protocols.check_changes("bi_poo_1998", stimulus={"pre": "0 ms"})
    with pytest.raises(SpecError, match="expected no input") as info:
        protocols.run("bi_poo_1998", target="numpy", inputs={"file": "recording.nix"})
    assert info.value.key == "inputs.file" and "'recording.nix'" in info.value.found
    # a number for a quantity key becomes its text, whose unit is checked against the protocol's
    # own value (a frequency) there already, before anything is built
    with pytest.raises(SpecError, match="stimulus.frequency.*give the unit"):
        protocols.check_changes("bi_poo_1998", stimulus={"frequency": 2})
    with pytest.raises(SpecError, match="give the unit"):
        protocols.run("bi_poo_1998", target="numpy", stimulus={"frequency": 2})


def test_summary_records_everything_that_shaped_the_run_and_reruns_bit_for_bit():
    from biodyn.build import versions

    r = protocols.run("bi_poo_1998", target="numpy", seed=3, stimulus={"repetitions": 1},
                      variants={"pairing": "nearest"}, overrides={"tau_plus": "16.8 ms"},
                      select=[0, 55, 100])
    s = r.summary
    assert s["variants"]["pairing"] == "nearest" and s["stimulus"] == {"repetitions": 1}
    assert s["select"] == [0, 55, 100] and s["versions"] == versions()
    assert set(s["parameters"]) == set(r.resolved.namespace)
    kwargs, notes = protocols.rerun_arguments(s)
    assert notes == []
    again = protocols.run(**kwargs)
    assert np.array_equal(again.values, r.values)
    assert {k: v for k, v in again.summary.items() if k != "sources"} == \
        {k: v for k, v in s.items() if k != "sources"}
    ann = r.block.annotations
    assert '"nearest"' in ann["variants"] and ann["stimulus"] == '{"repetitions": 1}'


@pytest.mark.parametrize("fmt", ["nix", "nwb"])
def test_the_record_survives_nix_and_nwb_as_json_text_annotations(tmp_path, fmt):
    import json

    from biodyn import io

    r = protocols.run("bi_poo_1998", target="numpy", stimulus={"repetitions": 1},
                      variants={"pairing": "nearest"}, select=[0, 100])
    back = io.read(io.write(r.block, tmp_path / f"r.{fmt}")).annotations
    assert json.loads(back["variants"])["pairing"] == "nearest"
    assert json.loads(back["stimulus"]) == {"repetitions": 1}
    assert json.loads(back["parameters"]) == r.summary["parameters"]
    assert json.loads(back["select"]) == [0, 100] and back["seed"] == 0


def test_recorded_parameter_values_read_back_to_the_same_floats_for_every_catalog_set():
    from brian2.units.fundamentalunits import get_dimensions

    from biodyn import catalog
    from biodyn._quantity import evaluate, exact_text

    n = 0
    for name in catalog.names("models"):
        spec = catalog.load(name)
        for pset in spec.parameter_sets:
            for value in spec.resolve(pset).namespace.values():
                back = evaluate(exact_text(value))
                assert float(back) == float(value) and get_dimensions(back) == get_dimensions(value)
                n += 1
    assert n > 200


def test_a_stimulus_change_reaches_the_conditions_that_set_the_key_themselves():
    # clopath_2010's 0.1-Hz conditions set their own repetitions (50); a run's change applies to
    # every condition (spike_pattern engines), and each 0.1-Hz pairing starts from rest under an
    # additive rule: twice the pairings, twice the change
    runs = [protocols.run("clopath_2010", target="numpy", select=lambda labels: labels["frequency"] < 1,
                          stimulus={"repetitions": n}) for n in (1, 2)]
    assert runs[0].summary["stimulus"] == {"repetitions": 1}
    np.testing.assert_allclose(runs[1].values, 2 * runs[0].values, rtol=1e-6, atol=1e-8)


def test_a_stimulus_change_of_the_condition_variable_relabels_the_conditions_with_what_ran():
    # fi_curve's amplitude is its condition column 'current'; `--stimulus amplitude='3 nA'` runs
    # every condition at 3 nA, so labelling them 0, 3 and 4 nA would be false: they are
    # relabelled 3 nA, and a note says which labels the change replaced
    pick = lambda labels: labels["current"] in (0, 3, 4)  # noqa: E731
    short = {"t_off": "450 ms", "duration": "500 ms"}
    changed = protocols.run("fi_curve", target="numpy", select=pick, stimulus={**short, "amplitude": "3 nA"})
    s = changed.summary
    assert [c["labels"] for c in s["conditions"]] == [{"current": 3}] * 3
    assert len(set(changed.values)) == 1 and changed.values[0] > 0  # what 3 nA gives, three times
    assert any("stimulus.amplitude" in n and "current" in n for n in s["notes"])
    plain = protocols.run("fi_curve", target="numpy", select=pick, stimulus=short)
    assert [c["labels"]["current"] for c in plain.summary["conditions"]] == [0, 3, 4]
    assert plain.values[1] == changed.values[0] and "notes" not in plain.summary


def test_a_stimulus_change_of_another_dimension_than_the_protocols_value_is_an_error_up_front():
    """song_2000's input_rate is a frequency (its condition column in Hz): a sweep axis
    stimulus.input_rate = ["10", "20"] made every point fail at run time; check_changes, the one
    place changes are checked, refuses it naming the key. Expressions it cannot evaluate without
    the model (parameter names) are left to the engine."""
    from biodyn.errors import SpecError

    where = {"stimulus": ("sweep.toml", "grid.stimulus.")}
    for bad in ({"input_rate": "10"}, {"duration": "2 Hz"}, {"rate_window": "1"}):
        with pytest.raises(SpecError, match=r"grid\.stimulus\.") as info:
            protocols.check_changes("song_2000", stimulus=bad, where=where)
        assert next(iter(bad)) in str(info.value)
    ok = protocols.check_changes("song_2000", stimulus={"input_rate": "20 Hz", "duration": "2 second",
                                                        "correlation": "0.1"}, where=where)
    assert ok["stimulus"]["input_rate"] == "20 Hz"
    protocols.check_changes("song_2000", stimulus={"input_rate": "2*some_model_rate"})  # not checkable here


# -- protocols read once per content (issue 17: per-point overhead of sweeps) -----------------


def test_a_protocol_file_edited_between_two_loads_is_read_anew(tmp_path):
    import os
    from pathlib import Path

    text = (Path(protocols.__file__).parents[2] / "protocols" / "bi_poo_1998.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text)
    first = protocols.load(str(path))
    again = protocols.load(str(path))
    assert again is not first and again.description == first.description
    again.conditions = ()  # a copy: the next load is not changed
    assert len(protocols.load(str(path)).conditions) == len(first.conditions)
    st = path.stat()
    path.write_text(text.replace("The STDP window (Bi & Poo 1998)", "An edited window"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same mtime: content decides
    assert protocols.load(str(path)).description.startswith("An edited window")


def test_a_protocol_is_validated_again_by_a_newly_registered_engine(tmp_path, monkeypatch):
    from biodyn.errors import SpecError
    from biodyn.protocols import ENGINES

    spec = protocols.load("bi_poo_1998")
    old = ENGINES[spec.engine]

    class Strict(old):
        @classmethod
        def validate(cls, protocol):
            raise SpecError(protocol.file, "engine", "a stricter protocol", "this one")

    monkeypatch.setitem(ENGINES, spec.engine, Strict)
    with pytest.raises(SpecError, match="stricter"):
        protocols.load("bi_poo_1998")
    monkeypatch.setitem(ENGINES, spec.engine, old)
    assert protocols.load("bi_poo_1998").name == "bi_poo_1998"
