package cgroup

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var testSeq atomic.Int64

// testParentPrefix names every parent group the tests make.
var testParentPrefix = fmt.Sprintf("pycage-test-%d-", os.Getpid())

func TestMain(m *testing.M) {
	code := m.Run()
	// Nothing of ours may be left behind, whatever failed.
	if left := leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "cgroup directories left behind: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

func leftovers() []string {
	var left []string
	filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), testParentPrefix) {
			left = append(left, p)
			return filepath.SkipDir
		}
		if strings.Count(p, "/") > 8 {
			return filepath.SkipDir
		}
		return nil
	})
	return left
}

// openTest opens a Manager with a fresh parent nested in this process's
// cgroups and removes everything below it at the end of the test.
func openTest(t *testing.T, o openOptions) *Manager {
	t.Helper()
	return openTestParent(t, testParentPrefix+strconv.FormatInt(testSeq.Add(1), 10), o)
}

func openTestParent(t *testing.T, parent string, o openOptions) *Manager {
	t.Helper()
	m, err := open(parent, o)
	if err != nil {
		t.Fatalf("Open(%q): %v", parent, err)
	}
	t.Cleanup(func() { destroy(t, m) })
	return m
}

// destroy removes every group below m's parents and the parents.
func destroy(t *testing.T, m *Manager) {
	for _, h := range m.hiers {
		ents, _ := os.ReadDir(h.parent)
		for _, e := range ents {
			if e.IsDir() {
				if err := m.attach(e.Name()).Remove(); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
		}
	}
	if err := m.RemoveParents(); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func isFS(path string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && int64(st.Type) == magic
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func partOf(t *testing.T, g *Group, ctrl string) string {
	t.Helper()
	var p *part
	switch ctrl {
	case "memory":
		p = g.mem
	case "pids":
		p = g.pids
	case "cpu":
		p = g.cpu
	case "cpuset":
		p = g.cpuset
	case "freezer":
		p = g.freezer
	case "unified":
		p = g.uni
	case "acct":
		p = g.acct
	}
	if p == nil {
		t.Fatalf("group %s has no %s part (dirs %v)", g.name, ctrl, g.Dirs())
	}
	return p.dir
}

// startGated starts argv blocked on its stdin (so it does nothing before it
// is in the group), optionally placed with CLONE_INTO_CGROUP, adds it to g
// and returns a release func. The process is killed and reaped at cleanup.
func startGated(t *testing.T, g *Group, cloneInto bool, argv ...string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `read x; exec "$@"`, "sh"}, argv...)...)
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cloneInto {
		fd, ok := g.UnifiedFD()
		if !ok {
			t.Fatal("no unified fd")
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	if err := g.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return cmd, func() {
		io.WriteString(w, "go\n")
		w.Close()
		waited = true
	}
}

func waitSignal(t *testing.T, cmd *exec.Cmd, timeout time.Duration) syscall.Signal {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after %v", cmd.Args, timeout)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func inProcs(t *testing.T, dir string, pid int) bool {
	t.Helper()
	return slices.Contains(parseProcs(readTrim(t, dir+"/cgroup.procs")), pid)
}

func waitEmpty(t *testing.T, g *Group, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		procs, err := g.Procs()
		if err != nil {
			t.Fatal(err)
		}
		if len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still in %s after %v", procs, g.name, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustNew(t *testing.T, m *Manager, l Limits) *Group {
	t.Helper()
	g, err := m.New(l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Remove() })
	return g
}

// TestDetectLive checks detection on the running host against what statfs
// says each /sys/fs/cgroup/<controller> is.
func TestDetectLive(t *testing.T) {
	m := openTest(t, openOptions{})
	t.Log("\n" + m.Describe())
	self := readTrim(t, "/proc/self/cgroup")
	for _, c := range []string{"memory", "pids", "cpu", "cpuset"} {
		if !isFS("/sys/fs/cgroup/"+c, unix.CGROUP_SUPER_MAGIC) {
			continue
		}
		h := m.ctrl[c]
		if h == nil || h.v2 {
			t.Fatalf("%s: mounted as v1 but detected as %+v (%s)", c, h, m.why[c])
		}
		if !m.Supports(c) {
			t.Errorf("Supports(%q) = false", c)
		}
		// The parent is nested in this process's own cgroup.
		for line := range strings.SplitSeq(self, "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) == 3 && f[1] == c {
				want := filepath.Join("/sys/fs/cgroup", c, f[2], testParentPrefix)
				if !strings.HasPrefix(h.parent, want) {
					t.Errorf("%s parent %s, want %s*", c, h.parent, want)
				}
			}
		}
	}
	if isFS("/sys/fs/cgroup/unified", unix.CGROUP2_SUPER_MAGIC) {
		if m.unified == nil || m.unified.mount != "/sys/fs/cgroup/unified" {
			t.Fatalf("unified hierarchy not used: %s", m.unifiedWhy)
		}
		if !m.cgroupKill || !m.Supports("kill") || !m.Supports("unified") || !m.Supports("cpuacct") {
			t.Error("unified hierarchy without cgroup.kill / cpu.stat")
		}
	}
	if isFS("/sys/fs/cgroup/memory", unix.CGROUP_SUPER_MAGIC) &&
		exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") && !m.Supports("memory.swap") {
		t.Error("memsw exists but memory.swap not supported")
	}
	if m.Supports("bogus") {
		t.Error("Supports(bogus)")
	}
	if !strings.Contains(m.Describe(), "memory") {
		t.Error("Describe lacks memory")
	}
}

func TestNewWritesLimits(t *testing.T) {
	m := openTest(t, openOptions{})
	g := mustNew(t, m, Limits{Memory: 32 << 20, Pids: 17, CPUMsPerSec: 500, CPUs: "0"})
	if !strings.Contains(g.Name(), strconv.Itoa(os.Getpid())) {
		t.Errorf("name %s lacks the pid", g.Name())
	}
	mem, pids, cpu := partOf(t, g, "memory"), partOf(t, g, "pids"), partOf(t, g, "cpu")
	cpuset := partOf(t, g, "cpuset")
	check := func(file, want string) {
		t.Helper()
		if got := readTrim(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if m.ctrl["memory"].v2 {
		check(mem+"/memory.max", "33554432")
		check(mem+"/memory.swap.max", "0")
		check(pids+"/pids.max", "17")
		check(cpu+"/cpu.max", "50000 100000")
	} else {
		check(mem+"/memory.limit_in_bytes", "33554432")
		if m.swapCtl {
			check(mem+"/memory.memsw.limit_in_bytes", "33554432")
		}
		check(pids+"/pids.max", "17")
		check(cpu+"/cpu.cfs_quota_us", "50000")
		check(cpu+"/cpu.cfs_period_us", "100000")
		check(cpuset+"/cpuset.mems", readTrim(t, filepath.Dir(filepath.Dir(cpuset))+"/cpuset.mems"))
	}
	check(cpuset+"/cpuset.cpus", "0")
	if g.uni == nil && m.unified != nil {
		t.Error("run group has no unified part")
	}

	// memory+swap, and a bandwidth below the 1 ms minimum of a 100 ms period.
	g2 := mustNew(t, m, Limits{Memory: 32 << 20, MemorySwap: 64 << 20, CPUMsPerSec: 5})
	mem2, cpu2 := partOf(t, g2, "memory"), partOf(t, g2, "cpu")
	if g2.cpuset != nil {
		t.Error("cpuset joined without a cpu list")
	}
	if g2.Name() == g.Name() {
		t.Error("two groups with one name")
	}
	if !m.ctrl["memory"].v2 {
		check(mem2+"/memory.limit_in_bytes", "33554432")
		if m.swapCtl {
			check(mem2+"/memory.memsw.limit_in_bytes", "67108864")
		}
		check(cpu2+"/cpu.cfs_period_us", "1000000")
		check(cpu2+"/cpu.cfs_quota_us", "5000")
	}

	// No limits: unified + memory (accounting) only, nothing written.
	g3 := mustNew(t, m, Limits{})
	if g3.pids != nil || g3.cpu != nil {
		t.Errorf("limit-less group joined pids/cpu: %v", g3.Dirs())
	}
	if !m.ctrl["memory"].v2 {
		check(partOf(t, g3, "memory")+"/memory.limit_in_bytes", "9223372036854771712")
	}

	for _, gg := range []*Group{g, g2, g3} {
		dirs := gg.Dirs()
		if err := gg.Remove(); err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if exists(d) {
				t.Errorf("%s left after Remove", d)
			}
		}
	}
}

func TestNewErrors(t *testing.T) {
	m := openTest(t, openOptions{})
	// A write the kernel refuses names the step and the file; nothing stays.
	_, err := m.New(Limits{CPUs: "63"})
	if err == nil || !strings.HasPrefix(err.Error(), "write ") || !strings.Contains(err.Error(), "/cpuset.cpus: E") {
		t.Fatalf("bad cpu: %v", err)
	}
	for _, h := range m.hiers {
		if ents, _ := os.ReadDir(h.parent); len(ents) > 0 && slices.ContainsFunc(ents, func(e os.DirEntry) bool { return e.IsDir() }) {
			t.Errorf("%s not empty after a failed New", h.parent)
		}
	}
	for _, l := range []Limits{{Memory: -1}, {Memory: 64 << 20, MemorySwap: 32 << 20}, {CPUs: "0;1"}, {Memory: 100}} {
		if _, err := m.New(l); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}

	// An unusable controller: the error names it and why; AllowWeaker skips it.
	mm := m
	saved, savedWhy := m.ctrl["pids"], m.why["pids"]
	delete(m.ctrl, "pids")
	m.why["pids"] = "v1 mkdir /sys/fs/cgroup/pids/x: EACCES"
	defer func() { m.ctrl["pids"], m.why["pids"] = saved, savedWhy }()
	_, err = mm.New(Limits{Pids: 10})
	if err == nil || err.Error() != "cgroup pids: no writable pids controller (v1 mkdir /sys/fs/cgroup/pids/x: EACCES)" {
		t.Fatalf("unusable pids: %v", err)
	}
	g, err := mm.New(Limits{Pids: 10, AllowWeaker: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	if w := g.Weakened(); len(w) != 1 || !strings.Contains(w[0], "pids") || g.pids != nil {
		t.Errorf("weakened %v, pids part %v", w, g.pids)
	}
}

func TestAddChild(t *testing.T) {
	m := openTest(t, openOptions{})
	g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 10})
	cmd, release := startGated(t, g, false, "sleep", "30")
	pid := cmd.Process.Pid
	for _, d := range g.Dirs() {
		if !inProcs(t, d, pid) {
			t.Errorf("pid %d not in %s/cgroup.procs", pid, d)
		}
	}
	self := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", pid))
	if n := strings.Count(self, "/"+g.Name()); n != len(g.Dirs()) {
		t.Errorf("/proc/%d/cgroup names the group %d times, want %d:\n%s", pid, n, len(g.Dirs()), self)
	}
	if procs, err := g.Procs(); err != nil || !slices.Equal(procs, []int{pid}) {
		t.Errorf("Procs = %v %v", procs, err)
	}
	release()
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if sig := waitSignal(t, cmd, 5*time.Second); sig != syscall.SIGKILL {
		t.Errorf("child ended with signal %v, want SIGKILL", sig)
	}
	for _, d := range g.Dirs() {
		if exists(d) {
			t.Errorf("%s left", d)
		}
	}
	if err := g.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestCloneIntoCgroup(t *testing.T) {
	m := openTest(t, openOptions{})
	if !m.Supports("unified") {
		t.Skip("no unified hierarchy")
	}
	g := mustNew(t, m, Limits{Memory: 64 << 20})
	cmd, release := startGated(t, g, true, "sleep", "30")
	defer release()
	pid := cmd.Process.Pid
	rel := strings.TrimPrefix(partOf(t, g, "unified"), m.unified.mount)
	if self := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(self, "0::"+rel) {
		t.Fatalf("child not in %s:\n%s", rel, self)
	}
	for _, d := range g.Dirs() {
		if !inProcs(t, d, pid) {
			t.Errorf("pid %d not in %s", pid, d)
		}
	}
	// The fd is the group's: stable across calls, closed by Remove.
	fd, _ := g.UnifiedFD()
	if fd2, _ := g.UnifiedFD(); fd2 != fd {
		t.Error("UnifiedFD changed")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("UnifiedFD still open after Remove: %v", err)
	}
}

func TestCPUUsage(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{})
			if v1only && strings.Contains(partOf(t, g, "acct"), "unified") {
				t.Fatal("v1-only group accounts in the unified hierarchy")
			}
			u0, err := g.CPUUsage()
			if err != nil {
				t.Fatal(err)
			}
			if u0 != 0 {
				t.Errorf("fresh group used %v", u0)
			}
			cmd, release := startGated(t, g, !v1only, "/bin/sh", "-c", "while :; do :; done")
			release()
			deadline := time.Now().Add(10 * time.Second)
			last := time.Duration(0)
			for {
				u, err := g.CPUUsage()
				if err != nil {
					t.Fatal(err)
				}
				if u < last {
					t.Fatalf("usage went back: %v < %v", u, last)
				}
				last = u
				if u >= 300*time.Millisecond {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("usage %v after 10 s of a busy loop", u)
				}
				time.Sleep(10 * time.Millisecond)
			}
			st, err := g.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.CPU < last {
				t.Errorf("Stats.CPU %v < %v", st.CPU, last)
			}
			if err := g.Kill(); err != nil {
				t.Fatal(err)
			}
			waitSignal(t, cmd, 5*time.Second)
		})
	}
}

func TestOOMKill(t *testing.T) {
	m := openTest(t, openOptions{})
	if !m.Supports("memory") {
		t.Fatalf("no memory controller: %s", m.Why("memory"))
	}
	g := mustNew(t, m, Limits{Memory: 32 << 20})
	cmd, release := startGated(t, g, m.Supports("unified"), "/usr/bin/python3", "-c", "b = bytearray(200 << 20)")
	release()
	if sig := waitSignal(t, cmd, 20*time.Second); sig != syscall.SIGKILL {
		t.Errorf("python ended with %v (%v), want SIGKILL", sig, cmd.ProcessState)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.OOMKills < 1 || !st.MemoryLimitHit {
		t.Errorf("no OOM kill counted: %+v", st)
	}
	if st.MemoryPeak < 8<<20 || st.MemoryPeak > 32<<20 {
		t.Errorf("peak %d outside (8 MiB, 32 MiB]", st.MemoryPeak)
	}
}

func TestPidsLimitHit(t *testing.T) {
	m := openTest(t, openOptions{})
	g := mustNew(t, m, Limits{Pids: 8})
	if st, _ := g.Stats(); st.PidsLimitHit {
		t.Fatal("limit hit before the run")
	}
	script := `
import os, time
failed = 0
for i in range(30):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        failed += 1
print(failed, flush=True)
`
	cmd, release := startGated(t, g, m.Supports("unified"), "/usr/bin/python3", "-c", script)
	release()
	if sig := waitSignal(t, cmd, 20*time.Second); sig != 0 {
		t.Fatalf("forker ended with %v", sig)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !st.PidsLimitHit {
		t.Errorf("pids limit not reported: %+v", st)
	}
	procs, _ := g.Procs()
	if len(procs) < 1 || len(procs) > 8 {
		t.Errorf("%d processes left in a group limited to 8", len(procs))
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitEmpty(t, g, 5*time.Second)
}

// TestKill kills a process tree (with an orphan that left its parent) with
// each teardown strategy.
func TestKill(t *testing.T) {
	tree := "sleep 30 & sleep 30 & (sleep 30 &) ; sh -c 'sleep 30' & wait"
	for _, mode := range []string{"cgroup.kill", "freezer", "loop"} {
		t.Run(mode, func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: mode != "cgroup.kill"})
			if mode != "cgroup.kill" && m.ctrl["freezer"] == nil {
				t.Skip("no v1 freezer")
			}
			g := mustNew(t, m, Limits{Pids: 20})
			if mode == "freezer" && g.freezer == nil {
				t.Fatal("v1-only group without freezer part")
			}
			cmd, release := startGated(t, g, mode == "cgroup.kill", "/bin/sh", "-c", tree)
			release()
			deadline := time.Now().Add(5 * time.Second)
			for {
				procs, _ := g.Procs()
				if len(procs) >= 6 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("tree did not start: %v", procs)
				}
				time.Sleep(5 * time.Millisecond)
			}
			var err error
			switch mode {
			case "loop":
				err = g.killLoop(2 * time.Second)
			default:
				err = g.Kill()
			}
			if err != nil {
				t.Fatal(err)
			}
			if sig := waitSignal(t, cmd, 5*time.Second); sig != syscall.SIGKILL {
				t.Errorf("tree root ended with %v", sig)
			}
			waitEmpty(t, g, 5*time.Second)
			if mode == "freezer" {
				if s := readTrim(t, g.freezer.dir+"/freezer.state"); s != "THAWED" {
					t.Errorf("freezer left %s", s)
				}
			}
			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRemoveBusy removes a group whose processes still run (Remove kills).
func TestRemoveBusy(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 20})
			cmd, release := startGated(t, g, !v1only, "/bin/sh", "-c", "sleep 30 & sleep 30 & wait")
			release()
			time.Sleep(50 * time.Millisecond)
			dirs := g.Dirs()
			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
			waitSignal(t, cmd, 5*time.Second)
			for _, d := range dirs {
				if exists(d) {
					t.Errorf("%s left", d)
				}
			}
			if _, err := g.CPUUsage(); err == nil {
				t.Error("CPUUsage after Remove")
			}
			if err := g.Kill(); err != nil {
				t.Errorf("Kill after Remove: %v", err)
			}
		})
	}
}

func TestStaleCleanup(t *testing.T) {
	parent := testParentPrefix + "stale"
	m := openTestParent(t, parent, openOptions{})
	live := mustNew(t, m, Limits{Pids: 10})

	pidMax, _ := strconv.Atoi(readTrim(t, "/proc/sys/kernel/pid_max"))
	ns := m.owner.pidns
	dead := fmt.Sprintf("run-%d-%d-1-1", ns, pidMax+7)                            // no such pid
	reused := fmt.Sprintf("run-%d-%d-%d-1", ns, os.Getpid(), m.owner.starttime+1) // pid alive, other process
	foreign := fmt.Sprintf("run-%d-%d-1-1", ns+1, pidMax+7)                       // other pid namespace
	keep := "not-a-run"
	for _, h := range m.hiers {
		for _, n := range []string{dead, reused, foreign, keep} {
			if err := os.Mkdir(h.parent+"/"+n, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A process still runs in the dead owner's group.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for _, h := range m.hiers {
		if err := writeFile(h.parent+"/"+dead+"/cgroup.procs", strconv.Itoa(cmd.Process.Pid)); err != nil {
			t.Fatal(err)
		}
	}

	m2, err := Open(parent)
	if err != nil {
		t.Fatal(err)
	}
	if w := m2.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
	if sig := waitSignal(t, cmd, 5*time.Second); sig != syscall.SIGKILL {
		t.Errorf("process of the stale group ended with %v", sig)
	}
	for _, h := range m.hiers {
		for _, n := range []string{dead, reused} {
			if exists(h.parent + "/" + n) {
				t.Errorf("stale %s/%s not removed", h.parent, n)
			}
		}
		for _, n := range []string{foreign, keep} {
			if !exists(h.parent + "/" + n) {
				t.Errorf("%s/%s removed", h.parent, n)
			}
		}
	}
	for _, d := range live.Dirs() {
		if !exists(d) {
			t.Errorf("live group %s removed", d)
		}
	}
	if names, err := m2.CleanStale(); err != nil || len(names) != 0 {
		t.Errorf("second CleanStale: %v %v", names, err)
	}
	for _, h := range m.hiers {
		for _, n := range []string{foreign, keep} {
			os.Remove(h.parent + "/" + n)
		}
	}
}

func TestAbsoluteParent(t *testing.T) {
	parent := "/" + testParentPrefix + "abs/inner"
	m := openTestParent(t, parent, openOptions{})
	for _, h := range m.hiers {
		if want := h.mount + parent; h.parent != want {
			t.Errorf("parent %s, want %s", h.parent, want)
		}
		if len(h.created) != 2 {
			t.Errorf("created %v", h.created)
		}
	}
	g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 10})
	cmd, release := startGated(t, g, m.Supports("unified"), "sleep", "30")
	release()
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, cmd, 5*time.Second)
}

// TestV2Delegation: the unified hierarchy of this host has no usable
// controller; asking for one explains who has to delegate it.
func TestV2Delegation(t *testing.T) {
	m := openTest(t, openOptions{})
	if m.unified == nil {
		t.Skip("no unified hierarchy")
	}
	if !m.unified.v2 || len(m.unified.ctrls) != 0 && m.ctrl["memory"] != nil && !m.ctrl["memory"].v2 {
		t.Fatalf("hybrid: unified run groups got controllers %v", m.unified.ctrls)
	}
	root := m.unified.mount
	avail := strings.Fields(readTrim(t, root+"/cgroup.controllers"))
	sub := strings.Fields(readTrim(t, root+"/cgroup.subtree_control"))
	for _, c := range avail {
		if slices.Contains(sub, c) {
			continue
		}
		// c exists at the root but is not delegated to its children.
		before := readTrim(t, root+"/cgroup.subtree_control")
		m.enableV2(m.unified, []string{c})
		if after := readTrim(t, root+"/cgroup.subtree_control"); after != before {
			t.Fatalf("wrote the root's subtree_control: %q -> %q", before, after)
		}
		why := m.why[c]
		if !strings.Contains(why, "not delegated by "+root) || !strings.Contains(why, "--cgroup-parent") {
			t.Errorf("why(%s) = %q", c, why)
		}
		return
	}
	t.Skip("every root controller is delegated")
}

func TestConcurrentNewRemove(t *testing.T) {
	m := openTest(t, openOptions{})
	const workers, runs = 8, 15
	var wg sync.WaitGroup
	var mu sync.Mutex
	names := map[string]bool{}
	errs := make(chan error, workers*runs)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runs; i++ {
				g, err := m.New(Limits{Memory: 64 << 20, Pids: 10, SplitCommand: w%2 == 1})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if names[g.Name()] {
					errs <- fmt.Errorf("duplicate name %s", g.Name())
				}
				names[g.Name()] = true
				mu.Unlock()
				if i%3 == 0 {
					cmd := exec.Command("true")
					if fd, ok := g.UnifiedFD(); ok {
						cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
					}
					if err := cmd.Run(); err != nil {
						errs <- err
					}
				}
				if _, err := g.CPUUsage(); err != nil {
					errs <- err
				}
				if err := g.Remove(); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, h := range m.hiers {
		if ents, _ := os.ReadDir(h.parent); slices.ContainsFunc(ents, func(e os.DirEntry) bool { return e.IsDir() }) {
			t.Errorf("%s not empty", h.parent)
		}
	}
}

// TestNewSpeed reports the cost of New+Remove for the default limits, with
// and without SplitCommand.
func TestNewSpeed(t *testing.T) {
	m := openTest(t, openOptions{})
	for _, split := range []bool{false, true} {
		l := Limits{Memory: 256 << 20, Pids: 64, SplitCommand: split}
		const n = 50
		var newT, rmT time.Duration
		for i := 0; i < n; i++ {
			t0 := time.Now()
			g, err := m.New(l)
			if err != nil {
				t.Fatal(err)
			}
			t1 := time.Now()
			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
			newT += t1.Sub(t0)
			rmT += time.Since(t1)
		}
		t.Logf("split=%v: New %v, Remove %v (mean of %d)", split, newT/n, rmT/n, n)
		if newT/n > 5*time.Millisecond {
			t.Errorf("split=%v: New takes %v on average", split, newT/n)
		}
	}
}

func BenchmarkNewRemove(b *testing.B) {
	m, err := Open(testParentPrefix + "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer m.RemoveParents()
	for _, split := range []bool{false, true} {
		b.Run(fmt.Sprintf("split=%v", split), func(b *testing.B) {
			l := Limits{Memory: 256 << 20, Pids: 64, SplitCommand: split}
			for b.Loop() {
				g, err := m.New(l)
				if err != nil {
					b.Fatal(err)
				}
				if err := g.Remove(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCPUUsage(b *testing.B) {
	m, err := Open(testParentPrefix + "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer m.RemoveParents()
	g, err := m.New(Limits{})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Remove()
	for b.Loop() {
		if _, err := g.CPUUsage(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDefaultParent: "pycage" nested in this process's own cgroup of every
// hierarchy. Only directories this test created are removed again (another
// pycage may share the default parent).
func TestDefaultParent(t *testing.T) {
	m, err := Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.RemoveParents(); err != nil && !strings.Contains(err.Error(), "EBUSY") {
			t.Error(err)
		}
	}()
	for _, h := range m.hiers {
		own, err := h.dirOf(h.own)
		if err != nil {
			t.Fatal(err)
		}
		if h.parent != own+"/pycage" {
			t.Errorf("parent %s, want %s/pycage", h.parent, own)
		}
	}
	g, err := m.New(Limits{Memory: 64 << 20, Pids: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
}
