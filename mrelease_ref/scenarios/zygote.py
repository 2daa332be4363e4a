"""A zygote and its forked apps: what a reap frees when memory is shared copy-on-write.

Not kernel code. Android starts every app by forking the zygote, a process that has
already mapped the framework (private file mappings of code and resources) and written a
heap (private anonymous memory). After fork() the app shares all of it copy-on-write; only
the pages it writes become its own. :func:`build_zygote` builds that picture on a
``Kernel``; :func:`reap_child` kills and reaps one app with ``process_mrelease()`` and says
what it freed.

The rules the scenario shows (v6.18; tests/test_scenarios_zygote.py checks each):

* fork() shares every anonymous page (``copy_present_ptes()``): the child's RssAnon equals
  the parent's, and no page is allocated.
* fork() does not copy the page tables of a file VMA without anonymous pages
  (``vma_needs_copy()``): the child's RssFile starts at 0 and grows as it faults.
* A child's write copies one page (``wp_page_copy()``); its RssAnon stays the same (a
  shared page is replaced by its own copy), the parent's does not change.
* Reaping a child frees only its copies: the shared pages stay mapped by the parent
  (``folio_remove_rmap_ptes()`` only drops the child's mapping; the last reference is the
  parent's).
* Reaping the parent afterwards frees the rest.

Limitations:
- One zygote, no real framework layout: ``heap`` anonymous pages and one ``code`` file.
- Children are frozen before they are killed, so the reap runs before their exit.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mrelease_ref.sim.process import Mapping, Process

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import Inode
    from mrelease_ref.sim.kernel import Kernel


@dataclass(slots=True)
class Zygote:
    """The zygote, its two mappings, the code file, the apps forked from it, and an
    LMKD-like killer (root) with a pidfd per app."""

    kernel: Kernel
    zygote: Process
    heap: Mapping
    code: Mapping
    code_file: Inode
    lmkd: Process
    apps: list[Process] = field(default_factory=list)
    pidfds: dict[int, int] = field(default_factory=dict)


def build_zygote(k: Kernel, heap_pages: int = 1024, code_pages: int = 512) -> Zygote:
    """Spawn a zygote with a written anonymous heap and a read private file mapping."""
    lmkd = k.spawn("lmkd", uid=0)
    zyg = k.spawn("zygote", uid=0, parent=lmkd)
    f = k.create_file("framework.jar", code_pages)
    heap = zyg.mmap(heap_pages)
    code = zyg.mmap(code_pages, file=f, shared=False, write=False)
    zyg.touch(heap, write=True)
    zyg.touch(code)
    return Zygote(k, zyg, heap, code, f, lmkd)


def fork_app(z: Zygote, name: str, dirty_pages: int = 0, code_pages: int = 0) -> Process:
    """Fork an app from the zygote; it writes ``dirty_pages`` heap pages and reads
    ``code_pages`` pages of code."""
    app = z.zygote.fork(name, uid=10000 + len(z.apps) + 1)
    if dirty_pages:
        app.touch(z.heap, write=True, nr_pages=dirty_pages)
    if code_pages:
        app.touch(z.code, nr_pages=code_pages)
    z.apps.append(app)
    z.pidfds[app.pid] = z.lmkd.pidfd_open(app.pid)
    return app


def free_pages(k: Kernel) -> int:
    """Free pages, per-CPU lists included (what a reap is measured by)."""
    return k.zoneinfo()["free_with_pcp"]


def reap(z: Zygote, p: Process, pidfd: int) -> int:
    """Freeze, SIGKILL and ``process_mrelease()`` ``p``; return the pages the call freed.
    LRU batches are drained first, as long-settled ones are on a device."""
    k = z.kernel
    k.lru_add_drain_all()
    p.freeze()
    z.lmkd.kill(p.pid, signal.SIGKILL)
    before = free_pages(k)
    z.lmkd.process_mrelease(pidfd)
    return free_pages(k) - before


def reap_child(z: Zygote, app: Process) -> int:
    """Reap one app (see :func:`reap`), then let it exit and wait for it."""
    freed = reap(z, app, z.pidfds[app.pid])
    app.thaw()
    z.kernel.run()
    z.zygote.waitpid(app.pid)
    return freed


def reap_zygote(z: Zygote) -> int:
    """Reap the zygote itself (its apps may still run); returns the pages freed."""
    fd = z.lmkd.pidfd_open(z.zygote.pid)
    freed = reap(z, z.zygote, fd)
    z.zygote.thaw()
    z.kernel.run()
    return freed


def walkthrough(heap_pages: int = 1024, code_pages: int = 512, dirty: tuple[int, ...] = (0, 256),
                debug_vm: bool = True) -> list[dict[str, object]]:
    """The zygote story step by step on a ``Kernel(large_folios=False)``: fork one app per
    ``dirty`` entry (each writes that many heap pages), reap the apps one by one, then the
    zygote. One row per step: what it allocated (negative) or freed, and every process's
    RssAnon/RssFile (kB; "-" once reaped)."""
    from mrelease_ref.sim.kernel import Kernel

    k = Kernel(large_folios=False, debug_vm=debug_vm)
    z = build_zygote(k, heap_pages, code_pages)
    rows: list[dict[str, object]] = []
    gone: set[int] = set()

    def row(step: str, freed: int) -> None:
        r: dict[str, object] = {"step": step, "pages freed (-: allocated)": freed}
        for name, p in [("zygote", z.zygote)] + [(a.comm, a) for a in z.apps]:
            st = p.status()
            for key in ("RssAnon", "RssFile"):
                r[f"{name} {key}"] = "-" if p.pid in gone else st[key]
        rows.append(r)

    row("zygote built", 0)
    for i, pages in enumerate(dirty):
        before = free_pages(k)
        fork_app(z, f"app{i}", dirty_pages=pages)
        row(f"fork app{i}, it writes {pages} heap pages", free_pages(k) - before)
    for app in list(z.apps):
        freed = reap_child(z, app)
        gone.add(app.pid)
        row(f"reap {app.comm}", freed)
    freed = reap_zygote(z)
    gone.add(z.zygote.pid)
    row("reap the zygote", freed)
    return rows
