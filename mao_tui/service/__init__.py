"""Use cases: the one place the CLI, the dashboard and the MCP server start, run and apply
sessions."""
