"""The catalog finds specs in BIODYN_PATH folders, entry points and the built-in folders."""

import importlib.metadata
import sys

import pytest

from biodyn import catalog
from biodyn.errors import SpecError

from test_spec import GOOD_NEURON


def test_builtin_models_and_protocols_are_listed():
    models = catalog.names("models")
    assert {"lif", "rate", "stdp_pair"} <= set(models)
    assert "bi_poo_1998" in catalog.names("protocols")
    assert "bi_poo_1998" not in models


def test_biodyn_path_folder_adds_models(catalog_path):
    sub = catalog_path / "nested"
    sub.mkdir()
    (sub / "my_leaky.toml").write_text(GOOD_NEURON)
    assert "my_leaky" in catalog.names("models")
    spec = catalog.load("my_leaky")
    assert spec.kind == "neuron" and spec.resolve().namespace["tau"] is not None
    entry = [e for e in catalog.entries() if e.name == "my_leaky"][0]
    assert entry.source == "BIODYN_PATH"


def test_biodyn_path_shadows_builtin_like_path(catalog_path):
    (catalog_path / "lif.toml").write_text(GOOD_NEURON)
    spec = catalog.load("lif")
    assert "leaky integrator for tests" in spec.description
    entry = [e for e in catalog.entries() if e.name == "lif"][0]
    assert entry.shadowed  # the built-in lif is hidden, and the listing says so


def test_several_biodyn_path_folders_first_wins(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "m.toml").write_text(GOOD_NEURON.replace("A leaky integrator", "First"))
    (b / "m.toml").write_text(GOOD_NEURON.replace("A leaky integrator", "Second"))
    import os

    monkeypatch.setenv("BIODYN_PATH", f"{a}{os.pathsep}{b}")
    catalog.refresh()
    try:
        assert catalog.load("m").description.startswith("First")
    finally:
        catalog.refresh()


def test_spec_path_is_accepted_instead_of_a_name(tmp_path):
    path = tmp_path / "anywhere.toml"
    path.write_text(GOOD_NEURON)
    assert catalog.load(str(path)).name == "anywhere"


def test_entry_point_package_adds_models(tmp_path, monkeypatch):
    """A package that declares the entry-point group `biodyn.catalog` adds its folder."""
    site = tmp_path / "site"
    pkg = site / "extra_models_pkg"
    (pkg / "specs").mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from pathlib import Path\nFOLDER = Path(__file__).parent / 'specs'\n")
    (pkg / "specs" / "plugin_leaky.toml").write_text(GOOD_NEURON)
    dist = site / "extra_models_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-models-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[biodyn.catalog]\nextra = extra_models_pkg:FOLDER\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    catalog.refresh()
    try:
        assert "plugin_leaky" in catalog.names("models")
        entry = [e for e in catalog.entries() if e.name == "plugin_leaky"][0]
        assert entry.source.startswith("entry point extra")
    finally:
        sys.modules.pop("extra_models_pkg", None)
        catalog.refresh()


def test_protocol_name_asked_as_model_says_so():
    with pytest.raises(SpecError) as info:
        catalog.load("bi_poo_1998")
    assert "is a protocol, not a model" in str(info.value)


def test_missing_spec_file_is_reported(tmp_path):
    with pytest.raises(SpecError) as info:
        catalog.load(str(tmp_path / "nope.toml"))
    assert "no such file" in str(info.value)


def test_installed_distribution_ships_models_and_protocols():
    """A plain (non-editable) install must carry models/ and protocols/ inside the package."""
    try:
        files = importlib.metadata.files("biodyn")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("biodyn is not installed in this environment (running from the source tree)")
    names = {str(f).replace("\\", "/") for f in files or []}
    if not any(n.startswith("biodyn/") and n.endswith(".py") for n in names):
        pytest.skip("editable install: the source tree's folders are used")
    assert "biodyn/_data/models/synapses/stdp_pair.toml" in names
    assert "biodyn/_data/protocols/bi_poo_1998.toml" in names
    assert "biodyn/_data/sweeps/stdp_tau_plus.toml" in names  # biodyn list sweeps lists the examples


# -- broken files are never silently dropped (issue 11 §4) -----------------------------------

SYNTAX_ERROR = GOOD_NEURON.replace('method = "exact"', 'method = "exact')  # line 9
DUPLICATE_KEY = GOOD_NEURON.replace('reset = "v = E_L"', 'reset = "v = E_L"\nreset = "v = v_th"')


@pytest.mark.parametrize("text, line, needle", [
    (SYNTAX_ERROR, 9, "'method = \"exact'"),
    (DUPLICATE_KEY, 9, "given twice"),
])
def test_broken_file_named_by_name_raises_its_own_toml_error_with_line_and_column(
        catalog_path, text, line, needle):
    path = catalog_path / "my_broken.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        catalog.load("my_broken")
    msg = str(info.value)
    assert f"my_broken.toml:{line}:" in msg and needle in msg, msg
    assert "unknown" not in msg and "othe" not in msg
    with pytest.raises(SpecError) as info:  # by path: the same error
        catalog.load(str(path))
    assert f"my_broken.toml:{line}:" in str(info.value)


def test_broken_file_is_listed_as_broken_with_its_error(catalog_path):
    (catalog_path / "my_broken.toml").write_text(DUPLICATE_KEY)
    (catalog_path / "no_kind.toml").write_text(GOOD_NEURON.replace('kind = "neuron"', ""))
    (catalog_path / "typo_kind.toml").write_text(GOOD_NEURON.replace('"neuron"', '"nueron"'))
    bad = {e.name: str(e.error) for e in catalog.broken()}
    assert set(bad) == {"my_broken", "no_kind", "typo_kind"}
    assert "no 'kind' key" in bad["no_kind"]
    assert "did you mean 'neuron'?" in bad["typo_kind"]
    assert "my_broken" not in catalog.names("models")


def test_broken_file_on_biodyn_path_hides_the_builtin_of_its_name_with_its_error(catalog_path):
    """A user's edited lif.toml with a typo must not silently give the built-in lif."""
    (catalog_path / "lif.toml").write_text(SYNTAX_ERROR)
    with pytest.raises(SpecError) as info:
        catalog.load("lif")
    assert "lif.toml:9:" in str(info.value)
    with pytest.raises(SpecError) as info:
        catalog.group_of("lif")
    assert "lif.toml:9:" in str(info.value)


def test_model_name_asked_as_protocol_names_its_kind_without_cut_words():
    with pytest.raises(SpecError) as info:
        catalog.find("lif", "protocols")
    msg = str(info.value)
    assert "'lif' is a neuron, not a protocol" in msg, msg


def test_group_of_a_name_and_of_a_path():
    assert catalog.group_of("lif") == "models"
    assert catalog.group_of("bi_poo_1998") == "protocols"
    with pytest.raises(SpecError, match="did you mean 'lif'"):
        catalog.group_of("lfi")


def test_biodyn_lists_and_finds_the_sweeps_shipped_in_examples_by_name(capsys):
    # `biodyn list sweeps` said "(no sweeps found)" while examples/sweeps ships two
    from pathlib import Path

    from biodyn import sweep
    from biodyn.cli import main

    shipped = sorted(p.stem for p in (Path(catalog.__file__).resolve().parent.parent / "examples" / "sweeps")
                     .glob("*.toml"))
    assert shipped and set(shipped) <= set(catalog.names("sweeps"))
    assert main(["list", "sweeps"]) == 0
    out = capsys.readouterr().out
    assert "no sweeps found" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("stdp_tau_plus "))
    assert "job replay" in line and "The STDP window of the additive pair rule" in line
    assert "stdp_tau_plus.toml]" in line  # where the file is, to copy it
    assert sweep.load("stdp_tau_plus").path == catalog.find("stdp_tau_plus", "sweeps")
