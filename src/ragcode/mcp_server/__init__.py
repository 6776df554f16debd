"""`ragcode mcp`: the team knowledge base as Model Context Protocol tools (issue 16).

inputs.py checks what a client sends, schema.py shapes what it gets back, tools.py answers
from the App (no MCP types), server.py registers those answers as MCP tools.
"""
