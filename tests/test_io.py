"""Results as neo Blocks (PyNN's convention), really written and read in every format."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import quantities as pq

from biodyn import io


def make_block():
    block = io.new_block("demo", "a test block", seed=3, target="numpy", dt="0.1 ms",
                         overrides={"tau": "1 ms"})
    seg = block.segments[0]
    io.add_spiketrains(seg, [np.array([0.1, 0.5]), np.array([0.2])], t_stop=1.0, population="pre")
    io.add_signal(seg, "w", np.linspace(0, 1, 20).reshape(10, 2), sampling_period=0.01,
                  population="synapses")
    return block


def check_block(block):
    seg = block.segments[0]
    trains = io.spiketrains(block, "pre")
    assert [st.annotations["index"] for st in trains] == [0, 1]
    np.testing.assert_allclose(trains[0].rescale(pq.s).magnitude, [0.1, 0.5])
    w = io.signal(block, "w")
    assert w.shape == (10, 2)
    np.testing.assert_allclose(np.asarray(w.magnitude)[:, 1], np.linspace(0, 1, 20)[1::2])
    assert float(w.sampling_period.rescale(pq.s)) == pytest.approx(0.01)
    assert int(block.annotations["seed"]) == 3
    assert len(block.segments) == 1 and seg is block.segments[0]


@pytest.mark.parametrize("fmt", ["pkl", "nix", "nwb"])
def test_block_round_trips_through_every_format(tmp_path, fmt):
    pytest.importorskip({"pkl": "neo", "nix": "nixio", "nwb": "pynwb"}[fmt])
    path = io.write(make_block(), tmp_path / f"demo.{fmt}")
    check_block(io.read(path))


def test_failed_write_leaves_the_old_file_and_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "keep.pkl"
    io.write(make_block(), path)
    before = path.read_bytes()
    import neo

    def broken(self, block):
        with open(self.filename, "wb") as f:
            f.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(neo.io.PickleIO, "write_block", broken)
    with pytest.raises(RuntimeError):
        io.write(make_block(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.pkl"]


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path):
    from biodyn.errors import SpecError

    with pytest.raises(SpecError) as info:
        io.write(make_block(), tmp_path / "x.hdf5")
    assert "pkl" in info.value.expected
    with pytest.raises(SpecError):
        io.read(tmp_path / "missing.pkl")


def test_write_json_is_atomic_and_rejects_nan(tmp_path):
    path = tmp_path / "s.json"
    io.write_json({"a": 1}, path)
    with pytest.raises(ValueError):
        io.write_json({"a": float("nan")}, path)
    assert path.read_text().strip() == '{\n  "a": 1\n}'


# --------------------------------------------------------------------------
# Where a job writes: checked before it runs; its files all or nothing
# --------------------------------------------------------------------------


def unwritable_folder():
    """A folder no one can create files in, root included (permissions do not stop root)."""
    from pathlib import Path

    if not Path("/proc/self").is_dir():  # pragma: no cover - not Linux
        pytest.skip("needs /proc")
    return Path("/proc/self")


@pytest.mark.parametrize("case", ["existing file", "under a file", "read-only folder"])
def test_unwritable_output_folder_is_a_spec_error_naming_the_flag(tmp_path, case):
    from biodyn.errors import SpecError

    (tmp_path / "afile").write_text("x")
    path = {"existing file": tmp_path / "afile", "under a file": tmp_path / "afile" / "sub",
            "read-only folder": unwritable_folder() / "results"}[case]
    with pytest.raises(SpecError) as info:
        io.check_writable(path, "--out", folder=True)
    text = str(info.value)
    assert text.startswith("<command line>: --out: expected a folder biodyn can write to")
    assert str(path) in text and "\n" not in text
    assert not (tmp_path / "afile").is_dir()


def test_writable_paths_pass_and_create_nothing(tmp_path):
    io.check_writable(tmp_path / "new" / "deeper", "--out", folder=True)
    io.check_writable(tmp_path / "x.json", "--json")
    (tmp_path / "old.json").write_text("{}")
    io.check_writable(tmp_path / "old.json", "--json")  # replaced atomically: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # no folder, no probe left
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="an existing folder"):
        io.check_writable(tmp_path, "--json")


def test_files_of_an_interrupted_job_are_none_of_them(tmp_path):
    """all_or_nothing: an interrupt after the first of three files leaves no file at all."""
    (tmp_path / "c.json").write_text('{"old": true}')
    with pytest.raises(KeyboardInterrupt):
        with io.all_or_nothing():
            io.write_json({"a": 1}, tmp_path / "a.json")
            io.write_json({"b": 1}, tmp_path / "b.json")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]  # no temporary file either
    with io.all_or_nothing():
        io.write_json({"a": 1}, tmp_path / "a.json")
        with io.all_or_nothing():  # nested: one group
            io.write_json({"c": 2}, tmp_path / "c.json")
        assert not (tmp_path / "a.json").exists()  # not before the end of the group
    assert json.loads((tmp_path / "c.json").read_text()) == {"c": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "c.json"]


def test_nwb_write_shows_no_warning_about_the_libraries_own_apis(tmp_path):
    """neo calls pynwb.validate positionally: a FutureWarning on every .nwb, nothing a user
    can act on (issue 13 §6: `--format nwb -q` printed it)."""
    pytest.importorskip("pynwb")
    import warnings

    block = make_block()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        io.write(block, tmp_path / "b.nwb")
    api = [w for w in seen if issubclass(w.category, (FutureWarning, DeprecationWarning))
           and any(m in str(w.filename) for m in ("neo", "pynwb", "hdmf"))]
    assert not api, [str(w.message) for w in api]


@pytest.mark.parametrize("code, words", [(None, "'/proc' takes no new files or folders"),
                                         ("EROFS", "is on a read-only file system"),
                                         ("EACCES", "no permission to write in")])
def test_an_unwritable_out_says_in_one_line_flag_path_and_why(tmp_path, monkeypatch, code, words):
    """--out /proc/nope: /proc exists but refuses new files with ENOENT — the message says so,
    not "'/proc': No such file or directory"; read-only and denied folders say theirs."""
    import errno
    import tempfile

    from biodyn.errors import SpecError

    path = Path("/proc/nope")
    if code is not None:
        path = tmp_path / "results"

        def refuse(*a, **k):
            raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    elif not Path("/proc").is_dir():
        pytest.skip("needs /proc")
    with pytest.raises(SpecError) as info:
        io.check_writable(path, "--out", folder=True)
    text = str(info.value)
    assert "--out" in text and repr(str(path)) in text and words in text and "\n" not in text
    assert "No such file or directory" not in text and "cannot be made" in text
