-- grantkit schema, version 1 (SPEC §2, §9). Table names are written with the
-- default schema "grantkit"; Migrate rewrites them for a configured schema.

CREATE TABLE grantkit.clients (
    id             text PRIMARY KEY,
    name           text NOT NULL DEFAULT '',
    secret_hash    bytea,
    redirect_uris  jsonb NOT NULL,
    grant_types    jsonb NOT NULL,
    response_types jsonb NOT NULL,
    scopes         jsonb NOT NULL,
    dynamic        boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);
-- Sweep of orphan dynamic clients (SPEC §7).
CREATE INDEX clients_dynamic_created ON grantkit.clients (created_at) WHERE dynamic;

CREATE TABLE grantkit.grants (
    id             uuid PRIMARY KEY,
    client_id      text NOT NULL REFERENCES grantkit.clients (id),
    subject        text NOT NULL,
    subject_kind   text NOT NULL DEFAULT '',
    tenant         text NOT NULL DEFAULT '',
    resource       text NOT NULL DEFAULT '',
    redirect_uri   text NOT NULL,
    scopes         jsonb NOT NULL,
    context        jsonb,
    config_version bigint NOT NULL DEFAULT 0,
    status         text NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    created_at     timestamptz NOT NULL,
    activated_at   timestamptz,
    revoked_at     timestamptz,
    revoke_reason  text NOT NULL DEFAULT '',
    last_used_at   timestamptz
);
-- At most one active grant per binding, enforced by the database (SPEC §2.2).
CREATE UNIQUE INDEX grants_active_binding ON grantkit.grants (client_id, subject, tenant, resource, redirect_uri)
    WHERE status = 'active';
-- Session listings, keyset-ordered (SPEC §6).
CREATE INDEX grants_active_subject ON grantkit.grants (subject, created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX grants_active_subject_tenant ON grantkit.grants (subject, tenant, created_at DESC, id DESC)
    WHERE status = 'active';
CREATE INDEX grants_active_all ON grantkit.grants (created_at DESC, id DESC) WHERE status = 'active';
-- Revocation selectors (SPEC §3) and the client foreign key.
CREATE INDEX grants_client ON grantkit.grants (client_id);
CREATE INDEX grants_live_subject ON grantkit.grants (subject, tenant) WHERE status <> 'revoked';
CREATE INDEX grants_live_tenant ON grantkit.grants (tenant) WHERE status <> 'revoked';
CREATE INDEX grants_live_resource ON grantkit.grants (resource, config_version) WHERE status <> 'revoked';
CREATE INDEX grants_live_subject_kind ON grantkit.grants (subject_kind) WHERE status <> 'revoked';
-- Sweep (SPEC §7).
CREATE INDEX grants_pending_created ON grantkit.grants (created_at) WHERE status = 'pending';
CREATE INDEX grants_revoked_at ON grantkit.grants (revoked_at) WHERE status = 'revoked';

CREATE TABLE grantkit.auth_requests (
    id                    uuid PRIMARY KEY,
    grant_id              uuid NOT NULL REFERENCES grantkit.grants (id),
    client_id             text NOT NULL,
    redirect_uri          text NOT NULL,
    scopes                jsonb NOT NULL,
    state                 text NOT NULL DEFAULT '',
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    resource              text NOT NULL DEFAULT '',
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    consumed_at           timestamptz,
    revoked_at            timestamptz
);
CREATE INDEX auth_requests_grant ON grantkit.auth_requests (grant_id);
CREATE INDEX auth_requests_expires ON grantkit.auth_requests (expires_at);

CREATE TABLE grantkit.auth_codes (
    id                    uuid PRIMARY KEY,
    hash                  bytea NOT NULL UNIQUE,
    grant_id              uuid NOT NULL REFERENCES grantkit.grants (id),
    client_id             text NOT NULL,
    redirect_uri          text NOT NULL,
    scopes                jsonb NOT NULL,
    code_challenge        text NOT NULL,
    code_challenge_method text NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    used_at               timestamptz,
    revoked_at            timestamptz
);
CREATE INDEX auth_codes_grant ON grantkit.auth_codes (grant_id);
CREATE INDEX auth_codes_expires ON grantkit.auth_codes (expires_at);

CREATE TABLE grantkit.refresh_tokens (
    id                uuid PRIMARY KEY,
    hash              bytea NOT NULL UNIQUE,
    grant_id          uuid NOT NULL REFERENCES grantkit.grants (id),
    family_id         uuid NOT NULL,
    parent_id         uuid,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz,
    family_expires_at timestamptz,
    revoked_at        timestamptz,
    revoke_reason     text NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_grant ON grantkit.refresh_tokens (grant_id);
-- A family has at most one active token: its head.
CREATE UNIQUE INDEX refresh_tokens_family_head ON grantkit.refresh_tokens (family_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_revoked_at ON grantkit.refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_expires ON grantkit.refresh_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX refresh_tokens_family_expires ON grantkit.refresh_tokens (family_expires_at)
    WHERE family_expires_at IS NOT NULL;

CREATE TABLE grantkit.audit_events (
    id          uuid PRIMARY KEY,
    grant_id    uuid,
    client_id   text NOT NULL DEFAULT '',
    subject     text NOT NULL DEFAULT '',
    type        text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    actor       text NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL,
    details     jsonb
);
CREATE INDEX audit_events_grant ON grantkit.audit_events (grant_id, occurred_at DESC, id DESC) WHERE grant_id IS NOT NULL;
CREATE INDEX audit_events_subject ON grantkit.audit_events (subject, occurred_at DESC, id DESC);
CREATE INDEX audit_events_occurred ON grantkit.audit_events (occurred_at);
