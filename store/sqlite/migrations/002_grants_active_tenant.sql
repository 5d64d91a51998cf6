-- An admin's session listing of one tenant (SPEC §6: AllSubjects with a
-- tenant filter), keyset-ordered; without it every page scanned the active
-- grants of every tenant.
CREATE INDEX grantkit_grants_active_tenant ON grantkit_grants (tenant, created_at DESC, id DESC) WHERE status = 'active';
