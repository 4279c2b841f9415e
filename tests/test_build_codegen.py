"""biodyn's changes to the C++ that Brian2 generates for a standalone project (issue 17):
the spike queue's flat push and the remembering ``exp`` of synaptic pathways
(:func:`biodyn.build._flat_spike_queue`, :func:`biodyn.build._remembering_exp`). Each must give
Brian2's values in Brian2's order; each leaves C++ it does not recognise unchanged."""

import inspect
import os
import shutil
import subprocess
import struct
from pathlib import Path

import numpy as np
import pytest
from brian2 import NeuronGroup, SpikeGeneratorGroup, Synapses, ms

from biodyn import build


def _brian2_queue():
    from brian2.synapses.synapses import Synapses as S

    return (Path(inspect.getsourcefile(S)).parent / "cspikequeue.cpp").read_text()


def test_the_installed_brian2_spike_queue_is_recognised_and_other_text_left_alone():
    """The flat push replaces the homogeneous-delay branch of this Brian2's queue (a Brian2
    whose queue has another shape keeps its own, slower, never wrong) and keeps the other."""
    text = _brian2_queue()
    flat = build._flat_spike_queue(text)
    assert flat != text and "biodyn_flat" in flat and flat.count("if(scalar_delay)") == 1
    assert "queue[(offset+delay)%queue.size()].push_back(synaptic_index);" in flat  # other branch
    changed = text.replace("scalar_delay = (min_delay == max_delay);", "scalar_delay = false;")
    assert build._flat_spike_queue(changed) == changed


def test_remembering_exp_replaces_calls_of_exp_after_the_support_code_only():
    code = ("#include<cmath>\nstatic double g(double x) { return exp(x); }\n" + build._SUPPORT
            + "double a = exp(x) + std::exp(x) + _exp(x) + y.exp(x) + myexp(x) + exp (x);\n")
    out = build._remembering_exp(code)
    head, body = out.split(build._SUPPORT)
    assert head == code.split(build._SUPPORT)[0]  # before the support code: unchanged
    assert "_biodyn_exp(x) + std::exp(x) + _exp(x) + y.exp(x) + myexp(x)" in body
    assert build._remembering_exp("double a = exp(x);") == "double a = exp(x);"  # not a pathway


@pytest.mark.compiled
@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_remembering_exp_returns_exp_bit_for_bit_under_brian2s_compiler_flags(tmp_path):
    """Repeated, alternating, signed-zero, infinite, NaN, float and integer arguments: the
    remembered ``exp`` returns what ``exp`` returns, bit for bit, with Brian2's default flags."""
    xs = [0.0, -0.0, -0.25, -0.25, -0.5, -0.25, -0.25, 1e-300, float("inf"), float("-inf"),
          float("nan"), float("nan"), -700.0, -700.0, 3.0]
    src = ("#include <cmath>\n#include <cstdio>\n#include <cstring>\n#include <cstdint>\n"
           + build._SUPPORT + build._REMEMBERING_EXP + "}\n"
           "int main() {\n  double xs[] = {" + ", ".join(
               "NAN" if np.isnan(x) else ("INFINITY" if x == np.inf else "-INFINITY" if x == -np.inf
                                          else repr(x)) for x in xs) + "};\n"
           "  for (double x : xs) { volatile double v = x; double a = _biodyn_exp((double)v), b = exp((double)v);\n"
           "    uint64_t ua, ub; memcpy(&ua, &a, 8); memcpy(&ub, &b, 8); printf(\"%d\\n\", ua == ub || (a != a && b != b)); }\n"
           "  volatile float f = -0.5f; printf(\"%d\\n\", _biodyn_exp((float)f) == exp((float)f));\n"
           "  volatile int i = 2; printf(\"%d\\n\", _biodyn_exp((int)i) == exp((int)i));\n}\n")
    (tmp_path / "t.cpp").write_text(src)
    subprocess.run(["g++", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native",
                    "-std=c++11", "t.cpp", "-o", "t"], cwd=tmp_path, check=True)
    out = subprocess.run(["./t"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    assert out.split() == ["1"] * (len(xs) + 2)


@pytest.mark.compiled
def test_the_flat_spike_queue_delivers_synapses_in_brian2s_order(tmp_path):
    """Two sources spiking in one step, with 3 and 2 synapses onto one neuron created
    interleaved: each synapse appends its number to the neuron's ``y`` (y = 10 y + k), so
    ``y`` spells the order of delivery — Brian2's: the spikes in order, each source's
    synapses in the order they were made (0, 1, 3, then 2, 4): 12435. The numpy target
    (Brian2's own queue) agrees."""
    def run(target, directory=None):
        with build.Simulation(target, directory=directory, keep=directory is not None) as sim:
            g = SpikeGeneratorGroup(2, [0, 1], [1, 1] * ms, name="src")
            n = NeuronGroup(1, "y : 1", name="tgt")
            s = Synapses(g, n, "k : 1", on_pre="y_post = 10*y_post + k", name="syn")
            s.connect(i=[0, 0, 1, 0, 1], j=[0, 0, 0, 0, 0])
            s.k = [1, 2, 3, 4, 5]
            sim.run(3 * ms, g, n, s)
            return float(n.y[0])

    assert run("cpp_standalone", tmp_path / "p") == 12435.0
    assert run("numpy") == 12435.0
