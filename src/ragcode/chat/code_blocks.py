"""Code blocks in a model answer, and the syntax check of the Python ones."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_NAMES = frozenset({"python", "py", "python3"})


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str  # as written after the fence, lower-cased; "" when absent
    code: str

    def as_dict(self) -> dict[str, str]:
        return {"language": self.language, "code": self.code}


def extract_code_blocks(answer: str) -> list[CodeBlock]:
    """Fenced blocks; an unterminated last fence (a cut-off answer) still counts."""
    return [
        CodeBlock(language=match.group(1).lower(), code=match.group(2).rstrip("\n"))
        for match in _FENCE.finditer(answer)
        if match.group(2).strip()
    ]


def python_syntax_error(blocks: list[CodeBlock], default_language: str) -> str | None:
    """The first syntax error among the Python blocks, as "line N: message"."""
    for block in blocks:
        language = block.language or default_language
        if language not in _PYTHON_NAMES:
            continue
        try:
            ast.parse(block.code)
        except SyntaxError as exc:
            return f"line {exc.lineno}: {exc.msg}"
    return None
