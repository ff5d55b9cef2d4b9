"""What this machine has: versions, the compute device, data and weights.

``cnnlib.env.report()`` prints it; ``cnnlib.env.collect()`` returns it as a
dict. Nothing here touches the network: for data not on the machine it says
whether a download would be attempted. Paths are shown without the parts
that only describe one machine (see :func:`display_path`), so the report
reads the same in the published book as on a reader's laptop.
"""
from __future__ import annotations

import os
import platform
import site
import sys
import sysconfig
import textwrap
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["collect", "display_path", "in_colab", "report"]


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _package_dirs() -> list[Path]:
    dirs = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    dirs.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    dirs.add(site.getusersitepackages())
    return sorted((Path(d) for d in dirs), key=lambda d: -len(d.parts))


def display_path(path: str | os.PathLike) -> str:
    """``path`` as the report shows it, without what only names this machine.

    A file inside an installed Python package is shown by its name and the
    package's (``weights.pth in the package some_package``); a path
    under the current folder relative to it (``./data``); one under the home
    folder from ``~``. Anything else, such as the system-wide
    ``/usr/share/datasets``, is the same on every machine and is kept.

    Args:
        path: a file or folder.

    Returns:
        The path to print.
    """
    path = Path(path).expanduser().absolute()
    for packages in _package_dirs():
        if path.is_relative_to(packages) and path != packages:
            top = path.relative_to(packages).parts[0]
            return f"the package {top}" if path.name == top else f"{path.name} in the package {top}"
    cwd, home = Path.cwd(), Path.home()
    if path.is_relative_to(cwd):
        return f"./{path.relative_to(cwd).as_posix()}"
    if home != Path("/") and path.is_relative_to(home):
        return f"~/{path.relative_to(home).as_posix()}"
    return path.as_posix()


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
    lines.append(_Line("fashion-mnist", f"found in {display_path(fashion)}" if fashion else f"not found here; {online}"))
    weights = find_mobilenet_v2_weights()
    lines.append(_Line("mobilenet_v2", f"ImageNet weights: {display_path(weights)}" if weights else f"not found here; {online}"))
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


def report(columns: int = 76) -> None:
    """Print a short, readable report of this environment.

    Args:
        columns: the widest line to print; longer values wrap onto the next
            line under themselves.
    """
    info = collect()
    width = max(map(len, info))
    indent = " " * (width + 4)
    print("cnnlib environment report")
    for label, value in info.items():
        lines = textwrap.wrap(value, max(columns - len(indent), 20), break_on_hyphens=False) or [""]
        print(f"  {label:<{width}}  {lines[0]}")
        for line in lines[1:]:
            print(indent + line)
