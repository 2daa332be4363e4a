"""REAP_KILL v2 (2026-04-29), the version applied to mm-new on 2026-04-30 (ee1440e4568f).

"[PATCH v2] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
Message-ID <20260429211359.3829683-1-minchan@kernel.org> (same code as draft C,
<afE2xchFRh2xARBn@google.com>). Patches 1 and 2 of v1 are not part of it.
"""
