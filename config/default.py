"""Every configuration key of shuangsuiji, with its default.

A key that is not declared here is an error wherever it appears (an environment file or a
SHUANGSUIJI_* variable). Environment files (config/<env>.py) override these values, then
SHUANGSUIJI_<KEY> environment variables override those. DATABASE_URL is also read without the
prefix, as hosting platforms set it.
"""

# --- core -----------------------------------------------------------------------------------
ENV = "development"  # development | testing | production (chosen by SHUANGSUIJI_ENV)
SECRET_KEY = ""  # signs session cookies and CSRF tokens; required in production
# Keys the HMAC of ID numbers, phones and e-mails in the audit trail (stored masked, never in
# clear); empty = SECRET_KEY. Set it to keep the HMACs comparable across SECRET_KEY rotations.
AUDIT_HMAC_KEY = ""
DATABASE_URL = ""  # SQLAlchemy URL; empty = SQLite file instance/shuangsuiji.db
DATABASE_ECHO = False  # log every SQL statement (debugging only)
SQLITE_BUSY_TIMEOUT_MS = 15000  # how long SQLite waits for a lock before "database is locked"
TIMEZONE = "Asia/Shanghai"  # times are stored in UTC and shown in this zone
SITE_NAME = "双随机、一公开监管平台"  # shown in page titles and headers
BEHIND_PROXY = False  # trust one X-Forwarded-* hop (ProxyFix) when served behind nginx
# A map search opened from an inspector's task card ({address}: the firm's address, URL-encoded);
# a plain link, nothing is loaded from it by the pages. Empty: the address is shown without a link.
MAP_SEARCH_URL = "https://uri.amap.com/search?keyword={address}"

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
API_PAGE_SIZE = 50  # default page size (`limit`) of the API lists; at most sizes.MAX_LIMIT (200)
API_MAX_JSON_BYTES = 1048576  # largest JSON request body of the API (1 MiB); larger is a 413

# --- background worker ----------------------------------------------------------------------
WORKER_POLL_SECONDS = 1.0  # how often an idle worker looks for a queued task
WORKER_STALE_MINUTES = 10  # a running task without a heartbeat this long is handed back
WORKER_HEARTBEAT_SECONDS = 30.0  # a running task's worker writes its heartbeat this often
WORKER_MAX_ATTEMPTS = 3  # a task started this often whose worker died each time fails for good

# --- outages (worker, scheduler, outbox dispatcher) -------------------------------------------
OUTAGE_BACKOFF_SECONDS = 1.0  # wait after a round failed (database unreachable); doubles after each
OUTAGE_BACKOFF_MAX_SECONDS = 60.0  # the longest wait between rounds during an outage

# --- deadlines (working days, from the working-day calendar) ---------------------------------
RESULTS_ENTRY_WORKDAYS = 5  # results are entered within this many working days after fieldwork
PUBLICATION_WORKDAYS = 20  # results are published within this many working days after the check
DEADLINE_WARN_WORKDAYS = 3  # a deadline this close (or closer) shows as 即将到期 and is reminded

# --- scheduler (recurring plans) ------------------------------------------------------------
SCHEDULER_BATCH_TIME = "09:00"  # a batch is due at this time (TIMEZONE) on its first working day
SCHEDULER_TICK_SECONDS = 300  # how often the scheduler checks for due batches besides due times
SCHEDULER_RETRY_MINUTES = 60  # a batch that failed is tried again after this long

# --- public site ----------------------------------------------------------------------------
PUBLIC_SHOW_INSPECTOR_NAMES = False  # PIPL: inspector names on public pages only if enabled
PUBLIC_SEARCH_RATE_LIMIT = "30 per minute; 300 per hour"  # result searches per client address

# --- inspection results -----------------------------------------------------------------------
RESULT_ATTACHMENT_MAX_BYTES = 10485760  # largest photo or document per upload (10 MiB)

# --- registries: imports and exports -----------------------------------------------------------
UPLOAD_DIR = ""  # where uploaded files are kept; empty = instance/uploads
EXPORT_DIR = ""  # where export files are written; empty = instance/exports
IMPORT_MAX_BYTES = 314572800  # largest file accepted for import (300 MiB: a 1M-row UTF-8 CSV)
# Largest request body of any kind (a larger one is a 413 naming it): an import upload, its form
# fields and multipart framing. Start-up refuses a value not above IMPORT_MAX_BYTES (and
# RESULT_ATTACHMENT_MAX_BYTES, API_MAX_JSON_BYTES), which would make that limit unreachable.
REQUEST_MAX_BYTES = IMPORT_MAX_BYTES + 1048576
IMPORT_MAX_UNPACKED_BYTES = 1073741824  # largest unpacked size of an XLSX (zip bombs)
IMPORT_MAX_ZIP_ENTRIES = 10000  # most entries an XLSX may contain
IMPORT_MAX_ROWS = 5000000  # most data rows in one file
# An XLSX sheet is held whole as the box from A1 to its farthest cell (about 32 bytes a cell,
# empty or not): one reaching further is refused before it is parsed. Rows and columns default
# to Excel's own limits; the cells (rows x columns of the box) to about 1 GB of memory.
IMPORT_MAX_SHEET_ROWS = 1048576
IMPORT_MAX_SHEET_COLUMNS = 16384
IMPORT_MAX_SHEET_CELLS = 30000000
IMPORT_BATCH_ROWS = 5000  # rows staged per batch (progress is reported per batch)
# An import inserting at least this many rows, and at least half as many as the list holds,
# drops the list's search indexes beforehand and builds them after its commit, concurrently
# (PostgreSQL; nobody waits, searches scan meanwhile). Inserting at least as many as the list
# holds, it also sets aside the unique and foreign-key constraints in its transaction (other
# readers of the list wait until it commits). Several times faster than row by row.
IMPORT_REBUILD_MIN_ROWS = 100000
# Files at least this large are checked by a pool of this many processes on PostgreSQL, while
# the import's own process reads the file (1: never).
IMPORT_PROCESSES = 2
IMPORT_PROCESSES_MIN_BYTES = 16777216

# --- outbox: webhooks, e-mail, SMS (sent by `shuangsuiji outbox run`) ------------------------
OUTBOX_POLL_SECONDS = 5.0  # how often an idle dispatcher looks for due messages
OUTBOX_BATCH = 20  # messages claimed per round
OUTBOX_LEASE_SECONDS = 300  # a claimed message is due again after this if no outcome was recorded
OUTBOX_MAX_ATTEMPTS = 8  # attempts before a message is given up (status failed)
OUTBOX_BACKOFF_SECONDS = 30.0  # wait after the first failed attempt; doubles after each
OUTBOX_BACKOFF_MAX_SECONDS = 21600.0  # the longest wait between attempts (6 hours)
OUTBOX_HTTP_TIMEOUT_SECONDS = 10.0  # connect + read timeout of one webhook call
WEBHOOK_SECRET = ""  # HMAC-SHA256 key signing every webhook; required when a webhook URL is set
SMTP_HOST = ""  # e-mail is sent only when set; otherwise it waits for an external gateway (API)
SMTP_PORT = 25  # 465 with SMTP_SSL, 587 with SMTP_STARTTLS
SMTP_SSL = False  # implicit TLS (SMTPS)
SMTP_STARTTLS = False  # upgrade a plain connection with STARTTLS
SMTP_USERNAME = ""  # log in when set
SMTP_PASSWORD = ""  # with SMTP_USERNAME
SMTP_FROM = ""  # the From address; required when SMTP_HOST is set
# Channels this deployment does not use, comma-separated (e.g. "sms" when no SMS gateway will
# ever collect): a message on one is recorded at once as not sent, with the reason, and the
# scheduler gives up those already queued.
OUTBOX_CHANNELS_OFF = ""
# E-mail (without SMTP_HOST) and SMS wait for an external gateway to collect them (the API);
# one still waiting after this many hours expires (recorded as not sent, with the reason).
# 0: they wait forever.
OUTBOX_GATEWAY_EXPIRY_HOURS = 72
# Messages sent or given up are deleted by the scheduler this many days later (0: kept). The
# audit trail keeps its entries of them; the credit feed never reads the outbox.
OUTBOX_RETENTION_DAYS = 90

# --- housekeeping (run by the scheduler process) ---------------------------------------------
HOUSEKEEPING_INTERVAL_MINUTES = 60  # how often the scheduler expires and prunes (at most)
# The staged rows of an import that is done, failed or cancelled are deleted this many days
# after it ended (0: at the next housekeeping). The import's report and rejected rows are kept.
IMPORT_STAGE_RETENTION_DAYS = 1

# --- credit feed (信用) -----------------------------------------------------------------------
# Which published result codes create which credit events: empty = the default table
# (DEFAULT_RULES in shuangsuiji/domain/credit_rules.py, whose docstring describes a rule), else
# a list of rules (or its JSON text in the environment variable), checked at start-up.
CREDIT_RULES = ""
CREDIT_REMOVAL_DAYS = 7  # calendar days to remove an entity once its ground is cured
CREDIT_SERIOUS_LIST_YEARS = 3  # listed this long: a 严重违法失信名单 candidate
CREDIT_WEBHOOK_URL = ""  # every credit event is posted here (signed) when set
CREDIT_FEED_MAX_LIMIT = 1000  # most events one feed request returns
# The legal basis a printed 列入/移出经营异常名录决定书 cites ("依据…的规定"); a province adds its
# own rules or the articles here.
CREDIT_DECISION_BASIS = "《企业信息公示暂行条例》"
# An export (a draw's list, the review list, the 经营异常名录) of at most this many rows is
# downloaded at once; a larger one is written by the worker and downloaded from its task page.
EXPORT_INLINE_MAX_ROWS = 2000
