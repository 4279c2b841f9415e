"""A content-addressed cache of compiled objects: the compiler wrapper of biodyn's standalone builds.

Run by ``make`` as ``$(CXX)`` of a cpp_standalone project (see
:func:`biodyn.build.object_cache_make_args`)::

    python _objcache.py [--id=HASH] CACHE_DIR 'g++' ARGS...

``'g++'`` is the compiler ``make`` would have run (``$CXX`` of the environment, else GNU make's
default ``g++``), as one shell word; ``HASH`` its identity (:func:`compiler_identity`, computed
once by the calling process; computed here if not given). For a compilation of one source
file to one object (``-c SRC -o OBJ``, no ``-M`` options), the object is looked up under
``CACHE_DIR`` by the SHA-256 of

* this file's format version and the compiler's identity: its command, resolved path and
  ``--version`` output, and the flags ``-march=native`` stands for on this CPU (the ``cc1``
  line of ``-v``), so that a cache shared between machines never hands one CPU's code to
  another;
* every argument but the object's path (the flags in order, the source's path);
* the source text and every project header it includes (a scan of the ``#include`` lines,
  resolved in the source's folder and the ``-iquote``/``-I`` folders as the compiler resolves
  them: :func:`included_files`) — "direct mode", no preprocessing; headers found in none of
  these folders belong to the compiler's installation, covered by its identity. Where the scan
  cannot follow (computed includes, ``__has_include``, ``-include`` and other search flags) or
  a file uses ``__DATE__``/``__TIME__``, the key is taken over the preprocessed source (``-E``
  with the same flags) instead — "preprocessor mode" (~0.06 s of CPU per source, measured with
  g++ 12 on Brian2 2.9's sources, whose compilations take 0.4–2 s each).

A hit copies the stored object; a miss runs the unchanged compiler command and stores its
object. Each lookup appends ``hit``/``miss``, the object's size, the mode and the source to
``CACHE_DIR/log`` (the counts ``biodyn cache`` shows). Linking runs the compiler unchanged; the
``-MM`` pass over all sources (``make.deps``) is written from the same scan of the ``#include``
lines, without the preprocessor (:func:`dependencies`). Objects are the compiler's own output for the same source and flags, so a binary
linked from them behaves exactly as one compiled without the cache. These are the ideas of
ccache's direct and preprocessor modes (https://ccache.dev), written anew for biodyn.

This file imports nothing from biodyn (``make`` runs it once per source file: its start-up time
counts) and uses the standard library only. ``BIODYN_OBJECT_CACHE=0`` in the environment
of a build switches the cache off (:func:`biodyn.build.object_cache_make_args`).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

#: Changes when the key's recipe changes (old entries then simply miss).
FORMAT = "biodyn-objcache-2"
SOURCE_SUFFIXES = (".cpp", ".cc", ".cxx", ".c++", ".C", ".c")


def parse(args):
    """``(source, output, other_args)`` for a one-source compilation, else ``None``."""
    if "-c" not in args:
        return None
    source = output = None
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-o" and i + 1 < len(args):
            if output is not None:
                return None
            output = args[i + 1]
            i += 2
            continue
        if a.startswith("-M") or a in ("-", "-E", "-S", "-save-temps") or a.startswith("@"):
            return None  # side outputs or input we do not hash: not cacheable
        if not a.startswith("-") and a.endswith(SOURCE_SUFFIXES):
            if source is not None:
                return None  # several sources
            source = a
        else:
            rest.append(a)
        i += 1
    if source is None or output is None:
        return None
    return source, output, rest


def compiler_identity(cxx, native=True):
    """SHA-256 (hex) of the compiler ``cxx`` (a command, list of words): its command, resolved
    path and ``--version``; with ``native``, also the flags ``-march=native`` expands to here."""
    h = hashlib.sha256()
    h.update(repr(list(cxx)).encode())
    exe = shutil.which(cxx[0])
    h.update(repr(os.path.realpath(exe) if exe else cxx[0]).encode())
    try:
        out = subprocess.run(list(cxx) + ["--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout
        h.update(out)
        # the driver and gcc's compiler proper as files: a reinstalled compiler of the same
        # version string changes them
        proper = subprocess.run(list(cxx) + ["-print-prog-name=cc1plus"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL).stdout.strip().decode(errors="replace")
        for path in (exe, proper):
            if path and os.path.isfile(path):
                st = os.stat(path)
                h.update(f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}".encode())
        if native:
            # What `native` means on this CPU: gcc and clang print the expanded flags on their
            # cc1 line.
            out = subprocess.run(list(cxx) + ["-march=native", "-E", "-v", "-x", "c++", os.devnull],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
            h.update(b"".join(line for line in out.splitlines(keepends=True) if b"cc1" in line))
    except OSError as exc:  # no such compiler: the build will say so
        h.update(repr(exc).encode())
    return h.hexdigest()


_VOLATILE = (b"__DATE__", b"__TIME__", b"__TIMESTAMP__")


_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\r\n]+)[>"]', re.M)
#: what a scan of the #include lines cannot follow: computed includes, include_next, __has_include
_UNFOLLOWABLE = re.compile(rb'^[ \t]*#[ \t]*(include_next|import)\b|__has_include'
                           rb'|^[ \t]*#[ \t]*include[ \t]*[^<"\s]', re.M)
#: flags that change where headers are found in ways the scan does not model
_SEARCH_FLAGS = ("-include", "-imacros", "-isystem", "-idirafter", "-iprefix", "-iwithprefix",
                 "-isysroot", "--sysroot", "-nostdinc", "-I-", "-iplugindir")


def _search_dirs(rest):
    """``(quote_dirs, dirs)``: the ``-iquote`` and ``-I`` folders in order, or ``None``."""
    quote, dirs = [], []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a.startswith(_SEARCH_FLAGS):
            return None
        for flag, into in (("-iquote", quote), ("-I", dirs)):
            if a == flag and i + 1 < len(rest):
                into.append(rest[i + 1])
                i += 1
                break
            if a.startswith(flag) and len(a) > len(flag):
                into.append(a[len(flag):])
                break
        i += 1
    return quote, dirs


def included_files(source, rest):
    """The source and every header it may include from the project's folders, or ``None``.

    A scan of the ``#include`` lines, followed transitively and resolved as the compiler
    resolves them (``"x.h"``: the including file's folder, then ``-iquote``, then ``-I``;
    ``<x.h>``: ``-I``). Every ``#include`` line counts, also those an ``#if`` leaves out, so the
    list can only be longer than the compiler's (a key over it can only miss more often, never
    hit wrongly). A header found in none of these folders is the compiler installation's, covered
    by its identity (as ``-MM`` leaves system headers out). ``None`` where the scan cannot follow
    (computed includes, ``#include_next``, ``__has_include``, ``-include`` and other search
    flags) or a file uses ``__DATE__``/``__TIME__``.
    """
    dirs = _search_dirs(rest)
    if dirs is None:
        return None
    quote, normal = dirs
    order, seen, todo = [], set(), [os.path.normpath(source)]
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if _UNFOLLOWABLE.search(data) or any(word in data for word in _VOLATILE):
            return None
        order.append((path, data))
        here = os.path.dirname(path) or "."
        for kind, name in _INCLUDE.findall(data):
            name = name.decode("utf-8", "surrogateescape").strip()
            where = ([here] + quote + normal) if kind == b'"' else normal
            for folder in where:
                candidate = os.path.normpath(os.path.join(folder, name))
                if os.path.isfile(candidate):
                    todo.append(candidate)
                    break
    return order


def direct_key(identity, source, rest, output=None):
    """The key from the source and the project headers it includes, or ``None``.

    ``output`` is not part of the key (the same source compiled to another path gives the same
    object)."""
    files = included_files(source, rest)
    if files is None:
        return None
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0direct\0" + identity.encode() + b"\0")
    h.update(repr(rest).encode() + b"\0" + source.encode() + b"\0")
    for path, data in files:
        h.update(path.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def preprocessed_key(identity, cxx, source, rest):
    """The key from the preprocessed source, or ``None`` if it cannot be made."""
    flags = [a for a in rest if a != "-c"]
    pre = subprocess.run(cxx + flags + ["-E", source], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    if pre.returncode != 0:
        return None  # let the real compilation report the error
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0preprocessed\0" + identity.encode() + b"\0")
    h.update(repr(rest).encode() + b"\0")
    h.update(pre.stdout)
    return h.hexdigest()


def key(cxx, source, rest, output, identity=None):
    """``(key, mode)`` of compiling ``source`` to ``output`` with ``cxx rest`` (key ``None``: none)."""
    if identity is None:
        identity = compiler_identity(cxx, native=any(a.endswith("=native") for a in rest))
    digest = direct_key(identity, source, rest, output)
    if digest is not None:
        return digest, "direct"
    return preprocessed_key(identity, cxx, source, rest), "preprocessed"


def dependencies(cxx, args):
    """``cxx args`` for ``-MM`` over several sources (``make.deps`` of a standalone makefile),
    written from the scan of the ``#include`` lines (:func:`included_files`) without running the
    preprocessor.

    One rule per source, as gcc writes it: the target is the source's base name with ``.o``,
    the prerequisites the source and the project headers it includes (system headers left out,
    as ``-MM`` does). The scan follows every ``#include`` line, also those an ``#if`` leaves out,
    so a rule can list more headers than gcc's, never fewer: ``make`` may rebuild more, never
    less. A source the scan cannot follow (see :func:`included_files`) gets gcc's own rule;
    other options writing dependency files (``-MF``, ``-MD``, ...) run the compiler unchanged.
    gcc's pass preprocessed every source (~0.05 s each, before ``make`` could start any
    compilation); the scan takes milliseconds.
    """
    sources = [a for a in args if not a.startswith("-") and a.endswith(SOURCE_SUFFIXES)]
    flags = [a for a in args if a not in sources]
    if any(a in ("-o", "-MF", "-MD", "-MMD", "-MG", "-MP", "-MT", "-MQ") for a in args):
        return subprocess.call(cxx + args)
    rest = [a for a in flags if a != "-MM"]
    rules = []
    for source in sources:
        files = included_files(source, rest)
        if files is None:
            done = subprocess.run(cxx + flags + [source], stdout=subprocess.PIPE)
            if done.returncode:
                return done.returncode
            rules.append(done.stdout)
            continue
        target = os.path.splitext(os.path.basename(source))[0] + ".o"
        words = [source] + [path for path, _ in files[1:]]
        rules.append((target + ": " + " \\\n ".join(words) + "\n").encode("utf-8", "surrogateescape"))
    out = getattr(sys.stdout, "buffer", sys.stdout)
    out.write(b"".join(rules))
    out.flush()
    return 0


#: The standard headers of Brian2's generated sources (``objects.h``, the code-object, network,
#: synapse and ``brianlib`` templates of Brian2 2.9), precompiled once per compiler and flags.
PCH_HEADERS = ("cmath", "ctime", "iostream", "fstream", "climits", "vector", "map", "random",
               "algorithm", "utility", "string", "set", "tuple", "limits", "iterator", "cstdlib",
               "csignal", "stdint.h", "stdlib.h", "math.h", "time.h")
PCH_TEXT = "".join(f"#include <{name}>\n" for name in PCH_HEADERS)
PCH_NAME = "biodyn_std.h"


def _without_search_flags(rest):
    """``rest`` without ``-c`` and the ``-I``/``-iquote`` folders (they do not change which
    standard headers are found where :func:`precompiled_header` uses the header)."""
    out, i = [], 0
    while i < len(rest):
        a = rest[i]
        if a in ("-I", "-iquote"):
            i += 2
            continue
        if a != "-c" and not (a.startswith("-I") or a.startswith("-iquote")):
            out.append(a)
        i += 1
    return out


def precompiled_header(cache, identity, cxx, rest):
    """``(header, digest)`` of the precompiled standard headers for compiling with ``cxx rest``
    (built on first use), or ``None`` where it cannot be used.

    The header :data:`PCH_TEXT` includes only standard headers (every generated source of a
    Brian2 standalone project includes them, through ``objects.h`` and its own lines). gcc's
    precompiled headers (``HEADER.gch`` beside ``HEADER``, used for ``-include HEADER``;
    https://gcc.gnu.org/onlinedocs/gcc/Precompiled-Headers.html) save re-parsing them in every
    source: about half of a standalone project's compilation. A source compiled with them sees
    the same declarations (standard headers are guarded; only their order of inclusion moves
    first), so the code is the same. It is built with the compilation's own flags (gcc rejects a
    header built with other options and then simply parses the text), minus the ``-I`` folders:
    ``None`` if one of those holds a file named like one of the standard headers (it would shadow
    the compiler's), or the flags hold search options the scan does not model. Its key is the
    compiler's identity (which covers the installation's own headers), the flags and the text.
    """
    dirs = _search_dirs(rest)
    if dirs is None:
        return None
    quote, normal = dirs
    if any(os.path.exists(os.path.join(d, name)) for d in normal for name in PCH_HEADERS):
        return None
    flags = _without_search_flags(rest)
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0pch\0" + identity.encode() + b"\0" + repr(flags).encode()
             + b"\0" + PCH_TEXT.encode())
    digest = h.hexdigest()
    folder = os.path.join(cache, "pch", digest[:32])
    header = os.path.join(folder, PCH_NAME)
    gch = header + ".gch"
    failed = os.path.join(folder, "failed")
    if os.path.isfile(gch):
        return header, digest
    if os.path.exists(failed):
        return None
    try:
        import fcntl

        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent compilation waits for the one build
            if os.path.isfile(gch):
                return header, digest
            if os.path.exists(failed):
                return None
            if not os.path.isfile(header):
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".h-", suffix=".tmp")
                with os.fdopen(fd, "w") as f:
                    f.write(PCH_TEXT)
                os.replace(tmp, header)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gch-", suffix=".tmp")
            os.close(fd)
            code = subprocess.call(cxx + flags + ["-x", "c++-header", header, "-o", tmp],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if code != 0 or not os.path.getsize(tmp):
                os.unlink(tmp)
                open(failed, "w").close()
                return None
            os.replace(tmp, gch)
            return header, digest
    except (OSError, ImportError):
        return None  # no precompiled header: compile as usual


def _log(cache, what, size, mode, source):
    try:
        fd = os.open(os.path.join(cache, "log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{what} {size} {mode} {source}\n".encode())  # one short write: atomic with O_APPEND
        finally:
            os.close(fd)
    except OSError:
        pass


def _copy_atomic(src, dst):
    folder = os.path.dirname(os.path.abspath(dst))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".objcache-", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv):
    identity = None
    use_pch = False
    while argv and argv[0].startswith("--"):
        if argv[0].startswith("--id="):
            identity = argv[0][len("--id="):]
        elif argv[0] == "--pch":
            use_pch = True
        argv = argv[1:]
    cache, cxx_text, args = argv[0], argv[1], argv[2:]
    cxx = shlex.split(cxx_text)
    job = parse(args)
    if job is None:
        if "-MM" in args and "-c" in args:
            return dependencies(cxx, args)
        return subprocess.call(cxx + args)
    source, output, rest = job
    pch = None
    if use_pch:
        if identity is None:
            identity = compiler_identity(cxx, native=any(a.endswith("=native") for a in rest))
        pch = precompiled_header(cache, identity, cxx, rest)
    if pch is not None:
        # the same source compiled with the header is another object (the same code, but the
        # bytes may differ): its own key
        identity = identity + "\0pch:" + pch[1]
        args = ["-include", pch[0]] + args
    digest, mode = key(cxx, source, rest, output, identity)
    if pch is not None:
        mode += "+pch"
    if digest is None:
        return subprocess.call(cxx + args)
    stored = os.path.join(cache, digest[:2], digest + ".o")
    if os.path.isfile(stored):
        try:
            _copy_atomic(stored, output)
            os.utime(stored)  # recently used
            _log(cache, "hit", os.path.getsize(stored), mode, source)
            return 0
        except OSError:
            pass  # unreadable entry: compile
    code = subprocess.call(cxx + args)
    if code == 0 and os.path.isfile(output):
        try:
            os.makedirs(os.path.dirname(stored), exist_ok=True)
            _copy_atomic(output, stored)
            _log(cache, "miss", os.path.getsize(stored), mode, source)
        except OSError:
            pass  # a full or read-only cache never fails a build
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
