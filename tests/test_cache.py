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


# -- the object cache (biodyn/_objcache.py), issue 17 ----------------------------------------------

needs_gxx = pytest.mark.skipif(not __import__("shutil").which("g++"), reason="needs g++")

SHARED = '#include "lib.h"\nint twice(int x) { return LIB_FACTOR * x; }\n'


def _project(folder, own):
    folder.mkdir(parents=True)
    (folder / "shared.cpp").write_text(SHARED)
    (folder / "lib.h").write_text("#define LIB_FACTOR 2\n")
    (folder / "own.cpp").write_text(own)
    return folder


def _cc(store, folder, source, *flags):
    """Compile ``source`` in ``folder`` as a standalone makefile does, through the wrapper."""
    script = Path(build.__file__).with_name("_objcache.py")
    cmd = [sys.executable, "-I", "-S", str(script), str(store), "g++", "-c", "-O2", *flags, "-I.",
           source, "-o", source.replace(".cpp", ".o")]
    subprocess.run(cmd, cwd=folder, check=True, timeout=120)
    return (folder / source.replace(".cpp", ".o")).read_bytes()


def _log(store, field=0):
    return [line.split()[field] for line in (store / "log").read_text().splitlines()]


def _deps(store, folder, *sources):
    """make.deps as Brian2's makefile makes it (``$(CXX) $(CXXFLAGS) -MM $(SRCS)``), through the
    wrapper (which splits it over the cores)."""
    script = Path(build.__file__).with_name("_objcache.py")
    out = subprocess.run([sys.executable, "-I", "-S", str(script), str(store), "g++", "-c", "-O2", "-I.",
                          "-MM", *sources], cwd=folder, check=True, timeout=120, capture_output=True)
    (folder / "make.deps").write_bytes(out.stdout)
    return out.stdout


@needs_gxx
def test_object_cache_reuses_a_source_two_projects_share_byte_for_byte(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", "int f() { return 1; }\n")
    b = _project(tmp_path / "b", "int g() { return 2; }\n")
    first = _cc(store, a, "shared.cpp")
    _cc(store, a, "own.cpp")
    assert _log(store) == ["miss", "miss"]
    again = _cc(store, b, "shared.cpp")  # another project, the same source: reused
    _cc(store, b, "own.cpp")  # its own source: compiled
    assert _log(store) == ["miss", "miss", "hit", "miss"]
    assert again == first
    # the object is what the compiler makes without the cache
    subprocess.run(["g++", "-c", "-O2", "-I.", "shared.cpp", "-o", "plain.o"], cwd=b, check=True)
    assert (b / "plain.o").read_bytes() == first
    st = cache.object_stats(store)
    assert (st["objects"], st["hits"], st["misses"]) == (3, 1, 3)


@needs_gxx
def test_object_cache_misses_when_a_flag_or_an_included_header_changes(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", "")
    _cc(store, a, "shared.cpp")
    _cc(store, a, "shared.cpp", "-ffast-math")  # another flag: compiled again
    _cc(store, a, "shared.cpp", "-march=native")
    _cc(store, a, "shared.cpp", "-march=native")
    (a / "lib.h").write_text("#define LIB_FACTOR 3\n")  # a header it includes
    _cc(store, a, "shared.cpp")
    assert _log(store) == ["miss", "miss", "miss", "hit", "miss"]


@needs_gxx
def test_object_cache_passes_linking_and_errors_through(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", "int main() { return 0; }\n")
    _cc(store, a, "own.cpp")
    script = Path(build.__file__).with_name("_objcache.py")
    link = subprocess.run([sys.executable, str(script), str(store), "g++", "own.o", "-o", "main"], cwd=a)
    assert link.returncode == 0 and (a / "main").exists()
    (a / "bad.cpp").write_text("int f( {\n")
    bad = subprocess.run([sys.executable, str(script), str(store), "g++", "-c", "bad.cpp", "-o", "bad.o"],
                         cwd=a, capture_output=True, text=True)
    assert bad.returncode != 0 and "bad.cpp" in bad.stderr  # the compiler's own message
    assert _log(store) == ["miss"]


def test_object_cache_runs_the_compiler_make_would_run_and_can_be_switched_off(tmp_path, monkeypatch):
    import shlex

    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    (arg,) = build.object_cache_make_args({"CXX": "clang++ -stdlib=libc++"})
    words = shlex.split(shlex.split(arg)[0].split("=", 1)[1])
    assert words[-2:] == [str(tmp_path / "objects"), "clang++ -stdlib=libc++"]
    (arg,) = build.object_cache_make_args({})
    assert shlex.split(shlex.split(arg)[0].split("=", 1)[1])[-1] == "g++"  # GNU make's default
    assert build.object_cache_make_args({"BIODYN_OBJECT_CACHE": "0"}) == []


def test_biodyn_cache_shows_the_object_cache_with_its_reuse_counts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    store = tmp_path / "objects"
    (store / "ab").mkdir(parents=True)
    (store / "ab" / ("ab" + "0" * 62 + ".o")).write_bytes(b"o" * 2000)
    (store / "log").write_text("miss 2000 shared.cpp\nhit 2000 shared.cpp\nhit 2000 shared.cpp\n")
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert "1 object cache" in out
    assert "1 compiled objects shared by all projects; reused 2 times, compiled 1" in out
    assert main(["cache", "clear"]) == 0
    assert not store.exists()


@needs_gxx
def test_object_cache_keys_on_the_included_headers_and_preprocesses_only_what_it_cannot_follow(tmp_path):
    """Direct mode: the key is the source and the project headers it includes (found as the
    compiler finds them, the same list as ``g++ -MM``); a computed #include is preprocessed."""
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", "int f() { return 1; }\n")
    b = _project(tmp_path / "b", "int g() { return 2; }\n")
    (b / "sub").mkdir()
    (b / "sub" / "lib.h").write_text("#define LIB_FACTOR 7\n")  # not on the search path: unused
    first = _cc(store, a, "shared.cpp")
    assert _cc(store, b, "shared.cpp") == first
    (b / "lib.h").write_text("#define LIB_FACTOR 5\n")
    assert _cc(store, b, "shared.cpp") != first
    assert _log(store) == ["miss", "hit", "miss"] and set(_log(store, 2)) == {"direct"}
    (b / "computed.cpp").write_text('#define H "lib.h"\n#include H\nint h() { return LIB_FACTOR; }\n')
    _cc(store, b, "computed.cpp")
    assert _log(store, 2)[-1] == "preprocessed"


def test_included_files_lists_what_gxx_mm_lists(tmp_path):
    import shutil as _shutil

    from biodyn import _objcache
    p = _project(tmp_path / "p", "")
    (p / "inc").mkdir()
    (p / "inc" / "deep.h").write_text('#include "lib.h"\n#ifdef NEVER\n#include "missing.h"\n#endif\n')
    (p / "top.cpp").write_text('#include <deep.h>\n#include "lib.h"\n#include <vector>\nint x;\n')
    import os

    cwd = os.getcwd()
    os.chdir(p)
    try:
        files = [path for path, _ in _objcache.included_files("top.cpp", ["-c", "-O2", "-Iinc", "-I."])]
    finally:
        os.chdir(cwd)
    # <deep.h> through -Iinc; "lib.h" from inc/deep.h: not in inc/, so through -I. ; <vector>: g++'s own
    assert files == ["top.cpp", "inc/deep.h", "lib.h"]
    if _shutil.which("g++"):
        mm = subprocess.run(["g++", "-MM", "-Iinc", "-I.", "top.cpp"], cwd=p, capture_output=True,
                            text=True, check=True).stdout
        assert set(mm.replace("\\\n", " ").split(":", 1)[1].split()) == set(files)
    assert _objcache.included_files("top.cpp", ["-c", "-include", "x.h"]) is None


def _rules(text):
    """``make`` rules as ``{target: set of prerequisites}`` (line continuations joined)."""
    out = {}
    for line in text.decode().replace("\\\n", " ").splitlines():
        if ":" in line:
            target, prereqs = line.split(":", 1)
            out[target.strip()] = set(prereqs.split())
    return out


@needs_gxx
def test_dependency_pass_writes_the_rules_gcc_would_without_running_it(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", '#include "lib.h"\nint f() { return LIB_FACTOR; }\n')
    (a / "third.cpp").write_text("int h() { return 3; }\n")
    (a / "sub").mkdir()
    (a / "sub" / "deep.cpp").write_text('#include "lib.h"\n#include <vector>\nint d;\n')
    sources = ["own.cpp", "shared.cpp", "third.cpp", "sub/deep.cpp"]
    scanned = _deps(store, a, *sources)
    plain = subprocess.run(["g++", "-c", "-O2", "-I.", "-MM", *sources], cwd=a, check=True,
                           capture_output=True).stdout
    assert _rules(scanned) == _rules(plain)
    assert _rules(scanned)["deep.o"] == {"sub/deep.cpp", "lib.h"}  # gcc's target: the base name
    # no compiler runs for it: a "compiler" that always fails gives the same rules
    script = Path(build.__file__).with_name("_objcache.py")
    out = subprocess.run([sys.executable, "-I", "-S", str(script), str(store), "false", "-c", "-O2",
                          "-I.", "-MM", *sources], cwd=a, check=True, capture_output=True).stdout
    assert out == scanned
    # a computed include the scan cannot follow: that source's rule is gcc's
    (a / "computed.cpp").write_text('#define H "lib.h"\n#include H\nint c;\n')
    assert _rules(_deps(store, a, "third.cpp", "computed.cpp"))["computed.o"] == {"computed.cpp", "lib.h"}


# -- precompiled standard headers (the object cache's --pch), issue 17 ------------------------------

STD_USER = "#include <vector>\n#include <iostream>\nint total(const std::vector<int>& v) { int s = 0; for (int x : v) s += x; return s; }\n"


def _cc_pch(store, folder, source, *flags):
    script = Path(build.__file__).with_name("_objcache.py")
    cmd = [sys.executable, "-I", "-S", str(script), "--pch", str(store), "g++", "-c", "-O2", *flags,
           "-I.", source, "-o", source.replace(".cpp", ".o")]
    done = subprocess.run(cmd, cwd=folder, check=True, timeout=120, capture_output=True, text=True)
    return (folder / source.replace(".cpp", ".o")).read_bytes(), done.stderr


@needs_gxx
def test_precompiled_standard_headers_are_built_once_used_and_give_the_same_object(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", STD_USER)
    b = _project(tmp_path / "b", STD_USER.replace("total", "sum_all"))
    _cc_pch(store, a, "own.cpp")
    _cc_pch(store, b, "own.cpp")
    (gch,) = store.glob("pch/*/*.gch")  # built once for these flags
    # gcc accepts it for these flags: it marks a precompiled header it uses with "!" in -H
    err = subprocess.run(["g++", "-c", "-O2", "-I.", "-include", str(gch)[:-4], "-H", "own.cpp",
                          "-o", "h.o"], cwd=a, check=True, capture_output=True, text=True).stderr
    assert f"! {gch}" in err.splitlines()
    assert cache.object_stats(store)["bytes"] > gch.stat().st_size  # `biodyn cache` counts it
    assert _log(store, 2) == ["direct+pch", "direct+pch"]
    # the same code as without the header: here, the same bytes
    subprocess.run(["g++", "-c", "-O2", "-I.", "own.cpp", "-o", "plain.o"], cwd=b, check=True)
    assert (b / "plain.o").read_bytes() == (b / "own.o").read_bytes()
    # a second project of the same flags reuses the header and its object key differs from the
    # header-less one (no object of one kind is handed out for the other)
    _cc_pch(store, b, "shared.cpp")
    _cc(store, b, "shared.cpp")
    assert _log(store) == ["miss"] * 4 and len(list(store.glob("pch/*/*.gch"))) == 1


@needs_gxx
def test_precompiled_headers_step_aside_when_a_project_folder_shadows_a_standard_header(tmp_path):
    store = tmp_path / "objects"
    a = _project(tmp_path / "a", STD_USER)
    # the project's <vector>, behind libstdc++'s guard: a precompiled <vector> would hide it
    (a / "vector").write_text("#ifndef _GLIBCXX_VECTOR\n#define _GLIBCXX_VECTOR\n"
                              "#error the project's own <vector>\n#endif\n")
    with pytest.raises(subprocess.CalledProcessError):  # compiled as without the cache: its <vector>
        _cc_pch(store, a, "own.cpp")
    assert not list(store.glob("pch/*/*.gch"))


def test_make_args_precompile_headers_for_gnu_compilers_unless_switched_off(tmp_path, monkeypatch):
    import shlex

    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path))
    monkeypatch.setattr(build, "_is_gcc", lambda real: real == "g++")
    monkeypatch.setattr(build, "_compiler_identity", lambda real: "ID")

    def words(env):
        (arg,) = build.object_cache_make_args(env)
        return shlex.split(shlex.split(arg)[0].split("=", 1)[1])

    assert "--pch" in words({})
    assert "--pch" not in words({"BIODYN_PCH": "0"})
    assert "--pch" not in words({"CXX": "clang++"})
