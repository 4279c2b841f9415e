"""biodyn's files in the user's ecosystem: PyNN's neo convention, lossless NWB/NIX, NWB recordings in.

Every file here is really written and read (pynwb, nixio, neo), and the replays really run
(Brian2, numpy target).
"""

import datetime
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biodyn import io, protocols

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bi_poo_block():
    result = protocols.run("bi_poo_1998", target="numpy", seed=1, stimulus={"repetitions": 2})
    return result.block, result.summary


def test_replay_block_follows_pynns_convention_with_condition_labels_as_quantities(bi_poo_block):
    block, summary = bi_poo_block
    seg = block.segments[0]
    found = seg.filter(channel_id=0, objects=neo.SpikeTrain)
    assert sorted(st.name for st in found) == ["post[0]", "pre[0]"]
    for st in seg.spiketrains:
        for key in ("source_population", "source_index", "source_id", "channel_id"):
            assert key in st.annotations, key
    w = io.signal(block, "w")
    assert list(w.array_annotations["channel_index"]) == list(range(w.shape[1]))
    delta_t = w.array_annotations["delta_t"]
    assert isinstance(delta_t, pq.Quantity) and delta_t.units == pq.ms
    np.testing.assert_array_equal(delta_t.magnitude, [c["labels"]["delta_t"] for c in summary["conditions"]])
    pre = sorted((st for st in seg.spiketrains if st.annotations["population"] == "pre"),
                 key=lambda st: st.annotations["index"])
    assert pre[3].annotations["delta_t"] == summary["conditions"][3]["labels"]["delta_t"] * pq.ms
    dt = block.annotations["dt"]
    assert isinstance(dt, pq.Quantity) and float(dt.rescale(pq.ms).magnitude) == pytest.approx(0.1)


def _same(a, b, where):
    """Equal values, whatever their container (quantities compared in one unit)."""
    if isinstance(a, pq.Quantity) or isinstance(b, pq.Quantity):
        assert isinstance(a, pq.Quantity) and isinstance(b, pq.Quantity), where
        np.testing.assert_array_equal(np.asarray(a.rescale(b.units).magnitude), np.asarray(b.magnitude),
                                      err_msg=where)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=where)
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _annotations(obj):
    return {k: v for k, v in obj.annotations.items() if k != "nix_name"}


def _same_annotations(a, b, where):
    aa, ab = _annotations(a), _annotations(b)
    assert set(aa) == set(ab), (where, set(aa) ^ set(ab))
    for k in aa:
        _same(aa[k], ab[k], f"{where}.annotations[{k}]")


def assert_blocks_equal(a, b):
    """Field by field: names, annotations, every train and signal with their annotations."""
    assert a.name == b.name and a.description == b.description
    _same_annotations(a, b, "block")
    assert len(a.segments) == len(b.segments)
    for sa, sb in zip(a.segments, b.segments):
        assert sa.name == sb.name
        assert [st.name for st in sa.spiketrains] == [st.name for st in sb.spiketrains]
        for ta, tb in zip(sa.spiketrains, sb.spiketrains):
            np.testing.assert_array_equal(ta.rescale(pq.s).magnitude, tb.rescale(pq.s).magnitude)
            _same(ta.t_start, tb.t_start, f"{ta.name}.t_start")
            _same(ta.t_stop, tb.t_stop, f"{ta.name}.t_stop")
            _same_annotations(ta, tb, ta.name)
        assert [s.name for s in sa.analogsignals] == [s.name for s in sb.analogsignals]
        for ga, gb in zip(sa.analogsignals, sb.analogsignals):
            assert ga.shape == gb.shape and ga.units == gb.units, ga.name
            np.testing.assert_array_equal(ga.magnitude, gb.magnitude)
            _same(ga.t_start, gb.t_start, f"{ga.name}.t_start")
            _same(ga.sampling_period, gb.sampling_period, f"{ga.name}.sampling_period")
            _same_annotations(ga, gb, ga.name)
            assert set(ga.array_annotations) == set(gb.array_annotations), ga.name
            for k in ga.array_annotations:
                _same(ga.array_annotations[k], gb.array_annotations[k], f"{ga.name}.array_annotations[{k}]")


@pytest.mark.parametrize("fmt", ["nwb", pytest.param("nix", marks=pytest.mark.slow)])  # NIX writing is slow
def test_a_replay_round_trips_losslessly_through_nwb_and_nix(tmp_path, bi_poo_block, fmt):
    block, _ = bi_poo_block
    io.write(block, tmp_path / "r.pkl")
    io.write(block, tmp_path / f"r.{fmt}")
    assert_blocks_equal(io.read(tmp_path / "r.pkl"), io.read(tmp_path / f"r.{fmt}"))


@pytest.mark.parametrize("fmt", ["nwb", "nix"])
def test_network_array_annotations_round_trip(tmp_path, fmt):
    # the networks' signals: one channel per input of each condition ("condition", "input")
    block = io.new_block("net", "a network", seed=4, rate=10.0 * pq.Hz, labels=[{"a": 1}])
    seg = block.segments[0]
    sig = io.add_signal(seg, "w", np.arange(12.0).reshape(3, 4), 0.001, population="synapses")
    sig.array_annotate(condition=np.array([0, 0, 1, 1]), input=np.array([0, 1, 0, 1]))
    io.add_signal(seg, "w_final", np.arange(4.0)[None, :], 0.003, t_start=0.003, population="synapses")
    io.add_spiketrains(seg, [np.array([0.0005, 0.002]), np.array([0.001])], 0.003, "post")
    io.label_channels(block, [{"rate": 5.0}, {"rate": 20.0}], {"rate": "Hz"})
    assert list(io.signal(block, "w").array_annotations["rate"].magnitude) == [5, 5, 20, 20]
    io.write(block, tmp_path / "n.pkl")
    io.write(block, tmp_path / f"n.{fmt}")
    assert_blocks_equal(io.read(tmp_path / "n.pkl"), io.read(tmp_path / f"n.{fmt}"))


def test_nwbinspector_finds_nothing_biodyn_could_avoid(tmp_path, bi_poo_block):
    inspector = pytest.importorskip("nwbinspector")
    block, _ = bi_poo_block
    io.write(block, tmp_path / "r.nwb")
    serious = [m for m in inspector.inspect_nwbfile(nwbfile_path=str(tmp_path / "r.nwb"))
               if m.importance.name in ("CRITICAL", "BEST_PRACTICE_VIOLATION", "PYNWB_VALIDATION_ERROR",
                                        "ERROR")]
    # the one left: a simulated model is not a subject (no species, sex or age to give),
    # see biodyn._nwb
    assert [m.check_function_name for m in serious] == ["check_subject_exists"], \
        [(m.check_function_name, m.message) for m in serious]


def test_nwb_keeps_provenance_in_its_own_fields(tmp_path, bi_poo_block):
    pynwb = pytest.importorskip("pynwb")
    block, _ = bi_poo_block
    io.write(block, tmp_path / "r.nwb")
    with pynwb.NWBHDF5IO(str(tmp_path / "r.nwb"), "r") as f:
        nwb = f.read()
        assert nwb.protocol == "bi_poo_1998"
        assert nwb.source_script.startswith("biodyn ")
        assert nwb.units.resolution == pytest.approx(1e-4)            # dt, in seconds
        assert "delta_t" in nwb.units.colnames and '"ms"' in nwb.units["delta_t"].description
        w = nwb.processing["biodyn"]["w"]
        assert w.data.shape[0] > 1 and w.unit                          # time first, with its unit
        assert "w_final" in nwb.processing["biodyn"].data_interfaces   # a table, one row per synapse


# -- NWB recordings as input ---------------------------------------------------------------


def _pairs_block(shift=0.0):
    """Two pairs: pre-post at +10 ms (pair 1) and post-pre at -10 ms (pair 4), 5 repetitions."""
    block = neo.Block(name="recording")
    seg = neo.Segment(name="session 1")
    block.segments.append(seg)
    base = shift + np.arange(5) * 1.0
    trains = {(1, "pre"): base + 0.1, (1, "post"): base + 0.11,
              (4, "pre"): base + 0.31, (4, "post"): base + 0.3}
    for k, ((pair, role), times) in enumerate(trains.items()):
        st = neo.SpikeTrain(times * pq.s, t_start=shift * pq.s, t_stop=(shift + 5.5) * pq.s,
                            name=f"{role}[{pair}]")
        st.annotate(role=role, pair=pair, unit_id=100 + k)
        seg.spiketrains.append(st)
    return block


def _replay(path_or_block, **kw):
    inputs = {"block": path_or_block} if isinstance(path_or_block, neo.Block) else {"file": str(path_or_block)}
    inputs.update(kw)
    return protocols.run("spike_trains", target="numpy", seed=0, inputs=inputs)


def _values(result):
    return [c["value"] for c in result.summary["conditions"]]


def test_an_experimentalists_nwb_units_table_with_role_and_pair_replays(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    reference = _replay(_pairs_block())
    nwb = pynwb.NWBFile(session_description="paired recording", identifier="rec-1",
                        session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc))
    nwb.add_unit_column(name="role", description="pre or post")
    nwb.add_unit_column(name="pair", description="synapse")
    for st in _pairs_block().segments[0].spiketrains:
        nwb.add_unit(spike_times=st.magnitude, role=st.annotations["role"], pair=st.annotations["pair"],
                     obs_intervals=[[0.0, 5.5]])
    with pynwb.NWBHDF5IO(str(tmp_path / "rec.nwb"), "w") as f:
        f.write(nwb)
    assert _values(_replay(tmp_path / "rec.nwb")) == pytest.approx(_values(reference), rel=1e-12)


def test_a_neo_written_nwb_replays_from_its_train_names(tmp_path):
    # neo's NWB writer drops the role/pair annotations; the names pre[1], post[1] carry them
    block = _pairs_block()
    reference = _replay(block)
    for st in block.segments[0].spiketrains:
        st.annotations.clear()
    block.annotate(session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc),
                   identifier="neo-1", session_description="written by neo")
    neo.io.NWBIO(str(tmp_path / "neo.nwb"), mode="w").write_all_blocks([block])
    assert _values(_replay(tmp_path / "neo.nwb")) == pytest.approx(_values(reference), rel=1e-12)


def test_biodyns_own_nwb_output_replays_again(tmp_path):
    first = _replay(_pairs_block())
    io.write(first.block, tmp_path / "out.nwb")
    assert _values(_replay(tmp_path / "out.nwb")) == pytest.approx(_values(first), rel=1e-12)


def test_a_recording_keeps_its_window_names_and_ids_and_a_shift_changes_nothing(tmp_path):
    at_zero = _replay(_pairs_block(shift=0.0))
    late = _replay(_pairs_block(shift=12.5))
    later = _replay(_pairs_block(shift=1012.5))
    assert _values(late) == _values(at_zero) == _values(later)
    # only the recorded window is simulated: same number of recorded samples
    assert io.signal(later.block, "w").shape == io.signal(at_zero.block, "w").shape
    seg = late.block.segments[0]
    assert float(io.signal(late.block, "w").t_start.rescale(pq.s)) == pytest.approx(12.5)
    assert sorted(st.name for st in seg.spiketrains) == ["post[1]", "post[4]", "pre[1]", "pre[4]"]
    for st in seg.spiketrains:
        assert float(st.t_start.rescale(pq.s)) == pytest.approx(12.5)
        assert st.times.min() >= 12.5 * pq.s
        assert 100 <= st.annotations["unit_id"] <= 103            # the recording's ids are kept
    io.write(at_zero.block, tmp_path / "a.pkl")
    io.write(later.block, tmp_path / "b.pkl")
    assert (tmp_path / "b.pkl").stat().st_size < 1.2 * (tmp_path / "a.pkl").stat().st_size


def test_the_segment_is_chosen_explicitly_with_a_note_when_there_are_more():
    block = _pairs_block()
    second = _pairs_block(shift=20.0).segments[0]
    second.name = "session 2"
    block.segments.append(second)
    first = _replay(block)
    assert any("has 2 Segments; replaying the first" in n for n in first.summary["notes"])
    chosen = _replay(block, segment=1)
    assert "notes" not in chosen.summary
    assert float(chosen.block.segments[0].spiketrains[0].t_start.rescale(pq.s)) == pytest.approx(20.0)
    with pytest.raises(Exception, match="--segment: expected a Segment index from 0 to 1"):
        _replay(block, segment=2)


@pytest.mark.slow  # long; moved out of the default run (CI budget)
def test_elephant_and_viziphant_example_runs_on_a_replay_as_it_comes(tmp_path):
    pytest.importorskip("elephant")
    pytest.importorskip("viziphant")
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "analyze_a_replay_with_elephant.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines()
            if line.strip()[:3] in ("1.0", "2.0", "3.0", "4.0")]
    assert len(rows) == 4
    for _current, rate_elephant, rate_biodyn, _cv in rows:
        assert float(rate_elephant) == pytest.approx(float(rate_biodyn), abs=1e-9)   # an independent count
    assert (tmp_path / "raster.png").stat().st_size > 10_000
