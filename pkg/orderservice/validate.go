package orderservice

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/bits"
	"strconv"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func validateCreate(req CreateOrderRequest) error {
	if err := validateIdempotencyKey(req.IdempotencyKey); err != nil {
		return err
	}
	if req.UserID == "" {
		return kitshop.InvalidArgument("user_id", "is required")
	}
	if len(req.UserID) > MaxIDLength {
		return kitshop.InvalidArgument("user_id", "must be at most %d bytes", MaxIDLength)
	}
	if len(req.Items) == 0 {
		return kitshop.InvalidArgument("items", "must hold at least one item")
	}
	if len(req.Items) > MaxItems {
		return kitshop.InvalidArgument("items", "must hold at most %d items", MaxItems)
	}
	seen := make(map[string]bool, len(req.Items))
	for i, it := range req.Items {
		field := "items[" + strconv.Itoa(i) + "]"
		switch {
		case it.ProductID == "":
			return kitshop.InvalidArgument(field+".product_id", "is required")
		case len(it.ProductID) > MaxIDLength:
			return kitshop.InvalidArgument(field+".product_id", "must be at most %d bytes", MaxIDLength)
		case seen[it.ProductID]:
			return kitshop.InvalidArgument(field+".product_id", "repeats product %s: list each product once", it.ProductID)
		case it.Quantity <= 0:
			return kitshop.InvalidArgument(field+".quantity", "must be greater than 0")
		case it.Quantity > MaxQuantity:
			return kitshop.InvalidArgument(field+".quantity", "must be at most %d", MaxQuantity)
		}
		seen[it.ProductID] = true
	}
	return nil
}

// requestHash identifies a request's body, to tell a repeat from a reuse
// of its idempotency key.
func requestHash(req CreateOrderRequest) string {
	b, _ := json.Marshal(struct {
		UserID string      `json:"user_id"`
		Items  []OrderLine `json:"items"`
	}{req.UserID, req.Items})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func linesToItems(lines []OrderLine) []OrderItem {
	items := make([]OrderItem, len(lines))
	for i, l := range lines {
		items[i] = OrderItem{ProductID: l.ProductID, Quantity: l.Quantity}
	}
	return items
}

// total sums the items' prices, refusing amounts that overflow int64 with
// an invalid_argument naming the line's quantity or the items.
func total(items []OrderItem) (int64, error) {
	var sum uint64
	for i, it := range items {
		hi, lo := bits.Mul64(uint64(it.Quantity), uint64(it.UnitPriceCents))
		if hi != 0 || lo > 1<<63-1 {
			return 0, kitshop.InvalidArgument("items["+strconv.Itoa(i)+"].quantity",
				"%d at %d cents each is more than an order can total", it.Quantity, it.UnitPriceCents)
		}
		if sum += lo; sum > 1<<63-1 {
			return 0, kitshop.InvalidArgument("items", "the order's total is more than an order can total")
		}
	}
	return int64(sum), nil
}

// validateIdempotencyKey checks an Idempotency-Key as the caller sent it.
func validateIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return kitshop.InvalidArgument("Idempotency-Key", "must be at most %d bytes", MaxIdempotencyKey)
	}
	return nil
}
