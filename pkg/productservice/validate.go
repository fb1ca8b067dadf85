package productservice

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func validateCreateProduct(req CreateProductRequest) error {
	if err := kitshop.ValidateName("name", req.Name, MaxNameLength); err != nil {
		return err
	}
	switch {
	case req.PriceCents <= 0:
		return kitshop.InvalidArgument("price_cents", "must be greater than 0")
	case req.PriceCents > MaxPriceCents:
		return kitshop.InvalidArgument("price_cents", "must be at most %d", MaxPriceCents)
	case req.Stock < 0:
		return kitshop.InvalidArgument("stock", "must be 0 or more")
	}
	return nil
}

// validateReserve checks a reservation request. A product may appear on
// one line only: duplicates are rejected, not merged, so that the lines of
// the reservation are exactly the lines asked for.
func validateReserve(req ReserveRequest) error {
	switch {
	case req.IdempotencyKey == "":
		return kitshop.InvalidArgument(idempotencyKeyField, "header is required")
	case len(req.IdempotencyKey) > MaxIdempotencyKeyLen:
		return kitshop.InvalidArgument(idempotencyKeyField, "must be at most %d bytes", MaxIdempotencyKeyLen)
	case strings.TrimSpace(req.OrderID) == "":
		return kitshop.InvalidArgument("order_id", "is required")
	case len(req.OrderID) > MaxReferenceLength:
		return kitshop.InvalidArgument("order_id", "must be at most %d bytes", MaxReferenceLength)
	case len(req.Items) == 0:
		return kitshop.InvalidArgument("items", "must not be empty")
	case len(req.Items) > MaxReservationItems:
		return kitshop.InvalidArgument("items", "must have at most %d items, got %d", MaxReservationItems, len(req.Items))
	}
	seen := make(map[string]int, len(req.Items))
	for i, it := range req.Items {
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case it.ProductID == "":
			return kitshop.InvalidArgument(field+".product_id", "is required")
		case len(it.ProductID) > MaxReferenceLength:
			return kitshop.InvalidArgument(field+".product_id", "must be at most %d bytes", MaxReferenceLength)
		case it.Quantity <= 0:
			return kitshop.InvalidArgument(field+".quantity", "must be greater than 0")
		}
		if first, dup := seen[it.ProductID]; dup {
			return kitshop.InvalidArgument(field+".product_id", "repeats items[%d]: list each product once", first)
		}
		seen[it.ProductID] = i
	}
	return nil
}

// idempotencyKeyField names the idempotency key in errors, as callers send
// it (the Idempotency-Key header).
const idempotencyKeyField = "Idempotency-Key"

// CheckAmounts refuses a priced reservation whose line amounts or total do
// not fit in int64, naming the line's quantity or the items. A Store calls
// it once it has priced a reservation, before taking any stock.
func CheckAmounts(items []ReservedItem) error {
	var sum uint64
	for i, it := range items {
		hi, line := bits.Mul64(uint64(it.Quantity), uint64(it.UnitPriceCents))
		if hi != 0 || line > 1<<63-1 {
			return kitshop.InvalidArgument(fmt.Sprintf("items[%d].quantity", i),
				"%d at %d cents each is more than an order can total", it.Quantity, it.UnitPriceCents)
		}
		if sum += line; sum > 1<<63-1 {
			return kitshop.InvalidArgument("items", "the order's total is more than an order can total")
		}
	}
	return nil
}
