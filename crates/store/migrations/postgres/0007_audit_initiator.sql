-- "What did this person do?" (the portal's recent decisions, the audit page's actor filter):
-- newest first per initiator, without scanning everyone's entries.
CREATE INDEX audit_log_initiator ON audit_log (initiator_id, sequence);
