"""What Python's special names mean, as the Korean and English words a question would use.

A dunder name carries its meaning only for someone who knows the protocol: nobody asks for
"__reduce__", people ask how an object is pickled ("피클로 직렬화"). These words join a unit's
docstring (lexical field and code vector), so a question about the behaviour reaches the
method whether or not an LLM summary mentions the protocol. They are distinctive terms only,
no generic words like 객체 or 호출: the docstring field is sparse for Korean questions, and a
generic word would lift every special method for every question.
"""

from __future__ import annotations

# Bare special name -> distinctive Korean and English words of its protocol.
PYTHON_PROTOCOL_TERMS: dict[str, str] = {
    "__init__": "생성자 초기화 constructor initialize",
    "__new__": "인스턴스 생성 instance creation allocate",
    "__del__": "소멸자 finalizer destructor",
    "__call__": "callable 호출 가능 객체",
    "__get__": "디스크립터 descriptor 바운드 메서드 bound method",
    "__set__": "디스크립터 descriptor 대입 assign",
    "__delete__": "디스크립터 descriptor 삭제",
    "__set_name__": "디스크립터 descriptor 속성 이름",
    "__getattr__": "속성 조회 지연 lazy attribute lookup fallback",
    "__getattribute__": "속성 접근 attribute access",
    "__setattr__": "속성 대입 attribute assignment",
    "__delattr__": "속성 삭제 attribute deletion",
    "__dir__": "dir 속성 목록",
    "__reduce__": "피클 pickle 직렬화 serialize",
    "__reduce_ex__": "피클 pickle 직렬화 serialize",
    "__getstate__": "피클 pickle 직렬화 serialize 상태 저장 state",
    "__setstate__": "피클 pickle 역직렬화 unpickle 상태 복원 state",
    "__copy__": "얕은 복사 shallow copy",
    "__deepcopy__": "깊은 복사 deep copy",
    "__hash__": "해시 해시값 hash hashable",
    "__eq__": "동등 비교 equality equal",
    "__ne__": "부등 비교 inequality not equal",
    "__lt__": "대소 비교 정렬 less than ordering",
    "__le__": "대소 비교 less equal ordering",
    "__gt__": "대소 비교 greater than ordering",
    "__ge__": "대소 비교 greater equal ordering",
    "__repr__": "repr 문자열 표현 representation",
    "__str__": "str 문자열 변환",
    "__format__": "format 서식",
    "__bool__": "bool 참거짓 truthiness",
    "__len__": "len 길이 length",
    "__iter__": "iter 반복자 이터레이터 iterator",
    "__next__": "next 이터레이터 iterator",
    "__reversed__": "reversed 역순",
    "__contains__": "in 연산자 포함 membership",
    "__getitem__": "인덱싱 슬라이싱 subscript indexing",
    "__setitem__": "인덱스 대입 item assignment",
    "__delitem__": "인덱스 삭제 item deletion",
    "__missing__": "없는 키 missing key",
    "__enter__": "with 문 컨텍스트 매니저 context manager",
    "__exit__": "with 문 컨텍스트 매니저 context manager 정리 cleanup",
    "__aenter__": "async with 비동기 컨텍스트 매니저 context manager",
    "__aexit__": "async with 비동기 컨텍스트 매니저 context manager",
    "__aiter__": "async for 비동기 이터레이터 iterator",
    "__anext__": "비동기 이터레이터 iterator",
    "__await__": "await awaitable",
    "__add__": "덧셈 연산자 addition operator",
    "__sub__": "뺄셈 연산자 subtraction operator",
    "__mul__": "곱셈 연산자 multiplication operator",
    "__truediv__": "나눗셈 연산자 division operator",
    "__or__": "연산자 합집합 union operator",
    "__and__": "연산자 교집합 intersection operator",
    "__init_subclass__": "하위 클래스 subclass hook",
    "__class_getitem__": "제네릭 generic alias",
    "__instancecheck__": "isinstance",
    "__subclasscheck__": "issubclass",
    "__signature__": "시그니처 signature 매개변수 parameters inspect",
    "__doc__": "docstring 설명 문자열 documentation",
    "__name__": "이름 name",
    "__post_init__": "데이터클래스 dataclass 검증 validate",
}


def protocol_terms(name: str, language: str) -> str:
    """The terms for a Python unit named like a special method (`Class.__hash__`), else ""."""
    if language != "python":
        return ""
    return PYTHON_PROTOCOL_TERMS.get(name.rsplit(".", 1)[-1], "")
