"""Per-epoch losses and accuracies of a training run, with a plot."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["History"]


@dataclass
class History:
    """What :func:`cnnlib.train.fit` records after every epoch.

    Attributes:
        train_loss: mean training loss of each epoch (measured while the
            weights change, in train mode: dropout and augmentation on).
        train_acc: training accuracy of each epoch, measured the same way.
        val_loss: validation loss after each epoch (empty without validation data).
        val_acc: validation accuracy after each epoch.
        lr: learning rate at the end of each epoch.
        seconds: wall time of each epoch, validation included.
        restored_epoch: the epoch (1-based) whose weights ``fit`` loaded back
            at the end (``TrainConfig(restore_best=True)``), or ``None`` when
            the model kept its last epoch's weights.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    restored_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.train_loss)

    @property
    def epochs(self) -> list[int]:
        """Epoch numbers ``1..len(self)``."""
        return list(range(1, len(self) + 1))

    @property
    def best_epoch(self) -> int | None:
        """The epoch (1-based) with the highest validation accuracy, or ``None`` without validation.

        This only names the epoch: the model holds that epoch's weights only
        if ``fit`` ran with ``TrainConfig(restore_best=True)`` (see
        :attr:`restored_epoch`).
        """
        if not self.val_acc:
            return None
        return max(range(len(self.val_acc)), key=lambda i: (self.val_acc[i], -i)) + 1

    @property
    def total_seconds(self) -> float:
        """Wall time of all epochs together."""
        return float(sum(self.seconds))

    def append(self, *, train_loss: float, train_acc: float, lr: float, seconds: float,
               val_loss: float | None = None, val_acc: float | None = None) -> None:
        """Record one epoch."""
        self.train_loss.append(float(train_loss))
        self.train_acc.append(float(train_acc))
        self.lr.append(float(lr))
        self.seconds.append(float(seconds))
        if val_loss is not None:
            self.val_loss.append(float(val_loss))
        if val_acc is not None:
            self.val_acc.append(float(val_acc))

    def to_dict(self) -> dict:
        """Plain lists (and ``restored_epoch``), for checkpoints and JSON."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "History":
        """Rebuild a history from :meth:`to_dict`'s output."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"History.from_dict: unknown field(s) {', '.join(unknown)}.")
        restored = values.get("restored_epoch")
        lists = {k: [float(x) for x in v] for k, v in values.items() if k != "restored_epoch"}
        return cls(**lists, restored_epoch=None if restored is None else int(restored))

    def plot(self, *, title: str = "Training history"):
        """Loss (left) and accuracy (right) per epoch, training and validation.

        Returns:
            The matplotlib ``Figure`` (assign it, or end the cell with ``;``,
            so a notebook draws it once).
        """
        import matplotlib.pyplot as plt

        if not len(self):
            raise ValueError("History.plot: nothing recorded yet; call cnnlib.train.fit first.")
        from cnnlib.viz.layout import COLUMN_WIDTH

        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.3), layout="constrained")
        epochs = self.epochs
        ax_loss.plot(epochs, self.train_loss, "o-", color="C0", label="training")
        ax_acc.plot(epochs, self.train_acc, "o-", color="C0", label="training")
        if self.val_loss:
            ax_loss.plot(epochs[:len(self.val_loss)], self.val_loss, "s--", color="C1", label="validation")
        if self.val_acc:
            ax_acc.plot(epochs[:len(self.val_acc)], self.val_acc, "s--", color="C1", label="validation")
        ax_loss.set(title="Loss", xlabel="epoch", ylabel="cross-entropy loss")
        ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(None, 1.02))
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            ax.legend()
            ax.xaxis.get_major_locator().set_params(integer=True)
        fig.suptitle(title)
        return fig
