"""Convolution straight from its definition: a Python loop over output positions.

For every output position ``p`` (a tuple of spatial indices) the window of
the padded input that the kernel covers is cut out, and each filter takes
its dot product with it::

    Y[n, o, p] = b[o] + sum_{c, t} X_pad[n, g(o) * C_g + c, p * S + t * D] * W[o, c, t]

where ``t`` runs over the kernel taps, ``g(o)`` is the group of output
channel ``o`` and ``C_g = C_in / groups``. The batch and the channels are
vectorised; only the positions are looped over, so the cost in Python
calls grows with the output's area. Slow, but each line is the formula.
"""
from __future__ import annotations

import itertools

import torch

from cnnlib.ops._args import ConvArgs, pad_input

__all__ = ["conv_loops"]


def conv_loops(args: ConvArgs) -> torch.Tensor:
    """Direct convolution by looping over output positions.

    Args:
        args: checked arguments from :func:`cnnlib.ops._args.parse_conv_args`.

    Returns:
        ``(N, C_out, *output_size)`` (batch axis dropped for unbatched input).
    """
    xp = pad_input(args)
    n = xp.shape[0]
    g = args.groups
    c_out = args.weight.shape[0]
    # Filters grouped and flattened: (G, C_out / G, C_in / G * kernel taps).
    group_len = args.weight[0].numel()  # C_in / G * taps
    w = args.weight.reshape(g, c_out // g, group_len)
    y = xp.new_zeros((n, g, c_out // g) + args.output_size)
    for pos in itertools.product(*(range(size) for size in args.output_size)):
        # Window under the kernel at this position: start at p * S, step D.
        window = xp[(slice(None), slice(None)) + tuple(
            slice(p * s, p * s + e, d)
            for p, s, e, d in zip(pos, args.stride, args.extent, args.dilation)
        )]
        patch = window.reshape(n, g, group_len)
        # Dot product of the patch with every filter of its group.
        y[(slice(None), slice(None), slice(None)) + pos] = torch.einsum("ngk,gok->ngo", patch, w)
    y = y.reshape((n, c_out) + args.output_size)
    if args.bias is not None:
        y = y + args.bias.view((1, c_out) + (1,) * args.nd)
    return args.finish(y)
