package productservice

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kitshop/kitshop/transport"
)

func validateLimit(limit int) error {
	if limit < 1 || limit > transport.MaxPageLimit {
		return transport.InvalidArgument("limit", "must be an integer from 1 to %d", transport.MaxPageLimit)
	}
	return nil
}

func validateCreateProduct(req CreateProductRequest) error {
	n := utf8.RuneCountInString(req.Name)
	switch {
	case !utf8.ValidString(req.Name):
		return transport.InvalidArgument("name", "must be valid UTF-8")
	case strings.TrimSpace(req.Name) == "":
		return transport.InvalidArgument("name", "is required")
	case strings.IndexFunc(req.Name, unicode.IsControl) >= 0:
		return transport.InvalidArgument("name", "must not hold control characters")
	case n > MaxNameLength:
		return transport.InvalidArgument("name", "must be at most %d characters, got %d", MaxNameLength, n)
	case req.PriceCents <= 0:
		return transport.InvalidArgument("price_cents", "must be greater than 0")
	case req.Stock < 0:
		return transport.InvalidArgument("stock", "must be 0 or more")
	}
	return nil
}

// validateReserve checks a reservation request. A product may appear on
// one line only: duplicates are rejected, not merged, so that the lines of
// the reservation are exactly the lines asked for.
func validateReserve(req ReserveRequest) error {
	switch {
	case req.IdempotencyKey == "":
		return transport.InvalidArgument(IdempotencyKeyHeader, "header is required")
	case len(req.IdempotencyKey) > MaxIdempotencyKeyLen:
		return transport.InvalidArgument(IdempotencyKeyHeader, "must be at most %d bytes", MaxIdempotencyKeyLen)
	case strings.TrimSpace(req.OrderID) == "":
		return transport.InvalidArgument("order_id", "is required")
	case len(req.OrderID) > MaxReferenceLength:
		return transport.InvalidArgument("order_id", "must be at most %d bytes", MaxReferenceLength)
	case len(req.Items) == 0:
		return transport.InvalidArgument("items", "must not be empty")
	case len(req.Items) > MaxReservationItems:
		return transport.InvalidArgument("items", "must have at most %d items, got %d", MaxReservationItems, len(req.Items))
	}
	seen := make(map[string]int, len(req.Items))
	for i, it := range req.Items {
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case it.ProductID == "":
			return transport.InvalidArgument(field+".product_id", "is required")
		case len(it.ProductID) > MaxReferenceLength:
			return transport.InvalidArgument(field+".product_id", "must be at most %d bytes", MaxReferenceLength)
		case it.Quantity <= 0:
			return transport.InvalidArgument(field+".quantity", "must be greater than 0")
		}
		if first, dup := seen[it.ProductID]; dup {
			return transport.InvalidArgument(field+".product_id", "repeats items[%d]: list each product once", first)
		}
		seen[it.ProductID] = i
	}
	return nil
}
