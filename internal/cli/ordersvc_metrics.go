package cli

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// unresolvedScrapeTimeout bounds the count one scrape of /metrics makes.
const unresolvedScrapeTimeout = time.Second

// unresolvedOrders is the gauge orders_unresolved{status}: the orders in
// the database that are still pending or cancelling, counted at each
// scrape. It is exact whoever changed the orders (this instance, another
// one, a recovery loop), so an operator, or the chaos runner after a
// fault, sees when everything left half done has been finished or undone.
// When the database does not answer the gauge is left out of the scrape;
// the other metrics are still served.
type unresolvedOrders struct {
	count func(context.Context) (orderservice.Unresolved, error)
	desc  *prometheus.Desc
}

func newUnresolvedOrders(count func(context.Context) (orderservice.Unresolved, error)) unresolvedOrders {
	return unresolvedOrders{
		count: count,
		desc: prometheus.NewDesc("orders_unresolved",
			"Orders not yet confirmed, rejected or cancelled, by status (pending: saga in flight or orphaned; cancelling: being undone).",
			[]string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (u unresolvedOrders) Describe(ch chan<- *prometheus.Desc) { ch <- u.desc }

// Collect implements prometheus.Collector.
func (u unresolvedOrders) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), unresolvedScrapeTimeout)
	defer cancel()
	n, err := u.count(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(u.desc, prometheus.GaugeValue, float64(n.Pending), orderservice.StatusPending)
	ch <- prometheus.MustNewConstMetric(u.desc, prometheus.GaugeValue, float64(n.Cancelling), orderservice.StatusCancelling)
}
