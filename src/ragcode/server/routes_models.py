"""`GET /api/models`: which model and endpoints serve answers, with their health (the web's
"모델" panel and the typed `/models`).

Every logged-in user sees kinds, configured model names and health; what names where an
endpoint is (URL, region, SageMaker endpoint or Bedrock model id, file path) only admins see,
and never a key: none is read here. Health comes from the endpoint pool's circuit breakers
(llm/pool.py) once the pool is built, "unknown" before; the embedded model is "ok" when the
configured one can be chosen (it has no circuit: a failure to load shows in the answer).
Nothing is built to answer: a pool may hold a llama.cpp endpoint, whose model would load on
the event loop.
"""

from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter
from pydantic import BaseModel

from ragcode.app import llm_model_name
from ragcode.config import LlmEndpoint, Settings
from ragcode.llm.circuit import CircuitState
from ragcode.llm.pool import EndpointStatus, LLMPool
from ragcode.server.deps import CurrentUser, StateDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["models"])

Health = Literal["ok", "down", "probing", "unknown"]
_HEALTH: dict[CircuitState, Health] = {"closed": "ok", "open": "down", "half_open": "probing"}


class Endpoint(BaseModel):
    name: str
    kind: str  # embedded, llamacpp, openai, bedrock, sagemaker
    health: Health
    in_flight: int | None = None  # pool endpoints only
    completed: int | None = None
    failed: int | None = None
    location: str | None = None  # admins only: URL (no credentials), region, file path


class Models(BaseModel):
    model: str  # what answers go by (a pool: its endpoints' model names joined)
    endpoints: list[Endpoint]


def _safe_url(url: str) -> str:
    """The URL without user:password, query or fragment (where keys sometimes ride)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _location(profile: LlmEndpoint) -> str | None:
    if profile.kind == "openai" and profile.url:
        return _safe_url(profile.url)
    if profile.kind in ("bedrock", "sagemaker"):
        where = profile.endpoint_name if profile.kind == "sagemaker" else profile.model_id
        return f"{profile.region}/{where}"
    return str(profile.model_path) if profile.model_path else None


def _name(profile: LlmEndpoint, admin: bool) -> str:
    """Admins: the model, model id, endpoint or file it names; others: the configured model
    name or the kind (a SageMaker endpoint name or a Bedrock id says where it runs)."""
    if profile.model:
        return profile.model
    if not admin:
        return profile.kind
    named = profile.model_id or profile.endpoint_name
    if named:
        return named
    return profile.model_path.name if profile.model_path else profile.kind


def _is_pool(settings: Settings) -> bool:
    """As `app.build_llm` decides: endpoints other than one local llama.cpp make a pool."""
    endpoints = settings.llm.endpoints
    return bool(endpoints) and not (len(endpoints) == 1 and endpoints[0].kind == "llamacpp")


def _model_name(settings: Settings) -> tuple[str, Health]:
    try:
        return llm_model_name(settings), "ok"
    except Exception as exc:  # an unknown or missing model: it cannot answer
        log.warning("model name unavailable error=%s", exc)
        return "", "down"


@router.get("/models")
async def models(user: CurrentUser, state: StateDep) -> Models:
    settings = state.core.settings
    name, health = _model_name(settings)
    admin = user.is_admin
    if not _is_pool(settings):
        profile = settings.llm.endpoints[0] if settings.llm.endpoints else None
        location = str(settings.llm.model_path or "") or None
        if profile is not None:
            location = _location(profile)
        kind = profile.kind if profile is not None else "embedded"
        one = Endpoint(name=name, kind=kind, health=health, location=location if admin else None)
        return Models(model=name, endpoints=[one])
    if not admin:  # the pool's name may name SageMaker endpoints and regions
        name = "+".join(sorted({_name(profile, False) for profile in settings.llm.endpoints}))
    llm = state.core.llm.loaded  # not built yet: health unknown (building may load a model)
    statuses: list[EndpointStatus | None] = list(llm.status()) if isinstance(llm, LLMPool) else []
    statuses += [None] * (len(settings.llm.endpoints) - len(statuses))
    endpoints = []
    for profile, status in zip(settings.llm.endpoints, statuses, strict=True):
        endpoints.append(
            Endpoint(
                name=_name(profile, admin), kind=profile.kind,
                health=_HEALTH[status.state] if status else "unknown",
                in_flight=status.in_flight if status else None,
                completed=status.completed if status else None,
                failed=status.failed if status else None,
                location=_location(profile) if admin else None,
            )
        )  # fmt: skip
    return Models(model=name, endpoints=endpoints)
