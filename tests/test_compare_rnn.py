"""rnn_lyapunov_vs_bptt: below the transition the largest Lyapunov exponent of the rate RNN and
the BPTT growth rate both equal the linearisation at h = 0; above it both are positive; the BPTT
growth rate follows lambda_max within O(1/T); BPTT norms equal an explicit matrix product."""

import numpy as np
import pytest

from biodyn import compare, dynamics

SETTINGS = dict(N=100, g=[0.5, 0.8, 3.0], duration=60.0, transient=20.0, align=10.0)


@pytest.fixture(scope="module")
def rnn():
    return compare.rnn_lyapunov_vs_bptt(seed=0, **SETTINGS)


def test_below_the_transition_both_rates_equal_the_linearisation_at_zero(rnn):
    s = rnn.series
    assert s["activity"][0] < 1e-3                        # g = 0.5: h has gone to 0
    for k in (0, 1):                                      # g = 0.5, 0.8: h -> 0
        assert s["lambda_max"][k] < 0
        assert s["lambda_max"][k] == pytest.approx(s["lambda_linear"][k], abs=0.02)
        assert s["bptt_slope"][k] == pytest.approx(s["lambda_linear"][k], abs=0.02)
    assert s["lambda_linear"][0] == pytest.approx(0.5 - 1, abs=0.1)   # circular law: max Re mu ~ g


def test_lambda_max_crosses_zero_between_g_0_8_and_3_and_bptt_grows_there(rnn):
    s, S = rnn.series, rnn.summary
    assert s["lambda_max"][2] > 3 * s["lambda_se"][2] and s["bptt_rate"][2] > 0   # g = 3: chaos
    assert 0.8 < S["crossing_g"] < 3.0
    assert S["crossing_g_bptt"] is not None and 0.8 < S["crossing_g_bptt"] < 3.0


def test_bptt_growth_rate_matches_lambda_max_within_order_one_over_T(rnn):
    s = rnn.series
    T = SETTINGS["duration"]
    np.testing.assert_allclose(s["bptt_rate"], s["lambda_max"], atol=2.5 / T)
    assert rnn.summary["max_rate_difference"] < 2.5 / T


def test_bptt_norms_equal_the_explicit_product_of_euler_jacobians():
    field = dynamics.read("rate_rnn", overrides={"N": "6", "g": "2.5", "seed": "3"})
    h0 = field.x0(3)
    dt, steps = 0.05, 80
    c = np.random.default_rng(1).standard_normal(6)
    H, ln = compare.bptt_norms(field, h0, steps, dt, c)
    P = np.eye(6)
    for t in range(steps):                                 # D_steps ... D_1, D_t at h_{t-1}
        P = (np.eye(6) + dt * field.jacobian(H[t])) @ P
        np.testing.assert_allclose(H[t + 1], H[t] + dt * field.f(H[t]), rtol=1e-12)
    assert ln[-1] == pytest.approx(np.log(np.linalg.norm(P.T @ c)), rel=1e-10)
    assert ln[0] == pytest.approx(np.log(np.linalg.norm(c)), rel=1e-12)


def test_the_series_and_summary_carry_the_documented_keys(rnn):
    doc = rnn.to_dict()
    for key in ("g", "lambda_max", "lambda_se", "lambda_linear", "bptt_rate", "bptt_rate_horizon",
                "bptt_slope", "activity", "horizon", "log_delta", "projection"):
        assert key in doc["series"], key
    assert len(doc["series"]["log_delta"]) == 3 and len(doc["series"]["projection"]) == 3
    assert doc["summary"]["crossing_g_mean_field"] == 1.0 and "tau" in doc["summary"]["time_unit"]
    assert "target" not in doc["summary"]                  # no Brian2 in this comparison
