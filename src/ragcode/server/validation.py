"""422 answers for requests that do not match an endpoint, without echoing what was sent.

FastAPI's default handler puts each error's `input` (for a body, the raw request bytes) into
the response: non-UTF-8 bytes then crash the handler itself (a 500, fastapi#13111), and a
too-long password is sent back in the clear. Here the user reads one Korean sentence naming
the fields; `errors` keeps where and why for API clients, never the input.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

INVALID_REQUEST = "요청 형식이 올바르지 않습니다"


def _where(location: Any) -> str:
    return ".".join(str(part) for part in location) if isinstance(location, list | tuple) else ""


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    problems = exc.errors() if isinstance(exc, RequestValidationError) else []
    errors = [
        {"loc": [str(part) for part in problem.get("loc", ())], "msg": str(problem.get("msg"))}
        for problem in problems
    ]
    fields = ", ".join(dict.fromkeys(_where(problem.get("loc")) for problem in problems))
    detail = f"{INVALID_REQUEST} ({fields})." if fields else f"{INVALID_REQUEST}."
    return JSONResponse(
        {"detail": detail, "errors": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )
