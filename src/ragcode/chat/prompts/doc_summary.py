"""Prompts of the summary written when a document upload finishes (issue 15, item 1).

The instruction comes after the document, in the user's turn: with it only in the system
prompt the 0.5B model answered a Markdown guide with the list of its headings; asked after
the text for "3-5 sentences, numbers and conditions as written" it wrote what each section
says (tried on the guide of tests/e2e/test_doc_summary_browser.py).
"""

from __future__ import annotations

SYSTEM_KO = "당신은 문서를 요약하는 도우미입니다. 한국어로 답하고, 문서에 없는 내용은 쓰지 마세요."
SYSTEM_EN = "You summarise documents. Add nothing the document does not say."

# Intent: what one part of a long document says, in a few sentences.
SECTION_USER_KO = (
    "문서 '{name}'의 {index}/{total}번째 부분:\n{text}\n\n"
    "위 부분의 핵심 내용을 한국어 2~3문장으로 요약하세요. 숫자와 조건은 그대로 쓰세요."
)
SECTION_USER_EN = (
    "Part {index}/{total} of the document '{name}':\n{text}\n\n"
    "Summarise the key points of this part in 2-3 sentences. Keep numbers and conditions."
)

# Intent: the whole document at a glance, from its text (short) or its parts' summaries.
OVERALL_USER_KO = (
    "문서 '{name}':\n{text}\n\n"
    "위 문서의 핵심 내용을 한국어 3~5문장으로 요약하세요. 숫자와 조건은 그대로 쓰세요."
)
OVERALL_USER_EN = (
    "Document '{name}':\n{text}\n\n"
    "Summarise the key points of this document in 3-5 sentences. Keep numbers and conditions."
)
# From the parts' summaries, the instruction stays in the system prompt: asked after the
# parts, the 0.5B model echoed the instruction ("이 문서는 ... 요약입니다") on the FAQ sample;
# with this system prompt it wrote from the parts (tests/integration/
# test_doc_summary_real_model.py).
PARTS_SYSTEM_KO = (
    "당신은 문서를 요약하는 도우미입니다. 한국어로 답하세요. 첫 문장에 이 문서가 무엇에 관한 "
    "문서인지 쓰고, 이어서 주요 내용을 '- '로 시작하는 글머리표 3~6개로 정리하세요. "
    "주어진 내용에 없는 것은 쓰지 마세요."
)
PARTS_SYSTEM_EN = (
    "You summarise documents. First sentence: what the document is about. Then its main "
    "points as 3-6 bullets starting with '- '. Add nothing the given text does not say."
)
OVERALL_FROM_PARTS_USER_KO = "문서 '{name}'의 부분별 요약:\n{text}"
OVERALL_FROM_PARTS_USER_EN = "Summaries of the parts of the document '{name}':\n{text}"

# The heading of the summary as it appears in the chat and in history.
TITLE_KO = "문서 요약: {name}"
TITLE_EN = "Document summary: {name}"
