package attacks

// The daemon path: every attack test runs twice, as a subtest per path:
// "cold" (pycage run) and "daemon" (the same pycage run with PYCAGE_DAEMON
// set, handed to a `pycage daemon` of the subtest's own and run in one of
// its prepared jails). The client is the raw one at the ELF entry (the
// binary is built with -ldflags=-E=main.fastEntry, as the README builds it).
//
// A daemon subtest proves the attack against a prepared jail, not against a
// cold run inside the daemon: before the first attack run of each set of
// flags it runs `true` with the same flags (a miss, run cold, after which
// the daemon prepares jails of that spec) and waits until its jails are
// ready; when the daemon stops, its counts must say that every attack run
// was a hit and only the warm-ups were misses.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
)

// preparedPerSpec is the daemons' --prepared: one jail per spec (the
// harness waits for it before each run: every attack run is a hit).
const preparedPerSpec = 1

// via is the path one subtest runs pycage on: cold (daemon false) or
// through its own pycage daemon (started at its first run).
type via struct {
	name   string
	daemon bool
	// prepared is the daemon's --prepared (0: preparedPerSpec); the
	// harness waits for that many jails after a spec's warm-up.
	prepared int

	mu      sync.Mutex
	d       *daemonProc
	warm    map[string]string // spec -> the tag of its warm-up run
	runs    int               // attack runs through the daemon (each must be a hit)
	warmups int               // warm-up runs (each a miss)
}

// pathNames are the paths every test runs on; PYCAGE_ATTACKS_PATHS=cold
// (or daemon) restricts them.
func pathNames() []string {
	if p := os.Getenv("PYCAGE_ATTACKS_PATHS"); p != "" {
		return strings.Split(p, ",")
	}
	return []string{"cold", "daemon"}
}

// onPaths runs body as a parallel subtest per path ("cold", "daemon");
// t itself becomes parallel too. body calls parallel(t) for its slot.
func onPaths(t *testing.T, body func(t *testing.T, v *via)) {
	t.Helper()
	t.Parallel()
	for _, name := range pathNames() {
		t.Run(name, func(t *testing.T) { body(t, &via{name: name, daemon: name == "daemon"}) })
	}
}

// skipDaemon skips a daemon subtest, by name, with the reason: an attack
// that cannot apply to the daemon path.
func skipDaemon(t *testing.T, v *via, reason string) {
	t.Helper()
	if v != nil && v.daemon {
		t.Skipf("not on the daemon path: %s", reason)
	}
}

// daemonProc is a running `pycage daemon`.
type daemonProc struct {
	dir  string
	sock string
	cmd  *exec.Cmd
	pid  int
	logs *testkit.LockedBuffer
	done chan struct{}
	err  error // Wait's result, after done
}

// startDaemon starts `pycage daemon` on a socket in a temp dir of its own
// and waits until it listens. The caller stops it (stop).
func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	// Not t.TempDir: a socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "pycage-attack-daemon-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "d.sock")
	cmd := exec.Command(pycageBin, append([]string{"daemon", "--socket", sock,
		"--max-specs", "8"}, args...)...)
	cmd.Dir = dir
	logs := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	d := &daemonProc{dir: dir, sock: sock, cmd: cmd, pid: cmd.Process.Pid, logs: logs, done: make(chan struct{})}
	pidsMu.Lock()
	pycagePids = append(pycagePids, d.pid)
	pidsMu.Unlock()
	go func() { d.err = cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "listening on") {
		select {
		case <-d.done:
			os.RemoveAll(dir)
			t.Fatalf("pycage daemon exited at start: %v\n%s", d.err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			d.stop(t)
			t.Fatalf("pycage daemon did not start listening\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return d
}

var statsLine = regexp.MustCompile(`pycage daemon: stopped: (runs [^\n]*)`)

// stop sends SIGTERM, waits for a clean exit and checks that the daemon
// left no socket and no run cgroup; it returns the final counts line.
func (d *daemonProc) stop(t *testing.T) string {
	t.Helper()
	defer os.RemoveAll(d.dir)
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("pycage daemon did not stop within 60s of SIGTERM\n%s", d.logs.String())
		return ""
	}
	if d.err != nil {
		t.Errorf("pycage daemon exited with %v after SIGTERM\n%s", d.err, d.logs.String())
	}
	if _, err := os.Lstat(d.sock); err == nil {
		t.Errorf("socket %s left after the daemon stopped", d.sock)
	}
	if cg := testkit.RunCgroups(d.pid); len(cg) > 0 {
		t.Errorf("run cgroups left after the daemon (pid %d) stopped: %v", d.pid, cg)
	}
	m := statsLine.FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Errorf("no final counts in the daemon's log:\n%s", d.logs.String())
		return ""
	}
	return m[1]
}

// specsLine asks the daemon for its counts (SIGUSR1) and returns the
// "specs: ..." line that follows them.
func (d *daemonProc) specsLine(t *testing.T) string {
	t.Helper()
	re := regexp.MustCompile(`pycage daemon: specs: [^\n]*`)
	n := len(re.FindAllString(d.logs.String(), -1))
	d.cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if lines := re.FindAllString(d.logs.String(), -1); len(lines) > n {
			return lines[len(lines)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no specs line after SIGUSR1\n%s", d.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReady waits until the spec whose first run was `true <tag>` has n
// prepared jails ready.
func (d *daemonProc) waitReady(t *testing.T, tag string, n int) {
	t.Helper()
	re := regexp.MustCompile(`\(first run: [^)]*\b` + regexp.QuoteMeta(tag) + `\): (\d+) ready`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		line := d.specsLine(t)
		if m := re.FindStringSubmatch(line); m != nil {
			if k, _ := strconv.Atoi(m[1]); k >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("spec %s: fewer than %d prepared jails ready: %s\n%s", tag, n, line, d.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statNum reads "N name" or "name N" from a counts line.
func statNum(line, name string) int {
	m := regexp.MustCompile(`(\d+) ` + regexp.QuoteMeta(name) + `\b|\b` + regexp.QuoteMeta(name) + ` (\d+)`).FindStringSubmatch(line)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1] + m[2])
	return n
}

// prepare readies v's daemon for an attack run of pycage flags spec (and
// the client environment env): the daemon is started at the first call
// (stopped and checked at the end of t), and the spec is warmed up the
// first time it is seen. It returns the daemon.
func (v *via) prepare(t *testing.T, spec, env []string) *daemonProc {
	t.Helper()
	d := v.start(t)
	v.mu.Lock()
	defer v.mu.Unlock()
	key := strings.Join(spec, "\x00")
	tag, ok := v.warm[key]
	if !ok {
		v.warmups++
		tag = fmt.Sprintf("pycage-warm-%d", v.warmups)
		v.warm[key] = tag
		args := append([]string{"run"}, spec...)
		args = append(args, "--", "true", tag)
		cmd := exec.Command(pycageBin, args...)
		cmd.Env = append(append(os.Environ(), env...), "PYCAGE_DAEMON="+d.sock)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("warm-up run %v through the daemon: %v\n%s\n%s", args, err, out, d.logs.String())
		}
		if v.prepared > 1 {
			d.waitReady(t, tag, v.prepared)
		}
	}
	// The spec's jail (prepared after the warm-up, or refilled after the
	// previous run) must be ready: this run takes it.
	d.waitReady(t, tag, 1)
	v.runs++
	return d
}

// start starts v's daemon unless it runs; it is stopped and checked at
// the end of t (finish).
func (v *via) start(t *testing.T) *daemonProc {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.d == nil {
		n := v.prepared
		if n == 0 {
			n = preparedPerSpec
		}
		v.d = startDaemon(t, "--prepared", strconv.Itoa(n))
		v.warm = map[string]string{}
		t.Cleanup(func() { v.finish(t) })
	}
	return v.d
}

// finish stops v's daemon and checks that every attack run took a
// prepared jail.
func (v *via) finish(t *testing.T) {
	v.mu.Lock()
	defer v.mu.Unlock()
	line := v.d.stop(t)
	t.Logf("daemon: %s", line)
	if line == "" {
		return
	}
	if h, m := statNum(line, "hits"), statNum(line, "misses"); h != v.runs || m != v.warmups {
		t.Errorf("daemon: %d hits and %d misses, want %d hits (every attack run in a prepared jail) and %d misses (the warm-ups): %s",
			h, m, v.runs, v.warmups, line)
	}
	if n := statNum(line, "not preparable"); n != 0 {
		t.Errorf("daemon: %d runs were not preparable: %s", n, line)
	}
	if n := statNum(line, "refused"); n != 0 {
		t.Errorf("daemon: %d connections refused: %s\n%s", n, line, v.d.logs.String())
	}
	if strings.Contains(v.d.logs.String(), "was gone when taken") {
		t.Errorf("daemon: a prepared jail was gone when taken (killed while it waited):\n%s", v.d.logs.String())
	}
}
