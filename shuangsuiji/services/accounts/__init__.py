"""Accounts: users, departments, sessions, passwords and API tokens."""
