"""The builder: specs become ordinary Brian2 objects; Simulation picks the target and checks state."""

import re

import numpy as np
import pytest
from brian2 import NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, ms, mV, nA, second

import biodyn
from biodyn import build
from biodyn.errors import BiodynError, SimulationError, SpecError

from test_spec import GOOD_NEURON


def test_neurons_carry_their_namespace_and_overrides():
    G = biodyn.neurons("lif", 2, overrides={"tau_m": "20 ms"})
    assert isinstance(G, NeuronGroup)
    assert G.namespace["tau_m"] == 20 * ms
    assert G.namespace["R"] is not None
    assert np.all(G.v[:] == -65 * mV)  # [initial] v = "E_L"
    assert build.resolved_of(G).overrides == {"tau_m": "20 ms"}


def test_objects_run_in_a_plain_brian_script():
    """No biodyn machinery needed to run: objects carry everything (default network, numpy)."""
    from brian2 import Network, prefs

    prefs.codegen.target = "numpy"
    G = biodyn.neurons("lif", 1)
    G.I = 3 * nA
    M = SpikeMonitor(G)
    Network(G, M).run(100 * ms)
    assert M.num_spikes > 5


def test_lif_period_matches_closed_form_in_simulation():
    """T = t_ref + tau*ln((R*I + E_L - v_reset)/(R*I + E_L - v_th)) within one time step."""
    currents = np.array([2.0, 3.0, 5.0]) * nA
    with biodyn.Simulation("numpy", dt=0.01 * ms) as sim:
        G = biodyn.neurons("lif", 3)
        G.I = currents
        M = SpikeMonitor(G)
        sim.run(200 * ms, G, M)
        trains = M.spike_trains()
    ns = build.resolved_of(G).namespace
    for k, I in enumerate(currents):
        T = ns["t_ref"] + ns["tau_m"] * np.log((ns["R"] * I + ns["E_L"] - ns["v_reset"])
                                               / (ns["R"] * I + ns["E_L"] - ns["v_th"]))
        periods = np.diff(trains[k])
        assert len(periods) > 3
        assert np.all(np.abs(periods - T) <= 0.0101 * ms)


def test_synapses_require_partner_variables(catalog_path):
    (catalog_path / "needs_v.toml").write_text('''
kind = "synapse"
description = "Reads the postsynaptic potential."
model = "w : 1"
on_pre = "w += int(v_post > v_th)"
[requires]
post = { v = "volt" }
[parameters]
v_th = "mV"
[citations.t]
authors = "Doe J"
year = 2020
journal = "J Tests 1:1"
[parameter_sets.default]
citation = "t"
values = { v_th = "-50 mV" }
''')
    pre = SpikeGeneratorGroup(1, [0], [1] * ms)
    post = SpikeGeneratorGroup(1, [0], [2] * ms)
    with pytest.raises(SpecError) as info:
        biodyn.synapses("needs_v", pre, post)
    assert info.value.key == "requires.post.v" and "no such variable" in info.value.found
    G = biodyn.neurons("lif", 1)
    S = biodyn.synapses("needs_v", pre, G, connect=True)
    assert S.namespace["v_th"] == -50 * mV


def test_synapse_spec_using_undeclared_partner_variable_is_rejected(catalog_path):
    (catalog_path / "undeclared.toml").write_text('''
kind = "synapse"
description = "Uses v_post without declaring it."
model = "w : 1"
on_pre = "w += v_post/mV"
''')
    with pytest.raises(SpecError) as info:
        biodyn.load("undeclared")
    assert "v_post" in info.value.found and "[requires.post]" in str(info.value)


def test_wrong_kind_for_builder():
    with pytest.raises(SpecError) as info:
        biodyn.neurons("stdp_pair", 1)
    assert "neuron model" in info.value.expected


def test_parameters_as_variables_give_the_same_dynamics():
    """Shared constant variables (for standalone run_args) change nothing in the results."""
    out = []
    for mode in ("namespace", "variables"):
        with biodyn.Simulation("numpy", dt=0.1 * ms) as sim:
            G = biodyn.neurons("lif", 1, parameters_as=mode)
            G.I = 2.5 * nA
            M = StateMonitor(G, "v", record=0)
            sim.run(50 * ms, G, M)
            out.append(np.asarray(M.v[0]))
    np.testing.assert_array_equal(out[0], out[1])
    G = biodyn.neurons("lif", 1, parameters_as="variables")
    assert "tau_m" in G.variables and "tau_m" not in G.namespace


def test_simulation_stops_on_nan_naming_variable_and_time(catalog_path):
    (catalog_path / "blowup.toml").write_text(GOOD_NEURON.replace(
        "dv/dt = (E_L - v) / tau : volt", "dv/dt = v**2 / (tau*mV) : volt").replace(
        'threshold = "v > v_th"\nreset = "v = E_L"\nmethod = "exact"', 'method = "euler"').replace(
        '[parameters]', '[initial]\nv = "10*mV"\n\n[parameters]'))
    with pytest.raises(SimulationError) as info:
        with biodyn.Simulation("numpy", dt=0.1 * ms, check_interval=1 * ms) as sim:
            G = biodyn.neurons("blowup", 1)
            sim.run(100 * ms, G)
    text = str(info.value)
    assert "'v'" in text and "t = " in text
    assert "became" in text


def test_unknown_target_is_a_clear_error():
    with pytest.raises(SpecError) as info:
        build.resolve_target("gpu")
    assert info.value.key == "--target" and "numpy" in info.value.expected


def test_simulation_restores_target_and_dt():
    from brian2 import defaultclock, prefs

    prefs.codegen.target = "numpy"
    before = defaultclock.dt
    with biodyn.Simulation("numpy", dt=0.05 * ms):
        assert defaultclock.dt == 0.05 * ms
    assert defaultclock.dt == before
    assert prefs.codegen.target == "numpy"


def test_same_seed_same_numbers_on_numpy():
    """Brian2's random numbers are seeded by Simulation(seed=...)."""
    runs = []
    for _ in range(2):
        with biodyn.Simulation("numpy", dt=0.1 * ms, seed=42) as sim:
            G = biodyn.neurons("lif", 5, init={"v": "E_L + rand()*10*mV"})
            runs.append(np.asarray(G.v[:]).copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.ptp(runs[0]) > 0


def test_rule_thresholds_are_not_confused_with_the_neurons_theta():
    """Regression: the covariance rule's postsynaptic threshold once resolved to the rate
    neuron's own `theta`. One Euler step must use the rule's thresholds only."""
    from brian2 import Hz

    with biodyn.Simulation("numpy", dt=1 * ms) as sim:
        pre = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"})
        post = biodyn.neurons("rate", 1, variants={"dynamics": "instantaneous"},
                              overrides={"theta": "0.3"})
        pre.I = 0.9
        post.I = 1.0  # r_post = g*(I - theta) = 0.7
        S = biodyn.synapses("covariance", pre, post, connect=True, init={"w": 0.0},
                            variants={"transmission": "none"}, parameters_as="variables")
        sim.run(1 * ms, pre, post, S)
        w = float(S.w[0])
    ns = build.resolved_of(S).namespace
    expected = 1e-3 * float(ns["eta"] / Hz) * (0.9 - ns["theta_x"]) * (0.7 - ns["theta_y"])
    assert w == pytest.approx(expected, rel=1e-12)


# -- synapses connected the Brian2 way (issue 13, section 1) ------------------------------

ISSUE_13_CONNECT_LATER = '''\
from brian2 import *; import numpy as np, biodyn
prefs.codegen.target = "numpy"; seed(1)
G = biodyn.neurons("lif", 5, params="dayan_abbott_2001"); G.I = "1.6*nA"
inp = PoissonGroup(20, 30*Hz)
S = biodyn.synapses("stdp_pair", inp, G, transmit="v_post += 1*mV*w")
S.connect(p=0.5); S.w = 0.5
w0 = np.array(S.w[:]); M = SpikeMonitor(G); run(500*ms)
print(M.num_spikes, np.array_equal(w0, S.w[:]), S.lr[:])   # 114 True 0.0
'''


def _run_user_script(text, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "user_script.py"
    script.write_text(text)
    env = dict(os.environ)
    root = str(Path(biodyn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_issue_13_script_synapses_connected_later_learn(tmp_path):
    """The issue's script verbatim, as a user runs it: the weights change and lr is the set's 1."""
    out = _run_user_script(ISSUE_13_CONNECT_LATER, tmp_path).split()
    assert int(out[0]) > 50          # the postsynaptic neurons fire
    assert out[1] == "False"         # ... and the weights learned
    assert float(out[2]) == 1.0      # lr from [initial], not 0


def _connect_later_network(later, **kwargs):
    from brian2 import Hz, Network, PoissonGroup, seed

    seed(3)
    G = biodyn.neurons("lif", 4, params="dayan_abbott_2001")
    G.I = "1.6*nA"
    inp = PoissonGroup(10, 40 * Hz)
    if later:
        S = biodyn.synapses("stdp_pair", inp, G, transmit="v_post += 1*mV*w", **kwargs)
        S.connect(condition="i != j")
    else:
        S = biodyn.synapses("stdp_pair", inp, G, transmit="v_post += 1*mV*w", connect="i != j",
                            **kwargs)
    w0 = np.array(S.w[:])
    Network(G, inp, S).run(200 * ms)
    return S, w0


def test_synapses_connected_later_learn_exactly_as_with_connect_argument():
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    for kwargs in ({}, {"parameters_as": "per_element"}):
        S, w0 = _connect_later_network(True, **kwargs)
        R, r0 = _connect_later_network(False, **kwargs)
        assert np.all(w0 == 0.5) and S.lr[:] == 1.0  # the set's w = 0.5*w_max, lr = 1
        assert np.array_equal(S.w[:], R.w[:]) and not np.array_equal(S.w[:], w0)
        if kwargs:
            assert np.all(S.A_plus[:] == 0.005)


def test_each_connect_call_gives_its_new_synapses_the_start_values():
    """Later calls set only the new synapses: values set in between and shared ones stay."""
    from brian2 import prefs

    prefs.codegen.target = "numpy"
    G = NeuronGroup(3, "v : 1", threshold="False")
    S = biodyn.synapses("stdp_pair", G, G, parameters_as="per_element", init={"w": "0.1*(j + 1)"})
    S.connect(i=0, j=[0, 1])
    S.w = 0.9
    S.lr = 0.5
    first = 2
    S.connect(condition="i == first")          # a name from this frame, as Brian2 resolves it
    assert len(S) == 5
    assert np.allclose(S.w[:2], 0.9)
    assert np.allclose(S.w[2:], 0.1 * (np.asarray(S.j[2:]) + 1))
    assert S.lr[:] == 0.5 and np.all(S.A_plus[:] == 0.005)


def test_synapses_created_past_their_connect_are_a_loud_error_at_the_first_run():
    from brian2 import Network, Synapses, prefs

    prefs.codegen.target = "numpy"
    G = NeuronGroup(2, "v : 1", threshold="False")
    S = biodyn.synapses("stdp_pair", G, G)
    Synapses.connect(S, j="i")
    with pytest.raises(Exception) as info:
        Network(G, S).run(1 * ms)
    chain = [info.value]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    ours = [e for e in chain if isinstance(e, BiodynError)]  # Brian2 wraps it, printed first
    assert ours and "without the parameter set's start values" in str(ours[0])
    build.initialise(S)                        # the documented repair
    assert np.all(S.w[:] == 0.5)
    Network(G, S).run(1 * ms)


def test_second_connect_on_standalone_is_refused_before_any_build():
    import importlib

    from brian2 import set_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    devices = importlib.import_module("brian2.devices.device")  # the module, not the proxy

    saved, stack = devices.active_device, list(devices.previous_devices)
    try:
        set_device(CPPStandaloneDevice(), build_on_run=False)
        G = NeuronGroup(2, "v : 1", threshold="False")
        S = biodyn.synapses("stdp_pair", G, G)
        S.connect(j="i")
        with pytest.raises(BiodynError, match="second call|one connect"):
            S.connect(i=0, j=1)
    finally:
        devices.active_device = saved
        devices.previous_devices[:] = stack


def test_simulation_leaves_the_callers_device_prefs_scope_and_random_state():
    """Entering and leaving Simulations (standalone without a build, numpy with a run) changes
    nothing of the caller's: the same device object and stack, prefs (make arguments included),
    clock, magic-network scope and random state (issue 13, section 2)."""
    import copy
    import importlib

    from brian2 import defaultclock, prefs, seed
    from brian2.core.base import BrianObject

    devices = importlib.import_module("brian2.devices.device")

    def state():
        dev = devices.active_device
        return (dev, list(devices.previous_devices), {k: copy.deepcopy(v) for k, v in prefs.prefs.items()},
                float(defaultclock.dt_), BrianObject._scope_current_key, np.random.get_state()[1].copy(),
                dev.get_random_state()["rand_buffer_index"].copy())

    prefs.codegen.target = "numpy"
    seed(5)
    np.random.rand()
    before = state()
    with biodyn.Simulation("cpp_standalone", dt=0.05 * ms, seed=1):
        assert devices.active_device is not before[0]
    with biodyn.Simulation("numpy", dt=0.05 * ms, seed=1) as sim:
        G = NeuronGroup(2, "dv/dt = -v/(10*ms) + 0.1*xi/sqrt(ms) : 1")
        sim.run(1 * ms, G)
    after = state()
    assert after[0] is before[0] and [d[0] for d in after[1]] == [d[0] for d in before[1]]
    assert after[2] == before[2] and after[3:5] == before[3:5]
    assert np.array_equal(after[5], before[5]) and np.array_equal(after[6], before[6])


def test_numpy_simulation_inside_a_users_standalone_script_leaves_their_project_alone():
    """A user building a cpp_standalone project calls a numpy Simulation: afterwards their
    device is the same object with the same options and stack, and nothing was recorded
    into their project (its main queue is unchanged)."""
    import importlib

    from brian2 import set_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    devices = importlib.import_module("brian2.devices.device")
    saved, stack = devices.active_device, list(devices.previous_devices)
    user = CPPStandaloneDevice()
    try:
        set_device(user, build_on_run=False, directory="user_project")
        before = (list(devices.previous_devices), user.build_on_run, dict(user.build_options),
                  list(user.main_queue))
        with biodyn.Simulation("numpy", dt=0.05 * ms, seed=1) as sim:
            G = NeuronGroup(2, "dv/dt = -v/(10*ms) : 1")
            sim.run(1 * ms, G)
        assert devices.active_device is user
        assert (list(devices.previous_devices), user.build_on_run, dict(user.build_options),
                list(user.main_queue)) == before
    finally:
        devices.active_device = saved
        devices.previous_devices[:] = stack


def _tiny_standalone(tmp_path, name, tau_ms, monkeypatch, cache_on):
    from brian2 import NeuronGroup, SpikeMonitor, ms

    monkeypatch.setenv("BIODYN_OBJECT_CACHE", "1" if cache_on else "0")
    with biodyn.Simulation("cpp_standalone", dt=0.1 * ms, seed=3, directory=tmp_path / name) as sim:
        G = NeuronGroup(4, f"dv/dt = (1.2 + 0.1*i - v)/({tau_ms}*ms) : 1", threshold="v > 1",
                        reset="v = 0", method="exact", name="cells")
        M = SpikeMonitor(G, name="spikes")
        sim.run(50 * ms, G, M)
        return np.asarray(M.t / ms).copy(), np.asarray(M.i).copy()


@pytest.mark.compiled
@pytest.mark.slow
def test_a_second_project_reuses_the_objects_of_sources_it_shares_and_runs_the_same(
        tmp_path, monkeypatch):
    """Issue 17: the object cache. Project B differs from A in its neuron equations; the
    sources they share (network.cpp, run.cpp, the spike monitor's code, ...) are reused, not
    compiled, and B's objects and spikes equal those of B built without the cache."""
    from biodyn import cache

    monkeypatch.setenv("BIODYN_CACHE", str(tmp_path / "cache"))
    # without the precompiled headers, whose objects differ in bytes (not in what they do)
    # from a build without the cache; tests/test_cache.py covers them
    monkeypatch.setenv("BIODYN_PCH", "0")
    _tiny_standalone(tmp_path, "a", 10, monkeypatch, True)
    after_a = cache.object_stats()
    assert after_a["hits"] == 0 and after_a["misses"] > 5
    t_b, i_b = _tiny_standalone(tmp_path, "b", 12, monkeypatch, True)
    after_b = cache.object_stats()
    reused = after_b["hits"]
    assert reused >= 3  # network.cpp, run.cpp, synapses_classes.cpp at least
    assert after_b["misses"] > after_a["misses"]  # the neuron group's own code is compiled
    log = (tmp_path / "cache" / "objects" / "log").read_text().split("\n")
    assert {line.split()[2] for line in log if line} == {"direct"}  # keyed without preprocessing
    reused_sources = {line.split()[3] for line in log if line.startswith("hit")}
    assert {"network.cpp", "run.cpp", "synapses_classes.cpp"} <= reused_sources
    t_c, i_c = _tiny_standalone(tmp_path, "c", 12, monkeypatch, False)
    assert cache.object_stats()["misses"] == after_b["misses"]  # off: nothing stored
    assert len(t_b) > 0 and np.array_equal(t_b, t_c) and np.array_equal(i_b, i_c)
    objects_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.o"))
    assert objects_b == sorted(p.relative_to(tmp_path / "c") for p in (tmp_path / "c").rglob("*.o"))
    for rel in objects_b:
        assert (tmp_path / "b" / rel).read_bytes() == (tmp_path / "c" / rel).read_bytes(), rel


def test_final_state_check_skips_spike_generators(monkeypatch):
    """The NaN/Inf check after a standalone run reads the groups' state, not the spike times
    of a SpikeGeneratorGroup (its given inputs: reading them back from disk cost 0.25 s per
    64-point song_2000 batch)."""
    checked = []
    monkeypatch.setattr(build, "_check_group_finite",
                        lambda group, t, seen=None: checked.append(group.name))
    gen = SpikeGeneratorGroup(2, [0, 1], [1, 2] * ms, name="gen")
    G = NeuronGroup(2, "v : 1", name="cells")

    class Fake:
        _objects = [gen, G]

    build.Simulation.check_state(Fake())
    assert checked == ["cells"]


def test_final_state_check_reads_each_variable_once_and_finds_the_same_first_nan(monkeypatch):
    """A Synapses' variables include its partners' (``v_post`` is the target's ``v``) and every
    group has its clock's ``t``/``dt``: the check after a standalone run reads each variable
    once (it read song_2000's 30 variables 102 times a run), and still stops at the first
    non-finite variable in the order it checked them before."""
    from brian2 import Synapses
    from brian2.core.variables import ArrayVariable

    src = NeuronGroup(2, "u : 1", threshold="u > 1", name="src")
    G = NeuronGroup(2, "v : 1", name="cells")
    S = Synapses(src, G, "w : 1", on_pre="v_post += w", name="syn")
    S.connect(i=[0, 1], j=[0, 1])
    reads = []
    real = ArrayVariable.get_value
    monkeypatch.setattr(ArrayVariable, "get_value", lambda self: reads.append(id(self)) or real(self))

    class Fake:
        _objects = [src, G, S]

    build.Simulation.check_state(Fake())
    assert reads and len(reads) == len(set(reads))
    assert id(G.variables["v"]) in reads and id(S.variables["w"]) in reads
    G.v[1] = np.nan
    with pytest.raises(SimulationError, match="'v' of 'cells'"):
        build.Simulation.check_state(Fake())


# -- the light units of a standalone project (issue 17) ----------------------------------------------

def test_light_units_compile_at_O1_only_where_the_user_optimises_more(tmp_path):
    import shutil as _shutil
    import subprocess

    from biodyn import build as _b

    assert _b.light_units_make_args(["-w", "-O0"]) == []  # a debugging user's -O0 stays
    assert _b.light_units_make_args(["-O3", "-O0"]) == []
    assert _b.light_units_make_args([]) == []
    if not (_shutil.which("make") and _b._make_has_eval()):
        pytest.skip("needs GNU make 3.82+")
    (arg,) = _b.light_units_make_args(["-w", "-O3", "-ffast-math"])
    # a makefile shaped like Brian2's: the light units get -O1 after the user's flags, the code
    # objects and the time loop (network.o) keep them
    (tmp_path / "makefile").write_text(
        "OPTIMISATIONS = -w -O3 -ffast-math\nCXXFLAGS = -c $(OPTIMISATIONS) -I.\n"
        "all: objects.o main.o network.o code_objects/x.o\n"
        "%.o : %.cpp makefile\n\t@echo $@: $(CXXFLAGS)\n")
    for name in ("objects.cpp", "main.cpp", "network.cpp", "code_objects/x.cpp"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("")
    out = subprocess.run(f"make {arg} all", shell=True, cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert sorted(out) == sorted(["objects.o: -c -w -O3 -ffast-math -I. -O1",
                                  "main.o: -c -w -O3 -ffast-math -I. -O1",
                                  "network.o: -c -w -O3 -ffast-math -I.",
                                  "code_objects/x.o: -c -w -O3 -ffast-math -I."])


def test_standalone_network_loop_reads_the_clock_once_per_run_not_per_step():
    """biodyn's standalone device generates Brian2's network loop without the std::clock()
    system call after every time step (0.06 s of CPU per 100 000 steps here); the run's time
    is read once after the loop; with a maximum_run_time Brian2's own loop is kept."""

    class Writer:
        def __init__(self):
            self.files = {}

        def write(self, name, text):
            self.files[name] = text

    device = build._standalone_device()
    writer = Writer()
    device.generate_network_source(writer, None)
    run = writer.files["network.cpp"].split("void Network::run", 1)[1].split("\n}\n", 1)[0]
    loop, after = run.split("while(clock", 1)[1].split("Network::_globally_running = false;", 1)
    step, end = loop.split("clock = next_clocks();", 1)[1].split("}", 1)
    assert "std::clock()" not in step and "elapsed_realtime" not in step
    assert "current = std::clock();" in end and "elapsed_realtime = (double)(current - start)" in end
    assert "_last_run_time = elapsed_realtime;" in after
    device._maximum_run_time = 10.0
    device.generate_network_source(writer, None)
    step = writer.files["network.cpp"].split("clock = next_clocks();", 1)[1].split("}", 1)[0]
    assert "std::clock()" in step


def test_a_compiler_found_is_remembered_only_while_it_is_there(tmp_path, monkeypatch):
    """has_compiler() remembers the compiler it found for a PATH (a sweep asks once per point);
    a compiler removed, or a PATH without one, gives False; one installed later is found."""
    import os

    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    assert not build.has_compiler()
    gxx = folder / "g++"
    gxx.write_text("#!/bin/sh\n")
    gxx.chmod(0o755)
    assert build.has_compiler()  # installed after a search that found none
    assert build.has_compiler()
    gxx.unlink()
    assert not build.has_compiler()
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not build.has_compiler()
    assert os.environ["PATH"] == str(tmp_path)


@pytest.mark.compiled
def test_a_failing_compilation_prints_nothing_and_the_compiler_error_is_in_the_error(tmp_path,
                                                                                     capfd):
    """Brian2 would write every compiler message of the session to the user's stdout and
    stderr when make fails; biodyn prints nothing, keeps make's output in the project's
    make.log and puts the compiler's error line into the SimulationError."""
    from brian2 import NeuronGroup, check_units, implementation, ms

    @implementation("cpp", "double biodyn_broken(double x) { return x + ; }")
    @check_units(x=1, result=1)
    def biodyn_broken(x):
        return x

    with build.Simulation("cpp_standalone", directory=tmp_path / "p") as sim:
        g = NeuronGroup(1, "dv/dt = biodyn_broken(v)/ms : 1", method="euler", name="g")
        capfd.readouterr()
        with pytest.raises(SimulationError) as err:
            sim.run(1 * ms, g, namespace={"biodyn_broken": biodyn_broken})
    assert capfd.readouterr() == ("", "")
    said = str(err.value)
    assert "compilation failed" in said and "the compiler said:" in said
    assert re.search(r"g_stateupdater_codeobject\.cpp:\d+:\d+: error: expected primary-expression",
                     said)
    assert str(tmp_path / "p" / "make.log") in said


@pytest.mark.compiled
def test_a_temporary_standalone_folder_lives_as_long_as_the_runs_objects_and_no_longer():
    """Without ``directory`` or ``build_key`` a standalone Simulation builds in a temporary
    folder. The run's objects read their values from its results/ after the block, so it must
    stay while they live — and go when they are gone (it leaked, one folder per run)."""
    import gc

    from brian2 import NeuronGroup, SpikeMonitor

    with build.Simulation("cpp_standalone") as sim:
        n = NeuronGroup(2, "dv/dt = (2 - v)/(10*ms) : 1", threshold="v > 1", reset="v = 0",
                        method="exact")
        m = SpikeMonitor(n)
        sim.run(20 * ms, n, m)
    folder = sim.directory
    assert folder.is_dir() and np.asarray(m.t[:]).size == 4  # read after the block, from files
    del sim, n, m
    gc.collect()
    assert not folder.exists()
