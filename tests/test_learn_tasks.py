"""Task specs and generators of biodyn.learn: shapes, seeds, known answers."""

import numpy as np
import pytest

from biodyn import catalog, learn
from biodyn.errors import SpecError

ALL = ["flipflop_3bit", "delayed_copy", "temporal_xor", "sine_generation", "context_integration",
       "sine_classification", "iris_sequences", "spike_sine_generation"]


def test_every_builtin_task_is_in_the_catalog_and_loads_with_its_shapes():
    assert set(ALL) <= set(catalog.names("tasks"))
    for name in ALL:
        task = learn.load_task(name)
        train, test = task.data(3)
        assert len(train) == task.sizes["train"] and len(test) == task.sizes["test"]
        T = task.parameters["n_steps"]
        assert train.x.shape == (task.sizes["train"], T, task.n_inputs)
        if task.readout == "all":
            assert train.y.shape == (task.sizes["train"], T, task.n_outputs)
            assert train.mask.shape == (task.sizes["train"], T)
        else:
            assert train.y.shape == (task.sizes["train"],) and train.mask is None
            assert set(np.unique(train.y)) <= set(range(task.n_outputs))
        assert task.citation.year >= 1936 and (task.citation.doi or task.citation.note)  # a source


def test_task_data_are_reproducible_from_the_seed_and_train_differs_from_test():
    task = learn.load_task("flipflop_3bit")
    a, b = task.data(7), task.data(7)
    np.testing.assert_array_equal(a[0].x, b[0].x)
    np.testing.assert_array_equal(a[1].y, b[1].y)
    assert not np.array_equal(a[0].x[:10], a[1].x[:10])
    assert not np.array_equal(task.data(8)[0].x, a[0].x)


def test_flipflop_targets_hold_the_sign_of_the_last_pulse_on_each_channel():
    b = learn.GENERATORS["flipflop_3bit"](20, np.random.default_rng(1), n_steps=80, pulse_prob=0.1)
    for i in range(20):
        for k in range(3):
            last = 0.0
            for t in range(80):
                if b.x[i, t, k] != 0:
                    last = b.x[i, t, k]
                assert b.y[i, t, k] == last
    assert set(np.unique(b.x)) == {-1.0, 0.0, 1.0}


def test_delayed_copy_target_is_the_input_d_steps_earlier_and_early_steps_are_not_scored():
    b = learn.GENERATORS["delayed_copy"](5, np.random.default_rng(0), n_steps=30, delay=7)
    np.testing.assert_array_equal(b.y[:, 7:, 0], b.x[:, :23, 0])
    assert not b.mask[:, :7].any() and b.mask[:, 7:].all()


def test_temporal_xor_is_plus_one_where_the_two_delayed_bits_differ():
    d = 5
    b = learn.GENERATORS["temporal_xor"](4, np.random.default_rng(2), n_steps=40, delay=d)
    x = b.x[..., 0]
    for t in range(d, 40):
        differ = x[:, t - d] != x[:, t - 3]  # ceil(5/2) = 3
        np.testing.assert_array_equal(b.y[:, t, 0], np.where(differ, 1.0, -1.0))


def test_sine_generation_target_is_the_cued_sine():
    b = learn.GENERATORS["sine_generation"](6, np.random.default_rng(0), n_steps=50, f_min=0.02, f_max=0.04,
                                            n_frequencies=3)
    f = b.x[:, 0, 0] * 0.04
    assert set(np.round(f, 12)) <= {0.02, 0.03, 0.04}
    np.testing.assert_allclose(b.y[..., 0], np.sin(2 * np.pi * f[:, None] * np.arange(1, 51)))


def test_context_integration_answer_is_the_sign_of_the_relevant_coherence():
    # with no noise the sensory inputs are the coherences themselves
    b = learn.GENERATORS["context_integration"](50, np.random.default_rng(4), n_steps=20, noise=0.0,
                                                response_steps=3)
    ctx = np.argmax(b.x[:, 0, 2:], axis=1)
    relevant = b.x[np.arange(50), 0, ctx]
    np.testing.assert_array_equal(b.y[:, -3:, 0], np.sign(relevant)[:, None] * np.ones(3))
    assert not b.mask[:, :-3].any() and b.mask[:, -3:].all()


def test_metrics_known_values():
    task = learn.load_task("delayed_copy")
    train, _ = task.data(0)
    assert learn.metric_value("sign_accuracy", train.y, train) == 1.0
    assert learn.metric_value("sign_accuracy", -train.y, train) == 0.0
    assert learn.metric_value("r2", train.y, train) == 1.0
    c = learn.load_task("sine_classification").data(0)[0]
    onehot = np.eye(3)[c.y]
    assert learn.metric_value("accuracy", onehot, c) == 1.0


def test_task_overrides_and_user_tasks_on_biodyn_path(catalog_path):
    task = learn.load_task("delayed_copy", delay=12)
    assert task.parameters["delay"] == 12
    text = (catalog.find("delayed_copy", "tasks")).read_text().replace('value = 5, unit = "step", doc = "the delay d"',
                                                                       'value = 9, unit = "step"')
    (catalog_path / "my_copy.toml").write_text(text)
    catalog.refresh()
    assert learn.load_task("my_copy").parameters["delay"] == 9


def test_task_spec_errors_name_the_file_key_and_suggestion(tmp_path):
    good = catalog.find("delayed_copy", "tasks").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(good.replace('generator = "delayed_copy"', 'generator = "delayed_cpy"'))
    with pytest.raises(SpecError, match=r"bad.toml.*generator.*delayed_copy"):
        learn.load_task(str(bad))
    bad.write_text(good.replace('unit = "step", doc = "the delay d"', 'unit = "ms"'))
    with pytest.raises(SpecError, match=r"parameters.delay.unit.*'step'"):
        learn.load_task(str(bad))
    bad.write_text(good.replace("delay =", "dely ="))
    with pytest.raises(SpecError, match=r"parameters.dely.*delay"):
        learn.load_task(str(bad))
    with pytest.raises(SpecError, match="delay"):
        learn.load_task("delayed_copy", dealy=3)


def test_biodyn_list_and_show_know_tasks(capsys):
    from biodyn.cli import main

    assert main(["list", "tasks"]) == 0
    out = capsys.readouterr().out
    assert "flipflop_3bit" in out and "temporal_xor" in out
    assert main(["show", "delayed_copy"]) == 0
    assert "delay = 5 step" in capsys.readouterr().out


def test_task_parameter_values_are_checked_before_any_data_are_drawn():
    # changed by the caller: named as the keyword typed (<arguments>: delay), not the file's key
    with pytest.raises(SpecError, match=r"^<arguments>: delay: .*\[1, n_steps - 1\].*60"):
        learn.load_task("delayed_copy", delay=60)
    with pytest.raises(SpecError, match=r"^<arguments>: pulse_prob: .*\[0, 1\]"):
        learn.load_task("flipflop_3bit", pulse_prob=1.5)
    with pytest.raises(SpecError, match=r"^<arguments>: n_steps: .*a number.*long"):
        learn.load_task("temporal_xor", n_steps="long")
    with pytest.raises(SpecError, match=r"^<arguments>: coherences: "):
        learn.load_task("context_integration", coherences=[])
    assert learn.load_task("delayed_copy", delay=59).parameters["delay"] == 59


def test_overrides_apply_to_a_task_object_too_and_keep_its_earlier_overrides():
    from biodyn.learn._task import Task
    from biodyn.spec import read_toml

    data = read_toml(catalog.find("sine_classification", "tasks"))
    del data["parameters"]["n_classes"]  # the generator's default (3) then sets the outputs
    task = Task("mine", None, data, {"n_steps": 12})
    assert task.n_outputs == 3
    again = learn.load_task(task, noise=0.1)
    assert again.parameters["n_steps"] == 12 and again.parameters["noise"] == 0.1
    assert learn.load_task(task, n_classes=4).n_outputs == 4


def test_constant_inputs_of_each_task():
    labels = {name: [lab for lab, _ in learn.load_task(name).constant_inputs()] for name in ALL}
    assert labels["flipflop_3bit"] == ["no pulse"]
    assert labels["delayed_copy"] == labels["temporal_xor"] == ["x = +1", "x = -1"]
    assert labels["context_integration"] == ["motion context", "colour context"]
    cues = [u[0] for _, u in learn.load_task("sine_generation").constant_inputs()]
    np.testing.assert_allclose(cues, np.linspace(0.01, 0.05, 5) / 0.05)  # the cue u = f/f_max
    for name in ALL:
        task = learn.load_task(name)
        assert all(u.shape == (task.n_inputs,) for _, u in task.constant_inputs())


def test_context_integration_ideal_observer_is_right_on_97_percent_at_the_default_noise():
    # the best possible accuracy: the sign of the summed relevant stream, right with probability
    # Phi(c sqrt(T) / noise); at the default noise it leaves room for accuracy > 0.9 (at 1.0: 0.83)
    from scipy.stats import norm

    task = learn.load_task("context_integration")
    b = task.generate(20000, 0)
    T, noise = task.parameters["n_steps"], task.parameters["noise"]
    ctx = np.argmax(b.x[:, 0, 2:], axis=1)
    evidence = b.x[np.arange(len(ctx)), :, ctx].sum(axis=1)
    accuracy = np.mean(np.sign(evidence) == b.y[:, -1, 0])
    coh = np.asarray(task.parameters["coherences"])
    expected = norm.cdf(coh * np.sqrt(T) / noise).mean()
    assert abs(accuracy - expected) < 0.005 and expected > 0.95


def test_a_task_training_table_sets_the_training_defaults_and_is_checked(tmp_path):
    sine = learn.load_task("sine_generation")
    assert dict(sine.training) == {"hidden": 32, "epochs": 60, "lr": 0.003, "batch_size": 16, "g": 1.5,
                                   "optimizer": "adam"}
    assert "Sussillo & Abbott" in sine.training_source and "training defaults" in sine.describe()
    untabled = tmp_path / "plain.toml"  # a task without a [training] table: the generic defaults
    untabled.write_text(catalog.find("delayed_copy", "tasks").read_text().split("[training]")[0])
    assert dict(learn.load_task(str(untabled)).training) == dict(learn.TRAIN_DEFAULTS)
    good = catalog.find("sine_generation", "tasks").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(good.replace("\nepochs = 60", "\nepoch = 60"))
    with pytest.raises(SpecError, match=r"bad.toml.*training.epoch"):
        learn.load_task(str(bad))
    bad.write_text(good.replace("lr = 0.003", "lr = -1"))
    with pytest.raises(SpecError, match=r"training.lr.*positive"):
        learn.load_task(str(bad))


def _user_copy_task(folder, parameters):
    (folder / "short_copy.toml").write_text(f'''kind = "task"
description = "a user's copy task"
generator = "delayed_copy"
readout = "all"
loss = "mse"
metric = "sign_accuracy"
[parameters]
{parameters}
[sizes]
train = 8
test = 4
[citation]
authors = "Me"
year = 2026
journal = "unpublished"
''')
    return folder / "short_copy.toml"


def test_a_user_task_records_the_generator_defaults_it_did_not_set(tmp_path):
    # the sequence length was not written in the file but shaped the data: it must be recorded
    task = learn.load_task(str(_user_copy_task(tmp_path, 'delay = {value = 3, unit = "step"}')))
    assert task.parameters == {"n_steps": 60, "delay": 3}
    assert task.as_dict()["units"] == {"n_steps": "step", "delay": "step"}
    train, _ = task.data(0)
    assert train.x.shape[1] == task.parameters["n_steps"]
    assert "n_steps = 60 step" in task.describe()


def test_a_task_parameter_written_as_a_quantity_string_gets_an_error_showing_the_table_form(tmp_path):
    # the model specs write "16.8 ms"; a task parameter is a number or {value, unit}: say so,
    # rather than "unit: expected 'step', found '1'"
    path = _user_copy_task(tmp_path, 'delay = "3 step"')
    with pytest.raises(SpecError, match=r"short_copy.toml: parameters.delay: expected .*\{value = 3, "
                                        r"unit = \"step\"\}.*found '3 step'"):
        learn.load_task(str(path))


def test_a_task_training_optimizer_that_does_not_exist_is_refused_at_load_naming_the_file(tmp_path):
    path = _user_copy_task(tmp_path, 'delay = {value = 3, unit = "step"}')
    path.write_text(path.read_text() + '[training]\noptimizer = "adamw"\n')
    with pytest.raises(SpecError, match=r"short_copy.toml: training.optimizer: .*adam.*found 'adamw'"):
        learn.load_task(str(path))


def test_spike_patterns_share_frozen_templates_across_sets_and_are_jittered_spikes():
    from biodyn.learn._generators import spike_patterns

    a = spike_patterns(30, np.random.default_rng(0), n_steps=50, n_inputs=8, n_classes=2, rate=0.05, jitter=0,
                       noise_rate=0.0)
    b = spike_patterns(30, np.random.default_rng(1), n_steps=50, n_inputs=8, n_classes=2, rate=0.05, jitter=0,
                       noise_rate=0.0)
    assert set(np.unique(a.x)) <= {0.0, 1.0} and a.mask is None
    for c in (0, 1):  # without jitter and noise a sample is its class's template, the same in both sets
        ta, tb = a.x[a.y == c], b.x[b.y == c]
        assert np.all(ta == ta[0]) and np.array_equal(ta[0], tb[0])
    assert not np.array_equal(a.x[a.y == 0][0], a.x[a.y == 1][0])
    j = spike_patterns(30, np.random.default_rng(0), n_steps=50, n_inputs=8, n_classes=2, rate=0.05, jitter=2,
                       noise_rate=0.0)
    assert not np.array_equal(j.x, a.x) and np.array_equal(j.y, a.y)
    assert learn.load_task("spike_patterns").n_outputs == 3


def test_cue_accumulation_answers_the_majority_side_during_the_recall_only():
    from biodyn.learn._generators import cue_accumulation

    b = cue_accumulation(40, np.random.default_rng(0), n_cues=5, cue_steps=20, gap_steps=10, delay_steps=30,
                         recall_steps=15, n_per_group=4, cue_rate=1.0, noise_rate=0.0)
    T = 5 * 30 + 30 + 15
    assert b.x.shape == (40, T, 16) and b.y.shape == (40, T, 1)
    assert np.array_equal(b.mask.sum(axis=1), np.full(40, 15)) and np.all(b.mask[:, T - 15:])
    left = b.x[:, :150, 0].reshape(40, 5, 30)[:, :, 0].sum(axis=1)  # cue_rate 1: a left cue fires every step
    right = b.x[:, :150, 4].reshape(40, 5, 30)[:, :, 0].sum(axis=1)
    assert np.all(left + right == 5)
    np.testing.assert_array_equal(b.y[:, -1, 0], np.where(left > right, 1.0, -1.0))
    assert np.all(b.x[:, T - 15:, 8:12] == 1) and np.all(b.x[:, :T - 15, 8:12] == 0)  # the recall cue
    with pytest.raises(Exception, match="odd"):
        learn.load_task("cue_accumulation", n_cues=4)


def test_cue_accumulation_p_group_favours_one_side_per_trial_as_bellec_et_al():
    # p_group = 0.3: a favoured side per trial, each cue on it with probability 0.7 (Bellec et al.'s
    # code for Fig. 3): the number of left cues among 7 is a 50/50 mixture of Binomial(7, 0.3) and
    # Binomial(7, 0.7), so close 4:3 trials have probability 35 (0.3^3 0.7^4 + 0.7^3 0.3^4) = 0.324
    # instead of 70/128 = 0.547 with fair coins (p_group = 0.5, the default, whose draws are unchanged)
    from biodyn.learn._generators import cue_accumulation

    kw = dict(n_cues=7, cue_steps=2, gap_steps=0, delay_steps=0, recall_steps=1, n_per_group=1, cue_rate=1.0,
              noise_rate=0.0)
    n = 20000
    for p_group, close in ((0.3, 35 * (0.3 ** 3 * 0.7 ** 4 + 0.7 ** 3 * 0.3 ** 4)), (0.5, 70 / 128)):
        b = cue_accumulation(n, np.random.default_rng(1), p_group=p_group, **kw)
        left = b.x[:, 0:14:2, 0].sum(axis=1)
        frac = np.mean((left == 3) | (left == 4))
        assert abs(frac - close) < 4 * np.sqrt(close * (1 - close) / n), (p_group, frac, close)
        assert abs(np.mean(left) - 3.5) < 0.05
    fair = cue_accumulation(50, np.random.default_rng(2), **kw)
    rng = np.random.default_rng(2)
    side = rng.integers(0, 2, (50, 7))
    np.testing.assert_array_equal(fair.x[:, 0:14:2, 0], 1 - side)
    with pytest.raises(Exception, match="p_group"):
        learn.load_task("cue_accumulation", p_group=0.7)


def test_every_builtin_task_has_a_training_table_with_a_source_that_load_task_reads():
    from biodyn.spec import read_toml

    for name in ALL:
        raw = read_toml(catalog.find(name, "tasks"))
        table = raw.get("training")
        assert table, f"{name} has no [training] table"
        task = learn.load_task(name)
        assert isinstance(table.get("source"), str) and len(table["source"]) > 40, name
        assert task.training_source == table["source"]
        assert set(task.training) == set(learn.TRAIN_DEFAULTS)
        for key, value in table.items():
            if key not in ("source", "spiking"):  # [training.spiking]: Task.spiking_training
                assert task.training[key] == value, (name, key)


@pytest.mark.parametrize("line, key", [("hidden = 0", "training.hidden"), ("lr = -0.1", "training.lr"),
                                       ("optimizer = 'adma'", "training.optimizer"),
                                       ("optimizer = 'implicit_gd'", "training.optimizer"),
                                       ("epochs = 1.5", "training.epochs"), ("hiden = 8", "training.hiden")])
def test_a_bad_training_table_is_refused_naming_the_file_and_key(tmp_path, line, key):
    text = catalog.find("flipflop_3bit", "tasks").read_text().split("[training]")[0]
    path = tmp_path / "t.toml"
    path.write_text(text + "\n[training]\n" + line + "\n")
    with pytest.raises(SpecError) as info:
        learn.load_task(str(path))
    assert info.value.key == key and "t.toml" in str(info.value)



def test_the_shipped_iris_data_are_fishers_150_flowers_with_their_published_means():
    # Fisher (1936) / Anderson (1935): 50 flowers per species; column means 5.8433, 3.0573,
    # 3.7580, 1.1993 cm with the two corrections of Bezdek et al. (1999) (the UCI copy's
    # errors in samples 35 and 38 change the sepal-width mean to 3.0540)
    from biodyn.learn._generators import _iris

    x, y = _iris()
    assert x.shape == (150, 4) and np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(x.mean(axis=0), [5.843333, 3.057333, 3.758, 1.199333], atol=1e-6)
    np.testing.assert_array_equal(x[34], [4.9, 3.1, 1.5, 0.2])
    np.testing.assert_array_equal(x[37], [4.9, 3.6, 1.4, 0.1])


def test_iris_test_flowers_are_never_drawn_for_training_and_are_standardised_by_the_training_part():
    from biodyn.learn._generators import _iris

    from biodyn.learn._generators import _iris_split

    task = learn.load_task("iris_sequences", noise=0.0, split_seed=3)
    train, test = task.data(5)
    x, y = _iris()
    mask = _iris_split(y, 3, 15)
    mean, sd = x[~mask].mean(axis=0), x[~mask].std(axis=0)

    def rows(a):  # the flowers of a batch as a sorted multiset of rows
        return a[np.lexsort(a.T[::-1])].round(10)

    # each flower of its part exactly once, standardised by the training part only
    np.testing.assert_allclose(rows(train.x[:, 0, :]), rows((x[~mask] - mean) / sd), atol=1e-12)
    np.testing.assert_allclose(rows(test.x[:, 0, :]), rows((x[mask] - mean) / sd), atol=1e-12)
    assert np.bincount(test.y).tolist() == [15, 15, 15] and np.bincount(train.y).tolist() == [35, 35, 35]
    assert task.n_inputs == 4 and task.n_outputs == 3
    # the stream [seed, 1] used for test sequences elsewhere draws from the test part too
    again = task.generate(45, [5, 1])
    np.testing.assert_allclose(rows(again.x[:, 0, :]), rows(test.x[:, 0, :]), atol=1e-12)


def test_spike_sine_generation_target_is_a_frozen_unit_variance_sum_of_the_given_sines():
    task = learn.load_task("spike_sine_generation")
    T = task.parameters["n_steps"]
    train, test = task.data(0)
    other, _ = task.data(7)
    y = train.y[0, :, 0]
    # frozen: the same target for every sample, set and seed; unit variance, zero mean
    for b in (train, test, other):
        np.testing.assert_array_equal(b.y[..., 0], np.broadcast_to(y, b.y.shape[:2]))
    np.testing.assert_allclose([y.mean(), y.std()], [0.0, 1.0], atol=1e-12)
    # its spectrum: power only at the bins f*T of the given frequencies (1, 2, 3, 5 cycles per 1000 steps)
    power = np.abs(np.fft.rfft(y)) ** 2
    bins = sorted(int(round(f * T)) for f in task.parameters["frequencies"])
    assert bins == [1, 2, 3, 5]
    assert np.sort(np.argsort(power)[-4:]).tolist() == bins
    assert power[bins].sum() / power.sum() > 1 - 1e-12
    # inputs: the frozen pattern (shared by train and test, any seed) plus fresh noise spikes only
    pattern = np.all(np.concatenate([train.x, test.x, other.x]) == 1, axis=0)
    assert set(np.unique(train.x)) == {0.0, 1.0} and pattern.mean() > 0.005
    quiet = learn.load_task("spike_sine_generation", noise_rate=0.0)
    a, b = quiet.data(0)
    np.testing.assert_array_equal(a.x[0], b.x[3])
    np.testing.assert_array_equal(a.x[0] == 1, pattern)
    extra = train.x.sum() - pattern.sum() * len(train)
    assert abs(extra / (train.x.size - pattern.sum() * len(train)) - task.parameters["noise_rate"]) < 3e-4


def test_spike_sine_generation_frequencies_above_nyquist_are_refused_before_drawing():
    with pytest.raises(SpecError) as info:
        learn.load_task("spike_sine_generation", frequencies=[0.001, 0.6])
    assert "frequencies" in info.value.key and "Nyquist" in str(info.value)


def test_a_training_spiking_table_is_read_separately_and_checked(tmp_path):
    text = catalog.find("delayed_copy", "tasks").read_text().split("[training.spiking]")[0]
    path = tmp_path / "t.toml"
    path.write_text(text + "\n[training.spiking]\nhidden = 7\nencoding = 'latency'\nsteps_per_sample = 3\n"
                    "tau_out = '3 ms'\nsource = 'a test'\n")
    task = learn.load_task(str(path))
    assert dict(task.spiking_training) == {"hidden": 7, "encoding": "latency", "steps_per_sample": 3,
                                           "tau_out": "3 ms"}
    assert task.spiking_training_source == "a test" and "spiking" not in task.training
    assert task.as_dict()["spiking_training"]["hidden"] == 7
    for line, key in (("hiden = 3", "training.spiking.hiden"), ("encoding = 'rate'", "training.spiking.encoding"),
                      ("lr = 0", "training.spiking.lr"),
                      ("parameters = {dely = 2}", "training.spiking.parameters.dely"),
                      ("parameters = {delay = 0}", "training.spiking.parameters.delay")):
        path.write_text(text + "\n[training.spiking]\n" + line + "\n")
        with pytest.raises(SpecError) as info:
            learn.load_task(str(path))
        assert info.value.key == key and "t.toml" in str(info.value)
    spiking = catalog.find("spike_patterns", "tasks").read_text()
    path.write_text(spiking + "\n[training.spiking]\nsteps_per_sample = 3\n")
    with pytest.raises(SpecError, match="already spikes") as info:
        learn.load_task(str(path))
    assert info.value.key == "training.spiking.steps_per_sample"


def test_an_out_of_range_task_parameter_is_named_where_it_was_given_the_keyword_or_the_files_key(tmp_path):
    """learn.load_task("delayed_copy", delay=60) said 'tasks/delayed_copy.toml: parameters.delay',
    a key the user never wrote: a value given by the caller is named as the caller gave it."""
    with pytest.raises(SpecError) as e:
        learn.load_task("delayed_copy", delay=60)
    assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "delay", "60")
    assert "(n_steps = 60)" in e.value.expected
    bad = tmp_path / "copy.toml"  # the file's own bad value: the file's key
    bad.write_text(catalog.find("delayed_copy", "tasks").read_text().replace(
        'delay = {value = 5,', 'delay = {value = 70,'))
    with pytest.raises(SpecError) as e:
        learn.load_task(str(bad))
    assert e.value.file.endswith("copy.toml") and e.value.key == "parameters.delay" and e.value.found == "70"
    # wrong only beside the file's value: the caller's n_steps is named, with the file's delay it contradicts
    with pytest.raises(SpecError) as e:
        learn.load_task("delayed_copy", n_steps=4)
    assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "n_steps", "4")
    assert ">= 6 (delay = 5, " in e.value.expected and "delayed_copy.toml: parameters.delay" in e.value.expected
    with pytest.raises(SpecError) as e:
        learn.load_task("sine_classification", f_max=0.01)  # below the file's f_min = 0.05
    assert (e.value.file, e.value.key) == ("<arguments>", "f_max") and "f_min = 0.05" in e.value.expected
    with pytest.raises(SpecError) as e:  # both given: the value checked is named
        learn.load_task("sine_classification", f_min=0.3, f_max=0.2)
    assert (e.value.file, e.value.key) == ("<arguments>", "f_min") and "f_max = 0.2" in e.value.expected


def test_task_with_names_the_parameters_as_the_mapping_keyword_it_came_in():
    from biodyn.learn._task import task_with

    for given, found in (({"delay": 60}, "60"), ({"dleay": 3}, "dleay=3")):
        with pytest.raises(SpecError) as e:
            task_with("delayed_copy", given, prefix="parameters.")
        assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "parameters." + next(iter(given)), found)
    assert task_with("delayed_copy", {"delay": 7}, prefix="parameters.").parameters["delay"] == 7


def test_a_spiking_networks_task_parameters_are_named_where_each_was_given():
    """delayed_copy's [training.spiking] parameters = {delay = 2}: n_steps = 3 is fine for a spiking
    network (its delay is 2), n_steps = 2 is not, and the error names the caller's n_steps and the
    table's key of the delay it contradicts (not the file's delay = 5)."""
    from biodyn.learn._snn import spiking_task

    task, applied = spiking_task("delayed_copy", n_steps=3)
    assert (task.parameters["n_steps"], task.parameters["delay"], applied) == (3, 2, {"delay": 2})
    with pytest.raises(SpecError) as e:
        spiking_task("delayed_copy", n_steps=2)
    assert (e.value.file, e.value.key, e.value.found) == ("<arguments>", "n_steps", "2")
    assert "delay = 2, " in e.value.expected and "training.spiking.parameters.delay" in e.value.expected
    with pytest.raises(SpecError) as e:
        spiking_task("delayed_copy", delay=60)
    assert (e.value.file, e.value.key) == ("<arguments>", "delay")


def test_task_records_where_each_parameter_came_from_caller_file_spiking_table_or_generator_default():
    """spike_patterns' file sets all its generator's parameters but pattern_seed (a default);
    delayed_copy's sets n_steps and delay, its [training.spiking] table delay = 2."""
    from biodyn.learn._snn import spiking_task
    from biodyn.learn._task import load_task

    src = load_task("spike_patterns").as_dict()["parameter_sources"]
    assert src == {"n_steps": "task", "n_inputs": "task", "n_classes": "task", "rate": "task", "jitter": "task",
                   "noise_rate": "task", "pattern_seed": "default"}
    assert load_task("delayed_copy", n_steps=30).parameter_sources()["n_steps"] == "argument"
    spiking, applied = spiking_task("delayed_copy")
    assert applied == {"delay": 2} and spiking.parameter_sources()["delay"] == "task"  # the file's spiking table
    spiking, applied = spiking_task("delayed_copy", delay=3)
    assert applied == {} and spiking.parameter_sources()["delay"] == "argument"
