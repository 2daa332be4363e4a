"""process_mrelease() flags, as the series adds them to include/uapi/linux/mman.h.

Kernel: include/uapi/linux/mman.h (v1/v2/v3 of "mm: process_mrelease: ... add auto-kill";
mainline v6.18 has no process_mrelease() flag: ``flags`` must be 0)

Limitations:
- Only the two defines of the series; the rest of mman.h is not needed here.
"""

from __future__ import annotations

from typing import Final

PROCESS_MRELEASE_REAP_KILL: Final = 1 << 0
"""Kill the target (SIGKILL to its thread group) and reap it in one call."""

PROCESS_MRELEASE_VALID_FLAGS: Final = PROCESS_MRELEASE_REAP_KILL
"""Every flag a patched kernel accepts (the series puts this mask in the uapi header)."""
