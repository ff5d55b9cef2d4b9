"""Class activation maps (Zhou et al., 2016): for networks that end in global average pooling and one linear layer."""
from __future__ import annotations

import torch
from torch import nn

from cnnlib.errors import CnnlibError
from cnnlib.explain._common import Target, check_images, targets
from cnnlib.explain._hooks import explaining

__all__ = ["CAMNotApplicableError", "cam"]


class CAMNotApplicableError(CnnlibError, ValueError):
    """The network's logits are not one linear layer applied to the global average of the layer's features."""


def _fail(why: str) -> CAMNotApplicableError:
    return CAMNotApplicableError(
        f"cam: {why} CAM needs a network whose logits are one linear layer applied to the global average "
        "pooling of the chosen layer's feature maps (as in GoogLeNet, ResNet, MobileNetV2). Use "
        "cnnlib.explain.grad_cam, which works with any convolutional layer of any network.")


@torch.no_grad()
def cam(model: nn.Module, images: torch.Tensor, target: Target, *, layer: nn.Module,
        classifier: nn.Linear | None = None, rtol: float = 1e-4) -> torch.Tensor:
    """The class activation map ``M_c = sum_k w_ck A_k`` of the layer feeding the pooling.

    The structure is checked on the images themselves: the classifier's input
    must equal the spatial mean of ``layer``'s output, and its output must be
    the model's logits. Then ``mean(M_c) + b_c`` is the target logit.

    Args:
        model: the network (run in eval mode; its mode is restored).
        images: ``(N, C, H, W)`` inputs, normalised as the model expects.
        target: one class index for all images, or one per image.
        layer: the module whose ``(N, K, h, w)`` output is pooled (e.g. ``model.features[-1]``).
        classifier: the final ``nn.Linear`` (default: the model's last ``nn.Linear``).
        rtol: relative tolerance of the structure checks.

    Returns:
        ``(N, h, w)``, signed (CAM has no ReLU).

    Raises:
        CAMNotApplicableError: the network does not end in global average
            pooling and one linear layer after ``layer``; the message says which part failed.
    """
    x = check_images(images, "cam")
    if classifier is None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise _fail("the network has no nn.Linear layer.")
        classifier = linears[-1]
    seen: dict[str, torch.Tensor] = {}
    hook = classifier.register_forward_hook(lambda m, inp, out: seen.update(z=inp[0], y=out))
    try:
        with explaining(model, record=[layer]) as rec:
            logits = model(x)
            acts = rec[layer]
    finally:
        hook.remove()
    if acts.ndim != 4:
        raise _fail(f"the layer's output has shape {tuple(acts.shape)}, not (N, K, h, w).")
    if "z" not in seen:
        raise _fail("the classifier did not run in the forward pass.")
    pooled = acts.mean(dim=(2, 3))
    z = seen["z"]
    scale = pooled.abs().max().clamp_min(1e-12)
    if z.shape != pooled.shape or not torch.allclose(z, pooled, rtol=rtol, atol=rtol * scale):
        raise _fail(f"the input of the last linear layer {tuple(z.shape)} is not the global average of the "
                    f"layer's {tuple(acts.shape)} feature maps (there are other layers, or a flatten "
                    "without pooling, between them).")
    if seen["y"].shape != logits.shape or not torch.allclose(seen["y"], logits, rtol=rtol, atol=rtol * logits.abs().max()):
        raise _fail("the last linear layer's output is not the network's output (more layers follow it).")
    t = targets(target, x.shape[0], logits.shape[1], "cam")
    w = classifier.weight[t]  # (N, K)
    return torch.einsum("nk,nkhw->nhw", w, acts).clone()
