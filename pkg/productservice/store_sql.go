package productservice

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the product service's schema, applied by OpenStore.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// SQLStore is the Store on SQLite or PostgreSQL. Its guarantees rest on
// conditional UPDATEs whose affected-row count decides (stock >= quantity,
// status = 'held', claim_token = ours), never on a read followed by a
// write, so they hold on PostgreSQL's READ COMMITTED as well as on SQLite,
// whose transactions hold the write lock from BEGIN.
type SQLStore struct {
	db *sqldb.DB
	// prepared holds the order path's statements by query text, prepared
	// when the store opened (store_sql_prepared.go); read-only since.
	prepared sqldb.Prepared
}

// OpenStore opens (creating and migrating as needed) the database at url:
// "sqlite:PATH" or "postgres://...".
func OpenStore(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("product store: %w", err)
	}
	prepared, err := db.PrepareAll(ctx, preparedQueries())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("product store: prepare: %w", err)
	}
	return &SQLStore{db: db, prepared: prepared}, nil
}

// CreateProduct implements Store.
func (s *SQLStore) CreateProduct(ctx context.Context, p Product) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(
		`INSERT INTO products (id, name, price_cents, stock, created_at) VALUES (?, ?, ?, ?, ?)`),
		p.ID, p.Name, p.PriceCents, p.Stock, p.CreatedAt.UnixMicro())
	if err != nil {
		return sqldb.Fault(fmt.Errorf("insert product: %w", err))
	}
	return nil
}

// GetProduct implements Store.
func (s *SQLStore) GetProduct(ctx context.Context, id string) (Product, error) {
	p, err := scanProduct(s.queryRowOn(ctx, s.db, getProductQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, sqldb.Fault(fmt.Errorf("get product: %w", err))
	}
	return p, nil
}

// ListProducts implements Store.
func (s *SQLStore) ListProducts(ctx context.Context, after string, limit int) ([]Product, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(
		`SELECT id, name, price_cents, stock, created_at FROM products WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list products: %w", err))
	}
	defer rows.Close()
	products := make([]Product, 0, min(limit, 64))
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, sqldb.Fault(fmt.Errorf("list products: %w", err))
		}
		products = append(products, p)
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list products: %w", err))
	}
	return products, nil
}

// Ping implements Store.
func (s *SQLStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements Store.
func (s *SQLStore) Close() error {
	s.prepared.Close()
	return s.db.Close()
}

func scanProduct(row interface{ Scan(...any) error }) (Product, error) {
	var p Product
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock, &created); err != nil {
		return Product{}, err
	}
	p.CreatedAt = time.UnixMicro(created).UTC()
	return p, nil
}

// inTx runs fn in a transaction. The service's typed errors come back as
// they are; anything else is an internal error about what.
func (s *SQLStore) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	err := s.db.InTx(ctx, fn)
	if err == nil {
		return nil
	}
	var typed *kitshop.Error
	if errors.As(err, &typed) {
		return err
	}
	return sqldb.Fault(fmt.Errorf("%s: %w", what, err))
}

// exec runs a statement in tx, through its prepared statement if it has
// one, and returns how many rows it changed.
func (s *SQLStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	var res sql.Result
	var err error
	if st := s.prepared[query]; st != nil {
		res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, s.db.Rebind(query), args...)
	}
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
