-- The binding a grant is unique on includes the subject's kind: a user
-- "42" and an API key "42" of one host are different principals, so an
-- approval for one must not supersede (revoke) the other's grant.
DROP INDEX grantkit.grants_active_binding;
CREATE UNIQUE INDEX grants_active_binding ON grantkit.grants (client_id, subject, subject_kind, tenant, resource, redirect_uri)
    WHERE status = 'active';
