"""The experiments' result files, shipped as package data: ``<experiment name>.json``.

Written by ``python -m attn_lessons.experiments run NAME`` (``make results`` writes them all) and
read with :func:`attn_lessons.experiments.load_results`; the format is described in
:mod:`attn_lessons.experiments`.
"""
