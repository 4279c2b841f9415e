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
