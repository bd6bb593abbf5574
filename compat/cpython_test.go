package compat

// CPython's regression tests (regrtest) run inside pycage under the
// default policy. See doc.go for the why, and the exclusions below for
// every test case that is left out.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// group is one jail running one regrtest invocation.
type group struct {
	name string
	// flags beyond the common limits. Isolation stays the default except
	// where named here (the loopback group's --net loopback).
	flags []string
	jobs  int         // regrtest -j
	tests []selection // test modules, in regrtest's names
	// minRun is the least number of test cases regrtest must report as run
	// (its "Total tests: run=N"): a guard against a selection that quietly
	// matches nothing.
	minRun int
}

// selection is a regrtest test module, whole or restricted to classes.
type selection struct {
	module  string   // e.g. "test_os", "test_asyncio.test_events"
	classes []string // if set, only these TestCase classes run
}

// exclusion is one test case left out, by its full unittest id.
type exclusion struct {
	id  string
	why string
	// policy marks an exclusion caused by the seccomp policy itself (a
	// deliberate refusal with a compatibility cost), as opposed to a
	// property of the jail (no pty, one uid, no network, ...).
	policy bool
	group  string // only in this group (empty: all)
}

// Tests are chosen for what a sandbox could break: threads, processes,
// signals, event loops, memory mappings, file descriptors, sockets, IPC,
// clocks, randomness, and the C extensions (sqlite3, ctypes) that make raw
// syscalls. Big modules are cut to the classes that exercise the kernel
// interface, to keep the package under about a minute and a half on two
// cores.
var groups = []group{
	{
		name:   "default",
		jobs:   4,
		minRun: 2500,
		tests: []selection{
			{module: "test_thread"},
			{module: "test_threading"},
			{module: "test_threadsignals"},
			// ProcessTestCaseNoPoll repeats ProcessTestCase with select()
			// instead of poll(): left out for time; test_select covers select.
			{module: "test_subprocess", classes: []string{
				"ProcessTestCase", "POSIXProcessTestCase", "RunFuncTestCase",
				"ContextManagerTests", "MiscTests",
			}},
			{module: "test_signal"},
			{module: "test_faulthandler"},
			{module: "test_select"},
			{module: "test_poll"},
			{module: "test_selectors"},
			{module: "test_mmap"},
			{module: "test_os"},
			{module: "test_posix"},
			{module: "test_fcntl"},
			{module: "test_resource"},
			{module: "test_time"},
			{module: "test_sqlite3"},
			{module: "test_ctypes"},
			{module: "test_json"},
			{module: "test_re"},
			{module: "test_tempfile"},
			{module: "test_shutil"},
			{module: "test_random"},
			{module: "test_secrets"},
		},
	},
	{
		name:   "loopback",
		flags:  []string{"--net", "loopback"},
		jobs:   4,
		minRun: 900,
		tests: []selection{
			{module: "test_epoll"},
			{module: "test_os", classes: []string{"TestSendfile"}},
			{module: "test_socket", classes: []string{
				"GeneralModuleTests", "BasicTCPTest", "BasicUDPTest", "BasicSocketPairTest",
				"NonBlockingTCPTests", "TCPCloserTest", "UnbufferedFileObjectClassTestCase",
				"SendmsgUnixStreamTest", "RecvmsgSCMRightsStreamTest", "RecvmsgUDP6Test",
				"SendfileUsingSendfileTest", "TestUnixDomain", "TestLinuxAbstractNamespace",
				"InheritanceTest",
			}},
			{module: "test_asyncio.test_events"},
			{module: "test_asyncio.test_base_events"},
			{module: "test_asyncio.test_unix_events"},
			{module: "test_asyncio.test_sock_lowlevel"},
			{module: "test_asyncio.test_streams"},
			{module: "test_asyncio.test_sendfile"},
			// The other watchers repeat the same tests; pidfd is the one that
			// needs pidfd_open, threaded the one that needs waitpid in a thread.
			{module: "test_asyncio.test_subprocess", classes: []string{
				"SubprocessPidfdWatcherTests", "SubprocessThreadedWatcherTests", "GenericWatcherTests",
			}},
			{module: "test_multiprocessing_fork.test_processes", classes: []string{
				"WithProcessesTestPool", "WithProcessesTestQueue", "WithProcessesTestSharedMemory",
				"WithProcessesTestListenerClient", "WithProcessesTestConnection",
				"WithProcessesTestPicklingConnections", "WithProcessesTestHeap",
				"WithProcessesTestEvent", "WithProcessesTestSemaphore", "WithProcessesTestCondition",
				"WithProcessesTestValue", "WithProcessesTestArray", "WithProcessesTestSharedCTypes",
				"WithProcessesTestSubclassingProcess", "WithProcessesTestPoolWorkerErrors",
				"WithProcessesTestManagerRestart", "WithProcessesTestLogging", "WithProcessesTestAtExit",
				"WithProcessesTestListener",
			}},
			// spawn and forkserver start a fresh interpreter per process (CPU
			// heavy here): the classes that add what fork does not (exec, the
			// resource tracker, the fork server's AF_UNIX socket and fd passing).
			{module: "test_multiprocessing_spawn.test_processes", classes: []string{
				"WithProcessesTestQueue", "WithProcessesTestSharedMemory",
				"WithProcessesTestPicklingConnections",
			}},
			{module: "test_multiprocessing_forkserver.test_processes", classes: []string{
				"WithProcessesTestQueue", "WithProcessesTestPicklingConnections",
				"WithProcessesTestEvent",
			}},
			// Process pools are multiprocessing's (above); the executor's own
			// process-pool tests cost 10 s of CPU and add no syscall.
			{module: "test_concurrent_futures.test_thread_pool"},
		},
	},
}

// exclusions lists every test case left out, with the reason. regrtest
// gets each as `-i ID` in every group that runs its module.
var exclusions = []exclusion{
	// One uid and one gid are mapped in the jail's user namespace (65534):
	// the kernel answers EINVAL for any other id, not the EPERM an ordinary
	// unprivileged user gets.
	{id: "test.test_os.ChownFileTests.test_chown_without_permission",
		why: "chown to another uid: EINVAL (the id is not mapped in the jail's user namespace), the test wants EPERM"},
	{id: "test.test_subprocess.POSIXProcessTestCase.test_user",
		why: "setreuid(65533) in the child: EINVAL (only uid 65534 is mapped in the jail)"},

	// No pseudo-terminals: the jail's /dev has no ptmx and no pts (attack 51).
	{id: "test.test_os.PseudoterminalTests.test_openpty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_os.PseudoterminalTests.test_open_via_ptsname", why: "no /dev/ptmx in the jail"},
	{id: "test.test_os.PseudoterminalTests.test_posix_pty_functions", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.EPollEventLoopTests.test_bidirectional_pty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.EPollEventLoopTests.test_read_pty_output", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.EPollEventLoopTests.test_write_pty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.PollEventLoopTests.test_bidirectional_pty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.PollEventLoopTests.test_read_pty_output", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.PollEventLoopTests.test_write_pty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.SelectEventLoopTests.test_bidirectional_pty", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.SelectEventLoopTests.test_read_pty_output", why: "no /dev/ptmx in the jail"},
	{id: "test.test_asyncio.test_events.SelectEventLoopTests.test_write_pty", why: "no /dev/ptmx in the jail"},

	// No network by default: connecting to 127.0.0.1 fails with
	// ENETUNREACH. The same class runs in the loopback group.
	{id: "test.test_os.TestSendfile.*", group: "default",
		why: "in the default group only: needs a TCP connection over loopback (ENETUNREACH without --net loopback); runs in the loopback group"},

	// Limits pycage sets on purpose.
	{id: "test.test_resource.ResourceTest.test_fsize_ismax",
		why: "RLIMIT_FSIZE is pycage's --fsize (64 MiB by default), the test wants RLIM_INFINITY"},

	// The jail's /etc has no services or protocols database.
	{id: "test.test_socket.GeneralModuleTests.testGetServBy", why: "no /etc/services in the jail"},
	{id: "test.test_socket.GeneralModuleTests.testGetaddrinfo", why: "no /etc/services in the jail (getaddrinfo with a service name)"},
	{id: "test.test_asyncio.test_base_events.BaseEventLoopWithSelectorTests.test_create_connection_service_name",
		why: "no /etc/services in the jail (a service name as the port)"},

	// The policy (internal/seccomp/default.kafel): deliberate refusals with
	// a compatibility cost. Remove the exclusion if the policy changes.
	{id: "test.test_socket.GeneralModuleTests.testInterfaceNameIndex", policy: true,
		why: "if_nameindex() opens an AF_NETLINK socket: EPERM (only AF_UNIX, AF_INET, AF_INET6 are allowed)"},
	{id: "test.test_socket.GeneralModuleTests.testInvalidInterfaceIndexToName", policy: true,
		why: "if_indextoname() opens an AF_NETLINK socket: EPERM"},
	{id: "test.test_socket.GeneralModuleTests.test_getaddrinfo_ipv6_scopeid_symbolic", policy: true,
		why: "calls if_nameindex() (AF_NETLINK socket: EPERM)"},
	{id: "test.test_socket.GeneralModuleTests.test_getnameinfo_ipv6_scopeid_symbolic", policy: true,
		why: "calls if_nameindex() (AF_NETLINK socket: EPERM)"},
}

// knownSkips are skips whose reason names EPERM that are not the
// policy's doing: any unprivileged user gets the same. Every other skip
// that names EPERM or ENOSYS fails the test.
var knownSkips = []exclusion{
	{id: "test.test_time.TimeTestCase.test_monotonic_settime",
		why: "clock_settime(CLOCK_REALTIME) needs CAP_SYS_TIME (the policy refuses it as well)"},
}

// The interpreter's minor version the selections and exclusions are
// written against.
const pyMinor = "3.13"

var (
	buildOnce sync.Once
	pycageBin string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds pycage once (static, as the README says) or takes
// PYCAGE_COMPAT_BIN.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("PYCAGE_COMPAT_BIN"); p != "" {
			pycageBin = p
			return
		}
		binDir, buildErr = os.MkdirTemp("", "pycage-compat-bin-")
		if buildErr != nil {
			return
		}
		pycageBin = filepath.Join(binDir, "pycage")
		build := exec.Command("go", "build", "-o", pycageBin, "../cmd/pycage")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build pycage: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return pycageBin
}

// findPython returns a CPython 3.13 interpreter with its test package, or
// why there is none.
func findPython() (string, string) {
	if p := os.Getenv("PYCAGE_COMPAT_PYTHON"); p != "" {
		return p, ""
	}
	var roots []string
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		roots = append(roots, r)
	}
	if h, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(h, ".pyenv"))
	}
	roots = append(roots, "/root/.pyenv")
	var found []string
	for _, r := range roots {
		m, _ := filepath.Glob(filepath.Join(r, "versions", pyMinor+".*", "bin", "python"+pyMinor))
		found = append(found, m...)
	}
	// The newest patch release first.
	sort.Slice(found, func(i, j int) bool { return patch(found[i]) > patch(found[j]) })
	for _, p := range found {
		if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(p)), "lib", "python"+pyMinor, "test", "libregrtest")); err == nil {
			return p, ""
		}
	}
	return "", fmt.Sprintf("no pyenv CPython %s with its test package (looked in %s/versions/%s.*; set PYCAGE_COMPAT_PYTHON)",
		pyMinor, strings.Join(roots, ", "), pyMinor)
}

func patch(python string) int {
	v := filepath.Base(filepath.Dir(filepath.Dir(python)))
	n, _ := strconv.Atoi(strings.TrimPrefix(v, pyMinor+"."))
	return n
}

// missingModules lists the selected test modules the interpreter lacks.
func missingModules(python string) []string {
	testdir := filepath.Join(filepath.Dir(filepath.Dir(python)), "lib", "python"+pyMinor, "test")
	var missing []string
	for _, g := range groups {
		for _, s := range g.tests {
			p := filepath.Join(testdir, strings.ReplaceAll(s.module, ".", "/"))
			_, e1 := os.Stat(p + ".py")
			_, e2 := os.Stat(filepath.Join(p, "__init__.py"))
			if e1 != nil && e2 != nil {
				missing = append(missing, s.module)
			}
		}
	}
	return missing
}

func TestCPythonRegrtest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pycage runs on Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (cgroups), as `sudo go test ./...` in the README")
	}
	python, why := findPython()
	if python == "" {
		t.Skip(why)
	}
	if m := missingModules(python); len(m) > 0 {
		t.Skipf("%s lacks test modules this suite runs: %s", python, strings.Join(m, " "))
	}
	var policy []string
	for _, e := range exclusions {
		if e.policy {
			policy = append(policy, e.id+" ("+e.why+")")
		}
	}
	t.Logf("%s; %d test cases excluded, %d of them for the policy:\n  %s",
		python, len(exclusions), len(policy), strings.Join(policy, "\n  "))
	bin := binary(t)
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			runGroup(t, bin, python, g)
		})
	}
}

// regrtestArgs builds `python -m test ...` for a group.
func regrtestArgs(g group) []string {
	args := []string{"-m", "test",
		"-j", strconv.Itoa(g.jobs),
		"-v",               // every case with its verdict and skip reason, for the checks below
		"--timeout", "240", // per test module: a hang dumps tracebacks and fails
		"--slowest", // logged: where the time goes
		// A failure is run again once, alone: a deterministic refusal by the
		// policy fails twice, a timing test that lost a race on a loaded
		// machine passes the second time (and is logged).
		"--rerun",
	}
	subset := false
	for _, s := range g.tests {
		subset = subset || len(s.classes) > 0
	}
	if subset {
		// regrtest's -m applies to every module of the run: whole modules
		// need a pattern too. Patterns with a '*' match the full test id.
		for _, s := range g.tests {
			if len(s.classes) == 0 {
				args = append(args, "-m", "test."+s.module+".*")
			}
			for _, c := range s.classes {
				args = append(args, "-m", "test."+s.module+"."+c+".*")
			}
		}
	}
	for _, e := range exclusions {
		if e.group != "" && e.group != g.name {
			continue
		}
		for _, s := range g.tests {
			if strings.HasPrefix(e.id, "test."+s.module+".") {
				args = append(args, "-i", e.id)
				break
			}
		}
	}
	for _, s := range g.tests {
		args = append(args, s.module)
	}
	return args
}

func runGroup(t *testing.T, bin, python string, g group) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "report.json")
	args := []string{"run", "--report", rep,
		// Limits only: a regression run is bigger than one untrusted program.
		"--time-limit", "300s", "--cpu-limit", "600s",
		"--memory", "1536M", "--pids", "512",
		"--tmp-size", "512M", "--output-limit", "16M",
	}
	args = append(args, g.flags...)
	args = append(args, strings.Fields(os.Getenv("PYCAGE_COMPAT_EXTRA_FLAGS"))...)
	args = append(args, "--", python)
	args = append(args, regrtestArgs(g)...)

	ctx, cancel := context.WithTimeout(context.Background(), 330*time.Second)
	defer cancel()
	// At the lowest CPU priority: the package runs next to the others of
	// `go test ./...`, whose jails have wall-clock limits of a few seconds,
	// and regrtest would take both cores from them. nice 19 is inherited by
	// the jail; see also politely.
	name, cmdArgs := bin, args
	if nice, err := exec.LookPath("nice"); err == nil {
		name, cmdArgs = nice, append([]string{"-n", "19", bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, cmdArgs...)
	cmd.Dir = dir
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	// A session of its own (an autogroup of its own, see politely); killed
	// as a whole if the test's own limit is reached (pycage's wall clock
	// should come first).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pycage: %v", err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { politely(cmd.Process.Pid, stop); close(done) }()
	err := cmd.Wait()
	close(stop)
	<-done
	out := outb.Bytes()
	wall := time.Since(t0)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("pycage: %v", err)
	}
	var report struct {
		Reason   string  `json:"reason"`
		ExitCode int     `json:"exit_code"`
		CPUTime  float64 `json:"cpu_time"`
		PeakMem  int64   `json:"peak_memory"`
		Error    string  `json:"error"`
		Landlock string  `json:"landlock"`
	}
	if b, err := os.ReadFile(rep); err != nil {
		t.Errorf("no report: %v", err)
	} else if err := json.Unmarshal(b, &report); err != nil {
		t.Errorf("report %q: %v", b, err)
	}
	res := parseRegrtest(string(out))
	t.Logf("%s: pycage exit %d, reason %s, landlock %q, wall %v, cpu %.1fs, peak memory %d MiB; regrtest: %s; %d cases run, %d skipped",
		g.name, code, report.Reason, report.Landlock, wall.Round(100*time.Millisecond), report.CPUTime,
		report.PeakMem>>20, res.result, res.run, res.skipped)

	var problems []string
	if report.Reason != "exited" {
		problems = append(problems, fmt.Sprintf("the run ended with reason %q %s (exit %d)", report.Reason, report.Error, code))
	}
	if code != 0 {
		problems = append(problems, fmt.Sprintf("regrtest exited with %d", code))
	}
	if res.result != "SUCCESS" && res.result != "FAILURE then SUCCESS" {
		problems = append(problems, fmt.Sprintf("regrtest's result is %q, want SUCCESS", res.result))
	}
	// A selected module that was skipped as a whole, or ran nothing, proves
	// nothing: that fails like a failure.
	for _, head := range []string{"failed", "omitted", "skipped", "skipped (resource denied)", "run no tests"} {
		if names := res.sections[head]; len(names) > 0 {
			problems = append(problems, fmt.Sprintf("test modules %s: %s", head, strings.Join(names, " ")))
		}
	}
	if res.run < g.minRun {
		problems = append(problems, fmt.Sprintf("only %d test cases ran, want at least %d", res.run, g.minRun))
	}
	problems = append(problems, checkSkips(t, g, res)...)
	if names := res.sections["re-run"]; len(names) > 0 {
		t.Logf("failed, then run again alone: %s (those not listed as failed passed the second time:"+
			" timing tests that lost a race on a loaded machine)", strings.Join(names, " "))
	}
	t.Logf("slowest modules: %s", strings.Join(res.slowest, ", "))
	if names := res.sections["altered the execution environment (env changed)"]; len(names) > 0 {
		t.Logf("env changed: %s", strings.Join(names, " "))
	}
	if len(problems) == 0 {
		return
	}
	log := filepath.Join(os.TempDir(), "pycage-compat-"+g.name+".log")
	if err := os.WriteFile(log, out, 0o644); err != nil {
		log = "(not saved: " + err.Error() + ")"
	}
	cases := res.failedCases
	if len(cases) == 0 {
		cases = []string{"(none)"}
	}
	if len(cases) > 40 {
		cases = append(cases[:40:40], fmt.Sprintf("... and %d more", len(res.failedCases)-40))
	}
	t.Errorf("CPython's regression tests failed under the policy (%s group):\n  %s\nfailing cases:\n  %s\nregrtest's summary:\n%s\nfull output: %s\ncommand: %s",
		g.name, strings.Join(problems, "\n  "), strings.Join(cases, "\n  "), res.summary, log,
		strings.Join(cmd.Args, " "))
}

// checkSkips judges the skipped test cases. A refused syscall often looks
// like a missing feature to a test ("operating system does not support
// pidfds"), so every skip reason must be one that a run under the current
// policy already gave on this machine kind (testdata/skips-GROUP.txt); a
// skip that names EPERM or ENOSYS must be in knownSkips.
// PYCAGE_COMPAT_UPDATE_SKIPS=1 rewrites the file from a run that
// otherwise passed.
func checkSkips(t *testing.T, g group, res regrtest) []string {
	var problems []string
	file := filepath.Join("testdata", "skips-"+g.name+".txt")
	known := map[string]bool{}
	if b, err := os.ReadFile(file); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				known[l] = true
			}
		}
	} else if os.Getenv("PYCAGE_COMPAT_UPDATE_SKIPS") == "" {
		problems = append(problems, err.Error())
	}
	var reasons []string
	for reason, ids := range res.skips {
		if refusedRe.MatchString(reason) {
		ids:
			for _, id := range ids {
				for _, k := range knownSkips {
					if k.id == id {
						continue ids
					}
				}
				problems = append(problems, fmt.Sprintf("skipped on a refused syscall? %s: %s", id, reason))
			}
			continue
		}
		reasons = append(reasons, reason)
		if !known[reason] && os.Getenv("PYCAGE_COMPAT_UPDATE_SKIPS") == "" {
			problems = append(problems, fmt.Sprintf("a skip reason new to %s (a refused syscall? if it is the machine's, add it): %s (%d cases, e.g. %s)",
				file, reason, len(ids), ids[0]))
		}
	}
	if os.Getenv("PYCAGE_COMPAT_UPDATE_SKIPS") != "" && len(problems) == 0 {
		sort.Strings(reasons)
		text := "# Skip reasons of CPython " + pyMinor + "'s regression tests in the " + g.name + " group under pycage's\n" +
			"# default policy (compat/cpython_test.go). Written by PYCAGE_COMPAT_UPDATE_SKIPS=1 go test ./compat/\n" +
			strings.Join(reasons, "\n") + "\n"
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

// politely keeps the sessions of the process tree under root at the
// lowest CPU weight until stop is closed. Where the kernel groups tasks
// by session (kernel.sched_autogroup_enabled, on here), nice only ranks
// tasks within their session's group, and every session weighs the same:
// the jail's command is a session leader, and regrtest starts each worker
// in a session of its own, so eight niced workers would still take eight
// shares of the CPU from the other packages' jails. Writing 19 to
// /proc/PID/autogroup gives a session's group the weight of nice 19. New
// sessions are caught at the next look, 100 ms later.
func politely(root int, stop <-chan struct{}) {
	if b, err := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled"); err != nil || strings.TrimSpace(string(b)) != "1" {
		return
	}
	done := map[string]bool{} // autogroups already lowered
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, pid := range descendants(root) {
			p := "/proc/" + strconv.Itoa(pid) + "/autogroup"
			b, err := os.ReadFile(p) // "/autogroup-123 nice 0"
			if err != nil {
				continue
			}
			group, _, _ := strings.Cut(string(b), " ")
			if !done[group] && os.WriteFile(p, []byte("19"), 0) == nil {
				done[group] = true
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// descendants lists root and every process below it.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	list := []int{root}
	for i := 0; i < len(list); i++ {
		list = append(list, children[list[i]]...)
	}
	return list
}

// regrtest's output, as far as the checks need it.
type regrtest struct {
	result       string              // the "Result: ..." line
	run, skipped int                 // "Total tests: run=N ... skipped=M"
	sections     map[string][]string // summary headings ("failed", "skipped", "re-run", ...) -> test modules
	failedCases  []string            // "FAIL: ..." and "ERROR: ..." lines
	skips        map[string][]string // skip reason -> test case ids
	slowest      []string            // "10 slowest tests:" entries
	summary      string
}

var (
	sectionRe = regexp.MustCompile(`^\d+ (tests?|re-run tests?)(?: (.+))?:$`)
	totalRe   = regexp.MustCompile(`^Total tests: run=([\d,]+)(?:.* skipped=([\d,]+))?`)
	caseRe    = regexp.MustCompile(`^(FAIL|ERROR): `)
	skipRe    = regexp.MustCompile(`\.\.\. skipped (.*)$`)
	idRe      = regexp.MustCompile(`\((test\.[^\s()]+)\)`)
	refusedRe = regexp.MustCompile(`Operation not permitted|Function not implemented|\[Errno (1|38)\]|PermissionError|EPERM|ENOSYS`)
)

func parseRegrtest(out string) regrtest {
	r := regrtest{sections: map[string][]string{}, skips: map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	section := ""
	inSummary := false
	var summary []string
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "== Tests result:") {
			// With --rerun there are two summaries: the last one counts.
			inSummary = true
			summary, r.slowest, r.sections = nil, nil, map[string][]string{}
		}
		if section == "slowest" {
			if v, ok := strings.CutPrefix(line, "- "); ok {
				r.slowest = append(r.slowest, v)
				continue
			}
			section = ""
		}
		if strings.HasSuffix(line, " slowest tests:") {
			section = "slowest"
			continue
		}
		if inSummary {
			summary = append(summary, line)
		}
		if m := caseRe.FindString(line); m != "" && !seen[line] {
			seen[line] = true
			r.failedCases = append(r.failedCases, line)
		}
		if m := skipRe.FindStringSubmatch(line); m != nil {
			id := "?"
			if i := idRe.FindStringSubmatch(line); i != nil {
				id = i[1]
			}
			r.skips[m[1]] = append(r.skips[m[1]], id)
		}
		if !inSummary {
			continue
		}
		if m := sectionRe.FindStringSubmatch(line); m != nil {
			section = m[2]
			if strings.HasPrefix(m[1], "re-run") {
				section = "re-run"
			}
			continue
		}
		if section != "" && strings.HasPrefix(line, "    ") {
			r.sections[section] = append(r.sections[section], strings.Fields(line)...)
			continue
		}
		section = ""
		if m := totalRe.FindStringSubmatch(line); m != nil {
			r.run, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			r.skipped, _ = strconv.Atoi(strings.ReplaceAll(m[2], ",", ""))
		}
		if v, ok := strings.CutPrefix(line, "Result: "); ok {
			r.result = v
		}
	}
	r.summary = strings.Join(summary, "\n")
	return r
}
