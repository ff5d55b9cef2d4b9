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

The transforms need only additions and subtractions; here each is one matrix
product with a constant 16x16 (or 4x16) matrix over every tile at once, so a
call is about ten tensor operations whatever the layer, which keeps the fixed
cost low for small layers. Lavin and Gray (2016) brought the method to CNNs.
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


_BT = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
_G = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
_AT = [[1, 1, 1, 0], [0, 1, -1, -1]]
_CONSTANTS: dict = {}


def _transforms(dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``B^T (x) B^T`` (16x16), ``G (x) G`` (16x9) and ``A^T (x) A^T`` (4x16), cached per dtype and device.

    A 2-D transform ``M^T d M`` of a tile is one matrix product with the
    Kronecker product ``M^T (x) M^T`` on the tile flattened row by row; one
    product for every tile at once keeps the number of operations, and so
    the fixed cost per call, small.
    """
    key = (dtype, device)
    if key not in _CONSTANTS:
        bt, g, at = (torch.tensor(m, dtype=torch.float64) for m in (_BT, _G, _AT))
        _CONSTANTS[key] = tuple(torch.kron(m, m).to(dtype=dtype, device=device) for m in (bt, g, at))
    return _CONSTANTS[key]


def winograd_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The transformed kernels ``U = G g G^T``.

    Args:
        weight: ``(C_out, C_in / groups, 3, 3)``.

    Returns:
        ``(4, 4, C_out, C_in / groups)``: entry ``[a, b]`` is the matrix that
        multiplies the transformed input tiles' entry ``[a, b]``.
    """
    c_out, c_g = weight.shape[:2]
    gg = _transforms(weight.dtype, weight.device)[1]
    return (gg @ weight.reshape(c_out * c_g, 9).T).reshape(4, 4, c_out, c_g)


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
    bb, _, aa = _transforms(args.x.dtype, args.x.device)
    # One pad: the caller's zeros plus what completes the last tile row and column.
    xp = F.pad(args.x, (pw0, pw1 + 2 * tw - w_out, ph0, ph1 + 2 * th - h_out))
    # Every 4x4 tile (stride 2) as a column, channel-major: (16, C_in N tiles), one copy.
    tiles = xp.unfold(2, 4, 2).unfold(3, 4, 2).permute(4, 5, 1, 0, 2, 3).reshape(16, -1)
    v = (bb @ tiles).view(16 * g, c_g, n * th * tw)  # B^T d B of every tile
    u = winograd_kernel(args.weight).reshape(16 * g, c_out // g, c_g)
    m = torch.bmm(u, v)  # the 16 (times groups) products: (16 G, C_out / G, N tiles)
    y = (aa @ m.view(16, -1)).view(2, 2, c_out, n, th, tw)  # A^T M A of every tile
    y = y.permute(3, 2, 4, 0, 5, 1).reshape(n, c_out, 2 * th, 2 * tw)
    if 2 * th != h_out or 2 * tw != w_out:
        y = y[:, :, :h_out, :w_out]
    if args.bias is not None:
        y = y + args.bias.view(1, -1, 1, 1)
    return y[0] if args.unbatched else y
