package productstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/kitshop/kitshop/pkg/productservice"
)

// keySettledBefore selects idempotency records settled before a time (two
// ? for it): completed ones, and claims whose owner is long gone.
const keySettledBefore = `((state = 'completed' AND completed_at < ?) OR (state = 'in_progress' AND claimed_at < ?))`

// reservationEndedBefore selects released and expired reservations last
// changed before a time (one ?) that no idempotency record refers to.
const reservationEndedBefore = `status IN ('released', 'expired') AND updated_at < ?
	AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.reservation_id = reservations.id)`

// PurgeSettled implements productservice.Store. Every batch is a short transaction of its
// own, and every DELETE repeats its condition, so several instances may
// purge one database at once: each row goes once, and a row that stopped
// matching stays.
func (s *Store) PurgeSettled(ctx context.Context, before time.Time, batch int) (productservice.Purged, error) {
	var p productservice.Purged
	cut := before.UnixMicro()
	for {
		var n int64
		err := s.inTx(ctx, "purge idempotency records", func(tx *sql.Tx) (err error) {
			n, err = s.exec(ctx, tx, `DELETE FROM idempotency_keys WHERE idem_key IN
				(SELECT idem_key FROM idempotency_keys WHERE `+keySettledBefore+` LIMIT ?) AND `+keySettledBefore,
				cut, cut, batch, cut, cut)
			return err
		})
		if err != nil {
			return p, err
		}
		p.IdempotencyKeys += int(n)
		if n < int64(batch) {
			break
		}
	}
	for {
		var n int64
		var due []string
		err := s.inTx(ctx, "purge reservations", func(tx *sql.Tx) (err error) {
			n = 0
			due, err = s.queryIDs(ctx, tx, `SELECT id FROM reservations WHERE `+reservationEndedBefore+` LIMIT ?`, cut, batch)
			if err != nil || len(due) == 0 {
				return err
			}
			in, args := inList(due)
			// Released and expired are final states: their items can go first.
			if _, err := s.exec(ctx, tx, `DELETE FROM reservation_items WHERE reservation_id IN `+in, args...); err != nil {
				return err
			}
			n, err = s.exec(ctx, tx, `DELETE FROM reservations WHERE id IN `+in+` AND `+reservationEndedBefore,
				append(args, cut)...)
			return err
		})
		if err != nil {
			return p, err
		}
		p.Reservations += int(n)
		if len(due) < batch {
			return p, nil
		}
	}
}

// inList is "(?, ?, ...)" for ids, and ids as arguments.
func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return "(?" + strings.Repeat(", ?", len(ids)-1) + ")", args
}
