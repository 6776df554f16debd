"""The one error of document reading: a whole file refused, with a Korean reason."""

from __future__ import annotations

from ragcode.ingest.indexer import FileRejectedError


class DocumentError(FileRejectedError):
    """The file cannot be used as a document (malformed FAQ, encrypted or image-only PDF,
    corrupt DOCX ...). The message tells the user what is wrong and what to do; nothing of
    the file is indexed."""
