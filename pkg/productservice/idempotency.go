package productservice

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// requestHash fingerprints what a Reserve request asks for (the order and
// its lines, in order), so that a key reused with other contents is told
// apart from a retry. The key itself is not part of it.
func requestHash(req ReserveRequest) string {
	body, _ := json.Marshal(struct {
		OrderID string        `json:"order_id"`
		Items   []ReserveItem `json:"items"`
	}{req.OrderID, req.Items})
	sum := sha256.Sum256(append([]byte("reserve.v1\n"), body...))
	return hex.EncodeToString(sum[:])
}

// replayableErrors are the business outcomes of Reserve that are recorded
// under an idempotency key and replayed, by code. Everything else (bad
// input is rejected before the key is claimed; internal errors drop the
// claim) is not recorded.
var replayableErrors = map[kitshop.Code]*kitshop.Error{
	kitshop.CodeInsufficientStock: ErrInsufficientStock,
	kitshop.CodeUnknownProduct:    ErrUnknownProduct,
}

// RecordableError returns err as a business error that a Store records under
// an idempotency key with the reservation attempt, if it is one.
func RecordableError(err error) (*kitshop.Error, bool) {
	e := kitshop.AsError(err)
	_, ok := replayableErrors[e.Code]
	return e, ok
}

// ReplayError rebuilds a business error a Store recorded: the same code and
// message as first returned.
func ReplayError(code, message string) error {
	if sentinel, ok := replayableErrors[kitshop.Code(code)]; ok {
		return sentinel.WithMessage("%s", message)
	}
	return kitshop.NewError(kitshop.Code(code), "%s", message)
}
