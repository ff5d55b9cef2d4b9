"""What this machine has: versions, the compute device, data and weights.

``cnnlib.env.report()`` prints it; ``cnnlib.env.collect()`` returns it as a
dict. Nothing here touches the network: for data not on the machine it says
whether a download would be attempted.
"""
from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass

import torch

__all__ = ["collect", "in_colab", "report"]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


@dataclass(frozen=True)
class _Line:
    label: str
    value: str


def _device_lines() -> list[_Line]:
    from cnnlib.runtime import device

    chosen = device()
    if chosen.type == "cuda":
        props = torch.cuda.get_device_properties(0)
        detail = f"CUDA: {props.name}, {props.total_memory / 2**30:.0f} GiB (CUDA {torch.version.cuda})"
    elif chosen.type == "mps":
        detail = "Apple MPS (Metal)"
    else:
        detail = f"CPU only, {torch.get_num_threads()} threads"
        if in_colab():
            detail += " (for a GPU: Runtime > Change runtime type > GPU)"
    return [_Line("device", f"{chosen} - {detail}")]


def _data_lines() -> list[_Line]:
    from cnnlib.data._paths import downloads_allowed
    from cnnlib.data.fashion_mnist import find_fashion_mnist
    from cnnlib.data.images import SAMPLE_IMAGES
    from cnnlib.data.pretrained import find_mobilenet_v2_weights

    online = "will download on first use" if downloads_allowed(None) else "downloads switched off"
    lines = [_Line("digits", "scikit-learn load_digits, 1,797 images (bundled)")]
    sources = sorted({s.source for s in SAMPLE_IMAGES.values()})
    lines.append(_Line("photos", f"{len(SAMPLE_IMAGES)} bundled photos from {', '.join(sources)}"))
    fashion = find_fashion_mnist()
    lines.append(_Line("fashion-mnist", f"found in {fashion}" if fashion else f"not found here; {online}"))
    weights = find_mobilenet_v2_weights()
    lines.append(_Line("mobilenet_v2", f"ImageNet weights at {weights}" if weights else f"not found here; {online}"))
    return lines


def collect() -> dict[str, str]:
    """Everything :func:`report` prints, as ``{label: value}``."""
    import cnnlib
    import torchvision

    lines = [
        _Line("cnnlib", cnnlib.__version__),
        _Line("python", f"{platform.python_version()} ({platform.system()} {platform.machine()})"),
        _Line("torch", torch.__version__),
        _Line("torchvision", torchvision.__version__),
        _Line("running in", "Google Colab" if in_colab() else "a local Python"),
        *_device_lines(),
        *_data_lines(),
    ]
    return {line.label: line.value for line in lines}


def report() -> None:
    """Print a short, readable report of this environment."""
    info = collect()
    width = max(map(len, info))
    print("cnnlib environment report")
    for label, value in info.items():
        print(f"  {label:<{width}}  {value}")
