package orderservice_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// requestHashOf computes the hash the service keeps for an order request
// of one line, as a crashed process would have stored it.
func requestHashOf(t *testing.T, _ *shop, userID, productID string, q int64) string {
	t.Helper()
	b, err := json.Marshal(struct {
		UserID string                   `json:"user_id"`
		Items  []orderservice.OrderLine `json:"items"`
	}{userID, []orderservice.OrderLine{{ProductID: productID, Quantity: q}}})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func reserveFor(r orderservice.Record) productservice.ReserveRequest {
	items := make([]productservice.ReserveItem, len(r.Items))
	for i, it := range r.Items {
		items[i] = productservice.ReserveItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return productservice.ReserveRequest{IdempotencyKey: "order:" + r.ID, OrderID: r.ID, Items: items}
}
