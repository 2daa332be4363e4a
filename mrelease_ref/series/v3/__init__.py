"""REAP_KILL v3 (2026-05-11): kill every process that shares the mm.

"[PATCH v3] mm: process_mrelease: introduce PROCESS_MRELEASE_REAP_KILL flag",
Message-ID <20260511214226.937793-1-minchan@kernel.org> (same code as concept F,
<afowD31YsGVdVUBP@google.com>). Christian Brauner rejected the approach
(<20260515-nachdenken-umbenannt-a90006a46e14@brauner>, docs/sources.md §T4.3 #12).
"""
