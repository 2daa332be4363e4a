"""The RFC (2026-04-13), three patches, partly retrieved.

"[RFC 0/3] mm: process_mrelease: expedited reclaim and auto-kill support",
Message-ID <20260413223948.556351-1-minchan@kernel.org>. Only the cover letter, the
commit messages, the first hunk of each patch and the diffstats were retrieved
(docs/sources.md §T0, §T3.1); where the model had to infer code it says so with [I].
"""
