"""The one pagination dependency of the list routes: `limit` and `offset` query parameters.

`ListPage` is the default page (50 rows, at most 200); `paged(default, maximum)` builds
the same dependency with other bounds (per-example predictions come in larger pages).
No `from __future__ import annotations` here: FastAPI must read the bounds the closure
captured when it inspects the signature.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from app.db import MAX_BIGINT

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def paged(default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> Any:
    """`Depends` on `?limit=` (1..maximum, default `default`) and `?offset=` (>= 0)."""

    def page(
        limit: Annotated[int, Query(ge=1, le=maximum, description="Rows per page.")] = default,
        offset: Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Rows to skip.")] = 0,
    ) -> Page:
        return Page(limit, offset)

    return Depends(page)


ListPage = Annotated[Page, paged()]
