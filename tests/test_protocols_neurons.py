"""current_steps: the LIF f-I curve against its closed form; firing patterns from the model's sets."""

import math

import numpy as np
import pytest

from biodyn import jobs, protocols
from biodyn.errors import SpecError


def lif_period(I_nA, tau=10e-3, R=10e6, dv=15e-3, t_ref=2e-3):
    """T = t_ref + tau ln(R I / (R I - dv)) (Dayan & Abbott 2001, 5.4); inf below the rheobase."""
    I = I_nA * 1e-9
    if R * I <= dv:
        return math.inf
    return t_ref + tau * math.log(R * I / (R * I - dv))


def test_fi_curve_of_the_lif_matches_the_closed_form_within_one_spike(tmp_path):
    r = jobs.replay("fi_curve", target="numpy", out=tmp_path)
    s = r.summary
    currents = [c["labels"]["current"] for c in s["conditions"]]
    assert currents[0] == 0 and currents[-1] == 4 and len(currents) == 41
    window, dt = 0.8, 1e-4  # rate counted from 250 ms to 1050 ms; time step 0.1 ms
    for c in s["conditions"]:
        if abs(c["labels"]["current"] - 1.5) < 1e-9:
            continue  # the rheobase itself: the period diverges (log singularity)
        T = lif_period(c["labels"]["current"])
        # on the time grid the threshold crossing and the end of the refractory period each fall
        # on a step: |T_sim - T| <= dt; counting spikes in the window adds at most one spike
        hi, lo = (1 / (T - dt), 1 / (T + dt)) if math.isfinite(T) else (0.0, 0.0)
        assert lo - 1 / window - 1e-9 <= c["value"] <= hi + 1 / window + 1e-9
    assert s["units"] == {"current": "nA"} and (tmp_path / "fi_curve.png").exists()


def test_firing_patterns_make_one_condition_per_set_with_a_step_current(tmp_path):
    r = jobs.replay("firing_patterns", target="numpy", out=tmp_path)
    import biodyn

    spec = biodyn.load("adex")
    with_step = [n for n, ps in spec.parameter_sets.items() if "I_step" in ps.values]
    conds = r.summary["conditions"]
    assert [c["labels"]["pattern"] for c in conds] == list(range(len(with_step)))
    block = __import__("biodyn").io.read(tmp_path / "firing_patterns.pkl")
    assert block.annotations["parameter_sets"] == __import__("json").dumps(with_step)
    rates = {n: c["value"] for n, c in zip(with_step, conds)}
    assert rates["naud_2008_tonic"] > 50 and rates["naud_2008_adapting"] > 0
    # silent before the step (t < 100 ms), for every pattern
    spikes = [st for st in block.segments[0].spiketrains]
    assert all(float(st.magnitude.min(initial=1.0)) >= 0.1 for st in spikes)


def test_firing_patterns_of_izhikevich_use_its_step_drive():
    r = protocols.run("firing_patterns", model="izhikevich", target="numpy")
    assert len(r.summary["conditions"]) == 5  # RS, IB, CH, FS, LTS give I_step
    assert r.extra["names"][0] == "regular_spiking" and np.all(r.values > 0)


def test_fi_curve_with_a_model_whose_input_is_not_a_current_is_a_clear_error():
    with pytest.raises(SpecError) as info:
        protocols.run("fi_curve", model="izhikevich", target="numpy")
    assert "voltage" in str(info.value) and "current" in str(info.value)
