package productstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// querier is what reads need: the database, or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ListReservations implements productservice.Store.
func (s *Store) ListReservations(ctx context.Context, status, after string, limit int) ([]productservice.Reservation, error) {
	query, args := `SELECT id, order_id, status, expires_at FROM reservations WHERE id > ?`, []any{after}
	if status != "" {
		query, args = query+` AND status = ?`, append(args, status)
	}
	rs, err := s.loadReservations(ctx, s.db, query+` ORDER BY id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list reservations: %w", err))
	}
	return rs, nil
}

// loadReservations runs query, which selects id, order_id, status and
// expires_at of reservations, and fills in their items.
func (s *Store) loadReservations(ctx context.Context, q querier, query string, args ...any) ([]productservice.Reservation, error) {
	rows, err := s.queryOn(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	var rs []productservice.Reservation
	var ids []string
	for rows.Next() {
		var r productservice.Reservation
		var expires int64
		if err := rows.Scan(&r.ID, &r.OrderID, &r.Status, &expires); err != nil {
			rows.Close()
			return nil, err
		}
		r.ExpiresAt = time.UnixMicro(expires).UTC()
		rs = append(rs, r)
		ids = append(ids, r.ID)
	}
	// Closed before the next query: a transaction has one connection.
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return rs, nil
	}
	items, err := s.loadItems(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i].Items = items[rs[i].ID]
	}
	return rs, nil
}

// loadItems returns the lines of the reservations ids, in line order.
func (s *Store) loadItems(ctx context.Context, q querier, ids []string) (map[string][]productservice.ReservedItem, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.queryOn(ctx, q, reservationItemsQuery(len(ids)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := make(map[string][]productservice.ReservedItem, len(ids))
	for rows.Next() {
		var rid string
		var it productservice.ReservedItem
		if err := rows.Scan(&rid, &it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			return nil, err
		}
		items[rid] = append(items[rid], it)
	}
	return items, rows.Err()
}

// queryIDs runs a query selecting one text column.
func (s *Store) queryIDs(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
