package orderservice

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the order service's schema, applied by OpenStore.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// SQLStore is the Store on SQLite or PostgreSQL.
type SQLStore struct {
	db *sqldb.DB
	// prepared holds the order path's statements by query text, prepared
	// when the store opened (store_sql_prepared.go); read-only since.
	prepared sqldb.Prepared
	// now stamps state changes (updated_at); time.Now but in tests.
	now func() time.Time
}

// SetClock makes the store stamp state changes with now instead of
// time.Now, for tests; call it before the store is used.
func (s *SQLStore) SetClock(now func() time.Time) { s.now = now }

// OpenStore opens (creating and migrating as needed) the database at url.
func OpenStore(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	prepared, err := db.PrepareAll(ctx, preparedQueries())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("order store: prepare: %w", err)
	}
	return &SQLStore{db: db, prepared: prepared, now: time.Now}, nil
}

func internalf(format string, err error) error {
	return sqldb.Fault(fmt.Errorf(format, err))
}

// CreatePending implements Store.
func (s *SQLStore) CreatePending(ctx context.Context, r Record) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var key any
		if r.IdempotencyKey != "" {
			key = r.IdempotencyKey
		}
		now := r.CreatedAt.UnixMicro()
		if _, err := s.exec(ctx, tx, insertOrderQuery,
			r.ID, r.UserID, StatusPending, key, r.RequestHash, now, now); err != nil {
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
		return ErrKeyTaken
	}
	if err != nil {
		return internalf("create pending order: %w", err)
	}
	return nil
}

const recordColumns = `id, user_id, status, total_cents, COALESCE(idempotency_key, ''), request_hash,
	reservation_id, error_code, error_message, created_at, updated_at, attempts`

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, id string) (Record, error) {
	return s.getOne(ctx, getByIDQuery, id)
}

// GetByKey implements Store.
func (s *SQLStore) GetByKey(ctx context.Context, key string) (Record, error) {
	return s.getOne(ctx, getByKeyQuery, key)
}

func (s *SQLStore) getOne(ctx context.Context, query string, arg string) (Record, error) {
	r, err := scanRecord(s.queryRow(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, internalf("get order: %w", err)
	}
	if err := s.loadItems(ctx, []*Order{&r.Order}); err != nil {
		return Record{}, err
	}
	return r, nil
}

// Confirm implements Store.
func (s *SQLStore) Confirm(ctx context.Context, id string, items []OrderItem, totalCents int64, reservationID string) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.transition(ctx, tx, id, []string{StatusPending, StatusCancelling},
			setConfirmed, StatusConfirmed, totalCents, reservationID); err != nil {
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

// Reject implements Store.
func (s *SQLStore) Reject(ctx context.Context, id, code, message string) error {
	return wrapTransition("reject order", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{StatusPending}, setRejected, StatusRejected, code, message)
	}))
}

// MarkCancelling implements Store.
func (s *SQLStore) MarkCancelling(ctx context.Context, id, reservationID string) error {
	return wrapTransition("mark order cancelling", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{StatusPending}, setCancelling, StatusCancelling, reservationID)
	}))
}

// Cancel implements Store.
func (s *SQLStore) Cancel(ctx context.Context, id string) error {
	return wrapTransition("cancel order", s.db.InTx(ctx, func(tx *sql.Tx) error {
		return s.transition(ctx, tx, id, []string{StatusPending, StatusCancelling}, setCancelled, StatusCancelled)
	}))
}

// transition runs UPDATE orders SET <set>, updated_at WHERE id AND status IN from.
func (s *SQLStore) transition(ctx context.Context, tx *sql.Tx, id string, from []string, set string, args ...any) error {
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
		return ErrStateChanged
	}
	return nil
}

func wrapTransition(what string, err error) error {
	if err == nil || errors.Is(err, ErrStateChanged) {
		return err
	}
	return sqldb.Fault(fmt.Errorf("%s: %w", what, err))
}

// ListConfirmed implements Store.
func (s *SQLStore) ListConfirmed(ctx context.Context, userID, after string, limit int) ([]Order, error) {
	q := `SELECT ` + recordColumns + ` FROM orders WHERE status = ? AND id > ?`
	args := []any{StatusConfirmed, after}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	q += ` ORDER BY id LIMIT ?`
	records, err := s.list(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	orders := make([]Order, len(records))
	ptrs := make([]*Order, len(records))
	for i := range records {
		orders[i] = records[i].Order
		ptrs[i] = &orders[i]
	}
	if err := s.loadItems(ctx, ptrs); err != nil {
		return nil, err
	}
	return orders, nil
}

// ListUnresolved implements Store.
func (s *SQLStore) ListUnresolved(ctx context.Context, before, now time.Time, limit int) ([]Record, error) {
	records, err := s.list(ctx, `SELECT `+recordColumns+` FROM orders
		WHERE (status = ? OR (status = ? AND updated_at < ?)) AND retry_at <= ?
		ORDER BY retry_at, updated_at LIMIT ?`,
		StatusCancelling, StatusPending, before.UnixMicro(), now.UnixMicro(), limit)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*Order, len(records))
	for i := range records {
		ptrs[i] = &records[i].Order
	}
	if err := s.loadItems(ctx, ptrs); err != nil {
		return nil, err
	}
	return records, nil
}

// Postpone implements Store.
func (s *SQLStore) Postpone(ctx context.Context, id, status string, retryAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE orders SET attempts = attempts + 1, retry_at = ?
		WHERE id = ? AND status = ?`), retryAt.UnixMicro(), id, status)
	if err != nil {
		return internalf("postpone order: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internalf("postpone order: %w", err)
	} else if n == 0 {
		return ErrStateChanged
	}
	return nil
}

// CountUnresolved implements Store.
func (s *SQLStore) CountUnresolved(ctx context.Context) (Unresolved, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT status, COUNT(*) FROM orders
		WHERE status IN (?, ?) GROUP BY status`), StatusPending, StatusCancelling)
	if err != nil {
		return Unresolved{}, internalf("count unresolved orders: %w", err)
	}
	defer rows.Close()
	var u Unresolved
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return Unresolved{}, internalf("count unresolved orders: %w", err)
		}
		switch status {
		case StatusPending:
			u.Pending = n
		case StatusCancelling:
			u.Cancelling = n
		}
	}
	if err := rows.Err(); err != nil {
		return Unresolved{}, internalf("count unresolved orders: %w", err)
	}
	return u, nil
}

func (s *SQLStore) list(ctx context.Context, q string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, internalf("list orders: %w", err)
	}
	defer rows.Close()
	var out []Record
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
func (s *SQLStore) loadItems(ctx context.Context, orders []*Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[string]*Order, len(orders))
	args := make([]any, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		o.Items = []OrderItem{}
		args[i] = o.ID
	}
	rows, err := s.query(ctx, itemsQuery(len(orders)), args...)
	if err != nil {
		return internalf("load order items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var it OrderItem
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

// Ping implements Store.
func (s *SQLStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements Store.
func (s *SQLStore) Close() error {
	s.prepared.Close()
	return s.db.Close()
}

func scanRecord(row interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var created, updated int64
	if err := row.Scan(&r.ID, &r.UserID, &r.Status, &r.TotalCents, &r.IdempotencyKey, &r.RequestHash,
		&r.ReservationID, &r.ErrorCode, &r.ErrorMessage, &created, &updated, &r.Attempts); err != nil {
		return Record{}, err
	}
	r.CreatedAt = time.UnixMicro(created).UTC()
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	return r, nil
}
