"""What a document chunk's vectors encode and its lexical fields hold (see ingest.entries).

The title/question gets its own vector (stored as the "summary" vector: a paraphrased
question lands next to the FAQ question) and its own lexical field ("identifiers"); the body
(the answer, the text under the heading) gets the other vector, so the two vectors carry
different evidence (on eval/bank_faq_ko.jsonl, Recall@5 0.87 -> 0.92 against embedding the
whole chunk), and the whole chunk text goes to the "code" field. The FAQ category (metadata)
stays out of the lexical fields: a category word shared by a dozen records only adds noise.
Documents have no LLM summary.
"""

from __future__ import annotations

from ragcode.documents.parse import chunk_body
from ragcode.domain import Record
from ragcode.store.protocol import LexicalField, VectorField
from ragcode.text.analyzer import TextAnalyzer

# The sentence encoder reads the beginning of a text; a chunk's gist is there.
EMBED_CHARS = 1200


class DocumentTexts:
    def embedding_texts(self, record: Record, summary: str | None) -> dict[VectorField, str]:
        return {"code": chunk_body(record)[:EMBED_CHARS], "summary": record.title}

    def tokens(
        self, analyzer: TextAnalyzer, record: Record, summary: str | None
    ) -> dict[LexicalField, list[str]]:
        return {
            "identifiers": analyzer.analyze_text(record.title),
            "code": analyzer.analyze_text(record.body),
        }
