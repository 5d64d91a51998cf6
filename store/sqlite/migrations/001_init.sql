-- grantkit schema, version 1 (SPEC §2, §9). Table and index names are written
-- with the default prefix "grantkit_"; Migrate rewrites them for a configured
-- prefix. Times are INTEGER Unix microseconds (UTC), lists and documents JSON
-- text, ids UUID text.

CREATE TABLE grantkit_clients (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL DEFAULT '',
    secret_hash    BLOB,
    redirect_uris  TEXT NOT NULL,
    grant_types    TEXT NOT NULL,
    response_types TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    dynamic        INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
) STRICT;
CREATE INDEX grantkit_clients_dynamic_created ON grantkit_clients (created_at) WHERE dynamic;

CREATE TABLE grantkit_grants (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES grantkit_clients (id),
    subject        TEXT NOT NULL,
    subject_kind   TEXT NOT NULL DEFAULT '',
    tenant         TEXT NOT NULL DEFAULT '',
    resource       TEXT NOT NULL DEFAULT '',
    redirect_uri   TEXT NOT NULL,
    scopes         TEXT NOT NULL,
    context        TEXT,
    config_version INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    created_at     INTEGER NOT NULL,
    activated_at   INTEGER,
    revoked_at     INTEGER,
    revoke_reason  TEXT NOT NULL DEFAULT '',
    last_used_at   INTEGER
) STRICT;
-- At most one active grant per binding, enforced by the database (SPEC §2.2).
CREATE UNIQUE INDEX grantkit_grants_active_binding ON grantkit_grants (client_id, subject, tenant, resource, redirect_uri)
    WHERE status = 'active';
CREATE INDEX grantkit_grants_active_subject ON grantkit_grants (subject, created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX grantkit_grants_active_subject_tenant ON grantkit_grants (subject, tenant, created_at DESC, id DESC)
    WHERE status = 'active';
CREATE INDEX grantkit_grants_active_all ON grantkit_grants (created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX grantkit_grants_client ON grantkit_grants (client_id);
CREATE INDEX grantkit_grants_live_subject ON grantkit_grants (subject, tenant) WHERE status <> 'revoked';
CREATE INDEX grantkit_grants_live_tenant ON grantkit_grants (tenant) WHERE status <> 'revoked';
CREATE INDEX grantkit_grants_live_resource ON grantkit_grants (resource, config_version) WHERE status <> 'revoked';
CREATE INDEX grantkit_grants_live_subject_kind ON grantkit_grants (subject_kind) WHERE status <> 'revoked';
CREATE INDEX grantkit_grants_pending_created ON grantkit_grants (created_at) WHERE status = 'pending';
CREATE INDEX grantkit_grants_revoked_at ON grantkit_grants (revoked_at) WHERE status = 'revoked';

CREATE TABLE grantkit_auth_requests (
    id                    TEXT PRIMARY KEY,
    grant_id              TEXT NOT NULL REFERENCES grantkit_grants (id),
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    state                 TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    resource              TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    consumed_at           INTEGER,
    revoked_at            INTEGER
) STRICT;
CREATE INDEX grantkit_auth_requests_grant ON grantkit_auth_requests (grant_id);
CREATE INDEX grantkit_auth_requests_expires ON grantkit_auth_requests (expires_at);

CREATE TABLE grantkit_auth_codes (
    id                    TEXT PRIMARY KEY,
    hash                  BLOB NOT NULL UNIQUE,
    grant_id              TEXT NOT NULL REFERENCES grantkit_grants (id),
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    revoked_at            INTEGER
) STRICT;
CREATE INDEX grantkit_auth_codes_grant ON grantkit_auth_codes (grant_id);
CREATE INDEX grantkit_auth_codes_expires ON grantkit_auth_codes (expires_at);

CREATE TABLE grantkit_refresh_tokens (
    id                TEXT PRIMARY KEY,
    hash              BLOB NOT NULL UNIQUE,
    grant_id          TEXT NOT NULL REFERENCES grantkit_grants (id),
    family_id         TEXT NOT NULL,
    parent_id         TEXT,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER,
    family_expires_at INTEGER,
    revoked_at        INTEGER,
    revoke_reason     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX grantkit_refresh_tokens_grant ON grantkit_refresh_tokens (grant_id);
CREATE UNIQUE INDEX grantkit_refresh_tokens_family_head ON grantkit_refresh_tokens (family_id) WHERE revoked_at IS NULL;
CREATE INDEX grantkit_refresh_tokens_revoked_at ON grantkit_refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX grantkit_refresh_tokens_expires ON grantkit_refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX grantkit_refresh_tokens_family_expires ON grantkit_refresh_tokens (family_expires_at)
    WHERE family_expires_at IS NOT NULL;

CREATE TABLE grantkit_audit_events (
    id          TEXT PRIMARY KEY,
    grant_id    TEXT,
    client_id   TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    occurred_at INTEGER NOT NULL,
    details     TEXT
) STRICT;
CREATE INDEX grantkit_audit_events_grant ON grantkit_audit_events (grant_id, occurred_at DESC, id DESC)
    WHERE grant_id IS NOT NULL;
CREATE INDEX grantkit_audit_events_subject ON grantkit_audit_events (subject, occurred_at DESC, id DESC);
CREATE INDEX grantkit_audit_events_occurred ON grantkit_audit_events (occurred_at);
