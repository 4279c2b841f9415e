"""Batched runs (issue 17): points of a sweep as independent copies of ONE Brian2 run.

Each point's result must be the one its run alone gives, to the last bit where the arithmetic
is the same: the copies' inputs are drawn from each point's own seed exactly as its own run
draws them, and a parameter that differs between points is a per-element variable holding,
for each copy, the value its own run holds in a shared variable.
"""

import json

import numpy as np
import pytest

from biodyn import protocols

# A small song_2000: 200 inputs per neuron strong enough (g_max 0.05) for the neurons to fire,
# so that the comparison covers output spikes, the STDP updates they cause, and the weights.
NET = {"n_inputs": 200, "n_inhibitory": 10, "correlated_inputs": 20, "g_max": "0.05"}


def _stim(rate, duration="0.1 second"):
    return {"duration": duration, "rate_window": duration, "input_rate": rate}


# A_plus x seed, with two input rates (a stimulus value per copy)
NETWORK_POINTS = [dict(overrides={"A_plus": a}, seed=s, stimulus=_stim(r), network=NET)
                  for a, s, r in (("0.005", 1, "20 Hz"), ("0.05", 1, "40 Hz"),
                                  ("0.005", 2, "40 Hz"), ("0.05", 2, "20 Hz"))]


def assert_same_network(batched, alone):
    assert batched.values.tolist() == alone.values.tolist()
    for key in ("w_final", "w0", "mean_weight_t", "correlated_weight_t"):
        assert np.array_equal(batched.extra[key], alone.extra[key]), key
    assert len(batched.extra["output_spikes"]) == len(alone.extra["output_spikes"])
    for a, b in zip(batched.extra["output_spikes"], alone.extra["output_spikes"]):
        assert np.array_equal(a, b)
    sa = batched.block.segments[0].analogsignals
    sb = alone.block.segments[0].analogsignals
    assert [s.name for s in sa] == [s.name for s in sb]
    for a, b in zip(sa, sb):
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert np.array_equal(a.array_annotations["channel_index"], b.array_annotations["channel_index"])


def test_batched_network_points_equal_their_runs_alone_on_numpy():
    """song_2000 over A_plus x seed x input rate: 4 points in one run, each bit for bit its run."""
    results = protocols.run_batch("song_2000", NETWORK_POINTS, target="numpy")
    assert [r.summary["batch"] for r in results] == [{"size": 4, "copy": k} for k in range(4)]
    # the copies differ (other seeds, rates, A_plus) and fire: the test compares something
    assert all(r.values.sum() > 0 for r in results)
    assert len({r.values.tobytes() for r in results}) == 4
    for result, point in zip(results, NETWORK_POINTS):
        assert_same_network(result, protocols.run("song_2000", target="numpy", **point))


def test_batched_spike_pattern_points_equal_alone_and_code_variants_form_separate_batches():
    """bi_poo_1998 over tau_plus x A_plus, and a variant (other code): two batches, each point
    equal to its run alone."""
    stim = {"repetitions": 1}
    points = [dict(overrides={"tau_plus": t, "A_plus": a}, stimulus=stim, seed=s)
              for t, a, s in (("10 ms", "0.005", 1), ("30 ms", "0.01", 2), ("16.8 ms", "0.02", 3))]
    points += [dict(variants={"pairing": "nearest"}, overrides={"tau_plus": t}, stimulus=stim)
               for t in ("10 ms", "30 ms")]
    results = protocols.run_batch("bi_poo_1998", points, target="numpy")
    assert [r.summary["batch"] for r in results] == [
        {"size": 3, "copy": 0}, {"size": 3, "copy": 1}, {"size": 3, "copy": 2},
        {"size": 2, "copy": 0}, {"size": 2, "copy": 1}]
    for result, point in zip(results, points):
        alone = protocols.run("bi_poo_1998", target="numpy", **point)
        assert result.values.tolist() == alone.values.tolist()
        assert np.array_equal(np.asarray(result.block.segments[0].analogsignals[0]),
                              np.asarray(alone.block.segments[0].analogsignals[0]))
    # the copies hold their own values: the pair rule's closed form per point
    for result, (t, a) in zip(results[:3], ((10, 0.005), (30, 0.01), (16.8, 0.02))):
        k = [c["labels"]["delta_t"] for c in result.summary["conditions"]].index(20)
        assert result.values[k] == pytest.approx(a * np.exp(-20 / t) / 0.5, rel=1e-9)


def test_a_copy_with_a_per_element_time_constant_differs_from_its_run_alone_only_in_the_last_places():
    """A varying time constant is a per-element variable of the batch: Brian2 computes
    ``x/tau_y`` per copy, where a run alone multiplies by ``1/tau_y`` hoisted out of the loop
    (its loop-invariant optimisation) — not the same arithmetic, so not the same last bit
    (sjostrom_2001's condition 4 at the fit's own start: 0.22779517153293627 as a copy,
    0.2277951715329367 alone, 16 units in the last place after the protocol's updates; with
    tau_y = "114 ms" they agree). What holds: 1e-13 relative; and with the amplitude alone
    varying (the same arithmetic) the last bit."""
    ov = {"A3_plus": "0.006499999999999998", "tau_y": "113.99999999999999 ms"}
    copies = protocols.run_batch("sjostrom_2001", [dict(overrides=ov), dict(overrides=ov)],
                                 target="numpy", varying=("A3_plus", "tau_y"), select=[4])
    alone = protocols.run("sjostrom_2001", overrides=ov, target="numpy", select=[4])
    assert copies[0].summary["batch"] == {"size": 2, "copy": 0}
    assert copies[0].values.tolist() != alone.values.tolist()  # the documented difference
    np.testing.assert_allclose(copies[0].values, alone.values, rtol=1e-13, atol=0)  # 2e-15
    amp = protocols.run_batch("sjostrom_2001", [dict(overrides=ov), dict(overrides=ov)],
                              target="numpy", varying=("A3_plus",), select=[4])
    assert amp[0].values.tolist() == alone.values.tolist()


def test_points_of_other_structure_run_in_separate_batches_and_alone():
    """Another duration changes the build: that point cannot join the batch; it runs alone."""
    points = [dict(overrides={"tau_plus": t}, stimulus={"repetitions": 1}) for t in ("10 ms", "20 ms")]
    points.append(dict(stimulus={"repetitions": 2}))
    results = protocols.run_batch("bi_poo_1998", points, target="numpy")
    assert [r.summary["batch"]["size"] for r in results] == [2, 2, 1]
    assert "shares its code" in results[2].summary["batch"]["alone"]


def test_engines_that_do_not_batch_run_each_point_alone_and_say_why():
    points = [dict(seed=1, stimulus={"duration": "1 second"}), dict(seed=2, stimulus={"duration": "1 second"})]
    results = protocols.run_batch("oja_pca", points, target="numpy")
    for r, p in zip(results, points):
        assert r.summary["batch"]["size"] == 1
        assert "runs points alone" in r.summary["batch"]["alone"]
        assert r.values.tolist() == protocols.run("oja_pca", target="numpy", **p).values.tolist()


def test_a_point_with_bad_input_fails_alone_and_the_others_run():
    points = [dict(overrides={"tau_plus": "10 ms"}, stimulus={"repetitions": 1}),
              dict(overrides={"tau_plus": "10 mV"}, stimulus={"repetitions": 1}),
              dict(overrides={"tau_plus": "20 ms"}, stimulus={"repetitions": 1})]
    results = protocols.run_batch("bi_poo_1998", points, target="numpy")
    assert isinstance(results[1], Exception) and "tau_plus" in str(results[1])
    assert [results[0].summary["batch"]["size"], results[2].summary["batch"]["size"]] == [2, 2]


def test_batch_is_recorded_in_summary_block_and_figure_line_and_reruns_alone(tmp_path):
    """Provenance says the point ran in a batch (size, copy index); its JSON reruns it alone
    (biodyn replay --from) to the same numbers."""
    from biodyn import jobs

    points = [dict(overrides={"tau_plus": t}, stimulus={"repetitions": 1}, seed=7, out=tmp_path / t[:2])
              for t in ("10 ms", "30 ms")]
    written = jobs.replay_batch("bi_poo_1998", points, target="numpy")
    summary = json.loads((tmp_path / "30" / "bi_poo_1998.json").read_text())
    assert summary["batch"] == {"size": 2, "copy": 1}
    assert "copy 1 of a batch of 2" in summary["footer"]
    from biodyn import io

    block = io.read(tmp_path / "30" / "bi_poo_1998.pkl")
    assert json.loads(block.annotations["batch"]) == {"size": 2, "copy": 1}
    again = jobs.replay_from(tmp_path / "30" / "bi_poo_1998.json", out=tmp_path / "again")
    assert [c["value"] for c in again.summary["conditions"]] == \
        [c["value"] for c in written[1].summary["conditions"]]
    assert "batch" not in again.summary


def test_interrupted_batch_writes_none_of_its_points(tmp_path, monkeypatch):
    """Ctrl-C while a batch writes its points' files: none of them appears."""
    from biodyn import jobs
    from biodyn.jobs import _replay

    calls = []
    real = _replay._write_result

    def write_then_stop(result, out, fmt):
        calls.append(out)
        written = real(result, out, fmt)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return written

    monkeypatch.setattr(_replay, "_write_result", write_then_stop)
    points = [dict(overrides={"tau_plus": t}, stimulus={"repetitions": 1}, out=tmp_path / t[:2])
              for t in ("10 ms", "20 ms", "30 ms")]
    with pytest.raises(KeyboardInterrupt):
        jobs.replay_batch("bi_poo_1998", points, target="numpy")
    assert len(calls) == 2
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.compiled
@pytest.mark.slow
def test_batched_points_equal_their_runs_alone_on_cpp_standalone(tmp_path, monkeypatch):
    """cpp_standalone: the same A_plus x seed x rate points, batched and alone, to the last bit
    (per-element and shared parameters enter the same double arithmetic); bi_poo_1998 too."""
    from biodyn import build

    if not build.has_compiler():
        pytest.skip("no C++ compiler")
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path / "cache"))
    points = sorted(NETWORK_POINTS, key=lambda p: p["stimulus"]["input_rate"])  # 2 builds alone
    results = protocols.run_batch("song_2000", points, target="cpp_standalone")
    assert [r.summary["batch"]["size"] for r in results] == [4] * 4
    assert all(r.values.sum() > 0 for r in results)
    for result, point in zip(results, points):
        assert_same_network(result, protocols.run("song_2000", target="cpp_standalone", **point))
    points = [dict(overrides={"tau_plus": t, "A_plus": a}, stimulus={"repetitions": 2})
              for t, a in (("10 ms", "0.005"), ("30 ms", "0.01"))]
    results = protocols.run_batch("bi_poo_1998", points, target="cpp_standalone")
    for result, point in zip(results, points):
        assert result.summary["batch"]["size"] == 2
        alone = protocols.run("bi_poo_1998", target="cpp_standalone", **point)
        assert result.values.tolist() == alone.values.tolist()


def test_parameters_the_code_does_not_read_may_differ_within_a_batch():
    """mu_plus shapes only the gutig weight option: with the additive one it is in no code, so
    points differing in it (and in tau_plus) still run as copies, each equal to its run alone."""
    points = [dict(overrides={"mu_plus": m, "tau_plus": t}, stimulus={"repetitions": 1})
              for m, t in (("0", "10 ms"), ("0.5", "20 ms"))]
    results = protocols.run_batch("bi_poo_1998", points, target="numpy")
    assert [r.summary["batch"]["size"] for r in results] == [2, 2]
    for result, point in zip(results, points):
        alone = protocols.run("bi_poo_1998", target="numpy", **point)
        assert result.values.tolist() == alone.values.tolist()
        assert result.summary["parameters"] == alone.summary["parameters"]


def test_merged_network_spikes_are_the_stable_sort_of_the_copies_and_carry_their_time_bins():
    """The merged inputs of a batch: copy k's input i is generator neuron k*n + i, the real
    spikes sorted by time bin, then copy, then index (a stable sort of the copies' spikes by
    bin), the padding after them; the bins handed to the binary equal Brian2's
    ``int((t + 1e-3 dt)/dt)`` of every spike time, padding included."""
    from brian2 import second

    from biodyn import build, stimuli
    from biodyn.protocols import ENGINES, _network, load
    from biodyn.protocols._engine import RunOptions

    spec = load("song_2000")
    resolved = protocols.resolve_model(spec)
    engines = [ENGINES[spec.engine](spec, resolved, RunOptions(seed=s, stimulus=_stim(r),
                                                             network=NET))
               for s, r in ((1, "20 Hz"), (2, "40 Hz"), (3, "20 Hz"))]
    plans = [e.plan() for e in engines]
    merged = engines[0].merge(plans, engines).data
    dt = 1e-4
    steps = int(round(0.1 / dt))
    for side, width in (("exc", 200), ("inh", 10)):
        per = len(plans[0].data["conditions"]) * width
        idx, bins = [], []
        for k, p in enumerate(plans):
            i, t = p.data[side]
            b = stimuli.timebins(t, dt)
            assert np.array_equal(p.data[f"{side}_bins"], b)
            idx.append(i[b < steps] + k * per)
            bins.append(b[b < steps])
        order = np.argsort(np.concatenate(bins), kind="stable")
        # a runtime target's one generator: the copies merged in numpy, then the padding
        i_m, t_m = _network._merged(merged, side, dt * second)
        n = order.size
        assert i_m.size == sum(p.data[side][0].size for p in plans)
        assert np.array_equal(i_m[:n], np.concatenate(idx)[order])
        b_m = stimuli.timebins(t_m, dt)
        assert np.array_equal(b_m[:n], np.concatenate(bins)[order])
        assert np.all(b_m[n:] >= steps) and np.all(i_m[n:] == 0)
        # cpp_standalone's: the copies' spikes as parts, the same order once merged
        parts = [_network._real_spikes(p.data, side, dt * second) for p in plans]
        sp_idx, sp_bins = build.SpikeParts(parts, [k * per for k in range(len(plans))]).merged()
        assert np.array_equal(sp_idx, i_m[:n]) and np.array_equal(sp_bins, b_m[:n])


def _bi_poo_points(n):
    return [dict(overrides={"tau_plus": f"{10 + 5 * k} ms"}, stimulus={"repetitions": 1}) for k in range(n)]


def test_batches_of_different_sizes_get_a_standalone_project_folder_each(monkeypatch):
    """The number of copies is compiled into a batch's code: batches of 3 and of 2 copies of
    one build key must not share (and overwrite) one project folder (numpy: the keys only)."""
    from biodyn.protocols import _engine

    keys, original = [], _engine._run_plan

    def recording(engine, plan, signature, spec, target, brian_seed, key, *args, **kwargs):
        keys.append(key)
        return original(engine, plan, signature, spec, target, brian_seed, key, *args, **kwargs)

    monkeypatch.setattr(_engine, "_run_plan", recording)
    for n in (3, 2, 3):
        results = protocols.run_batch("bi_poo_1998", _bi_poo_points(n), target="numpy", build_key="k")
        assert [r.summary["batch"]["size"] for r in results] == [n] * n
    assert keys == ["k-x3", "k-x2", "k-x3"]
    protocols.run_batch("bi_poo_1998", _bi_poo_points(2), target="numpy")  # the protocol's own key too
    assert keys[-1].endswith("-x2") and keys[-1].startswith("bi_poo_1998-")
    assert _engine.copies_key("k", 64) != _engine.copies_key("k", 8)


@pytest.mark.compiled
@pytest.mark.slow
def test_alternating_batch_sizes_on_cpp_standalone_build_each_size_once(tmp_path, monkeypatch):
    """Batches of 3, 2, 3, 2 copies: two project folders, two builds; the second batch of
    each size reruns its kept build (no compilation)."""
    from biodyn import build

    if not build.has_compiler():
        pytest.skip("no C++ compiler")
    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path / "cache"))
    from biodyn.protocols._engine import clear_builds

    clear_builds()  # no kept build of an earlier test
    timings = []
    for n in (3, 2, 3, 2):
        results = protocols.run_batch("bi_poo_1998", _bi_poo_points(n), target="cpp_standalone", build_key="alt")
        assert [r.summary["batch"]["size"] for r in results] == [n] * n
        timings.append(results[0].timings)
    folders = sorted(f.name for f in (tmp_path / "cache" / "standalone").iterdir() if f.name != "slots")
    assert len(folders) == 2 and any("x3" in f for f in folders) and any("x2" in f for f in folders), folders
    assert ["build" in t for t in timings] == [True, True, False, False], timings
    assert all("rerun" in t for t in timings[2:]), timings
    from biodyn.protocols import TIMINGS

    for t in timings:  # the standalone keys too: documented, each at most its total
        assert set(t) <= set(TIMINGS), t
        for part, whole in _PART_OF.items():
            if part in t:
                assert t[part] <= t[whole], (part, whole, t)


# what each timing is part of, written out here (not read from the code under test)
_PART_OF = {"run": "total", "rerun": "total", "per_point": "total", "batch": "total",
            "build": "run", "standalone_make": "build", "standalone_run_binary": "build"}


def _batched_and_alone_timings():
    batched = protocols.run_batch("bi_poo_1998", _bi_poo_points(2), target="numpy", block=False)
    assert [r.summary["batch"]["size"] for r in batched] == [2, 2]
    alone = protocols.run("bi_poo_1998", target="numpy", block=False, **_bi_poo_points(1)[0])
    return [r.timings for r in batched], alone.timings


def test_every_timing_part_is_at_most_the_total_it_is_part_of_batched_and_alone():
    """A batched point's ``total`` is the batch's wall time, not its share (which is
    ``per_point``): no part (the batch's ``run``) exceeds the total it is named under."""
    batched, alone = _batched_and_alone_timings()
    for t in (*batched, alone):
        assert "total" in t and "run" in t, t
        for part, whole in _PART_OF.items():
            if part in t:
                assert t[part] <= t[whole], (part, whole, t)
    for t in batched:
        assert t["per_point"] == pytest.approx(t["total"] / 2, rel=1e-12) and t["batch"] == t["total"]
    assert alone["per_point"] == alone["total"] and "batch" not in alone


def test_the_documented_timing_keys_are_the_keys_present():
    """Every key a result carries is in protocols.TIMINGS and in the contract (the
    module docstring of biodyn.protocols), and so is every part relation."""
    from biodyn.protocols import TIMING_PARTS, TIMINGS

    batched, alone = _batched_and_alone_timings()
    numpy_keys = {"total", "per_point", "run"}
    assert set(alone) == numpy_keys and all(set(t) == numpy_keys | {"batch"} for t in batched)
    assert TIMING_PARTS == _PART_OF and set(TIMINGS) == set(_PART_OF) | {"total"}
    for key in TIMINGS:
        assert f"\n    {key} " in protocols.__doc__, key
