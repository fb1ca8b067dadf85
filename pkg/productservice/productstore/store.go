// Package productstore is the product service's storage on SQLite or
// PostgreSQL: the adapter behind productservice.Store, with its schema. Only
// a program that serves products imports it, so a client of the product
// service links no database driver.
package productstore

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
	"github.com/kitshop/kitshop/pkg/productservice"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the product service's schema, applied by Open.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// Store is productservice.Store on SQLite or PostgreSQL. Its guarantees rest on
// conditional UPDATEs whose affected-row count decides (stock >= quantity,
// status = 'held', claim_token = ours), never on a read followed by a
// write, so they hold on PostgreSQL's READ COMMITTED as well as on SQLite,
// whose transactions hold the write lock from BEGIN.
type Store struct {
	db *sqldb.DB
	// prepared holds the order path's statements by query text, prepared
	// when the store opened (prepared.go); read-only since.
	prepared sqldb.Prepared
}

// Open opens (creating and migrating as needed) the database at url:
// "sqlite:PATH" or "postgres://...".
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("product store: %w", err)
	}
	prepared, err := db.PrepareAll(ctx, preparedQueries())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("product store: prepare: %w", err)
	}
	return &Store{db: db, prepared: prepared}, nil
}

// CreateProduct implements productservice.Store.
func (s *Store) CreateProduct(ctx context.Context, p productservice.Product) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(
		`INSERT INTO products (id, name, price_cents, stock, created_at) VALUES (?, ?, ?, ?, ?)`),
		p.ID, p.Name, p.PriceCents, p.Stock, p.CreatedAt.UnixMicro())
	if err != nil {
		return sqldb.Fault(fmt.Errorf("insert product: %w", err))
	}
	return nil
}

// GetProduct implements productservice.Store.
func (s *Store) GetProduct(ctx context.Context, id string) (productservice.Product, error) {
	p, err := scanProduct(s.queryRowOn(ctx, s.db, getProductQuery, id))
	if errors.Is(err, sql.ErrNoRows) {
		return productservice.Product{}, productservice.ErrNotFound
	}
	if err != nil {
		return productservice.Product{}, sqldb.Fault(fmt.Errorf("get product: %w", err))
	}
	return p, nil
}

// ListProducts implements productservice.Store.
func (s *Store) ListProducts(ctx context.Context, after string, limit int) ([]productservice.Product, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(
		`SELECT id, name, price_cents, stock, created_at FROM products WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list products: %w", err))
	}
	defer rows.Close()
	products := make([]productservice.Product, 0, min(limit, 64))
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

// DB is the store's connection pool, for pool statistics and for tests that
// look at the rows.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Ping implements productservice.Store.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements productservice.Store.
func (s *Store) Close() error {
	s.prepared.Close()
	return s.db.Close()
}

func scanProduct(row interface{ Scan(...any) error }) (productservice.Product, error) {
	var p productservice.Product
	var created int64
	if err := row.Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock, &created); err != nil {
		return productservice.Product{}, err
	}
	p.CreatedAt = time.UnixMicro(created).UTC()
	return p, nil
}

// inTx runs fn in a transaction. The service's typed errors come back as
// they are; anything else is an internal error about what.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
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
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
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
