"""The three official SDKs behind the provider protocol."""
