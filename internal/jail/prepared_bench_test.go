package jail

import (
	"context"
	"sort"
	"testing"
	"time"
)

// BenchmarkPreparedVsCold: the latency of a run of /bin/true, from the
// call to the Result, in a prepared jail vs a cold one (interleaved).
func BenchmarkPreparedVsCold(b *testing.B) {
	if testing.Short() {
		b.Skip()
	}
	spec := DefaultSpec([]string{"/bin/true"})
	var cold, warm []time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := Run(context.Background(), spec, IO{}); err != nil {
			b.Fatal(err)
		}
		cold = append(cold, time.Since(t0))
		p, err := Prepare(spec)
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		t0 = time.Now()
		if _, err := p.Run(context.Background(), spec.Args, spec.Env, "", IO{}); err != nil {
			b.Fatal(err)
		}
		warm = append(warm, time.Since(t0))
	}
	med := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	b.ReportMetric(float64(med(cold).Microseconds())/1000, "cold-ms")
	b.ReportMetric(float64(med(warm).Microseconds())/1000, "prepared-ms")
}
