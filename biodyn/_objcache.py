"""A content-addressed cache of compiled objects: the compiler wrapper of biodyn's standalone builds.

Run by ``make`` as ``$(CXX)`` of a cpp_standalone project (see
:func:`biodyn.build.object_cache_make_args`)::

    python _objcache.py CACHE_DIR 'g++' ARGS...

``'g++'`` is the compiler ``make`` would have run (``$CXX`` of the environment, else GNU make's
default ``g++``), as one shell word. For a compilation of one source file to one object
(``-c SRC -o OBJ``, no ``-M`` options), the object is looked up under ``CACHE_DIR`` by the
SHA-256 of

* this file's format version,
* the compiler: its command, resolved path, and ``--version`` output; with ``-march=native`` or
  ``-mtune=native`` also the flags ``native`` stands for on this CPU (the ``cc1`` line of
  ``-v``), so that a cache shared between machines never hands one CPU's code to another;
* every argument but the source and object paths (the flags, in order);
* the preprocessed source (``-E`` with the same flags): the source and every header it
  includes, as the compiler sees them.

A hit copies the stored object; a miss runs the unchanged compiler command and stores its
object. Each lookup appends ``hit``/``miss`` and the object's size to ``CACHE_DIR/log``
(the counts ``biodyn cache`` shows). Anything else (linking, ``make.deps``'s ``-MM``) runs the
compiler unchanged. Objects are the compiler's own output for the same source and flags, so a
binary linked from them behaves exactly as one compiled without the cache. This is the idea of
ccache's "preprocessor mode" (Tridgell et al., https://ccache.dev), written for biodyn.

This file imports nothing from biodyn (``make`` runs it once per source file: its start-up time
counts) and runs on the standard library only. ``BIODYN_OBJECT_CACHE=0`` in the environment
of a build switches the cache off (:func:`biodyn.build.object_cache_make_args`).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

#: Changes when the key's recipe changes (old entries then simply miss).
FORMAT = "biodyn-objcache-1"
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


def _compiler_identity(cxx, flags):
    h = hashlib.sha256()
    h.update(repr(cxx).encode())
    exe = shutil.which(cxx[0])
    h.update(repr(os.path.realpath(exe) if exe else cxx[0]).encode())
    out = subprocess.run(cxx + ["--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    h.update(out.stdout)
    if any(f.endswith("=native") for f in flags):
        # What `native` means on this CPU: gcc prints the expanded flags on its cc1 line.
        native = [f for f in flags if f.startswith(("-march=", "-mtune=", "-mcpu="))]
        out = subprocess.run(cxx + native + ["-E", "-v", "-x", "c++", os.devnull],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        h.update(b"".join(line for line in out.stdout.splitlines(keepends=True)
                          if b"cc1" in line))
    return h.hexdigest()


def key(cxx, source, rest):
    """The cache key of compiling ``source`` with ``cxx rest``, or ``None`` if it cannot be made."""
    flags = [a for a in rest if a != "-c"]
    pre = subprocess.run(cxx + flags + ["-E", source], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    if pre.returncode != 0:
        return None  # let the real compilation report the error
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0")
    h.update(_compiler_identity(cxx, flags).encode() + b"\0")
    h.update(repr(rest).encode() + b"\0")
    h.update(pre.stdout)
    return h.hexdigest()


def _log(cache, what, size, source=""):
    try:
        fd = os.open(os.path.join(cache, "log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{what} {size} {source}\n".encode())  # one short write: atomic with O_APPEND
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
    cache, cxx_text, args = argv[0], argv[1], argv[2:]
    cxx = shlex.split(cxx_text)
    job = parse(args)
    if job is None:
        return subprocess.call(cxx + args)
    source, output, rest = job
    digest = key(cxx, source, rest)
    if digest is None:
        return subprocess.call(cxx + args)
    stored = os.path.join(cache, digest[:2], digest + ".o")
    if os.path.isfile(stored):
        try:
            _copy_atomic(stored, output)
            os.utime(stored)  # recently used
            _log(cache, "hit", os.path.getsize(stored), source)
            return 0
        except OSError:
            pass  # unreadable entry: compile
    code = subprocess.call(cxx + args)
    if code == 0 and os.path.isfile(output):
        try:
            os.makedirs(os.path.dirname(stored), exist_ok=True)
            _copy_atomic(output, stored)
            _log(cache, "miss", os.path.getsize(stored), source)
        except OSError:
            pass  # a full or read-only cache never fails a build
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
