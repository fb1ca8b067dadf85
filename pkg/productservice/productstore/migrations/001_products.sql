CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents > 0),
    stock       BIGINT NOT NULL CHECK (stock >= 0),
    created_at  BIGINT NOT NULL
);

CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('held', 'confirmed', 'released', 'expired')),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX reservations_status_expires_at ON reservations (status, expires_at);

CREATE TABLE reservation_items (
    reservation_id   TEXT NOT NULL REFERENCES reservations (id),
    line             INTEGER NOT NULL,
    product_id       TEXT NOT NULL REFERENCES products (id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL,
    PRIMARY KEY (reservation_id, line)
);

CREATE TABLE idempotency_keys (
    idem_key       TEXT PRIMARY KEY,
    request_hash   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    claim_token    TEXT NOT NULL,
    claimed_at     BIGINT NOT NULL,
    reservation_id TEXT REFERENCES reservations (id),
    error_code     TEXT,
    error_message  TEXT,
    completed_at   BIGINT
);
