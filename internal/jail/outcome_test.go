package jail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
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

// TestRunBackground: RunBackground's outcome is Run's (exit, signal, wall
// timeout, setup error), and its teardown, done in the background, leaves
// nothing once WaitTeardowns returns.
func TestRunBackground(t *testing.T) {
	needRoot(t)
	WaitTeardowns()
	if left := testkit.RunCgroups(os.Getpid()); len(left) > 0 {
		t.Fatalf("run cgroups before the test: %v", left)
	}
	timeout := DefaultSpec([]string{"sleep", "10"})
	timeout.Limits.Wall = 200 * time.Millisecond
	for _, spec := range []*Spec{
		DefaultSpec([]string{"sh", "-c", "echo out; echo err >&2; exit 3"}),
		DefaultSpec([]string{"sh", "-c", "kill -TERM $$"}),
		timeout,
		DefaultSpec([]string{"/nosuch/cmd"}),
	} {
		var out, errb, bout, berrb bytes.Buffer
		res, err := Run(context.Background(), spec, IO{Stdout: &out, Stderr: &errb})
		bres, berr := RunBackground(context.Background(), spec, IO{Stdout: &bout, Stderr: &berrb})
		if fmt.Sprint(err) != fmt.Sprint(berr) || res.Reason != bres.Reason || res.ExitCode != bres.ExitCode || res.Signal != bres.Signal ||
			out.String() != bout.String() || errb.String() != berrb.String() {
			t.Errorf("%q: Run %v %+v %q %q; RunBackground %v %+v %q %q", spec.Args, err, res, out.String(), errb.String(), berr, bres, bout.String(), berrb.String())
		}
	}
	WaitTeardowns()
	if left := testkit.RunCgroups(os.Getpid()); len(left) > 0 {
		t.Errorf("run cgroups left after WaitTeardowns: %v", left)
	}
}
