"""hebb_vs_delta: the supervised Hebbian rule (Brian2) ends at C_yx, the delta rule (GD) at the
least-squares solution C_yx C_xx^+; for orthonormal inputs the two fixed points and the two
flows coincide (alignment 1 throughout), for correlated inputs they differ by the cross-talk."""

import numpy as np
import pytest

from biodyn import compare


@pytest.fixture(scope="module")
def correlated():
    return compare.hebb_vs_delta(seed=2, duration="6 second")


@pytest.fixture(scope="module")
def orthonormal():
    return compare.hebb_vs_delta(seed=2, inputs="orthonormal", duration="6 second")


def test_delta_rule_converges_to_the_least_squares_solution(correlated):
    S = correlated.summary
    X, Y = np.asarray(S["dataset"]["X"]), np.asarray(S["dataset"]["Y"])
    W_ls = np.linalg.lstsq(X, Y, rcond=None)[0].T          # an independent least-squares solve
    np.testing.assert_allclose(S["W_ls"], W_ls, atol=1e-10)
    # GD on C_xx with eigenvalues 0.4 and 2.8 (rho = 0.6, d = 4): error ~ exp(-0.4 s)
    assert S["final_error_ls_ann"] < 0.15
    err = correlated.series["error_ls_ann"]
    assert np.all(np.diff(err) <= 1e-12)                    # monotone: GD on a convex quadratic
    s = correlated.series["s"]
    rate = -np.polyfit(s[s > 2], np.log(err[s > 2]), 1)[0]
    assert rate == pytest.approx(0.4, rel=0.02)             # the smallest eigenvalue of C_xx


def test_hebbian_associator_converges_to_the_outer_product_memory(correlated):
    S = correlated.summary
    X, Y = np.asarray(S["dataset"]["X"]), np.asarray(S["dataset"]["Y"])
    C_yx = sum(np.outer(y, x) for x, y in zip(X, Y)) / len(X)   # the sum of outer products
    np.testing.assert_allclose(S["C_yx"], C_yx, atol=1e-12)
    assert S["final_error_hebb_bio"] < 0.02
    assert S["max_abs_weight_bio"] < S["bound"]
    # with correlated inputs the two memories differ, and Hebb's recall error is larger
    assert S["fixed_point_distance"] > 0.3
    assert S["loss_at_C_yx"] > 10 * S["loss_at_W_ls"]


def test_correlated_inputs_misalign_the_hebbian_update_with_the_gradient(correlated):
    s = correlated.series
    assert s["alignment"][0] == pytest.approx(1.0, abs=1e-12)   # at W = 0 both are C_yx
    assert np.nanmin(s["alignment"]) < 0.5


def test_orthonormal_inputs_make_hebb_and_delta_the_same_flow(orthonormal):
    S, s = orthonormal.summary, orthonormal.series
    Cxx = np.asarray(S["dataset"]["C_xx"])
    np.testing.assert_allclose(Cxx, np.eye(4), atol=1e-12)        # N = d orthonormal patterns
    assert S["fixed_point_distance"] < 1e-12
    np.testing.assert_allclose(s["alignment"], 1.0, atol=1e-9)    # at every recorded W
    np.testing.assert_allclose(s["alignment_ann"], 1.0, atol=1e-9)
    assert S["final_error_hebb_bio"] < 0.02 and S["final_error_ls_ann"] < 0.02
    # the same averaged flow, dW/ds = C_yx - W, from the same start: the trajectories agree
    # up to the online rule's sampling noise
    assert np.max(np.abs(s["w_bio"] - s["w_ann"])) < 0.05


def test_fewer_orthonormal_patterns_than_inputs_still_have_equal_fixed_points():
    X, Y, A, Cxx = compare.association_dataset("orthonormal", 2, 4, 3, 0.0, 0.1,
                                               np.random.default_rng(0))
    Cyx = Y.T @ X / 2
    np.testing.assert_allclose(Cyx @ np.linalg.pinv(Cxx), Cyx, atol=1e-12)  # min-norm LS = C_yx


def test_too_many_orthonormal_patterns_is_a_clear_error():
    from biodyn.errors import SpecError

    with pytest.raises(SpecError, match="at most d = 4 orthonormal patterns"):
        compare.hebb_vs_delta(inputs="orthonormal", n_samples=5)
    with pytest.raises(SpecError, match="did you mean 'orthonormal'"):
        compare.hebb_vs_delta(inputs="orthonormall")
