"""The project's findings and the series timeline, as data.

Not kernel code. One :class:`Finding` per result a reviewer should know: one sentence, the
kind of evidence behind it, where it holds, and the notebook heading that shows it. The
README's first screen and the HTML report's index page are generated from this module
(``python -m mrelease_ref.findings --write README.md``; ``tools/render_report.py``), and
``tests/test_findings.py`` keeps the README, the notebook headings and these entries in
step.

Adding a finding: put a ``### Finding: ...`` heading (and the cells that show it) in the
notebook, add one :class:`Finding` to :data:`FINDINGS` whose ``heading`` is that heading's
text, and run ``python -m mrelease_ref.findings --write README.md``.

Evidence kinds (:data:`EVIDENCE`): ``live`` is a claim about the running kernel and names
the parity scenarios (``mrelease_ref.scenarios.parity.SCENARIOS``) that check it;
``model`` is what the model of v6.18 and of the posted code computes; ``inference`` marks a
result that rests on code that was not retrieved ([I], docs/sources.md §T0).

Limitations:
- The sentences are prose: the tests check their form (one sentence, links, headings), and
  the notebook's Checks section checks the numbers behind each one.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

EVIDENCE: Final[dict[str, str]] = {
    "live": "live kernel",
    "model": "model",
    "inference": "inference [I]",
}
"""Evidence kinds, with the label the README and the report print."""

LORE: Final = "https://lore.kernel.org/r/"

LIVE_COMPARISONS: Final[dict[str, str]] = {
    "race_esrch": "tests/test_lab_race.py (lab/data/race_esrch.json: the kill/process_mrelease "
                  "race timed on the live kernel, trial by trial against the model)",
}
"""Live-kernel evidence that is not a parity-table scenario: a ``live`` finding may name
these in ``parity`` besides scenarios (each is held to the model by the test it names)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: ``sentence`` (one sentence, Markdown inline code allowed), ``evidence``
    (keys of :data:`EVIDENCE`), ``scope`` (variants and configurations where it holds),
    ``notebook`` (file stem) and ``heading`` (the exact text of the heading that shows it,
    without the leading ``#``), ``group`` (README sub-list), ``parity`` (the scenarios that
    back a ``live`` claim)."""

    sentence: str
    evidence: tuple[str, ...]
    scope: str
    notebook: str
    heading: str
    group: str
    parity: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        """The heading's anchor, the same on GitHub and in the HTML report."""
        return github_slug(self.heading)

    @property
    def evidence_label(self) -> str:
        """``"live kernel + model"`` etc."""
        return " + ".join(EVIDENCE[e] for e in self.evidence)


@dataclass(frozen=True, slots=True)
class Version:
    """One step of the series: what was posted, when, under which Message-ID, and its fate."""

    name: str
    date: str
    message_id: str
    what: str
    fate: str

    @property
    def link(self) -> str:
        """The lore link of the posting."""
        return LORE + self.message_id


TIMELINE: Final[tuple[Version, ...]] = (
    Version("RFC 0/3", "2026-04-13", "20260413223948.556351-1-minchan@kernel.org",
            "evict clean file folios in the reap, skip LRU aging, auto-kill via a "
            "KILL_MRELEASE SIGKILL", "reviewed (Hocko, Hildenbrand, Brauner); replaced by v1"),
    Version("v1 0/3", "2026-04-21", "20260421230239.172582-1-minchan@kernel.org",
            "the same three patches, gated by MMF_UNSTABLE; REAP_KILL via kill_pid() and "
            "mmget()", "patch 2 disputed (Hocko); patch 3 split out as v2"),
    Version("draft D", "2026-04-29", "afFco71vwmpQy3pk@google.com",
            "patches 1+2 inline, gated by REAP_KILL only", "an intent sketch, never posted "
            "as a patch; no later version of patches 1 and 2 was found"),
    Version("v2", "2026-04-29", "20260429211359.3829683-1-minchan@kernel.org",
            "REAP_KILL alone: refuse MMF_MULTIPROCESS, mmgrab(), kill_pid(), reap",
            "taken into mm-new on 2026-04-30; Hocko asked to kill every sharer instead"),
    Version("v3", "2026-05-11", "20260511214226.937793-1-minchan@kernel.org",
            "REAP_KILL kills every process sharing the mm (kill_all_shared_mm(), -EBUSY)",
            "strongly opposed (Brauner, Torvalds); the author agreed to drop REAP_KILL if "
            "the mm stays reachable after exit; nothing merged as of 2026-05-22"),
)
"""The versions the model implements, in order (docs/sources.md §T1.1)."""

_B, _P1, _P2, _P3, _X = ("Baseline v6.18", "Patch 1: evict clean file folios",
                         "Patch 2: skip LRU aging", "Patch 3: REAP_KILL", "Across the series")
_LMKD = "LMKD on an Android-like device"
_NB0, _NB1, _NB2, _NB3 = ("00_overview", "01_patch1_free_pages_and_caches",
                          "02_patch2_skip_lru_movement", "03_patch3_reap_kill")
_NB4, _NB6, _NB7 = "04_races", "06_lmkd_experiments", "07_fork_cow"
_RACES = "Races and the thread's alternatives to REAP_KILL"
_FORK = "fork() and `/proc/<pid>/mem`"
_LMKD_SCOPE = ("the default simulated device (estimated app sizes and reclaim rate, "
               "every page-cache page a single-page folio unless readahead's folios with "
               "an 8 MiB window are stated; apps forked from a zygote; calibrated reap "
               "prices)")

FINDINGS: Final[tuple[Finding, ...]] = (
    Finding("Clean file pages survive the reap unmapped: v6.18 frees anonymous memory and "
            "unmaps private file pages but evicts nothing, and only after the reap can "
            "`POSIX_FADV_DONTNEED` drop them.",
            ("live", "model"), "baseline, and every version without patch 1's gate on; "
            "private file mappings", _NB0, "What `POSIX_FADV_DONTNEED` can drop after the reap",
            _B, ("file-private", "dontneed-after-reap", "dontneed-without-reap")),
    Finding("Once the victim has passed `exit_mm()` the call fails with `ESRCH` while all of its "
            "memory is still allocated, and a /proc reader holding `mm_users` then frees it by "
            "running `exit_mmap()` itself.",
            ("live", "model"), "baseline and every version called without REAP_KILL", _NB0,
            "The `ESRCH` outcome: the victim detaches its mm first", _B,
            ("zombie", "holder-zombie")),
    Finding("A default-action SIGTERM makes a frozen victim reapable at once only if it froze "
            "in place (asleep in `nanosleep()` or a futex); frozen in `pause()`, `select()` or "
            "while running, `wants_signal()` refuses it and `process_mrelease()` gives "
            "`EINVAL`.",
            ("live", "model"), "every version; cgroup-v1 freezer; a signal with the default "
            "action, not blocked, caught or core-dumping",
            _NB0, "Finding: a default-action SIGTERM is enough only for a victim frozen in "
            "place", _B,
            ("frozen-nanosleep-sigterm", "frozen-futex-sigterm", "frozen-pause-sigterm",
             "frozen-select-sigterm", "frozen-busy-sigterm")),
    Finding("A large file folio is evicted only when one gather entry holds its one "
            "reference: PTE-mapped with two or more pages it never is, PMD-mapped it is on "
            "x86_64 but not on s390.",
            ("model",), "RFC, v1, D (patch 1); large page-cache folios", _NB1,
            "Finding: large folios are evicted only when one entry maps them", _P1),
    Finding("Without patch 2, patch 1 cannot evict already-referenced folios that the zap's "
            "activation still holds in a per-CPU LRU batch when the gather frees them (up to "
            "a batch of 31 per CPU).",
            ("model",), "RFC, v1 with `patches=1`; small folios used by an earlier process",
            _NB1, "Finding: patch 1 needs patch 2 for pages that were referenced before", _P1),
    Finding("The shmem swap-cache miss of v1 and D costs nothing in the state a shmem "
            "writeout leaves, where the baseline keeps the folio in the swap cache too, and "
            "matters only in a hand-built state that no modelled path reaches.",
            ("model",), "v1, D, not reaping; a zapped shmem folio in the swap cache (built "
            "by hand)", _NB1,
            "Finding: the shmem swap-cache miss changes nothing the zap path can reach", _P1),
    Finding("With the proposed swap-cache-first fix, draft D passes an anonymous folio's "
            "`anon_vma` to `mapping_evict_folio()` as if it were an `address_space`.",
            ("model",), "D with `swapcache_fix=True`", _NB1,
            "Finding: draft D hands an anon_vma to mapping_evict_folio() once the fix is "
            "applied", _P1),
    Finding("v1 and the RFC also evict for the kernel OOM reaper and in the victim's own "
            "`exit_mmap()` after a reap, `MAP_SHARED` pages included, while D confines "
            "eviction to the REAP_KILL reap.",
            ("model",), "RFC, v1 (gate MMF_UNSTABLE)", _NB1,
            "Finding: v1 evicts for the kernel's OOM reaper and in the victim's own exit", _P1),
    Finding("Only PTE-mapped file folios lose their aging: anonymous memory is never aged on "
            "zap, `MAP_SHARED` mappings are not reaped, and PMD-mapped file folios are marked "
            "by every version.",
            ("model",), "every version with patch 2", _NB2,
            "Finding: only PTE-mapped file folios lose their aging", _P2),
    Finding("v1 skips aging for exactly the folios no other address space maps, but for large "
            "folios only with CONFIG_MM_ID; without it, and in the RFC, every large folio "
            "keeps its aging.",
            ("model",), "RFC, v1, D; CONFIG_MM_ID on (default) or off", _NB2,
            "Finding: v1 skips exactly the folios no other address space maps -- with "
            "CONFIG_MM_ID", _P2),
    Finding("What patch 2 saves is the activation step for folios an earlier process used, "
            "and how much time that is in the model follows from its prices, not from the "
            "series' 55.75% profile.",
            ("model",), "every version with patch 2; calibrated prices (notebook 05)", _NB2,
            "Finding: the saving is the activation rung, and its size is the cost model's "
            "assumption", _P2),
    Finding("Activations lost at the reap become extra refaults only when the app is "
            "relaunched before reclaim has had time to evict those pages anyway.",
            ("model",), "patch 2 alone; small folios; kswapd on the classic LRU", _NB2,
            "Finding: lost activations turn into refaults only when the kill beats reclaim",
            _P2),
    Finding("With patch 1 the relaunch reads the whole hot set again, and no refault is "
            "counted because eviction leaves no shadow entry.",
            ("model",), "v1 patches 1-2, D with REAP_KILL; small folios", _NB2,
            "Finding: with patch 1, the relaunch reads everything and no refault is counted",
            _P2),
    Finding("With 64-page folios v1 evicts nothing at the reap yet still drops the "
            "activation, so the relaunch refaults more than on the baseline.",
            ("model",), "v1 with CONFIG_MM_ID; PTE-mapped 64-page folios", _NB2,
            "Finding: with large folios, v1 keeps the pages cached but loses their activation",
            _P2),
    Finding("v1's aging skip also applies to the kernel OOM reaper and to the victim's own "
            "later `exit_mmap()`, `MAP_SHARED` pages included, while D confines it to the "
            "REAP_KILL reap.",
            ("model",), "RFC, v1 (gate MMF_UNSTABLE)", _NB2,
            "Finding: v1's gate also covers the kernel's OOM reaper and the victim's own exit",
            _P2),
    Finding("v1 3/3 sets MMF_UNSTABLE only in the reap after the SIGKILL, not before it as its "
            "commit message says, so when the caller's reap is abandoned (`-EINTR`) the "
            "victim's own exit neither evicts nor skips aging.",
            ("model",), "v1 with REAP_KILL (the RFC set it at signal delivery [I])", _NB3,
            "Finding: v1 3/3 sets MMF_UNSTABLE after the SIGKILL, not before it", _P3),
    Finding("v2's MMF_MULTIPROCESS refusal misses vfork children and kernel threads using the "
            "mm, so v2 kills the child and reaps the mm its parent still runs in.",
            ("model",), "v2 with REAP_KILL", _NB3,
            "Finding: v2's MMF_MULTIPROCESS refusal misses vfork sharers", _P3),
    Finding("v3 returns `-EBUSY` after killing the sharers it may signal and leaves the "
            "memory with the one it may not (outside the caller's pid namespace, or another "
            "uid).",
            ("model",), "v3 with REAP_KILL; shared mm", _NB3,
            "Finding: v3 returns -EBUSY after killing part of the sharers", _P3),
    Finding("When the REAP_KILL target is a pid-namespace init and the caller is inside its "
            "namespace, v1, v2 and v3 return 0 and reap a task their SIGKILL did not kill, "
            "and v3 does the same when the init only shares the target's mm.",
            ("model",), "v1, v2, v3 with REAP_KILL (D too, reaping only file pages); caller "
            "in the init's pid namespace", _NB3,
            "Finding: REAP_KILL reaps a namespace init its SIGKILL did not kill", _P3),
    Finding("The RFC's KILL_MRELEASE SIGKILL would skip the kill permission check, letting any "
            "pidfd holder kill and reap the process.",
            ("inference", "model"), "RFC with REAP_KILL", _NB3,
            "Finding: the RFC's KILL_MRELEASE would skip the kill permission check [I]", _P3),
    Finding("v6.18 returns `ESRCH` while every page of the victim is still allocated: "
            "between `exit_mm()` clearing `->mm` and the victim's own `exit_mmap()`, the call "
            "finds no mm.",
            ("model",), "baseline; every schedule of the explored world, no holder needed",
            _NB4, "Finding: v6.18 returns ESRCH while every page is still allocated", _RACES),
    Finding("With a `/proc/<pid>/cmdline` or smaps reader holding `mm_users`, the call returns "
            "`ESRCH` with everything allocated and the teardown runs in the reader's "
            "`mmput()`.",
            ("model",), "baseline; cmdline and smaps readers", _NB4,
            "Finding: with a /proc reader the memory waits for the reader, and exit_mmap() "
            "runs in it", _RACES),
    Finding("REAP_KILL finds the mm before the kill, so no schedule returns `ESRCH` or traps "
            "memory; only v1's `mmget()` can make the caller run `exit_mmap()`.",
            ("model",), "v1, v2, v3 with REAP_KILL and a cmdline reader", _NB4,
            "Finding: REAP_KILL removes ESRCH and trapped memory; only v1 can bill "
            "exit_mmap() to LMKD", _RACES),
    Finding("With a live CLONE_VM sharer only v3 frees the memory (it kills the sharer), and "
            "v2 reaps the mm of a vfork child that is still running.",
            ("model",), "baseline, v1, v2, v3; a CLONE_VM sharer or a vfork child", _NB4,
            "Finding: with sharers only v3 frees the memory, and v2 reaps a live vfork "
            "child's memory", _RACES),
    Finding("Of the thread's alternatives that add no kill API, only the `task->exit_mm` "
            "fallback removes both `ESRCH` and trapped memory; readers holding only "
            "`mm_count` remove the trap but keep `ESRCH` [I].",
            ("model", "inference"), "exit_mm_field (posted), proc_mm_count, smaps_esrch, "
            "linus_exit_mmap_wlock (prose, the model's readings)", _NB4,
            "Finding: of the no-new-API fixes, only the exit_mm fallback removes ESRCH and "
            "trapping [I]", _RACES),
    Finding("On the live kernel a call made right after `kill()` mostly arrives too late: the "
            "victim usually preempts its killer and 62-69 % of immediate calls return "
            "`ESRCH`, a rate the model predicts trial by trial (99.7 %).",
            ("live", "model"), "baseline; 1 and 64 MiB anonymous victims, a Python caller "
            "on a 2-vCPU VM, default policy (94-100 % under SCHED_FIFO)", _NB4,
            "Finding: on the live kernel a call made right after kill() mostly arrives too "
            "late", _RACES, ("race_esrch",)),
    Finding("After a reap, `/proc/<pid>/mem` still reads the victim's private file pages "
            "that are cached, because fault-around maps them without "
            "`check_stable_address_space()`, while anonymous and evicted pages give `EIO`.",
            ("live", "model"), "baseline and every version (the series does not touch the "
            "fault path); private file mappings", _NB7,
            "Finding: reaped private file pages stay readable while they are cached", _FORK,
            ("proc-pid-mem",)),
    Finding("Draft D as posted frees no PTE-mapped anonymous memory in any reap, because its "
            "zero-initialised `zap_details` turns off `even_cows`, but still frees PMD-mapped "
            "anonymous THPs, whose `zap_huge_pmd()` ignores the details.",
            ("model",), "D with `d_details=\"as_posted\"` (default), flags 0 or REAP_KILL",
            _NB1, "Finding: draft D as posted frees anonymous THPs but no other anonymous "
            "memory", _X),
    Finding("v1 saves kills as far as its reaps evict victims' APKs, so the folio layout "
            "decides, not the LRU: 1.6 over ten seeds with single-page folios (9 against 11 "
            "at seed 0), 0.4 with readahead's, an interval including none; v2 and v3 save "
            "none.",
            ("model",), f"v1 and D against baseline, v2, v3; {_LMKD_SCOPE}; reclaim "
            "lagging an app launch; single-page folios are what v6.18 gives files on f2fs "
            "and on ext4 with encryption, verity or data journalling "
            "(`ext4_should_enable_large_folio()`); that a phone's `/data` is one of them "
            "is an inference [I]; readahead's folios "
            "where the filesystem supports large folios (this VM's ext4)", _NB6,
            "Finding: v1 saves kills only as far as its reaps can evict the victims' files",
            _LMKD),
    Finding("Under the multi-gen LRU every version kills as many apps as on the classic LRU, "
            "seed by seed (one seed of `v1 1+2` aside), so v1 saves the same kills under "
            "both.",
            ("model",), f"every version; {_LMKD_SCOPE}; `lru_gen=True` against the classic "
            "LRU (MGLRU modelled from source only)", _NB6,
            "Finding: under the multi-gen LRU v1 saves the same kills as on the classic LRU",
            _LMKD),
    Finding("Under the baseline ten of eleven kills are redundant: each was made while earlier "
            "victims' unmapped clean files still sat in the page cache, enough to stay above "
            "the watermark; v1 removes them with single-page folios but keeps nine of eleven "
            "with readahead's.",
            ("model",), f"baseline and v1; {_LMKD_SCOPE}; redundant as defined in notebook 06",
            _NB6, "Finding: under the baseline almost every kill after the first is redundant",
            _LMKD),
    Finding("With REAP_KILL every teardown takes a few milliseconds of calibrated reap time, "
            "while without it a victim that wins the race with a `/proc` reader pinning its mm "
            "keeps its memory for tens of milliseconds.",
            ("model",), f"v1, D, v2, v3 against baseline; {_LMKD_SCOPE}; P(ESRCH) 0.2", _NB6,
            "Finding: REAP_KILL bounds the teardown at a few milliseconds; a pinned ESRCH "
            "victim takes tens", _LMKD),
    Finding("v1's evictions are paid when a killed app relaunches: it reads again exactly what "
            "the reap evicted (all of its 24.5 MiB APK with single-page folios, 8 MiB with "
            "readahead's), and the kernel counts no refault: the reap's evictions leave no "
            "shadow entry.",
            ("model",), f"v1 against baseline; {_LMKD_SCOPE}; read time estimated", _NB6,
            "Finding: v1's evictions are paid at relaunch, and the cost is invisible to "
            "refault counters", _LMKD),
    Finding("v1 saves kills only where most of what its reaps unmap sits in single-page "
            "folios: none with PTE-mapped large folios or readahead windows up to 4 MiB, 0.2 "
            "with the 8 MiB window, 1.6 with 32 MiB and 1.8 with every page a single-page "
            "folio.",
            ("model",), f"v1 against baseline; {_LMKD_SCOPE}, one parameter swept at a time",
            _NB6, "Finding: the saving needs single-page folios, which readahead gives a "
            "file's first window", _LMKD),
)
"""Every finding, in README order."""

NOT_RERUN: Final = "not re-run"
"""The Android cell of a finding not yet re-run on ``Kernel.android()``."""

ON_ANDROID: Final[dict[str, str]] = {
    'What `POSIX_FADV_DONTNEED` can drop after the reap':
        'holds; model only: no Android kernel to compare with',
    'The `ESRCH` outcome: the victim detaches its mm first':
        'holds; model only: no Android kernel to compare with',
    'Finding: a default-action SIGTERM is enough only for a victim frozen in place':
        'holds; model only: no Android kernel to compare with',
    'Finding: reaped private file pages stay readable while they are cached':
        'holds; model only: no Android kernel to compare with',
    "Finding: v1 saves kills only as far as its reaps can evict the victims' files":
        "holds; seed 0: 11 / 9 / 11 kills (baseline / v1 / v3); /data's page cache is "
        "order 0 (the single-page layout), so each v1 reap evicts the victim's whole "
        'APK',
    'Finding: under the multi-gen LRU v1 saves the same kills as on the classic LRU':
        'holds; seed 0: each kernel kills as on the classic LRU with 4 KiB pages',
    'Finding: under the baseline almost every kill after the first is redundant':
        "holds; seed 0: 10 of the baseline's 11 kills redundant, 0 of v1's 9",
    'Finding: REAP_KILL bounds the teardown at a few milliseconds; a pinned ESRCH victim '
    'takes tens':
        'holds; seed 0: REAP_KILL teardowns take 1-2 ms (16 KiB pages: a quarter of the'
        ' PTEs, each priced as on this x86_64 4 KiB kernel [E]), the pinned ESRCH '
        'victim 43 ms',
    "Finding: v1's evictions are paid at relaunch, and the cost is invisible to refault "
    "counters":
        "holds; seed 0: v1's relaunch reads its whole APK again, no refault counted",

    'Finding: large folios are evicted only when one entry maps them':
        'holds; moot on /data: its page cache is order 0 (ext4 with encryption, f2fs), so'
        ' every page is evicted; on erofs the rule holds, but a PMD maps 32 MiB, so a '
        '512-page folio is PTE-mapped and kept',
    'Finding: patch 1 needs patch 2 for pages that were referenced before':
        'differs: as under MGLRU, no lru_activate batch reference, so patch 1 alone '
        'evicts every page',
    'Finding: the shmem swap-cache miss changes nothing the zap path can reach':
        'holds',
    'Finding: draft D hands an anon_vma to mapping_evict_folio() once the fix is applied':
        'holds',
    "Finding: v1 evicts for the kernel's OOM reaper and in the victim's own exit":
        'holds',
    'Finding: draft D as posted frees anonymous THPs but no other anonymous memory':
        'holds',
    'Finding: only PTE-mapped file folios lose their aging':
        'holds; every private file folio is order 0 and PTE-mapped (no PMD-mapped page '
        'cache on /data), so patch 2 removes all of their aging',
    'Finding: v1 skips exactly the folios no other address space maps -- with CONFIG_MM_ID':
        'holds; the page cache is order 0, so CONFIG_MM_ID no longer matters: without it '
        'v1 skips the same folios',
    "Finding: the saving is the activation rung, and its size is the cost model's assumption":
        'differs: as under MGLRU, no activation rung: with calibrated prices the aging '
        'patch 2 removes is 51% of the reap in every history',
    'Finding: lost activations turn into refaults only when the kill beats reclaim':
        "differs: as under MGLRU, the baseline's reap activates nothing, so patch 2 alone"
        ' refaults exactly as the baseline',
    'Finding: with patch 1, the relaunch reads everything and no refault is counted':
        'holds',
    'Finding: with large folios, v1 keeps the pages cached but loses their activation':
        'differs: moot: the page cache is order 0 on /data (no 64-page folios), v1 evicts'
        ' every page, and nothing is activated to lose',
    "Finding: v1's gate also covers the kernel's OOM reaper and the victim's own exit":
        'holds',
    'Finding: v1 3/3 sets MMF_UNSTABLE after the SIGKILL, not before it': 'holds',
    "Finding: v2's MMF_MULTIPROCESS refusal misses vfork sharers": 'holds',
    'Finding: v3 returns -EBUSY after killing part of the sharers': 'holds',
    'Finding: REAP_KILL reaps a namespace init its SIGKILL did not kill': 'holds',
    "Finding: the RFC's KILL_MRELEASE would skip the kill permission check [I]": 'holds',
    "Finding: v6.18 returns ESRCH while every page is still allocated": 'holds',
    "Finding: with a /proc reader the memory waits for the reader, and exit_mmap() runs "
    "in it": 'holds',
    "Finding: REAP_KILL removes ESRCH and trapped memory; only v1 can bill exit_mmap() to "
    "LMKD": 'holds',
    "Finding: with sharers only v3 frees the memory, and v2 reaps a live vfork child's "
    "memory": 'holds',
    "Finding: of the no-new-API fixes, only the exit_mm fallback removes ESRCH and "
    "trapping [I]": 'holds',
}
"""Per finding heading, whether it holds on ``Kernel.android()`` (arm64, 16 KiB pages,
MGLRU, order-0 page cache): "holds", "holds (note)" or "differs: how". Computed by
``mrelease_ref.scenarios.configs.finding_by_config()``, ``android_reruns()``, for the
live findings of notebooks 00 and 07 (model side only) ``parity_reruns()`` and for
notebook 06's LMKD findings (the device at seed 0) ``lmkd_reruns()`` (their
``android_cell``);
``tests/test_scenarios_configs.py`` keeps the two equal. Findings missing here print
their :data:`WHY_NOT_RERUN` reason or :data:`NOT_RERUN`."""


WHY_NOT_RERUN: Final[dict[str, str]] = {
    "Finding: the saving needs single-page folios, which readahead gives a file's first "
    "window": "not re-run: a sweep of folio layouts and readahead windows over ten seeds "
    "(lmkd/sweeps.py, stored); Android's /data page cache is order 0, the sweep's "
    "single-page column, which the first LMKD finding's cell re-runs at seed 0",
    "Finding: on the live kernel a call made right after kill() mostly arrives too late":
        "not re-run: a timing measurement on the live x86_64 VM, and there is no Android "
        "device to measure; the model side (races.predict_trial()) takes Kernel options, "
        "but its inputs are this VM's measured wake-up and call times; on "
        "Kernel.android() the race world has the default's schedules and outcomes (the "
        "findings above)",
}
"""Per finding heading, why it has no computed Android cell (its cell in the README).
Findings in neither this nor :data:`ON_ANDROID` print :data:`NOT_RERUN`."""


def on_android(f: Finding) -> str:
    """The finding's Android cell (see :data:`ON_ANDROID` and :data:`WHY_NOT_RERUN`)."""
    return ON_ANDROID.get(f.heading, WHY_NOT_RERUN.get(f.heading, NOT_RERUN))


def github_slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation other than ``-``
    and ``_`` dropped, spaces to hyphens. ``tools/render_report.py`` adds the same anchor to
    the HTML report, so one fragment lands in both."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def timeline_markdown() -> str:
    """The series timeline as a Markdown table, with lore links."""
    rows = ["| version | date | what it does | fate |", "|---|---|---|---|"]
    rows += [f"| [{v.name}]({v.link}) | {v.date} | {_md_cell(v.what)} | {_md_cell(v.fate)} |"
             for v in TIMELINE]
    return "\n".join(rows)


def _numbered() -> Iterator[tuple[str | None, int, Finding]]:
    """(the group heading where a new group starts, else None; number; finding)."""
    group = ""
    for n, f in enumerate(FINDINGS, 1):
        yield (f.group if f.group != group else None), n, f
        group = f.group


def findings_markdown() -> str:
    """The findings as a Markdown table: number, sentence with its link, evidence, scope."""
    rows = ["| # | finding | evidence | holds for | on Android (`Kernel.android()`) |",
            "|---|---|---|---|---|"]
    for group, n, f in _numbered():
        if group is not None:
            rows.append(f"| | **{group}** | | | |")
        link = f"notebooks/{f.notebook}.ipynb#{f.anchor}"
        rows.append(f"| {n} | {_md_cell(f.sentence)} [→ {f.notebook[:2]}]({link}) | "
                    f"{f.evidence_label} | {_md_cell(f.scope)} | "
                    f"{_md_cell(on_android(f))} |")
    return "\n".join(rows)


_BLOCKS: Final = {"timeline": timeline_markdown, "findings": findings_markdown}


def readme_with_blocks(readme: str) -> str:
    """``readme`` with the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
    replaced by the generated block, for NAME in timeline, findings."""
    for name, make in _BLOCKS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in readme or end not in readme:
            raise ValueError(f"README has no {start} ... {end} block")
        head, rest = readme.split(start, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{start}\n{make()}\n{end}{tail}"
    return readme


def _html_inline(text: str) -> str:
    """Markdown inline code to <code>, everything else escaped."""
    parts = text.split("`")
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                   for i, p in enumerate(parts))


def timeline_html() -> str:
    """The timeline as an HTML table for the report's index page."""
    rows = [f'<tr><td><a href="{html.escape(v.link)}">{html.escape(v.name)}</a></td>'
            f"<td>{v.date}</td><td>{_html_inline(v.what)}</td><td>{_html_inline(v.fate)}</td>"
            "</tr>" for v in TIMELINE]
    return ("<table><tr><th>version</th><th>date</th><th>what it does</th><th>fate</th></tr>"
            + "".join(rows) + "</table>")


def findings_html() -> str:
    """The findings as an HTML table for the report's index page (links to ``NN.html``)."""
    rows: list[str] = []
    for group, n, f in _numbered():
        if group is not None:
            rows.append(f'<tr><td></td><td colspan="4"><b>{html.escape(group)}</b></td></tr>')
        rows.append(f'<tr><td>{n}</td><td>{_html_inline(f.sentence)} '
                    f'<a href="{f.notebook}.html#{f.anchor}">→ {f.notebook[:2]}</a></td>'
                    f"<td>{html.escape(f.evidence_label)}</td><td>{_html_inline(f.scope)}</td>"
                    f"<td>{_html_inline(on_android(f))}</td></tr>")
    return ("<table><tr><th>#</th><th>finding</th><th>evidence</th><th>holds for</th>"
            "<th>on Android</th></tr>"
            + "".join(rows) + "</table>")


def main(argv: list[str] | None = None) -> int:
    """Print the README blocks, or rewrite them in place with ``--write README.md``."""
    ap = argparse.ArgumentParser(prog="python -m mrelease_ref.findings",
                                 description="the README's timeline and findings blocks")
    ap.add_argument("--write", type=Path, help="README to rewrite in place")
    args = ap.parse_args(argv)
    if args.write is None:
        print(timeline_markdown(), findings_markdown(), sep="\n\n")
        return 0
    text = args.write.read_text(encoding="utf-8")
    args.write.write_text(readme_with_blocks(text), encoding="utf-8")
    print(f"rewrote the timeline and findings blocks of {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
