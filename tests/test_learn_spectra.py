"""Lyapunov spectra against performance: features, rank correlations with CIs, the AeLLE-style
autoencoder and the cross-validated read-outs, on synthetic spectra whose answer is built in; and
``biodyn analyze spectra`` on sweep folders."""

import json

import numpy as np
import pytest

pytest.importorskip("jax")

from biodyn.errors import BiodynError, SpecError  # noqa: E402
from biodyn.learn import _spectra as S  # noqa: E402


# ------------------------------------------------------------------ features -----------------

def test_features_of_a_hand_computed_spectrum():
    f = S.spectrum_features([-0.3, 0.5, -1.0, 0.004])  # any order; sorted: 0.5, 0.004, -0.3, -1.0
    lam = np.array([0.5, 0.004, -0.3, -1.0])
    assert f["lambda_1"] == 0.5
    assert f["mean"] == pytest.approx(lam.mean()) and f["median"] == pytest.approx((0.004 - 0.3) / 2)
    assert f["variance"] == pytest.approx(np.mean((lam - lam.mean()) ** 2))
    assert f["n_positive"] == 2 and f["entropy_rate"] == pytest.approx(0.504)
    # partial sums 0.5, 0.504, 0.204, -0.796: j = 3, D = 3 + 0.204 / 1.0
    assert f["kaplan_yorke"] == pytest.approx(3.204)
    assert f["fraction_near_zero"] == 0.25  # |0.004| < 0.01 only
    assert S.spectrum_features([0.5, 0.004], zero_tol=1e-3)["fraction_near_zero"] == 0.0


def test_kaplan_yorke_limits_and_dead_units():
    assert S.spectrum_features([-0.1, -0.5])["kaplan_yorke"] == 0.0  # a stable fixed point
    assert S.spectrum_features([0.2, 0.1])["kaplan_yorke"] == 2.0  # every partial sum non-negative
    # a dead ReLU unit's exponent (-inf, null in JSON) becomes the lowest finite one
    f = S.spectrum_features([0.1, None, -0.4])
    assert f["mean"] == pytest.approx((0.1 - 0.4 - 0.4) / 3) and np.isfinite(f["variance"])


# ------------------------------------------------------------------ rank correlations --------

def test_spearman_ci_is_fisher_z_with_the_bonett_wright_standard_error():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    c = S.spearman_ci(x, y)
    from scipy.stats import spearmanr

    r = spearmanr(x, y).statistic
    assert c["r"] == pytest.approx(r, abs=1e-12)
    se = np.sqrt((1 + r * r / 2) / 27)  # Bonett & Wright (2000), n = 30
    assert c["ci"] == pytest.approx([np.tanh(np.arctanh(r) - 1.959963985 * se),
                                     np.tanh(np.arctanh(r) + 1.959963985 * se)], abs=1e-8)


def test_performance_monotone_in_lambda_1_gives_spearman_one_and_a_ci_excluding_zero():
    rng = np.random.default_rng(2)
    spectra = [np.sort(rng.normal(-0.3, 0.3, size=12))[::-1] for _ in range(30)]
    lam1 = np.array([s[0] for s in spectra])
    perf = -np.exp(3 * lam1)  # strictly decreasing in lambda_1
    c = S.spearman_ci([S.spectrum_features(s)["lambda_1"] for s in spectra], perf)
    assert c["r"] == pytest.approx(-1.0) and c["ci"][1] < 0


def test_ci_of_an_independent_feature_covers_zero_at_about_the_nominal_rate():
    rng = np.random.default_rng(3)
    covered = [(lambda c: c["ci"][0] <= 0 <= c["ci"][1])(S.spearman_ci(rng.normal(size=40), rng.normal(size=40)))
               for _ in range(400)]
    assert 0.92 <= np.mean(covered) <= 0.98  # nominal 0.95 (Bonett & Wright's simulations: close)


def test_a_constant_feature_has_no_correlation_and_says_so():
    c = S.spearman_ci(np.zeros(10), np.arange(10.0))
    assert np.isnan(c["r"]) and c["note"] == "constant over the networks"


# ------------------------------------------------------------------ autoencoder and read-out -

def two_parameter_spectra(n, seed):
    """Spectra of a 2-parameter family lambda_i = a - b i/L + 0.2 sin(b i) (+ small noise)."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1.0, 0.5, n), rng.uniform(0.5, 2.0, n)
    i = np.arange(16)
    spectra = [a_ - b_ * i / 16 + 0.2 * np.sin(b_ * i) + 0.01 * rng.normal(size=16) for a_, b_ in zip(a, b)]
    return spectra, a, b


def test_logistic_readout_separates_separable_classes_and_not_noise():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(-2, 0.5, 20), rng.normal(2, 0.5, 20)])
    y = np.repeat([0, 1], 20)
    model = S.fit_logistic(x[:, None], y)
    assert np.mean((S.predict_logistic(model, x[:, None]) > 0.5) == y) == 1.0

    def fp(tr, te):
        m = S.fit_logistic(x[tr, None], y[tr])
        return (S.predict_logistic(m, x[te, None]) > 0.5).astype(int)

    assert S.cross_validated_accuracy(fp, y, folds=5, repeats=2)["mean"] == 1.0
    noise = rng.permutation(y)

    def fp_noise(tr, te):
        m = S.fit_logistic(x[tr, None], noise[tr])
        return (S.predict_logistic(m, x[te, None]) > 0.5).astype(int)

    assert S.cross_validated_accuracy(fp_noise, noise, folds=5, repeats=4)["mean"] < 0.75


def test_classes_are_the_bottom_and_top_thirds():
    poor, good = S.classes_by_thirds([5.0, 1.0, 3.0, 0.0, 4.0, 2.0, 6.0])
    assert poor.tolist() == [1, 3] and good.tolist() == [0, 6]  # values 1, 0 and 5, 6


def test_label_free_autoencoder_latent_separates_good_from_poor_of_a_two_parameter_family():
    spectra, a, b = two_parameter_spectra(36, seed=5)
    perf = a + 0.3 * b  # performance a function of the family's two parameters
    res = S.spectra_study(spectra, perf, prediction_weight=0.0, steps=600, folds=3, repeats=1, seed=0)
    assert res["readout"]["latent"]["mean"] >= 0.95
    assert np.asarray(res["latent"]).shape == (36, 2)
    assert res["autoencoder"]["reconstruction_mse"] < 0.1  # standardised units: the latent keeps the family


def test_noise_labels_give_chance_accuracy_even_for_the_supervised_autoencoder():
    # the AeLLE head sees performance: refitting it on training folds only keeps test networks out
    spectra, a, b = two_parameter_spectra(36, seed=6)
    noise = np.random.default_rng(7).permutation(np.arange(36.0))
    res = S.spectra_study(spectra, noise, prediction_weight=1.0, steps=600, folds=3, repeats=2, seed=0)
    assert 0.25 <= res["readout"]["latent"]["mean"] <= 0.75
    assert 0.2 <= res["readout"]["best_feature"]["mean"] <= 0.8


def test_autoencoder_training_is_seeded():
    spectra, a, _ = two_parameter_spectra(12, seed=8)
    X = S.fixed_length(spectra)
    z1 = S.train_autoencoder(X, a, steps=50, seed=3).encode(X)
    z2 = S.train_autoencoder(X, a, steps=50, seed=3).encode(X)
    z3 = S.train_autoencoder(X, a, steps=50, seed=4).encode(X)
    assert np.array_equal(z1, z2) and not np.allclose(z1, z3)


def test_fixed_length_cuts_to_the_shortest_spectrum_and_refuses_longer():
    X = S.fixed_length([[0.1, -0.2, -0.5], [-0.3, 0.2]])
    assert X.tolist() == [[0.1, -0.2], [0.2, -0.3]]
    with pytest.raises(BiodynError, match="shortest"):
        S.fixed_length([[0.1, -0.2, -0.5], [-0.3, 0.2]], length=3)


# ------------------------------------------------------------------ the job and the command --

def fake_sweep(folder, n=12, job="train", spectra=True, status="ok", seed=0):
    """A sweep folder as biodyn sweep writes it for job = "train", with synthetic spectra whose
    lambda_1 decides the test loss."""
    rng = np.random.default_rng(seed)
    (folder / "points").mkdir(parents=True)
    for k in range(n):
        name = f"g={k}_replicate=0-{k:010x}"
        lam = np.sort(rng.normal(-0.4, 0.3, size=8))[::-1]
        loss = float(np.exp(lam[0]))
        curves = {"epoch": [0, 1], "test_loss": [1.0, loss]}
        if spectra:
            curves.update({"lyapunov_epoch": [0, 1], "lyapunov_exponents": [(lam - 0.1).tolist(), lam.tolist()]})
        doc = {"config": {"task": {"name": "fake_task", "metric": "sign_accuracy"}, "seed": k}, "curves": curves,
               "final": {"train_loss": loss, "test_loss": loss, "train_metric": 0.5, "test_metric": 0.5}}
        (folder / "points" / name).mkdir()
        (folder / "points" / name / "train.json").write_text(json.dumps(doc))
        rec = {"point": name, "job": job, "status": status, "params": {"g": k}, "seed": k,
               "paths": {"json": f"points/{name}/train.json"}, "values": {}}
        (folder / "points" / f"{name}.json").write_text(json.dumps(rec))
    return folder


def test_analyze_spectra_reads_a_train_sweep_and_writes_json_and_figure(tmp_path, capsys):
    from biodyn.cli import main

    d = fake_sweep(tmp_path / "sweep")
    code = main(["analyze", "spectra", str(d), "--json", str(tmp_path / "s.json"), "--ae-steps", "100",
                 "--folds", "2", "--repeats", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "lambda_1" in out and "Bonett & Wright" in out and "AE latent" in out
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["n_networks"] == 12 and doc["performance"]["name"] == "test_loss"
    c = doc["correlations"]["lambda_1"]
    assert c["r"] == pytest.approx(1.0) or c["r"] == pytest.approx(-1.0)
    assert c["r"] < 0 and c["ci"][1] < 0  # loss = exp(lambda_1): performance (-loss) falls with lambda_1
    assert set(doc["correlations"]) == set(S.FEATURES)
    assert len(doc["latent"]) == 12 and len(doc["classes"]["good"]) == 4
    assert doc["readout"]["latent"]["folds"] == 2 and "best_feature" in doc["readout"]
    assert (d / "spectra_vs_performance.png").is_file()
    assert main(["plot", str(tmp_path / "s.json"), "--out", str(tmp_path / "again.png")]) == 0  # redrawn from JSON
    assert (tmp_path / "again.png").stat().st_size > 10_000
    # the spectrum at epoch 0 instead: lambda_1 shifted by -0.1, same ranks
    main(["analyze", "spectra", str(d), "--epoch", "0", "--json", str(tmp_path / "s0.json"), "--ae-steps", "50",
          "--folds", "2", "--repeats", "1", "--out", str(tmp_path / "fig0")])
    doc0 = json.loads((tmp_path / "s0.json").read_text())
    assert doc0["epoch"] == 0 and doc0["networks"][0]["features"]["lambda_1"] == pytest.approx(
        doc["networks"][0]["features"]["lambda_1"] - 0.1)


@pytest.mark.parametrize("make, message", [
    (lambda d: d.mkdir(), "holds no sweep results"),
    (lambda d: fake_sweep(d, job="replay"), "no train points"),
    (lambda d: fake_sweep(d, status="failed"), "finished ok"),
    (lambda d: fake_sweep(d, spectra=False), "set lyapunov_every"),
])
def test_analyze_spectra_refuses_a_folder_without_train_spectra_in_one_line(tmp_path, capsys, make, message):
    from biodyn.cli import main

    d = tmp_path / "sweep"
    make(d)
    assert main(["analyze", "spectra", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (d / "spectra_vs_performance.png").exists()


def test_analyze_spectra_names_the_epochs_that_exist(tmp_path):
    from biodyn import jobs

    d = fake_sweep(tmp_path / "sweep")
    with pytest.raises(SpecError, match="epochs 0, 1") as info:
        jobs.analyze_spectra(d, epoch=5)
    assert info.value.key == "--epoch"


def test_analyze_spectra_on_a_real_train_sweep(tmp_path):
    from biodyn import catalog, jobs, sweep

    text = catalog.find("delayed_copy", "tasks").read_text()
    task = tmp_path / "small_delayed_copy.toml"
    task.write_text(text.replace("train = 512", "train = 32").replace("test = 256", "test = 16"))
    spec = tmp_path / "s.toml"
    spec.write_text(f"""kind = "sweep"
description = "tiny"
seed = 1

[run]
job = "train"
task = "{task}"
hidden = 4
epochs = 1
lyapunov_every = 1
lyapunov_steps = 40
figure = false
parameters = {{ n_steps = 12, delay = 2 }}

[grid]
g = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
""")
    result = sweep.run(str(spec), out=tmp_path / "out", workers=0)
    assert result.computed == 6
    doc = jobs.analyze_spectra(tmp_path / "out", folds=2, repeats=1, steps=50, figure=False).summary
    assert doc["n_networks"] == 6 and doc["task"] == "small_delayed_copy"
    assert sorted(float(n["params"]["g"]) for n in doc["networks"]) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert all(len(n["final"]) == 4 and n["epoch"] == 1 for n in doc["networks"])
    assert np.asarray(doc["latent"]).shape == (6, 2)


@pytest.mark.slow
def test_example_spectra_vs_performance_runs_the_study(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(root / "examples" / "spectra_vs_performance.py"), str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=1200, cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "40 computed" in out and "spectra at initialisation (epoch 0)" in out
    r1 = float(out.split("lambda_1")[1].split()[0])
    assert r1 < -0.5  # the final lambda_1 goes with a higher test loss (the chaotic, large-g networks)
    latent = float(out.split("AE latent (d = 2):")[1].split()[0])
    assert latent >= 0.85
    assert (tmp_path / "s" / "spectra_vs_performance.png").is_file()
