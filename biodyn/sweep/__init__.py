"""Sweeps: one job over many points, on this machine or a dask.distributed cluster.

A sweep runs one job (a protocol replay, an analysis, any Python function) at
every point of a parameter grid, for every replicate seed, and streams the
results to disk as points finish: one result file per point (written
atomically) and a summary table (CSV) updated as it goes. Run it again and it
computes only what is missing, so an interrupted sweep resumes where it stopped.

The spec (TOML, ``kind = "sweep"``)::

    kind = "sweep"
    description = "STDP window of the pair rule against tau_plus (Song et al. 2000 values)"
    seed = 20240611          # the sweep's seed: every point's seed derives from it
    n_seeds = 3              # replicates: run every point 3 times (or seeds = [0, 1, 2])
    combine = "product"      # grid axes: all combinations ("product", default) or "zip"
    out = "results/stdp_tau" # relative to the current folder; default results/NAME; --out overrides

    [run]                    # what runs at each point: a job and its fixed settings
    job = "replay"
    protocol = "bi_poo_1998"
    target = "numpy"
    stimulus = { repetitions = 5 }

    [grid]                   # parameters, with units
    tau_plus = ["10 ms", "16.8 ms", "20 ms"]
    A_plus = { start = "0.001", stop = "0.01", num = 4, scale = "log" }
    stimulus.frequency = ["1 Hz", "5 Hz"]

    [[points]]               # optional: explicit points (combined with the grid as a product)
    variants.pairing = "nearest"

Values
    A string starting with a number is a quantity with its unit (``"16.8 ms"``,
    ``"2e-3"``, ``"-70 mV"``); TOML numbers are dimensionless numbers (integers
    stay integers); other strings are text (variant options, set names);
    ``{start, stop, num, scale}`` gives ``num`` values from start to stop
    (included), evenly spaced (``scale = "linear"``, default) or geometrically
    (``"log"``), rounded to 12 significant digits. All values of one parameter
    are of one kind, and quantities of one dimension. A single value (not a
    list) fixes a parameter for every point.

Combining
    ``combine = "product"`` (default): every combination of the axes, the last
    axis varying fastest. ``combine = "zip"``: the k-th point takes the k-th
    value of every axis (axes of equal length; single values repeat).
    ``[[points]]`` lists points explicitly; with a grid too, each listed point
    is combined with every grid point. Replicates multiply everything.

What to run (``[run] job = ...``, :data:`RUNNERS`)
    ``"replay"``: :func:`biodyn.jobs.replay` of ``protocol``, with ``model``,
    ``params``, ``set`` (fixed overrides), ``variants``, ``stimulus``,
    ``target`` (default ``auto``), ``format`` and ``batch`` (``"auto"``, default,
    ``N`` or ``1``: see *Vectorising points*). Point parameters are model
    parameters (``tau_plus``), ``stimulus.KEY``, ``variants.AXIS``, ``model`` or
    ``parameter_set``. Each point writes PROTOCOL.{pkl,png,json} in its folder;
    its CSV columns are ``chi``, ``n_scored`` and ``value(LABELS)`` per condition.
    A protocol whose engine checks that each value settled by the end of its run
    (``poisson_network``: song_2000's output rates) adds ``n_unsettled`` (how many
    of the point's conditions had not: 0 when every value is a settled result) and
    ``settled(LABELS)`` beside each ``value(LABELS)`` (``true``/``false``, read by
    pandas as booleans: ``df["value(X)"].where(df["settled(X)"])`` keeps the
    settled values only). One column per condition rather than one list of
    labels: a boolean mask aligned with its value column, and a
    ``df[df.n_unsettled == 0]`` for points with every value settled.
    ``summary.png`` draws an unsettled value as an open marker off the line (with
    replicates: if any had not settled), and ``biodyn sweep`` ends with one
    ``NOT SETTLED`` line naming how many points had unsettled values
    (:attr:`SweepResult.unsettled`). Other protocols' columns are as before.
    ``"callable"``: ``function = "package.module:function"`` or
    ``"path/file.py:function"`` (relative to the spec), called as
    ``f(params, seed, out, **kwargs)`` and returning a flat dict of scalars
    (numbers, Brian2 quantities, text) or a :class:`PointResult`. With
    ``batch = N`` it gets a list of up to N :class:`PointTask` and returns a
    list of results: several points in ONE Brian2 run.
    ``"analyze lyapunov"``: :func:`biodyn.jobs.analyze_lyapunov` of ``model``
    with ``params``, ``set``, ``variants`` and the analysis settings
    (``duration``, ``dt``, ``transient``, ``k``, ``method``, ``integrator``,
    ``reorth_every``, ``segments``, ``target``, ``d0``, ``reading``). Point
    parameters are model parameters, ``variants.AXIS``, ``parameter_set`` or
    ``analysis.KEY``. Columns: ``lambda_max``, ``lambda_1`` ... (per time unit
    of the model, named in ``time_unit``), ``lambda_max_se``, ``sum``,
    ``kaplan_yorke``, ``entropy_rate``, ``method``, ``duration``; each point
    writes MODEL_lyapunov.png and lyapunov.json.
    ``"analyze flow"``: :func:`biodyn.jobs.analyze_flow` of a protocol scenario;
    ``"compare"``: :func:`biodyn.jobs.compare` of a comparison; ``"train"``:
    :func:`biodyn.jobs.train` of ``task`` (grid over ``net``, ``hidden``, ``g``, ``lr``, ...
    or the task's parameters such as ``delay``; columns ``train_loss``, ``test_loss``,
    ``train_metric``, ``test_metric``, ``lambda_1`` ... of the last spectrum) (see
    ``biodyn/sweep/_runners.py`` for their point parameters and CSV columns). A job
    an installation lacks gives a clear error naming it.

Point identity and seeds
    A point's key is the JSON text of its sorted ``[name, value]`` pairs, values
    written unit-independently (SI units, 12 significant digits, see
    :func:`point_key`); its result file is ``points/NAME.json`` where ``NAME``
    shows the values and ends in 10 hex digits of the key's SHA-256. Editing the
    grid's order, or writing ``"0.01 second"`` for ``"10 ms"``, changes no key, so
    finished points are found again. A point's seed is derived from the sweep's
    seed and its key (:func:`point_seed`)::

        h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        seed = int(np.random.SeedSequence(sweep_seed, spawn_key=(h,))
                   .generate_state(1, dtype=np.uint32)[0]) % 2**31

    ``seeds = [0, 1, 2]`` are replicate *labels* (part of the key), not the seeds
    used: two replicates, or two sweeps with different ``seed``, get
    independent streams. Every result file records ``key``, ``seed``,
    ``sweep_seed`` and ``replicate``, so a point can be re-run by hand
    (``biodyn replay ... --seed SEED``).

Files (in ``out``)
    ``sweep.json`` (the points, their keys and seeds, the settings'
    fingerprint, a log of runs), ``summary.csv`` (one row per finished point in
    the sweep's order: point, status, parameters — quantities as numbers in the
    column's unit, named ``tau_plus [ms]`` —, replicate, seed, results —
    quantities in SI units, named ``lambda [Hz]`` —, run time and error),
    ``points/NAME.json`` (each point's result record) and ``points/NAME/``
    (the files the point's job wrote).

Resuming
    A point is finished once its result file is written. Re-running a sweep
    skips points finished with status ``ok``; points that failed are run again
    (their error record is replaced); points interrupted before their result
    file was written run again. A folder holding results of the same sweep
    with other settings (job, ``[run]`` table, seed) is refused rather than
    mixed. Each point record carries ``values_version``, the version of its job's
    result columns (none: 1; ``replay`` is 2 since the ``settled(...)`` columns): a
    finished point of another version (an older biodyn) would mix old and new
    columns in ``summary.csv``, so a resume rebuilds its values from the files it
    wrote (``replay``: its PROTOCOL.json; the record gets ``values_rebuilt``) or,
    if any cannot be rebuilt (a replay JSON written before its engine checked
    settledness), refuses with one error naming the folder and the columns that
    differ, rewriting nothing. Two runs cannot write to one folder at the same time (a lock file).

Where points run
    Without a scheduler address, an embedded dask ``LocalCluster`` on loopback
    (processes, one thread each, ``OMP_NUM_THREADS=1``, no dashboard); with
    one, ``distributed.Client(ADDRESS)``; without dask, the standard library's
    process pool (with a note). The result files and the CSV are written by the
    process that runs the sweep; files a job writes itself (replay's neo file
    and figure) are written by the worker, so on a cluster ``out`` must be on a
    filesystem the workers share, and the callable's module importable there.

Compile once
    Replay points on ``cpp_standalone`` build in a project folder keyed by the
    protocol, the model and its variants AND by a worker slot
    (:func:`worker_slot`: a lock file claimed per process), so two processes
    never build in one folder. Within a worker, :func:`biodyn.protocols.run`
    keeps the compiled build and reruns the same binary with the next point's
    values (``device.run(run_args=...)``): a worker compiles once per model
    structure, and every further point that differs only in values (model
    parameters, initial values, stimulus timing with the same numbers of
    spikes) is a rerun without code generation or compilation. The result
    file's ``extra.timings`` shows ``build`` or ``rerun`` (the keys and what each
    measures: :data:`biodyn.protocols.TIMINGS`; ``total`` is the Brian2 run behind the
    point, in a batch the batch's, and ``per_point`` the point's share of it, the one to
    add up over points).

Vectorising points (batches)
    Protocol conditions already run side by side in one Brian2 run; replay points do too.
    With ``batch = "auto"`` (the default of ``job = "replay"``; ``--batch`` overrides it),
    the points whose replays share their code — the same model and variants, the same
    values of the stimulus keys that shape the build — go to one task, and
    :func:`biodyn.protocols.run_batch` runs them as independent copies of ONE Brian2 run:
    each point a copy of the protocol's circuit, its inputs drawn from its own seed exactly
    as its own run draws them, the model parameters that differ between the points
    per-element variables (one value per synapse or neuron of each copy), the others
    shared as in a run alone. Each point's result is the one it gets alone, to the last
    bit (the tests compare them on numpy and cpp_standalone); points that differ in code
    (a variant, another model, another duration) form other batches. ``auto`` sizes
    batches to memory (the engine's estimate per copy against a quarter of the memory
    available, shared by the workers) and makes at least as many batches as workers; a
    batch is one task, on one worker (one dask task). ``batch = N`` sets the size, and
    ``batch = 1`` runs every point alone (with the compile-once reruns above). Engines
    declare whether they batch (``Engine.batch``: ``poisson_network`` and ``spike_pattern``
    do; the others run points alone, with a note), and so do models: one that draws
    Brian2 random numbers runs its points alone (one random stream per run). Every point
    still gets its own files, record and CSV row; its record (``extra.batch``), its
    replay JSON and neo annotations (``batch``) and its figure's line name the batch's
    size and the point's copy index. A batch interrupted (Ctrl-C, SIGTERM) writes none
    of its points; ``batch`` is not part of a sweep's settings (a folder computed batched
    resumes unbatched). ``job = "callable"`` with ``batch = N`` hands N points to one
    call (e.g. one neuron group per coupling value), computed exactly as the function
    computes them (a batch that raises fails all of its points).

Exit status of ``biodyn sweep``: 0 when every point is ok, 1 when some failed,
2 for bad input (one line naming file, key, expected and found).
"""

from ._runners import (RUNNERS, MissingJob, PointResult, PointTask, Runner, get_runner,
                       load_callable, register_runner, worker_slot)
from ._run import MANIFEST, POINTS, SUMMARY, SweepResult, read_results, run, write_summary
from ._spec import Point, SweepSpec, from_dict, load, point_key, point_seed

__all__ = ["run", "load", "from_dict", "SweepSpec", "Point", "SweepResult", "PointResult",
           "PointTask", "Runner", "RUNNERS", "register_runner", "get_runner", "point_key",
           "point_seed", "read_results", "write_summary", "load_callable", "worker_slot",
           "MissingJob", "MANIFEST", "SUMMARY", "POINTS"]
