-- The PIM alert "roles are being activated too frequently" reads every activation of the last
-- 24 hours (`activations_between`): by time alone, which the per-target index cannot serve.
CREATE INDEX activation_history_time ON activation_history (activated_at);
