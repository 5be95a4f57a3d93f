"""Vendor CLIs (claude, codex, gemini) behind the provider protocol."""
