CREATE INDEX idempotency_keys_state_completed ON idempotency_keys (state, completed_at);
CREATE INDEX idempotency_keys_reservation ON idempotency_keys (reservation_id);
CREATE INDEX reservations_status_updated ON reservations (status, updated_at);
