-- A principal's requests in one status, newest first: the open-request check every activation
-- makes, and "my requests" lists. With only (principal_id) or (status) to choose from, the
-- planner could walk every pending request in the store for each activation.
CREATE INDEX schedule_requests_principal_status ON schedule_requests (principal_id, status, created_at);
