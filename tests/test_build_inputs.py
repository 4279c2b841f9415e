"""Input spikes of biodyn's standalone builds live in Python (issue 17, sweep throughput).

A replaceable ``SpikeGeneratorGroup`` (``stimuli.spike_generator(..., replaceable=True)``) under
a standalone :class:`biodyn.build.Simulation` is neither compiled into the project as static
arrays nor written back after the run: the binary gets the arrays its code reads as run
arguments at every run. The runs must still be the runs of those spikes (the numpy target's),
and the group's arrays must read what ran."""

import numpy as np
import pytest
from brian2 import NeuronGroup, SpikeMonitor, Synapses, ms, second

from biodyn import build, stimuli
from biodyn.errors import SimulationError

IDX = np.array([0, 1, 0, 2, 0, 1], dtype=np.int32)
T = np.array([1.0, 1.5, 2.0, 2.2, 2.4, 3.0]) * 1e-3
IDX2 = np.array([2, 2, 2, 1, 0, 0], dtype=np.int32)
T2 = np.array([1.0, 1.2, 1.4, 5.0, 6.0, 6.2]) * 1e-3


def _circuit(replaceable):
    g = stimuli.spike_generator(3, IDX, T * second, name="inputs", replaceable=replaceable)
    return _circuit_on(g)


def _circuit_on(g):
    n = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", threshold="v > 1.5", reset="v = 0",
                    method="exact", name="post")
    s = Synapses(g, n, on_pre="v += 1", name="syn")
    s.connect(j="i")
    m = SpikeMonitor(n, name="mon")
    return g, (g, n, s, m), m


def _spikes(m):
    return sorted(zip(np.asarray(m.i[:]).tolist(), np.round(np.asarray(m.t[:] / ms), 6).tolist()))


def _numpy_spikes(idx, t):
    with build.Simulation("numpy") as sim:
        g, objects, m = _circuit(False)
        if idx is not IDX:
            g.set_spikes(idx, t * second, sorted=True)
        sim.run(20 * ms, *objects)
        return _spikes(m)


def test_generated_project_holds_no_input_spikes_and_writes_none_back(tmp_path):
    with build.Simulation("cpp_standalone", directory=tmp_path / "p") as sim:
        g, objects, m = _circuit(True)
        sim.network(*objects)
        sim._network.run(20 * ms, namespace={})
        sim._device.build(directory=str(tmp_path / "p"), compile=False, run=False)
        device = sim._device
    static = [p.name for p in (tmp_path / "p" / "static_arrays").iterdir()]
    assert not [name for name in static if "inputs" in name], static
    objects_cpp = (tmp_path / "p" / "objects.cpp").read_text()
    for name in ("neuron_index", "spike_time", "_timebins", "spike_number"):
        assert f"outfile__dynamic_array_inputs_{name};" not in objects_cpp
    assert "outfile__dynamic_array_mon_t;" in objects_cpp  # the monitor's results are written
    main = (tmp_path / "p" / "main.cpp").read_text()
    assert "_dynamic_array_inputs_" not in main  # sized by each run's files, not compiled in
    assert objects_cpp.count("_biodyn_read_input(name, _dynamic_array_inputs_") == 2
    # the Python side holds the build's spikes
    held = {v.name: a for v, a in device.input_arrays.values()}
    np.testing.assert_array_equal(held["neuron_index"], IDX)
    np.testing.assert_array_equal(held["spike_time"], T)
    np.testing.assert_array_equal(held["_timebins"], stimuli.timebins(T, 1e-4))


@pytest.mark.compiled
def test_runs_and_reruns_are_those_of_their_spikes_and_arrays_read_what_ran(tmp_path):
    with build.Simulation("cpp_standalone", directory=tmp_path / "p", keep=True) as sim:
        g, objects, m = _circuit(True)
        sim.run(20 * ms, *objects)
    assert _spikes(m) == _numpy_spikes(IDX, T)
    np.testing.assert_array_equal(g.spike_time[:] / second, T)
    assert not [p for p in (tmp_path / "p" / "results").iterdir() if "inputs_spike" in p.name]
    sim.rerun(stimuli.generator_values(g, IDX2, T2, 1e-4))
    assert _spikes(m) == _numpy_spikes(IDX2, T2)
    np.testing.assert_array_equal(g.neuron_index[:], IDX2)
    np.testing.assert_array_equal(g.spike_time[:] / second, T2)
    # a rerun without input values runs the build's spikes (not the last rerun's)
    sim.rerun({})
    assert _spikes(m) == _numpy_spikes(IDX, T)
    np.testing.assert_array_equal(g.spike_time[:] / second, T)
    # the steps and indices of other spikes without their times: the times are not known
    sim.rerun({g.neuron_index: IDX2, g._timebins: stimuli.timebins(T2, 1e-4), g._lastindex: 0})
    assert _spikes(m) == _numpy_spikes(IDX2, T2)
    with pytest.raises(SimulationError, match="inputs.spike_time is not known"):
        g.spike_time[:]
    # spikes of another number run on the same build
    idx3, t3 = np.array([1, 0, 2, 1], dtype=np.int32), np.array([0.5, 0.9, 1.1, 1.7]) * 1e-3
    sim.rerun(stimuli.generator_values(g, idx3, t3, 1e-4))
    assert _spikes(m) == _numpy_spikes(idx3, t3)
    np.testing.assert_array_equal(g.spike_number[:], np.arange(4))
    sim.rerun(stimuli.generator_values(g, idx3[:0], t3[:0], 1e-4))  # none at all
    assert _spikes(m) == []
    with pytest.raises(SimulationError, match="Incorrect size"):
        sim.rerun({g.neuron_index: IDX2[:4], g._timebins: stimuli.timebins(T2, 1e-4)})


@pytest.mark.compiled
def test_spike_parts_are_merged_by_the_binary_as_numpy_sorts_them(tmp_path):
    """A batch's copies pass their spikes as parts (build.SpikeParts), each sorted by step;
    the binary merges them by step, then part: the run equals the numpy run of numpy's stable
    merge, on a build made with no spikes at all."""
    parts = [(np.array([0, 1, 0], dtype=np.int32), np.array([10, 10, 25], dtype=np.int32)),
             (np.array([1, 1], dtype=np.int32), np.array([5, 10], dtype=np.int32)),
             (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)),
             (np.array([2, 2, 2], dtype=np.int32), np.array([0, 30, 31], dtype=np.int32))]
    spikes = build.SpikeParts(parts, offsets=[0, 1, 0, 0])  # the 2nd part's neurons shifted by 1
    idx, bins = spikes.merged()
    np.testing.assert_array_equal(bins, [0, 5, 10, 10, 10, 25, 30, 31])
    np.testing.assert_array_equal(idx, [2, 2, 0, 1, 2, 0, 2, 2])  # step 10: part 0, then part 1
    with build.Simulation("cpp_standalone", directory=tmp_path / "p", keep=True) as sim:
        g = stimuli.spike_generator(3, np.zeros(0, dtype=np.int32), np.zeros(0) * second,
                                    name="inputs", replaceable=True)
        _, objects, m = _circuit_on(g)
        sim.run(20 * ms, *objects, values={g: spikes})
    assert _spikes(m) == _numpy_spikes(idx, bins * 1e-4) != []
    np.testing.assert_array_equal(g.neuron_index[:], idx)
    np.testing.assert_array_equal(g._timebins[:], bins)
    with pytest.raises(SimulationError, match="not known"):
        g.spike_time[:]
    bad = build.SpikeParts([(np.array([0, 1], dtype=np.int32), np.array([5, 4], dtype=np.int32))])
    with pytest.raises(SimulationError, match="not sorted by step"):
        sim.rerun({g: bad})


@pytest.mark.compiled
def test_spike_parts_over_many_blocks_and_gaps_come_out_of_the_binary_in_numpys_merged_order(tmp_path):
    """The binary merges parts in blocks of 4096 steps and skips steps without spikes: over
    five blocks, a gap of 40000 steps and parts whose neurons come in the reverse order of the
    parts, the generator's spikes (recorded in the order it emits them) are numpy's stable
    merge by step, then part, then order in the part (build.SpikeParts.merged)."""
    from brian2 import SpikeMonitor

    rng = np.random.default_rng(3)
    parts = []
    for k in range(3):
        steps = np.concatenate([np.arange(0, 12000, 7 + k), np.arange(52000, 53000, 3)])
        steps = np.unique(np.concatenate([steps, rng.integers(0, 53000, 200)])).astype(np.int32)
        parts.append((np.full(steps.size, 3 - k, dtype=np.int32), steps))
    spikes = build.SpikeParts(parts, offsets=[0, 0, 0])  # part k: neuron 3 - k
    idx, bins = spikes.merged()
    with build.Simulation("cpp_standalone", directory=tmp_path / "p", keep=True) as sim:
        g = stimuli.spike_generator(4, np.zeros(0, dtype=np.int32), np.zeros(0) * second,
                                    name="inputs", replaceable=True)
        gm = SpikeMonitor(g, name="gmon")
        sim.run(5.4 * second, g, gm, values={g: spikes})
    np.testing.assert_array_equal(np.asarray(gm.i[:]), idx)
    np.testing.assert_array_equal(np.round(np.asarray(gm.t[:] / second) * 1e4).astype(np.int64), bins)
    assert idx.size > 4000 and bins.max() - bins[bins < 12000].max() > 40000


@pytest.mark.compiled
def test_a_failing_binary_prints_nothing_and_its_messages_are_in_the_error(tmp_path, capfd):
    """biodyn is a guest in the user's script: a standalone binary that exits with an error
    (here: spikes not sorted by step, its own ``biodyn:`` message; then Brian2's generated code
    refusing a synapse outside its target group) prints nothing to the process's stdout or
    stderr — Brian2 would print the binary's whole output — and the SimulationError carries
    the binary's own message lines."""
    with build.Simulation("cpp_standalone", directory=tmp_path / "p", keep=True) as sim:
        g = stimuli.spike_generator(3, np.zeros(0, dtype=np.int32), np.zeros(0) * second,
                                    name="inputs", replaceable=True)
        _, objects, m = _circuit_on(g)
        sim.run(20 * ms, *objects)
    capfd.readouterr()
    bad = build.SpikeParts([(np.array([0, 1], dtype=np.int32), np.array([5, 4], dtype=np.int32))])
    with pytest.raises(SimulationError) as err:
        sim.rerun({g: bad})
    out, errs = capfd.readouterr()
    assert (out, errs) == ("", "")
    assert ("the binary said: biodyn: part 0 of biodyn_spikes::inputs is not sorted by step"
            in str(err.value))
    sim.rerun({})  # the build still runs
    assert capfd.readouterr() == ("", "")
    # Brian2's code, unable to set a variable from a run argument, says so on stderr and runs
    # on with the build's values (exit 0): not the run that was asked for, and not printed
    with pytest.raises(SimulationError, match="could not set a variable from a run argument "
                       "and ran on with the build's value: Error reading '/nonexistent'"):
        sim._device.run(directory=str(tmp_path / "p"), run_args=["post.v=/nonexistent"])
    assert capfd.readouterr() == ("", "")
    # other lines on the binary's stderr (a runtime's note) are a warning, not lost
    from brian2 import prefs

    before = prefs["devices.cpp_standalone.run_cmd_unix"]
    note = ["sh", "-c", 'echo "a note" >&2; exec ./main "$@"', "sh"]
    prefs["devices.cpp_standalone.run_cmd_unix"] = note
    try:
        with pytest.warns(RuntimeWarning, match="binary wrote to its stderr: a note"):
            sim.rerun({})
    finally:
        prefs["devices.cpp_standalone.run_cmd_unix"] = before
    assert capfd.readouterr() == ("", "")


@pytest.mark.compiled
def test_a_binary_failing_in_brian2s_code_prints_nothing_and_its_last_lines_are_in_the_error(
        tmp_path, capfd):
    """A binary that fails with a message of Brian2's generated code (no ``biodyn:`` line: a
    synapse to a neuron outside the target group) prints nothing either; the error carries its
    last lines and names the files holding all of its output."""
    with build.Simulation("cpp_standalone", directory=tmp_path / "p") as sim:
        g = stimuli.spike_generator(3, IDX, T * second, name="inputs", replaceable=True)
        n = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", threshold="v > 1.5", reset="v = 0",
                        method="exact", name="post")
        s = Synapses(g, n, on_pre="v += 1", name="syn")
        s.connect(j="i + 1")  # neuron 3 of 0..2
        capfd.readouterr()
        with pytest.raises(SimulationError) as err:
            sim.run(20 * ms, g, n, s)
    assert capfd.readouterr() == ("", "")
    assert "Error: tried to create synapse to neuron j=3 outside range 0 to 2" in str(err.value)
    assert str(tmp_path / "p" / "results" / "stdout.txt") in str(err.value)
