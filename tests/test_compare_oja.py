"""oja_vs_backprop: Oja's subspace rule (Brian2) and a linear autoencoder (GD) on the same data
both find the principal subspace, at the rates their linearisations predict (the eigenvalue gap
for Oja; the balanced-minimum closed form for the autoencoder), and end as projectors."""

import json

import numpy as np
import pytest

from biodyn import ann, compare

SETTINGS = dict(duration="12 second", record_interval="20 ms", lr=0.02)


@pytest.fixture(scope="module")
def oja():
    return compare.oja_vs_backprop(seed=1, **SETTINGS)


def test_both_learners_converge_to_the_span_of_the_top_k_eigenvectors(oja):
    s = oja.series
    assert s["angle_bio"][0] > 0.5 and s["angle_ann"][0] == pytest.approx(s["angle_bio"][0])  # same start
    assert oja.summary["final_angle_flow"] < 1e-9
    assert oja.summary["tail_end_angle_ann"] < 1e-9
    assert oja.summary["final_angle_bio"] < 5 * oja.summary["noise_floor_bio"] < 0.25  # at its noise floor
    assert oja.summary["final_angle_ann"] < 2e-3


def test_averaged_oja_flow_converges_at_the_eigenvalue_gap_as_its_linearisation_says(oja):
    S = oja.summary
    lam = np.asarray(S["eigenvalues"])
    gap = lam[1] - lam[2]
    assert S["gap"] == gap
    lin = S["linearisation_oja"]
    assert lin["slowest_rate"] == pytest.approx(gap, rel=1e-6)       # Jacobian at the end state
    ev = np.asarray(lin["eigenvalues"])
    assert np.sum(np.abs(ev) < 1e-6) == lin["zero_modes_expected"] == 1  # rotations in the subspace
    # the other eigenvalues: -(lambda_i - lambda_j), i <= k < j, and the within-subspace modes
    pairs = sorted(lam[i] - lam[j] for i in range(2) for j in range(2, 5))
    np.testing.assert_allclose(sorted(-ev[ev < -1e-6])[:6], pairs, rtol=1e-6)
    assert S["rate_flow"] == pytest.approx(gap, rel=0.01)              # measured on the trajectory


def test_brian2_oja_follows_the_averaged_flow_and_its_rate_within_the_sampling_noise(oja):
    S, s = oja.summary, oja.series
    assert S["rate_bio_window"] is not None
    assert S["rate_bio"] == pytest.approx(S["rate_flow_same_window"], rel=0.2)
    near = s["angle_flow"] > 5 * S["noise_floor_bio"]
    assert near.sum() > 20
    assert np.max(np.abs(np.log(s["angle_bio"][near] / s["angle_flow"][near]))) < np.log(1.5)


def test_autoencoder_rate_is_its_hessians_slowest_mode_not_the_gap(oja):
    S = oja.summary
    lam = np.asarray(S["eigenvalues"])
    closed = compare.ae_balanced_rates(lam, 2)
    lin = S["linearisation_ann"]
    ev = np.asarray(lin["hessian_eigenvalues"])
    assert np.sum(np.abs(ev) < 1e-6 * ev.max()) == lin["zero_modes_expected"] == 4  # GL(k) symmetry
    # the six slow Hessian eigenvalues are the balanced-minimum closed forms (i <= k < j)
    np.testing.assert_allclose(np.sort(ev[ev > 1e-6 * ev.max()])[:6], np.sort(closed.ravel()), rtol=2e-3)
    assert lin["slowest_rate"] == pytest.approx(S["predicted_rate_ann"], rel=2e-3)
    assert S["predicted_rate_ann"] < 0.5 * S["gap"]
    lr = 0.02
    assert lin["gd_map_rate"] == pytest.approx(-np.log(1 - lr * lin["slowest_rate"]) / lr, rel=1e-12)
    assert S["rate_ann_slowest_mode"] == pytest.approx(lin["gd_map_rate"], rel=5e-3)
    # the angle itself decays at one of the slow block's rates (the slowest, up to mixing)
    slow = np.sort(ev[ev > 1e-6 * ev.max()])[:6]
    assert 0.99 * lin["gd_map_rate"] < S["rate_ann"] < 1.02 * slow[2]


def test_end_states_are_projectors_onto_the_principal_subspace(oja):
    S = oja.summary
    np.testing.assert_allclose(S["jacobian_spectrum_ann"], [1, 1, 0, 0, 0], atol=2e-3)
    np.testing.assert_allclose(S["jacobian_spectrum_bio"], [1, 1, 0, 0, 0], atol=0.05)
    np.testing.assert_allclose(S["singular_values_bio"], [1, 1], atol=0.03)  # orthonormal rows
    assert S["projector_distance_flow"] < 1e-9
    assert S["balance_ann"] < 0.05  # GD from a balanced start stays (nearly) balanced


def test_alignment_is_one_for_orthonormal_rows_and_small_weights(oja):
    s = oja.series
    assert s["alignment_flow"][-1] == pytest.approx(1.0, abs=1e-6)   # W W' = I at the end (both ~1e-11)
    assert s["alignment"][0] == pytest.approx(1.0, abs=1e-3)          # W small: both 2WC vs WC
    assert np.nanmin(s["alignment_flow"]) > 0.8


def test_oja_update_is_the_tied_autoencoder_gradient_on_the_stiefel_manifold():
    """Known identity (Xu 1993): with W W' = I, E[Oja update] = -grad_W L(W, W')."""
    from biodyn import build

    rng = np.random.default_rng(2)
    X, U = compare.principal_dataset(100, [3.0, 2.0, 1.0, 0.5], rng)
    W = np.linalg.qr(rng.standard_normal((4, 2)))[0].T          # orthonormal rows
    update = compare.rule_update(build.resolve("oja_subspace"))
    obj = ann.linear_autoencoder(X, 2)
    k1, k2 = obj.net.param_names
    g = obj.net.unravel(obj.grad(obj.net.ravel({k1: W, k2: W.T})))
    np.testing.assert_allclose(update.expected(X, W), -(g[k1] + g[k2].T), rtol=1e-10, atol=1e-12)
    assert compare.cosine(update.expected(X, 0.5 * W), -(g[k1] + g[k2].T)) < 0.999  # not off it


def test_dataset_covariance_is_exactly_the_requested_spectrum():
    X, U = compare.principal_dataset(50, [5.0, 2.0, 1.0], np.random.default_rng(0))
    np.testing.assert_allclose(X.T @ X / 50, U @ np.diag([5.0, 2.0, 1.0]) @ U.T, atol=1e-12)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)


def test_json_document_has_the_documented_keys_seed_and_versions(oja):
    doc = oja.to_dict()
    text = json.dumps(doc, allow_nan=False)
    back = json.loads(text)
    assert list(back) == ["comparison", "seed", "versions", "series", "summary"]
    assert back["comparison"] == "oja_vs_backprop" and back["seed"] == 1
    assert {"biodyn", "brian2"} <= set(back["versions"])
    assert back["summary"]["settings"]["duration"] == "12. s"
    assert len(back["series"]["t"]) == len(back["series"]["angle_bio"]) == len(back["series"]["angle_ann"])


def test_bad_settings_are_one_spec_error_naming_the_setting():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="eigenvalues.*descending"):
        compare.oja_vs_backprop(eigenvalues=[1, 2, 3, 4, 5])
    with pytest.raises(SpecError, match="did you mean 'eta'"):
        compare.oja_vs_backprop(etta="1 Hz")
    with pytest.raises(SpecError, match="lr.*divides"):
        compare.oja_vs_backprop(lr=0.03)
    with pytest.raises(SpecError, match="frequency"):
        compare.oja_vs_backprop(eta="1 ms")
