-- Sign-in and activation history, what access reviews' recommendations and PIM alerts read.
-- Both go with their principal (a deleted user's history is deleted with it).

-- The last successful sign-in of each user or service principal, one row per principal, kept
-- by an upsert that never moves a time backwards. Interactive (password, portal, Temporary
-- Access Pass) and non-interactive (client credentials) sign-ins are kept apart, as Graph's
-- signInActivity does (lastSignInDateTime, lastNonInteractiveSignInDateTime). Times in
-- microseconds; NULL when never.
CREATE TABLE sign_in_activity (
    principal_id TEXT PRIMARY KEY REFERENCES principals (id) ON DELETE CASCADE,
    last_interactive_at BIGINT,
    last_non_interactive_at BIGINT
);

-- One row per activation (a selfActivate that granted an active schedule, at once or when its
-- approval completed), appended in the transaction that grants it and never changed. The target
-- is a role at a scope (target_kind 'role', target_id the role definition, access_id '') or a
-- group access (target_kind 'group', target_id the group, access_id 'member' or 'owner',
-- directory_scope_id '/groups/{id}', group_id the group so that the group's deletion takes its
-- history too). "Last activation of P for T" and "how many between t0 and t1" are each one range
-- of activation_history_target.
CREATE TABLE activation_history (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    access_id TEXT NOT NULL,
    directory_scope_id TEXT NOT NULL,
    group_id TEXT REFERENCES principals (id) ON DELETE CASCADE,
    schedule_id TEXT NOT NULL,
    activated_at BIGINT NOT NULL
);
CREATE INDEX activation_history_target ON activation_history
    (principal_id, target_id, access_id, directory_scope_id, activated_at);
CREATE INDEX activation_history_group ON activation_history (group_id);
