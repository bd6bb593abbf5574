package jail

import (
	"context"
	"testing"
)

// TestOutcomeOnly: with IO.OutcomeOnly a clean run (exit 0) reads no
// cgroup counters; any other end reads them as always, and the reasons
// that depend on them are the same as without OutcomeOnly (pids limit).
func TestOutcomeOnly(t *testing.T) {
	needRoot(t)
	for _, prepared := range []bool{false, true} {
		runIt := func(spec *Spec, io IO) *Result {
			t.Helper()
			var res *Result
			var err error
			if prepared {
				res, err = prepare1(t, spec).Run(context.Background(), spec.Args, spec.Env, "", io)
			} else {
				res, err = Run(context.Background(), spec, io)
			}
			if err != nil {
				t.Fatalf("%q (prepared %v): %v", spec.Args, prepared, err)
			}
			return res
		}
		busy := []string{"/usr/bin/python3", "-S", "-c", "x = bytearray(8 << 20); sum(range(300000))"}
		res := runIt(DefaultSpec(busy), IO{OutcomeOnly: true})
		if res.Reason != ReasonExited || res.ExitCode != 0 || res.CPU != 0 || res.PeakMemory != 0 {
			t.Errorf("prepared %v: a clean run with OutcomeOnly: %+v, want exited 0 and no counters", prepared, res)
		}
		res = runIt(DefaultSpec(busy), IO{})
		if res.CPU == 0 || res.PeakMemory < 8<<20 {
			t.Errorf("prepared %v: a clean run: CPU %v, peak memory %d: counters not read", prepared, res.CPU, res.PeakMemory)
		}
		failing := append(append([]string(nil), busy[:3]...), busy[3]+"; raise SystemExit(3)")
		res = runIt(DefaultSpec(failing), IO{OutcomeOnly: true})
		if res.ExitCode != 3 || res.CPU == 0 || res.PeakMemory < 8<<20 {
			t.Errorf("prepared %v: a failed run with OutcomeOnly: %+v, want exit 3 and the counters", prepared, res)
		}
		spec := DefaultSpec([]string{"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait"})
		spec.Limits.Pids = 4
		res = runIt(spec, IO{OutcomeOnly: true})
		if res.Reason != ReasonPidsLimit || !res.PidsLimitHit {
			t.Errorf("prepared %v: the pids limit with OutcomeOnly: %+v, want reason %s", prepared, res, ReasonPidsLimit)
		}
	}
}
