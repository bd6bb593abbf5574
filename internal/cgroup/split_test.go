package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pyProc is a python3 process started in a run group's init leaf, blocked
// until released.
type pyProc struct {
	cmd     *exec.Cmd
	lines   chan string // stdout lines; closed at EOF
	stderr  *bytes.Buffer
	release func()
}

// pyPrologue gates the script on a line on stdin (so it does nothing before
// it is in its groups).
const pyPrologue = "import os, sys, time, threading\nsys.stdin.readline()\n"

// startPy starts python3 -c script in g's init leaf (CLONE_INTO_CGROUP when
// cloneInto, then Add), as uid/gid 65534 when unpriv, with extra as fds 3...
func startPy(t *testing.T, g *Group, cloneInto, unpriv bool, extra []*os.File, script string) *pyProc {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", "-c", pyPrologue+script)
	cmd.Dir = "/"
	cmd.ExtraFiles = extra
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	p := &pyProc{cmd: cmd, lines: make(chan string, 100), stderr: new(bytes.Buffer)}
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if cloneInto {
		fd, ok := g.UnifiedFD()
		if !ok {
			t.Fatal("no unified fd")
		}
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, fd
	}
	if unpriv {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		r.Close()
	})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	if err := g.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	p.release = func() {
		io.WriteString(stdin, "go\n")
		stdin.Close()
	}
	return p
}

// line returns the next stdout line; it fails the test at EOF or timeout.
func (p *pyProc) line(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.cmd.Wait()
			t.Fatalf("python ended (%v) without output; stderr:\n%s", p.cmd.ProcessState, p.stderr)
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no output from python after %v; stderr:\n%s", timeout, p.stderr)
	}
	return ""
}

// cgPath is the path /proc/PID/cgroup shows for directory dir of p's
// hierarchy.
func cgPath(p *part, dir string) string {
	return path.Join("/", p.h.mountRoot, strings.TrimPrefix(dir, p.h.mount))
}

// procCgroup returns the cgroup of pid in p's hierarchy.
func procCgroup(t *testing.T, pid int, p *part) string {
	t.Helper()
	for _, cl := range parseProcCgroup(readTrim(t, fmt.Sprintf("/proc/%d/cgroup", pid))) {
		if cl.v2 == p.h.v2 && (cl.v2 || slices.Contains(cl.controllers, p.h.controllers[0])) {
			return cl.path
		}
	}
	t.Fatalf("pid %d has no cgroup in %s", pid, p.h.where())
	return ""
}

// assertIn checks that pid is in the leaf (initLeaf or cmdLeaf) of every
// part of g, and only there.
func assertIn(t *testing.T, g *Group, pid int, leaf string) {
	t.Helper()
	for _, p := range g.parts {
		want := p.dir + "/" + leaf
		if got := procCgroup(t, pid, p); got != cgPath(p, want) {
			t.Errorf("pid %d in %s in %s, want %s", pid, got, p.h.where(), cgPath(p, want))
		}
		for _, d := range p.all() {
			if in := inProcs(t, d, pid); in != (d == want) {
				t.Errorf("pid %d in %s/cgroup.procs: %v", pid, d, in)
			}
		}
	}
}

// moveToCmd moves pid into g's cmd leaves through CommandProcs, as root.
func moveToCmd(t *testing.T, g *Group, pid int) {
	t.Helper()
	files, err := g.CommandProcs()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(files)
	for _, f := range files {
		if _, err := f.WriteString(strconv.Itoa(pid)); err != nil {
			t.Fatal(err)
		}
	}
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func TestSplitLayout(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{Memory: 32 << 20, Pids: 5, CPUMsPerSec: 500, CPUs: "0", SplitCommand: true})
			check := func(file, want string) {
				t.Helper()
				if got := readTrim(t, file); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			var dirs []string
			for _, p := range g.parts {
				if p.init != p.dir+"/init" || p.cmd != p.dir+"/cmd" {
					t.Fatalf("part %s: leaves %q %q", p.dir, p.init, p.cmd)
				}
				for _, d := range p.all() {
					if !exists(d + "/cgroup.procs") {
						t.Errorf("%s missing", d)
					}
					dirs = append(dirs, d)
				}
				if p.h.v2 && m.splitSubtree != "" {
					for _, c := range strings.Fields(m.splitSubtree) {
						if !slices.Contains(strings.Fields(readTrim(t, p.dir+"/cgroup.subtree_control")), c[1:]) {
							t.Errorf("%s not enabled in %s/cgroup.subtree_control", c, p.dir)
						}
					}
				}
			}
			if v1only && g.uni != nil || !v1only && g.uni == nil {
				t.Fatalf("unified part %v with v1only=%v", g.uni, v1only)
			}
			if !slices.Equal(g.Dirs(), func() []string {
				var out []string
				for _, p := range g.parts {
					out = append(out, p.dir)
				}
				return out
			}()) {
				t.Errorf("Dirs %v", g.Dirs())
			}
			mem, pids, cpu, cpuset := g.mem, g.pids, g.cpu, g.cpuset
			if mem.h.v2 {
				check(mem.dir+"/memory.max", "33554432")
				check(cpu.dir+"/cpu.max", "50000 100000")
				// Only pids is enabled for the leaves: their processes
				// are charged to the run's memcg and CPU group.
				check(mem.dir+"/cgroup.subtree_control", "pids")
				if exists(mem.cmd+"/memory.max") || exists(cpu.cmd+"/cpu.max") {
					t.Error("memory or cpu enabled in the leaves")
				}
			} else {
				unlimited := readTrim(t, mem.h.parent+"/memory.limit_in_bytes")
				check(mem.dir+"/memory.limit_in_bytes", "33554432")
				check(mem.init+"/memory.limit_in_bytes", unlimited)
				check(mem.cmd+"/memory.limit_in_bytes", unlimited)
				check(mem.dir+"/memory.use_hierarchy", "1")
				check(mem.cmd+"/memory.use_hierarchy", "1")
				if m.swapCtl {
					check(mem.dir+"/memory.memsw.limit_in_bytes", "33554432")
				}
				check(cpu.dir+"/cpu.cfs_quota_us", "50000")
				check(cpu.cmd+"/cpu.cfs_quota_us", "-1")
				check(cpu.init+"/cpu.cfs_quota_us", "-1")
				for _, d := range cpuset.all() {
					if readTrim(t, d+"/cpuset.mems") == "" {
						t.Errorf("%s/cpuset.mems is empty", d)
					}
				}
			}
			check(pids.dir+"/pids.max", "max")
			check(pids.init+"/pids.max", "max")
			check(pids.cmd+"/pids.max", "5")
			for _, d := range cpuset.all() {
				if cpuset.h.v2 && d != cpuset.dir {
					continue // v2 leaves inherit the effective cpus
				}
				check(d+"/cpuset.cpus", "0")
			}

			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
			for _, d := range dirs {
				if exists(d) {
					t.Errorf("%s left after Remove", d)
				}
			}
			if err := g.Remove(); err != nil {
				t.Errorf("second Remove: %v", err)
			}
			if _, err := g.CommandProcs(); err == nil {
				t.Error("CommandProcs after Remove")
			}
		})
	}
	m := openTest(t, openOptions{})
	g := mustNew(t, m, Limits{Pids: 5})
	if _, err := g.CommandProcs(); err == nil {
		t.Error("CommandProcs without SplitCommand")
	}
	for _, p := range g.parts {
		if len(p.sub) > 0 || p.init != "" || p.cmd != "" {
			t.Errorf("leaves without SplitCommand: %+v", p)
		}
	}
}

// TestSplitPlacement: CLONE_INTO_CGROUP through UnifiedFD and Add put init
// in the init leaf of every hierarchy.
func TestSplitPlacement(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 1, SplitCommand: true})
			cmd, release := startGated(t, g, !v1only, "sleep", "30")
			defer release()
			assertIn(t, g, cmd.Process.Pid, initLeaf)
			if procs, err := g.Procs(); err != nil || !slices.Equal(procs, []int{cmd.Process.Pid}) {
				t.Errorf("Procs = %v %v", procs, err)
			}
			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
			if sig := waitSignal(t, cmd, 5*time.Second); sig != syscall.SIGKILL {
				t.Errorf("ended with %v", sig)
			}
		})
	}
}

// TestCommandProcsUnprivileged: a multi-threaded process of another,
// unprivileged uid joins the cmd leaves through the fds root opened, then
// execs; with pids.max 1 in the cmd leaf the command is then alone there.
func TestCommandProcsUnprivileged(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 1, SplitCommand: true})
			files, err := g.CommandProcs()
			if err != nil {
				t.Fatal(err)
			}
			defer closeAll(files)
			if len(files) != len(g.parts) {
				t.Fatalf("%d files for %d hierarchies", len(files), len(g.parts))
			}
			if last := files[len(files)-1].Name(); last != g.pids.cmd+"/cgroup.procs" {
				t.Errorf("last file %s, want the pids hierarchy's", last)
			}
			want := []string{g.mem.cmd, g.pids.cmd}
			if !v1only {
				want = append(want, g.uni.cmd)
			}
			for _, d := range want {
				if !slices.ContainsFunc(files, func(f *os.File) bool { return f.Name() == d+"/cgroup.procs" }) {
					t.Errorf("no fd for %s", d)
				}
			}
			script := fmt.Sprintf(`
n = %d
for i in range(4):
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
threads = [l.split()[1] for l in open("/proc/self/status") if l.startswith("Threads:")][0]
try:
    open(%q, "w")
    print("the cmd leaf is writable by uid", os.getuid(), flush=True)
    sys.exit(1)
except PermissionError:
    pass
for fd in range(3, 3 + n):
    os.write(fd, b"0")
    os.close(fd)
print("ok", threads, os.getuid(), flush=True)
os.execv("/bin/sleep", ["sleep", "60"])
`, len(files), g.pids.cmd+"/cgroup.procs")
			p := startPy(t, g, !v1only, true, files, script)
			pid := p.cmd.Process.Pid
			assertIn(t, g, pid, initLeaf)
			p.release()
			f := strings.Fields(p.line(t, 10*time.Second))
			if len(f) != 3 || f[0] != "ok" {
				t.Fatalf("python: %q; stderr:\n%s", f, p.stderr)
			}
			if n, _ := strconv.Atoi(f[1]); n < 5 || f[2] != "65534" {
				t.Fatalf("python had %s threads as uid %s, want >= 5 as 65534", f[1], f[2])
			}
			deadline := time.Now().Add(5 * time.Second)
			for readTrim(t, fmt.Sprintf("/proc/%d/comm", pid)) != "sleep" {
				if time.Now().After(deadline) {
					t.Fatal("no exec")
				}
				time.Sleep(2 * time.Millisecond)
			}
			assertIn(t, g, pid, cmdLeaf)
			if s := readTrim(t, g.pids.cmd+"/pids.current"); s != "1" {
				t.Errorf("cmd pids.current = %s after exec, want 1", s)
			}
			if st, _ := g.Stats(); st.PidsLimitHit {
				t.Error("pids limit hit")
			}
			if err := g.Kill(); err != nil {
				t.Fatal(err)
			}
			if sig := waitSignal(t, p.cmd, 5*time.Second); sig != syscall.SIGKILL {
				t.Errorf("ended with %v", sig)
			}
			if err := g.Remove(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSplitPidsBurst: a fork burst in the cmd leaf stops at its pids limit
// while a process in the init leaf makes many threads and processes.
func TestSplitPidsBurst(t *testing.T) {
	m := openTest(t, openOptions{})
	g := mustNew(t, m, Limits{Pids: 3, SplitCommand: true})
	cloneInto := m.Supports("unified")
	init := startPy(t, g, cloneInto, false, nil, `
for i in range(10):
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
for i in range(5):
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)
print("ok", flush=True)
time.sleep(30)
`)
	forker := startPy(t, g, cloneInto, false, nil, `
failed = 0
for i in range(30):
    try:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    except OSError:
        failed += 1
print(failed, flush=True)
time.sleep(30)
`)
	moveToCmd(t, g, forker.cmd.Process.Pid)
	assertIn(t, g, forker.cmd.Process.Pid, cmdLeaf)
	init.release()
	if l := init.line(t, 10*time.Second); l != "ok" {
		t.Fatalf("init: %q", l)
	}
	forker.release()
	failed, _ := strconv.Atoi(forker.line(t, 10*time.Second))
	if failed != 28 {
		t.Errorf("%d of 30 forks failed in the cmd leaf, want 28", failed)
	}
	p := g.pids
	cmdProcs := parseProcs(readTrim(t, p.cmd+"/cgroup.procs"))
	if n := readTrim(t, p.cmd+"/pids.current"); len(cmdProcs) != 3 || n != "3" {
		t.Errorf("cmd leaf: %v, pids.current %s; want 3", cmdProcs, n)
	}
	if n, _ := strconv.Atoi(readTrim(t, p.init+"/pids.current")); n < 16 {
		t.Errorf("init leaf pids.current %d, want >= 16 (1+10 threads+5 children)", n)
	}
	if n, _ := strconv.Atoi(readTrim(t, p.dir+"/pids.current")); n < 19 {
		t.Errorf("run pids.current %d, want >= 19", n)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !st.PidsLimitHit {
		t.Errorf("pids limit not reported: %+v", st)
	}
	if procs, _ := g.Procs(); len(procs) != 9 {
		t.Errorf("Procs = %v, want 9", procs)
	}
	if err := g.Kill(); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, init.cmd, 5*time.Second)
	waitSignal(t, forker.cmd, 5*time.Second)
	waitEmpty(t, g, 5*time.Second)
}

// TestSplitOOM: the run's memory limit covers the cmd leaf, and the OOM kill
// of a process there is counted.
func TestSplitOOM(t *testing.T) {
	m := openTest(t, openOptions{})
	if !m.Supports("memory") {
		t.Fatalf("no memory controller: %s", m.Why("memory"))
	}
	g := mustNew(t, m, Limits{Memory: 32 << 20, SplitCommand: true})
	files, err := g.CommandProcs()
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(files)
	p := startPy(t, g, m.Supports("unified"), true, files, fmt.Sprintf(`
for fd in range(3, 3 + %d):
    os.write(fd, b"0")
    os.close(fd)
print("in", flush=True)
b = bytearray(200 << 20)
`, len(files)))
	p.release()
	if l := p.line(t, 10*time.Second); l != "in" {
		t.Fatalf("python: %q", l)
	}
	if sig := waitSignal(t, p.cmd, 20*time.Second); sig != syscall.SIGKILL {
		t.Errorf("python ended with %v (%v), want SIGKILL; stderr:\n%s", sig, p.cmd.ProcessState, p.stderr)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	for _, d := range g.mem.all() {
		if f := "/memory.oom_control"; !g.mem.h.v2 {
			t.Logf("%s: oom_kill %d", d, parseFlatKeyed(readTrim(t, d+f))["oom_kill"])
		}
	}
	if st.OOMKills != 1 || !st.MemoryLimitHit {
		t.Errorf("OOM kill not counted once: %+v", st)
	}
	if st.MemoryPeak < 8<<20 || st.MemoryPeak > 32<<20 {
		t.Errorf("peak %d outside (8 MiB, 32 MiB]", st.MemoryPeak)
	}
	if st.CPU <= 0 {
		t.Errorf("no CPU time: %+v", st)
	}
}

// TestSplitCPUUsage: CPU time in the cmd leaf counts for the run.
func TestSplitCPUUsage(t *testing.T) {
	for _, v1only := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1only=%v", v1only), func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: v1only})
			g := mustNew(t, m, Limits{SplitCommand: true})
			cmd, release := startGated(t, g, !v1only, "/bin/sh", "-c", "while :; do :; done")
			moveToCmd(t, g, cmd.Process.Pid)
			assertIn(t, g, cmd.Process.Pid, cmdLeaf)
			release()
			deadline := time.Now().Add(10 * time.Second)
			for {
				u, err := g.CPUUsage()
				if err != nil {
					t.Fatal(err)
				}
				if u >= 200*time.Millisecond {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("usage %v after 10 s of a busy loop in the cmd leaf", u)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := g.Kill(); err != nil {
				t.Fatal(err)
			}
			waitSignal(t, cmd, 5*time.Second)
		})
	}
}

// TestSplitKill kills process trees in both leaves with each teardown
// strategy, then removes the group.
func TestSplitKill(t *testing.T) {
	tree := "sleep 30 & sleep 30 & (sleep 30 &) ; sh -c 'sleep 30' & wait"
	for _, mode := range []string{"cgroup.kill", "freezer", "loop", "remove"} {
		t.Run(mode, func(t *testing.T) {
			m := openTest(t, openOptions{noUnified: mode == "freezer" || mode == "loop"})
			if mode != "cgroup.kill" && mode != "remove" && m.ctrl["freezer"] == nil {
				t.Skip("no v1 freezer")
			}
			g := mustNew(t, m, Limits{Memory: 64 << 20, Pids: 20, SplitCommand: true})
			cloneInto := g.uni != nil
			a, releaseA := startGated(t, g, cloneInto, "/bin/sh", "-c", tree)
			b, releaseB := startGated(t, g, cloneInto, "/bin/sh", "-c", tree)
			moveToCmd(t, g, b.Process.Pid)
			releaseA()
			releaseB()
			deadline := time.Now().Add(5 * time.Second)
			for {
				p := g.pids
				nc := len(parseProcs(readTrim(t, p.cmd+"/cgroup.procs")))
				ni := len(parseProcs(readTrim(t, p.init+"/cgroup.procs")))
				if nc >= 5 && ni >= 5 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("trees did not start: %d in cmd, %d in init", nc, ni)
				}
				time.Sleep(5 * time.Millisecond)
			}
			dirs := g.Dirs()
			var err error
			switch mode {
			case "loop":
				err = g.killLoop(2 * time.Second)
			case "remove":
				err = g.Remove()
			default:
				if mode == "freezer" && g.freezer == nil {
					t.Fatal("v1-only group without freezer part")
				}
				err = g.Kill()
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []*exec.Cmd{a, b} {
				if sig := waitSignal(t, c, 5*time.Second); sig != syscall.SIGKILL {
					t.Errorf("tree root ended with %v", sig)
				}
			}
			if mode != "remove" {
				waitEmpty(t, g, 5*time.Second)
				if mode == "freezer" {
					if s := readTrim(t, g.freezer.dir+"/freezer.state"); s != "THAWED" {
						t.Errorf("freezer left %s", s)
					}
				}
				if err := g.Remove(); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range dirs {
				if exists(d) {
					t.Errorf("%s left", d)
				}
			}
		})
	}
}

// TestSplitStale: a stale split run group with processes in its leaves (and
// an unexpected deeper group) is killed and removed entirely.
func TestSplitStale(t *testing.T) {
	parent := testParentPrefix + "splitstale"
	m := openTestParent(t, parent, openOptions{})
	live := mustNew(t, m, Limits{Pids: 10, SplitCommand: true})

	pidMax, _ := strconv.Atoi(readTrim(t, "/proc/sys/kernel/pid_max"))
	dead := fmt.Sprintf("run-%d-%d-1-1", m.owner.pidns, pidMax+7)
	var cmds []*exec.Cmd
	for _, leaf := range []string{"init", "cmd", "cmd/extra"} {
		for _, h := range m.hiers {
			if err := os.MkdirAll(h.parent+"/"+dead+"/"+leaf, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		cmds = append(cmds, cmd)
		for _, h := range m.hiers {
			if err := writeFile(h.parent+"/"+dead+"/"+leaf+"/cgroup.procs", strconv.Itoa(cmd.Process.Pid)); err != nil {
				t.Fatal(err)
			}
		}
	}

	m2, err := Open(parent)
	if err != nil {
		t.Fatal(err)
	}
	if w := m2.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
	for _, cmd := range cmds {
		if sig := waitSignal(t, cmd, 5*time.Second); sig != syscall.SIGKILL {
			t.Errorf("process of the stale group ended with %v", sig)
		}
	}
	for _, h := range m.hiers {
		if exists(h.parent + "/" + dead) {
			t.Errorf("stale %s/%s not removed", h.parent, dead)
		}
	}
	for _, p := range live.parts {
		for _, d := range p.all() {
			if !exists(d) {
				t.Errorf("live group %s removed", d)
			}
		}
	}
}
