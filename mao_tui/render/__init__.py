"""Text views of events and stored sessions: headless output, reports, exports."""
