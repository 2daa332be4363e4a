"""mmap() refusals of the model against the running kernel: overcommit and hugetlb.

Kernel rules: mm/util.c:__vm_enough_memory() in OVERCOMMIT_GUESS mode refuses a single
commitment larger than totalram + total swap (private writable and shared anonymous
mappings are charged; a read-only private mapping is not); mm/hugetlb.c:
hugetlb_reserve_pages() refuses a MAP_HUGETLB mapping the pool cannot cover. The same
sizes are tried on a Kernel configured like this machine (MemTotal, swap, sysctls) and
with mmap(2) here; only the outcome (mapped, or the errno) is compared. Nothing is
touched, so nothing is allocated. Skips (with the reason) off Linux or when the
machine's sysctls are not the ones the model is configured with.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import sys
from pathlib import Path

import pytest

from mrelease_ref import Kernel

MAP_HUGETLB = 0x40000
MAP_NORESERVE = 0x4000
GIB = 1 << 30


def _meminfo_kb(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _sysctl(name: str) -> int:
    return int(Path(f"/proc/sys/vm/{name}").read_text())


def _skip_reason() -> str:
    if not sys.platform.startswith("linux"):
        return "not Linux"
    if _sysctl("overcommit_memory") != 0 or _sysctl("nr_hugepages") != 0:
        return "vm.overcommit_memory must be 0 and vm.nr_hugepages 0 (these machines' values)"
    if _meminfo_kb("SwapTotal"):
        return "a swap device is configured; the comparison assumes none"
    return ""


def _live(length: int, prot: int, flags: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    addr = libc.mmap(None, length, prot, flags, -1, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return ctypes.get_errno()
    libc.munmap(addr, length)
    return 0


def _model(k: Kernel, length: int, write: bool, shared: bool, hugetlb: bool) -> int:
    p = k.spawn("p", uid=10001)
    try:
        p.mmap(length // mmap.PAGESIZE, write=write, shared=shared, hugetlb=hugetlb)
    except OSError as e:
        return e.errno or 0
    return 0


@pytest.mark.realkernel
@pytest.mark.parametrize(
    ("what", "extra_gib", "write", "shared", "hugetlb"),
    [
        ("private, 1 GiB under MemTotal", -1, True, False, False),
        ("private, 1 GiB over MemTotal", 1, True, False, False),
        ("private read-only, 8 TiB", 8 << 10, False, False, False),
        ("shared anonymous, 8 TiB", 8 << 10, True, True, False),
        ("private, 8 TiB", 8 << 10, True, False, False),
        ("hugetlb 2 MiB, empty pool", None, True, False, True),
    ],
)
def test_mmap_limits_match_the_live_kernel(
    what: str, extra_gib: int | None, write: bool, shared: bool, hugetlb: bool
) -> None:
    """Each size is mapped, or refused with the same errno, on the model and here."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    total_kb = _meminfo_kb("MemTotal")
    if extra_gib is None:
        length = 2 << 20
    elif extra_gib >= 1 << 10:
        length = extra_gib * GIB
    else:
        length = (total_kb << 10) + extra_gib * GIB
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if write else 0)
    flags = mmap.MAP_ANONYMOUS | (mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE)
    flags |= MAP_HUGETLB if hugetlb else 0
    live = _live(length, prot, flags)
    k = Kernel(large_folios=False, mem_mib=total_kb // 1024)
    model = _model(k, length, write, shared, hugetlb)
    assert (what, model) == (what, live), f"model {os.strerror(model)}, kernel {os.strerror(live)}"
    assert live in (0, errno.ENOMEM)
