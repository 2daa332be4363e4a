"""
Figures for the notebooks (not kernel code).

This subpackage has no kernel counterpart: it only writes the figures that the notebooks
draw, byte-stably, into ``<repo>/figures/``. It needs matplotlib, which comes with the
``notebooks`` extra (``pip install -e ".[notebooks]"``); the model package itself stays
pure stdlib and never imports it.
"""

from mrelease_ref.viz.figures import repo_root, save

__all__ = ["repo_root", "save"]
