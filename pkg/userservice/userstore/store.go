// Package userstore is the user service's storage on SQLite or PostgreSQL:
// the adapter behind userservice.Store, with its schema. Only a program that
// serves users imports it, so a client of the user service links no
// database driver.
package userstore

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
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/userservice"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the user service's schema, applied by Open.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// Store is userservice.Store on SQLite or PostgreSQL.
type Store struct {
	db *sqldb.DB
	// getUser is GetUser's query, prepared once: it serves every GET
	// /v1/users/{id} and every order's user check, and SQLite would
	// otherwise parse it again on every call (half its cost; see
	// BenchmarkStoreSQLite).
	getUser *sql.Stmt
}

const getUserQuery = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

const userColumns = `id, name, email, role, created_at`

// Open opens (creating and migrating as needed) the database at url:
// "sqlite:PATH" or "postgres://...".
func Open(ctx context.Context, url string) (*Store, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("user store: %w", err)
	}
	getUser, err := db.PrepareContext(ctx, db.Rebind(getUserQuery))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("user store: prepare: %w", err)
	}
	return &Store{db: db, getUser: getUser}, nil
}

// CreateUser implements userservice.Store.
func (s *Store) CreateUser(ctx context.Context, u userservice.User, passwordHash string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(
		`INSERT INTO users (id, name, email, email_key, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Name, u.Email, emailKey(u.Email), passwordHash, role(u.Role), u.CreatedAt.UnixMicro())
	if sqldb.IsUniqueViolation(err) {
		return userservice.ErrAlreadyExists
	}
	if err != nil {
		return sqldb.Fault(fmt.Errorf("insert user: %w", err))
	}
	return nil
}

// EmailTaken implements userservice.Store.
func (s *Store) EmailTaken(ctx context.Context, email string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT 1 FROM users WHERE email_key = ?`), emailKey(email)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, sqldb.Fault(fmt.Errorf("look up email: %w", err))
	}
	return true, nil
}

// GetUser implements userservice.Store.
func (s *Store) GetUser(ctx context.Context, id string) (userservice.User, error) {
	u, err := scanUser(s.getUser.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return userservice.User{}, userservice.ErrNotFound
	}
	if err != nil {
		return userservice.User{}, sqldb.Fault(fmt.Errorf("get user: %w", err))
	}
	return u, nil
}

// ListUsers implements userservice.Store.
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]userservice.User, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(
		`SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list users: %w", err))
	}
	defer rows.Close()
	users := make([]userservice.User, 0, limit)
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, sqldb.Fault(fmt.Errorf("list users: %w", err))
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list users: %w", err))
	}
	return users, nil
}

// DB is the store's connection pool, for pool statistics and for tests that
// look at the rows.
func (s *Store) DB() *sql.DB { return s.db.DB }

// Ping implements userservice.Store.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements userservice.Store.
func (s *Store) Close() error {
	_ = s.getUser.Close()
	return s.db.Close()
}

func scanUser(row interface{ Scan(...any) error }) (userservice.User, error) {
	var u userservice.User
	var created int64
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &u.Role, &created); err != nil {
		return userservice.User{}, err
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	return u, nil
}

// emailKey is the form of an email that uniqueness is checked on.
func emailKey(email string) string { return strings.ToLower(email) }

// role is what a user is stored with: a customer unless said otherwise.
func role(r string) string {
	if r == "" {
		return auth.RoleCustomer
	}
	return r
}
