// The first minutes: what ragcode does, one line per mode (in the welcome state and under the
// mode selector), and example prompts that choose their mode and fill the input on a click.
// Shown in an empty conversation; redrawn in place when the language changes.
import { lang, modeLabel, onLanguageChange } from "./i18n.js";
import { el } from "./render.js";

const WORDS = {
  ko: {
    title: "ragcode에 오신 것을 환영합니다",
    intro: "ragcode는 팀의 코드와 문서를 이 서버 안에서 색인해 두고, 질문에 맞는 부분을 찾아 근거와 함께 "
      + "한국어로 답하는 도우미입니다. 왼쪽에서 소스 파일, 저장소 zip이나 문서를 올린 뒤 모드를 골라 물어보세요.",
    modesTitle: "모드", examplesTitle: "이렇게 물어보세요", codeExamples: "코드 생성 (RAG)", qaExamples: "문서 Q&A",
    modes: {
      normal: "무엇이든 묻고 답합니다. 같은 대화의 앞선 질문을 기억합니다.",
      translation: "한국어 글은 영어로, 영어 글은 한국어로 번역합니다.",
      grammar: "맞춤법·띄어쓰기·문법 오류를 찾아 이유와 고친 문장을 보여 줍니다.",
      sentiment: "글의 주제별 감정(긍정/부정/중립)과 그 근거 표현을 알려 줍니다.",
      extraction: "글에서 이메일, 전화번호, 주소, 이름 같은 연락처를 뽑아 정리합니다.",
      pii: "이름, 전화번호, 주민등록번호, 계좌번호 같은 개인정보를 가린 글로 바꿉니다.",
      "step-by-step": "문제를 단계별로 풀어 보이고 마지막에 답을 씁니다.",
      "timestamp-extraction": "'내일 오후 3시' 같은 날짜·시간 표현을 실제 날짜로 바꿉니다.",
      code: "올린 코드에서 관련 함수를 찾아, 그 코드를 근거로 코드를 만들고 설명합니다.",
      qa: "올린 문서(csv, pdf, docx, md, txt)에서 찾아 출처 번호와 함께 답합니다.",
    },
    examples: {
      code: [
        "설정 파일을 읽는 함수가 어디에 있는지 찾아서 설명해 줘",
        "기존 함수를 재사용해서 여러 파일을 한 번에 처리하는 함수를 만들어 줘",
      ],
      qa: [
        "문서에 나온 신청 절차를 단계별로 정리해 줘",
        "문의할 수 있는 연락처가 문서에 있나요?",
      ],
    },
  },
  en: {
    title: "Welcome to ragcode",
    intro: "ragcode indexes your team's code and documents on this server, finds the parts that "
      + "answer a question and replies with its sources. Upload source files, a repository zip or "
      + "documents on the left, then pick a mode and ask.",
    modesTitle: "Modes", examplesTitle: "Try asking", codeExamples: "Code generation (RAG)", qaExamples: "Document Q&A",
    modes: {
      normal: "Ask anything; remembers the earlier questions of this conversation.",
      translation: "Translates Korean text into English and English into Korean.",
      grammar: "Finds spelling, spacing and grammar errors, with reasons and the corrected text.",
      sentiment: "Tells the sentiment (positive/negative/neutral) per topic and the words behind it.",
      extraction: "Pulls contact details (emails, phone numbers, addresses, names) out of a text.",
      pii: "Rewrites a text with personal data (names, phone, resident and account numbers) masked.",
      "step-by-step": "Works a problem out step by step, then states the answer.",
      "timestamp-extraction": "Turns dates and times such as 'tomorrow 3 pm' into calendar dates.",
      code: "Finds the relevant functions in uploaded code and writes and explains code built on them.",
      qa: "Answers from uploaded documents (csv, pdf, docx, md, txt), citing them by number.",
    },
    examples: {
      code: [
        "Find the function that reads the configuration file and explain it",
        "Write a function that processes several files at once, reusing the existing helpers",
      ],
      qa: [
        "Summarize the application procedure in the documents step by step",
        "Do the documents list a contact for questions?",
      ],
    },
  },
};

function words() { return WORDS[lang()] ?? WORDS.ko; }

export function modeDescription(mode) { return words().modes[mode] ?? ""; }

export class Welcome {
  // `select`: the mode selector; `input`: the composer's textarea; `container`: the messages.
  constructor({ container, select, input }) {
    this.container = container;
    this.select = select;
    this.input = input;
    this.line = el("span", "mode-description small muted");
    this.line.id = "mode-description";
    select.closest("label")?.after(this.line);
    select.addEventListener("change", () => this.describe());
    onLanguageChange(() => this.redraw());
  }

  // The selected mode's line under the selector (call after the options are filled).
  describe() {
    const text = modeDescription(this.select.value);
    this.line.textContent = text;
    this.select.title = text;
  }

  // The welcome state at the end of the (empty) conversation, until its first question.
  show() {
    const node = el("section", "message welcome");
    node.setAttribute("aria-label", words().title);
    this.fill(node);
    this.container.append(node);
    const asked = new MutationObserver(() => {
      if (!node.isConnected) asked.disconnect(); // another conversation is shown
      else if (this.container.querySelector(".message.user")) { node.remove(); asked.disconnect(); }
    });
    asked.observe(this.container, { childList: true });
  }

  redraw() {
    this.describe();
    for (const node of this.container.querySelectorAll(".welcome")) this.fill(node);
  }

  fill(node) {
    const w = words();
    const modes = el("dl", "welcome-modes");
    for (const option of this.select.options) {
      modes.append(el("dt", null, modeLabel(option.value)), el("dd", "muted small", modeDescription(option.value)));
    }
    const examples = el("div", "welcome-examples");
    for (const [mode, title] of [["code", w.codeExamples], ["qa", w.qaExamples]]) {
      const group = el("div", "example-group");
      group.append(el("h4", null, title));
      for (const text of w.examples[mode]) group.append(this.example(mode, text));
      examples.append(group);
    }
    node.replaceChildren(
      el("h3", null, w.title), el("p", "welcome-intro", w.intro),
      el("h4", null, w.examplesTitle), examples,
      el("h4", null, w.modesTitle), modes,
    );
  }

  // Chooses the example's mode (remembered like a choice in the selector) and fills the input.
  example(mode, text) {
    const button = el("button", "example secondary", text);
    button.type = "button";
    button.dataset.mode = mode;
    button.addEventListener("click", () => {
      this.select.value = mode;
      this.select.dispatchEvent(new Event("change"));
      this.input.value = text;
      this.input.focus();
    });
    return button;
  }
}
