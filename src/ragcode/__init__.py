"""ragcode: a Korean-first, self-hosted code knowledge base."""

__version__ = "0.1.0"
