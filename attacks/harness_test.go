package attacks

// The harness: build pycage, run one attack program in it, collect the
// program's verdicts and the report, and check the host afterwards.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
)

var (
	pycageBin string
	progsDir  string
	// The host canary: a secret file in a temp dir that no run may read or
	// change. Checked after every run.
	canaryPath   string
	canarySecret string
	canarySum    string

	// At most two jails at a time on this 2-core box, whatever -parallel says.
	slots = make(chan struct{}, 2)

	extraFlags = strings.Fields(os.Getenv("PYCAGE_ATTACKS_EXTRA_FLAGS"))

	pidsMu     sync.Mutex
	pycagePids []int    // every pycage process the suite started
	markers    []string // and the markers of their runs
)

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		fmt.Println("attacks: skipped: the programs use x86_64 syscall numbers and shellcode")
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		fmt.Println("attacks: skipped: needs root (cgroups, as `sudo go test ./...` in the README)")
		os.Exit(0)
	}
	// Descriptors this process inherited without close-on-exec (from a
	// shell or a CI runner) would be inherited by pycage too; the suite
	// passes descriptors to pycage only on purpose.
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				syscall.CloseOnExec(fd)
			}
		}
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "attacks:", err)
		os.Exit(1)
	}
	code := m.Run()
	if msg := finalLeftovers(); msg != "" {
		fmt.Fprintln(os.Stderr, "attacks: after the suite:", msg)
		code = 1
	}
	os.RemoveAll(filepath.Dir(pycageBin))
	os.RemoveAll(filepath.Dir(canaryPath))
	os.Exit(code)
}

func setup() error {
	dir, err := os.MkdirTemp("", "pycage-attack-bin-")
	if err != nil {
		return err
	}
	pycageBin = filepath.Join(dir, "pycage")
	if prebuilt := os.Getenv("PYCAGE_ATTACKS_BIN"); prebuilt != "" {
		b, err := os.ReadFile(prebuilt)
		if err != nil {
			return err
		}
		if err := os.WriteFile(pycageBin, b, 0o755); err != nil {
			return err
		}
	} else {
		// As README.md builds it: the raw client of a daemon at the ELF
		// entry (the daemon path's client is that one).
		build := exec.Command("go", "build", "-ldflags=-E=main.fastEntry", "-o", pycageBin, "../cmd/pycage")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build pycage: %v\n%s", err, out)
		}
	}
	progsDir, err = filepath.Abs("progs")
	if err != nil {
		return err
	}
	cdir, err := os.MkdirTemp("", "pycage-attack-canary-")
	if err != nil {
		return err
	}
	canaryPath = filepath.Join(cdir, "host-canary.txt")
	canarySecret = "canary-" + nonce()
	if err := os.WriteFile(canaryPath, []byte(canarySecret+"\n"), 0o644); err != nil {
		return err
	}
	canarySum = hashFile(canaryPath)
	return nil
}

func nonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashFile(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return "error: " + err.Error()
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	st, _ := f.Stat()
	return fmt.Sprintf("%x %v %v", h.Sum(nil), st.ModTime().UnixNano(), st.Mode())
}

// parallel marks t parallel and takes one of the two jail slots for the
// rest of the test.
func parallel(t *testing.T) {
	t.Parallel()
	slots <- struct{}{}
	t.Cleanup(func() { <-slots })
}

// attack describes one run of a program.
type attack struct {
	prog    string   // file name in progs/ without .py
	args    []string // program arguments (after the marker)
	flags   []string // pycage flags: limits only, isolation stays the default
	env     []string // added to pycage's own environment
	stdin   *os.File // default /dev/null
	extra   []*os.File
	wrap    []string      // command words before "python3" (a shell that moves descriptors first)
	timeout time.Duration // the test's own limit on the pycage process (default 40 s)
	// started, if set, is called with the running pycage (for runs the
	// test must interact with).
	started func(cmd *exec.Cmd, stdout *lineReader)
	// via is the path: nil or cold runs pycage run itself; daemon runs
	// it as a client of the subtest's pycage daemon, in a prepared jail.
	via *via
}

// outcome is what a run produced.
type outcome struct {
	attack
	marker     string
	pid        int
	stdout     string
	stderr     string
	code       int
	report     map[string]any
	wall       time.Duration
	blocked    []string
	escaped    []string
	unexpected []string
	done       bool
}

var markerSafe = regexp.MustCompile(`[^a-z0-9-]`)

// run runs a program in pycage and checks the host afterwards. It does not
// judge the verdicts: see clean, exited and stopped.
func run(t *testing.T, a attack) *outcome {
	t.Helper()
	o := &outcome{attack: a}
	o.marker = "pycage-attack-" + markerSafe.ReplaceAllString(strings.ToLower(a.prog), "-") + "-" + nonce()
	dir := t.TempDir()
	rep := filepath.Join(dir, "report.json")
	// spec: the flags that make the run's jail.Spec (the daemon's
	// prepared jails are per spec).
	spec := append(append(append([]string(nil), a.flags...), extraFlags...), "--bind", progsDir+":/attacks")
	args := append([]string{"run", "--report", rep}, spec...)
	args = append(args, "--")
	args = append(args, a.wrap...)
	args = append(args, "python3", "/attacks/"+a.prog+".py", o.marker)
	args = append(args, a.args...)
	timeout := a.timeout
	if timeout == 0 {
		timeout = 40 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pycageBin, args...)
	cmd.Dir = dir // a core file of pycage itself would land here
	cmd.Env = append(os.Environ(), a.env...)
	var d *daemonProc
	if a.via != nil && a.via.daemon {
		d = a.via.prepare(t, spec, a.env)
		cmd.Env = append(cmd.Env, "PYCAGE_DAEMON="+d.sock)
	}
	cmd.ExtraFiles = a.extra
	if a.stdin != nil {
		cmd.Stdin = a.stdin
	}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	mounts0 := hostMounts()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pycage: %v", err)
	}
	o.pid = cmd.Process.Pid
	pidsMu.Lock()
	pycagePids = append(pycagePids, o.pid)
	markers = append(markers, o.marker)
	pidsMu.Unlock()
	lr := newLineReader(pipe)
	if a.started != nil {
		a.started(cmd, lr)
	}
	o.stdout = lr.rest()
	err = cmd.Wait()
	o.wall = time.Since(t0)
	o.stderr = errb.String()
	if ee, ok := err.(*exec.ExitError); ok {
		o.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pycage: %v", err)
	}
	if ctx.Err() != nil {
		t.Errorf("pycage did not finish within the test's own limit of %v (the jail's limits failed)", timeout)
	}
	if b, err := os.ReadFile(rep); err != nil {
		t.Errorf("no report: %v\nstderr: %s", err, o.stderr)
	} else if err := json.Unmarshal(b, &o.report); err != nil {
		t.Errorf("report %q: %v", b, err)
	}
	for _, line := range strings.Split(o.stdout, "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "BLOCKED":
			o.blocked = append(o.blocked, rest)
		case "ESCAPED":
			o.escaped = append(o.escaped, rest)
		case "UNEXPECTED":
			o.unexpected = append(o.unexpected, rest)
		case "DONE":
			o.done = true
		}
	}
	t.Logf("%s (%s): %d blocked, %d escaped, %d unexpected; reason %v exit %v, %v",
		a.prog, pathName(a.via), len(o.blocked), len(o.escaped), len(o.unexpected), o.report["reason"], o.report["exit_code"],
		o.wall.Round(time.Millisecond))
	if d != nil {
		// The daemon's run cgroups are checked when it stops (its
		// prepared jails have theirs meanwhile); it must still be there.
		if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("the daemon (pid %d) is gone after the run: %v\n%s", d.pid, err, d.logs.String())
		}
		o.pid = -1
	}
	checkHost(t, o, mounts0)
	return o
}

func pathName(v *via) string {
	if v == nil {
		return "cold"
	}
	return v.name
}

// checkHost looks for what a run could leave or change on the host.
func checkHost(t *testing.T, o *outcome, mounts0 map[string]int) {
	t.Helper()
	// No process of the run: init kills everything before pycage returns.
	deadline := time.Now().Add(time.Second)
	for {
		pids := pgrep(o.marker)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			t.Errorf("processes with the run's marker outlived it: %v", pids)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o.pid > 0 {
		if cg := testkit.RunCgroups(o.pid); len(cg) > 0 {
			t.Errorf("cgroups of the run left behind: %v", cg)
		}
	}
	mounts := hostMounts()
	for m, n := range mounts {
		if n > mounts0[m] {
			t.Errorf("new host mount after the run: %s", m)
		}
	}
	if sum := hashFile(canaryPath); sum != canarySum {
		t.Errorf("host canary changed: %s -> %s", canarySum, sum)
	}
	if strings.Contains(o.stdout, canarySecret) || strings.Contains(o.stderr, canarySecret) {
		t.Errorf("the host canary's secret appeared in the run's output")
	}
}

// pgrep lists the host processes whose command line contains s.
func pgrep(s string) []int {
	out, _ := exec.Command("pgrep", "-f", "--", s).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// hostMounts counts the host's mounts by mount point and type.
func hostMounts() map[string]int {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	m := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		typ := ""
		for i, x := range f {
			if x == "-" && i+1 < len(f) {
				typ = f[i+1]
			}
		}
		m[f[4]+" "+typ]++
	}
	return m
}

// finalLeftovers checks the host once every test has finished.
func finalLeftovers() string {
	var msgs []string
	pidsMu.Lock()
	pids := append([]int(nil), pycagePids...)
	marks := append([]string(nil), markers...)
	pidsMu.Unlock()
	if len(pids) > 0 {
		if cg := testkit.RunCgroups(pids...); len(cg) > 0 {
			msgs = append(msgs, fmt.Sprintf("cgroups of the suite's runs left: %v", cg))
		}
	}
	for _, m := range marks {
		if p := pgrep(m); len(p) > 0 {
			msgs = append(msgs, fmt.Sprintf("processes of run %s left: %v", m, p))
		}
	}
	if canaryPath != "" && hashFile(canaryPath) != canarySum {
		msgs = append(msgs, "the host canary changed")
	}
	return strings.Join(msgs, "; ")
}

// clean fails the test on any ESCAPED or UNEXPECTED verdict and on a
// program that crashed with a Python traceback.
func (o *outcome) clean(t *testing.T) {
	t.Helper()
	if len(o.escaped) > 0 {
		t.Errorf("ESCAPED:\n  %s", strings.Join(o.escaped, "\n  "))
	}
	if len(o.unexpected) > 0 {
		t.Errorf("UNEXPECTED:\n  %s", strings.Join(o.unexpected, "\n  "))
	}
	if strings.Contains(o.stderr, "Traceback") {
		t.Errorf("the attack program crashed:\n%s", tail(o.stderr, 2000))
	}
}

// exited checks a program that must run to its end with code: every verdict
// clean, at least min BLOCKED lines, DONE printed, reason exited.
func (o *outcome) exited(t *testing.T, code, min int) {
	t.Helper()
	o.clean(t)
	if len(o.blocked) < min {
		t.Errorf("%d BLOCKED verdicts, want at least %d\nstdout: %s", len(o.blocked), min, tail(o.stdout, 2000))
	}
	if !o.done {
		t.Errorf("the program did not reach its end\nstdout: %s\nstderr: %s", tail(o.stdout, 1000), tail(o.stderr, 2000))
	}
	o.reason(t, "exited", code)
}

// stopped checks a run pycage had to stop (exit 137, SIGKILL).
func (o *outcome) stopped(t *testing.T, reason string) {
	t.Helper()
	o.clean(t)
	o.reason(t, reason, 137)
	if sig := o.num("signal"); sig != 9 {
		t.Errorf("signal %v, want 9", sig)
	}
}

func (o *outcome) reason(t *testing.T, reason string, code int) {
	t.Helper()
	if got := o.report["reason"]; got != reason {
		t.Errorf("reason %v, want %s\nreport: %v\nstderr: %s", got, reason, o.report, tail(o.stderr, 1000))
	}
	if got := o.num("exit_code"); got != float64(code) {
		t.Errorf("report exit_code %v, want %d", got, code)
	}
	if o.code != code {
		t.Errorf("pycage exited %d, want %d", o.code, code)
	}
}

func (o *outcome) num(k string) float64 {
	f, _ := o.report[k].(float64)
	return f
}

// hole handles a known, unfixed hole: it fails under PYCAGE_ATTACKS_STRICT=1
// and otherwise skips the test with the reason, so the hole stays visible
// in every run's output without breaking everyone's build.
func hole(t *testing.T, format string, a ...any) {
	t.Helper()
	// Every hole found so far is fixed: a hole fails the test again.
	t.Fatalf("hole: %s", fmt.Sprintf(format, a...))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// lineReader reads the run's stdout: line by line while the test interacts
// with the run, then the rest, keeping at most 4 MiB.
type lineReader struct {
	r   *bufio.Reader
	buf bytes.Buffer
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// waitFor reads lines until one equals want; false on EOF.
func (l *lineReader) waitFor(want string) bool {
	for {
		line, err := l.r.ReadString('\n')
		l.buf.WriteString(line)
		if strings.TrimRight(line, "\n") == want {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func (l *lineReader) rest() string {
	io.Copy(&l.buf, io.LimitReader(l.r, 4<<20))
	io.Copy(io.Discard, l.r)
	return l.buf.String()
}
