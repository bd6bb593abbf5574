package units

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "10": 10, "64k": 64 << 10, "256M": 256 << 20, "1GiB": 1 << 30, "1.5g": 3 << 29, "2MB": 2 << 20, "max": -1}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "abc", "12x", "1e3", "M"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): want error", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"2": 2 * time.Second, "0.5": 500 * time.Millisecond, "250ms": 250 * time.Millisecond, "1m": time.Minute, "0": 0}
	for in, want := range good {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "-3s", "soon", "NaN"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want error", in)
		}
	}
}
