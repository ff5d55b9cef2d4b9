"""The training loop: it learns, it is reproducible, checkpoints round-trip, the CLI works."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import cnnlib
from cnnlib.models import create_model
from cnnlib.train import (
    History,
    TrainConfig,
    evaluate,
    fit,
    load_checkpoint,
    make_optimizer,
    make_scheduler,
    misclassified,
    plot_confusion_matrix,
    plot_misclassified,
    save_checkpoint,
)
from cnnlib.train.cli import main

CPU = dict(device="cpu", progress=False)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread, above all on a machine whose cores are shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_problem(seed: int = 0, n: int = 96):
    """Two classes of 8x8 images: a bright left half or a bright right half, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = 0.3 * torch.rand(n, 1, 8, 8, generator=g)
    x[y == 0, :, :, :4] += 0.7
    x[y == 1, :, :, 4:] += 0.7
    return x, y


def tiny_loaders(seed: int = 0, shuffle: bool = True):
    x, y = tiny_problem(seed)
    train = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=shuffle,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=32)
    return train, val


def tiny_model():
    return create_model("classic_cnn", input_size=8, stages=((4,),), fc_features=(8,), num_classes=2, dropout=0.2)


def test_loss_decreases_and_the_model_learns():
    cnnlib.seed_everything(0)
    model = tiny_model()
    train, val = tiny_loaders()
    history = fit(model, train, val, TrainConfig(epochs=6, lr=1e-2, scheduler="none", **CPU))
    assert len(history) == 6 and history.epochs == [1, 2, 3, 4, 5, 6]
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.val_acc[-1] == 1.0
    assert len(history.val_acc) == len(history.lr) == len(history.seconds) == 6


def test_history_records_plain_cross_entropy_under_label_smoothing():
    cnnlib.seed_everything(0)
    model = create_model("classic_cnn", input_size=8, stages=((4,),), fc_features=(), num_classes=2)
    with torch.no_grad():
        model.classifier[-1].weight.mul_(20)  # confident logits: smoothing changes the loss a lot
    train, val = tiny_loaders(shuffle=False)
    x, y = (torch.cat(t) for t in zip(*train))
    with torch.no_grad():
        plain = nn.functional.cross_entropy(model(x), y).item()
        smoothed = nn.functional.cross_entropy(model(x), y, label_smoothing=0.5).item()
    assert abs(plain - smoothed) > 0.05
    # a vanishing learning rate keeps the weights put, so the epoch's loss is that of the initial model
    history = fit(model, train, val, TrainConfig(epochs=1, lr=1e-12, scheduler="none", weight_decay=0.0,
                                                 label_smoothing=0.5, **CPU))
    assert history.train_loss[0] == pytest.approx(plain, rel=1e-5)
    assert history.val_loss[0] == pytest.approx(evaluate(model, val).loss, rel=1e-6)


def test_fit_leaves_eval_results_independent_of_dropout():
    cnnlib.seed_everything(0)
    model = tiny_model()
    train, val = tiny_loaders()
    fit(model, train, None, TrainConfig(epochs=1, **CPU))
    first, second = evaluate(model, val), evaluate(model, val)
    assert first.loss == second.loss
    assert model.training  # evaluate restores the mode it found


def run_once(seed: int):
    cnnlib.seed_everything(seed)
    model = tiny_model()
    train, val = tiny_loaders(seed)
    history = fit(model, train, val, TrainConfig(epochs=3, seed=seed, **CPU))
    return model.state_dict(), history


def test_cpu_runs_are_reproducible_with_a_seed():
    (w1, h1), (w2, h2), (_, h3) = run_once(0), run_once(0), run_once(1)
    assert h1.train_loss == h2.train_loss and h1.val_acc == h2.val_acc
    for k in w1:
        assert torch.equal(w1[k], w2[k]), k
    assert h1.train_loss != h3.train_loss


def _wandering_run(epochs: int, restore_best: bool):
    """A run whose validation accuracy rises and falls: validation images carry a much fainter signal."""
    x, y = tiny_problem(seed=1, n=64)
    g = torch.Generator().manual_seed(2)
    y_val = torch.randint(0, 2, (64,), generator=g)
    x_val = 0.3 * torch.rand(64, 1, 8, 8, generator=g)
    x_val[y_val == 0, :, :, :4] += 0.05
    x_val[y_val == 1, :, :, 4:] += 0.05
    train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    val = DataLoader(TensorDataset(x_val, y_val), batch_size=64)
    cnnlib.seed_everything(0)
    model = tiny_model()
    config = TrainConfig(epochs=epochs, lr=1e-2, scheduler="none", restore_best=restore_best, **CPU)
    return model, fit(model, train, val, config), val


def test_restore_best_loads_the_weights_of_the_best_validation_epoch():
    model, history, val = _wandering_run(10, restore_best=True)
    best = history.best_epoch
    assert 1 <= best < 10, "the set-up must make an earlier epoch the best, or the test proves nothing"
    assert history.restored_epoch == best
    assert evaluate(model, val).accuracy == max(history.val_acc) > history.val_acc[-1]
    # The same seeded run stopped after `best` epochs ends with exactly these weights.
    stopped, _, _ = _wandering_run(best, restore_best=False)
    for (name, a), b in zip(model.state_dict().items(), stopped.state_dict().values()):
        assert torch.equal(a, b), name
    last, last_history, _ = _wandering_run(10, restore_best=False)
    assert last_history.restored_epoch is None
    assert evaluate(last, val).accuracy == last_history.val_acc[-1]


def test_restore_best_needs_validation_data():
    train, _ = tiny_loaders()
    with pytest.raises(ValueError, match="val_loader"):
        fit(tiny_model(), train, None, TrainConfig(epochs=1, restore_best=True, **CPU))


def test_evaluate_accuracy_and_confusion_against_a_hand_count():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    targets = torch.tensor([0, 1, 1, 2, 1])
    model = nn.Sequential(nn.Flatten())  # identity on 2-D input: the "images" are the logits
    result = evaluate(model, DataLoader(TensorDataset(logits, targets), batch_size=2))
    expected = torch.tensor([[1, 0, 0], [0, 2, 1], [1, 0, 0]])
    assert torch.equal(result.confusion, expected)
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.loss == pytest.approx(nn.functional.cross_entropy(logits, targets).item())
    assert result.errors.tolist() == [2, 3]
    torch.testing.assert_close(result.probabilities, torch.softmax(logits, 1))
    # a pair of tensors is evaluated the same way
    same = evaluate(model, (logits, targets))
    assert torch.equal(same.confusion, expected) and same.loss == pytest.approx(result.loss)
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        evaluate(model, (logits, targets[:4]))


def test_misclassified_returns_the_wrong_examples_most_confident_first():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    targets = torch.tensor([0, 1, 1, 2, 1])
    model = nn.Sequential(nn.Flatten())
    shuffled = DataLoader(TensorDataset(logits, targets), batch_size=2, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
    images, true, predicted, confidence = misclassified(model, shuffled)
    # example 3 (logit 5 for class 0, truly 2) is the most confident mistake, then example 2
    torch.testing.assert_close(images, logits[[3, 2]])
    assert true.tolist() == [2, 1] and predicted.tolist() == [0, 2]
    torch.testing.assert_close(confidence, torch.softmax(logits[[3, 2]], 1).max(1).values)


def test_binary_models_with_one_logit():
    cnnlib.seed_everything(0)
    model = create_model("classic_cnn", input_size=8, stages=((4,),), fc_features=(), num_classes=1)
    train, val = tiny_loaders()
    history = fit(model, train, val, TrainConfig(epochs=5, lr=1e-2, label_smoothing=0.0, **CPU))
    assert history.train_loss[-1] < history.train_loss[0]
    result = evaluate(model, val)
    with pytest.raises(ValueError, match="label smoothing"):
        fit(model, train, val, TrainConfig(epochs=1, label_smoothing=0.1, **CPU))
    assert result.confusion.shape == (2, 2) and result.confusion.sum() == 32


def test_checkpoint_round_trips_exactly(tmp_path):
    cnnlib.seed_everything(0)
    config = TrainConfig(epochs=2, lr=5e-3, scheduler="cosine", **CPU)
    model = tiny_model()
    train, val = tiny_loaders(shuffle=False)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch=len(train))
    history = fit(model, train, val, config, optimizer=optimizer, scheduler=scheduler)
    path = save_checkpoint(tmp_path / "run" / "ckpt.pt", model, optimizer=optimizer, scheduler=scheduler,
                           history=history, config=config, model_name="classic_cnn", extra={"note": "tiny"})

    clone = tiny_model()
    clone_opt = make_optimizer(clone, config)
    clone_sched = make_scheduler(clone_opt, config, steps_per_epoch=len(train))
    ckpt = load_checkpoint(path, clone, optimizer=clone_opt, scheduler=clone_sched)
    assert ckpt.history == history and ckpt.config == config
    assert ckpt.model_name == "classic_cnn" and ckpt.extra == {"note": "tiny"}
    for (k, a), (_, b) in zip(model.state_dict().items(), clone.state_dict().items()):
        assert torch.equal(a, b), k
    assert clone_opt.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()
    for k, state in optimizer.state_dict()["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(clone_opt.state_dict()["state"][k][name]))
    assert clone_sched.state_dict() == scheduler.state_dict()

    # one more identical step on both gives identical weights: the optimizer state (Adam's moments
    # and step count) really came back. The cosine schedule ended at lr 0, so set a real one.
    x, y = next(iter(train))
    for m, opt in ((model, optimizer), (clone, clone_opt)):
        m.eval()
        for group in opt.param_groups:
            group["lr"] = 1e-2
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    for (k, a), (_, b) in zip(model.state_dict().items(), clone.state_dict().items()):
        assert torch.equal(a, b), k

    # training resumes where it stopped: the history grows from the saved epochs
    resumed = fit(clone, train, val, TrainConfig(epochs=1, lr=5e-3, **CPU), optimizer=clone_opt,
                  history=ckpt.history)
    assert len(resumed) == 3 and resumed.train_loss[:2] == history.train_loss


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not written by"):
        load_checkpoint(tmp_path / "other.pt")
    model = tiny_model()
    save_checkpoint(tmp_path / "bare.pt", model)
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(tmp_path / "bare.pt", optimizer=make_optimizer(model, TrainConfig()))


def test_history_dict_round_trip_and_plot():
    history = History()
    history.append(train_loss=1.0, train_acc=0.5, val_loss=0.9, val_acc=0.6, lr=1e-3, seconds=0.1)
    history.append(train_loss=0.5, train_acc=0.8, val_loss=0.6, val_acc=0.7, lr=1e-3, seconds=0.1)
    assert History.from_dict(history.to_dict()) == history
    assert history.best_epoch == 2 and history.total_seconds == pytest.approx(0.2)
    fig = history.plot()
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]
    with pytest.raises(ValueError, match="nothing recorded"):
        History().plot()


def test_plots_draw_confusion_and_mistakes():
    confusion = torch.tensor([[5, 1], [0, 4]])
    fig = plot_confusion_matrix(confusion, ["left", "right"], normalize=True)
    assert fig.axes[0].get_xlabel() == "predicted class"
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(torch.zeros(2, 3))
    cnnlib.seed_everything(0)
    model = tiny_model()
    _, val = tiny_loaders()
    fig = plot_misclassified(model, val, class_names=["left", "right"], max_images=4)
    assert "of" in fig._suptitle.get_text()


def test_fit_explains_bad_loaders_and_missing_devices():
    model = tiny_model()
    x, y = tiny_problem()
    with pytest.raises(TypeError, match="DataLoader"):
        fit(model, (x, y), config=TrainConfig(epochs=1, **CPU))
    if not torch.cuda.is_available():
        train, _ = tiny_loaders()
        with pytest.raises(ValueError, match="no CUDA device"):
            fit(model, train, config=TrainConfig(epochs=1, device="cuda", progress=False))


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(lr=-1.0), dict(optimizer="rmsprop"),
                                 dict(scheduler="exp"), dict(seed="zero")])
def test_train_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TrainConfig(**bad)


def test_cli_rejects_unknown_names_listing_valid_ones(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--model", "lenet7"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "lenet7" in err and "lenet5" in err and "simple_cnn" in err
    with pytest.raises(SystemExit):
        main(["--data", "cifar10"])
    err = capsys.readouterr().err
    assert "cifar10" in err and "digits" in err and "fashion_mnist" in err


def test_cli_help_lists_models_and_datasets():
    result = subprocess.run([sys.executable, "-m", "cnnlib.train", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    for name in ("lenet5", "keras_cnn", "mlp", "digits", "fashion_mnist"):
        assert name in result.stdout


def test_cli_end_to_end(tmp_path, capsys):
    ckpt = tmp_path / "mlp.pt"
    code = main(["--model", "mlp", "--data", "digits8", "--epochs", "2", "--seed", "3", "--no-progress",
                 "--device", "cpu", "--save", str(ckpt)])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test_accuracy=")
    accuracy = float(lines[-1].split("=")[1])
    assert 0.5 < accuracy <= 1.0  # two epochs of an MLP on 8x8 digits is far above chance (0.1)
    saved = load_checkpoint(ckpt)
    assert saved.model_name == "mlp" and saved.model_kwargs["input_size"] == 8
    model = create_model(saved.model_name, **saved.model_kwargs)
    model.load_state_dict(saved.model_state)
    assert saved.extra["test_accuracy"] == pytest.approx(accuracy, abs=5e-5)


def test_accuracy_vs_train_size_matches_a_run_by_hand():
    import math

    from cnnlib.data.loaders import _stratified_subset
    from cnnlib.train import accuracy_vs_train_size

    x, y = tiny_problem(seed=3, n=96)
    test = (x[64:], y[64:])
    config = TrainConfig(lr=1e-2, scheduler="none", **CPU)
    acc = accuracy_vs_train_size(tiny_model, x[:64], y[:64], test, [8, 32], seeds=(0, 1), steps=12,
                                 batch_size=16, config=config)
    assert acc.shape == (2, 2) and ((0 <= acc) & (acc <= 1)).all()
    # size 32, seed 1, by hand: the same subset, seed, batches and number of epochs.
    keep = _stratified_subset(y[:64], 32, 1)
    assert len(keep) == 32 and torch.bincount(y[:64][keep]).tolist() == [16, 16]
    loader = DataLoader(TensorDataset(x[:64][keep], y[:64][keep]), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(1))
    cnnlib.seed_everything(1)
    model = tiny_model()
    fit(model, loader, None, TrainConfig(epochs=math.ceil(12 / 2), seed=1, lr=1e-2, scheduler="none", **CPU))
    assert acc[1, 1].item() == evaluate(model, test).accuracy
    with pytest.raises(ValueError, match="size 65 must be an int from 1 to 64"):
        accuracy_vs_train_size(tiny_model, x[:64], y[:64], test, [65])


def test_accuracy_interval_matches_scipy_wilson():
    from scipy.stats import binomtest

    from cnnlib.train import accuracy_interval

    for right, total in [(1960, 2000), (0, 10), (10, 10), (355, 359), (7, 13)]:
        reference = binomtest(right, total).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = accuracy_interval(right, total)
        assert low == pytest.approx(reference.low, abs=1e-9) and high == pytest.approx(reference.high, abs=1e-9)
    with pytest.raises(ValueError, match="right must be an int from 0 to total=10"):
        accuracy_interval(11, 10)


def test_mean_interval_matches_scipy_t():
    from scipy import stats

    from cnnlib.train import mean_interval

    values = [0.011, -0.003, 0.008, 0.0, 0.014]
    mean, low, high = mean_interval(values)
    ref_low, ref_high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values)) and (low, high) == pytest.approx((ref_low, ref_high))
    with pytest.raises(ValueError, match="at least two"):
        mean_interval([0.5])
