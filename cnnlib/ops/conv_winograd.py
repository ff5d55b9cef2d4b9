"""Winograd's minimal filtering F(2x2, 3x3) for 3x3, stride-1 convolutions.

The output is cut into 2x2 tiles; each needs a 4x4 tile ``d`` of the input.
For one channel pair, the tile's output is ::

    Y = A^T [ (G g G^T) * (B^T d B) ] A

where ``*`` is elementwise, ``g`` the 3x3 kernel and ``A``, ``B``, ``G``
small constant matrices. The elementwise product takes 16 multiplications for
4 outputs, against 4 x 9 = 36 for the direct method: 2.25x fewer. Summed over
input channels, the 16 elementwise products become 16 independent matrix
products ``(C_out, C_in) @ (C_in, tiles)``, so the work is three steps:

1. input transform ``V = B^T d B`` of every tile (additions only),
2. 16 batched matrix products with the transformed kernels ``U = G g G^T``,
3. output transform ``Y = A^T M A`` (additions only), tiles back into an image.

The transforms use only additions and subtractions, written here as slices
of the whole padded image (one operation per transform row for every tile at
once) rather than per-tile matrix products, which keeps the fixed cost low
for small layers. Lavin and Gray (2016) brought the method to CNNs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlib.ops._args import ConvArgs, ConvArgumentError

__all__ = ["conv_winograd", "winograd_kernel"]


def _why_not(args: ConvArgs) -> str | None:
    if args.nd != 2:
        return f"it is a 2-D method; this is conv{args.nd}d"
    if tuple(args.weight.shape[2:]) != (3, 3):
        return f"it needs a 3x3 kernel; got {tuple(args.weight.shape[2:])}"
    if args.stride != (1, 1):
        return f"it needs stride 1; got stride={args.stride}"
    if args.dilation != (1, 1):
        return f"it needs dilation 1; got dilation={args.dilation}"
    return None


def winograd_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The transformed kernels ``U = G g G^T``.

    Args:
        weight: ``(C_out, C_in / groups, 3, 3)``.

    Returns:
        ``(4, 4, C_out, C_in / groups)``: entry ``[a, b]`` is the matrix that
        multiplies the transformed input tiles' entry ``[a, b]``.
    """
    c_out, c_g = weight.shape[:2]
    G = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]],
                     dtype=weight.dtype, device=weight.device)
    u = G @ weight.reshape(-1, 3, 3) @ G.T  # (C_out C_g, 4, 4): two small products for every kernel at once
    return u.reshape(c_out, c_g, 4, 4).permute(2, 3, 0, 1)


def _input_transform(xp: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """``B^T d B`` of every 4x4 tile (stride 2) of ``xp`` ``(N, C, 2 th + 2, 2 tw + 2)``.

    Returns:
        ``(4, 4, N, C, th, tw)``.
    """
    r = [xp[:, :, k:k + 2 * th:2] for k in range(4)]  # rows 2t + k of every tile row t
    # B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    rows = [r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]]
    out = []
    for t in rows:
        c = [t[..., k:k + 2 * tw:2] for k in range(4)]
        out.append(torch.stack([c[0] - c[2], c[1] + c[2], c[2] - c[1], c[1] - c[3]]))
    return torch.stack(out)


def _output_transform(m: torch.Tensor) -> torch.Tensor:
    """``A^T M A`` of every tile, tiles laid back side by side.

    Args:
        m: ``(4, 4, N, C_out, th, tw)``.

    Returns:
        ``(N, C_out, 2 th, 2 tw)``.
    """
    # A^T = [[1, 1, 1, 0], [0, 1, -1, -1]] on rows, then on columns.
    s = m[0] + m[1] + m[2]
    t = m[1] - m[2] - m[3]
    y = torch.stack([torch.stack([s[0] + s[1] + s[2], s[1] - s[2] - s[3]]),
                     torch.stack([t[0] + t[1] + t[2], t[1] - t[2] - t[3]])])  # (2, 2, N, C, th, tw)
    n, c, th, tw = y.shape[2:]
    return y.permute(2, 3, 4, 0, 5, 1).reshape(n, c, 2 * th, 2 * tw)


def conv_winograd(args: ConvArgs) -> torch.Tensor:
    """Convolution by Winograd F(2x2, 3x3): transform tiles, 16 batched products, transform back.

    Args:
        args: checked arguments of a 2-D convolution with a 3x3 kernel,
            stride 1 and dilation 1 (any padding, bias and groups).

    Returns:
        ``(N, C_out, H_out, W_out)`` (batch axis dropped for unbatched input).

    Raises:
        ConvArgumentError: any other kernel size, stride, dilation or dimension.
    """
    reason = _why_not(args)
    if reason is not None:
        raise ConvArgumentError(
            f"conv{args.nd}d(method='winograd'): {reason}. Winograd F(2x2, 3x3) covers 3x3 kernels with "
            "stride 1 and dilation 1 only; use method='im2col' for this layer.")
    (ph0, ph1), (pw0, pw1) = args.padding
    n, c_in, h, w = args.x.shape
    c_out, c_g = args.weight.shape[:2]
    g = args.groups
    h_out, w_out = h + ph0 + ph1 - 2, w + pw0 + pw1 - 2
    th, tw = -(-h_out // 2), -(-w_out // 2)
    # One pad: the caller's zeros plus what completes the last tile row and column.
    xp = F.pad(args.x, (pw0, pw1 + 2 * tw - w_out, ph0, ph1 + 2 * th - h_out))
    v = _input_transform(xp, th, tw).reshape(16, n, g, c_g, th * tw)
    u = winograd_kernel(args.weight).reshape(16, 1, g, c_out // g, c_g)
    m = torch.matmul(u, v)  # (16, N, G, C_out / G, tiles)
    y = _output_transform(m.reshape(4, 4, n, c_out, th, tw))
    if 2 * th != h_out or 2 * tw != w_out:
        y = y[:, :, :h_out, :w_out]
    if args.bias is not None:
        y = y + args.bias.view(1, -1, 1, 1)
    return y[0] if args.unbatched else y
