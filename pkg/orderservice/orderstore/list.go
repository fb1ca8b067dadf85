package orderstore

import (
	"context"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// Reads of many orders: a user's confirmed orders, page by page, with
// their lines.

// ListConfirmed implements orderservice.Store.
func (s *Store) ListConfirmed(ctx context.Context, userID, after string, limit int) ([]orderservice.Order, error) {
	q := `SELECT ` + recordColumns + ` FROM orders WHERE status = ? AND id > ?`
	args := []any{orderservice.StatusConfirmed, after}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY id LIMIT ?`
	records, err := s.list(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	orders := make([]orderservice.Order, len(records))
	ptrs := make([]*orderservice.Order, len(records))
	for i := range records {
		orders[i] = records[i].Order
		ptrs[i] = &orders[i]
	}
	if err := s.loadItems(ctx, ptrs); err != nil {
		return nil, err
	}
	return orders, nil
}

func (s *Store) list(ctx context.Context, q string, args ...any) ([]orderservice.Record, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, internalf("list orders: %w", err)
	}
	defer rows.Close()
	var out []orderservice.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, internalf("list orders: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, internalf("list orders: %w", err)
	}
	return out, nil
}

// loadItems fills the items of orders with one query.
func (s *Store) loadItems(ctx context.Context, orders []*orderservice.Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[string]*orderservice.Order, len(orders))
	args := make([]any, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		o.Items = []orderservice.OrderItem{}
		args[i] = o.ID
	}
	rows, err := s.query(ctx, itemsQuery(len(orders)), args...)
	if err != nil {
		return internalf("load order items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var it orderservice.OrderItem
		if err := rows.Scan(&id, &it.ProductID, &it.Quantity, &it.UnitPriceCents); err != nil {
			return internalf("load order items: %w", err)
		}
		if o := byID[id]; o != nil {
			o.Items = append(o.Items, it)
		}
	}
	if err := rows.Err(); err != nil {
		return internalf("load order items: %w", err)
	}
	return nil
}

func scanRecord(row interface{ Scan(...any) error }) (orderservice.Record, error) {
	var r orderservice.Record
	var created, updated int64
	if err := row.Scan(&r.ID, &r.UserID, &r.Status, &r.TotalCents, &r.IdempotencyKey, &r.RequestHash,
		&r.ReservationID, &r.ErrorCode, &r.ErrorMessage, &created, &updated, &r.Attempts); err != nil {
		return orderservice.Record{}, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	return r, nil
}
