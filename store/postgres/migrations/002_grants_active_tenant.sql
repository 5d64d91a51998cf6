-- An admin's session listing of one tenant (SPEC §6: AllSubjects with a
-- tenant filter), keyset-ordered; without it every page read the tenant's
-- whole active set and sorted it.
CREATE INDEX grants_active_tenant ON grantkit.grants (tenant, created_at DESC, id DESC) WHERE status = 'active';
