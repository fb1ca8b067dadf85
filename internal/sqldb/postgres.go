package sqldb

import (
	"context"
	"errors"
)

// openPostgres is where the PostgreSQL adapter plugs in.
func openPostgres(_ context.Context, url string) (*DB, error) {
	return nil, errors.New("database url " + redact(url) + ": postgres is not supported by this build yet")
}
