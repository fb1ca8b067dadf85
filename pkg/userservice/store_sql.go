package userservice

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

// Migrations is the user service's schema, applied by OpenStore.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// SQLStore is the Store on SQLite or PostgreSQL.
type SQLStore struct {
	db *sqldb.DB
	// getUser is GetUser's query, prepared once: it serves every GET
	// /v1/users/{id} and every order's user check, and SQLite would
	// otherwise parse it again on every call (half its cost; see
	// BenchmarkStoreSQLite).
	getUser *sql.Stmt
}

const getUserQuery = `SELECT id, name, email, created_at FROM users WHERE id = ?`

// OpenStore opens (creating and migrating as needed) the database at url:
// "sqlite:PATH" or "postgres://...".
func OpenStore(ctx context.Context, url string) (*SQLStore, error) {
	db, err := sqldb.Open(ctx, url, Migrations())
	if err != nil {
		return nil, fmt.Errorf("user store: %w", err)
	}
	getUser, err := db.PrepareContext(ctx, db.Rebind(getUserQuery))
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("user store: prepare: %w", err)
	}
	return &SQLStore{db: db, getUser: getUser}, nil
}

// CreateUser implements Store.
func (s *SQLStore) CreateUser(ctx context.Context, u User, passwordHash string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(
		`INSERT INTO users (id, name, email, email_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		u.ID, u.Name, u.Email, emailKey(u.Email), passwordHash, u.CreatedAt.UnixMicro())
	if sqldb.IsUniqueViolation(err) {
		return ErrAlreadyExists
	}
	if err != nil {
		return sqldb.Fault(fmt.Errorf("insert user: %w", err))
	}
	return nil
}

// EmailTaken implements Store.
func (s *SQLStore) EmailTaken(ctx context.Context, email string) (bool, error) {
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

// GetUser implements Store.
func (s *SQLStore) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.getUser.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, sqldb.Fault(fmt.Errorf("get user: %w", err))
	}
	return u, nil
}

// ListUsers implements Store.
func (s *SQLStore) ListUsers(ctx context.Context, after string, limit int) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(
		`SELECT id, name, email, created_at FROM users WHERE id > ? ORDER BY id LIMIT ?`), after, limit)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("list users: %w", err))
	}
	defer rows.Close()
	users := make([]User, 0, limit)
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

// Ping implements Store.
func (s *SQLStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements Store.
func (s *SQLStore) Close() error {
	_ = s.getUser.Close()
	return s.db.Close()
}

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	if err := row.Scan(&u.ID, &u.Name, &u.Email, &created); err != nil {
		return User{}, err
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	return u, nil
}
