"""Live discovery: each provider's own list of the models it offers, fetched on request
(``mao models --refresh``), stored with its time in the user data directory, compared with the
registry, and read by every session (no network call at start-up) so that a routed model the
provider no longer offers is skipped before any request."""
