"""biodyn.flow: measured fields (many short Brian2 runs) against the analytic averaged fields.

Rate rules: the four scenarios measured in ONE numpy run. Spike rules (triplet, pair STDP with
lag-symmetric and temporally asymmetric correlations): one cpp_standalone build (compiled).
Measured values must agree with the analytic field within their standard errors (|z| < 4.5 at
every point: with ~50 values compared the chance of a larger deviation by noise is < 1e-3),
and must be resolved (the field is many standard errors away from zero somewhere), so the
comparison is not vacuous. Jacobians measured with central stencils give the gradient verdicts
with their statistical tolerance.
"""

import numpy as np
import pytest

from biodyn.flow import (averaged_field, gradient_test, measure_fields, measured_jacobians,
                         scenario, stencil)

RATE = {
    "hebb_decay": [[0.2, 0.1], [0.7, 0.4], [0.9, 0.9]],
    "covariance_rule": [[-0.5, 0.3], [0.2, 0.2], [0.8, -0.6]],
    "oja_pca": [[0.5, 0.2], [-0.3, 0.8], [1.0, 1.0]],
    "bcm_selectivity": [[0.5, 0.2], [0.2, 0.6], [1.0, 1.0]],
}
CENTRE, H = np.array([[0.45, 0.3]]), 0.05


@pytest.fixture(scope="module")
def rate_measurements():
    requests, layout = [], []
    for name, pts in RATE.items():
        sc = scenario(name)
        pts = np.asarray(pts, dtype=float)
        if name in ("oja_pca", "bcm_selectivity"):
            pts = np.vstack([pts, stencil(CENTRE, H)])
        requests.append((sc, pts))
        layout.append(name)
    measured = measure_fields(requests, copies=24, duration=12.0, seed=3, target="numpy")
    return dict(zip(layout, measured))


@pytest.mark.parametrize("name", sorted(RATE))
def test_measured_rate_field_agrees_with_the_analytic_field(rate_measurements, name):
    m = rate_measurements[name]
    field = averaged_field(m.scenario)
    z = m.z_scores(field.f(m.points))
    assert np.max(np.abs(z)) < 4.5, z
    assert np.max(np.abs(m.f) / m.se) > 30          # resolved: not a comparison of noise


def test_measured_jacobians_give_the_gradient_verdicts_of_oja_and_bcm(rate_measurements):
    verdicts = {}
    for name in ("oja_pca", "bcm_selectivity"):
        m = rate_measurements[name]
        k = len(RATE[name])
        sub = type(m)(m.scenario, m.points[k:], m.f[k:], m.se[k:], m.per_copy[k:], m.copies,
                      m.duration, m.warmup, m.lr, m.dt, m.target, m.seed)
        J, S = measured_jacobians(sub, CENTRE, H)
        # the analytic field's own stencil quotient (the same finite difference)
        field = averaged_field(m.scenario)
        Fa = field.f(stencil(CENTRE, H)).reshape(1, 2, 2, 2)
        Ja = ((Fa[:, :, 0] - Fa[:, :, 1]) / (2 * H)).transpose(0, 2, 1)
        assert np.max(np.abs((J - Ja) / S)) < 4.5
        verdicts[name] = gradient_test(J, errors=S)
    assert verdicts["bcm_selectivity"].gradient
    oja = verdicts["oja_pca"]
    assert not oja.gradient and oja.asymmetry > 5 * oja.tolerance


SPIKE = {
    "triplet_poisson": [[0.6, 0.5], [1.2, 1.0]],
    "stdp_correlated_symmetric": [[0.3, 0.3], [0.7, 0.2]],
    "stdp_correlated_asymmetric": [[0.3, 0.3], [0.7, 0.2]],
}
SPIKE_CENTRE, SPIKE_H = np.array([[0.5, 0.5]]), 0.4


def _spike_check(target, copies, duration, min_snr):
    requests = []
    for name, pts in SPIKE.items():
        pts = np.asarray(pts, dtype=float)
        if name.startswith("stdp"):
            pts = np.vstack([pts, stencil(SPIKE_CENTRE, SPIKE_H)])
        requests.append((scenario(name), pts))
    measured = measure_fields(requests, copies=copies, duration=duration, seed=5, target=target)
    verdicts = {}
    for (name, pts), m in zip(SPIKE.items(), measured):
        field = averaged_field(m.scenario)
        z = m.z_scores(field.f(m.points))
        assert np.max(np.abs(z)) < 4.5, (name, z)
        assert np.max(np.abs(m.f) / m.se) > min_snr, name
        if name.startswith("stdp"):
            k = len(pts)
            sub = type(m)(m.scenario, m.points[k:], m.f[k:], m.se[k:], m.per_copy[k:], m.copies,
                          m.duration, m.warmup, m.lr, m.dt, m.target, m.seed)
            J, S = measured_jacobians(sub, SPIKE_CENTRE, SPIKE_H)
            verdicts[name] = gradient_test(J, errors=S)
    assert verdicts["stdp_correlated_symmetric"].gradient
    asym = verdicts["stdp_correlated_asymmetric"]
    assert not asym.gradient and asym.asymmetry > asym.tolerance


def test_measured_spike_fields_agree_with_rate_reduction_and_kempter_drift():
    """Triplet (rate-driven Poisson neuron) and pair STDP with correlated inputs (Kempter's linear
    Poisson neuron), 80 copies per point, 1.5 s at dt = 0.1 ms on numpy; the measured Jacobians
    of pair STDP are symmetric within their errors for lag-symmetric correlations and not for
    temporally asymmetric ones."""
    _spike_check("numpy", copies=80, duration=1.5, min_snr=5)


@pytest.mark.compiled
@pytest.mark.slow
def test_measured_spike_fields_precise_on_cpp_standalone():
    _spike_check("cpp_standalone", copies=200, duration=6.0, min_snr=15)


def test_a_measured_flow_gives_the_verdict_and_rest_point_of_the_analytic_one():
    """Hebb with decay analysed from Brian2 measurements only (grid, stencil Jacobians, polynomial
    surrogate): the same verdict and the same rest point on the bound as the derived field."""
    from biodyn.flow import analyze

    measured = analyze("hebb_decay", simulate=False, field="measured", target="numpy",
                       measure={"copies": 16, "duration": 6.0})
    analytic = analyze("hebb_decay", simulate=False)
    assert measured.measured is not None and measured.field.kind == "measured"
    assert measured.gradient.gradient and measured.gradient.method == "measured"
    assert measured.decomposition.fraction > 0.999
    stable = [s for s in measured.states if s.stable]
    want = [s for s in analytic.states if s.stable]
    assert len(stable) == len(want) == 1
    np.testing.assert_allclose(stable[0].w, want[0].w, atol=0.03)


@pytest.mark.compiled
@pytest.mark.slow
def test_clopath_with_temporally_asymmetric_correlations_is_not_a_gradient_flow():
    from biodyn.flow import analyze

    a = analyze("clopath_correlated", simulate=False, target="cpp_standalone")
    assert a.measured is not None                    # no reduction: measured from Brian2
    assert not a.gradient.gradient and a.gradient.asymmetry > 3 * a.gradient.tolerance


def test_measuring_a_field_shows_brian2_progress_on_stderr_only_when_asked(capsys):
    """`biodyn analyze flow --field measured` runs Brian2 for 10-20 s: its progress shows
    (on stderr), as for every other Brian2 run of the command line (issue 13 §6)."""
    sc = scenario("oja_pca")
    pts = [[0.5, 0.2]]
    quiet = measure_fields([(sc, pts)], copies=2, duration=0.5, seed=1, target="numpy")[0]
    assert capsys.readouterr() == ("", "")
    shown = measure_fields([(sc, pts)], copies=2, duration=0.5, seed=1, target="numpy",
                           report="text")[0]
    out, err = capsys.readouterr()
    assert out == "" and "Starting simulation" in err and "simulated in" in err
    np.testing.assert_array_equal(shown.f, quiet.f)  # progress changes nothing
