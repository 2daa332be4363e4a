"""A context-manager mixin for lab resources that must always be cleaned up.

Limitations:
- ``close()`` must be idempotent; the mixin calls it once on leaving the ``with`` block.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Mixin: ``with resource:`` calls ``resource.close()`` on the way out, error or not."""

    __slots__ = ()

    def close(self) -> None:
        """Release the resource (subclasses implement it)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
