CREATE INDEX orders_status_id ON orders (status, id);
