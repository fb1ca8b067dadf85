// Package orderstore is the order service's storage on SQLite or
// PostgreSQL: the adapter behind orderservice.Store, with its schema. Only a
// program that serves orders imports it, so a client of the order service
// links no database driver.
package orderstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/orderservice"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the order service's schema, applied by Open.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// Store is orderservice.Store on SQLite or PostgreSQL.
type Store struct {
	db *sqldb.DB
	// prepared holds the order path's statements by query text, prepared
	// when the store opened (prepared.go); read-only since.
	prepared sqldb.Prepared
	// now stamps state changes (updated_at); time.Now but in tests.
	now func() time.Time
}

// SetClock makes the store stamp state changes with now instead of
// time.Now, for tests; call it before the store is used.
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Open opens (creating and migrating as needed) the database at url:
// "sqlite:PATH" or "postgres://...".
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	prepared, err := db.PrepareAll(ctx, preparedQueries())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("order store: prepare: %w", err)
	}
	return &Store{db: db, prepared: prepared, now: time.Now}, nil
}

func internalf(format string, err error) error {
	return sqldb.Fault(fmt.Errorf(format, err))
}

// CreatePending implements orderservice.Store.
func (s *Store) CreatePending(ctx context.Context, r orderservice.Record) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var key any
		if r.IdempotencyKey != "" {
			key = r.IdempotencyKey
		}
		now := r.CreatedAt.UnixMicro()
		if _, err := s.exec(ctx, tx, insertOrderQuery,
			r.ID, r.UserID, orderservice.StatusPending, key, r.RequestHash, now, now); err != nil {
			return err
		}
		for i, it := range r.Items { // unpriced until the reservation prices them
			if _, err := s.exec(ctx, tx, insertItemQuery, r.ID, i, it.ProductID, it.Quantity, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if sqldb.IsUniqueViolation(err) {
		return orderservice.ErrKeyTaken
	}
	if err != nil {
		return internalf("create pending order: %w", err)
	}
	return nil
}

const recordColumns = `id, user_id, status, total_cents, COALESCE(idempotency_key, ''), request_hash,
	reservation_id, error_code, error_message, created_at, updated_at, attempts`

// Get implements orderservice.Store.
func (s *Store) Get(ctx context.Context, id string) (orderservice.Record, error) {
	return s.getOne(ctx, getByIDQuery, id)
}

// GetByKey implements orderservice.Store.
func (s *Store) GetByKey(ctx context.Context, key string) (orderservice.Record, error) {
	return s.getOne(ctx, getByKeyQuery, key)
}

func (s *Store) getOne(ctx context.Context, query string, arg string) (orderservice.Record, error) {
	r, err := scanRecord(s.queryRow(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return orderservice.Record{}, orderservice.ErrNotFound
	}
	if err != nil {
		return orderservice.Record{}, internalf("get order: %w", err)
	}
	if err := s.loadItems(ctx, []*orderservice.Order{&r.Order}); err != nil {
		return orderservice.Record{}, err
	}
	return r, nil
}

// Confirm implements orderservice.Store.
func (s *Store) Confirm(ctx context.Context, id string, items []orderservice.OrderItem, totalCents int64, reservationID string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.transition(ctx, tx, id, []string{orderservice.StatusPending, orderservice.StatusCancelling},
			setConfirmed, orderservice.StatusConfirmed, totalCents, reservationID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, deleteItemsQuery, id); err != nil {
			return err
		}
		for i, it := range items {
			if _, err := s.exec(ctx, tx, insertItemQuery, id, i, it.ProductID, it.Quantity, it.UnitPriceCents); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapTransition("confirm order", err)
}

// Reject implements orderservice.Store.
func (s *Store) Reject(ctx context.Context, id, code, message string) error {
	return wrapTransition("reject order", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{orderservice.StatusPending}, setRejected, orderservice.StatusRejected, code, message)
	}))
}

// MarkCancelling implements orderservice.Store.
func (s *Store) MarkCancelling(ctx context.Context, id, reservationID string) error {
	return wrapTransition("mark order cancelling", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{orderservice.StatusPending}, setCancelling, orderservice.StatusCancelling, reservationID)
	}))
}

// Cancel implements orderservice.Store.
func (s *Store) Cancel(ctx context.Context, id string) error {
	return wrapTransition("cancel order", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{orderservice.StatusPending, orderservice.StatusCancelling}, setCancelled, orderservice.StatusCancelled)
	}))
}

// transition runs UPDATE orders SET <set>, updated_at WHERE id AND status IN from.
func (s *Store) transition(ctx context.Context, tx *sql.Tx, id string, from []string, set string, args ...any) error {
	args = append(args, s.now().UnixMicro(), id)
	for _, f := range from {
		args = append(args, f)
	}
	res, err := s.exec(ctx, tx, transitionQuery(set, len(from)), args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return orderservice.ErrStateChanged
	}
	return nil
}

func wrapTransition(what string, err error) error {
	if err == nil || errors.Is(err, orderservice.ErrStateChanged) {
		return err
	}
	return sqldb.Fault(fmt.Errorf("%s: %w", what, err))
}

// DB is the store's connection pool, for pool statistics and for tests that
// look at the rows.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Ping implements orderservice.Store.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements orderservice.Store.
func (s *Store) Close() error {
	s.prepared.Close()
	return s.db.Close()
}
