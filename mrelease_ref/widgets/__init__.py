"""ipywidgets panels for the notebooks (not kernel code).

Each panel maps widget traits to a package function and writes the result into output
traits (an ``HTML`` summary and an ``Image``), never into an ``Output`` widget: strict
nbval does not emulate Output widgets (a callback's prints would reach it as unexpected
stdout), and trait updates can be checked without a kernel or a browser by setting
``.value`` and reading the result trait. ``continuous_update=False`` on every slider makes
a drag or a key press one model run.

Modules: :mod:`.lmkd` (notebook 06: the LMKD scenario), :mod:`.reap` (notebooks 01-03:
one kill-and-reap per knob setting).

Limitations:
- A panel re-runs the model on the kernel's thread: while it runs, the notebook is busy.
- Needs ipywidgets and matplotlib (the ``notebooks`` extra); the model stays stdlib.
"""
