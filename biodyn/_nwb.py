"""NWB files of biodyn results, written and read with pynwb (lossless), and NWB recordings read.

neo's own NWB writer keeps little of a simulation's annotations (it drops every annotation
it does not know), so biodyn writes NWB itself, in NWB's own structures:

========================================  ==================================================
neo                                       NWB
========================================  ==================================================
Block name, description                   ``session_description``; ``experiment_description``
Block annotations (provenance: model,     ``protocol``, ``source_script`` (biodyn's version),
parameter set, values, overrides,         ``keywords``; every annotation, losslessly, as
variants, stimulus, seed, target, dt,     readable JSON in ``notes`` (with the Block's and
versions, condition labels...)            Segments' names)
SpikeTrain                                a row of the ``units`` table: ``spike_times``,
                                          ``obs_intervals`` ([t_start, t_stop]); columns
                                          ``unit_name``, ``segment`` and one per annotation
                                          (``population``, ``source_id``, ``channel_id``,
                                          ``source_index``, condition labels, ``role``,
                                          ``pair``...); the table's ``resolution`` is ``dt``
AnalogSignal (several samples)            a ``TimeSeries`` in the processing module
                                          ``biodyn`` (time first, SI ``unit``, ``rate``,
                                          ``starting_time``), with a table ``NAME channels``
                                          of its array annotations (one row per channel)
AnalogSignal of one sample (final         a table ``NAME`` with a column ``value`` and the
values: ``w_final``)                      array annotations (one row per channel)
========================================  ==================================================

Quantities (a condition label in ms, ``dt``) keep their units: a column's ``description``
names its unit, and the JSON in ``notes`` stores ``{"value", "units"}``. No ``Subject`` is
written: a simulated model has no species, sex or age, and nwbinspector's checks of those
fields would be answered with made-up values (its only remark is then a suggestion to add
one).

:func:`read` restores a biodyn file exactly (test: field by field against the pickle). Any
other NWB file — an experimentalist's recording — is read as spike trains from its
``units`` table (every column an annotation; ``obs_intervals`` give ``t_start`` and
``t_stop``), which is what the ``spike_trains`` protocol replays.

References
----------
Rübel O et al. (2022) The Neurodata Without Borders ecosystem for neurophysiological data
science. eLife 11:e78362. doi:10.7554/eLife.78362
"""

from __future__ import annotations

import datetime
import json

import numpy as np

__all__ = ["write", "read", "MODULE"]

#: The processing module biodyn writes its signals into.
MODULE = "biodyn"


def _pq():
    import quantities as pq

    return pq


def _encode(value):
    """An annotation value as JSON-ready data (quantities keep their units)."""
    pq = _pq()
    if isinstance(value, pq.Quantity):
        return {"value": np.asarray(value.magnitude).tolist(), "units": value.dimensionality.string}
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return {"datetime": value.isoformat()}
    return value


def _decode(value):
    pq = _pq()
    if isinstance(value, dict) and set(value) == {"value", "units"}:
        return pq.Quantity(value["value"], value["units"])
    if isinstance(value, dict) and set(value) == {"array", "dtype"}:
        return np.asarray(value["array"], dtype=value["dtype"])
    if isinstance(value, dict) and set(value) == {"datetime"}:
        return datetime.datetime.fromisoformat(value["datetime"])
    return value


def _column(values):
    """Values of one annotation over rows -> (array or list, unit text or None)."""
    pq = _pq()
    if all(isinstance(v, pq.Quantity) for v in values):
        units = {v.dimensionality.string for v in values}
        if len(units) == 1:
            return np.array([float(v.magnitude) for v in values]), units.pop()
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.array(values, dtype=bool), None
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64), None
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=float), None
    if all(isinstance(v, str) for v in values):
        return list(values), None
    return [json.dumps(_encode(v), default=str) for v in values], "json"


def _describe(unit):
    """A column's description: its unit, or that its cells are JSON."""
    if unit == "json":
        return json.dumps({"json": True})
    return json.dumps({"units": unit}) if unit else "-"


def _add_table(module, name, description, columns, meta):
    """A DynamicTable ``name`` with ``columns`` (name -> values); units in the descriptions."""
    from hdmf.common import DynamicTable

    table = DynamicTable(name=name, description=json.dumps({"text": description, **meta}, default=str))
    data = {}
    for cname, values in columns.items():
        data[cname], unit = _column(list(values))
        table.add_column(name=cname, description=_describe(unit))
    rows = len(next(iter(data.values()))) if data else 0
    for k in range(rows):
        table.add_row(**{c: (d[k].item() if isinstance(d[k], np.generic) else d[k]) for c, d in data.items()})
    module.add(table)
    return table


def _signal_meta(sig):
    pq = _pq()
    return {"t_start": float(sig.t_start.rescale(pq.s).magnitude),
            "sampling_period": float(sig.sampling_period.rescale(pq.s).magnitude),
            "units": sig.units.dimensionality.string, "name": sig.name,
            "description": sig.description,
            "annotations": {k: _encode(v) for k, v in sig.annotations.items()}}


def write(block, path):
    """Write ``block`` (a biodyn result) to ``path`` as NWB, with pynwb."""
    import pynwb
    from pynwb.misc import Units

    from . import __version__

    pq = _pq()
    ann = dict(block.annotations)
    start = ann.get("session_start_time") or block.rec_datetime or datetime.datetime.now(datetime.timezone.utc)
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)
    identifier = str(ann.get("identifier") or f"biodyn-{block.name}-{ann.get('seed', 0)}")
    meta = {"name": block.name, "description": block.description, "file_origin": block.file_origin,
            "rec_datetime": block.rec_datetime.isoformat() if block.rec_datetime else None,
            "segments": [{"name": s.name, "description": s.description, "index": s.index}
                         for s in block.segments]}
    nwb = pynwb.NWBFile(
        session_description=str(ann.get("session_description") or block.description
                                or f"biodyn result {block.name}"),
        identifier=identifier,
        session_start_time=start,
        experiment_description=str(block.name or ""),
        protocol=str(ann.get("protocol", "")) or None,
        notes=json.dumps({"annotations": {k: _encode(v) for k, v in ann.items()}, "block": meta},
                         default=str, indent=1),
        source_script=f"biodyn {__version__}",
        source_script_file_name="biodyn",
        keywords=["biodyn", "simulation", "Brian2"],
    )
    module = nwb.create_processing_module(MODULE, "simulated state variables written by biodyn")
    # spike trains -> units
    trains = [(k, st) for k, seg in enumerate(block.segments) for st in seg.spiketrains]
    dt = ann.get("dt")
    resolution = float(dt.rescale(pq.s).magnitude) if isinstance(dt, pq.Quantity) else -1.0
    if trains:
        units = Units(name="units", description="spike trains simulated by biodyn", resolution=resolution)
        names = sorted({a for _, st in trains for a in st.annotations})
        columns = {}
        for a in names:
            values = [st.annotations.get(a) for _, st in trains]
            columns[a], unit = _column([v if v is not None else "" for v in values])
            units.add_column(name=a, description=_describe(unit))
        units.add_column(name="unit_name", description="the SpikeTrain's name")
        units.add_column(name="segment", description="index of the neo Segment")
        units.add_column(name="train_units", description="the unit of the spike times in neo")
        for r, (k, st) in enumerate(trains):
            row = {a: (columns[a][r].item() if isinstance(columns[a][r], np.generic) else columns[a][r])
                   for a in names}
            units.add_unit(spike_times=np.asarray(st.rescale(pq.s).magnitude, dtype=float),
                           obs_intervals=[[float(st.t_start.rescale(pq.s).magnitude),
                                           float(st.t_stop.rescale(pq.s).magnitude)]],
                           unit_name=str(st.name or ""), segment=int(k),
                           train_units=st.units.dimensionality.string, **row)
        nwb.units = units
    # signals
    order = 0
    for k, seg in enumerate(block.segments):
        for sig in seg.analogsignals:
            name = sig.name if len(block.segments) == 1 else f"{sig.name} (segment {k})"
            m = _signal_meta(sig)
            m["segment"], m["order"] = k, order
            order += 1
            chan = {a: list(v) for a, v in sig.array_annotations.items()}
            for a, v in sig.array_annotations.items():  # keep quantities' units per element
                if isinstance(v, pq.Quantity):
                    chan[a] = [pq.Quantity(x, v.units) for x in np.asarray(v.magnitude)]
            if sig.shape[0] == 1:  # one sample per channel: a table, not a time series
                chan = {"value": list(np.asarray(sig.magnitude)[0]), **chan}
                _add_table(module, name, sig.description or f"{sig.name}: one value per channel",
                           chan, m)
                continue
            module.add(pynwb.TimeSeries(
                name=name, data=np.asarray(sig.magnitude, dtype=float), unit=m["units"],
                starting_time=m["t_start"], rate=1.0 / m["sampling_period"],
                description=sig.description or f"{sig.name} (channels in '{name} channels')",
                comments=json.dumps(m, default=str)))
            if chan:
                _add_table(module, f"{name} channels", f"the channels of {sig.name}", chan, {"segment": k})
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _table_columns(table, skip=()):
    """A DynamicTable's columns as lists, with units restored from their descriptions."""
    return {c: _table_column(table, c) for c in table.colnames if c not in skip}


def _array(values):
    pq = _pq()
    if values and all(isinstance(v, pq.Quantity) for v in values):
        return pq.Quantity(np.array([float(v.magnitude) for v in values]), values[0].units)
    return np.asarray(values)


def read(path):
    """The Block of an NWB file: exact for biodyn's files, spike trains for others."""
    import pynwb

    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if str(nwb.source_script or "").startswith("biodyn") and nwb.notes:
            return _read_biodyn(nwb)
        return _read_recording(nwb, path)


def _read_biodyn(nwb):
    import neo
    import pynwb

    pq = _pq()
    notes = json.loads(nwb.notes)
    meta = notes["block"]
    ann = {k: _decode(v) for k, v in notes["annotations"].items()}
    module = nwb.processing.get(MODULE)
    block = neo.Block(name=meta["name"], description=meta["description"],
                      file_origin=meta.get("file_origin"),
                      rec_datetime=datetime.datetime.fromisoformat(meta["rec_datetime"])
                      if meta.get("rec_datetime") else None)
    block.annotate(**ann)
    for s in meta["segments"]:
        seg = neo.Segment(name=s["name"], description=s["description"], index=s["index"])
        seg.block = block
        block.segments.append(seg)
    if nwb.units is not None:
        ucols = _table_columns(nwb.units, skip=("spike_times", "obs_intervals"))
        for r in range(len(nwb.units)):
            t0, t1 = nwb.units["obs_intervals"][r][0]
            unit = ucols["train_units"][r]
            times = (np.asarray(nwb.units["spike_times"][r], dtype=float) * pq.s).rescale(unit)
            st = neo.SpikeTrain(times, t_start=(t0 * pq.s).rescale(unit), t_stop=(t1 * pq.s).rescale(unit),
                                name=ucols["unit_name"][r] or None)
            st.annotate(**{a: ucols[a][r] for a in ucols
                           if a not in ("unit_name", "segment", "train_units") and ucols[a][r] != ""})
            seg = block.segments[int(ucols["segment"][r])]
            st.segment = seg
            seg.spiketrains.append(st)
    signals = []
    for name, obj in (module.data_interfaces.items() if module is not None else ()):
        if name.endswith(" channels"):
            continue
        if isinstance(obj, pynwb.TimeSeries):
            m = json.loads(obj.comments)
            values = np.asarray(obj.data[:], dtype=float)
            chan = _table_columns(module[f"{name} channels"]) if f"{name} channels" in module.data_interfaces else {}
        else:
            m = json.loads(obj.description)
            chan = _table_columns(obj)
            values = np.asarray([float(v) for v in chan.pop("value")])[None, :]
        sig = neo.AnalogSignal(values, units=m["units"], sampling_period=m["sampling_period"] * pq.s,
                               t_start=m["t_start"] * pq.s, name=m["name"], description=m.get("description"))
        sig.annotate(**{k: _decode(v) for k, v in m["annotations"].items()})
        if chan:
            sig.array_annotate(**{a: _array(v) for a, v in chan.items()})
        signals.append((m["order"], m["segment"], sig))
    for _, k, sig in sorted(signals, key=lambda item: item[0]):
        seg = block.segments[k]
        sig.segment = seg
        seg.analogsignals.append(sig)
    return block


def _table_column(table, cname):
    """One column of a table as a list (quantities where the description names a unit)."""
    pq = _pq()
    col = table[cname]
    values = list(col[:])
    try:
        desc = json.loads(col.description)
    except (TypeError, ValueError):
        desc = {}
    if isinstance(desc, dict) and desc.get("units"):
        values = [pq.Quantity(v, desc["units"]) for v in values]
    elif isinstance(desc, dict) and desc.get("json"):
        values = [_decode(json.loads(v)) if isinstance(v, str) and v else v for v in values]
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def _read_recording(nwb, path):
    """An NWB recording's ``units`` table as SpikeTrains (every column an annotation)."""
    import neo

    pq = _pq()
    block = neo.Block(name=str(nwb.identifier), description=str(nwb.session_description),
                      file_origin=str(path), rec_datetime=nwb.session_start_time)
    block.annotate(session_start_time=nwb.session_start_time, identifier=str(nwb.identifier),
                   session_description=str(nwb.session_description))
    seg = neo.Segment(name=f"{nwb.identifier} units", index=0)
    seg.block = block
    block.segments.append(seg)
    units = nwb.units
    if units is None:
        return block
    extra = [c for c in units.colnames if c not in ("spike_times", "obs_intervals", "electrodes",
                                                      "waveform_mean", "waveform_sd", "waveforms")]
    cols = {c: _table_column(units, c) for c in extra}
    ids = list(units.id[:])
    for r in range(len(units)):
        times = np.asarray(units["spike_times"][r], dtype=float)
        if "obs_intervals" in units.colnames and len(units["obs_intervals"][r]):
            iv = np.asarray(units["obs_intervals"][r], dtype=float)
            t0, t1 = float(iv[:, 0].min()), float(iv[:, 1].max())
        else:
            t0, t1 = 0.0, float(times.max(initial=0.0))
        name = cols.get("unit_name", cols.get("_name", [None] * len(units)))[r]
        st = neo.SpikeTrain(times * pq.s, t_start=min(t0, times.min(initial=t0)) * pq.s,
                            t_stop=max(t1, times.max(initial=t1)) * pq.s,
                            name=str(name) if name not in (None, "") else f"unit {ids[r]}")
        st.annotate(unit_id=int(ids[r]), **{c: v[r] for c, v in cols.items()
                                             if c not in ("unit_name", "_name") and v[r] is not None})
        st.segment = seg
        seg.spiketrains.append(st)
    return block
