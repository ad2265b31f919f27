"""Request bodies of the datasets API (pydantic; imported inside the routes that use them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class InferRequest(BaseModel):
    """``POST /datasets/{dataset}/contract/infer``: the raw object to infer a contract from."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=1024)
    format: Literal["csv", "parquet", "jsonl"] | None = None


class UploadRequest(BaseModel):
    """``POST /datasets/{dataset}/uploads``: the file name to keep at the end of the new key."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=200)
