package sqldb

import (
	"context"
	"database/sql"
)

// Prepared holds statements prepared once, by their query text (as the
// store writes it, before Rebind).
type Prepared map[string]*sql.Stmt

// PrepareAll prepares queries on db, each rebound for its dialect. Call
// it before the store serves anything: prepared later, inside a
// transaction, a statement would need a second connection while the
// transaction holds one, and with every connection in a transaction that
// waits for a lock it would stall. On error nothing stays prepared.
func (db *DB) PrepareAll(ctx context.Context, queries []string) (Prepared, error) {
	prepared := make(Prepared, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, db.Rebind(q))
		if err != nil {
			prepared.Close()
			return nil, err
		}
		prepared[q] = st
	}
	return prepared, nil
}

// Close closes every statement.
func (p Prepared) Close() {
	for _, st := range p {
		_ = st.Close()
	}
}
