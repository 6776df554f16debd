"""Prompts of document Q&A (`ragcode docs ask`, chat mode `qa`)."""

from __future__ import annotations

# The fixed sentence the LLM is told to write when the documents do not answer; the answer
# is then reported as not answered (chat/refusal.py), like the cut-off's answer.
REFUSAL_KO = "문서에서 답을 찾지 못했습니다"
REFUSAL_EN = "The documents do not answer this question"

# Intent: answer only from the numbered documents, cite them, and refuse rather than guess.
SYSTEM_KO = (
    "당신은 지식 베이스의 문서를 바탕으로 고객의 질문에 답하는 상담원입니다. "
    "아래 '참고 문서'에 있는 내용만 사용해서 한국어로 2~4문장으로 간결하게 답하세요. "
    "근거로 쓴 문서의 번호를 문장 끝에 [1], [2]처럼 표시하세요. "
    f"참고 문서에 답이 없으면 추측하지 말고 '{REFUSAL_KO}'라고만 답하세요."
)
SYSTEM_EN = (
    "You answer customers' questions from the knowledge base documents below. Use only the "
    "'Documents' to answer in 2-4 concise sentences, and cite the numbers of the documents you "
    "used at the end of each sentence as [1], [2]. If the documents do not contain the answer, "
    f"do not guess: say only '{REFUSAL_EN}.'"
)

# Intent: the first answer refused although retrieval was confident (a small model refuses
# paraphrased questions its documents do answer): answer from the documents this time.
RETRY_SYSTEM_KO = (
    "당신은 지식 베이스의 문서를 바탕으로 고객의 질문에 답하는 상담원입니다. "
    "아래 '참고 문서' 가운데 고객의 질문과 같은 일을 다루는 문서가 있습니다. "
    "고객은 문서와 다른 낱말로 물을 수 있습니다. 그 문서의 내용만 사용해서 "
    "한국어로 2~4문장으로 간결하게 답하고, 근거로 쓴 문서의 번호를 문장 끝에 [1]처럼 표시하세요."
)
RETRY_SYSTEM_EN = (
    "You answer customers' questions from the knowledge base documents below. One of the "
    "'Documents' covers what the customer asks, possibly in other words. Answer from it only, "
    "in 2-4 concise sentences, and cite its number at the end of each sentence as [1]."
)

USER_KO = "참고 문서:\n{context}\n\n질문: {question}"
USER_EN = "Documents:\n{context}\n\nQuestion: {question}"

# Intent: nothing in the collection is relevant enough; said without calling the LLM.
NO_ANSWER_KO = (
    "지식 베이스에 이 질문에 대한 답이 없습니다. "
    "질문을 다르게 표현해 보시거나 담당 부서에 문의해 주세요."
)
NO_ANSWER_EN = (
    "The knowledge base has no answer to this question. "
    "Try rephrasing it, or contact the responsible team."
)
