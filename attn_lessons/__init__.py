"""attn_lessons: the companion library of the book *Attention, Derived*."""

from .device import describe_device, get_device, seed_everything

__version__ = "0.1.0"

__all__ = ["__version__", "describe_device", "get_device", "seed_everything"]
