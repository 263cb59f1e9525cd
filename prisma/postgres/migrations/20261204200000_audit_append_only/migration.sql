-- The audit trail is append-only: the database itself refuses to change or remove a record.
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit records are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER "AuditRecord_no_update" BEFORE UPDATE OR DELETE ON "AuditRecord"
  FOR EACH ROW EXECUTE FUNCTION audit_record_append_only();

CREATE TRIGGER "AuditRecord_no_truncate" BEFORE TRUNCATE ON "AuditRecord"
  FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only();
