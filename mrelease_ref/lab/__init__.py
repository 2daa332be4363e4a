"""Real-kernel lab: drive ``process_mrelease(2)`` on the running Linux kernel.

This package is *not* part of the model. It is the measuring bench that the model is checked
against: ctypes syscall wrappers (:mod:`.syscalls`), a cgroup freezer (:mod:`.freezer`),
victim processes with exactly specified mappings (:mod:`.victim`), memory probes
(:mod:`.measure`) and a timed, deterministic reap (:mod:`.reap`).

The deterministic "dying but mm still attached" state follows
``/work/shared/reference/realkernel.md`` §2: freeze the victim with the cgroup-v1 freezer,
send SIGKILL (a v1-frozen task is not woken by it), call ``process_mrelease(pidfd, 0)``, then
thaw and wait.

Submodules are not imported here, so ``import mrelease_ref.lab`` is free of side effects.

Limitations:
    - Linux only; most of it needs root (cgroup freezer, ``/proc/<pid>`` of other users).
    - Timings come from a shared 2-vCPU VM and carry scheduling noise.
"""
