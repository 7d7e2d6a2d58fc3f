-- The rows that make the audit trail searchable by target and by name are written by the store
-- alone, in the statement that inserts their entry, from that entry; no API writes or removes
-- them, and triggers refuse changes to the log. Their foreign keys to `audit_log` therefore
-- guarded nothing, and cost a lookup of the entry per row at the end of every audited commit
-- (about 75 rows for a batch of five activations, about 1 ms), while the batch holds the audit
-- head's lock that every server's writes wait for (BENCHMARKS.md, "The audit's foreign keys").
-- What makes the trail trustworthy is the hash chain and the signed checkpoints, not these.
ALTER TABLE audit_targets DROP CONSTRAINT IF EXISTS audit_targets_sequence_fkey;
ALTER TABLE audit_names DROP CONSTRAINT IF EXISTS audit_names_sequence_fkey;
