package productstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// Reserve implements productservice.Store.
func (s *Store) Reserve(ctx context.Context, claim productservice.Claim, r productservice.Reservation, now time.Time) (productservice.Reservation, error) {
	out := r
	out.Items = append([]productservice.ReservedItem(nil), r.Items...)
	var bizErr *kitshop.Error
	err := s.inTx(ctx, "reserve", func(tx *sql.Tx) error {
		bizErr = nil // InTx may run this again after a deadlock (PostgreSQL)
		// A savepoint lets a refused item undo the items before it while the
		// refusal itself is still recorded, in this same transaction.
		if _, err := tx.ExecContext(ctx, `SAVEPOINT take_stock`); err != nil {
			return err
		}
		for _, i := range inProductOrder(out.Items) {
			price, err := s.takeStock(ctx, tx, out.Items[i])
			if err != nil {
				e, ok := productservice.RecordableError(err)
				if !ok {
					return err
				}
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT take_stock`); err != nil {
					return err
				}
				bizErr = e
				return s.recordOutcome(ctx, tx, claim, "", bizErr, now)
			}
			out.Items[i].UnitPriceCents = price
		}
		// Products stored before prices were bounded may price an order
		// past int64: refuse it, and this transaction takes no stock.
		if err := productservice.CheckAmounts(out.Items); err != nil {
			return err
		}
		if err := s.insertReservation(ctx, tx, out, now); err != nil {
			return err
		}
		return s.recordOutcome(ctx, tx, claim, out.ID, nil, now)
	})
	switch {
	case err != nil:
		return productservice.Reservation{}, err
	case bizErr != nil:
		return productservice.Reservation{}, bizErr
	}
	return out, nil
}

// takeStock takes item's quantity from its product if there is enough,
// and returns the product's price; the conditional UPDATE is what keeps
// stock from going negative under any concurrency.
func (s *Store) takeStock(ctx context.Context, tx *sql.Tx, item productservice.ReservedItem) (int64, error) {
	n, err := s.exec(ctx, tx, takeStockQuery, item.Quantity, item.ProductID, item.Quantity)
	if err != nil {
		return 0, err
	}
	if n == 1 {
		var price int64
		err := s.queryRowOn(ctx, tx, priceQuery, item.ProductID).Scan(&price)
		return price, err
	}
	var left int64
	err = tx.QueryRowContext(ctx, s.db.Rebind(`SELECT stock FROM products WHERE id = ?`), item.ProductID).Scan(&left)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, productservice.ErrUnknownProduct.WithMessage("unknown product %q", item.ProductID)
	}
	if err != nil {
		return 0, err
	}
	return 0, productservice.ErrInsufficientStock.WithMessage("insufficient stock for product %s: %d left, %d requested",
		item.ProductID, left, item.Quantity)
}

func (s *Store) insertReservation(ctx context.Context, tx *sql.Tx, r productservice.Reservation, now time.Time) error {
	if _, err := s.exec(ctx, tx, insertReservationQuery,
		r.ID, r.OrderID, r.Status, now.UnixMicro(), r.ExpiresAt.UnixMicro(), now.UnixMicro()); err != nil {
		return fmt.Errorf("insert reservation: %w", err)
	}
	for i, it := range r.Items {
		if _, err := s.exec(ctx, tx, insertReservationItemQuery, r.ID, i, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
			return fmt.Errorf("insert reservation item: %w", err)
		}
	}
	return nil
}

// ConfirmReservation implements productservice.Store.
func (s *Store) ConfirmReservation(ctx context.Context, id string, now time.Time) (productservice.Reservation, error) {
	var out productservice.Reservation
	expiredNow := false
	err := s.inTx(ctx, "confirm reservation", func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, confirmReservationQuery, now.UnixMicro(), id, now.UnixMicro())
		if err != nil {
			return err
		}
		if n == 0 {
			status, err := s.reservationStatus(ctx, tx, id)
			if err != nil {
				return err
			}
			if status == productservice.StatusHeld {
				// Held past its expiry: the sweeper has not come by yet.
				if expiredNow, err = s.endHold(ctx, tx, id, productservice.StatusExpired, now); err != nil || expiredNow {
					return err
				}
				if status, err = s.reservationStatus(ctx, tx, id); err != nil {
					return err
				}
			}
			if status != productservice.StatusConfirmed {
				return productservice.ErrReservationExpired
			}
		}
		rs, err := s.loadReservations(ctx, tx, reservationByIDQuery, id)
		if err != nil {
			return err
		}
		out = rs[0]
		return nil
	})
	switch {
	case err != nil:
		return productservice.Reservation{}, err
	case expiredNow:
		return productservice.Reservation{}, productservice.ErrReservationExpired
	}
	return out, nil
}

// ReleaseReservation implements productservice.Store.
func (s *Store) ReleaseReservation(ctx context.Context, id string, now time.Time) error {
	return s.inTx(ctx, "release reservation", func(tx *sql.Tx) error {
		released, err := s.endHold(ctx, tx, id, productservice.StatusReleased, now)
		if err != nil || released {
			return err
		}
		status, err := s.reservationStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		switch status {
		case productservice.StatusConfirmed:
			return productservice.ErrAlreadyConfirmed
		case productservice.StatusReleased, productservice.StatusExpired:
			return nil
		}
		return fmt.Errorf("reservation %s: still %s after its release", id, status)
	})
}

// ExpireReservations implements productservice.Store. Each reservation is expired in its
// own short transaction, so the sweeper never holds the write lock (or, on
// PostgreSQL, the locks of many products) for long.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time) (int, error) {
	const batch = 100
	total := 0
	for {
		due, err := s.queryIDs(ctx, s.db, `SELECT id FROM reservations WHERE status = 'held' AND expires_at <= ?
			ORDER BY expires_at, id LIMIT ?`, now.UnixMicro(), batch)
		if err != nil {
			return total, sqldb.Fault(fmt.Errorf("expire reservations: %w", err))
		}
		for _, id := range due {
			var expired bool
			err := s.inTx(ctx, "expire reservation", func(tx *sql.Tx) error {
				expired, err = s.endHold(ctx, tx, id, productservice.StatusExpired, now)
				return err
			})
			if err != nil {
				return total, err
			}
			if expired {
				total++
			}
		}
		if len(due) < batch {
			return total, nil
		}
	}
}

// endHold moves reservation id from held to status and gives its stock
// back, in tx. It reports false, changing nothing, when the reservation
// was not held: the status condition makes the stock come back once.
func (s *Store) endHold(ctx context.Context, tx *sql.Tx, id, status string, now time.Time) (bool, error) {
	n, err := s.exec(ctx, tx, `UPDATE reservations SET status = ?, updated_at = ? WHERE id = ? AND status = 'held'`,
		status, now.UnixMicro(), id)
	if err != nil || n == 0 {
		return false, err
	}
	items, err := s.loadItems(ctx, tx, []string{id})
	if err != nil {
		return false, err
	}
	for _, i := range inProductOrder(items[id]) {
		it := items[id][i]
		if _, err := s.exec(ctx, tx, `UPDATE products SET stock = stock + ? WHERE id = ?`, it.Quantity, it.ProductID); err != nil {
			return false, fmt.Errorf("give stock back: %w", err)
		}
	}
	return true, nil
}

// reservationStatus returns the status of reservation id, or productservice.ErrNotFound.
func (s *Store) reservationStatus(ctx context.Context, tx *sql.Tx, id string) (string, error) {
	var status string
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT status FROM reservations WHERE id = ?`), id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", productservice.ErrNotFound
	}
	return status, err
}

// inProductOrder returns the indexes of items sorted by product ID: every
// transaction that changes several products' stock does so in this one
// order, so that on PostgreSQL two of them cannot deadlock on row locks.
func inProductOrder(items []productservice.ReservedItem) []int {
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(items[a].ProductID, items[b].ProductID) })
	return order
}
