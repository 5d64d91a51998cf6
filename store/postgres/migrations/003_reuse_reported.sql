-- Replay marks (RFC 6749 §4.1.2, RFC 9700 §4.14). When a used code or a
-- revoked refresh token is presented again, grantkit audits and reports the
-- replay once per token: the first report sets reuse_reported_at in the
-- same transaction, and later replays of the same value write nothing, so
-- one leaked value cannot flood the audit table or the host's alerts.
-- A nullable column without a default changes only the catalog (no table
-- rewrite); the ALTERs still take a brief exclusive lock on each table.
ALTER TABLE grantkit.auth_codes ADD COLUMN reuse_reported_at timestamptz;
ALTER TABLE grantkit.refresh_tokens ADD COLUMN reuse_reported_at timestamptz;
