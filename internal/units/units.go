// Package units parses the sizes and durations users type on command lines
// and in config files: "256M", "1.5GiB", "64k", "10s", "250ms", "2" (seconds).
package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseSize parses a byte size: a number with an optional suffix
// (k, K, KB, KiB, m, M, MB, MiB, g, G, GB, GiB, t, T; all binary). "max",
// "inf" and "unlimited" return -1.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "max", "inf", "unlimited":
		return -1, nil
	}
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, suf := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	mult := float64(1)
	switch strings.TrimSuffix(strings.TrimSuffix(suf, "ib"), "b") {
	case "":
		if suf != "" && suf != "b" {
			return 0, fmt.Errorf("invalid size %q: unknown unit %q", s, suf)
		}
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", s, suf)
	}
	v := f * mult
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q too large", s)
	}
	return int64(v), nil
}

// ParseDuration parses "10s", "250ms", "1m30s", or a plain number of seconds
// ("2", "0.5"). Negative values are an error.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("invalid duration %q: must be >= 0", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must be >= 0", s)
	}
	return d, nil
}
