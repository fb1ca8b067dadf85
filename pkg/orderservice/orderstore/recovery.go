package orderstore

import (
	"context"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// The recovery loop's queue: the orders a crash or an outage left
// unresolved, and when to look at each again.

// ListUnresolved implements orderservice.Store.
func (s *Store) ListUnresolved(ctx context.Context, before, now time.Time, limit int) ([]orderservice.Record, error) {
	records, err := s.list(ctx, `SELECT `+recordColumns+` FROM orders
		WHERE (status = ? OR (status = ? AND updated_at < ?)) AND retry_at <= ?
		ORDER BY retry_at, updated_at LIMIT ?`,
		orderservice.StatusCancelling, orderservice.StatusPending, before.UnixMicro(), now.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*orderservice.Order, len(records))
	for i := range records {
		ptrs[i] = &records[i].Order
	}
	if err := s.loadItems(ctx, ptrs); err != nil {
		return nil, err
	}
	return records, nil
}

// Postpone implements orderservice.Store.
func (s *Store) Postpone(ctx context.Context, id, status string, retryAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE orders SET attempts = attempts + 1, retry_at = ?
		WHERE id = ? AND status = ?`), retryAt.UnixMicro(), id, status)
	if err != nil {
		return internalf("postpone order: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internalf("postpone order: %w", err)
	} else if n == 0 {
		return orderservice.ErrStateChanged
	}
	return nil
}

// CountUnresolved implements orderservice.Store.
func (s *Store) CountUnresolved(ctx context.Context) (orderservice.Unresolved, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT status, COUNT(*) FROM orders
		WHERE status IN (?, ?) GROUP BY status`), orderservice.StatusPending, orderservice.StatusCancelling)
	if err != nil {
		return orderservice.Unresolved{}, internalf("count unresolved orders: %w", err)
	}
	defer rows.Close()
	var u orderservice.Unresolved
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return orderservice.Unresolved{}, internalf("count unresolved orders: %w", err)
		}
		switch status {
		case orderservice.StatusPending:
			u.Pending = n
		case orderservice.StatusCancelling:
			u.Cancelling = n
		}
	}
	if err := rows.Err(); err != nil {
		return orderservice.Unresolved{}, internalf("count unresolved orders: %w", err)
	}
	return u, nil
}
