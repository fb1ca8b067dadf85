package transport

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// RegisterOrReuse registers c on reg and returns it, or, when reg already
// holds an identical collector (the same metrics made twice for one
// registry), returns that one so that both makers share its series. Any
// other registration error is a programming error and panics, as
// prometheus.MustRegister does; owner names the package in the panic.
func RegisterOrReuse[C prometheus.Collector](reg prometheus.Registerer, owner string, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Errorf("%s: registering metrics: %w", owner, err))
}
