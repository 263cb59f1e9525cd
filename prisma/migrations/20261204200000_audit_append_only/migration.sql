-- The audit trail is append-only: the database itself refuses to change or remove a record.
CREATE TRIGGER "AuditRecord_no_update" BEFORE UPDATE ON "AuditRecord"
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER "AuditRecord_no_delete" BEFORE DELETE ON "AuditRecord"
BEGIN
  SELECT RAISE(ABORT, 'audit records are append-only');
END;
