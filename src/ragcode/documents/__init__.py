"""Document Q&A ingestion: read FAQ/Markdown/text/PDF/DOCX files into structural chunks."""
