"""The models `/v1` offers: each is one of the web chat's modes under an OpenAI model name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ragcode.chat.modes import Mode


@dataclass(frozen=True, slots=True)
class ApiModel:
    id: str
    mode: Mode  # the web chat's mode: the same service answers
    description: str


_OFFERED = (
    ApiModel(
        "ragcode-code", "code",
        "지식 베이스의 코드를 찾아 그 코드를 바탕으로 새 코드를 만듭니다 (참고한 코드 포함).",
    ),
    ApiModel(
        "ragcode-docs", "qa",
        "올린 문서와 팀 문서에서 답을 찾아 출처 번호([1])와 함께 답합니다.",
    ),
    ApiModel("ragcode-chat", "normal", "검색 없이 언어 모델과 대화합니다."),
)  # fmt: skip
# `GET /v1/models` lists these, in this order. Read-only: a request can never add or swap one.
MODELS: Mapping[str, ApiModel] = MappingProxyType({model.id: model for model in _OFFERED})
MODELS_CREATED = 1_767_225_600  # 2026-01-01: OpenAI's `created`; the models have no date
