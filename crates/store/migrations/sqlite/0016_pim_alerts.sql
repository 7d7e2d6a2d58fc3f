-- PIM alerts (Graph beta roleManagementAlerts). Each definition's configuration as the core's
-- JSON (absent: the defaults); its incidents, each raised for a cause whose key is unique among
-- the unresolved incidents of its definition (a resolved one frees it, so the cause raises a
-- new incident when it comes back); and each alert's last scan and last change.
CREATE TABLE pim_alert_configurations (
    definition TEXT PRIMARY KEY,
    modified_at INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE pim_alert_incidents (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    cause_key TEXT NOT NULL,
    raised_at INTEGER NOT NULL,
    resolved_at INTEGER,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX pim_alert_incidents_open ON pim_alert_incidents (definition, cause_key)
    WHERE resolved_at IS NULL;
CREATE INDEX pim_alert_incidents_definition ON pim_alert_incidents (definition, raised_at);
CREATE TABLE pim_alert_scans (
    definition TEXT PRIMARY KEY,
    last_scanned_at INTEGER,
    last_modified_at INTEGER
);
