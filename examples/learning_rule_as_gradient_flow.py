"""A learning rule as a gradient flow: BCM from Brian2 simulation to objective.

The BCM rule (Bienenstock, Cooper & Munro 1982) with the sliding threshold theta_M = E[y^2]
(Intrator & Cooper 1992), on the ``bcm_selectivity`` protocol: a linear rate neuron sees one of
two patterns, (1, 0.3) with probability 0.3 and (0.3, 1) with probability 0.7. We

1. replay the protocol in Brian2 (the weights learn: the neuron becomes selective);
2. read the same protocol as a learning scenario and derive its averaged flow
   dw/dt = f(w) = E[eta x y (y - theta_M)] from the bcm spec's own equations;
3. measure the same field from many short Brian2 runs and compare (within standard errors);
4. ask whether it is a gradient flow (Jacobian symmetry), of which objective (Intrator &
   Cooper's R = 1/3 E[y^3] - 1/4 E[y^2]^2), and check that R grows along the simulation;
5. find the stable states (the selective states: one pattern answered with 1/p, the other with
   0) and see that the simulation ends at one;
6. see that the answer changes when the threshold is as slow as the weights (not a gradient);
7. the Euler view: the step size at which the rule's forward-Euler update loses stability.

Run:  python examples/learning_rule_as_gradient_flow.py [OUT_FOLDER]   (default: results/)
The same from the command line (figure + JSON):
    biodyn analyze flow bcm_selectivity --json bcm.json
    biodyn analyze flow bcm_selectivity --aux state
"""

import sys
from pathlib import Path

import numpy as np

from biodyn import flow, jobs, plot

out = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
SEED = 1

# 1-2. The whole analysis of the protocol, its Brian2 replay included (60 s of learning on the
#      numpy target here: the published protocol runs 300 s)
analysis = flow.analyze("bcm_selectivity", target="numpy", seed=SEED,
                        stimulus={"duration": "60 second"})
field, sc = analysis.field, analysis.scenario
print(f"scenario: {sc.describe()}")
print(f"averaged field: {field.description}")
print("assumptions: " + "; ".join(field.assumptions))

# 3. The field measured from Brian2: 24 copies at each of 3 weight vectors, one run
points = np.array([[0.5, 0.2], [0.2, 0.6], [1.0, 1.0]])
measured = flow.measure_field(sc, points, copies=24, duration=10.0, seed=SEED)
for w, fm, se, fa in zip(points, measured.f, measured.se, field.f(points)):
    shown = ", ".join(f"{v:.4f} ± {e:.1e}" for v, e in zip(fm, se))
    print(f"w = {w}: measured ({shown}), analytic ({', '.join(f'{v:.4f}' for v in fa)}) 1/s")

# 4. Gradient flow? Of what?
print(analysis.gradient.verdict())
print(f"the potential of the gradient part explains {100 * analysis.decomposition.fraction:.2f} % "
      "of the field")
obj, check = analysis.objective, analysis.objective_check
print(f"objective: {obj.text} ({obj.citation}): max |f - grad R| = {check.max_abs_error:.2e} 1/s; "
      f"{'monotone' if check.monotone else 'not monotone'} along the simulated trajectory")

# 5. Stable states against where the simulation ends
P, p = sc.inputs.patterns, sc.inputs.probabilities
for s in analysis.stable_states:
    print(f"stable state w = {np.round(s.w, 4)}: responses {np.round(P @ s.w, 4)} "
          f"(selective: 1/p = {np.round(1 / p, 4)})")
sim = analysis.simulation
print(f"the Brian2 simulation ends at w = {np.round(sim['final_w'], 4)}, "
      f"{sim['nearest_stable_distance']:.3f} from the nearest stable state")

# 6. A threshold as slow as the weights: (w, theta_M) together are not a gradient flow
slow = flow.averaged_field(sc, aux="state")
pts = flow.sample_points(slow.domain, grid=5)
print("threshold as a state variable: " + flow.gradient_test(slow.jacobian(pts)).verdict())

# 7. The Euler view
print(f"forward Euler with step h = lr*dt loses stability at that state for h > {analysis.euler:.3f} s "
      f"(the protocol's step: {sc.dt * 1.0:g} s)")

# The figure: field, potential contours, the simulated trajectory, stable states; R(t)
portrait, objective = jobs.flow_figure_data(analysis)
path = plot.save(plot.flow_figure(portrait, objective), out / "bcm_gradient_flow.png")
print(f"figure: {path}")
