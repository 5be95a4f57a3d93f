"""The PAL MCP server behind the provider protocol."""
