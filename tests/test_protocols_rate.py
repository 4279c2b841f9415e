"""rate_inputs: Oja finds the principal eigenvector; BCM becomes selective at its fixed point."""

import numpy as np

from biodyn import jobs, protocols


def test_oja_converges_to_the_principal_eigenvector_of_the_input_covariance():
    r = protocols.run("oja_pca", target="numpy", stimulus={"duration": "15 second"})
    s = r.summary
    angles = np.array([c["labels"]["angle"] for c in s["conditions"]])
    got = np.array([c["value"] for c in s["conditions"]])
    err = (got - angles + 90) % 180 - 90
    assert np.all(np.abs(err) < 8)  # the fluctuations of w around e1 (eta x sample interval)
    e1 = r.extra["principal_eigenvector"]
    np.testing.assert_allclose(np.abs(e1[:, 0]), np.abs(np.cos(np.radians(angles))), atol=1e-12)
    assert np.all(r.extra["alignment"] > 0.99)
    # |w| -> 1 (Oja's normalisation), averaged over the last 5 s of the trajectory
    w_t = r.extra["w_t"][:, :, -10:]
    assert np.all(np.abs(np.linalg.norm(w_t, axis=1).mean(axis=1) - 1) < 0.05)
    ax = jobs.protocol_figure(s, r.protocol, result=r)  # trajectories and the y = x reference
    assert len(ax.figure.axes) == 2


def test_bcm_becomes_selective_with_the_fixed_point_response_one_over_p():
    r = protocols.run("bcm_selectivity", target="numpy", stimulus={"duration": "40 second"},
                      select=[0, 4], overrides={"eta": "3 Hz"})
    resp_t = r.extra["response_t"]  # (conditions, patterns, times)
    late = resp_t[:, :, -40:].mean(axis=2)  # last 20 s
    p1 = np.array([0.3, 0.7])
    for k in range(2):
        win = int(np.argmax(late[k]))
        p_win = p1[k] if win == 0 else 1 - p1[k]
        assert abs(late[k, win] - 1 / p_win) < 0.15 / p_win  # y* = 1/p_winner
        assert abs(late[k, 1 - win]) < 0.15  # the other pattern: y -> 0
    sel = 1 - late.mean(axis=1) / late.max(axis=1)
    np.testing.assert_allclose(sel, 0.5, atol=0.08)
    assert r.summary["units"] == {"p1": "1"}
