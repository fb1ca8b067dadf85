package transport

import "time"

// RetryAfterSeconds rounds d up to whole seconds, at least 1, as the
// Retry-After header wants.
func RetryAfterSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

func secondsDuration(s int) time.Duration { return time.Duration(s) * time.Second }
