"""What a processor sends back on a reply topic: a result or an error, never nothing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ReplyError(BaseModel):
    code: str
    message: str
    details: Any | None = None


class Reply(BaseModel):
    """`ok` with a `result`, or not `ok` with an `error` whose code the ingress maps to HTTP."""

    ok: bool
    result: dict[str, Any] | None = None
    error: ReplyError | None = None

    @classmethod
    def success(cls, result: BaseModel | dict[str, Any]) -> Reply:
        body = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return cls(ok=True, result=body)

    @classmethod
    def failure(cls, code: str, message: str, details: Any | None = None) -> Reply:
        return cls(ok=False, error=ReplyError(code=code, message=message, details=details))


ReplyKind = Literal["result", "error"]
