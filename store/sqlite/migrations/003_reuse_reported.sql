-- Replay marks (RFC 6749 §4.1.2, RFC 9700 §4.14). When a used code or a
-- revoked refresh token is presented again, grantkit audits and reports the
-- replay once per token: the first report sets reuse_reported_at (Unix
-- microseconds, UTC) in the same transaction, and later replays of the same
-- value write nothing, so one leaked value cannot flood the audit table or
-- the host's alerts.
ALTER TABLE grantkit_auth_codes ADD COLUMN reuse_reported_at INTEGER;
ALTER TABLE grantkit_refresh_tokens ADD COLUMN reuse_reported_at INTEGER;
