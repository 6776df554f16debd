"""What an MCP client (and the model behind it) reads about ragcode's tools: Korean first,
English in parentheses, so that either kind of model picks the right tool and arguments."""

from __future__ import annotations

# Shown once at `initialize`: what this server is and how its tools fit together.
INSTRUCTIONS = (
    "ragcode: 팀의 코드와 문서로 만든 지식 베이스입니다. 코드를 찾을 때는 search_code, "
    "찾은 단위의 전체 코드는 get_unit, 지식 베이스를 참고한 코드 생성은 ask_code, "
    "문서(FAQ, 매뉴얼) 검색은 search_docs, 출처가 달린 문서 답변은 ask_docs 를 쓰세요. "
    "(ragcode: the team's code and document knowledge base. search_code finds code units, "
    "get_unit reads one, ask_code generates code grounded in the team's code, search_docs "
    "and ask_docs search and answer from documents with citations.)"
)

SEARCH_CODE = (
    "팀 코드 지식 베이스에서 함수·메서드·클래스를 하이브리드 검색(BM25 + 벡터 + 재순위)으로 "
    "찾습니다. 한국어나 영어 질문 모두 됩니다. 결과마다 경로, 줄 범위, 요약, 코드, 점수가 "
    "있습니다. (Hybrid search over the team's code: functions, methods and classes with path, "
    "lines, summary, code and scores, best first.)"
)
GET_UNIT = (
    "경로와 이름으로 코드 단위 하나를 코드와 요약까지 가져옵니다. 이름은 search_code 결과의 "
    "name (예: Mailer.send_email) 이고, 파일 안에서 하나뿐이면 마지막 부분(send_email)만 써도 "
    "됩니다. (Read one code unit by its path and qualified name, as search_code returns them.)"
)
ASK_CODE = (
    "질문에 맞는 코드를 팀 코드를 참고해 생성합니다 (RAG). 답변, 코드 블록, 참고한 코드 "
    "목록을 돌려줍니다. 로컬 LLM 을 쓰므로 수십 초 걸릴 수 있습니다. (Generate code grounded "
    "in the team's code, with the references used; runs the configured LLM, may be slow.)"
)
SEARCH_DOCS = (
    "팀 문서(FAQ, 매뉴얼, PDF, DOCX, Markdown)에서 관련 부분을 찾습니다. 결과마다 제목, 파일, "
    "위치(행·쪽·문단), 본문, 점수가 있습니다. (Search the team's documents: title, source file, "
    "location, text and scores of each chunk.)"
)
ASK_DOCS = (
    "팀 문서에서 답을 찾아 [n] 인용과 출처를 달아 답합니다. 문서에 답이 없으면 answered 가 "
    "false 입니다. (Answer from the team's documents with [n] citations; answered=false when "
    "the documents hold no answer.)"
)

QUERY = "검색어: 자연어 질문이나 식별자 (natural-language question or identifier)"
QUESTION = "질문 (question), 한국어 또는 영어"
LANGUAGE = (
    "이 언어의 코드만 (only this language): python, javascript, typescript, tsx, java, go; "
    "생략하면 모든 언어 (omit for any)"
)
CODE_LANGUAGE = (
    "답의 코드 언어, 참고 자료도 이 언어의 코드만 (answer in this code language, from its "
    "code only): python, javascript, typescript, java, go; 생략하면 질문과 문맥으로 정함 "
    "(omit: from the question and its context)"
)
SEARCH_TOP_K = "돌려줄 결과 수, 1-50, 생략하면 설정값 (number of hits; default from settings)"
ASK_TOP_K = "LLM 에 줄 참고 자료 수, 1-20, 생략하면 설정값 (references given to the LLM)"
PATH = "파일 경로, search_code 결과의 path (file path relative to its indexed root)"
NAME = "단위 이름, search_code 결과의 name (qualified name, e.g. Mailer.send_email)"
