package orderstore

import (
	"context"
	"database/sql"
	"strings"
)

// The statements of an order's way through the store, as the store
// methods run them (? placeholders). Open prepares each once, so that
// the database parses it once per connection rather than on every call:
// parsing was about a sixth of ordersvc's CPU under order load, see
// docs/PERFORMANCE.md and BenchmarkStoreSQLite.
const (
	insertOrderQuery = `INSERT INTO orders (id, user_id, status, idempotency_key, request_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	insertItemQuery  = `INSERT INTO order_items (order_id, line, product_id, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?)`
	deleteItemsQuery = `DELETE FROM order_items WHERE order_id = ?`
	getByIDQuery     = `SELECT ` + recordColumns + ` FROM orders WHERE id = ?`
	getByKeyQuery    = `SELECT ` + recordColumns + ` FROM orders WHERE idempotency_key = ?`

	// What each state change sets, besides updated_at.
	setConfirmed  = `status = ?, total_cents = ?, reservation_id = ?`
	setRejected   = `status = ?, error_code = ?, error_message = ?`
	setCancelling = `status = ?, reservation_id = ?`
	setCancelled  = `status = ?, idempotency_key = NULL`
)

// transitionQuery is the UPDATE of a state change: set, and updated_at,
// WHERE id = ? AND status IN (from states).
func transitionQuery(set string, from int) string {
	return `UPDATE orders SET ` + set + `, updated_at = ? WHERE id = ? AND status IN (?` + strings.Repeat(", ?", from-1) + `)`
}

// itemsQuery selects the items of n orders.
func itemsQuery(n int) string {
	return `SELECT order_id, product_id, quantity, unit_price_cents FROM order_items WHERE order_id IN (?` +
		strings.Repeat(", ?", n-1) + `) ORDER BY order_id, line`
}

// preparedQueries lists what Open prepares: every statement of
// CreatePending, Get, GetByKey and the state changes (reading one order's
// items included). Lists, whose text varies, are not prepared.
func preparedQueries() []string {
	return []string{
		insertOrderQuery, insertItemQuery, deleteItemsQuery, getByIDQuery, getByKeyQuery, itemsQuery(1),
		transitionQuery(setConfirmed, 2), transitionQuery(setRejected, 1),
		transitionQuery(setCancelling, 1), transitionQuery(setCancelled, 2),
	}
}

// exec runs query in tx, through its prepared statement if it has one.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.prepared[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.db.Rebind(query), args...)
}

// query runs query on the database, through its prepared statement if it
// has one.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared[query]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, s.db.Rebind(query), args...)
}

// queryRow is query for one row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.prepared[query]; st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, s.db.Rebind(query), args...)
}
