"""Every configuration key of shuangsuiji, with its default.

A key that is not declared here is an error wherever it appears (an environment file or a
SHUANGSUIJI_* variable). Environment files (config/<env>.py) override these values, then
SHUANGSUIJI_<KEY> environment variables override those. DATABASE_URL is also read without the
prefix, as hosting platforms set it.
"""

# --- core -----------------------------------------------------------------------------------
ENV = "development"  # development | testing | production (chosen by SHUANGSUIJI_ENV)
SECRET_KEY = ""  # signs session cookies and CSRF tokens; required in production
DATABASE_URL = ""  # SQLAlchemy URL; empty = SQLite file instance/shuangsuiji.db
DATABASE_ECHO = False  # log every SQL statement (debugging only)
SQLITE_BUSY_TIMEOUT_MS = 15000  # how long SQLite waits for a lock before "database is locked"
TIMEZONE = "Asia/Shanghai"  # times are stored in UTC and shown in this zone
SITE_NAME = "双随机、一公开监管平台"  # shown in page titles and headers
BEHIND_PROXY = False  # trust one X-Forwarded-* hop (ProxyFix) when served behind nginx

# --- sessions and login ---------------------------------------------------------------------
SESSION_IDLE_MINUTES = 30  # a console session ends after this long without a request
SESSION_ABSOLUTE_HOURS = 12  # and in any case this long after login
SESSION_COOKIE_SECURE = False  # send the cookie over HTTPS only (True in production)
LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"  # login attempts per client address
LOGIN_USER_RATE_LIMIT = "5 per minute; 20 per hour"  # login attempts per user name
RATELIMIT_STORAGE_URI = "memory://"  # Flask-Limiter storage; redis://… in production
RATELIMIT_KEY_PREFIX = ""  # prefix of the limiter's keys (deployments sharing one Redis)
PASSWORD_MIN_LENGTH = 10  # shortest password accepted
API_TOKEN_MAX_DAYS = 365  # the longest lifetime a new API token may have

# --- security headers -----------------------------------------------------------------------
FORCE_HTTPS = False  # redirect HTTP to HTTPS and send HSTS (True in production)
HSTS_MAX_AGE = 31536000  # seconds, when FORCE_HTTPS is on

# --- API ------------------------------------------------------------------------------------
API_PAGE_SIZE = 50  # default page size of list endpoints
API_MAX_PAGE_SIZE = 500  # largest page size a client may ask for

# --- background worker ----------------------------------------------------------------------
WORKER_POLL_SECONDS = 1.0  # how often an idle worker looks for a queued task
WORKER_STALE_MINUTES = 10  # a running task without a heartbeat this long is handed back

# --- public site ----------------------------------------------------------------------------
PUBLIC_SHOW_INSPECTOR_NAMES = False  # PIPL: inspector names on public pages only if enabled
PUBLIC_SEARCH_RATE_LIMIT = "30 per minute; 300 per hour"  # result searches per client address

# --- inspection results -----------------------------------------------------------------------
RESULT_ATTACHMENT_MAX_BYTES = 10485760  # largest photo or document per upload (10 MiB)

# --- registries: imports and exports -----------------------------------------------------------
UPLOAD_DIR = ""  # where uploaded files are kept; empty = instance/uploads
EXPORT_DIR = ""  # where export files are written; empty = instance/exports
IMPORT_MAX_BYTES = 314572800  # largest file accepted for import (300 MiB: a 1M-row UTF-8 CSV)
IMPORT_MAX_UNPACKED_BYTES = 1073741824  # largest unpacked size of an XLSX (zip bombs)
IMPORT_MAX_ZIP_ENTRIES = 10000  # most entries an XLSX may contain
IMPORT_MAX_ROWS = 5000000  # most data rows in one file
IMPORT_BATCH_ROWS = 5000  # rows staged per batch (progress is reported per batch)
# An import inserting at least this many rows, and more than the list already holds, drops the
# list's indexes and constraints (except the primary key) and rebuilds them in its transaction
# (PostgreSQL): several times faster, but other readers of that list wait until it commits.
IMPORT_REBUILD_MIN_ROWS = 100000
