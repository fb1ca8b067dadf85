package productstore

import (
	"context"
	"database/sql"

	"github.com/kitshop/kitshop/internal/sqldb"
)

// The statements of a reservation's way through the store (claim, take the
// stock, record, confirm) and of GetProduct, as the store methods run them
// (? placeholders). Open prepares each once, so that the database
// parses it once per connection rather than on every call: parsing was
// about a fifth of productsvc's CPU under order load, see
// docs/PERFORMANCE.md and BenchmarkStoreSQLite.
const (
	getProductQuery = `SELECT id, name, price_cents, stock, created_at FROM products WHERE id = ?`
	claimKeyQuery   = `INSERT INTO idempotency_keys (idem_key, request_hash, state, claim_token, claimed_at)
		VALUES (?, ?, 'in_progress', ?, ?) ON CONFLICT (idem_key) DO NOTHING`
	recordOutcomeQuery = `UPDATE idempotency_keys SET state = 'completed', reservation_id = ?, error_code = ?,
		error_message = ?, completed_at = ? WHERE idem_key = ? AND claim_token = ? AND state = 'in_progress'`
	takeStockQuery         = `UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?`
	priceQuery             = `SELECT price_cents FROM products WHERE id = ?`
	insertReservationQuery = `INSERT INTO reservations (id, order_id, status, created_at, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`
	insertReservationItemQuery = `INSERT INTO reservation_items (reservation_id, line, product_id, quantity, unit_price_cents)
		VALUES (?, ?, ?, ?, ?)`
	confirmReservationQuery = `UPDATE reservations SET status = 'confirmed', updated_at = ?
		WHERE id = ? AND status = 'held' AND expires_at > ?`
	reservationByIDQuery = `SELECT id, order_id, status, expires_at FROM reservations WHERE id = ?`
)

// reservationItemsQuery selects the lines of n reservations.
func reservationItemsQuery(n int) string {
	return `SELECT reservation_id, product_id, quantity, unit_price_cents
		FROM reservation_items WHERE reservation_id IN (` + placeholders(n) + `) ORDER BY reservation_id, line`
}

// preparedQueries lists what Open prepares.
func preparedQueries() []string {
	return []string{
		getProductQuery, claimKeyQuery, recordOutcomeQuery, takeStockQuery, priceQuery, insertReservationQuery,
		insertReservationItemQuery, confirmReservationQuery, reservationByIDQuery, reservationItemsQuery(1),
	}
}

// queryOn runs a read on q (the database or a transaction), through the
// query's prepared statement if it has one.
func (s *Store) queryOn(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared[query]; st != nil {
		switch q := q.(type) {
		case *sql.Tx:
			return q.StmtContext(ctx, st).QueryContext(ctx, args...)
		case *sqldb.DB:
			return st.QueryContext(ctx, args...)
		}
	}
	return q.QueryContext(ctx, s.db.Rebind(query), args...)
}

// queryRowOn is queryOn for one row.
func (s *Store) queryRowOn(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	if st := s.prepared[query]; st != nil {
		switch q := q.(type) {
		case *sql.Tx:
			return q.StmtContext(ctx, st).QueryRowContext(ctx, args...)
		case *sqldb.DB:
			return st.QueryRowContext(ctx, args...)
		}
	}
	switch q := q.(type) {
	case *sql.Tx:
		return q.QueryRowContext(ctx, s.db.Rebind(query), args...)
	default:
		return s.db.QueryRowContext(ctx, s.db.Rebind(query), args...)
	}
}
