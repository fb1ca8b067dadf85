package sqldb

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CreatePostgresDatabases makes sure the databases names exist on the
// PostgreSQL server of serverURL (postgres://user:pass@host:port/, any
// database in its path is where it connects to do so; "postgres" when
// there is none), creating the missing ones, and returns the URL of each,
// by name: serverURL with the database in its path. The role of the URL
// needs the CREATEDB privilege unless the databases exist already.
func CreatePostgresDatabases(ctx context.Context, serverURL string, names ...string) (map[string]string, error) {
	u, conn, fail, err := adminConn(ctx, serverURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	urls := make(map[string]string, len(names))
	for _, name := range names {
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			return nil, fail(err)
		}
		if !exists {
			_, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
			// 42P04: created meanwhile by someone else, which is as good.
			if err != nil && pgErrorCode(err) != "42P04" {
				return nil, fail(fmt.Errorf("create database %s: %w", name, err))
			}
		}
		db := *u
		db.Path = "/" + name
		db.RawPath = ""
		urls[name] = db.String()
	}
	return urls, nil
}

// DropPostgresDatabases drops the databases names from the PostgreSQL
// server of serverURL, ending the sessions still connected to them; a
// database that does not exist is no error. It is for throwaway databases
// (tests, chaos experiments): what they held is gone.
func DropPostgresDatabases(ctx context.Context, serverURL string, names ...string) error {
	_, conn, fail, err := adminConn(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fail(fmt.Errorf("drop database %s: %w", name, err))
		}
	}
	return nil
}

// adminConn connects to the server of serverURL, to the database in its
// path or to "postgres", with the default connect timeout unless the URL
// sets one. It returns the parsed URL, the connection, and fail, which
// turns an error into one line naming the server without its password.
func adminConn(ctx context.Context, serverURL string) (*url.URL, *pgx.Conn, func(error) error, error) {
	fail := func(err error) error {
		return fmt.Errorf("postgres server %s: %s", redact(serverURL), oneLine(scrub(err.Error(), serverURL)))
	}
	if dialect, err := ParseURL(serverURL); err != nil || dialect != Postgres {
		return nil, nil, nil, fmt.Errorf("postgres server %s: want a postgres:// URL", redact(serverURL))
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("postgres server %s: invalid URL", redact(serverURL))
	}
	admin := *u
	if strings.Trim(admin.Path, "/") == "" {
		admin.Path = "/postgres"
	}
	config, err := pgx.ParseConfig(admin.String())
	if err != nil {
		return nil, nil, nil, fail(errors.New(parsePrefix.ReplaceAllString(err.Error(), "")))
	}
	if !urlParams(serverURL).Has("connect_timeout") {
		config.ConnectTimeout = defaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, config)
	if err != nil {
		return nil, nil, nil, fail(err)
	}
	return u, conn, fail, nil
}
