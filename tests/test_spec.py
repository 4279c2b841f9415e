"""Specs: every kind of bad input gets one SpecError naming file, key, expected and found."""

import textwrap

import pytest

from biodyn import catalog
from biodyn.errors import SpecError
from biodyn.spec import load_file, parse_quantity

GOOD_NEURON = """
kind = "neuron"
description = "A leaky integrator for tests."
model = '''
dv/dt = (E_L - v) / tau : volt
'''
threshold = "v > v_th"
reset = "v = E_L"
method = "exact"

[parameters]
tau = { unit = "ms", doc = "time constant" }
E_L = "mV"
v_th = "mV"

[citations.test]
authors = "Doe J, Roe R"
year = 2020
journal = "J Tests 1:1-2"

[parameter_sets.default]
citation = "test"
values = { tau = "10 ms", E_L = "-70 mV", v_th = "-50 mV" }
"""


def write(folder, name, text):
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path):
    with pytest.raises(SpecError) as info:
        load_file(path)
    return info.value


def test_good_spec_loads_and_resolves(tmp_path):
    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON))
    resolved = spec.resolve()
    from brian2 import mV, ms

    assert resolved.namespace["tau"] == 10 * ms
    assert resolved.namespace["E_L"] == -70 * mV
    assert resolved.citation.year == 2020


def test_missing_key_is_named(tmp_path):
    text = GOOD_NEURON.replace('description = "A leaky integrator for tests."\n', "")
    err = error_of(write(tmp_path, "nodesc", text))
    assert err.key == "description"
    assert "nodesc.toml" in str(err) and "required" in err.expected and err.found == "nothing"


def test_unknown_key_is_named_with_suggestion(tmp_path):
    text = GOOD_NEURON.replace('threshold = "v > v_th"', 'treshold = "v > v_th"')
    err = error_of(write(tmp_path, "typo", text))
    assert err.key == "treshold"
    assert "unknown key 'treshold'" in err.found
    assert "did you mean 'threshold'" in str(err)


def test_parameter_without_unit_is_rejected(tmp_path):
    text = GOOD_NEURON.replace('tau = "10 ms"', 'tau = "10"')
    err = error_of(write(tmp_path, "nounit", text))
    assert err.key == "parameter_sets.default.values.tau"
    assert "ms" in err.expected and "time" in err.expected
    assert "'10'" in err.found and "dimensionless" in err.found
    assert "10 ms" in str(err)  # the hint shows how to write it


def test_parameter_in_wrong_unit_is_rejected(tmp_path):
    text = GOOD_NEURON.replace('tau = "10 ms"', 'tau = "10 mV"')
    err = error_of(write(tmp_path, "wrongunit", text))
    assert err.key == "parameter_sets.default.values.tau"
    assert "'10 mV'" in err.found and "voltage" in err.found


def test_equation_brian_rejects_is_reported(tmp_path):
    text = GOOD_NEURON.replace("dv/dt = (E_L - v) / tau : volt", "dv/dt = (E_L - v) / tau volt")
    err = error_of(write(tmp_path, "badeq", text))
    assert err.key == "model"
    assert err.expected == "Brian2 equations"
    assert "badeq.toml" in str(err)


def test_unit_mismatch_in_equation_is_reported(tmp_path):
    text = GOOD_NEURON.replace("dv/dt = (E_L - v) / tau : volt", "dv/dt = (E_L - v) : volt")
    err = error_of(write(tmp_path, "mismatch", text))
    assert err.key == "model"
    assert "consistent units" in err.expected
    assert "'v'" in err.found


def test_unit_mismatch_in_reset_is_reported(tmp_path):
    text = GOOD_NEURON.replace('reset = "v = E_L"', 'reset = "v = tau"')
    err = error_of(write(tmp_path, "badreset", text))
    assert err.key == "reset"
    assert "consistent units" in err.expected


def test_unknown_identifier_in_equation_is_reported(tmp_path):
    text = GOOD_NEURON.replace("dv/dt = (E_L - v) / tau : volt", "dv/dt = (E_L - v) / tua : volt")
    err = error_of(write(tmp_path, "unknownid", text))
    assert "unknown 'tua'" in err.found
    assert "did you mean 'tau'" in str(err)


def test_undeclared_parameter_value_is_rejected(tmp_path):
    text = GOOD_NEURON.replace('v_th = "-50 mV" }', 'v_th = "-50 mV", gamma = "1" }')
    err = error_of(write(tmp_path, "undeclared", text))
    assert err.key == "parameter_sets.default.values.gamma"
    assert "declared in [parameters]" in err.expected


def test_unknown_parameter_set_suggests_closest(tmp_path):
    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON))
    with pytest.raises(SpecError) as info:
        spec.resolve("defualt")
    assert "unknown parameter set 'defualt'" in info.value.found
    assert "did you mean 'default'" in str(info.value)
    assert "leaky.toml" in str(info.value)


def test_unknown_model_name_suggests_closest_names():
    with pytest.raises(SpecError) as info:
        catalog.load("stdp_piar")
    assert "unknown model 'stdp_piar'" in str(info.value)
    assert "did you mean 'stdp_pair'" in str(info.value)


def test_toml_syntax_error_names_the_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('kind = "neuron"\ndescription = "x\n')
    err = error_of(path)
    assert err.key == "<toml>" and "broken.toml" in str(err)


def test_unknown_kind_is_rejected(tmp_path):
    text = GOOD_NEURON.replace('kind = "neuron"', 'kind = "nueron"')
    err = error_of(write(tmp_path, "kind", text))
    assert err.key == "kind" and "did you mean 'neuron'" in str(err)


def test_override_in_wrong_unit_is_rejected():
    spec = catalog.load("stdp_pair")
    with pytest.raises(SpecError) as info:
        spec.resolve(overrides={"tau_plus": "16.8"})
    assert info.value.key == "tau_plus" and "'16.8'" in info.value.found


def test_override_of_unknown_parameter_suggests():
    spec = catalog.load("stdp_pair")
    with pytest.raises(SpecError) as info:
        spec.resolve(overrides={"tau_pluss": "16.8 ms"})
    assert "did you mean 'tau_plus'" in str(info.value)


def test_expression_values_follow_overrides():
    spec = catalog.load("stdp_pair")
    resolved = spec.resolve(overrides={"A_plus": "0.01"})
    assert resolved.namespace["A_minus"] == pytest.approx(1.05 * 0.01)


def test_parameter_cycle_is_reported(tmp_path):
    text = GOOD_NEURON.replace('E_L = "-70 mV", v_th = "-50 mV"', 'E_L = "v_th - 20*mV", v_th = "E_L + 20*mV"')
    err = error_of(write(tmp_path, "cycle", text))
    assert "cycle" in err.found


def test_variants_fill_slots_and_unknown_option_is_rejected():
    spec = catalog.load("stdp_pair")
    assert "apre = 1" in spec.code({"pairing": "nearest"})["on_pre"]
    assert "apre += 1" in spec.code()["on_pre"]
    with pytest.raises(SpecError) as info:
        spec.resolve(variants={"pairing": "neerest"})
    assert "did you mean 'nearest'" in str(info.value)


def test_variant_option_with_unused_slot_is_rejected(tmp_path):
    text = GOOD_NEURON + textwrap.dedent('''
        [variants.extra.one]
        nowhere = "v = E_L"
        ''')
    err = error_of(write(tmp_path, "slot", text))
    assert err.key == "variants.extra.one.nowhere"


def test_parse_quantity_reads_units_and_rejects_code():
    from brian2 import mV, ms

    assert parse_quantity("16.8 ms") == 16.8 * ms
    assert parse_quantity("-70.6 mV") == -70.6 * mV
    with pytest.raises(SpecError):
        parse_quantity("__import__('os')")
    with pytest.raises(SpecError):
        parse_quantity("1*ms + 1*mV")


def test_a_unit_may_follow_its_number_directly_but_exponents_stay_numbers():
    from brian2 import Hz, mV, ms, nA

    assert parse_quantity("200ms") == 200 * ms and parse_quantity(".5ms") == 0.5 * ms
    assert parse_quantity("2mV/ms") == 2 * mV / ms and parse_quantity("-3.5nA") == -3.5 * nA
    assert parse_quantity("5e3ms") == 5000 * ms and parse_quantity("10Hz") == 10 * Hz
    assert parse_quantity("2e3") == 2000.0 and parse_quantity("2.5e-3") == 0.0025
    for bad in ("2e", "2e+"):  # not 2 * e (Euler's number)
        with pytest.raises(SpecError):
            parse_quantity(bad)


def test_every_catalog_model_loads_and_resolves_every_set():
    for entry in catalog.entries("models"):
        spec = catalog.load(str(entry.path))
        for name in spec.parameter_sets:
            spec.resolve(name)
        assert spec.description
        for pset in spec.parameter_sets.values():
            assert pset.citation is not None, f"{entry.name}: set {pset.name} has no citation"


def test_synapse_parameter_named_like_a_partner_variable_is_rejected(tmp_path):
    """`theta_post` in synapse code means the postsynaptic `theta` to Brian2: refuse the name."""
    text = '''
kind = "synapse"
description = "Covariance-like rule with a badly named threshold."
model = "w : 1"
on_pre = "w += theta_post"
[parameters]
theta_post = "1"
[citations.t]
authors = "Doe J"
year = 2020
journal = "J Tests 1:1"
[parameter_sets.default]
citation = "t"
values = { theta_post = "0.5" }
'''
    err = error_of(write(tmp_path, "badname", text))
    assert err.key == "parameters.theta_post" and "partner" in str(err)


# --------------------------------------------------------------------------
# Every unit hint biodyn prints is text its parser accepts
# --------------------------------------------------------------------------


def _quoted_hint(message):
    import re

    m = re.search(r"e\.g\. '([^']+)'|spells it '([^']+)'", message)
    assert m, f"no example in the hint: {message}"
    return m.group(1) or m.group(2)


def test_every_unit_hint_for_a_bare_number_parses_back_to_the_number_in_that_unit():
    """`--set A_LTP=1e-4` on clopath_2010 hints '1e-4 1/mV**2'; pasted back, it is accepted.
    Checked for every parameter with a unit of every catalog model, with and without the
    spec's unit (the fallback names the unit as Brian2 builds it)."""
    from brian2.units.fundamentalunits import DIMENSIONLESS

    from biodyn import build, catalog
    from biodyn._quantity import evaluate
    from biodyn.errors import SpecError
    from biodyn.spec import parse_quantity

    checked = 0
    for model in catalog.names("models"):
        spec = catalog.load(model)
        for name, param in spec.parameters.items():
            if param.dim is DIMENSIONLESS:
                continue
            with pytest.raises(SpecError) as info:
                build.resolve(spec, overrides={name: "1e-4"})
            hint = _quoted_hint(str(info.value))
            value = build.resolve(spec, overrides={name: hint}).namespace[name]
            assert float(value / evaluate(param.unit)) == pytest.approx(1e-4), (model, name, hint)
            with pytest.raises(SpecError) as info:  # no unit given: Brian2's unit of the dimension
                parse_quantity("2.5", param.dim, key=name)
            hint = _quoted_hint(str(info.value))
            assert parse_quantity(hint, param.dim, key=name) is not None, (model, name, hint)
            checked += 1
    assert checked > 50


def test_every_unit_spelling_hint_parses_back():
    """'3 mS' -> "Brian2 spells it 'msiemens'": every such hint, pasted back, is accepted."""
    from biodyn._quantity import _LONG_NAMES, units_namespace
    from biodyn.errors import SpecError
    from biodyn.spec import parse_quantity

    units = units_namespace()
    checked = 0
    for short, long in _LONG_NAMES.items():
        for prefix in ("", "m", "u", "n", "p", "k", "M"):
            if prefix + short in units or prefix + long not in units:
                continue
            with pytest.raises(SpecError) as info:
                parse_quantity(f"3 {prefix}{short}", None, key="x")
            value = parse_quantity(f"3 {_quoted_hint(str(info.value))}", None, key="x")
            assert float(value / units[prefix + long]) == pytest.approx(3)
            checked += 1
    assert checked >= 5


def test_a_number_then_a_reciprocal_unit_after_a_space_is_their_product():
    from brian2 import mV, ms

    from biodyn.spec import parse_quantity

    assert float(parse_quantity("1e-4 1/mV**2", None) * mV**2) == pytest.approx(1e-4)
    assert float(parse_quantity("2 1 / ms", None) * ms) == pytest.approx(2)
    assert float(parse_quantity("21/ms", None) * ms) == pytest.approx(21)  # not 2*(1/ms)


def test_misspelt_integration_method_is_rejected_at_load_with_suggestion(tmp_path):
    # issue 11 §3: `method = "eulr"` loaded, then building failed with a 52-line Brian2 traceback
    err = error_of(write(tmp_path, "eulr", GOOD_NEURON.replace('method = "exact"', 'method = "eulr"')))
    assert err.key == "method" and err.found == "'eulr'"
    assert "eulr.toml" in str(err) and "rk4" in err.expected
    assert "did you mean 'euler'" in str(err)


def test_misspelt_method_of_a_population_group_is_rejected_at_load(tmp_path):
    text = """
    kind = "population"
    description = "Two groups for tests."
    [groups.a]
    size = 2
    model = "dx/dt = -x / (10*ms) : 1"
    method = "rk44"
    [groups.b]
    size = 2
    model = "dy/dt = -y / (10*ms) : 1"
    """
    err = error_of(write(tmp_path, "pop", text))
    assert err.key == "groups.a.method" and "did you mean 'rk4'" in str(err)


def test_every_brian2_method_name_is_accepted(tmp_path):
    from biodyn.spec import integration_methods

    assert {"euler", "rk4", "exact", "heun", "milstein"} <= set(integration_methods())
    spec = load_file(write(tmp_path, "heun", GOOD_NEURON.replace('method = "exact"', 'method = "heun"')))
    assert spec.data["method"] == "heun"


def test_readable_quantity_writes_a_value_in_the_prefixed_unit_that_reads_best():
    from brian2 import Hz, mV, ms, nS, second

    from biodyn._quantity import readable_quantity

    assert readable_quantity(2e-5 * second) == "20 µs"
    assert readable_quantity(1 * second) == "1 s"
    assert readable_quantity(0.1 * ms) == "100 µs"
    assert readable_quantity(12345 * ms) == "12.35 s"  # four significant digits
    assert readable_quantity(1.5 * mV) == "1.5 mV"
    assert readable_quantity(3 * nS) == "3 nS"
    assert readable_quantity(0.25 * Hz) == "250 mHz"
    assert readable_quantity(0 * ms) == "0 s"
    assert readable_quantity(2.0) == "2"


def test_readable_text_rewrites_only_what_reads_badly_and_keeps_the_users_numbers():
    from biodyn._quantity import readable_text

    assert readable_text("2e-05 second") == "20 µs"
    assert readable_text("2e-05 * second") == "20 µs"  # the exact_text form
    assert readable_text("100. s") == "100 s"  # Brian2's trailing point
    assert readable_text("20. us") == "20 µs"
    assert readable_text("16.8345 ms") == "16.8345 ms"  # a user's digits are kept
    assert readable_text("0.01 Hz") == "0.01 Hz"
    for text in ("auto", "0.1", "tau", "1e-4 1/mV**2", "1.05*A_plus", "[1, 2]"):
        assert readable_text(text) == text


# -- memos of resolve() and of quantity texts (issue 17: per-point overhead of sweeps) ------


def test_resolving_the_same_point_again_evaluates_no_parameter_text(tmp_path, monkeypatch):
    import biodyn.spec as spec_module

    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON))
    first = spec.resolve(overrides={"tau": "20 ms"})
    calls = []
    real = spec_module.parse_quantity
    monkeypatch.setattr(spec_module, "parse_quantity", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = spec.resolve(overrides={"tau": "20 ms"})
    assert calls == []
    assert dict(again.namespace) == dict(first.namespace)
    assert again.overrides == {"tau": "20 ms"} and again.parameter_set == "default"
    other = spec.resolve(overrides={"tau": "30 ms"})  # other inputs: evaluated
    assert len(calls) == 3
    from brian2 import ms

    assert other.namespace["tau"] == 30 * ms


def test_a_resolved_namespace_is_never_shared_with_a_later_resolve(tmp_path):
    from brian2 import mV, ms

    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON))
    first = spec.resolve()
    first.namespace["tau"] *= 3  # in place, on the quantity itself
    first.namespace["E_L"] = 0 * mV
    again = spec.resolve()
    assert again.namespace["tau"] == 10 * ms and again.namespace["E_L"] == -70 * mV
    assert again.namespace is not first.namespace and again.code is not first.code


def test_a_parameter_set_file_edited_between_two_resolves_gives_its_new_values(tmp_path):
    import os

    from brian2 import ms

    from biodyn import build

    model = write(tmp_path, "leaky", GOOD_NEURON)
    pset = tmp_path / "fitted.toml"
    pset.write_text('inherits = "default"\nvalues = { tau = "12 ms" }\n')
    assert build.resolve(str(model), str(pset)).namespace["tau"] == 12 * ms
    pset.write_text('inherits = "default"\nvalues = { tau = "13 ms" }\n')
    st = pset.stat()
    os.utime(pset, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same mtime: content decides
    assert build.resolve(str(model), str(pset)).namespace["tau"] == 13 * ms


def test_a_model_file_edited_between_two_resolves_gives_its_new_values(tmp_path):
    import os

    from brian2 import ms

    from biodyn import build

    model = write(tmp_path, "leaky", GOOD_NEURON)
    assert build.resolve(str(model)).namespace["tau"] == 10 * ms
    model.write_text(textwrap.dedent(GOOD_NEURON).replace('tau = "10 ms"', 'tau = "11 ms"'))
    st = model.stat()
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert build.resolve(str(model)).namespace["tau"] == 11 * ms
    assert build.resolve(str(model), overrides={"tau": "5 ms"}).namespace["tau"] == 5 * ms


def test_a_model_name_follows_biodyn_path_between_two_resolves(tmp_path, monkeypatch):
    from brian2 import ms

    from biodyn import build

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "m.toml").write_text(textwrap.dedent(GOOD_NEURON))
    (b / "m.toml").write_text(textwrap.dedent(GOOD_NEURON).replace('tau = "10 ms"', 'tau = "14 ms"'))
    try:
        monkeypatch.setenv("BIODYN_PATH", str(a))
        assert build.resolve("m").namespace["tau"] == 10 * ms
        monkeypatch.setenv("BIODYN_PATH", str(b))
        assert build.resolve("m").namespace["tau"] == 14 * ms
    finally:
        catalog.refresh()


def test_a_set_by_name_and_an_external_set_of_that_name_resolve_to_their_own_values(tmp_path):
    from brian2 import ms

    from biodyn.spec import ParameterSet

    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON))
    assert spec.resolve("default").namespace["tau"] == 10 * ms
    mine = ParameterSet("default", {"tau": "15 ms", "E_L": "-70 mV", "v_th": "-50 mV"}, None)
    assert spec.resolve(mine).namespace["tau"] == 15 * ms
    assert spec.resolve(mine).parameter_set_obj is mine
    assert spec.resolve("default").namespace["tau"] == 10 * ms


def test_an_override_of_another_type_is_not_taken_for_an_equal_one(tmp_path):
    spec = load_file(write(tmp_path, "leaky", GOOD_NEURON.replace('tau = { unit = "ms", doc = "time constant" }',
                                                                  'tau = { unit = "ms", doc = "time constant" }\ng = "1"')))
    assert spec.resolve(overrides={"g": 1}).namespace["g"] == 1.0
    with pytest.raises(SpecError):
        spec.resolve(overrides={"g": True})  # a boolean is no quantity, whatever was resolved before


def test_a_quantity_text_evaluates_anew_where_a_name_shadows_a_unit():
    from brian2 import mV, ms

    from biodyn._quantity import evaluate

    assert evaluate("2*ms") == 2 * ms
    assert evaluate("2*ms", {"ms": 5.0}) == 10.0
    assert evaluate("2*ms", {"tau": 5.0}) == 2 * ms
    first = evaluate("3 mV")
    first *= 2  # in place: the next evaluation is not changed
    assert evaluate("3 mV") == 3 * mV
    assert evaluate("ms") is ms  # a unit stays the unit


def test_exact_text_tells_minus_zero_from_zero():
    from brian2 import ms

    from biodyn._quantity import evaluate, exact_text

    for value in (0.0 * ms, -0.0 * ms, 0.0 * ms):
        text = exact_text(value)
        assert float(evaluate(text)) == 0.0
        assert str(float(evaluate(text))).startswith("-") == str(float(value)).startswith("-")
