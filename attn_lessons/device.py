"""Where the book's code runs, and how it is made repeatable.

Every notebook starts with::

    device = get_device()
    seed_everything(0)

so the same cells run on a CUDA GPU (Colab), an Apple GPU (MPS) or the CPU (Binder, CI), and give
the same numbers on the same machine every time.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from ._validation import check_bool, check_seed

#: Environment variable that forces a device ("cpu", "cuda", "mps"), e.g. to run a notebook on
#: the CPU on a machine that has a GPU.
DEVICE_ENV_VAR = "ATTN_LESSONS_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then the CPU.

    ``prefer`` (or the environment variable ``ATTN_LESSONS_DEVICE``) names a device to use
    instead; asking for one that is not available is an error rather than a silent fallback.
    """
    from_env = prefer is None and bool(os.environ.get(DEVICE_ENV_VAR))
    if from_env:
        prefer = os.environ[DEVICE_ENV_VAR]
    if prefer is not None:
        if isinstance(prefer, torch.device):
            prefer = str(prefer)
        if not isinstance(prefer, str):
            raise TypeError(f"prefer must be a device name such as 'cpu', got {prefer!r}")
        kind = prefer.split(":")[0]
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": _mps_available()}
        origin = (f" (set by the environment variable {DEVICE_ENV_VAR}={prefer}: change or "
                  f"unset it to let get_device() choose)" if from_env else "")
        if kind not in available:
            raise ValueError(f"unknown device {prefer!r}; expected one of "
                             f"{sorted(available)}{origin}")
        if not available[kind]:
            raise ValueError(f"device {prefer!r} was asked for but is not available here{origin}")
        try:
            return torch.device(prefer)
        except RuntimeError as exc:  # e.g. "cuda:x": a known kind, a malformed index
            raise ValueError(f"{prefer!r} is not a device name such as 'cpu' or 'cuda:0' "
                             f"({exc}){origin}") from None
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and PyTorch's (CPU and CUDA) random number generators.

    With ``deterministic=True`` PyTorch also picks deterministic kernels where it has them
    (slower on a GPU; the CPU is deterministic already). Returns a CPU ``torch.Generator``
    seeded with ``seed``, for code that prefers an explicit generator.
    """
    seed = check_seed("seed", seed)
    deterministic = check_bool("deterministic", deterministic)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - code that uses the global RNG is seeded too
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def describe_device(device: torch.device) -> str:
    """One line naming the device (a ``torch.device`` or a name such as ``"cpu"``)."""
    if isinstance(device, str):
        device = torch.device(device)
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device or a device name such as 'cpu', got "
                        f"{device!r}")
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple GPU)"
    return f"cpu ({torch.get_num_threads()} threads)"
