package chaos

import (
	"fmt"
	"math/rand/v2"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// Setup sizes: enough users and products for orders to spread, and stock no
// run can exhaust, so that every order of a healthy system is a 201 and
// the only deliberate 4xx are the unknown products.
const (
	setupUsers    = 20
	setupProducts = 8
	initialStock  = 1_000_000
	// badShare of the load asks for a product that does not exist: a 422
	// that must be neither retried nor counted against a breaker.
	badShare = 0.05
)

// orderRequest is one POST /v1/orders of the runner: its key, its body
// and whether it is meant to be refused (unknown product).
type orderRequest struct {
	Key  string
	Body orderservice.CreateOrderRequest
	Bad  bool
	// Token is the caller's: the ordering customer's, or the admin's for
	// an order for a user who does not exist.
	Token string
}

// workload makes the load's requests: a random user, one or two distinct
// products, quantities 1..3, each with its own Idempotency-Key. It is
// deterministic for a seed, and used from one goroutine.
type workload struct {
	prefix   string
	rnd      *rand.Rand
	users    []customer
	admin    string // the admin's token
	products []string
	unknown  string // a well-formed product ID that does not exist
	seq      int
}

func newWorkload(prefix string, seed int64, users []customer, admin string, products []string, unknownProduct string) *workload {
	return &workload{prefix: prefix, rnd: rand.New(rand.NewPCG(uint64(seed), 0x6b697473686f70)),
		users: users, admin: admin, products: products, unknown: unknownProduct}
}

// next returns the next request.
func (w *workload) next() orderRequest {
	w.seq++
	req := orderRequest{Key: fmt.Sprintf("%s-%06d", w.prefix, w.seq)}
	u := w.users[w.rnd.IntN(len(w.users))]
	req.Body.UserID, req.Token = u.ID, u.Token
	n := 1 + w.rnd.IntN(2)
	first := w.rnd.IntN(len(w.products))
	for i := range n {
		p := w.products[(first+i)%len(w.products)]
		req.Body.Items = append(req.Body.Items, orderservice.OrderLine{ProductID: p, Quantity: int64(1 + w.rnd.IntN(3))})
	}
	if w.rnd.Float64() < badShare {
		req.Bad = true
		req.Body.Items[len(req.Body.Items)-1].ProductID = w.unknown
	}
	return req
}

// probe returns a request meant to be refused: an unknown product, or an
// unknown user when user is true.
func (w *workload) probe(user bool) orderRequest {
	r := w.next()
	r.Key = fmt.Sprintf("%s-probe-%06d", w.prefix, w.seq)
	r.Bad = true
	if user {
		// Only an admin may order for another user, and so reach usersvc
		// with a user that does not exist.
		r.Body.UserID, r.Token = "usr_00000000000000000000000000", w.admin
		r.Body.Items = r.Body.Items[:1]
		r.Body.Items[0].ProductID = w.products[0]
	} else {
		r.Body.Items[len(r.Body.Items)-1].ProductID = w.unknown
	}
	return r
}
