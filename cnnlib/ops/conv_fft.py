"""Convolution through the Fourier transform.

The convolution theorem turns a convolution into a product of spectra; for
cross-correlation with a real kernel the kernel's spectrum is conjugated::

    corr(x, k) = IFFT( FFT(x) * conj(FFT(k)) )

computed here on the padded input with a transform as large as the input
(circular correlation; the valid positions never wrap around). The sum over
input channels happens in frequency space as one complex matrix product per
frequency, ``(N, C_in) @ (C_in, C_out)``.

Cost: the transforms take ``O(C H W log(H W))`` whatever the kernel size,
so FFT wins when kernels are large (the direct methods do ``K^2`` work per
output); for 3x3 kernels the transforms and complex arithmetic cost more
than they save. Stride is applied by computing every position and keeping
every S-th one (wasteful, and honest about it); dilation by spreading the
kernel's taps out with zeros before the transform.
"""
from __future__ import annotations

import torch

from cnnlib.ops._args import ConvArgs, pad_input

__all__ = ["conv_fft", "fft_size"]


def fft_size(n: int) -> int:
    """Smallest integer >= ``n`` whose only prime factors are 2, 3 and 5.

    FFT libraries are fastest on such sizes; padding with zeros up to one
    changes nothing in the valid part of a circular correlation.
    """
    m = max(n, 1)
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def conv_fft(args: ConvArgs) -> torch.Tensor:
    """Convolution by FFT: transform, multiply spectra, sum channels, transform back.

    Args:
        args: checked arguments from :func:`cnnlib.ops._args.parse_conv_args`.

    Returns:
        ``(N, C_out, *output_size)`` (batch axis dropped for unbatched input).
    """
    xp = pad_input(args)
    nd = args.nd
    n, c_in = xp.shape[:2]
    g = args.groups
    c_out = args.weight.shape[0]
    dims = tuple(range(2, 2 + nd))
    sizes = tuple(fft_size(s) for s in xp.shape[2:])

    w = args.weight
    if any(d > 1 for d in args.dilation):
        # Dilated kernel: the taps D apart, zeros in between.
        wd = w.new_zeros(w.shape[:2] + args.extent)
        wd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in args.dilation)] = w
        w = wd

    if n == 0:  # FFT libraries reject empty batches
        y = xp.new_zeros((0, c_out) + args.output_size) + args.weight.sum() * 0
        return args.finish(y)

    xf = torch.fft.rfftn(xp, s=sizes, dim=dims)  # (N, C_in, *freq)
    wf = torch.fft.rfftn(w, s=sizes, dim=dims).conj()  # (C_out, C_in/G, *freq)
    freq = xf.shape[2:]
    # Per group and frequency: (N, C_in/G) @ (C_in/G, C_out/G), as one batched product
    # over G * F small matrices (contiguous, so bmm hands them to BLAS in one call).
    nf = xf[0, 0].numel()
    xf = xf.reshape(n, g, c_in // g, nf).permute(1, 3, 0, 2).contiguous().view(g * nf, n, c_in // g)
    wf = wf.reshape(g, c_out // g, c_in // g, nf).permute(0, 3, 2, 1).contiguous().view(g * nf, c_in // g, c_out // g)
    yf = torch.bmm(xf, wf)  # (G * F, N, C_out/G)
    yf = yf.view(g, nf, n, c_out // g).permute(2, 0, 3, 1).reshape((n, c_out) + freq)
    y = torch.fft.irfftn(yf, s=sizes, dim=dims)

    # Keep the valid positions, every S-th.
    keep = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(args.output_size, args.stride))
    y = y[(slice(None), slice(None)) + keep]
    if args.bias is not None:
        y = y + args.bias.view((1, c_out) + (1,) * nd)
    return args.finish(y)
