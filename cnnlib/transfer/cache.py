"""Compute a frozen backbone's features once and reuse them.

A frozen backbone (batch norm pinned in eval mode, see :func:`freeze`) is a
fixed function of its input, so its pre-logits for a dataset can be computed
once; training the head on them takes seconds. The cache key is a SHA-256
of everything the features depend on:

* the model: its family, its weights' name and file, and a fingerprint of
  the backbone's parameters and buffers (so fine-tuned weights never hit
  features of the original ones);
* the input size and the normalisation;
* the data: the bytes, shape and dtype of the image tensor.

Change any of them and the lookup misses (the old entry is left alone).
Entries live in memory, and on disk too when ``root`` is given
(``FeatureCache.on_disk()`` uses ``cnnlib.data``'s cache folder)::

    cache = FeatureCache()
    train_f = cache.features(model, train_images, size=64)   # computed: a miss
    train_f = cache.features(model, train_images, size=64)   # reused: a hit
    cache.hits, cache.misses                                  # (1, 1)
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from cnnlib.transfer.preprocess import preprocess
from cnnlib.transfer.split import forward_features, forward_head, num_features, stage_modules, stage_names

__all__ = ["FeatureCache", "extract_features", "feature_key"]

_VERSION = "1"  # bump when the way features are computed changes


def _hash_tensor(h, t: torch.Tensor) -> None:
    h.update(f"{tuple(t.shape)}".encode())
    t = t.detach().cpu().contiguous().reshape(-1)
    h.update(f"{t.dtype}".encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")


def feature_key(model: nn.Module, images: torch.Tensor, *, size: int, grayscale: str = "error") -> str:
    """The cache key of ``model``'s pre-logits for ``images`` at ``size`` (a hex SHA-256)."""
    weights = getattr(model, "weights", None)
    h = hashlib.sha256(_VERSION.encode())
    h.update(type(model).__name__.encode())
    if weights is not None:
        h.update(f"{weights.model}|{weights.name}|{weights.file}|{weights.mean}|{weights.std}".encode())
    for stage in stage_names(model)[:-1]:  # the backbone, neck included; never the head
        for module in stage_modules(model, stage):
            for name, tensor in sorted(module.state_dict().items()):
                h.update(name.encode())
                _hash_tensor(h, tensor)
    h.update(f"|size={size}|gray={grayscale}|".encode())
    _hash_tensor(h, images)
    return h.hexdigest()


def extract_features(model: nn.Module, images: torch.Tensor, *, size: int | None = None, batch_size: int = 128,
                     grayscale: str = "error") -> torch.Tensor:
    """Pre-logits ``(N, num_features)`` of ``images`` (``(N, C, H, W)`` in ``[0, 1]``), in eval mode.

    Preprocessing comes from ``model.weights`` (see :func:`preprocess`); the
    model's mode is restored afterwards.
    """
    weights = getattr(model, "weights", None)
    if weights is None:
        raise ValueError("extract_features: the model carries no weights description (model.weights); build it "
                         "with create_model(name, weights='DEFAULT') or cnnlib.transfer.pretrained_backbone.")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = preprocess(images[start:start + batch_size], weights, size=size, grayscale=grayscale)
                out.append(forward_head(model, forward_features(model, x.to(device)), pre_logits=True).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, num_features(model))


class FeatureCache:
    """Pre-logits keyed by model, weights, input size and data; in memory, optionally on disk.

    Args:
        root: a folder for ``.pt`` files, or ``None`` for memory only.

    Attributes:
        hits, misses: lookups answered from the cache and computed.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else None
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def on_disk(cls) -> "FeatureCache":
        """A cache under ``cnnlib.data``'s folder (``$CNNLIB_DATA/features`` or ``~/.cache/cnnlib/features``)."""
        from cnnlib.data._paths import cache_dir

        return cls(cache_dir("features"))

    def __len__(self) -> int:
        return len(self._memory)

    def _path(self, key: str) -> Path | None:
        return self.root / f"{key}.pt" if self.root is not None else None

    def features(self, model: nn.Module, images: torch.Tensor, *, size: int | None = None, batch_size: int = 128,
                 grayscale: str = "error") -> torch.Tensor:
        """:func:`extract_features`, computed once per key."""
        size = size or getattr(getattr(model, "weights", None), "crop_size", 224)
        key = feature_key(model, images, size=size, grayscale=grayscale)
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        path = self._path(key)
        if path is not None and path.is_file():
            self.hits += 1
            self._memory[key] = torch.load(path, map_location="cpu", weights_only=True)
            return self._memory[key]
        self.misses += 1
        feats = extract_features(model, images, size=size, batch_size=batch_size, grayscale=grayscale)
        self._memory[key] = feats
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            torch.save(feats, tmp)
            tmp.replace(path)
        return feats

    def clear(self) -> None:
        """Forget the entries in memory (files on disk stay)."""
        self._memory.clear()
