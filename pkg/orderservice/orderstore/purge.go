package orderstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// endedBefore selects rejected and cancelled orders last changed before a
// time (one ?): final states, which only a replay of their key reads.
const endedBefore = `status IN ('rejected', 'cancelled') AND updated_at < ?`

// keySettledBefore selects confirmed orders settled before a time (one ?)
// that still hold their idempotency key.
const keySettledBefore = `status = 'confirmed' AND idempotency_key IS NOT NULL AND updated_at < ?`

// Purge implements orderservice.Store. Every batch is a short transaction of its own,
// and every statement repeats its condition, so several instances may
// purge one database at once.
func (s *Store) Purge(ctx context.Context, before time.Time, batch int) (orderservice.Purged, error) {
	var p orderservice.Purged
	cut := before.UnixMicro()
	for {
		var n, due int
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			ids, err := queryIDs(ctx, tx, s.db.Rebind(`SELECT id FROM orders WHERE `+endedBefore+` LIMIT ?`), cut, batch)
			if err != nil || len(ids) == 0 {
				due, n = 0, 0
				return err
			}
			in, args := inList(ids)
			if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM order_items WHERE order_id IN `+in), args...); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM orders WHERE id IN `+in+` AND `+endedBefore),
				append(args, cut)...)
			if err != nil {
				return err
			}
			deleted, err := res.RowsAffected()
			due, n = len(ids), int(deleted)
			return err
		})
		if err != nil {
			return p, internalf("purge orders: %w", err)
		}
		p.Orders += n
		if due < batch {
			break
		}
	}
	for {
		res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE orders SET idempotency_key = NULL WHERE id IN
			(SELECT id FROM orders WHERE `+keySettledBefore+` LIMIT ?) AND `+keySettledBefore), cut, batch, cut)
		if err != nil {
			return p, internalf("purge idempotency keys: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return p, internalf("purge idempotency keys: %w", err)
		}
		p.Keys += int(n)
		if n < int64(batch) {
			return p, nil
		}
	}
}

func queryIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// inList is "(?, ?, ...)" for ids, and ids as arguments.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(?" + strings.Repeat(", ?", len(ids)-1) + ")", args
}
