CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    total_cents     BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT UNIQUE,
    request_hash    TEXT NOT NULL,
    reservation_id  TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    error_message   TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX orders_user_status ON orders (user_id, status, id);
CREATE INDEX orders_status_updated ON orders (status, updated_at);
CREATE TABLE order_items (
    order_id         TEXT NOT NULL REFERENCES orders (id),
    line             BIGINT NOT NULL,
    product_id       TEXT NOT NULL,
    quantity         BIGINT NOT NULL,
    unit_price_cents BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line)
);
