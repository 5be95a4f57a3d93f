"""Small widgets of the dashboard; each renders state it is handed and owns no session logic."""
