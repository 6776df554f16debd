"""`usage` of a completion: an estimate, not a count.

The model's tokenizer is not at hand here (the model may be a llama.cpp process, an endpoint
or Bedrock, and the prompt is built inside the chat mode), so tokens are estimated the way the
document context budget does (`documents.citations.estimate_tokens`): one token per Hangul
syllable and one per three other characters. The prompt counts what reaches the model besides
ragcode's own instructions: the question, the conversation memory kept and the retrieved code
or document text; the completion counts the generated answer (not the appended source list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ragcode.documents.citations import estimate_tokens
from ragcode.server.openai_api.conversation import Conversation
from ragcode.server.openai_api.schema import Usage


def estimate_usage(
    talk: Conversation, references: Sequence[Mapping[str, object]], answer: str
) -> Usage:
    context = "\n".join(str(ref.get("code") or ref.get("text") or "") for ref in references)
    prompt = estimate_tokens(talk.text()) + (estimate_tokens(context) if context else 0)
    completion = estimate_tokens(answer) if answer else 0
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )
