"""The OpenAI-compatible API (`/v1`): chat completions and models, reached with API keys."""
