package productstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// Idempotency record states.
const (
	keyInProgress = "in_progress"
	keyCompleted  = "completed"
)

// keyRecord is a row of idempotency_keys.
type keyRecord struct {
	requestHash   string
	state         string
	token         string
	claimedAt     int64
	reservationID sql.NullString
	errorCode     sql.NullString
	errorMessage  sql.NullString
}

// ClaimIdempotencyKey implements productservice.Store.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, key, requestHash string, now, staleBefore time.Time) (productservice.Claim, error) {
	token := ids.New("clm")
	var claim productservice.Claim
	err := s.inTx(ctx, "claim idempotency key", func(tx *sql.Tx) error {
		n, err := s.exec(ctx, tx, claimKeyQuery, key, requestHash, token, now.UnixMicro())
		if err != nil {
			return err
		}
		if n == 1 {
			claim = productservice.Claim{Key: key, Token: token}
			return nil
		}
		rec, err := s.readKey(ctx, tx, key)
		if err != nil {
			return err
		}
		switch {
		case rec.requestHash != requestHash:
			return productservice.ErrIdempotencyKeyReused
		case rec.state == keyCompleted:
			claim, err = s.completedClaim(ctx, tx, key, rec)
			return err
		case rec.claimedAt >= staleBefore.UnixMicro():
			return productservice.ErrRequestInProgress
		}
		// The owner has been at it for longer than any request may run:
		// it is gone. Take the key over; the old token can no longer
		// record an outcome.
		n, err = s.exec(ctx, tx, `UPDATE idempotency_keys SET claim_token = ?, claimed_at = ?
			WHERE idem_key = ? AND state = 'in_progress' AND claim_token = ?`,
			token, now.UnixMicro(), key, rec.token)
		if err != nil {
			return err
		}
		if n != 1 {
			return productservice.ErrRequestInProgress // another repeat took it over first
		}
		claim = productservice.Claim{Key: key, Token: token}
		return nil
	})
	return claim, err
}

func (s *Store) readKey(ctx context.Context, tx *sql.Tx, key string) (keyRecord, error) {
	var rec keyRecord
	err := tx.QueryRowContext(ctx, s.db.Rebind(`SELECT request_hash, state, claim_token, claimed_at,
		reservation_id, error_code, error_message FROM idempotency_keys WHERE idem_key = ?`), key).
		Scan(&rec.requestHash, &rec.state, &rec.token, &rec.claimedAt, &rec.reservationID, &rec.errorCode, &rec.errorMessage)
	if errors.Is(err, sql.ErrNoRows) {
		// Dropped between our insert and this read: the caller may retry.
		return rec, productservice.ErrRequestInProgress
	}
	return rec, err
}

// completedClaim rebuilds the first outcome of a key: the reservation as it
// was first returned (held, same expiry), or the same error.
func (s *Store) completedClaim(ctx context.Context, tx *sql.Tx, key string, rec keyRecord) (productservice.Claim, error) {
	c := productservice.Claim{Key: key, Token: rec.token, Completed: true}
	if !rec.reservationID.Valid {
		c.Err = productservice.ReplayError(rec.errorCode.String, rec.errorMessage.String)
		return c, nil
	}
	rs, err := s.loadReservations(ctx, tx, reservationByIDQuery, rec.reservationID.String)
	if err != nil {
		return c, err
	}
	if len(rs) != 1 {
		return c, fmt.Errorf("idempotency key %q: reservation %s is missing", key, rec.reservationID.String)
	}
	c.Reservation = rs[0]
	c.Reservation.Status = productservice.StatusHeld
	return c, nil
}

// recordOutcome completes claim with a reservation ID or a business error.
// Zero rows changed means the claim is no longer ours.
func (s *Store) recordOutcome(ctx context.Context, tx *sql.Tx, claim productservice.Claim, reservationID string, bizErr *kitshop.Error, now time.Time) error {
	var rid, code, msg sql.NullString
	if bizErr != nil {
		code = sql.NullString{String: string(bizErr.Code), Valid: true}
		msg = sql.NullString{String: bizErr.Message, Valid: true}
	} else {
		rid = sql.NullString{String: reservationID, Valid: true}
	}
	n, err := s.exec(ctx, tx, recordOutcomeQuery, rid, code, msg, now.UnixMicro(), claim.Key, claim.Token)
	if err != nil {
		return err
	}
	if n != 1 {
		return productservice.ErrRequestInProgress
	}
	return nil
}

// DropClaim implements productservice.Store.
func (s *Store) DropClaim(ctx context.Context, claim productservice.Claim) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(
		`DELETE FROM idempotency_keys WHERE idem_key = ? AND claim_token = ? AND state = 'in_progress'`),
		claim.Key, claim.Token)
	if err != nil {
		return sqldb.Fault(fmt.Errorf("drop idempotency claim: %w", err))
	}
	return nil
}
