"""What a network costs, measured from the network itself.

``count_macs(model, input_size)`` runs one forward pass under PyTorch's
``FlopCounterMode`` and halves its count (it counts 2 FLOPs per
multiply-add). ``profile(model, input_size)`` lists every layer with its
output shape, parameters, multiply-adds (from :func:`cnnlib.arith.conv_macs`
for convolutions, ``in * out`` per position for linear layers), and the
memory of its output; optionally the CPU latency of the whole forward pass.

Both work on the ``meta`` device, where tensors have shapes but no data: a
130-million-parameter VGG is then counted without allocating it::

    with torch.device("meta"):
        vgg = create_model("vgg16")
    count_macs(vgg, (3, 224, 224))      # 15,470,264,320
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnlib.arith import conv_macs

__all__ = ["LayerProfile", "ModelProfile", "count_macs", "profile"]


def _input(model: nn.Module, input_size, batch_size: int) -> torch.Tensor:
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"{type(model).__name__} has no input_size attribute; pass input_size=(C, H, W), "
                             "e.g. (3, 224, 224).")
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    return torch.zeros(batch_size, *(int(s) for s in input_size), device=device, dtype=dtype)


def count_macs(model: nn.Module, input_size: tuple[int, ...] | None = None, *, batch_size: int = 1) -> int:
    """Multiply-adds of one forward pass, counted by ``torch.utils.flop_counter.FlopCounterMode``.

    Convolutions, linear layers and matrix products count; additions of
    biases and shortcuts, normalisation, activations and pooling do not (the
    convention of the papers' "FLOPs" tables, which are multiply-adds).

    Args:
        model: any module; on the ``meta`` device it is counted without data.
        input_size: ``(C, H, W)`` of one input; defaults to ``model.input_size``.
        batch_size: images per pass.

    Returns:
        The number of multiply-adds (FLOPs / 2).
    """
    from torch.utils.flop_counter import FlopCounterMode

    x = _input(model, input_size, batch_size)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2


@dataclass(frozen=True)
class LayerProfile:
    """One leaf layer: its name, type, output shape ``(C, H, W)``, parameters, multiply-adds, output bytes."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int


@dataclass
class ModelProfile:
    """Per-layer rows and totals; ``print()`` it for a table."""

    rows: list[LayerProfile] = field(default_factory=list)
    total_params: int = 0
    latency_ms: float | None = None

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        """Memory of all layer outputs of one forward pass (what training keeps for the backward pass)."""
        return sum(r.activation_bytes for r in self.rows)

    def __str__(self) -> str:
        lines = [f"{'layer':32s} {'type':18s} {'output':>18s} {'params':>12s} {'MACs':>15s}"]
        for r in self.rows:
            lines.append(f"{r.name[:32]:32s} {r.kind[:18]:18s} {'x'.join(map(str, r.output_shape)):>18s} "
                         f"{r.params:>12,} {r.macs:>15,}")
        lines.append(f"total: {self.total_params:,} parameters, {self.total_macs:,} multiply-adds, "
                     f"{self.activation_bytes / 2**20:.1f} MiB of activations")
        if self.latency_ms is not None:
            lines.append(f"CPU latency: {self.latency_ms:.1f} ms per forward pass (median)")
        return "\n".join(lines)


def _layer_macs(module: nn.Module, inputs, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        c_in, c_out = module.in_channels, module.out_channels
        return output.shape[0] * conv_macs(c_in, c_out, module.kernel_size, tuple(output.shape[2:]), module.groups)
    if isinstance(module, nn.Linear):
        return output.numel() // module.out_features * module.in_features * module.out_features
    return 0


def profile(model: nn.Module, input_size: tuple[int, ...] | None = None, *, batch_size: int = 1,
            latency: bool = False, repeats: int = 5) -> ModelProfile:
    """Per-layer output shapes, parameters, multiply-adds and activation memory of one forward pass.

    Args:
        model: any module (on ``meta`` unless ``latency=True``).
        input_size: ``(C, H, W)`` of one input; defaults to ``model.input_size``.
        batch_size: images per pass (shapes, MACs and memory scale with it).
        latency: also time the forward pass on its device (one warm-up pass,
            then the median of ``repeats``; noisy on a shared machine).
        repeats: timed passes.

    Returns:
        a :class:`ModelProfile`; ``rows`` holds one :class:`LayerProfile` per
        leaf module in call order (a module called twice appears twice).
    """
    x = _input(model, input_size, batch_size)
    result = ModelProfile(total_params=sum(p.numel() for p in model.parameters()))
    names = {m: n for n, m in model.named_modules()}

    def record(module, inputs, output):
        if not isinstance(output, torch.Tensor):
            return
        # in-place layers, views and pass-throughs hold no new memory
        shares = getattr(module, "inplace", False) or isinstance(module, (nn.Flatten, nn.Identity))
        result.rows.append(LayerProfile(
            names.get(module, type(module).__name__), type(module).__name__, tuple(output.shape[1:]),
            sum(p.numel() for p in module.parameters(recurse=False)), _layer_macs(module, inputs, output),
            0 if shares else output.numel() * output.element_size()))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    # parameters held by a non-leaf module (ConvNeXt's layer_scale) belong to no row; the total counts them
    if latency:
        result.latency_ms = _latency_ms(model, x, repeats)
    return result


def _latency_ms(model: nn.Module, x: torch.Tensor, repeats: int) -> float:
    if x.device.type == "meta":
        raise ValueError("profile(latency=True) needs a model with real weights, not one on the meta device.")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)  # the first call of a shape is slower
            times = []
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - start) * 1000)
    finally:
        model.train(was_training)
    return statistics.median(times)
