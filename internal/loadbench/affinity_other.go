//go:build !linux

package loadbench

import "errors"

func allowedCPUs() ([]int, error) { return nil, errors.New("CPU affinity is only set on Linux") }

func pinSelf([]int) error { return errors.New("CPU affinity is only set on Linux") }
