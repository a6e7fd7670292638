"""Authentication (sessions, API tokens) and the one authorization policy."""
