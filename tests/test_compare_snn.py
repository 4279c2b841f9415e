"""biodyn compare eprop_vs_bptt / rstdp_vs_bptt: a local learner and BPTT on the same task, seed
and initial weights — learning curves, alignment with BPTT's gradient, the adjoint through time,
and the trained networks' lambda_max and firing in Brian2 (tiny sizes)."""

import json

import numpy as np
import pytest

pytest.importorskip("jax")

from biodyn import compare  # noqa: E402
from biodyn.cli import main  # noqa: E402
from biodyn.errors import SpecError  # noqa: E402

TINY = {"hidden": 8, "epochs": 2, "n_train": 16, "n_test": 8, "n_steps": 40, "batch_size": 8,
        "dynamics_duration": "300 ms", "dynamics_transient": "50 ms"}


@pytest.fixture(scope="module")
def cli_doc(tmp_path_factory):
    out = tmp_path_factory.mktemp("snncmp")
    args = ["-q", "compare", "eprop_vs_bptt", "--seed", "2", "--out", str(out), "--json", str(out / "e.json")]
    for k, v in TINY.items():
        args += ["--set", f"{k}={v}"]
    assert main(args) == 0
    return out, json.loads((out / "e.json").read_text())


@pytest.mark.slow  # ~25 s: two JAX compilations and three Brian2 runs
def test_eprop_vs_bptt_writes_figure_and_json_with_both_learners_from_the_same_start(cli_doc):
    out, doc = cli_doc
    assert (out / "eprop_vs_bptt.png").stat().st_size > 20_000
    assert tuple(doc) == compare.JSON_KEYS and doc["seed"] == 2
    s, S = doc["series"], doc["summary"]
    assert S["learners"] == ["eprop", "bptt"] and S["task"]["name"] == "spike_patterns"
    assert S["sizes"] == {"train": 16, "test": 8} and S["settings"]["hidden"] == 8
    assert s["epoch"] == [0, 1, 2]
    # same data, seed and initial weights: the epoch-0 numbers coincide
    assert s["test_loss_eprop"][0] == s["test_loss_bptt"][0]
    assert s["adjoint_start_eprop"] == s["adjoint_start_bptt"]
    assert len(s["adjoint_end_eprop"]) == len(s["step_ms"]) == 40
    # BPTT is aligned with itself; e-prop's estimate is a different, positively aligned direction
    np.testing.assert_allclose(s["alignment_bptt"][1:], 1.0, atol=1e-9)
    assert s["alignment_eprop"][0] is None and all(0 < a < 1 - 1e-6 for a in s["alignment_eprop"][1:])
    for L in ("eprop", "bptt"):
        d = S["per_learner"][L]["dynamics"]
        assert d["method"].startswith("two_trajectory_brian2") and d["duration_s"] == 0.3
        assert d["lambda_max_per_s"] is None or d["lambda_max_se_per_s"] is not None
        assert d["firing"]["rate_hz"] >= 0
        assert S["per_learner"][L]["config"]["learner"] == L and S["per_learner"][L]["config"]["seed"] == 2
    assert S["initial_dynamics"]["firing"]["rate_hz"] >= 0


@pytest.mark.slow  # two trainings, ~12 s
def test_rstdp_vs_bptt_is_generic_over_learner_names():
    """Until the rstdp learner is registered it runs with any learner of train_snn."""
    from biodyn.learn._snn import LEARNERS

    r = compare.rstdp_vs_bptt(seed=1, **{**TINY, "epochs": 1, "learner": "eprop_random"})
    assert r.summary["learners"] == ["eprop_random", "bptt"]
    assert set(r.summary["per_learner"]) == {"eprop_random", "bptt"}
    assert all(r.summary["per_learner"][L]["adjoint_ratio_end"] > 0 for L in ("eprop_random", "bptt"))
    default = compare.COMPARISONS["rstdp_vs_bptt"].settings["learner"].default
    assert default == "rstdp"
    if "rstdp" not in LEARNERS:
        with pytest.raises(SpecError, match="learner"):
            compare.rstdp_vs_bptt(seed=1, **TINY)


def test_unknown_learner_and_bptt_against_itself_are_errors_before_training():
    with pytest.raises(SpecError, match="eprop"):
        compare.eprop_vs_bptt(learner="epropp", **TINY)
    with pytest.raises(SpecError, match="other than bptt"):
        compare.eprop_vs_bptt(learner="bptt", **TINY)


def test_dynamics_duration_and_transient_take_time_quantities_and_refuse_bare_numbers():
    """The help promises units ('with its unit where it has one'): '1 s' and '100 ms' are read as
    times; a bare number (seconds? ms?) is refused naming the setting; a negative transient or
    one not shorter than the duration is refused before anything trains."""
    from biodyn.compare._base import resolve_settings

    table = compare.COMPARISONS["eprop_vs_bptt"].settings
    v = resolve_settings("eprop_vs_bptt", table, {"dynamics_duration": "1 s", "dynamics_transient": "100 ms"})
    assert float(v["dynamics_duration"]) == 1.0 and abs(float(v["dynamics_transient"]) - 0.1) < 1e-15
    with pytest.raises(SpecError, match="dynamics_duration.*second"):
        resolve_settings("eprop_vs_bptt", table, {"dynamics_duration": "2"})
    for bad in ({"dynamics_transient": "-10 ms"}, {"dynamics_duration": "100 ms", "dynamics_transient": "200 ms"}):
        with pytest.raises(SpecError, match="dynamics_transient"):
            compare.eprop_vs_bptt(**{**TINY, **bad})
