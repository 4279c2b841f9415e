"""Coincident pre and post spikes: biodyn's convention and NEST's, each against its reference.

A pre and a post spike in the same time step are a pair at dt = 0 under biodyn's
``coincidence = "biodyn"`` (Brian2 runs the presynaptic pathway first) and no pair under
``coincidence = "nest"`` (NEST 3's stdp_synapse, stdp_nn_*_synapse, stdp_triplet_synapse
and vogels_sprekeler_synapse, which also clips twice at a presynaptic spike). Every rule with
the option runs, under both conventions, on trains with coincident spikes, in one Brian2 run
(numpy target), against tests/plasticity_reference.py: ``pair_stdp``/``triplet_stdp``/``vogels``
(event-order pair sums) for biodyn's, ``*_nest`` (NEST's presynaptic-spike-driven update of its
``send()``) for NEST's. With NEST installed, the NEST synapses themselves run on the same trains.
"""

import numpy as np
import pytest

import plasticity_reference as ref

DT_MS = 0.5
W0 = 0.45
PAIR = {"tau_plus": "16.8 ms", "tau_minus": "33.7 ms", "A_plus": "0.02", "A_minus": "0.021",
        "w_min": "0", "w_max": "1"}
PAIRINGS = ("all_to_all", "nearest", "nearest_pre_centred", "nearest_restricted")
TRIPLET_SETS = ("hippocampal_all_to_all_full", "hippocampal_nearest_full")
VOGELS = {"eta": "0.05", "w_max": "1"}
VOGELS_W0 = (0.5, 0.999)  # mid-range, and near w_max where NEST's two clips differ
CONVENTIONS = ("biodyn", "nest")
LATE_PRE_S = 0.45  # a last pre spike: NEST applies potentiation only at presynaptic spikes


def _floats(resolved):
    from brian2.units.fundamentalunits import Quantity

    return {k: float(np.asarray(v)) if isinstance(v, Quantity) else float(v)
            for k, v in resolved.namespace.items()}


def _trains():
    pats = ref.coincident_patterns(DT_MS)
    names = list(pats)
    return names, [(np.append(a, LATE_PRE_S), b) for a, b in (pats[k] for k in names)]


@pytest.fixture(scope="module")
def coincidence_run():
    from brian2 import ms, second

    import biodyn
    from biodyn import build, stimuli

    names, trains = _trains()
    out = {"names": names, "trains": trains, "w": {}, "p": {}}
    with biodyn.Simulation("numpy", dt=DT_MS * ms, seed=1) as sim:
        pre = stimuli.generator([a * second for a, _ in trains], DT_MS * ms, name="pre")
        post = stimuli.generator([b * second for _, b in trains], DT_MS * ms, name="post")
        objects = [pre, post]
        syns = {}

        def add(key, model, params=None, **kw):
            syn = biodyn.synapses(model, pre, post, params, connect="one_to_one",
                                  name=f"s_{len(syns)}", **kw)
            syns[key] = syn
            out["p"][key] = _floats(build.resolved_of(syn))
            objects.append(syn)

        for conv in CONVENTIONS:
            for pairing in PAIRINGS:
                add(("pair", pairing, conv), "stdp_pair", overrides=PAIR, init={"w": W0},
                    variants={"pairing": pairing, "weight": "additive", "coincidence": conv})
            for pset in TRIPLET_SETS:
                add(("triplet", pset, conv), "stdp_triplet", pset, init={"w": 1.0},
                    variants={"coincidence": conv})
            for w0 in VOGELS_W0:
                add(("vogels", w0, conv), "istdp_vogels_2011", overrides=VOGELS, init={"w": w0},
                    variants={"coincidence": conv})
        sim.run(LATE_PRE_S * second + 5 * ms, *objects)
        for key, syn in syns.items():
            out["w"][key] = np.array(syn.w[:])
    return out


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("pairing", PAIRINGS)
def test_pair_stdp_coincident_spikes_follow_each_conventions_reference(coincidence_run, pairing, conv):
    key = ("pair", pairing, conv)
    p = coincidence_run["p"][key]
    fn = ref.pair_stdp_nest if conv == "nest" else ref.pair_stdp
    want = [fn(a, b, pairing=pairing, weight="additive", w0=W0,
               **{k: p[k] for k in ("tau_plus", "tau_minus", "A_plus", "A_minus", "w_min", "w_max")})
            for a, b in coincidence_run["trains"]]
    np.testing.assert_allclose(coincidence_run["w"][key], want, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("pset", TRIPLET_SETS)
def test_triplet_stdp_coincident_spikes_follow_each_conventions_reference(coincidence_run, pset, conv):
    key = ("triplet", pset, conv)
    p = coincidence_run["p"][key]
    fn = ref.triplet_stdp_nest if conv == "nest" else ref.triplet_stdp
    pairing = "nearest" if "nearest" in pset else "all_to_all"
    want = [fn(a, b, pairing=pairing, w0=1.0,
               **{k: p[k] for k in ("tau_plus", "tau_x", "tau_minus", "tau_y", "A2_plus", "A3_plus",
                                    "A2_minus", "A3_minus", "w_min", "w_max")})
            for a, b in coincidence_run["trains"]]
    np.testing.assert_allclose(coincidence_run["w"][key], want, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("w0", VOGELS_W0)
def test_vogels_coincident_spikes_and_clipping_follow_each_conventions_reference(coincidence_run, w0, conv):
    key = ("vogels", w0, conv)
    p = coincidence_run["p"][key]
    fn = ref.vogels_nest if conv == "nest" else ref.vogels
    want = [fn(a, b, w0=w0, **{k: p[k] for k in ("tau", "eta", "rho0", "w_min", "w_max")})
            for a, b in coincidence_run["trains"]]
    np.testing.assert_allclose(coincidence_run["w"][key], want, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("rule", ["pair", "triplet", "vogels"])
def test_conventions_differ_on_coincident_trains_and_agree_without_them(coincidence_run, rule):
    """The option matters exactly where spikes share a step (and, for Vogels, near w_max)."""
    w = coincidence_run["w"]
    keys = [k for k in w if k[0] == rule and k[-1] == "biodyn"]
    for k in keys:
        diff = np.abs(w[k] - w[k[:-1] + ("nest",)])
        assert diff.max() > 1e-4, k
    # without coincidences (and away from w_max) the two references agree
    pre, post = ref.on_grid([10, 30, 52], DT_MS), ref.on_grid([15, 22, 50, 60], DT_MS)
    if rule == "pair":
        kw = dict(weight="additive", tau_plus=0.0168, tau_minus=0.0337, A_plus=0.02, A_minus=0.021,
                  w_min=0.0, w_max=1.0, w0=W0)
        for pairing in PAIRINGS:
            assert ref.pair_stdp_nest(pre, post, pairing=pairing, **kw) == pytest.approx(
                ref.pair_stdp(pre, post, pairing=pairing, **kw), abs=1e-15)
    elif rule == "triplet":
        kw = dict(tau_plus=0.0168, tau_x=0.946, tau_minus=0.0337, tau_y=0.027, A2_plus=6.1e-3,
                  A3_plus=6.7e-3, A2_minus=1.6e-3, A3_minus=1.4e-3, w_min=0.0, w_max=100.0, w0=1.0)
        for pairing in ("all_to_all", "nearest"):
            assert ref.triplet_stdp_nest(pre, post, pairing=pairing, **kw) == pytest.approx(
                ref.triplet_stdp(pre, post, pairing=pairing, **kw), abs=1e-15)
    else:
        kw = dict(tau=0.02, eta=0.05, rho0=3.0, w_min=0.0, w_max=1.0, w0=0.5)
        assert ref.vogels_nest(pre, post, **kw) == pytest.approx(ref.vogels(pre, post, **kw), abs=1e-15)


def test_nest_convention_is_documented_in_each_spec():
    from biodyn import catalog

    for model in ("stdp_pair", "stdp_triplet", "istdp_vogels_2011"):
        spec = catalog.load(model)
        assert set(spec.variants["coincidence"].options) == {"biodyn", "nest"}
        assert spec.variants["coincidence"].default == "biodyn"
        assert "same time step" in spec.notes and "NEST" in spec.notes


# --------------------------------------------------------------------------
# Optional: NEST itself on the same trains
# --------------------------------------------------------------------------

NEST_PAIR_MODELS = {"all_to_all": "stdp_synapse", "nearest": "stdp_nn_symm_synapse",
                    "nearest_pre_centred": "stdp_nn_pre_centered_synapse",
                    "nearest_restricted": "stdp_nn_restr_synapse"}
NEST_OFFSET_MS = 1000.0  # NEST pairs early post spikes with a phantom pre spike at t = 0


def _run_nest(nest, model, trains, syn_params, post_params, w0):
    """Final weights of NEST synapses between parrot neurons; trains as seen at the synapse.

    The synapse's delay d is dendritic: a post spike reaches the synapse d after it occurs,
    so post spikes are emitted d earlier; each parrot fires one delay after its generator.
    """
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT_MS})
    d = DT_MS
    n = len(trains)
    pre_gen, post_gen = nest.Create("spike_generator", n), nest.Create("spike_generator", n)
    pre_par = nest.Create("parrot_neuron", n)
    post_par = nest.Create("parrot_neuron", n, params=post_params)
    for k, (pre, post) in enumerate(trains):
        pre_gen[k].spike_times = [round(t * 1e3 + NEST_OFFSET_MS - d, 6) for t in pre]
        post_gen[k].spike_times = [round(t * 1e3 + NEST_OFFSET_MS - 2 * d, 6) for t in post]
    nest.Connect(pre_gen, pre_par, "one_to_one", {"delay": d})
    nest.Connect(post_gen, post_par, "one_to_one", {"delay": d})
    nest.Connect(pre_par, post_par, "one_to_one",  # receptor 1: a parrot does not repeat these
                 dict(synapse_model=model, weight=w0, delay=d, receptor_type=1, **syn_params))
    nest.Simulate(LATE_PRE_S * 1e3 + NEST_OFFSET_MS + 10.0)
    st = nest.GetConnections(pre_par, post_par).get(["source", "weight"])
    return np.array(st["weight"])[np.argsort(st["source"])]


@pytest.fixture(scope="module")
def nest_module():
    nest = pytest.importorskip("nest")
    try:
        nest.set_verbosity("M_ERROR")
    except Exception:  # noqa: BLE001 - verbosity is cosmetic
        pass
    return nest


def test_nest_synapses_equal_biodyn_nest_convention(coincidence_run, nest_module):
    nest = nest_module
    trains = coincidence_run["trains"]
    w = coincidence_run["w"]
    for pairing, model in NEST_PAIR_MODELS.items():
        p = coincidence_run["p"][("pair", pairing, "nest")]
        got = _run_nest(nest, model, trains,
                        {"tau_plus": p["tau_plus"] * 1e3, "lambda": p["A_plus"],
                         "alpha": p["A_minus"] / p["A_plus"], "mu_plus": 0.0, "mu_minus": 0.0,
                         "Wmax": p["w_max"]}, {"tau_minus": p["tau_minus"] * 1e3}, W0)
        np.testing.assert_allclose(w[("pair", pairing, "nest")], got, rtol=1e-9, atol=1e-14,
                                   err_msg=model)
        assert np.abs(w[("pair", pairing, "biodyn")] - got).max() > 1e-4, model
    p = coincidence_run["p"][("triplet", TRIPLET_SETS[0], "nest")]
    got = _run_nest(nest, "stdp_triplet_synapse", trains,
                    {"tau_plus": p["tau_plus"] * 1e3, "tau_plus_triplet": p["tau_x"] * 1e3,
                     "Aplus": p["A2_plus"], "Aplus_triplet": p["A3_plus"], "Aminus": p["A2_minus"],
                     "Aminus_triplet": p["A3_minus"], "Wmax": p["w_max"]},
                    {"tau_minus": p["tau_minus"] * 1e3, "tau_minus_triplet": p["tau_y"] * 1e3}, 1.0)
    np.testing.assert_allclose(w[("triplet", TRIPLET_SETS[0], "nest")], got, rtol=1e-9, atol=1e-14)
    for w0 in VOGELS_W0:
        p = coincidence_run["p"][("vogels", w0, "nest")]
        got = _run_nest(nest, "vogels_sprekeler_synapse", trains,
                        {"tau": p["tau"] * 1e3, "eta": p["eta"], "alpha": 2 * p["rho0"] * p["tau"],
                         "Wmax": p["w_max"]}, {"tau_minus": p["tau"] * 1e3}, w0)
        np.testing.assert_allclose(w[("vogels", w0, "nest")], got, rtol=1e-9, atol=1e-14)


# --------------------------------------------------------------------------
# pathway_order: the spec key behind the NEST convention
# --------------------------------------------------------------------------

SYNAPSE_WITH_ORDER = '''
kind = "synapse"
description = "A counter for tests."
model = "w : 1"
on_pre = "w += 1"
on_post = "w -= 1"
pathway_order = "{order}"

[variants.side]
default = "pre"

[variants.side.pre]
order = "pre_first"

[variants.side.post]
order = "{post_option}"
'''


def test_pathway_order_other_than_pre_first_or_post_first_is_a_spec_error(tmp_path):
    from biodyn.errors import SpecError
    from biodyn.spec import load_file

    path = tmp_path / "counter.toml"
    path.write_text(SYNAPSE_WITH_ORDER.replace("{post_option}", "postfirst"))
    with pytest.raises(SpecError) as err:
        load_file(path)
    text = str(err.value)
    assert "pathway_order" in text and "postfirst" in text and "side=post" in text
    assert "post_first" in text  # the suggestion


def test_post_first_runs_the_post_pathway_before_the_pre_pathway(tmp_path):
    from brian2 import ms, second

    import biodyn
    from biodyn import stimuli
    from biodyn.spec import load_file

    path = tmp_path / "counter.toml"
    path.write_text(SYNAPSE_WITH_ORDER.replace("{post_option}", "post_first"))
    spec = load_file(path)
    orders = {}
    for side in ("pre", "post"):
        with biodyn.Simulation("numpy", dt=0.5 * ms, seed=1) as sim:
            pre = stimuli.generator([np.array([0.01]) * second], 0.5 * ms, name="pre")
            post = stimuli.generator([np.array([0.01]) * second], 0.5 * ms, name="post")
            syn = biodyn.synapses(spec, pre, post, variants={"side": side}, connect="one_to_one",
                                  init={"w": 0.0})
            orders[side] = {pw.prepost: pw.order for pw in syn._pathways}
            sim.run(20 * ms, pre, post, syn)
            assert float(syn.w[0]) == 0.0
    assert orders["pre"]["pre"] < orders["pre"]["post"]
    assert orders["post"]["post"] < orders["post"]["pre"]


@pytest.mark.parametrize("model", ["stdp_pair", "stdp_triplet", "istdp_vogels_2011"])
def test_rate_reduction_is_the_same_under_both_conventions(model):
    """Averaged over Poisson trains in continuous time, spikes never share an instant."""
    import sympy

    from biodyn.flow import rate_reduction

    a = rate_reduction(model, variants={"coincidence": "biodyn"})
    b = rate_reduction(model, variants={"coincidence": "nest"})
    assert sympy.simplify(a.symbolic - b.symbolic) == 0
    assert a.symbolic != 0
