"""The simulation harness around the kernel model: not kernel code.

``kernel`` (the Kernel instance that holds all state), ``process`` (the user-space API),
``sched`` (the scheduler that drives kernel generators), ``trace``, ``cost``,
``invariants``.
"""
