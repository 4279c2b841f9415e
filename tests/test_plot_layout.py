"""Every figure kind of biodyn.plot, drawn from small synthetic data, is laid out like a
published figure: no text overlaps other text or covers bars, no title is cut off at the
figure's edge, every axis with tick labels has a label — and the figure-specific defects a
reader reported stay fixed (legend colours, units, ticks, titles that say what was tested).
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from biodyn.plot import layout_problems  # noqa: E402

import figure_cases  # noqa: E402


def _draw(name, tmp_path):
    fn = figure_cases.CASES[name]
    return fn(tmp_path) if name == "sweep" else fn()


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("name", sorted(figure_cases.CASES))
def test_figure_has_no_overlapping_or_clipped_text_and_labelled_axes(name, tmp_path):
    """... and no legend over data, once placed as ``plot.save`` places it."""
    from biodyn.plot import keep_legends_off_data

    ax = _draw(name, tmp_path)
    keep_legends_off_data(ax.figure)
    problems = layout_problems(ax.figure)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_layout_check_finds_overlap_clipping_covered_bars_and_missing_labels():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("a title far too long to fit in a figure three inches wide, so it is cut off")
    ax.bar([0, 1], [1, 2])
    ax.text(0.5, 1.5, "covers the bar")
    ax.set_xlabel("x (ms)")
    fig.text(0.5, 0.02, "footer over the x label", ha="center")
    problems = "\n".join(layout_problems(fig))
    assert "clipped: axes 0 title" in problems
    assert "covers data" in problems
    assert "overlap:" in problems and "footer over the x label" in problems
    assert "unlabelled: axes 0 y axis" in problems


# ----------------------------------------------------------------- per figure


def _legend_entries(ax):
    leg = ax.get_legend()
    return {t.get_text(): h for t, h in zip(leg.get_texts(), leg.legend_handles)}


def test_wang_legend_colours_are_the_colours_of_the_bars():
    ax = figure_cases.wang_2005()
    entries = _legend_entries(ax)
    bars = [p for p in ax.patches]
    bar_colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in bars}
    for label in ("model, pre-post-pre", "model, post-pre-post"):
        assert matplotlib.colors.to_hex(entries[label].get_facecolor()) in bar_colours
    assert (matplotlib.colors.to_hex(entries["model, pre-post-pre"].get_facecolor())
            != matplotlib.colors.to_hex(entries["model, post-pre-post"].get_facecolor()))


def test_stdp_groups_take_the_palette_colours_of_pre_post_and_post_pre():
    from biodyn.plot import PALETTE

    ax = figure_cases.clopath_2010()
    colours = {line.get_label(): matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()}
    pre_post = [c for lab, c in colours.items() if "Δt = 10" in lab]
    post_pre = [c for lab, c in colours.items() if "Δt = −10" in lab]
    assert pre_post and set(pre_post) == {matplotlib.colors.to_hex(PALETTE["pre_post"])}
    assert post_pre and set(post_pre) == {matplotlib.colors.to_hex(PALETTE["post_pre"])}


def test_flow_objective_title_says_what_was_tested_not_monotone_over_a_dipping_curve():
    ax = figure_cases.oja_pca_flow()
    right = ax.figure.axes[1]
    title = right.get_title()
    assert "monotone along the simulated trajectories" not in title
    assert "running median" in title and "3 %" in title and "10 %" in title


def test_lyapunov_spectrum_has_integer_index_ticks_and_a_split_axis_for_large_negative_exponents():
    ax = figure_cases.lorenz_lyapunov()
    fig = ax.figure
    spectrum = [a for a in fig.axes if "lambda_i" in a.get_ylabel()]
    assert len(spectrum) == 2, [a.get_ylabel() for a in fig.axes]
    low = spectrum[-1]
    assert low.get_xlabel().startswith("index")
    ticks = [t for t in low.get_xticks() if low.get_xlim()[0] <= t <= low.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks), ticks
    # λ1 ≈ 0.9 is not squashed: the panel that shows it spans less than 5 units, λ3 in the other
    top = [a for a in spectrum if a.get_ylim()[0] <= 0.9 <= a.get_ylim()[1]]
    assert top and np.ptp(top[0].get_ylim()) < 5
    assert low.get_ylim()[0] <= -14.57 <= low.get_ylim()[1]
    labels = " ".join(a.get_ylabel() + a.get_xlabel() + a.get_title() for a in fig.axes)
    assert "1 ms" not in labels and "per tau" not in labels
    assert "1/τ" in labels


def test_voltages_are_drawn_in_millivolts():
    ax = figure_cases.lif_fixed_points()
    assert "(mV)" in ax.get_xlabel()
    assert -70 < ax.collections[0].get_offsets()[0][0] < -60
    ax = figure_cases.lif_phase_line()
    assert "(mV)" in ax.get_xlabel()


def test_spike_trains_pairs_are_integer_ticks_without_a_line_joining_them():
    ax = figure_cases.spike_trains()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks), ticks
    for line in ax.get_lines():
        if len(line.get_xdata()) > 2:
            assert line.get_linestyle() in ("None", "", " "), "independent pairs joined by a line"


def test_sweep_summary_labels_drop_the_value_prefix_and_noise_is_not_a_change(tmp_path):
    ax = figure_cases.sweep(tmp_path)
    fig = ax.figure
    assert fig.get_figwidth() <= 12
    ylabels = [a.get_ylabel() for a in fig.axes]
    assert not any(lab.startswith("value(") for lab in ylabels), ylabels
    assert not any(lab.startswith("chi") for lab in ylabels), "chi varies by 1e-14 only"
    for a in fig.axes:
        assert a.xaxis.get_offset_text().get_text() == "", "an offset on the x axis"
        assert "MHz" not in a.get_xlabel()


def test_song_title_does_not_claim_bimodal_for_a_flat_histogram():
    ax = figure_cases.song_2000()
    assert "bimodal" not in ax.get_title()


def test_song_unsettled_rates_are_drawn_open_off_the_line_with_a_legend_entry():
    """A rate that had not settled by the end of the run is a transient: its point is open
    (white face), not joined to the settled ones, the legend says "not settled in the run" and
    the panel's title counts them; the previous window's rate is drawn beside each point."""
    ax = figure_cases.song_2000_unsettled()
    rates = ax.figure.axes[1]
    labels = [t.get_text() for t in rates.get_legend().get_texts()]
    assert "open: not settled in the run" in labels and "rate over the window before" in labels
    assert "1 of 4 not settled" in rates.get_title() and "last 10 s" in rates.get_title()
    open_points = [(x, y) for line in rates.get_lines() if line.get_markerfacecolor() == "white"
                   for x, y in zip(line.get_xdata(), line.get_ydata())]
    assert open_points == [(10, 1.7)]
    joined = [line for line in rates.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) > 1]
    assert len(joined) == 1 and list(joined[0].get_xdata()) == [20, 40]
    assert rates.get_ylim()[1] > 35.4  # the highest point is not clipped


def test_firing_patterns_show_the_current_and_say_why_a_set_is_silent():
    ax = figure_cases.firing_patterns()
    texts = " ".join([t.get_text() for a in ax.figure.axes for t in a.texts]
                     + [a.get_title(loc=w) for a in ax.figure.axes for w in ("left", "center")])
    assert "pA" in texts or "nA" in texts
    assert "no spike" in texts


def test_oja_vs_backprop_legend_has_no_raw_names():
    ax = figure_cases.oja_vs_backprop()
    rates = ax.figure.axes[3]
    labels = [t.get_text() for t in rates.get_legend().get_texts()]
    assert not any("lambda_k" in lab and "$" not in lab for lab in labels), labels
    assert not any(isinstance(t, matplotlib.text.Text) and "lambda" in t.get_text() and "$" not in t.get_text()
                   for a in ax.figure.axes for t in a.texts)
    assert not rates.texts, "a text box over the bars"


def test_phase_portrait_trajectories_do_not_reuse_the_nullcline_colours():
    from biodyn.plot import PALETTE

    ax = figure_cases.van_der_pol_phase_portrait()

    null = {matplotlib.colors.to_hex(PALETTE["nullcline_x"]), matplotlib.colors.to_hex(PALETTE["nullcline_y"])}
    traj = {matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines() if len(line.get_xdata()) > 10}
    assert traj and not (traj & null)


def test_stability_limits_ticks_are_plain_numbers_and_dashes_are_in_the_legend():
    ax = figure_cases.stability_limits()
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert not any("×" in lab or "times" in lab for lab in labels), labels
    assert any("expected" in t.get_text() for t in ax.get_legend().get_texts())


def test_fit_y_axis_names_the_observable():
    ax = figure_cases.fit()
    assert ax.get_ylabel() not in ("value", "")
    assert "weight change" in ax.get_ylabel()


def test_a_long_provenance_line_is_wrapped_under_everything_inside_the_figure():
    from biodyn.plot import protocol_summary

    s = figure_cases._summary("bi_poo_1998", "stdp_pair", "song_2000", [{"delta_t": d} for d in (-10, 10)],
                              [-0.3, 0.5], units={"delta_t": "ms"})
    text = "stdp_pair/song_2000, seed 0, numpy, dt 0.1 ms, " + ", ".join(f"override{k}=1 ms" for k in range(30))
    ax = protocol_summary(s, footer=text)
    fig = ax.figure
    assert not layout_problems(fig)
    footer = [t for t in fig.texts if "override0" in t.get_text()]
    assert len(footer) == 1 and footer[0].get_text().count("\n") >= 1  # wrapped
    r = fig.canvas.get_renderer()
    box = footer[0].get_window_extent(r)
    assert all(box.y1 <= a.get_tightbbox(r).y0 + 1 for a in fig.axes)  # under every axes, labels included


def test_a_protocol_summary_drawn_on_the_callers_axes_leaves_their_figure_alone():
    from biodyn.plot import protocol_summary

    fig, ax = plt.subplots()
    s = figure_cases._summary("bi_poo_1998", "stdp_pair", "song_2000", [{"delta_t": d} for d in (-10, 10)],
                              [-0.3, 0.5], units={"delta_t": "ms"})
    protocol_summary(s, ax=ax)
    assert fig.texts == [] and fig.get_layout_engine() is None


def _train_doc_with_fixed_points():
    rng = np.random.default_rng(0)
    corners = [[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
    points = [{"pc": (1.5 * np.asarray(o) + 0.1 * rng.normal(size=3)).tolist(), "output": o, "stable": True}
              for o in corners] + [{"pc": [0.0, 0.0, 0.0], "output": [0, 0, 0], "stable": False}]
    traj = [np.cumsum(rng.normal(scale=0.3, size=(40, 3)), axis=0).tolist() for _ in range(5)]
    return {"config": {"task": {"name": "flipflop_3bit"}, "net": "gru", "hidden": 8, "seed": 0, "batch_size": 64,
                       "g": 1.0, "steps": 24, "versions": {"biodyn": "0.1.0", "jax": "0.4", "numpy": "2.3"}},
            "fixed_points": {"points": points, "trajectories_pc": traj, "explained_variance": [0.6, 0.2, 0.1],
                             "n_stable": 8, "n_unstable": 1, "input": "no pulse"}}


def test_the_footer_of_a_trained_networks_fixed_point_figure_is_below_its_3d_axes():
    from biodyn import plot
    from biodyn.jobs._train import _footer

    doc = _train_doc_with_fixed_points()
    ax = plot.network_fixed_points(doc, footer=_footer(doc))
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    foot = next(t for t in fig.texts if t.get_text().startswith("seed 0")).get_window_extent(renderer)
    assert not ax.get_tightbbox(renderer).overlaps(foot)


def test_a_train_sweep_summary_draws_test_performance_and_the_leading_exponent_with_units():
    # the summary.csv of a job = "train" sweep (H = 6): evenly spaced picks drew train_loss,
    # test_metric, lambda_3 and lambda_6 with no unit; a reader wants the test loss, the test
    # metric by its name, λ_max in 1/step and the Kaplan-Yorke dimension
    from biodyn import plot

    rng = np.random.default_rng(0)
    lam = [f"lambda_{k}" for k in range(1, 7)]
    header = (["point", "status", "g", "replicate", "seed", "train_loss", "test_loss", "train_metric",
               "test_metric", "metric", "lambda_max"] + lam + ["kaplan_yorke", "entropy_rate", "run_s", "error"])
    rows = []
    for g in (0.5, 1.0, 2.0):
        for r in (0, 1):
            spec = np.sort(rng.normal(-1, 0.5, 6))[::-1]
            rows.append([f"p{g}{r}", "ok", str(g), str(r), "1"] + [str(v) for v in rng.uniform(0.5, 1, 4)]
                        + ["sign_accuracy", str(spec[0])] + [str(v) for v in spec]
                        + [str(rng.uniform(0, 3)), str(rng.uniform(0, 1)), "1.0", ""])
    table = {"header": header, "rows": rows, "params": ["g"], "results": header[5:header.index("run_s")],
             "title": "spectra"}
    ax = plot.sweep_summary(table)
    ylabels = [a.get_ylabel() for a in ax.figure.axes if a.get_visible()]
    assert len(ylabels) == 4
    assert any("test loss" in y for y in ylabels), ylabels
    assert any("test sign_accuracy" in y for y in ylabels), ylabels
    assert any(y.startswith("λ_max") and "1/step" in y for y in ylabels), ylabels
    assert not any(y in lam for y in ylabels), ylabels
    assert not layout_problems(ax.figure)


def test_learning_curves_of_a_short_run_have_whole_epochs_on_the_axes_and_the_colour_bar():
    # three epochs drew ticks at 0.5, 1.5, 2.5 (no such epochs) on the axes and the colour bar
    from biodyn import plot

    rng = np.random.default_rng(1)
    ep = [0, 1, 2, 3]
    doc = {"curves": {"epoch": ep, "train_loss": [0.9, 0.8, 0.7, 0.6], "test_loss": [0.9, 0.8, 0.75, 0.6],
                      "train_metric": [0.5, 0.6, 0.65, 0.7], "test_metric": [0.5, 0.55, 0.6, 0.7],
                      "lyapunov_epoch": ep,
                      "lyapunov_exponents": np.sort(rng.normal(-1, 0.5, (4, 6)))[:, ::-1].tolist()},
           "config": {"task": {"name": "flipflop_3bit", "loss": "mse", "metric": "sign_accuracy",
                               "parameters": {"n_steps": 100}, "units": {"n_steps": "step"}},
                      "net": "rnn", "hidden": 6, "optimizer": "adam", "lr": 0.01, "lyapunov": {"state": "h"}}}
    ax = plot.learning_curves(doc)
    fig = ax.figure
    fig.canvas.draw()
    for a in fig.axes:
        if a.get_xlabel().startswith("epoch"):
            ticks = [t for t in a.get_xticks() if a.get_xlim()[0] <= t <= a.get_xlim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
        if a.get_ylabel() == "epoch":  # the colour bar
            ticks = [t for t in a.get_yticks() if a.get_ylim()[0] <= t <= a.get_ylim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert not layout_problems(fig)


def test_spiking_learning_curves_have_whole_epochs_and_no_label_under_the_title():
    """`biodyn train --net lif`'s figure: the accuracy y label ran up into the title, and three
    epochs drew ticks at 0.5, 1.5 (no such epochs); its footer is the shared one (plot.footer)."""
    from biodyn.plot._snn import snn_learning_curves

    ep = [0, 1, 2, 3]
    doc = {"curves": {"epoch": ep, "train_loss": [1.09, 0.99, 0.93, 0.86], "test_loss": [1.1, 0.98, 0.91, 0.84],
                      "train_metric": [0.44, 0.33, 0.36, 0.74], "test_metric": [0.44, 0.38, 0.41, 0.76],
                      "rate_hz": [33.3, 36.5, 40.2, 41.1], "alignment": [None, 1.0, 1.0, 1.0],
                      "adjoint_norm": [list(np.geomspace(200, 0.1, 100)), list(np.geomspace(2e4, 0.1, 100))]},
           "config": {"task": {"name": "spike_patterns", "loss": "cross_entropy", "metric": "accuracy"},
                      "model": "lif", "hidden": 16, "learner": "bptt", "optimizer": "adam", "lr": 0.01,
                      "dt_ms": 1.0},
           "brian": {"target": "numpy", "n_sequences": 16, "test_metric_brian": 0.875}}
    ax = snn_learning_curves(doc, footer="lif (dayan_abbott_2001), current synapses, exact, dt = 1 ms; seed 0 "
                                         "batch 64, 12 updates; biodyn 0.1.0, jax 0.10.2")
    fig = ax.figure
    fig.canvas.draw()
    for a in fig.axes:
        if a.get_xlabel().startswith("epoch"):
            ticks = [t for t in a.get_xticks() if a.get_xlim()[0] <= t <= a.get_xlim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert not layout_problems(fig), layout_problems(fig)


def test_fixed_points_of_a_one_unit_network_are_drawn_against_time():
    # H = 1: one principal component; the figure raised TypeError (scatter needs x and y)
    from biodyn import plot

    doc = _train_doc_with_fixed_points()
    fp = doc["fixed_points"]
    fp["explained_variance"] = [1.0]
    fp["trajectories_pc"] = [[[v] for v in np.tanh(np.linspace(-2, 2, 30) + k)] for k in range(3)]
    fp["points"] = [{"pc": [0.9], "output": [0.8], "stable": True}, {"pc": [0.0], "output": [0.0], "stable": False}]
    fp["n_stable"], fp["n_unstable"] = 1, 1
    ax = plot.network_fixed_points(doc)
    assert ax.get_ylabel().startswith("PC1") and "step" in ax.get_xlabel()
    assert not layout_problems(ax.figure)


def test_a_loss_within_one_decade_is_labelled_in_plain_numbers_not_times_ten_to_the_zero():
    from biodyn import plot

    doc = {"curves": {"epoch": [0, 1], "train_loss": [1.106, 1.085], "test_loss": [1.135, 1.112],
                      "train_metric": [0.40, 0.44], "test_metric": [0.34, 0.43]},
           "config": {"task": {"name": "sine_classification", "loss": "cross_entropy", "metric": "accuracy",
                               "parameters": {}, "units": {}},
                      "net": "lstm", "hidden": 3, "optimizer": "adam", "lr": 0.01}}
    ax = plot.learning_curves(doc)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()]
    assert any(labels), labels
    assert not any("times10" in t or "^{0}" in t for t in labels), labels


def test_spectra_correlation_panel_keeps_every_feature_row_inside_when_the_last_are_constant():
    # "constant" rows put text, not error bars, so they did not widen the y range: the last
    # row sat on the bottom edge, its text cut by the axes
    import copy

    from biodyn import plot

    ax = figure_cases.spectra_vs_performance()
    doc_axes = [a for a in ax.figure.axes if a.get_xlabel().startswith("Spearman")]
    n = len(doc_axes[0].get_yticks())
    plt.close("all")
    feats = ("lambda_1", "mean", "median", "variance", "n_positive", "kaplan_yorke", "entropy_rate",
             "fraction_near_zero")
    acc = {"mean": 0.5, "sd": 0.0, "per_repeat": [0.5], "folds": 2, "repeats": 5}
    doc = {"performance": {"values": list(np.linspace(0, 1, 12)), "label": "−test loss"},
           "latent": np.random.default_rng(0).normal(size=(12, 2)).tolist(),
           "classes": {"good": [8, 9, 10, 11], "poor": [0, 1, 2, 3]}, "autoencoder": {"latent": 2, "length": 6},
           "settings": {"level": 0.95}, "epoch": None,
           "correlations": {f: ({"r": 0.3, "ci": [-0.2, 0.7]} if k < 4 else {"r": None, "ci": None, "note": "c"})
                            for k, f in enumerate(feats)},
           "readout": {"latent": acc, "best_feature": dict(acc, chosen={"lambda_1": 5}),
                       "per_feature": {f: copy.deepcopy(acc) for f in feats}},
           "title": "12 networks"}
    ax = plot.spectra_vs_performance(doc)
    cor = next(a for a in ax.figure.axes if a.get_xlabel().startswith("Spearman"))
    lo, hi = sorted(cor.get_ylim())
    assert n == len(feats) and lo <= -0.4 and hi >= len(feats) - 0.6, (lo, hi)


def test_a_comparison_footer_records_its_settings_seed_target_and_versions():
    from biodyn.jobs import comparison_footer

    doc = {"comparison": "oja_vs_backprop", "seed": 4, "versions": {"biodyn": "0.1.0", "brian2": "2.9.0"},
           "series": {}, "summary": {"settings": {"d": 5, "eta": "0.01 Hz", "eigenvalues": [3.0, 1.0]},
                                      "target": "numpy"}}
    line = comparison_footer(doc)
    for part in ("oja_vs_backprop", "d=5", "eta=0.01 Hz", "eigenvalues=[3.0,1.0]", "seed 4, numpy",
                 "biodyn 0.1.0"):
        assert part in line, (part, line)


def test_layout_check_finds_a_legend_over_a_line_and_save_moves_it_off(tmp_path):
    """A legend pinned over a line crossing the whole axes (no vertex under it) is found;
    keep_legends_off_data moves it where it covers nothing, and a legend over free space stays."""
    from biodyn.plot import keep_legends_off_data, new_axes

    ax = new_axes((4, 3))
    ax.plot([0, 1], [1, 1], label="crosses the top")  # two vertices, none under the legend
    ax.plot(np.linspace(0, 1, 50), np.linspace(0.0, 0.9, 50), "o", label="markers")
    ax.legend(loc="upper center")
    ax.set_xlabel("x (1)")
    ax.set_ylabel("y (1)")
    assert any("legend covers" in p for p in layout_problems(ax.figure))
    assert keep_legends_off_data(ax.figure) == 1
    assert not layout_problems(ax.figure)
    assert keep_legends_off_data(ax.figure) == 0


def test_a_legend_moved_off_data_does_not_land_on_a_text_of_its_axes():
    """eprop_vs_bptt's dynamics panel: the legend (lower left) covered an error bar and was
    moved to the upper right, over the bptt network's firing-rate text, hiding it. The place
    it moves to must cover neither data nor the axes' own texts."""
    from biodyn.plot import keep_legends_off_data, new_axes

    ax = new_axes((4, 3))
    ax.plot(np.linspace(0, 0.45, 30), np.linspace(0.0, 0.3, 30), "o", label="markers, lower left")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.text(0.97, 0.97, "163 Hz\nCV 0.21", ha="right", va="top", fontsize=6)  # upper right
    ax.legend(loc="lower left")
    ax.set_xlabel("x (1)")
    ax.set_ylabel("y (1)")
    assert keep_legends_off_data(ax.figure) == 1
    assert not layout_problems(ax.figure), layout_problems(ax.figure)


def test_sweep_of_replays_names_the_protocols_observable_on_its_y_axis(tmp_path):
    """A sweep of bi_poo_1998 replays labels its values with the protocol's observable,
    "relative weight change (w_end - w0)/w0", not a generic "value"; its figure carries the
    provenance line (sweep, job, fixed settings, sweep seed, versions) from sweep.json."""
    import json

    from biodyn.jobs import sweep_table

    ax = figure_cases.sweep(tmp_path)  # writes tmp_path/my_sweep/summary.csv
    folder = tmp_path / "my_sweep"
    (folder / "points").mkdir()
    (folder / "p0").mkdir()
    (folder / "p0" / "bi_poo_1998.json").write_text(json.dumps({"protocol": "bi_poo_1998"}))
    (folder / "points" / "p0.json").write_text(json.dumps({"status": "ok",
                                                           "paths": {"json": "p0/bi_poo_1998.json"}}))
    assert "value" in ax.get_ylabel() and "observable" in ax.get_ylabel()  # the CSV alone
    from biodyn import plot

    (folder / "sweep.json").write_text(json.dumps({
        "sweep": "my_sweep", "job": "replay", "seed": 1998,
        "fingerprint_data": {"job": "replay", "run": {"job": "replay", "protocol": "bi_poo_1998",
                                                      "target": "numpy", "stimulus": {"repetitions": 1}},
                             "seed": 1998}}))
    (folder / "points" / "p0.json").write_text(json.dumps({
        "status": "ok", "paths": {"json": "p0/bi_poo_1998.json"},
        "versions": {"biodyn": "0.1.0", "brian2": "2.9.0"}}))
    ax = plot.sweep_summary(sweep_table(folder / "summary.csv"))
    assert ax.get_ylabel() == "relative weight change (w_end - w0)/w0"
    line = " ".join(t.get_text() for t in ax.figure.texts).replace("\n", " ")
    for part in ("sweep my_sweep (job replay)", "protocol=bi_poo_1998", 'stimulus={"repetitions":1}',
                 "sweep seed 1998", "biodyn 0.1.0"):
        assert part in line, (part, line)
    assert not layout_problems(ax.figure)


def _snn_train_doc():
    ep = [0, 1, 2]
    return {"curves": {"epoch": ep, "train_loss": [0.9, 0.7, 0.6], "test_loss": [0.95, 0.75, 0.65],
                       "train_metric": [0.5, 0.6, 0.7], "test_metric": [0.5, 0.55, 0.65],
                       "rate_hz": [12.0, 10.0, 9.0], "alignment": [None, 0.9, 0.8],
                       "adjoint_norm": [[1.0, 0.5, 0.2], [1.0, 0.6, 0.3]]},
            "config": {"task": {"name": "sine_classification", "loss": "cross_entropy", "metric": "accuracy",
                                "parameters": {}, "units": {}},
                       "model": "lif", "hidden": 8, "learner": "bptt", "optimizer": "adam", "lr": 0.01,
                       "dt_ms": 1.0}}


@pytest.mark.parametrize("kind", ["learning_curves", "snn_learning_curves"])
def test_training_figures_put_a_long_footer_wrapped_in_the_shared_strip_under_every_axes(kind):
    # both drew their own footer: one unwrapped line in another grey, in a fixed 3 % strip that
    # a long provenance line ran past (clipped at the figure's left edge)
    from biodyn import plot
    from biodyn.plot import PALETTE

    if kind == "learning_curves":
        doc = {"curves": {"epoch": [0, 1, 2], "train_loss": [0.9, 0.8, 0.7], "test_loss": [0.9, 0.85, 0.75],
                          "train_metric": [0.5, 0.6, 0.7], "test_metric": [0.5, 0.55, 0.6]},
               "config": {"task": {"name": "flipflop_3bit", "loss": "mse", "metric": "sign_accuracy",
                                   "parameters": {}, "units": {}},
                          "net": "rnn", "hidden": 6, "optimizer": "adam", "lr": 0.01}}
    else:
        doc = _snn_train_doc()
    text = "seed 0, batch 64, " + ", ".join(f"setting{k} = {k}.5 ms" for k in range(40))
    ax = getattr(plot, kind)(doc, footer=text)
    fig = ax.figure
    fig.canvas.draw()
    footer = [t for t in fig.texts if "setting0" in t.get_text()]
    assert len(footer) == 1 and footer[0].get_text().count("\n") >= 1  # wrapped to the figure's width
    assert matplotlib.colors.same_color(footer[0].get_color(), PALETTE["footer"])
    r = fig.canvas.get_renderer()
    box = footer[0].get_window_extent(r)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.x1 + 1  # inside the figure
    assert all(box.y1 <= a.get_tightbbox(r).y0 + 1 for a in fig.axes if a.get_visible())
    assert not layout_problems(fig)


def test_sweep_columns_of_conditions_with_the_same_labels_are_titled_as_conditions():
    """'value(input_rate=20 Hz,correlation=0) #2' (a second condition relabelled by a stimulus
    change) is a condition of the protocol's observable, like the first, not a raw column name."""
    from biodyn.plot._sweep import _result_label

    label = "output rate over the final rate_window (Hz)"
    assert _result_label("value(input_rate=20 Hz,correlation=0) #2", value_label=label) == \
        (label, "condition input_rate = 20 Hz, correlation = 0 #2")
    assert _result_label("value(input_rate=20 Hz,correlation=0)", value_label=label) == \
        (label, "condition input_rate = 20 Hz, correlation = 0")


def _spiking_doc(config_extra=None):
    ep = [0, 1]
    return {"curves": {"epoch": ep, "train_loss": [1.0, 0.9], "test_loss": [1.0, 0.9], "train_metric": [0.4, 0.6],
                       "test_metric": [0.4, 0.6], "rate_hz": [30.0, 31.0], "alignment": [None, 1.0],
                       "adjoint_norm": [[6.0, 12.0, 3.0], [8.0, 10.0, 2.0]]},
            "config": {"task": {"name": "temporal_xor", "loss": "mse", "metric": "sign_accuracy"},
                       "model": "lif", "hidden": 8, "learner": "bptt", "optimizer": "adam", "lr": 0.01,
                       "dt_ms": 1.0, **(config_extra or {})}}


@pytest.mark.parametrize("extra", [{"adjoint": {"variable": "v", "unit": "V"}}, {}])
def test_spiking_adjoint_axis_is_per_mV_and_its_values_are_the_per_volt_adjoint_over_1000(extra):
    """The adjoint dE/dv_t is recorded per volt (v in SI units, E dimensionless): the axis says
    1/mV and plots 1e-3 times the recorded values (documents without the unit hold volts too)."""
    from biodyn.plot._snn import snn_learning_curves

    fig = snn_learning_curves(_spiking_doc(extra)).figure
    (adj,) = [a for a in fig.axes if "∂E/∂v_t" in a.get_ylabel()]
    assert "(1/mV)" in adj.get_ylabel()
    np.testing.assert_allclose(adj.get_lines()[0].get_ydata(), [6e-3, 12e-3, 3e-3])
    plt.close(fig)


def test_comparison_footer_leaves_out_unset_settings_and_writes_quantities_readably():
    from biodyn.jobs import comparison_footer

    doc = {"comparison": "eprop_vs_bptt", "seed": 0, "versions": {"biodyn": "0.1.0"},
           "summary": {"target": "numpy", "settings": {"hidden": 8, "n_steps": None, "n_train": None,
                                                       "dynamics_duration": "1. s", "tau": "2e-05 second"}}}
    text = comparison_footer(doc)
    assert "null" not in text and "n_steps" not in text and "n_train" not in text
    assert "hidden=8" in text and "dynamics_duration=1 s" in text and "tau=20 µs" in text
    assert "1. s" not in text


def test_comparison_adjoint_panel_is_per_mV_too():
    from biodyn.plot._compare import snn_adjoint

    data = {"series": {"step_ms": [0.0, 1.0], "adjoint_start_eprop": [5.0, 1.0], "adjoint_end_eprop": [4.0, 2.0],
                       "adjoint_end_bptt": [3.0, 1.0], "adjoint_start_bptt": [5.0, 1.0]},
            "summary": {"learners": ["eprop", "bptt"],
                        "per_learner": {"eprop": {"config": {"adjoint": {"variable": "v", "unit": "V"}}}}}}
    ax = snn_adjoint(data)
    assert ax.get_ylabel().endswith("(1/mV)")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [5e-3, 1e-3])
    plt.close(ax.figure)


@pytest.mark.parametrize("n_epochs", [1, 3])
def test_comparison_epoch_axes_have_whole_ticks_and_span_every_epoch_trained(n_epochs):
    """`biodyn compare eprop_vs_bptt`: the curve panel put ticks at 0.2, 0.4, ... and the alignment
    panel (no value at epoch 0) of a one-epoch run had an axis from 0.96 to 1.04. Both panels now
    have integer ticks only and x limits covering epoch 0 to the last epoch, the same on both."""
    from biodyn.plot._compare import snn_alignment, snn_curves

    ep = list(range(n_epochs + 1))
    series = {"epoch": ep}
    for L in ("eprop", "bptt"):
        series[f"test_metric_{L}"] = [0.5] * len(ep)
        series[f"test_loss_{L}"] = list(np.linspace(1.0, 0.9, len(ep)))
        series[f"alignment_{L}"] = [None] + [0.6] * n_epochs
    data = {"series": series, "summary": {"learners": ["eprop", "bptt"], "metric": "accuracy"}}
    fig, (a, b) = plt.subplots(1, 2)
    snn_curves(data, a)
    snn_alignment(data, b)
    fig.canvas.draw()
    for ax in (a, b):
        lo, hi = ax.get_xlim()
        assert lo <= 0 and hi >= n_epochs and lo > -0.5 and hi < n_epochs + 0.5, (lo, hi)
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert a.get_xlim() == b.get_xlim()


def test_sweep_summary_x_tick_labels_of_small_linear_values_do_not_run_together(tmp_path):
    """A sweep of A_plus over 0.0025 ... 0.02 (8 values, a linear axis) drew '0.00250.0050...'
    on 4 panels of a 2 x 2 figure: the x axis takes at most a few ticks."""
    import csv

    from biodyn import plot

    header = ["point", "status", "A_plus", "seed"] + [f"value(delta_t={d} ms)" for d in (-100, -34, 34, 100)] + ["run_s", "error"]
    rows = [[str(k), "ok", repr(float(a)), "0"] + [repr(float(5 * a * np.sign(d) * np.exp(-abs(d) / 17))) for d in (-100, -34, 34, 100)] + ["1.2", ""]
            for k, a in enumerate(np.arange(1, 9) * 0.0025)]
    path = tmp_path / "ap" / "summary.csv"
    path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header] + rows)
    table = plot.sweep_table(path)
    table["value_label"] = "relative weight change (w_end - w0)/w0"  # bi_poo_1998's, as a replay sweep's
    ax = plot.sweep_summary(table)
    ax.figure.canvas.draw()  # the ticks of the laid-out axes, as saved
    problems = [p for p in layout_problems(ax.figure) if "tick" in p]
    assert not problems, problems
