package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/testkit"
)

// These tests build real jails (root, a real kernel), in this test
// process: its run cgroups are named after its pid.

func testSpec(hostname string, args ...string) *jail.Spec {
	s := jail.DefaultSpec(args)
	s.Hostname = hostname
	s.EtcFiles = jail.EtcFiles(s.UID, s.GID, s.Cwd, hostname)
	return s
}

func runIn(t *testing.T, c *Cache, spec *jail.Spec) (string, *jail.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := c.Run(context.Background(), spec, "", jail.IO{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %v: %v", spec.Args, err)
	}
	return out.String(), res
}

func waitReady(t *testing.T, c *Cache, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for c.Stats().Ready < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d jails ready: %v", n, c.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// children lists this process's children with their start times.
func children() map[int]string {
	out := map[int]string{}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				out[pid] = string(st[:min(len(st), 64)])
			}
		}
	}
	return out
}

func newCache(t *testing.T, perSpec, maxSpecs int) *Cache {
	t.Helper()
	c, err := NewCache(perSpec, maxSpecs, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestCacheHitsAndMisses(t *testing.T) {
	c := newCache(t, 2, 4)
	out, res := runIn(t, c, testSpec("h1", "/bin/sh", "-c", "echo first $(hostname)"))
	if out != "first h1\n" || res.ExitCode != 0 {
		t.Fatalf("first run: %q %+v", out, res)
	}
	if st := c.Stats(); st.Misses != 1 || st.Hits != 0 {
		t.Fatalf("after the first run: %v", st)
	}
	waitReady(t, c, 2)
	// Other args and env, same key: a prepared jail runs them.
	spec := testSpec("h1", "/bin/sh", "-c", `echo "$0 $X $(hostname)"`, "second")
	spec.Env = append(spec.Env, "X=42")
	out, res = runIn(t, c, spec)
	if out != "second 42 h1\n" || res.ExitCode != 0 {
		t.Fatalf("second run: %q %+v", out, res)
	}
	spec = testSpec("h1", "/bin/sh", "-c", "exit 7")
	if _, res = runIn(t, c, spec); res.ExitCode != 7 || res.Reason != jail.ReasonExited {
		t.Fatalf("third run: %+v", res)
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Specs != 1 || st.Prepared < 2 {
		t.Fatalf("want 2 hits, 1 miss, 1 spec: %v", st)
	}
	// A spec that cannot be prepared (input files) runs cold.
	spec = testSpec("h1", "/bin/sh", "-c", "cat in.txt")
	spec.Files = []jail.File{{Path: "in.txt", Content: []byte("file\n")}}
	if out, _ := runIn(t, c, spec); out != "file\n" {
		t.Fatalf("not preparable: %q", out)
	}
	if st := c.Stats(); st.NotPreparable != 1 || st.Specs != 1 {
		t.Fatalf("not preparable: %v", st)
	}
}

func TestCacheEvictAndClose(t *testing.T) {
	if left := testkit.Runs(os.Getpid()); len(left) > 0 {
		t.Fatalf("run cgroups of this process before the test: %v", left)
	}
	kids0 := children()
	c, err := NewCache(1, 1, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	runIn(t, c, testSpec("a", "/bin/true"))
	waitReady(t, c, 1)
	runIn(t, c, testSpec("b", "/bin/true")) // evicts a, closes its jail
	waitReady(t, c, 1)
	st := c.Stats()
	if st.Evicted != 1 || st.Specs != 1 || st.Ready != 1 || st.Misses != 2 {
		t.Fatalf("want 1 eviction, 1 spec with 1 jail, 2 misses: %v", st)
	}
	if specs := c.Specs(); len(specs) != 1 || !strings.Contains(specs[0], "1 ready") {
		t.Fatalf("specs %v", specs)
	}
	// b's jail is the only one: one run cgroup (a's is gone, and so are
	// the two cold runs', once their teardowns, which follow the runs'
	// outcomes, are done).
	jail.WaitTeardowns()
	if left := testkit.Runs(os.Getpid()); len(left) > 1 {
		t.Fatalf("run cgroups with one prepared jail: %v", left)
	}
	c.Close()
	if st := c.Stats(); st.Ready != 0 || st.Specs != 0 {
		t.Fatalf("after Close: %v", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := testkit.Runs(os.Getpid())
		var kids []int
		for pid, st := range children() {
			if kids0[pid] != st {
				kids = append(kids, pid)
			}
		}
		if len(left) == 0 && len(kids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Close: run cgroups %v, child processes %v", left, kids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Closed: runs still work, cold.
	if out, _ := runIn(t, c, testSpec("a", "/bin/sh", "-c", "echo cold")); out != "cold\n" {
		t.Fatalf("after Close: %q", out)
	}
	if st := c.Stats(); st.Ready != 0 || st.Hits != 0 {
		t.Fatalf("after Close and a run: %v", st)
	}
}

func TestCachePrepareFailure(t *testing.T) {
	c := newCache(t, 2, 4)
	c.retryMin, c.retryMax = time.Hour, time.Hour
	var calls atomic.Int64
	c.prepare = func(*jail.Spec) (*jail.Prepared, error) {
		calls.Add(1)
		return nil, errors.New("prepare: made to fail")
	}
	for i := 0; i < 3; i++ {
		if out, _ := runIn(t, c, testSpec("f", "/bin/sh", "-c", "echo ok")); out != "ok\n" {
			t.Fatalf("run %d: %q", i, out)
		}
	}
	c.wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("Prepare called %d times after a failure, want 1 (no retry before the backoff)", n)
	}
	if st := c.Stats(); st.PrepareFailed != 1 || st.Misses != 3 || st.Hits != 0 {
		t.Fatalf("stats %v", st)
	}
	// Past the backoff, the next request tries again.
	c.mu.Lock()
	for _, e := range c.entries {
		e.retryAt = time.Time{}
	}
	c.mu.Unlock()
	runIn(t, c, testSpec("f", "/bin/true"))
	c.wg.Wait()
	if n := calls.Load(); n != 2 {
		t.Fatalf("Prepare called %d times after the backoff, want 2", n)
	}
}

func TestCacheNoPrepared(t *testing.T) {
	c := newCache(t, 0, 1)
	for i := 0; i < 2; i++ {
		runIn(t, c, testSpec("n", "/bin/true"))
	}
	if st := c.Stats(); st.Misses != 2 || st.Prepared != 0 || st.Specs != 0 {
		t.Fatalf("--prepared 0: %v", st)
	}
}

// TestCacheGoneJail: a prepared jail killed while it waited (its PID 1,
// a child of this process named pycage-init) does not fail the run that
// takes it: the run goes on cold, with the same output.
func TestCacheGoneJail(t *testing.T) {
	c := newCache(t, 1, 4)
	spec := testSpec("h2", "/bin/sh", "-c", "echo $0", "one")
	if out, _ := runIn(t, c, spec); out != "one\n" {
		t.Fatalf("first run: %q", out)
	}
	waitReady(t, c, 1)
	jail.WaitTeardowns() // the first (cold) run's PID 1 is gone then
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	killed := 0
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			comm, _ := os.ReadFile("/proc/" + s + "/comm")
			if strings.TrimSpace(string(comm)) == "pycage-init" {
				pid, _ := strconv.Atoi(s)
				if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
					killed++
				}
			}
		}
	}
	if killed != 1 {
		t.Fatalf("killed %d prepared jails, want 1", killed)
	}
	time.Sleep(100 * time.Millisecond)
	spec = testSpec("h2", "/bin/sh", "-c", "echo $0", "two")
	out, res := runIn(t, c, spec)
	if out != "two\n" || res.ExitCode != 0 {
		t.Fatalf("run after the kill: %q %+v", out, res)
	}
	if st := c.Stats(); st.Hits != 1 {
		t.Fatalf("the gone jail was not taken: %v", st)
	}
}
