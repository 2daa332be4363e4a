"""``process_mrelease()``, the OOM reaper, and the checks they share.

Kernel: mm/oom_kill.c

``process_mrelease(pidfd, flags)`` reaps, in the caller's context, the address space of a
process that is already dying. It checks, in this order (docs/sources.md
§K1.1, docs/sources.md §M0.1):

1. ``flags != 0``                              -> EINVAL (before the fd is looked at)
2. ``pidfd_get_task()``                        -> EBADF (not a pidfd) / ESRCH (no task)
3. ``find_lock_task_mm()``: no thread has mm   -> ESRCH
4. ``task_will_free_mem()`` false              -> EINVAL, or 0 if MMF_OOM_SKIP is set
5. ``mmap_read_lock_killable()`` interrupted   -> EINTR
6. MMF_OOM_SKIP set under the lock             -> 0, nothing to do (exit_mmap() ran)
7. ``__oom_reap_task_mm()`` skipped a VMA      -> EAGAIN; otherwise 0

It only ever holds ``mm_count`` (``mmgrab()``), so it never delays the victim's own
``exit_mmap()``; the two meet at the mmap lock.

``__oom_reap_task_mm()`` sets MMF_UNSTABLE and zaps, VMA by VMA in reverse address order,
every anonymous or private VMA (hugetlb and VM_PFNMAP VMAs and shared mappings are left
alone), each with its own mmu_gather.

Variants: the series changes ``process_mrelease()`` (patch 3: REAP_KILL), the
``__task_will_free_mem()`` pair (v1 3/3: ``ignore_exit``) and ``__oom_reap_task_mm()``
(draft D: ``try_evict_file_folios``); see :mod:`mrelease_ref.variants`.

Limitations:
- mmu notifiers are reduced to "does some subscriber refuse a non-blocking start?"
- The oom killer's victim selection (``oom_badness()``, ``select_bad_process()``) is not
  modelled: ``Kernel.oom_kill`` names the victim, and ``oom_kill_process()`` does the rest
  (no memcg OOM group kill, no memory reserves).
- The task lock is implicit: a step is atomic, so ``find_lock_task_mm()`` just returns.
"""

from __future__ import annotations

import errno
from typing import Final

from mrelease_ref.include.linux.mm_types import (
    MMF_OOM_REAP_QUEUED,
    MMF_OOM_SKIP,
    MMF_UNSTABLE,
    VM_HUGETLB,
    VM_PFNMAP,
    VM_SHARED,
    MmStruct,
    mm_flags_set,
    mm_flags_test,
    mm_flags_test_and_set,
    vma_is_anonymous,
)
from mrelease_ref.include.linux.rwsem import (
    mmap_read_lock_killable,
    mmap_read_trylock,
    mmap_read_unlock,
)
from mrelease_ref.include.linux.sched import (
    PF_EXITING,
    PF_KTHREAD,
    PIDTYPE_TGID,
    SIGNAL_GROUP_EXIT,
    TaskStruct,
    for_each_thread,
    is_global_init,
    same_thread_group,
    thread_group_empty,
)
from mrelease_ref.kernel.fork import mmdrop, mmgrab
from mrelease_ref.kernel.pid import pidfd_get_task, put_task_struct
from mrelease_ref.kernel.sched import KernelGen, schedule_timeout, wait_event
from mrelease_ref.mm.memory import unmap_page_range
from mrelease_ref.mm.mmu_gather import tlb_finish_mmu, tlb_gather_mmu

MAX_OOM_REAP_RETRIES: Final = 10
HZ: Final = 250  # CONFIG_HZ of these machines (docs/sources.md §M1.1)
NSEC_PER_JIFFY: Final = 1_000_000_000 // HZ
OOM_REAPER_DELAY_NS: Final = 2 * HZ * NSEC_PER_JIFFY


def find_lock_task_mm(p: TaskStruct) -> TaskStruct | None:
    """Kernel: mm/oom_kill.c:find_lock_task_mm()

    The first thread of ``p``'s group that still has an mm (the kernel returns it with
    ``task_lock()`` held; a model step is atomic).
    """
    for t in for_each_thread(p):
        if t.mm is not None:
            return t
    return None


def process_shares_mm(p: TaskStruct, mm: MmStruct) -> bool:
    """Kernel: mm/oom_kill.c:process_shares_mm(): the first thread with an mm decides."""
    for t in for_each_thread(p):
        if t.mm is not None:
            return t.mm is mm
    return False


def __task_will_free_mem(task: TaskStruct) -> bool:
    """Kernel: mm/oom_kill.c:__task_will_free_mem()

    A core dump in progress says no (it may sleep for long with the mm); a group exit says
    yes; so does a single-threaded task that is exiting.
    """
    sig = task.signal
    if sig.core_state is not None:
        return False
    if sig.flags & SIGNAL_GROUP_EXIT:
        return True
    return thread_group_empty(task) and bool(task.flags & PF_EXITING)


def task_will_free_mem(task: TaskStruct) -> bool:
    """Kernel: mm/oom_kill.c:task_will_free_mem()

    True if ``task``'s memory is on its way out: it is dying, its mm has not been reaped
    yet (no MMF_OOM_SKIP), and every other process using the mm is dying too. Holders of
    ``mm_users`` that are not processes (a /proc reader) do not count.
    """
    mm = task.mm
    if mm is None:
        return False
    if not __task_will_free_mem(task):
        return False
    if mm_flags_test(MMF_OOM_SKIP, mm):
        return False
    if mm.mm_users <= 1:
        return True
    for p in task.kernel.for_each_process():
        if not process_shares_mm(p, mm):
            continue
        if same_thread_group(task, p):
            continue
        if not __task_will_free_mem(p):
            return False
    return True


def mmu_notifier_invalidate_range_start_nonblock(mm: MmStruct) -> int:
    """Kernel: include/linux/mmu_notifier.h:mmu_notifier_invalidate_range_start_nonblock()"""
    for sub in mm.notifier_subscriptions:
        if sub.blocks:
            return -errno.EAGAIN
    return 0


def __oom_reap_task_mm(mm: MmStruct) -> KernelGen[bool]:
    """Kernel: mm/oom_kill.c:__oom_reap_task_mm()

    Mark the mm unstable, then zap every anonymous or private VMA, last VMA first, each
    with its own gather (flushed and freed per VMA). Returns False if some VMA had to be
    skipped because an mmu notifier could not start without blocking.

    Variants: draft D adds a ``try_evict_file_folios`` argument.
    """
    k = mm.kernel
    ret = True
    mm_flags_set(MMF_UNSTABLE, mm)
    vmas = list(mm.mm_mt)
    if k.config.oom_reap_reverse:
        vmas.reverse()
    for vma in vmas:
        if vma.vm_flags & (VM_HUGETLB | VM_PFNMAP):
            continue
        if vma_is_anonymous(vma) or not vma.vm_flags & VM_SHARED:
            tlb = tlb_gather_mmu(mm)
            if mmu_notifier_invalidate_range_start_nonblock(mm):
                tlb_finish_mmu(tlb)
                ret = False
                continue
            if k.tracing:
                k.trace_event("__oom_reap_task_mm", f"zap {vma!r}")
            yield from unmap_page_range(tlb, vma, vma.vm_start, vma.vm_end, None)
            tlb_finish_mmu(tlb)
        elif k.tracing:
            k.trace_event("__oom_reap_task_mm", f"skip {vma!r}")
    return ret


def process_mrelease(current: TaskStruct, pidfd: int, flags: int) -> KernelGen[int]:
    """Kernel: mm/oom_kill.c:SYSCALL_DEFINE2(process_mrelease)

    ``current`` is the caller (explicit in the model). Returns 0 or ``-errno``; see the
    module docstring for the order of checks.
    """
    k = current.kernel
    if k.tracing:
        k.trace_event("process_mrelease", f"pidfd={pidfd} flags={flags:#x}")
    if flags != 0:
        return -errno.EINVAL
    got = pidfd_get_task(current, pidfd)
    if isinstance(got, int):
        return got
    task, _f_flags = got
    p = find_lock_task_mm(task)
    if p is None:
        put_task_struct(task)
        return -errno.ESRCH
    mm = p.mm
    assert mm is not None
    mmgrab(mm)
    ret = 0
    if task_will_free_mem(p):
        reap = True
    else:
        reap = False
        if not mm_flags_test(MMF_OOM_SKIP, mm):
            ret = -errno.EINVAL  # error only if the work has not been done already
    if reap:
        if (yield from mmap_read_lock_killable(mm, current)):
            ret = -errno.EINTR
        else:
            if not mm_flags_test(MMF_OOM_SKIP, mm) and not (yield from __oom_reap_task_mm(mm)):
                ret = -errno.EAGAIN
            mmap_read_unlock(mm)
    mmdrop(mm)
    put_task_struct(task)
    return ret


# --- the kernel's own OOM reaper ---------------------------------------------------------


def oom_reap_task_mm(tsk: TaskStruct, mm: MmStruct) -> KernelGen[bool]:
    """Kernel: mm/oom_kill.c:oom_reap_task_mm(): never waits for the lock; True = done."""
    if not mmap_read_trylock(mm):
        return False
    ret = True
    if not mm_flags_test(MMF_OOM_SKIP, mm):
        ret = yield from __oom_reap_task_mm(mm)
    mmap_read_unlock(mm)
    return ret


def oom_reap_task(tsk: TaskStruct, reaper: TaskStruct) -> KernelGen[None]:
    """Kernel: mm/oom_kill.c:oom_reap_task()

    Retry up to ``MAX_OOM_REAP_RETRIES`` times, ``HZ/10`` apart; then, done or not, set
    MMF_OOM_SKIP so the OOM killer may pick another victim.
    """
    k = tsk.kernel
    mm = tsk.signal.oom_mm
    assert mm is not None
    attempts = 0
    while attempts < MAX_OOM_REAP_RETRIES:
        if (yield from k.series.oom_reap_task_mm(tsk, mm)):  # draft D passes a bool on
            break
        attempts += 1
        yield schedule_timeout("oom_reaper", k.clock_ns, HZ // 10 * NSEC_PER_JIFFY,
                               lambda: k.clock_ns)
    if k.tracing:
        k.trace_event("oom_reap_task", f"pid={tsk.pid} attempts={attempts}")
    mm_flags_set(MMF_OOM_SKIP, mm)
    put_task_struct(tsk)


def oom_reaper(reaper: TaskStruct) -> KernelGen[None]:
    """Kernel: mm/oom_kill.c:oom_reaper(): the kthread; reap victims one at a time."""
    k = reaper.kernel
    while True:
        yield wait_event("oom_reaper_wait", lambda: bool(k.oom_reaper_list))
        tsk = k.oom_reaper_list.pop(0)
        yield from oom_reap_task(tsk, reaper)


def wake_oom_reaper(tsk: TaskStruct) -> None:
    """Kernel: mm/oom_kill.c:wake_oom_reaper() (the timer callback)"""
    mm = tsk.signal.oom_mm
    assert mm is not None
    if mm_flags_test(MMF_OOM_SKIP, mm):  # the victim already exited on its own
        put_task_struct(tsk)
        return
    tsk.kernel.oom_reaper_list.append(tsk)


def queue_oom_reaper(tsk: TaskStruct) -> None:
    """Kernel: mm/oom_kill.c:queue_oom_reaper(): once per mm, after OOM_REAPER_DELAY."""
    mm = tsk.signal.oom_mm
    assert mm is not None
    if mm_flags_test_and_set(MMF_OOM_REAP_QUEUED, mm):
        return
    tsk.usage += 1  # get_task_struct()
    k = tsk.kernel
    k.add_timer(k.clock_ns + OOM_REAPER_DELAY_NS, lambda: wake_oom_reaper(tsk))


def mark_oom_victim(tsk: TaskStruct) -> None:
    """Kernel: mm/oom_kill.c:mark_oom_victim()

    Once per task (TIF_MEMDIE): remember the mm in ``signal->oom_mm`` -- which makes every
    thread of the process an OOM victim, never ``freezing()`` again -- and thaw the whole
    process (``thaw_process()``, every thread): a frozen victim could never exit and free
    its memory.
    """
    from mrelease_ref.kernel.freezer import thaw_process

    mm = tsk.mm
    assert mm is not None, "mark_oom_victim() needs the thread that has the mm"
    if tsk.memdie:  # test_and_set_tsk_thread_flag(tsk, TIF_MEMDIE)
        return
    tsk.memdie = True
    if tsk.signal.oom_mm is None:
        mmgrab(mm)
        tsk.signal.oom_mm = mm
    thaw_process(tsk)


def __oom_kill_process(victim: TaskStruct) -> None:
    """Kernel: mm/oom_kill.c:__oom_kill_process()

    Switch to the thread that still has the mm (``find_lock_task_mm()``: the leader may
    have exited already); nothing to do if none has. SIGKILL it (SEND_SIG_PRIV, whole
    group) *before* marking it (``mark_oom_victim()``: memory reserves, thaw), then SIGKILL
    every other user process sharing the mm; queue the reaper unless the global init shares
    the mm.
    """
    from mrelease_ref.kernel.signal import SIGKILL, __send_signal_locked

    p = find_lock_task_mm(victim)
    if p is None:
        return  # "OOM victim ... is already exiting. Skip killing the task"
    victim = p
    mm = victim.mm
    assert mm is not None
    mmgrab(mm)
    k = victim.kernel
    k.vm_events["OOM_KILL"] = k.vm_events.get("OOM_KILL", 0) + 1
    __send_signal_locked(SIGKILL, victim, PIDTYPE_TGID, force=True)  # do_send_sig_info()
    mark_oom_victim(victim)
    can_oom_reap = True
    for q in k.for_each_process():
        if not process_shares_mm(q, mm) or same_thread_group(q, victim):
            continue
        if is_global_init(q):
            can_oom_reap = False
            mm_flags_set(MMF_OOM_SKIP, mm)
            continue
        if q.flags & PF_KTHREAD:
            continue
        __send_signal_locked(SIGKILL, q, PIDTYPE_TGID, force=True)
    if can_oom_reap:
        queue_oom_reaper(victim)
    mmdrop(mm)


def oom_kill_process(victim: TaskStruct) -> None:
    """Kernel: mm/oom_kill.c:oom_kill_process() (the chosen victim given, no memcg group)

    A victim whose memory is already on its way out (``task_will_free_mem()``) is only
    marked and queued for the reaper, not signalled; otherwise ``__oom_kill_process()``.
    """
    if task_will_free_mem(victim):
        mark_oom_victim(victim)
        queue_oom_reaper(victim)
        return
    __oom_kill_process(victim)
