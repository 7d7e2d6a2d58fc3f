-- A group's members and owners through PIM for Groups (`GET /v1/groups/{id}/members`) read the
-- active schedules of one scope ('/groups/{id}') and one access; with only (role_definition_id,
-- kind) the planner walked every group-membership schedule in the store (issue 18, item 7). The
-- same index serves any schedule listing filtered by scope.
CREATE INDEX role_schedules_scope ON role_schedules (directory_scope_id, role_definition_id, kind);
