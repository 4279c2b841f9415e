"""spike_trains: recorded trains from a neo file, one synapse per pair, clear errors."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from biodyn import io, protocols
from biodyn.errors import BiodynError, SpecError

DT = 1e-4


def pair_reference(pre, post, A_plus=0.005, A_minus=1.05 * 0.005, tau=0.02, w0=0.5, lo=0.0, hi=1.0):
    """The additive pair rule, all-to-all, event by event (pre first within a time step)."""
    events = sorted([(int((t + 1e-3 * DT) / DT), 0) for t in pre] +
                    [(int((t + 1e-3 * DT) / DT), 1) for t in post])
    apre = apost = 0.0
    w, last = w0, 0.0
    for step, kind in events:
        t = step * DT
        apre *= math.exp(-(t - last) / tau)
        apost *= math.exp(-(t - last) / tau)
        last = t
        if kind == 0:
            apre += 1
            w = min(max(w - A_minus * apost, lo), hi)
        else:
            apost += 1
            w = min(max(w + A_plus * apre, lo), hi)
    return w


def make_block(pairs=(4, 1, 7), n=20, seed=3, t_stop=1.0):
    import neo
    import quantities as pq

    rng = np.random.default_rng(seed)
    block = neo.Block(name="recorded")
    seg = neo.Segment()
    block.segments.append(seg)
    trains = {}
    for p in pairs:
        for role in ("post", "pre"):  # order in the file does not matter
            steps = np.sort(rng.choice(np.arange(10, int(t_stop / DT) - 10), n, replace=False))
            t = steps * DT
            st = neo.SpikeTrain(t * pq.s, t_stop=t_stop * pq.s, name=f"{role} {p}")
            st.annotate(role=role, pair=p)
            seg.spiketrains.append(st)
            trains[(p, role)] = t
    return block, trains


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "biodyn", *args], capture_output=True, text=True,
                          timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("fmt", ["pkl", "nix"])
def test_replay_of_a_neo_file_gives_one_condition_per_pair_matching_the_pair_rule(tmp_path, fmt):
    """The command as a user runs it (a subprocess) for .pkl; the job in-process for .nix."""
    block, trains = make_block()
    path = tmp_path / f"recorded.{fmt}"
    io.write(block, path)
    out = tmp_path / "res"
    if fmt == "pkl":
        code, stdout, err = run_cli("replay", "spike_trains", "--input", str(path), "--model",
                                    "stdp_pair", "--params", "song_2000", "--target", "numpy",
                                    "--out", str(out), "-q")
        assert code == 0, err
    else:
        from biodyn import jobs

        jobs.replay("spike_trains", model="stdp_pair", params="song_2000", target="numpy", out=out,
                    inputs={"file": str(path)})
    summary = json.loads((out / "spike_trains.json").read_text())
    assert [c["labels"] for c in summary["conditions"]] == [{"pair": 1}, {"pair": 4}, {"pair": 7}]
    assert summary["score"] == {"chi": None, "n": 0}
    for c in summary["conditions"]:
        p = c["labels"]["pair"]
        expected = (pair_reference(trains[(p, "pre")], trains[(p, "post")]) - 0.5) / 0.5
        assert c["value"] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    result = io.read(out / "spike_trains.pkl")
    w = io.signal(result, "w")
    assert w.shape[1] == 3 and list(w.array_annotations["pair"]) == [1, 4, 7]
    w_final = io.signal(result, "w_final")
    np.testing.assert_allclose(w_final.magnitude[0], [0.5 * (1 + c["value"]) for c in summary["conditions"]],
                               rtol=1e-12)
    pre = io.spiketrains(result, "pre")
    assert [st.annotations["pair"] for st in pre] == [1, 4, 7]
    np.testing.assert_allclose(pre[1].magnitude, trains[(4, "pre")], atol=1e-9)  # replayed trains
    assert (out / "spike_trains.png").stat().st_size > 5000
    # the input file is recorded (path and SHA-256), and a rerun from the JSON replays it
    import hashlib

    from biodyn import jobs

    assert summary["inputs"] == {"file": str(path)}
    assert summary["sources"]["input.file"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    again = jobs.replay_from(out / "spike_trains.json", out=tmp_path / "again")
    assert again.summary["conditions"] == summary["conditions"] and again.notes == []


def test_library_replay_takes_a_block_and_other_rules():
    block, trains = make_block(pairs=(0, 2), n=10)
    r = protocols.run("spike_trains", target="numpy", inputs={"block": block}, model="stdp_triplet",
                      params="visual_all_to_all_minimal")
    assert [c["labels"]["pair"] for c in r.summary["conditions"]] == [0, 2]
    assert r.summary["model"] == "stdp_triplet" and np.all(np.isfinite(r.values))


def _bad_block(kind):
    import neo
    import quantities as pq

    block, _ = make_block(pairs=(0, 1), n=5)
    trains = block.segments[0].spiketrains
    if kind == "no role":
        del trains[0].annotations["role"]
    elif kind == "bad role":
        trains[0].annotations["role"] = "presynaptic"
    elif kind == "no pair":
        del trains[1].annotations["pair"]
    elif kind == "float pair":
        trains[1].annotations["pair"] = 1.5
    elif kind == "missing partner":
        trains.pop(0)  # the post train of pair 0
    elif kind == "duplicate":
        trains[1].annotations["pair"] = 1  # pair 1 gets a second pre train
        trains[0].annotations["pair"] = 9
    elif kind == "unsorted":
        st = neo.SpikeTrain([0.2, 0.1, 0.3] * pq.s, t_stop=1 * pq.s)
        st.annotate(role="pre", pair=0)
        trains[1] = st
    elif kind == "empty":
        st = neo.SpikeTrain([] * pq.s, t_stop=1 * pq.s)
        st.annotate(role="pre", pair=0)
        trains[1] = st
    elif kind == "same step":
        st = neo.SpikeTrain([0.1, 0.10001] * pq.s, t_stop=1 * pq.s)
        st.annotate(role="pre", pair=0)
        trains[1] = st
    return block


@pytest.mark.parametrize("kind,words", [
    ("no role", "role"), ("bad role", "'presynaptic'"), ("no pair", "pair"),
    ("float pair", "an integer"), ("missing partner", "a 'post' train for pair 0"),
    ("duplicate", "second 'pre' train"), ("unsorted", "sorted"), ("empty", "empty"),
    ("same step", "one spike per time step"),
])
def test_bad_inputs_give_one_clear_error(kind, words):
    with pytest.raises(BiodynError) as info:
        protocols.run("spike_trains", target="numpy", inputs={"block": _bad_block(kind)})
    text = str(info.value)
    assert words in text and "spiketrains" in text or words in text
    assert "\n" not in text


def test_missing_input_on_the_command_line_is_a_one_line_error(tmp_path, capsys):
    from biodyn.cli import main

    code = main(["replay", "spike_trains", "--target", "numpy", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "--input" in err and err.strip().count("\n") == 0
    code = main(["replay", "spike_trains", "--input", str(tmp_path / "nope.pkl"), "--target", "numpy",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "no such file" in err
