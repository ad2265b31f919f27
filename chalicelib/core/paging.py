"""Paging tokens: a listing's continuation key is the last key it returned.

Every store (DynamoDB, in memory) hands out and accepts the same shape, ``{"pk": ..., "sk": ...}``
plus ``gsi1pk``/``gsi1sk`` on the index, all strings. A token from a client is checked by the store
before use (:func:`chalicelib.storage.table.check_token`).
"""

from __future__ import annotations

PageKey = dict[str, str]
