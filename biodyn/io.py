"""Results as neo Blocks, and files.

Results follow PyNN's convention for neo: one :class:`neo.Segment` per run;
each :class:`neo.SpikeTrain` is annotated with its ``population`` and ``index``
(and PyNN's ``source_population``/``source_index``); recorded state variables are
:class:`neo.AnalogSignal` objects named after the variable, one channel per
neuron or synapse, with the channel indices in the array annotation ``index``.
The Block's annotations record how the result was made: seed, biodyn and Brian2
versions, target, dt, and whatever the caller adds.

Files: pickle (``.pkl``, always available), NWB (``.nwb``, needs ``pynwb``) and
NIX (``.nix``, needs ``nixio``). Every file is written atomically: to a
temporary file in the same folder, then renamed, so a crash never leaves a
half-written result under the final name.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import BiodynError, SpecError, shorten

__all__ = ["new_block", "add_spiketrains", "add_signal", "spike_monitor_trains",
           "state_monitor_signal", "write", "read", "FORMATS", "atomic_path", "write_json",
           "signal", "spiketrains"]

#: File formats by extension -> (neo IO class name, extra needed).
FORMATS = {"pkl": ("PickleIO", None), "nwb": ("NWBIO", "pynwb"), "nix": ("NixIO", "nixio")}


def _pq():
    import quantities as pq

    return pq


def _clean_annotations(ann):
    """Annotations neo (and NIX/NWB) accept: str, int, float, bool; others as JSON text."""
    out = {}
    for key, value in ann.items():
        if value is None:
            value = "null"
        elif isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, (np.floating,)):
            value = float(value)
        elif isinstance(value, (dict, list, tuple)):
            value = json.dumps(value, default=str)
        elif not isinstance(value, (str, int, float, bool)):
            value = str(value)
        out[key] = value
    return out


def new_block(name, description="", **annotations):
    """A neo Block with one empty Segment and the given provenance annotations."""
    import neo

    block = neo.Block(name=name, description=description,
                      file_origin="biodyn", rec_datetime=datetime.datetime.now())
    block.annotate(**_clean_annotations(annotations))
    block.segments.append(neo.Segment(name=f"{name} run 0", index=0))
    block.segments[0].block = block
    return block


def _to_pq_seconds(times):
    from brian2.units.fundamentalunits import Quantity

    if isinstance(times, Quantity):
        return np.asarray(times / _brian_second(), dtype=float)
    return np.asarray(times, dtype=float)


def _brian_second():
    from brian2 import second

    return second


def add_spiketrains(segment, trains, t_stop, population, t_start=0.0, indices=None, **annotations):
    """Add one SpikeTrain per entry of ``trains`` (times in seconds or Brian2 quantities)."""
    import neo

    pq = _pq()
    t_stop_s = float(_to_pq_seconds(t_stop))
    t_start_s = float(_to_pq_seconds(t_start))
    for k, times in enumerate(trains):
        index = int(indices[k]) if indices is not None else k
        t = _to_pq_seconds(times)
        st = neo.SpikeTrain(t * pq.s, t_start=t_start_s * pq.s, t_stop=max(t_stop_s, t.max(initial=0)) * pq.s,
                            name=f"{population}[{index}]")
        st.annotate(population=population, index=index, source_population=population,
                    source_index=index, **_clean_annotations(annotations))
        st.segment = segment
        segment.spiketrains.append(st)
    return segment


def spike_monitor_trains(monitor, N=None):
    """A SpikeMonitor's spikes as a list of arrays in seconds, one per neuron."""
    i = np.asarray(monitor.i[:])
    t = np.asarray(monitor.t[:] / _brian_second())
    N = monitor.source.N if N is None else N
    order = np.argsort(i, kind="stable")
    i, t = i[order], t[order]
    bounds = np.searchsorted(i, np.arange(N + 1))
    return [t[bounds[k]:bounds[k + 1]] for k in range(N)]


def add_signal(segment, name, values, sampling_period, t_start=0.0, units="dimensionless",
               population=None, indices=None, **annotations):
    """Add an AnalogSignal named ``name``: ``values`` has shape (times, channels)."""
    import neo

    pq = _pq()
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    n = values.shape[1]
    sig = neo.AnalogSignal(values, units=units, sampling_period=float(_to_pq_seconds(sampling_period)) * pq.s,
                           t_start=float(_to_pq_seconds(t_start)) * pq.s, name=name)
    sig.array_annotate(index=np.asarray(indices if indices is not None else np.arange(n), dtype=np.int64))
    if population is not None:
        sig.annotate(population=population, source_population=population)
    sig.annotate(**_clean_annotations(annotations))
    sig.segment = segment
    segment.analogsignals.append(sig)
    return sig


def _pq_units(dim):
    """quantities units for a Brian2 dimension (SI base units)."""
    from brian2.units.fundamentalunits import DIMENSIONLESS, get_unit

    if dim is DIMENSIONLESS:
        return "dimensionless", 1.0
    table = {"V": "V", "A": "A", "s": "s", "S": "S", "Hz": "Hz", "F": "F", "ohm": "ohm"}
    name = str(get_unit(dim))
    if name in table:
        return table[name], 1.0
    # fall back to SI base units text quantities understands (e.g. 'm^-2 A' -> 'A/m**2')
    from brian2.units.fundamentalunits import Quantity

    try:
        text = repr(get_unit(dim)).replace("metre", "m").replace("kilogram", "kg").replace(
            "second", "s").replace("amp", "A").replace("kelvin", "K").replace("mole", "mol").replace(
            "candle", "cd")
        _pq().Quantity(1.0, text)
        return text, 1.0
    except Exception:
        return "dimensionless", 1.0


def state_monitor_signal(segment, monitor, variable, population=None, indices=None, **annotations):
    """Add a StateMonitor's recording of ``variable`` as an AnalogSignal (SI units)."""
    from brian2.units.fundamentalunits import get_dimensions

    values = getattr(monitor, variable)  # (channels, times)
    dim = get_dimensions(values)
    units, _ = _pq_units(dim)
    arr = np.asarray(values, dtype=float).T
    t = np.asarray(monitor.t[:] / _brian_second())
    period = float(monitor.clock.dt_ / 1.0) if hasattr(monitor.clock, "dt_") else (t[1] - t[0] if t.size > 1 else 1.0)
    rec = indices if indices is not None else np.asarray(monitor.record)
    return add_signal(segment, variable, arr, period, t_start=t[0] if t.size else 0.0, units=units,
                      population=population or monitor.source.name, indices=rec, **annotations)


def signal(block, name, segment=0):
    """The AnalogSignal named ``name`` in a segment of ``block``."""
    for sig in block.segments[segment].analogsignals:
        if sig.name == name:
            return sig
    raise KeyError(f"no AnalogSignal named {name!r} (have: "
                   + ", ".join(s.name for s in block.segments[segment].analogsignals) + ")")


def spiketrains(block, population, segment=0):
    """The SpikeTrains of ``population`` in a segment, ordered by index."""
    trains = [st for st in block.segments[segment].spiketrains
              if st.annotations.get("population") == population]
    return sorted(trains, key=lambda st: st.annotations.get("index", 0))


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".part"
                               if path.suffix not in (".nix", ".nwb") else path.suffix,
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers create the file themselves
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(data, path):
    """Write ``data`` as indented JSON, atomically; ``path`` ``"-"`` writes it to stdout
    (``biodyn ... --json - | jq``) and returns ``"-"``."""
    if str(path) == "-":
        import sys

        json.dump(data, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
        return "-"
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
    return Path(path)


def _format_of(path, fmt=None):
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise SpecError("<command line>", "--format", "one of " + ", ".join(FORMATS), repr(fmt))
    extra = FORMATS[fmt][1]
    if extra is not None:
        try:
            __import__(extra)
        except ImportError:
            raise BiodynError(f"writing .{fmt} files needs the '{extra}' package: "
                              f"pip install 'biodyn[{fmt}]'") from None
    return fmt


def write(block, path, format=None):
    """Write a neo Block to ``path`` (format from the extension), atomically."""
    import neo

    path = Path(path)
    fmt = _format_of(path, format)
    with atomic_path(path) as tmp:
        if fmt == "pkl":
            neo.io.PickleIO(str(tmp)).write_block(block)
        elif fmt == "nix":
            io = neo.io.NixIO(str(tmp), mode="ow")
            try:
                io.write_block(block)
            finally:
                io.close()
        elif fmt == "nwb":
            _prepare_nwb(block)
            with _library_api_warnings_off():
                neo.io.NWBIO(str(tmp), mode="w").write_all_blocks([block])
    return path


@contextlib.contextmanager
def _library_api_warnings_off():
    """Silence what neo, pynwb and hdmf warn about each other's APIs (neo calls
    ``pynwb.validate`` with positional arguments: a FutureWarning on every .nwb written),
    which a user can do nothing about. Warnings about the data stay on."""
    import warnings

    with warnings.catch_warnings():
        for module in ("neo", "pynwb", "hdmf"):
            warnings.filterwarnings("ignore", category=FutureWarning, module=module)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        yield


def _prepare_nwb(block):
    """NWB needs a session start time, an identifier and a session description."""
    ann = block.annotations
    if "session_start_time" not in ann:
        block.annotate(session_start_time=block.rec_datetime or datetime.datetime.now(datetime.timezone.utc))
    start = block.annotations["session_start_time"]
    if isinstance(start, datetime.datetime) and start.tzinfo is None:
        block.annotations["session_start_time"] = start.replace(tzinfo=datetime.timezone.utc)
    if "identifier" not in ann:
        block.annotate(identifier=f"biodyn-{block.name}-{ann.get('seed', 0)}")
    if "session_description" not in ann:
        # neo's NWB writer keeps only the session fields of the Block's annotations: carry
        # biodyn's provenance (seed, versions, target, dt, ...) as JSON at the end of the
        # session description; :func:`read` restores it.
        prov = {k: v for k, v in ann.items() if isinstance(v, (str, int, float, bool))}
        text = block.description or f"biodyn result {block.name}"
        block.annotate(session_description=f"{text}{_NWB_MARK}{json.dumps(prov)}")


_NWB_MARK = " | biodyn provenance: "


def _restore_nwb(block):
    """Undo what neo's NWB round trip loses of PyNN's convention (names, annotations)."""
    import re

    desc = str(block.annotations.get("session_description", ""))
    if _NWB_MARK in desc:
        text, prov = desc.split(_NWB_MARK, 1)
        try:
            block.annotate(**json.loads(prov))
        except ValueError:
            pass
        block.description = text
    for seg in block.segments:
        for st in seg.spiketrains:
            m = re.fullmatch(r"(.+)\[(\d+)\]", st.name or "")
            if m and "population" not in st.annotations:
                st.annotate(population=m.group(1), index=int(m.group(2)),
                            source_population=m.group(1), source_index=int(m.group(2)))
        for sig in seg.analogsignals:
            m = re.fullmatch(re.escape(str(seg.name)) + r" (.+) \d+", sig.name or "")
            if m:
                sig.name = m.group(1)
            if "index" not in sig.array_annotations:
                sig.array_annotate(index=np.arange(sig.shape[1], dtype=np.int64))
    return block


def read(path):
    """Read the first Block of a neo file (.pkl, .nwb or .nix)."""
    import neo

    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), "<file>", "an existing neo file", "no such file")
    fmt = _format_of(path)
    try:
        if fmt == "pkl":
            return neo.io.PickleIO(str(path)).read_block()
        if fmt == "nix":
            io = neo.io.NixIO(str(path), mode="ro")
            try:
                return io.read_block()
            finally:
                io.close()
        return _restore_nwb(neo.io.NWBIO(str(path), mode="r").read_all_blocks()[0])
    except BiodynError:
        raise
    except Exception as exc:
        raise SpecError(str(path), "<file>", f"a readable .{fmt} neo file",
                        shorten(exc)) from None
