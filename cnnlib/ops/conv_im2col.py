"""Convolution as one matrix product: im2col ("image to columns") + matmul.

Every window the kernel visits is laid out as one column of a matrix
``cols`` of shape ``(C_in * K, L)``, where ``K`` is the number of kernel taps
and ``L`` the number of output positions. The filters, flattened to rows
``(C_out, C_in * K)``, then meet every window in a single matrix product::

    Y = W_flat @ cols          # (C_out, C_in*K) @ (C_in*K, L) -> (C_out, L)

and a reshape turns ``L`` back into the output's spatial axes. A matrix
product is what BLAS libraries make fast, which is why this is the classic
way (Caffe, early cuDNN) to run convolutions.

The windows are cut out by :meth:`torch.Tensor.as_strided`: a *view* whose
strides step through the padded input's memory window by window, so no
data moves until one copy lays the overlapping windows out as ``cols``.
(``torch.nn.functional.unfold`` builds the same matrix; it is used only in
the tests, as the reference for :func:`im2col`.) With groups the channels
are split into ``G`` blocks and one batched matrix product (``bmm``)
multiplies each block by its own filters.

What makes it fast on a CPU (see the benchmark appendix): the whole batch
goes into the columns, so there is one large matrix product instead of
``N`` small ones; the bias is added inside that product (``baddbmm``); the
output is returned as a view in the product's memory order rather than
copied; and when no gradient is needed, ``cols`` is written into a buffer
kept between calls instead of freshly allocated memory.
"""
from __future__ import annotations

import math
import threading

import torch

from cnnlib.ops._args import ConvArgs, IntOrTuple, as_tuple, pad_input, parse_conv_args
from cnnlib.ops._geometry import output_length

__all__ = ["clear_workspace", "conv_im2col", "im2col", "window_view"]


def window_view(
    xp: torch.Tensor,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> torch.Tensor:
    """All kernel windows of an (already padded) input, as a strided view.

    ``view[n, c, t_1..t_nd, p_1..p_nd] = xp[n, c, p_1*S_1 + t_1*D_1, ...]``:
    the kernel-tap axes come first so that, per channel, the taps and the
    positions flatten into the rows and columns of ``cols``.

    Args:
        xp: ``(N, C, *spatial)``, any strides.
        kernel_size: taps per spatial axis.
        stride: window step per axis.
        dilation: tap spacing per axis.

    Returns:
        A view ``(N, C, *kernel_size, *output_size)`` sharing ``xp``'s memory.
    """
    spatial = xp.shape[2:]
    out = tuple(output_length(size, k, s, 0, d) for size, k, s, d in zip(spatial, kernel_size, stride, dilation))
    sn, sc, *ss = xp.stride()
    tap_strides = tuple(d * st for d, st in zip(dilation, ss))
    pos_strides = tuple(s * st for s, st in zip(stride, ss))
    return xp.as_strided(
        (xp.shape[0], xp.shape[1]) + tuple(kernel_size) + out,
        (sn, sc) + tap_strides + pos_strides,
        xp.storage_offset(),
    )


def im2col(
    x: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """The im2col matrix of a batch: one column per output position.

    Same result as :func:`torch.nn.functional.unfold` for 2-D input, and
    works for 1-D and 3-D input too.

    Args:
        x: ``(N, C, *spatial)`` with 1, 2 or 3 spatial axes.
        kernel_size: int or one per spatial axis.
        stride: int or one per spatial axis.
        padding: zeros on both sides, int or one per spatial axis.
        dilation: int or one per spatial axis.

    Returns:
        ``(N, C * prod(kernel_size), L)``, rows ordered channel-major
        (``c * K + tap``), ``L = prod(output_size)``.
    """
    if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4, 5):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"im2col expects a tensor (N, C, *spatial) with 1 to 3 spatial axes; got {shape}.")
    nd = x.dim() - 2
    k = as_tuple(kernel_size, nd, "kernel_size", minimum=1)
    weight = x.new_empty((1, x.shape[1]) + k)  # only its shape is used, for the checks
    args = parse_conv_args(x, weight, None, stride, padding, dilation, 1, nd=nd, name="im2col")
    view = window_view(pad_input(args), k, args.stride, args.dilation)
    n, c = x.shape[:2]
    return view.reshape(n, c * math.prod(k), -1)


class _Workspace(threading.local):
    """A reusable buffer for ``cols``, one per thread.

    ``cols`` is the largest tensor of the method (``K`` times the input).
    A fresh allocation of that size costs the operating system one page
    fault per 4 KiB on first touch, which on a CPU can take longer than
    filling it; reusing one buffer, as cuDNN and oneDNN reuse their
    workspaces, pays that once. Only used when no gradient is needed (with
    autograd, ``cols`` must outlive the call for the backward pass).
    """

    max_bytes = 256 * 2**20  # larger requests get a fresh tensor, not cached

    def __init__(self) -> None:
        self.buffers: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    def get(self, numel: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        key = (dtype, device)
        buf = self.buffers.get(key)
        if buf is None or buf.numel() < numel:
            buf = torch.empty(numel, dtype=dtype, device=device)
            if numel * buf.element_size() <= self.max_bytes:
                self.buffers[key] = buf
        return buf[:numel]

    def clear(self) -> None:
        self.buffers.clear()


_WORKSPACE = _Workspace()


def clear_workspace() -> None:
    """Free the buffer the im2col method keeps between calls (this thread's)."""
    _WORKSPACE.clear()


def conv_im2col(args: ConvArgs) -> torch.Tensor:
    """Convolution as im2col + one matrix product per group.

    The batch goes into the columns too, so the whole batch is one GEMM per
    group (a large product runs faster than ``N`` small ones)::

        cols: (G, C_in/G * K, N * L)      weight: (G, C_out/G, C_in/G * K)
        Y = bias + weight @ cols:  (G, C_out/G, N * L)

    Args:
        args: checked arguments from :func:`cnnlib.ops._args.parse_conv_args`.

    Returns:
        ``(N, C_out, *output_size)`` (batch axis dropped for unbatched input).
        The result is not contiguous: in memory the channel axis comes before
        the batch axis (``.contiguous()`` reorders it if needed).
    """
    xp = pad_input(args)
    nd = args.nd
    n, c_in = xp.shape[:2]
    g = args.groups
    c_out = args.weight.shape[0]
    k = args.kernel_size
    out = args.output_size
    rows = (c_in // g) * math.prod(k)  # C_in/G * K
    columns = n * math.prod(out)  # N * L
    view = window_view(xp, k, args.stride, args.dilation)  # (N, C_in, *k, *out)
    # Reorder to (G, C_in/G, *k, N, *out): rows first, then the columns (batch and positions).
    view = view.reshape((n, g, c_in // g) + k + out)
    taps = tuple(range(3, 3 + nd))
    view = view.permute((1, 2) + taps + (0,) + tuple(range(3 + nd, 3 + 2 * nd)))
    tensors = (xp, args.weight) + ((args.bias,) if args.bias is not None else ())
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    if needs_grad:
        cols = view.reshape(g, rows, columns)  # a fresh copy that autograd keeps for backward
    else:
        buf = _WORKSPACE.get(view.numel(), xp.dtype, xp.device).view(view.shape)
        buf.copy_(view)
        cols = buf.view(g, rows, columns)
    w = args.weight.reshape(g, c_out // g, rows)
    if args.bias is not None:
        y = torch.baddbmm(args.bias.view(g, c_out // g, 1), w, cols)
    else:
        y = torch.bmm(w, cols)
    # (G, C_out/G, N * L) -> (C_out, N, *out) -> (N, C_out, *out), a view.
    y = y.view((c_out, n) + out).transpose(0, 1)
    return args.finish(y)
