"""``python -m cnnlib.train``: train a registered model on a registered dataset.

The last line printed is ``test_accuracy=0.XXXX`` (accuracy on the fixed
test split, measured once after training), so scripts can read it.
"""
from __future__ import annotations

import argparse
import sys
import time

from cnnlib.train.config import OPTIMIZERS, SCHEDULERS, TrainConfig

__all__ = ["build_parser", "main"]


def _listing() -> str:
    from cnnlib.data.loaders import list_datasets
    from cnnlib.models import get_model_spec, list_models

    lines = ["models:"]
    lines += [f"  {name:<14} {get_model_spec(name).description}" for name in list_models()]
    lines.append("datasets:")
    lines += [f"  {name:<14} {text}" for name, text in list_datasets(with_descriptions=True).items()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; ``--help`` lists the registered models and datasets."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="python -m cnnlib.train",
        description="Train a registered model on a registered dataset and print test_accuracy=... last.",
        epilog=_listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="lenet5", help="a registered model (listed below); default lenet5")
    parser.add_argument("--data", default="digits", help="a registered dataset (listed below); default digits")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"default {defaults.epochs}")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, batch order and augmentation; default 0")
    parser.add_argument("--lr", type=float, default=defaults.lr, help=f"peak learning rate; default {defaults.lr}")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help=f"default {defaults.batch_size}")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help=f"default {defaults.optimizer}")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default=defaults.scheduler, help=f"default {defaults.scheduler}")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help=f"default {defaults.weight_decay}")
    parser.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing,
                        help=f"default {defaults.label_smoothing}")
    parser.add_argument("--augment", choices=("affine", "shift"), default=None,
                        help="augment training images: random rotations, shifts and zooms (affine) "
                             "or random shifts only (shift); default none")
    parser.add_argument("--train-limit", type=int, default=None, help="use only this many training images")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu; default: the fastest present")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for PyTorch; default 1: small models gain little from more, "
                             "and lose much when other programs share the cores")
    parser.add_argument("--save", default=None, metavar="PATH", help="write a checkpoint (model, optimizer, history, config) here")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--restore-best", action="store_true",
                        help="end with the weights of the epoch with the best validation accuracy")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success, 2 on bad arguments)."""
    import torch

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads {args.threads}: give a positive number of threads")
    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(parser, args)
    finally:
        torch.set_num_threads(previous)  # main() may be called from Python: leave the process as it was


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from cnnlib.data.loaders import get_loaders, list_datasets
    from cnnlib.models import create_model, get_model_spec, list_models, summary
    from cnnlib.runtime import seed_everything
    from cnnlib.train.checkpoint import save_checkpoint
    from cnnlib.train.config import make_optimizer
    from cnnlib.train.loop import evaluate, fit

    if args.model not in list_models():
        parser.error(f"unknown model {args.model!r}; choose one of: {', '.join(list_models())}")
    if args.data not in list_datasets():
        parser.error(f"unknown dataset {args.data!r}; choose one of: {', '.join(list_datasets())}")
    try:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
                             scheduler=args.scheduler, weight_decay=args.weight_decay,
                             label_smoothing=args.label_smoothing, seed=args.seed,
                             device=args.device, progress=not args.no_progress, restore_best=args.restore_best)
    except ValueError as err:
        parser.error(str(err))

    tic = time.perf_counter()
    seed_everything(args.seed)
    try:
        data = get_loaders(args.data, batch_size=args.batch_size, augment=args.augment or False,
                           train_limit=args.train_limit, seed=args.seed)
        # Fit the model to the data: channels, classes and image size come from the dataset.
        accepted = get_model_spec(args.model).parameters
        wanted = {"in_channels": data.input_size[0], "num_classes": data.num_classes, "input_size": data.input_size[-1]}
        model_kwargs = {k: v for k, v in wanted.items() if k in accepted}
        model = create_model(args.model, **model_kwargs)
    except ValueError as err:
        parser.error(str(err))
    stats = summary(model, data.input_size)
    print(f"model={args.model} parameters={stats.total_params:,} data={args.data} "
          f"train={len(data.train.dataset)} val={len(data.val.dataset)} test={len(data.test.dataset)}")
    optimizer = make_optimizer(model, config)
    history = fit(model, data.train, data.val, config, optimizer=optimizer)
    result = evaluate(model, data.test)
    seconds = time.perf_counter() - tic
    print(f"epochs={len(history)} train_seconds={history.total_seconds:.1f} total_seconds={seconds:.1f} "
          f"val_accuracy={history.val_acc[-1]:.4f} test_loss={result.loss:.4f}")
    if args.save:
        path = save_checkpoint(args.save, model, optimizer=optimizer, history=history, config=config,
                               model_name=args.model, model_kwargs=model_kwargs,
                               extra={"data": args.data, "test_accuracy": result.accuracy})
        print(f"saved {path}")
    print(f"test_accuracy={result.accuracy:.4f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
