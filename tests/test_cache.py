"""biodyn's cache: the test suite never touches the user's, and `biodyn cache` shows and clears it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from biodyn import build, cache
from biodyn.cli import main


def _default_user_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "biodyn"


def test_tests_build_into_a_temporary_cache_not_the_users():
    import conftest

    here = build.cache_dir().resolve()
    assert here != _default_user_cache().resolve()
    if conftest.USER_CACHE:
        assert here != Path(conftest.USER_CACHE).expanduser().resolve()
    if not os.environ.get("BIODYN_TEST_CACHE"):
        assert Path(here).name.startswith("biodyn-test-cache-")
    # a subprocess (a CLI test) inherits it
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ['BIODYN_CACHE'])"],
                           capture_output=True, text=True, timeout=120)
    assert Path(child.stdout.strip()).resolve() == here


def _fake_cache(root):
    """Two compiled projects of known sizes, a slot lock, and a stray file."""
    a = root / "standalone" / "bi_poo_1998-stdp_pair-1234abcd"
    b = root / "standalone" / "lorenz-lyapunov-99ff00aa"
    for folder, n in ((a, 3000), (b, 1000)):
        (folder / "results").mkdir(parents=True)
        (folder / "main").write_bytes(b"x" * n)
        (folder / "results" / "v").write_bytes(b"y" * 500)
    (root / "standalone" / "slots").mkdir()
    (root / "standalone" / "slots" / "sweep-0.lock").write_text("")
    (root / "stray.txt").write_text("z" * 10)
    return a, b


def test_cache_contents_measures_each_project(tmp_path, monkeypatch):
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    _fake_cache(tmp_path)
    items = {it.name: it for it in cache.contents()}
    assert items["bi_poo_1998-stdp_pair-1234abcd"].kind == "project"
    assert items["bi_poo_1998-stdp_pair-1234abcd"].bytes == 3500
    assert items["lorenz-lyapunov-99ff00aa"].bytes == 1500
    assert items["sweep-0.lock"].kind == "slot lock"
    assert items["stray.txt"].kind == "other" and items["stray.txt"].bytes == 10
    assert sum(it.bytes for it in items.values()) == 5010


def test_biodyn_cache_shows_size_and_projects_on_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    _fake_cache(tmp_path)
    assert main(["cache"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{tmp_path}: 5.0 kB in 2 compiled projects, 1 slot lock, 1 other file or folder"
    assert "bi_poo_1998-stdp_pair-1234abcd" in out and "3.5 kB" in out and "lorenz-lyapunov" in out
    assert err == ""


def test_biodyn_cache_clear_removes_all_with_a_count_and_keeps_what_is_in_use(tmp_path, monkeypatch,
                                                                              capsys):
    fcntl = pytest.importorskip("fcntl")
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    a, b = _fake_cache(tmp_path)
    with open(b / ".biodyn.lock", "a+") as held:  # a build of b runs now
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["cache", "clear"]) == 0
        fcntl.flock(held, fcntl.LOCK_UN)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (f"removed 1 compiled project, 1 slot lock, 1 other file or folder "
                                   f"(3.5 kB) from {tmp_path}")
    assert "kept project lorenz-lyapunov-99ff00aa: in use" in out
    assert not a.exists() and b.exists() and not (tmp_path / "stray.txt").exists()
    assert main(["cache", "clear"]) == 0
    assert capsys.readouterr().out.startswith("removed 1 compiled project (1.5 kB)")
    assert main(["cache"]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path}: empty"


def test_size_text_uses_decimal_units():
    assert cache.size_text(0) == "0 B"
    assert cache.size_text(439_200_000) == "439.2 MB"
    assert cache.size_text(1500) == "1.5 kB"
