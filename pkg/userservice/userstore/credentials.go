package userstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/userservice"
)

var _ userservice.Credentials = (*Store)(nil)

// UserByEmail implements userservice.Credentials.
func (s *Store) UserByEmail(ctx context.Context, email string) (userservice.User, string, error) {
	var u userservice.User
	var hash string
	var created int64
	err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT `+userColumns+`, password_hash FROM users WHERE email_key = ?`), emailKey(email)).
		Scan(&u.ID, &u.Name, &u.Email, &u.Role, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return userservice.User{}, "", userservice.ErrNotFound
	}
	if err != nil {
		return userservice.User{}, "", sqldb.Fault(fmt.Errorf("look up email: %w", err))
	}
	u.CreatedAt = time.UnixMicro(created).UTC()
	return u, hash, nil
}

// SetRole implements userservice.Credentials.
func (s *Store) SetRole(ctx context.Context, id, role string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE users SET role = ? WHERE id = ?`), role, id)
	if err != nil {
		return sqldb.Fault(fmt.Errorf("set role: %w", err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return userservice.ErrNotFound
	}
	return nil
}

// SigningKeys implements userservice.Credentials.
func (s *Store) SigningKeys(ctx context.Context) ([]userservice.SigningKey, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT id, public_key, sealed_key, created_at, retired_at FROM signing_keys ORDER BY CASE WHEN retired_at IS NULL THEN 0 ELSE 1 END, retired_at DESC, created_at DESC, id DESC`)
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("signing keys: %w", err))
	}
	defer rows.Close()
	var keys []userservice.SigningKey
	for rows.Next() {
		var k userservice.SigningKey
		var pub, sealed string
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&k.ID, &pub, &sealed, &created, &retired); err != nil {
			return nil, sqldb.Fault(fmt.Errorf("signing keys: %w", err))
		}
		if k.Public, err = base64.StdEncoding.DecodeString(pub); err != nil {
			return nil, fmt.Errorf("signing key %s: public key: %w", k.ID, err)
		}
		if k.Sealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
			return nil, fmt.Errorf("signing key %s: sealed key: %w", k.ID, err)
		}
		k.CreatedAt = time.UnixMicro(created).UTC()
		if retired.Valid {
			k.RetiredAt = time.UnixMicro(retired.Int64).UTC()
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Fault(fmt.Errorf("signing keys: %w", err))
	}
	return keys, nil
}

// AddSigningKey implements userservice.Credentials.
func (s *Store) AddSigningKey(ctx context.Context, k userservice.SigningKey) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		at := k.CreatedAt.UnixMicro()
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`), at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO signing_keys (id, public_key, sealed_key, created_at) VALUES (?, ?, ?, ?)`),
			k.ID, base64.StdEncoding.EncodeToString(k.Public), base64.StdEncoding.EncodeToString(k.Sealed), at)
		return err
	})
	if err != nil {
		return sqldb.Fault(fmt.Errorf("add signing key: %w", err))
	}
	return nil
}

// LoginFailures implements userservice.Credentials.
func (s *Store) LoginFailures(ctx context.Context, email string, since time.Time) ([]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT at FROM login_failures WHERE email_key = ? AND at > ? ORDER BY at`),
		emailKey(email), since.UnixMicro())
	if err != nil {
		return nil, sqldb.Fault(fmt.Errorf("login failures: %w", err))
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, sqldb.Fault(fmt.Errorf("login failures: %w", err))
		}
		out = append(out, time.UnixMicro(at).UTC())
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Fault(fmt.Errorf("login failures: %w", err))
	}
	return out, nil
}

// RecordLoginFailure implements userservice.Credentials.
func (s *Store) RecordLoginFailure(ctx context.Context, email string, at, forgetBefore time.Time) error {
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM login_failures WHERE at < ?`), forgetBefore.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO login_failures (email_key, at) VALUES (?, ?)`), emailKey(email), at.UnixMicro())
		return err
	})
	if err != nil {
		return sqldb.Fault(fmt.Errorf("record login failure: %w", err))
	}
	return nil
}

// ClearLoginFailures implements userservice.Credentials.
func (s *Store) ClearLoginFailures(ctx context.Context, email string) error {
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM login_failures WHERE email_key = ?`), emailKey(email)); err != nil {
		return sqldb.Fault(fmt.Errorf("clear login failures: %w", err))
	}
	return nil
}
