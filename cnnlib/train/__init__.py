"""Train and judge any classifier: ``fit``, ``evaluate``, plots and checkpoints.

A typed :class:`TrainConfig` holds the settings; :func:`fit` runs the loop
(train mode for updates, eval mode and ``no_grad`` for validation, the
optimizer and scheduler the config names, device placement, seeding, a
``tqdm`` progress bar) and returns a :class:`History`::

    import cnnlib
    from cnnlib.data import get_loaders
    from cnnlib.models import create_model
    from cnnlib.train import TrainConfig, evaluate, fit, plot_confusion_matrix, plot_misclassified

    cnnlib.seed_everything(0)                      # same initial weights every run
    data = get_loaders("digits")                   # 28x28 digits: train / val / test loaders
    model = create_model("lenet5")
    config = TrainConfig(epochs=20, lr=3e-3)       # the defaults; restore_best=True keeps the best epoch
    history = fit(model, data.train, data.val, config)
    fig = history.plot()                           # loss and accuracy per epoch
    result = evaluate(model, data.test)            # .accuracy, .loss, .confusion (C x C)
    evaluate(model, (shifted_images, labels))      # a pair of tensors works too
    fig = plot_confusion_matrix(result.confusion, data.class_names)
    fig = plot_misclassified(model, data.test, class_names=data.class_names)

To keep a run, pass your own optimizer so that its state can be saved::

    optimizer = make_optimizer(model, config)
    history = fit(model, data.train, data.val, config, optimizer=optimizer)
    save_checkpoint("run.pt", model, optimizer=optimizer, history=history, config=config,
                    model_name="lenet5")
    ckpt = load_checkpoint("run.pt", model2, optimizer=optimizer2)   # ckpt.history, ckpt.config

From a terminal::

    python -m cnnlib.train --model lenet5 --data digits --seed 0
    # ... last line: test_accuracy=0.9861

Everything runs unchanged on a CUDA GPU (Colab) or the CPU
(``TrainConfig(device=...)`` forces one).
"""
from cnnlib.train.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from cnnlib.train.config import OPTIMIZERS, SCHEDULERS, TrainConfig, make_optimizer, make_scheduler
from cnnlib.train.history import History
from cnnlib.train.loop import EvalResult, as_loader, evaluate, fit, model_device, train_one_epoch
from cnnlib.train.plots import misclassified, plot_confusion_matrix, plot_misclassified
from cnnlib.train.sample_efficiency import accuracy_vs_train_size
from cnnlib.train.stats import accuracy_interval, mean_interval
from cnnlib.train.steps import train_steps

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "Checkpoint",
    "EvalResult",
    "History",
    "TrainConfig",
    "accuracy_interval",
    "accuracy_vs_train_size",
    "as_loader",
    "evaluate",
    "fit",
    "load_checkpoint",
    "make_optimizer",
    "make_scheduler",
    "mean_interval",
    "misclassified",
    "model_device",
    "plot_confusion_matrix",
    "plot_misclassified",
    "save_checkpoint",
    "train_one_epoch",
    "train_steps",
]
