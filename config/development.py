"""Development: the embedded SQLite database and a fixed, public secret."""

SECRET_KEY = "development-only-not-secret"  # noqa: S105
