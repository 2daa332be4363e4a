"""Victims the kernel's OOM reaper has to reap: a thread stuck where v6.18 allows it.

Not kernel code. The OOM reaper exists for a victim that cannot finish its own exit
(``oom_reap_task()`` runs OOM_REAPER_DELAY after the kill). A frozen thread is no such
victim on v6.18: ``mark_oom_victim()`` thaws the whole process (``thaw_process()``) and an
OOM victim is never ``freezing()`` again (kernel/freezer.c:freezing_slow_path()), so it
exits and its ``exit_mmap()`` sets MMF_OOM_SKIP before the reaper looks.

:func:`stall_in_fsync` builds a stall v6.18 does allow: a second thread of the victim
blocked in ``fsync()`` on a device that does not complete the write
(``Kernel.hold_io``). It sleeps in ``folio_wait_writeback()``, TASK_UNINTERRUPTIBLE: the
OOM kill's SIGKILL cannot wake it, the thaw does not concern it, and it keeps the mm
(``mm_users``) while the rest of the group exits. It holds no mmap_lock, so the reaper's
``mmap_read_trylock()`` succeeds. (The reaper's own motivation: a victim "stuck in an
uninterruptible sleep", mm/oom_kill.c comment above ``oom_reaper()``.)

Limitations:
- ``Kernel.hold_io`` holds every block I/O of the Kernel, not only this file's.
- The page being written belongs to a one-page "journal" file that stays in the page
  cache (dirty, under writeback until :meth:`Stall.release`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrelease_ref.sim.kernel import Kernel
    from mrelease_ref.sim.process import Process


@dataclass(slots=True)
class Stall:
    """A thread of ``process`` asleep in ``fsync()`` on a hung device."""

    kernel: Kernel
    process: Process
    thread: Process

    @property
    def stuck(self) -> bool:
        """Whether the thread still sleeps in ``folio_wait_writeback()``."""
        w = self.thread.task.waiting
        return w is not None and w.label == "folio_wait_writeback" and not w.cond()

    def release(self) -> None:
        """The device completes the write (``hold_io`` off); ``Kernel.run()`` lets the
        thread return from ``fsync()`` and act on its signals."""
        self.kernel.hold_io = False


def stall_in_fsync(k: Kernel, app: Process) -> Stall:
    """Give ``app`` a second thread blocked in ``fsync()`` of a dirty page on a hung device.

    The dirty page is written by a short-lived helper process through its own shared
    mapping (then unmapped), so the victim's address space gains nothing but the thread.
    """
    from mrelease_ref.sim.process import Mapping

    journal = k.create_file(f"{app.comm}-{app.pid}-journal.dat", 1)
    writer = k.spawn(f"{app.comm}-writer", uid=app.task.cred.uid)
    m = writer.mmap(1, file=journal, shared=True)
    writer.touch(m, write=True)  # one dirty page-cache page
    writer.munmap(Mapping(m.start, m.nr_pages, m.kind))
    writer.exit(0)
    k.run_until(lambda: writer.state == "dead", task=writer.task)
    fd = app.open(journal)
    thread = app.clone_thread()
    k.hold_io = True
    thread.fsync(fd, background=True)
    stall = Stall(k, app, thread)
    assert stall.stuck, "fsync() must be waiting for the write"
    return stall
