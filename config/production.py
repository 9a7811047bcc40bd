"""Production: secrets must come from SHUANGSUIJI_* variables; HTTPS only."""

SESSION_COOKIE_SECURE = True
FORCE_HTTPS = True
BEHIND_PROXY = True
