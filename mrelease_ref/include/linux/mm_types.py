"""Memory-management structures: folios, page-table entries, VMAs and ``mm_struct``.

Kernel: include/linux/mm_types.h (struct folio, struct vm_area_struct, struct mm_struct),
include/linux/mm_types_task.h, include/linux/pgtable.h (pte bits), include/linux/swap.h
(swp_entry_t).

Representation choices, each chosen so a reader can map it back to C:

* A ``struct page *`` is the pair ``(folio, idx)`` (:data:`Page`): the folio and the page's
  index inside it. Nothing on the reaper's path needs per-page state on v6.18 (per-page
  mapcounts are gone with CONFIG_NO_PAGE_MAPCOUNT), so a tuple is enough.
* Page tables are two levels: ``mm.pgd`` maps a PMD index (``addr >> PMD_SHIFT``) to either a
  PTE table (:class:`PteTable`, ``PTRS_PER_PTE`` slots) or a huge PMD (:class:`Pmd`).
  PGD/P4D/PUD levels have nothing to decide on this path and are folded away.
* A PTE slot holds a value, as a ``pte_t`` does: ``pte_none``, a present entry (folio, page
  index, ``_PAGE_*`` bits) or a swap entry (:class:`SwpEntry`). The table stores it in two
  parallel arrays (a reference and a 32-bit word per slot, 12 bytes), so a present entry is
  no object; reading ``table[i]`` (``ptep_get()``) returns None, the SwpEntry or an
  immutable :class:`Pte` snapshot, and a change is written back (``table[i] = pte``,
  ``set_pte_at()``, or the ``ptep_*()`` helpers).
* An order-0 folio is a :class:`Folio`, a large one a :class:`LargeFolio`, the only kind
  that stores its order (``folio_order()`` of a small folio is 0 without reading a field).
  ``folio->lru`` is two slots, the links of an intrusive LRU list.
* ``Folio._mapcount`` stores what ``folio_mapcount()`` returns (the number of PTE and PMD
  mappings), not the kernel's ``-1``-biased field.
* Every struct that needs the kernel's globals carries ``kernel`` (model-only), a pointer to
  the owning :class:`~mrelease_ref.sim.kernel.Kernel`. That is how the model avoids global
  state while keeping kernel signatures such as ``folio_mark_accessed(folio)``. A folio is
  the exception: a ``struct page`` has no pointer to its machine, and a slot would cost
  every base page of the model 8 bytes, so ``Folio.kernel`` is a class attribute of the
  Kernel's own subclasses of :class:`Folio` and :class:`LargeFolio`
  (``Kernel.folio_types``, made by :func:`folio_types`), which keep those names.

Limitations:
- No NUMA nodes, zones or memcgs: one node, one lruvec, one zone.
- No PUD-level huge pages; hugetlb pages are 2 MiB, mapped by PMD-level entries
  (mrelease_ref/mm/hugetlb.py).
- The maple tree is a list sorted by ``vm_start``.
- CONFIG_MM_ID tracking keeps the kernel's two slots and its "maybe shared" bit, with the
  rules of ``folio_add_return_large_mapcount()`` simplified to whole-folio granularity.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, NamedTuple, TypeAlias

from mrelease_ref.include.linux.page_flags import PG_anon, PG_swapbacked, flags_str

if TYPE_CHECKING:
    from mrelease_ref.include.linux.fs import AddressSpace, File
    from mrelease_ref.include.linux.mmzone import ListHead
    from mrelease_ref.include.linux.rwsem import RwSemaphore
    from mrelease_ref.sim.kernel import Kernel

# --- sizes: one geometry per page size (Kernel(page_size=...), its ``k.pg``) ------------

PAGE_SIZES: Final = (4096, 16384, 65536)
"""The base page sizes a Kernel can be built with: x86_64's 4 KiB and arm64's three
granules (arch/arm64/Kconfig: ARM64_4K_PAGES, ARM64_16K_PAGES, ARM64_64K_PAGES)."""


@dataclass(frozen=True, slots=True)
class PageGeometry:
    """Everything on the modelled paths that scales with the base page size.

    Kernel (v6.18): arch/x86/include/asm/page_types.h and pgtable_64_types.h (4 KiB);
    arch/arm64/include/asm/page-def.h (``PAGE_SHIFT`` = CONFIG_PAGE_SHIFT) and
    pgtable-hwdef.h (``PTDESC_TABLE_SHIFT`` = PAGE_SHIFT - 3, ``PTRS_PER_PTE`` =
    1 << PTDESC_TABLE_SHIFT, ``PMD_SHIFT`` = ARM64_HW_PGTABLE_LEVEL_SHIFT(2) =
    2 * PTDESC_TABLE_SHIFT + 3); include/linux/huge_mm.h (``HPAGE_PMD_ORDER`` = PMD_SHIFT -
    PAGE_SHIFT); include/linux/pagemap.h (``MAX_PAGECACHE_ORDER`` = min(MAX_XAS_ORDER,
    HPAGE_PMD_ORDER), MAX_XAS_ORDER = 2 * XA_CHUNK_SHIFT - 1 = 11); arch/arm64/Kconfig
    (``ARCH_FORCE_MAX_ORDER``: 10, 11 with 16K, 13 with 64K; x86_64's MAX_PAGE_ORDER is
    10); include/asm-generic/tlb.h (``MAX_GATHER_BATCH`` = (PAGE_SIZE - sizeof(struct
    mmu_gather_batch)) / sizeof(void *), ``MAX_GATHER_BATCH_COUNT`` = 10000 /
    MAX_GATHER_BATCH); mm/memory.c (``fault_around_pages`` = fault_around_bytes 64 KiB >>
    PAGE_SHIFT); mm/page_alloc.c:zone_batchsize() (``pcp->batch`` from SZ_1M / PAGE_SIZE).

    Both x86_64 and arm64 use 8-byte page-table entries, so one formula serves both: a PTE
    table fills one page, a PMD maps a PTE table's worth of pages.
    """

    PAGE_SHIFT: int
    PAGE_SIZE: int
    PMD_SHIFT: int
    PMD_SIZE: int
    PTRS_PER_PTE: int
    HPAGE_PMD_ORDER: int
    HPAGE_PMD_NR: int
    MAX_PAGECACHE_ORDER: int
    MAX_PAGE_ORDER: int
    MAX_GATHER_BATCH: int
    MAX_GATHER_BATCH_COUNT: int
    FAULT_AROUND_PAGES: int
    PCP_BATCH: int

    @property
    def kb_per_page(self) -> int:
        """kB per page: what /proc (``K()``: ``x << (PAGE_SHIFT - 10)``) multiplies by."""
        return self.PAGE_SIZE >> 10

    @property
    def pages_per_mib(self) -> int:
        """Pages per MiB (memory and swap sizes given in MiB become pages with this)."""
        return (1 << 20) >> self.PAGE_SHIFT

    def pte_index(self, address: int) -> int:
        """Kernel: include/linux/pgtable.h:pte_index()"""
        return (address >> self.PAGE_SHIFT) & (self.PTRS_PER_PTE - 1)


def _pcp_batch(page_shift: int) -> int:
    # zone_batchsize() for a zone above 1 GiB: min(managed >> 10, SZ_1M / PAGE_SIZE) / 4,
    # then rounddown_pow_of_two(batch + batch / 2) - 1.
    batch = max(((1 << 20) >> page_shift) // 4, 1)
    return (1 << ((batch + batch // 2).bit_length() - 1)) - 1


def _geometry(page_size: int) -> PageGeometry:
    shift = page_size.bit_length() - 1
    table_shift = shift - 3  # PTDESC_TABLE_SHIFT: 8-byte entries in one page
    pmd_shift = 2 * table_shift + 3
    order = pmd_shift - shift
    batch = (page_size - 16) // 8
    return PageGeometry(
        PAGE_SHIFT=shift, PAGE_SIZE=page_size, PMD_SHIFT=pmd_shift, PMD_SIZE=1 << pmd_shift,
        PTRS_PER_PTE=1 << table_shift, HPAGE_PMD_ORDER=order, HPAGE_PMD_NR=1 << order,
        MAX_PAGECACHE_ORDER=min(11, order),
        MAX_PAGE_ORDER={4096: 10, 16384: 11, 65536: 13}[page_size],
        MAX_GATHER_BATCH=batch, MAX_GATHER_BATCH_COUNT=10000 // batch,
        FAULT_AROUND_PAGES=max(65536 >> shift, 1), PCP_BATCH=_pcp_batch(shift),
    )


GEOMETRIES: Final[dict[int, PageGeometry]] = {size: _geometry(size) for size in PAGE_SIZES}
"""The geometry of each supported page size (immutable; a Kernel keeps its own in ``pg``)."""

GEOMETRY_4K: Final = GEOMETRIES[4096]
"""x86_64's 4 KiB pages: the default, and what the module constants below are."""

# The 4 KiB values as module constants, for tests, scenarios and notebooks that build 4 KiB
# kernels. Model code (mm/, kernel/, fs/, include/, series/, sim/) reads ``k.pg`` instead
# (tests/test_page_size.py::test_model_code_reads_the_kernels_geometry).
PAGE_SHIFT: Final = GEOMETRY_4K.PAGE_SHIFT
PAGE_SIZE: Final = GEOMETRY_4K.PAGE_SIZE
PMD_SHIFT: Final = GEOMETRY_4K.PMD_SHIFT
PMD_SIZE: Final = GEOMETRY_4K.PMD_SIZE
PTRS_PER_PTE: Final = GEOMETRY_4K.PTRS_PER_PTE
HPAGE_PMD_ORDER: Final = GEOMETRY_4K.HPAGE_PMD_ORDER
HPAGE_PMD_NR: Final = GEOMETRY_4K.HPAGE_PMD_NR

# --- PTE bits (model encoding; x86 calls them _PAGE_ACCESSED/_PAGE_DIRTY/_PAGE_RW) -------
_PAGE_ACCESSED: Final = 1 << 0
_PAGE_DIRTY: Final = 1 << 1
_PAGE_RW: Final = 1 << 2
_PAGE_SPECIAL: Final = 1 << 3


class VmFlags(enum.IntFlag):
    """``vma->vm_flags`` bits. Kernel: include/linux/mm.h (VM_* defines)."""

    VM_READ = 0x00000001
    VM_WRITE = 0x00000002
    VM_EXEC = 0x00000004
    VM_SHARED = 0x00000008
    VM_MAYREAD = 0x00000010
    VM_MAYWRITE = 0x00000020
    VM_MAYEXEC = 0x00000040
    VM_MAYSHARE = 0x00000080
    VM_PFNMAP = 0x00000400
    VM_LOCKED = 0x00002000
    VM_IO = 0x00004000
    VM_SEQ_READ = 0x00008000
    VM_RAND_READ = 0x00010000
    VM_DONTCOPY = 0x00020000
    VM_HUGETLB = 0x00400000
    VM_WIPEONFORK = 0x02000000
    VM_MIXEDMAP = 0x10000000
    VM_HUGEPAGE = 0x20000000
    VM_NOHUGEPAGE = 0x40000000


VM_READ: Final = int(VmFlags.VM_READ)
VM_WRITE: Final = int(VmFlags.VM_WRITE)
VM_EXEC: Final = int(VmFlags.VM_EXEC)
VM_SHARED: Final = int(VmFlags.VM_SHARED)
VM_MAYREAD: Final = int(VmFlags.VM_MAYREAD)
VM_MAYWRITE: Final = int(VmFlags.VM_MAYWRITE)
VM_MAYEXEC: Final = int(VmFlags.VM_MAYEXEC)
VM_MAYSHARE: Final = int(VmFlags.VM_MAYSHARE)
VM_PFNMAP: Final = int(VmFlags.VM_PFNMAP)
VM_LOCKED: Final = int(VmFlags.VM_LOCKED)
VM_SEQ_READ: Final = int(VmFlags.VM_SEQ_READ)
VM_RAND_READ: Final = int(VmFlags.VM_RAND_READ)
VM_HUGETLB: Final = int(VmFlags.VM_HUGETLB)
VM_DONTCOPY: Final = int(VmFlags.VM_DONTCOPY)
VM_WIPEONFORK: Final = int(VmFlags.VM_WIPEONFORK)
VM_MIXEDMAP: Final = int(VmFlags.VM_MIXEDMAP)
VM_HUGEPAGE: Final = int(VmFlags.VM_HUGEPAGE)
VM_NOHUGEPAGE: Final = int(VmFlags.VM_NOHUGEPAGE)


class MmFlags(enum.IntFlag):
    """``mm->flags`` bits, as masks of the kernel's bit numbers.

    Kernel: include/linux/mm_types.h (MMF_* defines; bit numbers 21, 22, 25, 26 are the
    kernel's, see docs/sources.md §K1.6).
    """

    MMF_OOM_SKIP = 1 << 21
    MMF_UNSTABLE = 1 << 22
    MMF_OOM_REAP_QUEUED = 1 << 25
    MMF_MULTIPROCESS = 1 << 26


MMF_OOM_SKIP: Final = int(MmFlags.MMF_OOM_SKIP)
MMF_UNSTABLE: Final = int(MmFlags.MMF_UNSTABLE)
MMF_OOM_REAP_QUEUED: Final = int(MmFlags.MMF_OOM_REAP_QUEUED)
MMF_MULTIPROCESS: Final = int(MmFlags.MMF_MULTIPROCESS)

# --- rss counters: include/linux/mm_types_task.h ----------------------------------------
MM_FILEPAGES: Final = 0
MM_ANONPAGES: Final = 1
MM_SWAPENTS: Final = 2
MM_SHMEMPAGES: Final = 3
NR_MM_COUNTERS: Final = 4


@dataclass(slots=True, eq=False)
class MmIds:
    """CONFIG_MM_ID state of a large folio: two owner slots and the "maybe shared" bit.

    Kernel: include/linux/mm_types.h (folio->_mm_id[2], _mm_id_mapcount[2],
    FOLIO_MM_IDS_SHARED_BIT).
    """

    mm_id: list[int] = field(default_factory=lambda: [0, 0])
    mapcount: list[int] = field(default_factory=lambda: [0, 0])
    shared: bool = False


@dataclass(slots=True, eq=False)
class AnonVma:
    """Anonymous reverse-map root. Kernel: include/linux/rmap.h (struct anon_vma).

    ``folio->mapping`` of an anonymous folio points at the anon_vma of the VMA that created
    it. ``vmas`` stands in for the anon_vma's interval tree of ``anon_vma_chain`` entries:
    every VMA an rmap walk from this anon_vma must visit -- the VMA it was made for and,
    after fork(), the children's copies of it (``anon_vma_fork()``). ``parent``/``root``
    are the kernel's fields; ``vma`` is the VMA it was made for (model-only).
    """

    vma: VmAreaStruct | None = None
    vmas: list[VmAreaStruct] = field(default_factory=list)
    parent: AnonVma | None = None
    root: AnonVma | None = None

    def __post_init__(self) -> None:
        if self.vma is not None and not self.vmas:
            self.vmas.append(self.vma)  # anon_vma_chain_link() of the VMA it serves
            self.vma.anon_vma_chain.append(self)
        if self.root is None:
            self.root = self

    def __repr__(self) -> str:
        return f"AnonVma(vmas={len(self.vmas)})"


@dataclass(slots=True, eq=False)
class FolioTail:
    """The folio fields most folios never use, kept apart from :class:`Folio`.

    Kernel: include/linux/mm_types.h (struct folio): ``_entire_mapcount``, ``_pincount``
    and ``_mm_id``/``_mm_id_mapcount`` live in a large folio's tail pages (page[1],
    page[2]) and exist only for large folios; ``mlock_count`` shares a union with
    ``folio->lru``. The model keeps ``_pincount`` for small folios too (the kernel counts
    their pins in ``_refcount`` with GUP_PIN_COUNTING_BIAS). It also keeps ``private``
    (``folio->private``, which shares a union with ``folio->swap``): only swap-cache folios
    and folios with buffer heads use it, and a slot would cost every base page 8 bytes.
    Made by the first write to any of them (:meth:`Folio._folio_tail`). A large folio holds
    it in a slot; a small folio, which has no tail pages, in its Kernel's
    ``small_folio_tails`` (dropped when the folio is freed).
    """

    _entire_mapcount: int = 0
    _pincount: int = 0
    mlock_count: int = 0
    _mm_ids: MmIds | None = None
    private: object | None = None


@dataclass(slots=True, eq=False, init=False)
class Folio:
    """A folio: ``1 << order`` contiguous pages with one refcount and one set of flags.

    Kernel: include/linux/mm_types.h (struct folio)

    Model-only fields: ``kernel`` (owning Kernel; a class attribute, see
    :func:`folio_types`), ``pfn`` (identity; never reused),
    ``_pincount`` (GUP pins, each also holding one reference), ``_data`` (the pages'
    contents as tokens, see :mod:`mrelease_ref.include.linux.highmem`: None while every
    page still holds its initial content, one int for all pages of the folio, or one int
    per page).

    ``_entire_mapcount``, ``_pincount``, ``_mm_ids``, ``mlock_count`` and ``private`` are
    properties over
    :class:`FolioTail`, a second object made on their first write (the kernel keeps the
    first three in a large folio's tail pages and overlays ``mlock_count`` on
    ``folio->lru``): most folios never need them, and a slot each would cost every base page
    of the model 8 bytes (see :mod:`mrelease_ref.bench.reap`). For the same reason
    ``order`` is stored only by :class:`LargeFolio` (``folio_order()`` of a small folio is
    0, read from the class). ``_lru_prev``/``_lru_next`` are ``folio->lru``, the links of
    the LRU list the folio sits on (:class:`~mrelease_ref.include.linux.mmzone.ListHead`).
    """

    # folio_order() of a small folio: 0, stored nowhere (LargeFolio stores its own)
    order = 0
    kernel: ClassVar[Kernel]
    pfn: int
    flags: int = 0
    _refcount: int = 1
    _mapcount: int = 0
    mapping: AddressSpace | AnonVma | None = None
    index: int = 0
    _data: int | list[int] | None = None
    # folio->lru: the links of the LRU list the folio sits on (include/linux/mmzone.py
    # ListHead), None on none
    _lru_prev: Folio | ListHead | None = None
    _lru_next: Folio | ListHead | None = None

    def __new__(cls, kernel: Kernel, pfn: int, order: int = 0) -> Folio:
        # Folio(kernel, ...) makes an instance of the kernel's own subclass (folio_types())
        own = kernel.folio_types.get(cls, cls) if hasattr(kernel, "folio_types") else None
        if own is None or own.__dict__.get("kernel") is not kernel:
            raise TypeError("a Folio belongs to a mrelease_ref Kernel: pass one as `kernel`")
        return object.__new__(own)

    def __init__(self, kernel: Kernel, pfn: int, order: int = 0) -> None:
        if order:
            raise ValueError(f"Folio is an order-0 folio; make an order-{order} one with "
                             "LargeFolio(kernel, pfn, order) (folio_alloc() does)")
        self.pfn = pfn
        self.flags = 0
        self._refcount = 1
        self._mapcount = 0
        self.mapping = None
        self.index = 0
        self._data = None
        self._lru_prev = self._lru_next = None

    @property
    def _tail(self) -> FolioTail | None:
        """The folio's rare fields: a small folio's live in its Kernel's
        ``small_folio_tails`` (:class:`LargeFolio` overrides this with a slot)."""
        return self.kernel.small_folio_tails.get(self)

    @_tail.setter
    def _tail(self, value: FolioTail | None) -> None:
        if value is None:
            self.kernel.small_folio_tails.pop(self, None)
        else:
            self.kernel.small_folio_tails[self] = value

    @property
    def private(self) -> object | None:
        """``folio->private`` (in :class:`FolioTail`, which see)."""
        tail = self._tail
        return None if tail is None else tail.private

    @private.setter
    def private(self, value: object | None) -> None:
        tail = self._tail
        if tail is not None:
            tail.private = value
        elif value is not None:
            self._folio_tail().private = value

    @property
    def swap(self) -> SwpEntry | None:
        """``folio->swap``: the swap entry of a folio in the swap cache, which shares a
        union with ``private`` in struct folio (a swap-cache folio has no PG_private)."""
        return self.private  # type: ignore[return-value]

    @swap.setter
    def swap(self, value: SwpEntry | None) -> None:
        self.private = value

    def _folio_tail(self) -> FolioTail:
        tail = self._tail
        if tail is None:
            tail = self._tail = FolioTail()
        return tail

    @property
    def _entire_mapcount(self) -> int:
        tail = self._tail
        return 0 if tail is None else tail._entire_mapcount

    @_entire_mapcount.setter
    def _entire_mapcount(self, value: int) -> None:
        self._folio_tail()._entire_mapcount = value

    @property
    def _pincount(self) -> int:
        tail = self._tail
        return 0 if tail is None else tail._pincount

    @_pincount.setter
    def _pincount(self, value: int) -> None:
        self._folio_tail()._pincount = value

    @property
    def _mm_ids(self) -> MmIds | None:
        tail = self._tail
        return None if tail is None else tail._mm_ids

    @_mm_ids.setter
    def _mm_ids(self, value: MmIds | None) -> None:
        self._folio_tail()._mm_ids = value

    @property
    def mlock_count(self) -> int:
        tail = self._tail
        return 0 if tail is None else tail.mlock_count

    @mlock_count.setter
    def mlock_count(self, value: int) -> None:
        self._folio_tail().mlock_count = value

    def __repr__(self) -> str:
        return (
            f"Folio(pfn={self.pfn}, order={self.order}, flags={flags_str(self.flags)}, "
            f"ref={self._refcount}, map={self._mapcount})"
        )


class LargeFolio(Folio):
    """A folio of order > 0: a :class:`Folio` that also stores its order.

    Kernel: include/linux/mm.h:folio_order(): a small folio's order is 0 without looking
    further (``folio_test_large()`` is false); a large folio's is ``folio_large_order()``,
    the low byte of ``_flags_1`` in its first tail page. The model stores the order only in
    large folios (this subclass) and reads 0 from the class for small ones, so an order-0
    folio, one per base page, carries no slot for it. Made by ``folio_alloc()``.
    """

    # a slot named _tail shadows Folio's side-table property: a large folio has tail pages
    __slots__ = ("_tail", "order")

    def __init__(self, kernel: Kernel, pfn: int, order: int) -> None:
        if order < 1:
            raise ValueError(f"LargeFolio needs order >= 1, got {order}; use Folio")
        Folio.__init__(self, kernel, pfn)
        self.order = order
        self._tail = None


def folio_types(kernel: Kernel) -> dict[type[Folio], type[Folio]]:
    """Model helper: ``kernel``'s own subclasses of :class:`Folio` and :class:`LargeFolio`,
    keyed by the class they refine. ``kernel`` is their class attribute, so no folio stores
    it; they add no slots and keep their base's name (reprs and tables do not change)."""
    out: dict[type[Folio], type[Folio]] = {}
    for base in (Folio, LargeFolio):
        out[base] = type(base.__name__, (base,), {
            "__slots__": (), "kernel": kernel, "__module__": base.__module__,
            "__qualname__": base.__qualname__})
    return out


Page: TypeAlias = tuple[Folio, int]
"""A ``struct page *``: the folio and the index of the page inside it."""


class Pte(NamedTuple):
    """A present page-table entry, as a value. Kernel: arch/x86/include/asm/pgtable_types.h
    (pte_t).

    Like a ``pte_t`` read with ``ptep_get()``, a ``Pte`` is a snapshot of a table slot, not
    the slot: it is immutable, and a change reaches the page table only through a write
    (``table[i] = pte``, i.e. ``set_pte_at()``, or the ``ptep_*()`` helpers below). A
    ``NamedTuple`` because reads make one per look-up: it costs a third of a frozen
    dataclass to build.
    """

    folio: Folio | None
    idx: int
    bits: int

    def __repr__(self) -> str:
        b = "".join(
            c for c, m in (("A", _PAGE_ACCESSED), ("D", _PAGE_DIRTY), ("W", _PAGE_RW),
                           ("S", _PAGE_SPECIAL)) if self.bits & m
        )
        pfn = self.folio.pfn + self.idx if self.folio else "zero"
        return f"Pte(pfn={pfn}, {b or '-'})"


@dataclass(slots=True, eq=False, frozen=True)
class SwpEntry:
    """A swap entry (``swp_entry_t``): swap type and slot offset. Kernel: include/linux/swap.h"""

    type: int
    offset: int


@dataclass(slots=True, eq=False)
class Pmd:
    """A present huge PMD mapping a PMD-sized folio. Kernel: include/linux/pgtable.h (pmd_t)."""

    folio: Folio | None
    bits: int


PTE_PRESENT: Final = 1 << 8
"""Model encoding of a slot value in :attr:`PteTable.vals`: set for a present entry (the
role of x86's ``_PAGE_PRESENT``); below it the ``_PAGE_*`` bits, above it the page index
(23 bits: a folio has at most ``1 << MAX_PAGE_ORDER`` pages, 8192 with 64 KiB pages)."""
PTE_IDX_SHIFT: Final = 9
PTE_BITS_MASK: Final = PTE_PRESENT - 1


class PteTable:
    """A PTE table: ``PTRS_PER_PTE`` slots. Kernel: the page of ``pte_t`` a PMD points to.

    A slot is a value, not an object, as in the kernel: two parallel stores hold it, so a
    present entry costs 12 bytes and no object. ``refs[i]`` is the mapped folio (None for
    the zero page and PFN mappings), the :class:`SwpEntry` of a swap entry, or None;
    ``vals[i]`` is 0 for ``pte_none()`` and for a swap entry, otherwise
    ``PTE_PRESENT | idx << PTE_IDX_SHIFT | bits``. ``table[i]`` reads a slot
    (``ptep_get()``: None, the SwpEntry, or a :class:`Pte` made on the spot) and
    ``table[i] = entry`` writes one (``set_pte_at()``, or ``pte_clear()`` with None).
    """

    __slots__ = ("refs", "vals")

    def __init__(self, nr: int) -> None:
        self.refs: list[Folio | SwpEntry | None] = [None] * nr
        self.vals = array("I", bytes(4 * nr))  # 32-bit words (C unsigned int)

    def __len__(self) -> int:
        return len(self.refs)

    def __getitem__(self, i: int) -> Pte | SwpEntry | None:
        v = self.vals[i]
        if not v:
            return self.refs[i]  # type: ignore[return-value]  # None or a SwpEntry
        return _tuple_new(Pte, (self.refs[i], v >> PTE_IDX_SHIFT, v & PTE_BITS_MASK))

    def __setitem__(self, i: int, entry: Pte | SwpEntry | None) -> None:
        if type(entry) is Pte:
            self.set_present(i, entry.folio, entry.idx, entry.bits)
        elif entry is None or type(entry) is SwpEntry:
            self.refs[i] = entry
            self.vals[i] = 0
        else:
            raise TypeError(f"a PTE slot holds None, a Pte or a SwpEntry, not {entry!r}")

    def set_present(self, i: int, folio: Folio | None, idx: int, bits: int) -> None:
        """Model helper: write a present entry into slot ``i`` without building a
        :class:`Pte` (the one place that encodes a slot's word)."""
        self.refs[i] = folio
        self.vals[i] = PTE_PRESENT | idx << PTE_IDX_SHIFT | bits

    def __iter__(self) -> Iterator[Pte | SwpEntry | None]:
        for i in range(len(self.refs)):
            yield self[i]

    def __repr__(self) -> str:
        return f"PteTable({sum(1 for e in self if e is not None)}/{len(self.refs)} used)"

    def used(self, lo: int = 0, hi: int | None = None) -> bool:
        """Model helper: does a slot in ``[lo, hi)`` hold an entry (not ``pte_none()``)?"""
        return any(self.vals[lo:hi]) or any(r is not None for r in self.refs[lo:hi])

    def is_empty(self) -> bool:
        """Model helper: is every slot ``pte_none()``?"""
        return not self.used()


_tuple_new = tuple.__new__


def ptep_set_bits(table: PteTable, i: int, bits: int) -> None:
    """Model helper: set ``_PAGE_*`` bits of the present entry in slot ``i``, what the fault
    paths' ``ptep_set_access_flags()`` (A/D/W) and a ``pte_mkyoung()``/``pte_mkdirty()`` +
    ``set_pte_at()`` pair write back.

    Kernel: arch/x86/mm/pgtable.c:ptep_set_access_flags()
    """
    v = table.vals[i]
    assert v & PTE_PRESENT, "ptep_set_bits() on a slot with no present entry"
    table.vals[i] = v | bits


def ptep_clear_bits(table: PteTable, i: int, bits: int) -> None:
    """Model helper: clear ``_PAGE_*`` bits of the present entry in slot ``i``, as
    ``ptep_set_wrprotect()`` (``_PAGE_RW``) and ``clear_young_dirty_ptes()``
    (``_PAGE_ACCESSED``/``_PAGE_DIRTY``) do.

    Kernel: arch/x86/include/asm/pgtable.h:ptep_set_wrprotect(),
    include/linux/pgtable.h:clear_young_dirty_ptes()
    """
    v = table.vals[i]
    assert v & PTE_PRESENT, "ptep_clear_bits() on a slot with no present entry"
    table.vals[i] = v & ~bits


def ptep_test_and_clear_young(table: PteTable, i: int) -> bool:
    """Kernel: arch/x86/mm/pgtable.c:ptep_test_and_clear_young(): clear the accessed bit
    of a present entry and say whether it was set."""
    v = table.vals[i]
    if not v & _PAGE_ACCESSED:
        return False
    table.vals[i] = v & ~_PAGE_ACCESSED
    return True


@dataclass(slots=True, eq=False)
class VmAreaStruct:
    """A VMA. Kernel: include/linux/mm_types.h (struct vm_area_struct)

    ``vm_ops`` is a short name for the kernel's ``vma->vm_ops`` table (``None`` for private
    anonymous memory, as ``vma_is_anonymous()`` expects).
    """

    vm_mm: MmStruct
    vm_start: int
    vm_end: int
    vm_flags: int
    vm_pgoff: int = 0
    vm_file: File | None = None
    anon_vma: AnonVma | None = None
    vm_ops: str | None = None
    anon_vma_chain: list[AnonVma] = field(default_factory=list)

    def __repr__(self) -> str:
        f = self.vm_flags
        perms = (
            ("r" if f & VM_READ else "-") + ("w" if f & VM_WRITE else "-")
            + ("x" if f & VM_EXEC else "-") + ("s" if f & VM_MAYSHARE else "p")
        )
        extra = "".join(
            f" {name}" for name, bit in (("locked", VM_LOCKED), ("hugepage", VM_HUGEPAGE),
                                         ("pfnmap", VM_PFNMAP), ("hugetlb", VM_HUGETLB))
            if f & bit
        )
        return f"Vma({self.vm_start:#x}-{self.vm_end:#x} {perms} {self.vm_ops or 'anon'}{extra})"


@dataclass(slots=True, eq=False)
class MmuNotifier:
    """Kernel: include/linux/mmu_notifier.h (struct mmu_notifier), reduced to one property.

    ``blocks`` models a subscriber (KVM, a GPU driver) whose invalidate_range_start cannot
    run without sleeping, so a non-blocking start fails with -EAGAIN.
    """

    name: str
    blocks: bool = True


@dataclass(slots=True, eq=False)
class MmStruct:
    """An address space. Kernel: include/linux/mm_types.h (struct mm_struct)

    ``mm_mt`` stands in for the maple tree: VMAs sorted by ``vm_start``. ``mm_id`` is the
    CONFIG_MM_ID identifier. Model-only: ``kernel``, ``mmap_next`` (address allocator).
    """

    kernel: Kernel
    mm_id: int
    mmap_lock: RwSemaphore
    mm_users: int = 1
    mm_count: int = 1
    flags: int = 0
    mm_mt: list[VmAreaStruct] = field(default_factory=list)
    pgd: dict[int, PteTable | Pmd] = field(default_factory=dict)
    rss_stat: list[int] = field(default_factory=lambda: [0] * NR_MM_COUNTERS)
    pgtables_bytes: int = 0
    tlb_flush_pending: int = 0
    notifier_subscriptions: list[MmuNotifier] = field(default_factory=list)
    mmap_next: int = 0x10_0000_0000
    freed: bool = False
    hugetlb_usage: int = 0
    total_vm: int = 0

    @property
    def map_count(self) -> int:
        """``mm->map_count``: number of VMAs."""
        return len(self.mm_mt)

    def __repr__(self) -> str:
        return f"Mm(id={self.mm_id}, users={self.mm_users}, count={self.mm_count})"


# --- small inline helpers: include/linux/mm.h ------------------------------------------


def pte_young(pte: Pte) -> bool:
    """Kernel: arch/x86/include/asm/pgtable.h:pte_young()"""
    return bool(pte.bits & _PAGE_ACCESSED)


def pte_dirty(pte: Pte) -> bool:
    """Kernel: arch/x86/include/asm/pgtable.h:pte_dirty()"""
    return bool(pte.bits & _PAGE_DIRTY)


def folio_nr_pages(folio: Folio) -> int:
    """Kernel: include/linux/mm.h:folio_nr_pages()"""
    return 1 << folio.order


def folio_size(folio: Folio) -> int:
    """Kernel: include/linux/mm.h:folio_size()"""
    return folio.kernel.pg.PAGE_SIZE << folio.order


def page_folio(page: Page) -> Folio:
    """Kernel: include/linux/page-flags.h:page_folio()"""
    return page[0]


def folio_ref_count(folio: Folio) -> int:
    """Kernel: include/linux/page_ref.h:folio_ref_count()"""
    return folio._refcount


def folio_mapcount(folio: Folio) -> int:
    """Kernel: include/linux/mm.h:folio_mapcount()

    Number of page-table entries (PTEs and PMDs) that map the folio.
    """
    return folio._mapcount


def folio_mapped(folio: Folio) -> bool:
    """Kernel: include/linux/mm.h:folio_mapped()"""
    return folio._mapcount >= 1


def folio_maybe_mapped_shared(folio: Folio) -> bool:
    """Kernel: include/linux/mm.h:folio_maybe_mapped_shared()

    A small folio is shared when mapped more than once. A large folio mapped at most once
    is exclusive; otherwise CONFIG_MM_ID's "maybe shared" bit decides (without MM_ID the
    answer is a conservative True).
    """
    mapcount = folio_mapcount(folio)
    if not folio.order:
        return mapcount > 1
    if not folio.kernel.config.mm_id:
        return True
    if mapcount <= 1:
        return False
    ids = folio._mm_ids
    return ids is not None and ids.shared


def vma_is_anonymous(vma: VmAreaStruct) -> bool:
    """Kernel: include/linux/mm.h:vma_is_anonymous()

    True for private anonymous VMAs, which have no ``vm_ops``.
    """
    return vma.vm_ops is None


def mm_flags_test(flag: int, mm: MmStruct) -> bool:
    """Kernel: include/linux/mm.h:mm_flags_test()"""
    return bool(mm.flags & flag)


def mm_flags_set(flag: int, mm: MmStruct) -> None:
    """Kernel: include/linux/mm.h:mm_flags_set()"""
    mm.flags |= flag


def mm_flags_clear(flag: int, mm: MmStruct) -> None:
    """Kernel: include/linux/mm.h:mm_flags_clear()"""
    mm.flags &= ~flag


def mm_flags_test_and_set(flag: int, mm: MmStruct) -> bool:
    """Kernel: include/linux/mm.h:mm_flags_test_and_set()"""
    was = bool(mm.flags & flag)
    mm.flags |= flag
    return was


def get_mm_counter(mm: MmStruct, member: int) -> int:
    """Kernel: include/linux/mm.h:get_mm_counter()"""
    return mm.rss_stat[member]


def add_mm_counter(mm: MmStruct, member: int, value: int) -> None:
    """Kernel: include/linux/mm.h:add_mm_counter()"""
    mm.rss_stat[member] += value


def add_mm_rss_vec(mm: MmStruct, rss: list[int]) -> None:
    """Kernel: mm/memory.c:add_mm_rss_vec()"""
    stat = mm.rss_stat
    for i in range(NR_MM_COUNTERS):
        if rss[i]:
            stat[i] += rss[i]


def get_mm_rss(mm: MmStruct) -> int:
    """Kernel: include/linux/mm.h:get_mm_rss()"""
    s = mm.rss_stat
    return s[MM_FILEPAGES] + s[MM_ANONPAGES] + s[MM_SHMEMPAGES]


def mm_counter_file(folio: Folio) -> int:
    """Kernel: include/linux/mm.h:mm_counter_file()"""
    return MM_SHMEMPAGES if folio.flags & PG_swapbacked else MM_FILEPAGES


def mm_counter(folio: Folio) -> int:
    """Kernel: include/linux/mm.h:mm_counter()"""
    if folio.flags & PG_anon:
        return MM_ANONPAGES
    return mm_counter_file(folio)


def find_vma(mm: MmStruct, addr: int) -> VmAreaStruct | None:
    """Kernel: mm/mmap.c:find_vma() (here: the VMA that contains ``addr``, or None)."""
    for vma in mm.mm_mt:
        if vma.vm_start <= addr < vma.vm_end:
            return vma
    return None


def vma_pages(vma: VmAreaStruct) -> int:
    """Kernel: include/linux/mm.h:vma_pages()"""
    return (vma.vm_end - vma.vm_start) >> vma.vm_mm.kernel.pg.PAGE_SHIFT


def linear_page_index(vma: VmAreaStruct, address: int) -> int:
    """Kernel: include/linux/pagemap.h:linear_page_index()"""
    return ((address - vma.vm_start) >> vma.vm_mm.kernel.pg.PAGE_SHIFT) + vma.vm_pgoff


def vma_address(vma: VmAreaStruct, pgoff: int) -> int:
    """Kernel: mm/internal.h:vma_address() (for a pgoff known to lie inside the VMA)."""
    return vma.vm_start + ((pgoff - vma.vm_pgoff) << vma.vm_mm.kernel.pg.PAGE_SHIFT)
