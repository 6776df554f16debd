"""Prompts of RAG code generation (`ragcode ask`, chat mode `code`)."""

from __future__ import annotations

from collections.abc import Sequence

from ragcode.chat.language import Lang
from ragcode.store.protocol import Symbol

# Intent: code first, in the team's own style, grounded in the numbered context units;
# then a short explanation that cites the units it drew on.
SYSTEM_KO = (
    "당신은 팀의 코드베이스를 잘 아는 시니어 개발자입니다. 아래 '참고 코드'는 팀의 실제 코드입니다. "
    "질문에 맞는 {language} 코드를 먼저 하나의 코드 블록(```{language})으로 작성하고, "
    "그다음 한국어로 짧게(3~5문장) 설명하세요. 팀 코드의 이름, 스타일, 사용하는 함수와 모듈을 따르고, "
    "참고한 코드는 [1], [2]처럼 번호로 밝히세요. 참고 코드에 요청한 일을 하는 함수나 클래스가 있으면 "
    "다시 구현하지 말고 그 'import:' 줄로 가져와 호출하세요. 참고 코드에 없는 API를 지어내지 마세요."
)
SYSTEM_EN = (
    "You are a senior developer who knows the team's codebase. The 'Context' below is the team's "
    "real code. First write {language} code answering the question in one code block "
    "(```{language}), then a short explanation (3-5 sentences). Follow the team's names, style, "
    "functions and modules, and cite the units you used as [1], [2]. When a unit of the Context "
    "already does what is asked, import it with its 'import:' line and call it instead of "
    "rewriting it. Do not invent APIs."
)

USER_KO = "참고 코드:\n{context}\n\n질문: {question}"
USER_EN = "Context:\n{context}\n\nQuestion: {question}"

# Intent: with nothing relevant in the knowledge base, answer from general knowledge
# and say so, instead of pretending the team's code was used.
NO_CONTEXT_SYSTEM_KO = (
    "당신은 시니어 개발자입니다. 팀의 지식 베이스에는 이 질문과 관련된 코드가 없습니다. "
    "코드가 필요한 질문이면 {language} 코드 블록을 먼저 쓰고 짧게 설명하세요. "
    "코드와 무관한 질문이면 짧게 답하세요."
)
NO_CONTEXT_SYSTEM_EN = (
    "You are a senior developer. The team's knowledge base has no code related to this question. "
    "If the question needs code, write a {language} code block first, then explain briefly; "
    "otherwise answer briefly."
)
NO_CONTEXT_NOTICE_KO = (
    "지식 베이스에서 관련된 코드를 찾지 못했습니다. 일반적인 지식으로 답합니다.\n\n"
)
NO_CONTEXT_NOTICE_EN = (
    "The knowledge base has nothing relevant; answering from general knowledge.\n\n"
)

# Intent: one repair round when the generated Python does not parse.
REPAIR_KO = (
    "위 답의 {language} 코드에 문법 오류가 있습니다: {error}\n"
    "오류를 고친 전체 코드를 하나의 코드 블록으로 다시 쓰고, 짧게 설명하세요."
)
REPAIR_EN = (
    "The {language} code above has a syntax error: {error}\n"
    "Rewrite the whole corrected code in one code block, then explain briefly."
)

# Intent: one repair round when the generated code uses names that exist nowhere (not in the
# index, the builtins, the standard library or its imports; chat/grounding.py), offering the
# closest real symbols of the index instead.
REPAIR_SYMBOLS_KO = (
    "위 답의 {language} 코드가 지식 베이스(색인된 코드), 표준 라이브러리, import 한 모듈 어디에도 "
    "없는 이름을 사용합니다: {names}\n{offer}\n"
    "실제로 있는 이름만 사용해 전체 코드를 하나의 코드 블록으로 다시 쓰고, 짧게 설명하세요."
)
REPAIR_SYMBOLS_EN = (
    "The {language} code above uses names that exist nowhere (not in the indexed code, the "
    "standard library or its imports): {names}\n{offer}\n"
    "Rewrite the whole code in one code block using only names that exist, then explain briefly."
)
CLOSEST_KO = "색인에 실제로 있는 가까운 이름:\n{symbols}"
CLOSEST_EN = "The closest names that exist in the index:\n{symbols}"
NO_CLOSEST_KO = "색인에서 비슷한 이름을 찾지 못했습니다."
NO_CLOSEST_EN = "The index has no similar name."
CLOSEST_SYMBOLS = 8  # real symbols offered in the repair request

# Intent: say under the answer which names are still unknown after the repair round.
UNKNOWN_NOTE_KO = "\n\n> 주의: 색인에 없는 이름: {names}"
UNKNOWN_NOTE_EN = "\n\n> Note: names not found in the index: {names}"


def quoted(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def symbol_repair_prompt(
    lang: Lang, code_language: str, unknown: Sequence[str], closest: Sequence[Symbol]
) -> str:
    """The request of the symbol repair round: the unknown names and the closest real ones."""
    ko = lang == "ko"
    if closest:
        listed = "\n".join(f"- `{symbol.title}` ({symbol.path})" for symbol in closest)
        offer = (CLOSEST_KO if ko else CLOSEST_EN).format(symbols=listed)
    else:
        offer = NO_CLOSEST_KO if ko else NO_CLOSEST_EN
    template = REPAIR_SYMBOLS_KO if ko else REPAIR_SYMBOLS_EN
    return template.format(language=code_language, names=quoted(unknown), offer=offer)
