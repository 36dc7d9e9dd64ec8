"""The ledger as casework made it before its schema had numbered revisions: the statements
revision 0001 runs. Frozen: a ledger made by an older casework holds exactly these tables, some
without the columns added since the first release; change the schema with a new revision in
`versions/`, never here."""

from __future__ import annotations

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS cases (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        state TEXT NOT NULL,
        queue TEXT NOT NULL,
        priority TEXT NOT NULL,
        priority_rank INTEGER NOT NULL,
        assignee TEXT,
        lease_expires_at TEXT,
        sla_deadline TEXT,
        sla_breached INTEGER NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        policy_ids TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS cases_state_idx ON cases (state, opened_at)",
    # a queue's order, per state: the most urgent rows of a queue are read off it, not sorted
    "DROP INDEX IF EXISTS cases_queue_idx",
    "CREATE INDEX IF NOT EXISTS cases_urgent_idx ON cases "
    "(state, queue, priority_rank, sla_deadline, opened_at)",
    "CREATE INDEX IF NOT EXISTS cases_subject_idx ON cases (subject_kind, subject_id)",
    # covers the console's open and breached counts per queue (no table reads)
    "CREATE INDEX IF NOT EXISTS cases_counts_idx ON cases (state, queue, sla_breached)",
    "CREATE INDEX IF NOT EXISTS cases_case_id_idx ON cases (case_id, opened_at)",
    """CREATE TABLE IF NOT EXISTS audit (
        case_uid TEXT NOT NULL,
        case_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (case_uid, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS statements (
        puid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS overflow_reports (
        case_uid TEXT NOT NULL,
        report_key TEXT NOT NULL,
        case_id TEXT NOT NULL,
        reporter_key TEXT,
        reporter TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (case_uid, report_key)
    )""",
    """CREATE TABLE IF NOT EXISTS takedown_items (
        job_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NOT NULL,
        seller_id TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
    )""",
    "CREATE INDEX IF NOT EXISTS takedown_items_status_idx ON takedown_items (job_id, status)",
    """CREATE TABLE IF NOT EXISTS takedown_jobs (
        job_id TEXT PRIMARY KEY,
        requester TEXT NOT NULL,
        items INTEGER NOT NULL,
        created_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS takedown_jobs_requester_idx ON takedown_jobs (requester, created_at)",
    "CREATE INDEX IF NOT EXISTS audit_event_idx ON audit (event, at)",
    """CREATE TABLE IF NOT EXISTS strikes (
        case_uid TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        seller_id TEXT NOT NULL,
        shop_id TEXT,
        policy_ids TEXT NOT NULL,
        at TEXT NOT NULL,
        overturned INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS strikes_seller_idx ON strikes (seller_id, at)",
    """CREATE TABLE IF NOT EXISTS credentials (
        person_id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token_id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        person INTEGER NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS sessions (
        session_hash TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        csrf TEXT NOT NULL,
        expires_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        caller TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (caller, idem_key)
    )""",
    """CREATE TABLE IF NOT EXISTS sign_in_attempts (
        attempt_key TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sign_in_attempts_idx ON sign_in_attempts (attempt_key, at)",
    """CREATE TABLE IF NOT EXISTS people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        queues TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        message_id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
]


# Columns added since the first release. Ledgers made before get them (`lifecycle`: their rows
# are reviews; `state_since` NULL: since the row's last write; `expires_at` NULL: a token made
# before tokens expired does not); a new ledger gets them the same way, after its tables, so its
# columns stand in the same order as an upgraded ledger's.
ADDED_COLUMNS = {
    "cases": {"lifecycle": "lifecycle TEXT NOT NULL DEFAULT 'review'",
              "waiting_on": "waiting_on TEXT", "state_since": "state_since TEXT"},
    "tokens": {"expires_at": "expires_at TEXT"},
    "sign_in_attempts": {"attempt_id": "attempt_id TEXT"},
}
