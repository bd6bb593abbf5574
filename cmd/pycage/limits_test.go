package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
)

func TestMemoryBombIsOOM(t *testing.T) {
	r := py(t, "b = []\nwhile True: b.append(bytearray(16 << 20))", "--memory", "64M")
	wantCode(t, r, 137)
	wantReason(t, r, "oom")
	if peak := r.report["peak_memory"].(float64); peak < 32<<20 || peak > 80<<20 {
		t.Fatalf("peak memory %v, want about the 64M limit", peak)
	}
	// Memory in tmpfs (workspace, /dev/shm) is charged too.
	r = py(t, `
f = open("/dev/shm/fill", "wb")
while True: f.write(b"x" * (1 << 20))
`, "--memory", "48M")
	if r.report["reason"] != "oom" && !strings.Contains(r.stderr, "No space left") {
		t.Fatalf("shm fill: reason %v stderr %.300s", r.report["reason"], r.stderr)
	}
}

func TestForkBombIsBounded(t *testing.T) {
	r := py(t, `
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(5); os._exit(0)
        n += 1
except OSError as e:
    print("stopped after", n, e.strerror)
`, "--pids", "20", "--time-limit", "3s")
	if !strings.Contains(r.stdout, "stopped after") {
		t.Fatalf("fork bomb not stopped: %q %q", r.stdout, r.stderr)
	}
	var n int
	fmt.Sscanf(strings.TrimPrefix(r.stdout, "stopped after "), "%d", &n)
	if n > 20 {
		t.Fatalf("%d forks under --pids 20", n)
	}
	if r.report["pids_limit_hit"] != true {
		t.Fatalf("pids_limit_hit not reported: %v", r.report)
	}
}

func TestCPULimit(t *testing.T) {
	r := py(t, `
import threading
def spin():
    while True: pass
for _ in range(2): threading.Thread(target=spin, daemon=True).start()
spin()
`, "--cpu-limit", "600ms", "--time-limit", "10s")
	wantCode(t, r, 137)
	wantReason(t, r, "cpu-timeout")
	if cpu := r.report["cpu_time"].(float64); cpu < 0.6 || cpu > 0.9 {
		t.Fatalf("cpu time %.3f, want just over 0.6", cpu)
	}
	// A sleeping program is not stopped by the CPU limit.
	r = py(t, "import time; time.sleep(1); print('slept')", "--cpu-limit", "300ms")
	wantCode(t, r, 0)
}

func TestReportFields(t *testing.T) {
	r := py(t, "x = bytearray(30 << 20); print('ok')", "--memory", "128M", "--pids", "10")
	wantCode(t, r, 0)
	for _, k := range []string{"reason", "exit_code", "signal", "wall_time", "cpu_time", "peak_memory", "limits"} {
		if _, ok := r.report[k]; !ok {
			t.Errorf("report lacks %q: %v", k, r.report)
		}
	}
	if peak := r.report["peak_memory"].(float64); peak < 30<<20 {
		t.Errorf("peak memory %v < 30 MiB", peak)
	}
	if cpu := r.report["cpu_time"].(float64); cpu <= 0 {
		t.Errorf("cpu time %v", cpu)
	}
	lim := r.report["limits"].(map[string]any)
	if lim["memory"] != float64(128<<20) || lim["pids"] != float64(10) {
		t.Errorf("limits %v", lim)
	}
	// --report - writes to stderr.
	cmd := exec.Command(pycageBin, "run", "--report", "-", "--", "true")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil || !strings.Contains(errb.String(), `"reason":"exited"`) {
		t.Fatalf("--report -: %v %q", err, errb.String())
	}
}

// hostState is what runs could leave behind on the host, as far as it can
// be told apart from other pycage processes on the machine (other test
// packages run jails at the same time).
func hostState(t *testing.T) (mounts int, tmp []string) {
	t.Helper()
	b, _ := os.ReadFile("/proc/self/mountinfo")
	mounts = strings.Count(string(b), "\n")
	tmp, _ = filepath.Glob(filepath.Join(os.TempDir(), "pycage*"))
	return
}

// leftProcs lists processes that are still in a run cgroup of one of pids.
func leftProcs(pids map[int]bool) []string {
	var left []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err != nil {
			continue
		}
		for pid := range pids {
			if strings.Contains(string(b), fmt.Sprintf("-%d-", pid)) && strings.Contains(string(b), "/run-") {
				left = append(left, e.Name())
			}
		}
	}
	return left
}

func TestNoLeaksAfterManyRuns(t *testing.T) {
	// pycage's own temporary files would land in its TMPDIR: a private one.
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	mounts0, _ := hostState(t)
	fds0, _ := os.ReadDir("/proc/self/fd")
	kinds := [][]string{
		{"run", "--", "true"},
		{"run", "--", "python3", "-c", "import os; os.fork(); os.fork(); print(1)"},
		{"run", "--time-limit", "200ms", "--", "sleep", "5"},
		{"run", "--memory", "32M", "--", "python3", "-c", "b=bytearray(100<<20)"},
		{"run", "--output-limit", "10", "--", "python3", "-c", "print('x'*1000)"},
		{"run", "--", "no-such-command"},
		{"run", "--pids", "0", "--", "python3", "-c", "import os; os.fork(); print(1)"},
		{"run", "--seccomp-policy", "/dev/null", "--", "true"},
	}
	pids := map[int]bool{}
	for i := 0; i < 32; i++ {
		r := pycage(t, "", kinds[i%len(kinds)]...)
		pids[r.pid] = true
	}
	time.Sleep(200 * time.Millisecond)
	for pid := range pids {
		if left := testkit.RunCgroups(pid); len(left) > 0 {
			t.Errorf("cgroups of pycage %d left: %v", pid, left)
		}
	}
	if left := leftProcs(pids); len(left) > 0 {
		t.Errorf("processes left in run cgroups: %v", left)
	}
	mounts, _ := hostState(t)
	if mounts != mounts0 {
		t.Errorf("host mounts changed: %d -> %d", mounts0, mounts)
	}
	if ents, _ := os.ReadDir(tmpdir); len(ents) > 0 {
		t.Errorf("temporary files left in pycage's TMPDIR: %v", ents)
	}
	if fds, _ := os.ReadDir("/proc/self/fd"); len(fds) > len(fds0)+2 {
		t.Errorf("fds grew: %d -> %d", len(fds0), len(fds))
	}
}

func TestUnprivilegedCaller(t *testing.T) {
	// pycage run as a normal user: the jail's uid maps to the caller's own
	// id. cgroups are root's here, so the caller must accept the weaker
	// guarantee explicitly — and without that flag it must fail clearly.
	_, bin := binForOtherUsers(t, "pycage-unpriv-")
	cmd := exec.Command(bin, "run", "--", "true")
	cmd.SysProcAttr = asUser(1000)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Skip("cgroups are writable by uid 1000 here; nothing to check")
	}
	if !strings.Contains(string(out), "allow-weaker") {
		t.Fatalf("unprivileged without --allow-weaker: %v %s", err, out)
	}
	cmd = exec.Command(bin, "run", "--allow-weaker", "--", "python3", "-c",
		"import os; print(os.getuid(), open('/proc/self/uid_map').read().split())")
	cmd.SysProcAttr = asUser(1000)
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged run: %v %s", err, out)
	}
	if !strings.Contains(string(out), "65534 ['65534', '1000', '1']") {
		t.Fatalf("uid map: %s", out)
	}
}
