// UI strings in Korean (default) and English; the choice is remembered in localStorage.
const STRINGS = {
  ko: {
    tagline: "팀의 코드를 한국어로 묻고 답하는 도우미", username: "사용자 이름", password: "비밀번호",
    login: "로그인", signup: "회원 가입", logout: "로그아웃", language: "English",
    mode: "모드", documents: "내 문서", upload: "파일 올리기",
    uploadHint: "소스 파일, 저장소 zip, 문서(md, txt, pdf, docx, csv)", send: "보내기",
    placeholder: "메시지를 입력하세요 (Enter: 보내기, Shift+Enter: 줄바꿈)",
    loadMore: "이전 대화 더 보기", clearHistory: "기록 지우기", confirmClear: "대화 기록을 모두 지울까요?",
    references: "참고한 자료", copy: "복사", copied: "복사됨", delete: "삭제",
    download: "내려받기", score: "점수", foundBy: "찾은 검색", retrieverVector: "벡터",
    retrieverLexical: "키워드", openAtLines: "이 줄의 코드 보기", citeSource: "이 문장의 출처",
    connected: "연결됨", reconnecting: "연결이 끊겼습니다. 다시 연결하는 중…",
    reconnected: "다시 연결되었습니다. 보내지 못한 메시지를 다시 보냅니다.",
    refused: "연결 거부됨", forbidden: "연결 차단됨",
    stalled: "응답 없음 · 다시 연결 중",
    stalledNotice: "서버가 응답하지 않습니다. 새로 연결해 답을 받지 못한 메시지를 다시 보냅니다.",
    greeting: "안녕하세요, {name}님! ragcode입니다. 팀의 코드와 문서에 대해 무엇이든 물어보세요.",
    restored: "대화를 다시 시작합니다",
    truncated: "답이 길이 제한에서 끊겼습니다.", continue: "계속",
    sessionEnded: "로그인이 끝났습니다. 다시 로그인해 주세요.",
    tooManySockets: "열린 연결이 너무 많습니다. 다른 탭이나 창을 닫아 주세요.",
    forbiddenSocket: "다른 사이트에서 연 연결은 받지 않습니다.",
    uploading: "올리는 중", indexing: "색인 중", summarizing: "검색 가능 · 요약 중", ready: "완료",
    failed: "실패", queued: "대기 중", units: "단위", noDocuments: "올린 문서가 없습니다.",
    summaryFailed: "(요약 실패)", you: "나", assistant: "ragcode", error: "오류",
    unitSummaries: "단위별 요약", docSummaryParts: "부분별 요약",
    share: "팀과 공유", unshare: "공유 해제", private: "나만 보기", shared: "팀 공유",
    sharedBy: "팀 공유 (다른 사용자)",
    apiKeys: "API 키", apiKeysHint: "OpenAI 호환 API(IDE 도우미, 스크립트)용. 키는 나와 같은 것을 봅니다.",
    keyName: "키 이름 (선택)", createKey: "키 만들기", revoke: "폐기",
    confirmRevoke: "이 API 키를 폐기할까요? 이 키를 쓰는 도구는 바로 거절됩니다.",
    noApiKeys: "API 키가 없습니다.", unnamedKey: "(이름 없음)", baseUrl: "Base URL",
    keyShownOnce: "새 API 키입니다. 다시 볼 수 없으니 지금 복사해 두세요.",
    repos: "Git 저장소", noRepos: "등록된 저장소가 없습니다 (ragcode repo add).",
    notSynced: "아직 색인 안 함", summaries: "요약", syncNow: "지금 동기화",
    sync_queued: "동기화 대기 중", sync_syncing: "동기화 중…", wholeFile: "파일 전체",
    fileAtCommit: "저장소에 색인된 커밋의 파일:",
    conversations: "대화", newConversation: "새 대화", untitled: "(제목 없음)", rename: "이름 바꾸기",
    renamePrompt: "대화의 새 이름", noConversations: "대화가 없습니다. 질문하면 새 대화가 시작됩니다.",
    confirmDeleteConversation: "대화 \"{title}\"와 그 기록을 지울까요?", moreConversations: "대화 더 보기",
    forget: "기억 지우기", forgotten: "기억을 지웠습니다. 이후 질문은 위 대화를 기억하지 않습니다",
    stop: "■ 중지", stoppedLabel: "중지됨", regenerate: "다시 생성", edit: "편집", editSend: "보내기",
    cancel: "취소", showRefs: "참고 자료", refsShown: "참고 자료를 보여 줍니다.",
    refsHidden: "참고 자료를 숨깁니다 (검색은 그대로 합니다).", models: "모델", close: "닫기",
    modelName: "답하는 모델", healthOk: "정상", healthDown: "장애", healthProbing: "확인 중",
    healthUnknown: "알 수 없음", endpointCounts: "진행/완료/실패",
    codeLanguage: "코드 언어", codeLanguageAuto: "자동", // issue 15.2
    modes: {
      normal: "일반 대화", translation: "번역 (한↔영)", grammar: "문법 교정", sentiment: "감성 분석",
      extraction: "연락처 추출", pii: "개인정보 마스킹", "step-by-step": "단계별 추론",
      "timestamp-extraction": "날짜/시간 추출", code: "코드 생성 (RAG)", qa: "문서 Q&A",
    },
  },
  en: {
    tagline: "Ask your team's code questions in Korean or English", username: "Username",
    password: "Password", login: "Log in", signup: "Sign up", logout: "Log out", language: "한국어",
    mode: "Mode", documents: "My documents", upload: "Upload files",
    uploadHint: "Source files, a repository zip, documents (md, txt, pdf, docx, csv)", send: "Send",
    placeholder: "Type a message (Enter: send, Shift+Enter: new line)",
    loadMore: "Load earlier messages", clearHistory: "Clear history", confirmClear: "Delete the whole history?",
    references: "References", copy: "Copy", copied: "Copied", delete: "Delete",
    download: "Download", score: "score", foundBy: "Found by", retrieverVector: "vector",
    retrieverLexical: "keyword", openAtLines: "Show the code at these lines", citeSource: "Source of this sentence",
    connected: "Connected", reconnecting: "Connection lost. Reconnecting…",
    reconnected: "Reconnected. Resending unsent messages.",
    refused: "Refused", forbidden: "Blocked",
    stalled: "No response · reconnecting",
    stalledNotice: "The server stopped responding. Reconnecting and resending unanswered messages.",
    greeting: "Hello, {name}! I'm ragcode. Ask me anything about your team's code and documents.",
    restored: "Resuming the conversation",
    truncated: "The answer was cut at its length limit.", continue: "Continue",
    sessionEnded: "Your session has ended. Please log in again.",
    tooManySockets: "Too many open connections. Close another tab or window.",
    forbiddenSocket: "Connections opened by another site are refused.",
    uploading: "Uploading", indexing: "Indexing", summarizing: "Searchable · summarizing", ready: "Ready",
    failed: "Failed", queued: "Queued", units: "units", noDocuments: "No documents yet.",
    summaryFailed: "(summary failed)", you: "You", assistant: "ragcode", error: "Error",
    unitSummaries: "Summaries by unit", docSummaryParts: "Summaries of the parts",
    share: "Share with team", unshare: "Stop sharing", private: "Only me", shared: "Shared",
    sharedBy: "Shared by a teammate",
    apiKeys: "API keys", apiKeysHint: "For the OpenAI-compatible API (IDE assistants, scripts). A key sees what you see.",
    keyName: "Key name (optional)", createKey: "Create key", revoke: "Revoke",
    confirmRevoke: "Revoke this API key? Tools using it are refused at once.",
    noApiKeys: "No API keys yet.", unnamedKey: "(unnamed)", baseUrl: "Base URL",
    keyShownOnce: "Your new API key. It is not shown again: copy it now.",
    repos: "Git repositories", noRepos: "No repositories registered (ragcode repo add).",
    notSynced: "Not indexed yet", summaries: "summaries", syncNow: "Sync now",
    sync_queued: "Sync queued", sync_syncing: "Syncing…", wholeFile: "Whole file",
    fileAtCommit: "The file at the repository's indexed commit:",
    conversations: "Conversations", newConversation: "New conversation", untitled: "(untitled)",
    rename: "Rename", renamePrompt: "New name of the conversation",
    noConversations: "No conversations yet. Ask a question to start one.",
    confirmDeleteConversation: "Delete the conversation \"{title}\" and its history?",
    moreConversations: "More conversations",
    forget: "Forget memory", forgotten: "Memory cleared. Later questions do not remember the conversation above",
    stop: "■ Stop", stoppedLabel: "Stopped", regenerate: "Regenerate", edit: "Edit", editSend: "Send",
    cancel: "Cancel", showRefs: "References", refsShown: "References are shown.",
    refsHidden: "References are hidden (search still runs).", models: "Models", close: "Close",
    modelName: "Answering model", healthOk: "healthy", healthDown: "down", healthProbing: "probing",
    healthUnknown: "unknown", endpointCounts: "running/done/failed",
    codeLanguage: "Code language", codeLanguageAuto: "Auto", // issue 15.2
    modes: {
      normal: "Conversation", translation: "Translation (ko↔en)", grammar: "Grammar",
      sentiment: "Sentiment", extraction: "Contact extraction", pii: "PII masking",
      "step-by-step": "Step by step", "timestamp-extraction": "Dates and times",
      code: "Code generation (RAG)", qa: "Document Q&A",
    },
  },
};

let current = localStorage.getItem("ragcode.lang") === "en" ? "en" : "ko";

export function lang() { return current; }

export function t(key) { return STRINGS[current][key] ?? key; }

export function modeLabel(mode) { return STRINGS[current].modes[mode] ?? mode; }

// A message's time in the reader's time zone: the hour for today, with the date otherwise
// ("오후 3:05", "12월 1일 오후 3:05"; "3:05 PM", "Dec 1, 3:05 PM").
export function formatTime(date) {
  const today = new Date().toDateString() === date.toDateString();
  const options = today
    ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  if (!today && date.getFullYear() !== new Date().getFullYear()) options.year = "numeric";
  return new Intl.DateTimeFormat(current === "ko" ? "ko-KR" : "en-US", options).format(date);
}

export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
}

export function toggleLanguage() {
  current = current === "ko" ? "en" : "ko";
  localStorage.setItem("ragcode.lang", current);
  applyTranslations();
  window.dispatchEvent(new CustomEvent(LANGUAGE_EVENT, { detail: current }));
}

// What a module drew with t() is redrawn by it here (nodes marked data-i18n need nothing:
// applyTranslations relabels them), so a language switch shows at once, without a reload.
const LANGUAGE_EVENT = "ragcode:language";
export function onLanguageChange(redraw) { window.addEventListener(LANGUAGE_EVENT, () => redraw(current)); }
