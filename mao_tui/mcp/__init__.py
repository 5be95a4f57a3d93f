"""mao and the Model Context Protocol: the project's `.mcp.json`, and mao as an MCP server.

(The PAL provider, mao as an MCP *client*, is in providers/pal/provider.py.)
"""
