"""Running a sweep: stream results to disk, resume where a run stopped."""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import io
from ..errors import BiodynError, Interrupted, display_path
from ._spec import axis_unit, load

__all__ = ["run", "SweepResult", "read_results", "MANIFEST", "SUMMARY", "POINTS"]

MANIFEST = "sweep.json"
SUMMARY = "summary.csv"
FIGURE = "summary.png"
POINTS = "points"
_LOCK = ".sweep.lock"
#: Seconds between rewrites of the summary CSV while points finish (and once at the end).
_CSV_EVERY = 0.5


@dataclass
class SweepResult:
    """What a sweep run did.

    Attributes
    ----------
    spec : SweepSpec
    out : Path
        The sweep's folder: ``sweep.json``, ``summary.csv``, ``summary.png``, ``points/``.
    records : dict
        Point name -> result record (as in ``points/NAME.json``) of every
        finished point of the sweep, in the sweep's order.
    computed : int
        Points computed by this call.
    skipped : int
        Points finished by an earlier run and not computed again.
    executor : str
        Where the points ran.
    notes : list of str
    figure : Path or None
        ``summary.png``: each numeric result against the first swept parameter.
    batches : list of list of str
        A dry run's tasks: the names of the points each would run together (one Brian2
        run of copies for a batched replay), in order; empty otherwise.
    """

    spec: object
    out: Path
    records: dict
    computed: int = 0
    skipped: int = 0
    executor: str = ""
    notes: list = field(default_factory=list)
    elapsed: float = 0.0
    figure: Path | None = None
    batches: list = field(default_factory=list)

    @property
    def csv(self):
        return self.out / SUMMARY

    @property
    def failed(self):
        """Names of the points whose last run failed."""
        return [n for n, r in self.records.items() if r["status"] != "ok"]

    @property
    def missing(self):
        """Names of the points not finished (an interrupted run)."""
        return [p.name for p in self.spec.points if p.name not in self.records]

    @property
    def unsettled(self):
        """Point name -> its result columns ``settled(LABELS)`` that are false (conditions whose
        value had not settled by the end of the run: a transient), for every finished point
        that has any (replays of protocols whose engine checks settledness, e.g. song_2000;
        empty for other sweeps)."""
        out = {}
        for name, rec in self.records.items():
            values = rec.get("values") or {}
            if rec.get("status") == "ok" and values.get("n_unsettled"):
                out[name] = [k for k, v in values.items() if k.startswith("settled(") and v is False]
        return out

    @property
    def ok(self):
        return not self.failed and not self.missing

    def table(self):
        """Rows of the summary (dicts, as in the CSV), in the sweep's order."""
        header, rows = _table(self.spec, self.records)
        return [dict(zip(header, r)) for r in rows]


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _exclusive(out):
    """Hold ``out/.sweep.lock`` for the run; a second sweep on the same folder is refused."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / _LOCK
    f = open(path, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows
            pass
        except OSError:
            raise BiodynError(f"another biodyn sweep is writing to {display_path(out)}; wait for "
                              "it to finish or choose another --out") from None
        yield
    finally:
        f.close()


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_results(out, spec=None):
    """The result records in a sweep folder: point name -> record.

    With ``spec``, only the points of that sweep whose record matches their key.
    """
    out = Path(out)
    folder = out / POINTS
    records = {}
    if spec is None:
        for path in sorted(folder.glob("*.json")):
            rec = _read_json(path)
            if rec and "point" in rec:
                records[rec["point"]] = rec
        return records
    for p in spec.points:
        rec = _read_json(folder / f"{p.name}.json")
        if rec and rec.get("key") == p.key:
            records[p.name] = rec
    return records


def _check_same_sweep(out, spec, records):
    """Refuse to mix results of a sweep with other settings into this folder."""
    mine = spec.fingerprint()
    manifest = _read_json(out / MANIFEST)
    theirs = []
    if manifest and manifest.get("fingerprint") not in (None, mine):
        theirs.append(manifest.get("fingerprint_data", {}))
    theirs += [r.get("fingerprint_data", {}) for r in records.values()
               if r.get("fingerprint") not in (None, mine)]
    if not theirs:
        return
    now = spec.fingerprint_data()
    other = theirs[0]
    changed = [k for k in sorted(set(now) | set(other)) if now.get(k) != other.get(k)]
    if "run" in changed:
        a, b = now.get("run", {}), other.get("run", {})
        changed = [c for c in changed if c != "run"] + [
            f"run.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    raise BiodynError(f"{display_path(out)} holds results of a sweep with other settings (changed: "
                      f"{', '.join(changed) or 'settings'}); choose another --out, or remove the "
                      "folder to start again")


def _same_columns(out, spec, runner, settings, records):
    """Make the finished points' result columns those this version writes, before a resume.

    A point recorded by another biodyn whose job wrote other columns (its record's
    ``values_version`` differs from the runner's; none: version 1) would mix old and new
    columns in ``summary.csv`` (blank cells where a column was not written yet). Each such
    point's values are rebuilt from the files it wrote (:meth:`Runner.rebuild_values`) and its
    record rewritten (atomically, with ``values_rebuilt``: the version it had, when, by which
    biodyn); if any point cannot be rebuilt, nothing is rewritten and the resume is refused
    with one error naming the folder, the versions and what differs. Returns a note, or
    ``None`` when every point already has this version's columns. Failed points run again
    and are left as they are.
    """
    from .. import __version__
    from ._runners import recorded_version

    mine = runner.values_version
    stale = {n: r for n, r in records.items()
             if r.get("status") == "ok" and r.get("values_version", 1) != mine}
    if not stale:
        return None
    points = {p.name: p for p in spec.points}
    theirs = sorted({r.get("values_version", 1) for r in stale.values()})
    new, errors = {}, []
    for name, rec in stale.items():
        try:
            new[name] = runner.rebuild_values(rec, points[name], settings, out)
        except BiodynError as exc:
            errors.append((name, str(exc)))
    what = "; ".join(f"version {v}: {t}" for v, t in sorted(runner.values_changes.items())
                     if v > min(theirs)) or "other result columns"
    if errors:
        name, why = errors[0]
        raise BiodynError(
            f"{display_path(out)}: {len(stale)} finished point{'s' if len(stale) != 1 else ''} "
            f"hold{'s' if len(stale) == 1 else ''} the result columns of version "
            f"{'/'.join(map(str, theirs))} of the {spec.job!r} job (their records: "
            f"{', '.join(sorted({recorded_version(r) for r in stale.values()}))}), and this biodyn "
            f"writes values_version {mine} ({what}); resuming would mix the two in {SUMMARY}, and "
            f"{len(errors)} of them cannot be rebuilt from their files (point {name}: {why}); "
            "choose another --out, or remove the folder to run the sweep again")
    stamp = {"from_version": None, "at": _now(), "biodyn": __version__}
    for name, values in new.items():
        rec = dict(stale[name])
        rebuilt = dict(stamp, from_version=rec.get("values_version", 1))
        rec["values"] = values
        rec["values_version"] = mine
        rec["values_rebuilt"] = rebuilt
        io.write_json(rec, out / POINTS / f"{name}.json")
        records[name] = rec
    return (f"{len(new)} finished point{'s' if len(new) != 1 else ''} of an older biodyn (result "
            f"columns version {'/'.join(map(str, theirs))}, now {mine}: {what}) had their "
            f"columns rebuilt from their files (values_rebuilt in points/NAME.json)")


def _point_task(point, out):
    return {"name": point.name, "key": point.key, "params": dict(point.params),
            "seed": point.seed, "out": str((out / POINTS / point.name).resolve())}


def _receive_files(rec, out, point):
    """Write the files a remote worker sent back with ``rec`` into the point's folder.

    Each file is written atomically; ``rec["paths"]`` (relative to the point's folder on
    the worker) become paths in this sweep's folder.
    """
    files = rec.pop("files", None)
    relative = rec.pop("paths_relative", False)
    if files is None:
        return rec
    folder = out / POINTS / point.name
    for rel, data in files.items():
        target = folder / rel
        if folder.resolve() not in target.resolve().parents:
            raise BiodynError(f"a worker sent a file outside its point's folder: {rel!r}")
        with io.atomic_path(target) as tmp:
            Path(tmp).write_bytes(data)
    if relative:
        rec["paths"] = {k: str(folder / v) if not Path(v).is_absolute() else v
                        for k, v in rec.get("paths", {}).items()}
    return rec


def _finish_record(rec, spec, point, out, values_version=1):
    rec.update({
        "values_version": values_version,
        "sweep": spec.name,
        "job": spec.job,
        "params": point.params_text(),
        "replicate": point.replicate,
        "seed": point.seed,
        "sweep_seed": spec.seed,
        "fingerprint": spec.fingerprint(),
        "fingerprint_data": spec.fingerprint_data(),
    })
    paths = {}
    for k, v in rec.get("paths", {}).items():
        try:
            paths[k] = str(Path(v).resolve().relative_to(out.resolve()))
        except ValueError:
            paths[k] = str(v)
    rec["paths"] = paths
    order = ["sweep", "point", "key", "params", "replicate", "seed", "sweep_seed", "status",
             "values", "units", "values_version", "paths", "error", "timings", "started", "finished", "worker",
             "versions", "job", "fingerprint", "fingerprint_data", "traceback"]
    return {k: rec.get(k) for k in order if k in rec} | {k: v for k, v in rec.items() if k not in order}


def _lost_record(point, error):
    return {"point": point.name, "key": point.key, "status": "failed", "values": {}, "units": {},
            "paths": {}, "error": error, "traceback": None, "timings": {}, "started": None,
            "finished": _now(), "worker": None}


# --------------------------------------------------------------------------
# The summary table
# --------------------------------------------------------------------------


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


_PARAM_CELLS = {}


def _param_part(spec):
    """Header and per-point cells of the parameter columns (computed once per spec)."""
    cached = _PARAM_CELLS.get(id(spec))
    if cached is not None and cached[0] is spec:
        return cached[1]
    names = spec.parameter_names()
    units = {n: axis_unit([p.params[n] for p in spec.points if n in p.params]) for n in names}
    header = [f"{n} [{units[n]}]" if units[n] is not None else n for n in names]
    if spec.replicates is not None:
        header.append("replicate")
    header.append("seed")
    cells = {}
    for p in spec.points:
        row = []
        for n in names:
            if n not in p.params:
                row.append("")
                continue
            v = p.params[n]
            if units[n] is not None:
                row.append(_cell(float(v / units[n])))
            elif isinstance(v, float):
                row.append(_cell(float(f"{v:.12g}")))
            else:
                row.append(_cell(v))
        if spec.replicates is not None:
            row.append(str(p.replicate))
        row.append(str(p.seed))
        cells[p.name] = row
    _PARAM_CELLS.clear()  # one sweep at a time is the common case: keep the cache small
    _PARAM_CELLS[id(spec)] = (spec, (header, cells))
    return header, cells


def _table(spec, records):
    param_header, param_cells = _param_part(spec)
    header = ["point", "status"] + param_header
    columns = {}
    for p in spec.points:
        rec = records.get(p.name)
        if rec:
            units = rec.get("units", {})
            for name in rec.get("values", {}):
                columns.setdefault((name, units.get(name)), None)
    taken = set(header) | {"run_s", "error"}
    for n, u in columns:  # a result named like a parameter column gets a prefix
        name = f"{n} [{u}]" if u else n
        header.append(f"result.{name}" if name in taken or n in taken else name)
    header += ["run_s", "error"]
    rows = []
    for p in spec.points:
        rec = records.get(p.name)
        if rec is None:
            continue
        row = [p.name, rec["status"]] + param_cells[p.name]
        values, vunits = rec.get("values", {}), rec.get("units", {})
        for n, u in columns:
            row.append(_cell(values.get(n)) if n in values and vunits.get(n) == u else "")
        row.append(_cell(rec.get("timings", {}).get("run_s")))
        row.append(rec.get("error") or "")
        rows.append(row)
    return header, rows


def write_summary(spec, records, path):
    """Write the summary CSV (one row per finished point, the sweep's order), atomically."""
    header, rows = _table(spec, records)
    with io.atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return path


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def write_figure(csv_path, path):
    """Draw the summary table (:func:`biodyn.plot.sweep_summary`) to ``path``, atomically;
    ``biodyn plot OUT/summary.csv`` redraws it."""
    from .. import jobs, plot

    return plot.save(plot.sweep_summary(jobs.sweep_table(csv_path)), path)


def _emitter(progress):
    if progress is None or progress is False:
        return lambda text: None
    if progress is True:
        return lambda text: print(text, file=sys.stderr, flush=True)
    return progress


def _bar(fraction, width=20):
    filled = int(round(fraction * width))
    return "#" * filled + "." * (width - filled) + f" {100 * fraction:3.0f}%"


def _eta(t0, computed, remaining):
    """``'eta 42 s  '`` from the mean time per point computed so far (empty when done)."""
    from .._progress import eta_text

    if remaining <= 0 or computed <= 0:
        return ""
    return f"eta {eta_text((time.perf_counter() - t0) / computed * remaining)}  "


def _manifest(spec, out, run_entry, previous):
    runs = list((previous or {}).get("runs", []))
    runs.append(run_entry)
    return {
        "sweep": spec.name,
        "spec": str(spec.path.resolve()) if spec.path else None,
        "description": spec.description,
        "job": spec.job,
        "seed": spec.seed,
        "fingerprint": spec.fingerprint(),
        "fingerprint_data": spec.fingerprint_data(),
        "seed_derivation": "seed = SeedSequence(sweep_seed, spawn_key=(int.from_bytes(sha256(key)"
                           "[:8], 'little'),)).generate_state(1, uint32)[0] % 2**31",
        "n_points": len(spec.points),
        "points": [{"point": p.name, "key": p.key, "params": p.params_text(),
                    "replicate": p.replicate, "seed": p.seed} for p in spec.points],
        "runs": runs,
    }


def run(sweep, *, out=None, scheduler=None, workers=None, progress=None, dry_run=False, batch=None):
    """Run a sweep: every point not finished yet, results streamed to ``out``.

    Parameters
    ----------
    sweep : str or SweepSpec
        Catalog name or path of a sweep spec (or a loaded spec).
    out : path, optional
        The sweep's folder (default: the spec's ``out``, else ``results/NAME``).
    scheduler : str, optional
        A dask scheduler address; default: a local dask cluster (or, without
        dask, the standard library's process pool).
    workers : int, optional
        Worker processes of the local cluster (default: CPUs, at most the
        points to run); ``0`` runs the points in this process.
    progress : bool or callable, optional
        ``True`` prints a line per finished point on stderr; a callable gets
        the lines instead.
    dry_run : bool
        Only report which points are finished and which would run (``batch`` is checked as
        the run checks it).
    batch : int or "auto", optional
        Points per task (``--batch``), overriding the ``[run]`` table's ``batch``: for
        ``replay``, points sharing their code run as independent copies of ONE Brian2 run
        (``"auto"``, the default there: batches sized to memory; ``1``: every point its own
        run); each point still gets its own files and record, which name the batch
        (``extra.batch``: size and copy index). A batch is one task (one dask task).

    Returns
    -------
    SweepResult

    Notes
    -----
    A point is *finished* once its result file ``points/NAME.json`` is written
    (atomically, by this process, after the worker returned). Finished points
    with status ``ok`` are never computed again; failed points are run again
    by the next run of the sweep; a point interrupted before its result file
    was written is not finished and runs again.

    Ctrl-C or SIGTERM (to this process, or to the whole process group as a
    terminal sends it) stops the points in flight: their Brian2 runs end at the
    current time step, they write no file and no record, and this function
    raises :class:`~biodyn.errors.Interrupted` once the cluster is closed and the
    summary of the finished points is written. Running the sweep again resumes it.
    """
    spec = load(sweep)
    emit = _emitter(progress)
    out = Path(out if out is not None else (spec.out or Path("results") / spec.name))
    from ._runners import get_runner

    runner = get_runner(spec.job, file=spec.file)
    settings = dict(spec.settings)
    if dry_run:
        runner.check_batch(settings, batch)  # a dry run refuses what the run would refuse
        records = read_results(out, spec) if out.is_dir() else {}
        done = {n: r for n, r in records.items() if r.get("status") == "ok"}
        todo = [p for p in spec.points if p.name not in done]
        n_workers = 1 if workers == 0 else (workers or os.cpu_count() or 1)
        # the tasks the run would form (a dry run shows how the points would be batched)
        batches, notes = runner.batches(spec, settings, todo, n_workers, batch) if todo else ([], [])
        stale = sum(r.get("values_version", 1) != runner.values_version for r in done.values())
        if stale:  # what the run does first (_same_columns)
            notes = list(notes) + [
                f"{stale} finished point{'s' if stale != 1 else ''} hold{'s' if stale == 1 else ''} "
                f"the result columns of another biodyn (values_version, now "
                f"{runner.values_version}): the run rebuilds them from their files, or refuses"]
        return SweepResult(spec, out, records, 0, len(done), "none (dry run)", notes=list(notes),
                           batches=[[p.name for p in b] for b in batches])
    io.check_writable(out, "--out", folder=True)  # before any worker starts
    t_start = time.perf_counter()
    with _exclusive(out):
        records = read_results(out, spec)
        _check_same_sweep(out, spec, records)
        rebuilt = _same_columns(out, spec, runner, settings, records)
        previous = _read_json(out / MANIFEST)
        done = {n: r for n, r in records.items() if r.get("status") == "ok"}
        todo = [p for p in spec.points if p.name not in done]
        n_workers = 1 if workers == 0 else (workers or os.cpu_count() or 1)
        batches, batch_notes = runner.batches(spec, settings, todo, n_workers, batch)
        run_entry = {"started": _now(), "finished": None, "executor": None, "computed": 0,
                     "failed": 0, "skipped": len(done),
                     # what shaped this run's tasks: the batch asked for (--batch, else [run]
                     # batch, else the job's default) and the points per task it gave
                     "batch": {"requested": batch if batch is not None else
                               settings.get("batch", "auto" if spec.job == "replay" else 1),
                               "tasks": [len(b) for b in batches], "notes": list(batch_notes)}}
        csv_path = out / SUMMARY
        write_summary(spec, records, csv_path)
        result = SweepResult(spec, out, records, 0, len(done))
        if rebuilt:
            result.notes.append(rebuilt)
            emit(f"note: {rebuilt}")
        if not todo:
            io.write_json(_manifest(spec, out, dict(run_entry, finished=_now(), executor="none"),
                                    previous), out / MANIFEST)
            emit(f"sweep {spec.name}: all {len(spec.points)} points finished earlier; nothing to run")
            result.executor = "none"
            result.figure = write_figure(csv_path, out / FIGURE)
            return result
        from ._worker import execute, one_line

        n_total = len(spec.points)
        finished = len(done)
        failed = 0
        futures = {}
        last_csv = 0.0
        started = []
        try:
            with _deferred_interrupts():  # a cluster is never left half started
                started.append(_make(scheduler, workers, len(batches)))
            executor = started[0]
            result.executor = run_entry["executor"] = executor.description
            result.notes += list(executor.notes) + list(batch_notes)
            for note in result.notes[bool(rebuilt):]:
                emit(f"note: {note}")
            io.write_json(_manifest(spec, out, run_entry, previous), out / MANIFEST)
            emit(f"sweep {spec.name}: {len(spec.points)} points, {len(done)} finished earlier, "
                 f"{len(todo)} to run on {executor.description} -> {display_path(out)}")
            t_compute = time.perf_counter()
            transfer = not getattr(executor, "shares_files", True)
            for batch in batches:
                task = {"job": spec.job, "settings": settings, "transfer": transfer,
                        "batched": len(batch) > 1,
                        "points": [_point_task(p, out) for p in batch]}
                futures[executor.submit(execute, task)] = batch
            seen_events = 0
            for future, outcome in executor.as_completed(list(futures)):
                batch = futures.pop(future)
                events = getattr(executor, "events", [])
                for event in events[seen_events:]:
                    emit(f"warning: dask worker {event['worker']} was lost at {event['time']}"
                         + (f"; running again elsewhere: {', '.join(event['retried'])}"
                            if event["retried"] else ""))
                seen_events = len(events)
                try:
                    raw = outcome.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # the worker died, or could not run the task
                    raw = [_lost_record(p, f"no result from the worker: {one_line(exc)}")
                           for p in batch]
                stopped = [rec for rec in raw if rec.get("status") == "interrupted"]
                # a batch's points finish together: one time left for all, with the batch done
                done = len(raw) - len(stopped)
                eta = _eta(t_compute, result.computed + done, n_total - finished - done)
                for point, rec in zip(batch, raw):
                    if rec.get("status") == "interrupted":
                        continue  # not finished: never written, run again by the next run
                    rec = _finish_record(_receive_files(rec, out, point), spec, point, out,
                                         runner.values_version)
                    io.write_json(rec, out / POINTS / f"{point.name}.json")
                    records[point.name] = rec
                    result.computed += 1
                    finished += 1
                    ok = rec["status"] == "ok"
                    failed += not ok
                    secs = rec.get("timings", {}).get("run_s")
                    took = f" in {secs:.2f} s" if isinstance(secs, (int, float)) else ""
                    line = (f"[{finished:>{len(str(n_total))}}/{n_total}] "
                            f"{_bar(finished / n_total)} {eta}"
                            f"{'ok    ' if ok else 'FAILED'} {point.label()}{took}")
                    if not ok:
                        line += f": {rec.get('error')}"
                    emit(line)
                if stopped:  # a worker was interrupted: so is the sweep
                    raise Interrupted(stopped[0].get("signal", signal.SIGINT))
                now = time.perf_counter()
                if now - last_csv > _CSV_EVERY or not futures:
                    write_summary(spec, records, csv_path)
                    last_csv = now
        except KeyboardInterrupt:
            emit(f"sweep {spec.name}: interrupted; {finished} of {n_total} points finished (kept), "
                 f"{n_total - finished} not; run the same command again to resume")
            raise
        finally:
            if started:
                with _deferred_interrupts():
                    if futures:
                        started[0].cancel(list(futures))
                    started[0].close()
            result.records = {p.name: records[p.name] for p in spec.points if p.name in records}
            write_summary(spec, records, csv_path)
            run_entry.update(finished=_now(), computed=result.computed, failed=failed,
                             interrupted=bool(futures))
            lost = list(getattr(started[0], "events", [])) if started else []
            if lost:  # workers that left the cluster, and the points dask ran again elsewhere
                run_entry["workers_lost"] = lost
            io.write_json(_manifest(spec, out, run_entry, previous), out / MANIFEST)
    result.elapsed = time.perf_counter() - t_start
    if result.records:
        result.figure = write_figure(out / SUMMARY, out / FIGURE)
    n_ok = sum(r["status"] == "ok" for r in result.records.values())
    emit(f"sweep {spec.name}: {n_ok}/{len(spec.points)} points ok"
         + (f", {len(result.failed)} failed" if result.failed else "")
         + f" ({result.computed} computed in {result.elapsed:.1f} s, {result.skipped} finished earlier)")
    return result


@contextlib.contextmanager
def _deferred_interrupts():
    """Hold SIGINT/SIGTERM until the block is done, then deliver them.

    Starting or closing a cluster cut by Ctrl-C leaves processes behind and
    tracebacks at exit; the signal is delivered (to the handler there was)
    as soon as the cluster is up, or closed.
    """
    import signal

    from .._signals import handling

    pending = []
    try:
        with handling(lambda signum, frame: pending.append(signum)):
            yield
    finally:
        for sig in dict.fromkeys(pending):
            signal.raise_signal(sig)


def _make(scheduler, workers, n_tasks):
    from ._executors import make_executor

    return make_executor(scheduler, workers, n_tasks)
