"""Test suite: fast password hashing is not configurable; only the secret and limits differ."""

SECRET_KEY = "testing-only-not-secret"  # noqa: S105
LOGIN_RATE_LIMIT = "1000 per minute"
LOGIN_USER_RATE_LIMIT = "1000 per minute"
PUBLIC_SEARCH_RATE_LIMIT = "1000 per minute"
