"""Limit cycles by multiple shooting: known periods, amplitudes and Floquet multipliers (Hopf
normal form, van der Pol), Lyapunov exponents of a cycle = log|multiplier|/T, refusals."""

import numpy as np
import pytest

from biodyn import dynamics
from biodyn.errors import BiodynError
from biodyn.spec import from_dict


def system(name, model, params, values, initial):
    data = {"kind": "system", "description": name, "model": model, "time_unit": "tau",
            "parameters": {**{k: "1" for k in params}, "tau": "ms"},
            "parameter_sets": {"default": {"values": {**{k: repr(v) for k, v in values.items()},
                                                      "tau": "1 ms"}}},
            "initial": initial}
    return dynamics.read(from_dict(data, name))


@pytest.mark.parametrize("mu, omega", [(0.5, 1.0), (0.2, 2.0)])
def test_hopf_normal_form_cycle_has_radius_sqrt_mu_period_2pi_over_omega_multiplier_exp_minus_2_mu_T(mu, omega):
    # models/systems/hopf.toml: dr/dt = mu r - r^3, dtheta/dt = omega (no b r^2 term)
    F = dynamics.read("hopf", overrides={"mu": repr(mu), "omega": repr(omega)})
    c = dynamics.find_cycle(F)
    T = 2 * np.pi / omega
    assert c.period == pytest.approx(T, rel=1e-7)
    np.testing.assert_allclose(c.amplitude_max, np.sqrt(mu), rtol=1e-4)
    np.testing.assert_allclose(c.amplitude_min, -np.sqrt(mu), rtol=1e-4)
    assert abs(c.trivial - 1) < 1e-6 and c.multipliers[0] == c.trivial
    assert c.multipliers[1].real == pytest.approx(np.exp(-2 * mu * T), rel=1e-5)
    assert c.stable and c.residual < 1e-6


def test_van_der_pol_period_is_2pi_at_small_mu_and_6_6633_at_mu_1():
    small = dynamics.find_cycle(dynamics.read("van_der_pol", overrides={"mu": "0.01"}))
    # Poincare-Lindstedt: T = 2 pi (1 + mu^2/16 + O(mu^4)), amplitude 2
    assert small.period == pytest.approx(2 * np.pi * (1 + 0.01 ** 2 / 16), rel=1e-6)
    assert small.amplitude_max[0] == pytest.approx(2.0, abs=1e-3)
    one = dynamics.find_cycle(dynamics.read("van_der_pol"))  # mu = 1
    assert one.period == pytest.approx(6.66328686, abs=1e-6)  # published: 6.663286859...
    assert one.stable and abs(one.trivial - 1) < 1e-6


def test_van_der_pol_relaxation_oscillation_at_mu_5_converges():
    c = dynamics.find_cycle(dynamics.read("van_der_pol", "relaxation"))  # mu = 5 (stiff)
    assert c.period == pytest.approx(11.6123, abs=1e-3)  # Grasman 1987, Table: T(5) = 11.612
    assert c.stable and abs(c.multipliers[1]) < 1e-6


def test_lyapunov_exponents_of_a_stable_cycle_are_log_multipliers_over_period():
    F = dynamics.read("van_der_pol")
    c = dynamics.find_cycle(F)
    lam = np.log(np.abs(c.multipliers[1])) / c.period
    # Liouville: log m2 = integral of the divergence mu (1 - x^2) over the period
    div = np.trapezoid(1.0 - c.orbit[:, 0] ** 2, c.times)
    assert np.log(abs(c.multipliers[1])) == pytest.approx(div, rel=1e-4)
    r = dynamics.lyapunov_spectrum(F, c.state, duration=200.0, dt=0.02, transient=10.0)
    assert r.exponents[0] == pytest.approx(0.0, abs=5e-3)
    assert r.exponents[1] == pytest.approx(lam, rel=1e-2)
    np.testing.assert_allclose(c.exponents, [0.0, lam], atol=1e-6)


def test_from_a_given_point_and_period_guess():
    F = dynamics.read("hopf")
    c = dynamics.find_cycle(F, x0=[0.6, 0.1], period=6.0)
    assert c.period == pytest.approx(2 * np.pi, rel=1e-7)
    assert np.hypot(*c.state) == pytest.approx(np.sqrt(0.5), rel=1e-6)


def test_a_linear_centre_is_refused_as_a_family_of_cycles():
    F = system("centre", "dx/dt = -y/tau : 1\ndy/dt = x/tau : 1", [], {}, {"x": "0.5", "y": "0"})
    with pytest.raises(BiodynError, match="family of cycles"):
        dynamics.find_cycle(F)
    with pytest.raises(BiodynError, match="converged to an equilibrium.*centre"):
        dynamics.find_cycle(F, x0=[0.5, 0.0], period=6.0)  # Newton falls onto the origin


def test_a_trajectory_settling_at_an_equilibrium_is_no_cycle():
    F = dynamics.read("hopf", overrides={"mu": "-0.5"})
    with pytest.raises(BiodynError, match="settles at an equilibrium"):
        dynamics.find_cycle(F)


def test_integrate_and_fire_is_refused_with_a_message():
    with pytest.raises(BiodynError, match="threshold and reset"):
        dynamics.find_cycle(dynamics.read("lif", overrides={"I": "1 nA"}))


def test_maps_are_pointed_to_periodic_orbits():
    with pytest.raises(BiodynError, match="map"):
        dynamics.find_cycle(dynamics.read("logistic"))


def test_hodgkin_huxley_spiking_cycle_at_10_uA_per_cm2():
    F = dynamics.read("hodgkin_huxley", overrides={"I": "10 uA/cm**2"})
    c = dynamics.find_cycle(F)
    # 6.3 C: repetitive firing at ~68 Hz at 10 uA/cm^2 (Rinzel & Miller 1980, Fig. 1)
    assert 1 / c.period == pytest.approx(68.3, abs=1.0)  # time unit: 1 s
    assert c.stable and c.amplitude_max[0] > 0.02  # spikes overshoot 0 mV


# --------------------------------------------------------------------------
# Continuation of cycles
# --------------------------------------------------------------------------

BAUTIN = ("dx/dt = (b1*x - y + x*(b2*(x**2 + y**2) - (x**2 + y**2)**2))/tau : 1\n"
          "dy/dt = (x + b1*y + y*(b2*(x**2 + y**2) - (x**2 + y**2)**2))/tau : 1")


def bautin():
    """Bautin (generalised Hopf) normal form, dr/dt = r (b1 + b2 r^2 - r^4), dtheta/dt = 1
    (Kuznetsov 2004, section 8.3): with b2 = 1 the Hopf point b1 = 0 is subcritical and the
    cycles r^2 = (1 +- sqrt(1 + 4 b1))/2 meet in a fold of cycles at b1 = -1/4, r^2 = 1/2."""
    F = system("bautin", BAUTIN, ["b1", "b2"], {"b1": -0.1, "b2": 1.0}, {"x": "0.5", "y": "0"})
    return F


def hopf_point(F, param, lo, hi):
    c = dynamics.continuation(F, param, lo, hi)
    (h,) = [p for p in c.points if p.type == "hopf"]
    return h


@pytest.mark.parametrize("lo, hi, ds, max_ds", [(-0.5, 0.2, 0.02, 0.05), (-0.35, 0.6, 0.005, 0.1)])
def test_bautin_cycle_branch_turns_at_the_fold_of_cycles_b1_minus_quarter_whatever_the_step_or_range(lo, hi, ds, max_ds):
    F = bautin()
    h = hopf_point(F, "b1", -0.5, 0.5)
    assert h.value == pytest.approx(0.0, abs=1e-8)
    cc = dynamics.continue_cycles(F, "b1", lo, hi, hopf=h, ds=ds, max_ds=max_ds)
    (b,) = cc.branches
    (fold,) = cc.points
    assert fold.type == "cycle_fold"
    assert fold.value == pytest.approx(-0.25, abs=1e-8)
    assert fold.amplitude_max[0] == pytest.approx(np.sqrt(0.5), rel=1e-4)
    assert np.abs(fold.multipliers - 1).max() < 1e-5  # a double multiplier at 1
    np.testing.assert_allclose(b.periods, 2 * np.pi, rtol=1e-7)
    # radius against the closed form, stable = the outer cycle
    disc = np.sqrt(1 + 4 * b.values)
    r_theory = np.sqrt(np.where(b.stable, (1 + disc) / 2, (1 - disc) / 2))
    np.testing.assert_allclose(b.maxima[:, 0], r_theory, rtol=1e-3)
    assert not b.stable[0] and b.stable[-1]  # unstable from the subcritical Hopf, stable after the fold
    assert b.values.max() >= hi  # continued to the end of the range


def test_continue_cycles_from_a_cycle_both_ways():
    F = dynamics.read("hopf", overrides={"mu": "0.25"})
    c = dynamics.find_cycle(F)
    cc = dynamics.continue_cycles(F, "mu", 0.0, 0.5, cycle=c, max_ds=0.1)
    (b,) = cc.branches
    np.testing.assert_allclose(b.maxima[:, 0], np.sqrt(b.values), rtol=1e-4)
    assert b.values.max() >= 0.5 and b.values.min() < 0.02  # shrinks towards the Hopf point
    assert b.stable.all() and not cc.points


# --------------------------------------------------------------------------
# Maps: period-k orbits and the period-doubling cascade
# --------------------------------------------------------------------------


def test_period_2_orbit_of_the_logistic_map_from_the_iterate_built_in_code():
    r = 3.2
    F = dynamics.read("logistic", overrides={"r": repr(r)})
    (o,) = dynamics.periodic_orbits(F, 2)
    # closed form: x = (r + 1 +- sqrt((r - 3)(r + 1)))/(2 r), multiplier -r^2 + 2r + 4
    disc = np.sqrt((r - 3) * (r + 1))
    np.testing.assert_allclose(sorted(o.points[:, 0]), [(r + 1 - disc) / (2 * r), (r + 1 + disc) / (2 * r)],
                               rtol=1e-10)
    assert o.multipliers[0].real == pytest.approx(-r ** 2 + 2 * r + 4, rel=1e-9)
    assert o.stable and o.period == 2
    assert dynamics.periodic_orbits(F, 1) == [] or all(p.period == 1 for p in dynamics.periodic_orbits(F, 1))


def test_continuation_of_the_iterate_finds_the_second_period_doubling_1_plus_sqrt6():
    F = dynamics.read("logistic", overrides={"r": "3.2"})
    c = dynamics.continuation(dynamics.IteratedMap(F, 2), "r", 3.05, 3.5,
                              starts=[(3.2, dynamics.periodic_orbits(F, 2)[0].points[0])],
                              switch_branches=False)
    pd = [p for p in c.points if p.type == "period_doubling"]
    assert len(pd) == 1 and pd[0].value == pytest.approx(1 + np.sqrt(6), abs=1e-9)


def test_logistic_cascade_r3_1_plus_sqrt6_and_feigenbaum_ratios():
    F = dynamics.read("logistic")
    c = dynamics.period_doubling_cascade(F, "r", 2.5, 3.6, levels=5)
    assert c.periods == [1, 2, 4, 8, 16]
    # r_1 = 3, r_2 = 1 + sqrt 6; r_3.. from Briggs (1991), Math Comp 57:435
    np.testing.assert_allclose(c.values, [3.0, 1 + np.sqrt(6), 3.5440903596, 3.5644072661,
                                          3.5687594195], atol=2e-9)
    np.testing.assert_allclose(c.deltas, [4.7514, 4.6562, 4.6683], atol=2e-3)
    assert abs(c.deltas[-1] - 4.6692016) < abs(c.deltas[0] - 4.6692016)


def test_henon_cascade_first_two_doublings_at_closed_forms():
    F = dynamics.read("henon")  # b = 0.3
    b = 0.3
    c = dynamics.period_doubling_cascade(F, "a", 0.0, 1.1, levels=2)
    # fixed point: a = 3(1-b)^2/4; period 2 (trace of DF^2 = -1 - b^2): a = (1-b)^2 + (1+b)^2/4
    np.testing.assert_allclose(c.values, [0.75 * (1 - b) ** 2, (1 - b) ** 2 + (1 + b) ** 2 / 4], atol=1e-9)


@pytest.mark.slow
def test_hodgkin_huxley_spiking_branch_folds_at_6_26_uA_per_cm2():
    # Rinzel & Miller (1980); Guckenheimer & Labouriau (1993): limit point of periodic solutions
    # at I = 6.26 uA/cm^2 (6.3 C), the onset of repetitive firing; below it only rest remains
    F = dynamics.read("hodgkin_huxley", overrides={"I": "7 uA/cm**2"})
    c = dynamics.find_cycle(F)
    assert c.stable
    cc = dynamics.continue_cycles(F, "I", 0.05, 0.075, cycle=c, max_steps=40, max_ds=0.2)
    folds = [p for p in cc.points if p.type == "cycle_fold"]
    assert len(folds) == 1
    assert folds[0].value * 100 == pytest.approx(6.26, abs=0.01)  # A/m^2 -> uA/cm^2
    (b,) = cc.branches
    assert b.stable[b.values > folds[0].value + 1e-4].any() and not b.stable.all()


def test_floquet_multipliers_of_a_stiff_product_from_the_factors_where_the_explicit_product_fails():
    # M_i = S_{i+1} D S_i^{-1} with D = diag(1e4, 1, 1e-4) and S_m = S_0: the product over a
    # period is S_0 D^4 S_0^{-1}, eigenvalues exactly 1e16, 1 and 1e-16 (a very unstable cycle:
    # trivial multiplier 1 between an expanding and a contracting direction)
    rng = np.random.default_rng(0)
    n, m = 3, 4
    S = [np.linalg.qr(rng.normal(size=(n, n)))[0] + 0.3 * rng.normal(size=(n, n)) for _ in range(m)]
    D = np.diag([1e4, 1.0, 1e-4])
    Ms = [S[(i + 1) % m] @ D @ np.linalg.inv(S[i]) for i in range(m)]
    exact = np.array([1e16, 1.0, 1e-16])
    P = np.eye(n)
    for M in Ms:
        P = M @ P
    naive = np.sort(np.abs(np.linalg.eigvals(P)))[::-1]
    assert np.max(np.abs(naive - exact) / exact) > 0.1        # the explicit product loses 1 and 1e-16
    mu = dynamics.floquet_multipliers(Ms)
    np.testing.assert_allclose(np.sort(np.abs(mu))[::-1], exact, rtol=1e-6)
    np.testing.assert_allclose(mu.imag, 0.0, atol=0)
    mu, V = dynamics.floquet_multipliers(Ms, vectors=True)   # eigenvectors of the product:
    for k in range(n):                                         # S_0 e_j for mu = D_jj^4
        w = np.abs(np.linalg.solve(S[0], V[:, k]))
        j = int(np.argmin(np.abs(np.log10(np.abs(mu[k])) - [16, 0, -16])))
        assert np.delete(w, j).max() < 1e-6 * w[j]


@pytest.mark.slow
def test_hodgkin_huxley_branch_from_the_subcritical_hopf_point_reaches_the_fold_of_cycles_at_6_26():
    # Rinzel & Miller (1980): the unstable cycles born at the subcritical Hopf point
    # (9.78 uA/cm^2, Hassard 1978) connect to the spiking cycles at the fold of cycles at
    # 6.26 uA/cm^2. On the way the branch wiggles between two more folds near 7.84 and 7.92
    # ("up to 3 unstable cycles", Balti, Lanza & Aziz-Alaoui 2018, doi:10.3934/mbe.2018036),
    # where its leading multiplier reaches ~1e9: with the product of the segment matrices the
    # trivial multiplier drifted from 1 there and the continuation stalled near 7.9.
    F = dynamics.read("hodgkin_huxley")
    h = hopf_point(F, "I", 0.05, 0.12)
    assert h.value * 100 == pytest.approx(9.78, abs=0.01)
    cc = dynamics.continue_cycles(F, "I", 0.05, 0.12, hopf=h, max_steps=200)
    (b,) = cc.branches
    folds = sorted(p.value * 100 for p in cc.points if p.type == "cycle_fold")
    assert folds[0] == pytest.approx(6.26, abs=0.01)
    assert len(folds) == 3 and 7.80 < folds[1] < 7.88 and 7.88 < folds[2] < 7.95
    # every reported point is confirmed: trivial multiplier at 1, the critical one at +1 / -1
    for p in cc.points:
        mu = p.multipliers
        if p.type == "cycle_fold":   # a double multiplier 1 (a Jordan block): check the pair's mean
            k = 1 + int(np.argmin(np.abs(mu[1:] - 1)))
            assert abs(0.5 * (mu[0] + mu[k]) - 1) < 1e-4 and abs(mu[k] - 1) < 1e-2
        else:
            assert abs(mu[0] - 1) < 1e-5 and np.min(np.abs(mu[1:] + 1)) < 1e-4
    # period doublings (a multiplier through -1) only on the wiggle of the very unstable part
    pds = [p.value * 100 for p in cc.points if p.type == "period_doubling"]
    assert all(folds[1] - 0.01 < v < folds[2] + 0.01 for v in pds)
    assert not b.stable[0] and b.stable[-1] and b.values[-1] >= 0.12   # up the spiking branch
    assert b.stable[b.values > folds[0] / 100 + 1e-4].any()
    trivial = np.array([abs(mu[0] - 1) for mu in b.multipliers])
    assert np.median(trivial) < 1e-6 and trivial.max() < 1e-2    # (the largest next to the folds)


@pytest.mark.parametrize("lo, hi, max_ds", [(2.5, 3.2, 0.1), (2.4, 3.0, 0.03)])
def test_rossler_first_period_doubling_near_c_2_832_with_a_multiplier_minus_1(lo, hi, max_ds):
    # Rossler a = b = 0.2: the period-1 cycle doubles at c = 2.832 (e.g. Kuznetsov 2004, 10.5;
    # the cascade 2.832, 3.837, 4.12, ...)
    F = dynamics.read("rossler", overrides={"a": "0.2", "b": "0.2", "c": "2.5"})
    c = dynamics.find_cycle(F)
    assert c.stable and c.multipliers[1].real < 0  # approaching -1 from inside
    cc = dynamics.continue_cycles(F, "c", lo, hi, cycle=c, max_ds=max_ds, max_steps=80)
    (pd,) = [p for p in cc.points if p.type == "period_doubling"]
    assert pd.value == pytest.approx(2.8324, abs=2e-4)
    assert np.min(np.abs(pd.multipliers + 1)) < 1e-6
    # past it, the attracting cycle has about twice the period
    c2 = dynamics.find_cycle(F.with_params(c="3.0"))
    assert c2.period == pytest.approx(2 * pd.period, rel=0.05) and c2.stable


def test_poincare_section_of_the_hopf_cycle_returns_every_2pi_over_omega_at_radius_sqrt_mu():
    F = dynamics.read("hopf", overrides={"omega": "2"})  # mu = 0.5
    s = dynamics.poincare_section(F, duration=60.0, transient=30.0, normal=[0.0, 1.0], point=[0.0, 0.0])
    assert len(s.times) >= 18
    np.testing.assert_allclose(s.return_times, np.pi, rtol=1e-7)       # 2 pi / omega
    np.testing.assert_allclose(s.states[:, 0], np.sqrt(0.5), rtol=1e-6)  # upward crossings of y = 0 at x > 0
    np.testing.assert_allclose(s.states[:, 1], 0.0, atol=1e-9)


def test_poincare_section_of_rossler_after_the_doubling_alternates_between_two_points():
    F = dynamics.read("rossler", overrides={"a": "0.2", "b": "0.2", "c": "3.0"})
    s = dynamics.poincare_section(F, duration=200.0, transient=300.0)
    x = s.states
    assert np.max(np.abs(x[2:] - x[:-2])) < 1e-4 and np.min(np.abs(x[1:] - x[:-1]).max(axis=1)) > 1e-2


def test_switching_onto_the_period_doubled_rossler_branch_finds_the_second_doubling_at_c_3_837():
    F = dynamics.read("rossler", overrides={"a": "0.2", "b": "0.2", "c": "2.5"})
    cc = dynamics.continue_cycles(F, "c", 2.5, 3.0, cycle=dynamics.find_cycle(F), max_ds=0.1)
    (pd,) = [p for p in cc.points if p.type == "period_doubling"]
    c2 = dynamics.continue_cycles(F, "c", 2.5, 4.0, period_doubling=pd, max_ds=0.1)
    (b,) = c2.branches
    assert b.periods[0] == pytest.approx(2 * pd.period, rel=1e-3)  # born with twice the period
    assert b.values.min() > pd.value and b.stable[:-3].all()
    (pd2,) = [p for p in c2.points if p.type == "period_doubling"]
    assert pd2.value == pytest.approx(3.8374, abs=5e-4)  # the cascade: 2.832, 3.837, ...
    assert np.min(np.abs(pd2.multipliers + 1)) < 1e-6


# --------------------------------------------------------------------------
# Neimark-Sacker (torus) bifurcation of a cycle: a closed form
# --------------------------------------------------------------------------

TORUS = ("dx/dt = (x*(mu - x**2 - y**2 - beta*z) - omega*y)/tau : 1\n"
         "dy/dt = (y*(mu - x**2 - y**2 - beta*z) + omega*x)/tau : 1\n"
         "dz/dt = (a*z + x**2 + y**2 - mu)/tau : 1")


def test_neimark_sacker_of_a_cycle_at_the_closed_form_a_equals_2_mu():
    # In cylindrical coordinates r' = r (mu - r^2 - beta z), theta' = omega, z' = a z + r^2 - mu:
    # the cycle r = sqrt(mu), z = 0, period 2 pi/omega, for every a. Transverse linearisation in
    # (r - sqrt(mu), z): [[-2 mu, -beta sqrt(mu)], [2 sqrt(mu), a]], trace a - 2 mu, determinant
    # 2 mu (beta - a) > 0: the complex pair of multipliers exp(lambda T) crosses the unit circle
    # at a = 2 mu (a Neimark-Sacker bifurcation, Kuznetsov 2004, 7.3) with
    # lambda = +- i sqrt(2 mu (beta - 2 mu)) (non-resonant for mu = 1, beta = 3.5: sqrt(3)).
    mu, beta, omega = 1.0, 3.5, 1.0
    data = {"kind": "system", "description": "torus", "model": TORUS, "time_unit": "tau",
            "parameters": {"mu": "1", "beta": "1", "omega": "1", "a": "1", "tau": "ms"},
            "parameter_sets": {"default": {"values": {"mu": repr(mu), "beta": repr(beta),
                                                      "omega": repr(omega), "a": "1.0", "tau": "1 ms"}}},
            "initial": {"x": "1", "y": "0", "z": "0"},
            "ranges": {"x": ["-1.5", "1.5"], "y": ["-1.5", "1.5"], "z": ["-1", "1"]}}
    F = dynamics.read(from_dict(data, "torus"))   # ranges: z = 0 on the cycle sets no scale
    c = dynamics.find_cycle(F)
    T = 2 * np.pi / omega
    assert c.period == pytest.approx(T, rel=1e-8) and c.stable
    lam = np.linalg.eigvals(np.array([[-2 * mu, -beta * np.sqrt(mu)], [2 * np.sqrt(mu), 1.0]]))
    np.testing.assert_allclose(np.sort_complex(c.multipliers[1:]), np.sort_complex(np.exp(lam * T)), rtol=1e-6)
    cc = dynamics.continue_cycles(F, "a", 0.5, 2.8, cycle=c, max_ds=0.1)
    (ns,) = cc.points
    assert ns.type == "neimark_sacker"
    assert ns.value == pytest.approx(2 * mu, abs=1e-7)
    pair = ns.multipliers[1:]
    np.testing.assert_allclose(np.abs(pair), 1.0, atol=1e-7)
    w = np.sqrt(2 * mu * (beta - 2 * mu))
    np.testing.assert_allclose(np.abs(np.angle(pair)), abs(np.angle(np.exp(1j * w * T))), atol=1e-6)
