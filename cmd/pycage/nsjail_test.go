package main

// End-to-end tests of nsjail configs through the real binary: the seed's
// config runs, and the limits in the configs take effect.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nsjail runs pycage in nsjail mode from dir (the seed config binds $PWD).
func nsjail(t *testing.T, dir, stdin string, args ...string) runOut {
	t.Helper()
	rep := filepath.Join(t.TempDir(), "report.json")
	if len(args) > 0 && args[0] == "run" {
		args = append([]string{"run", "--report", rep}, args[1:]...)
	} else {
		args = append([]string{"--report", rep}, args...)
	}
	cmd := exec.Command(pycageBin, args...)
	cmd.Dir = dir
	r := capture(t, cmd, stdin)
	if b, err := os.ReadFile(rep); err == nil {
		jsonUnmarshal(b, &r.report)
	}
	return r
}

func examplesDir(t *testing.T) string {
	d, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/bin/python3.11"); err != nil {
		t.Skip("the example configs are written for Debian 12's python3.11")
	}
	return d
}

func TestSeedConfigRuns(t *testing.T) {
	d := examplesDir(t)
	r := nsjail(t, d, "", "--config", "seed.cfg", "--", "python", "-Su", "./hello.py")
	wantCode(t, r, 0)
	if r.stdout != "Hello from nsjail!\n" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// The same through `pycage run --config`.
	r = nsjail(t, d, "", "run", "--config", "seed.cfg", "--", "python3", "-Su", "./hello.py")
	if r.stdout != "Hello from nsjail!\n" {
		t.Fatalf("pycage run --config: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestSeedVerbatimNamesMissingMount(t *testing.T) {
	d := examplesDir(t)
	r := nsjail(t, d, "", "--config", "seed-verbatim.cfg", "--", "python", "-Su", "./hello.py")
	wantCode(t, r, 125)
	if !strings.Contains(r.stderr, "mount /usr/bin/python3.8 -> /usr/local/bin/python3.8: source does not exist") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// seedWith writes a copy of seed.cfg with some lines replaced.
func seedWith(t *testing.T, d string, repl ...string) string {
	b, err := os.ReadFile(filepath.Join(d, "seed.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("seed.cfg lacks %q", repl[i])
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), "seed-variant.cfg")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

func TestSeedConfigLimits(t *testing.T) {
	d := examplesDir(t)
	run := func(cfg, code string) runOut {
		return nsjail(t, d, "", "--config", cfg, "--", "python3", "-Su", "-c", code)
	}
	seed := filepath.Join(d, "seed.cfg")

	// uid/gid maps, hostname, environment, no /proc, rlimit_as (700 MiB).
	r := run(seed, `
import os, resource, socket
print(os.getuid(), os.getgid(), socket.gethostname(), os.environ["LANG"], os.path.exists("/proc/self"))
print(resource.getrlimit(resource.RLIMIT_AS))
`)
	wantCode(t, r, 0)
	if r.stdout != "65534 65534 sandbox C.UTF-8 False\n(734003200, 734003200)\n" {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
	// Read-only mounts, including the rw: false /sandbox.
	r = run(seed, `
import errno
for p in ["/sandbox/x", "/usr/lib/x", "/x"]:
    try: open(p, "w"); print("WROTE", p)
    except OSError as e: print(p, errno.errorcode[e.errno])
`)
	if r.stdout != "/sandbox/x EROFS\n/usr/lib/x EROFS\n/x EROFS\n" {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
	// iface_no_lo: no loopback either.
	r = run(seed, `
import socket
try:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    socket.create_connection(s.getsockname(), timeout=1); print("lo up")
except OSError as e: print("no lo:", e.strerror)
`)
	if !strings.HasPrefix(r.stdout, "no lo:") {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
	// cgroup_pids_max: 1: the command may not fork or start a thread.
	r = run(seed, `
import os, threading
try: os.fork(); print("FORKED")
except OSError as e: print("fork:", e.strerror)
try: threading.Thread(target=print).start(); print("THREAD")
except RuntimeError as e: print("thread:", e)
`)
	if !strings.Contains(r.stdout, "fork: Resource temporarily unavailable") || strings.Contains(r.stdout, "FORKED") || strings.Contains(r.stdout, "THREAD") {
		t.Fatalf("pids: %q %q", r.stdout, r.stderr)
	}
	// cgroup_mem_max: 50 MB (rlimit_as raised out of the way).
	r = run(seedWith(t, d, "rlimit_as: 700", "rlimit_as: 4096"), "b = bytearray(200 << 20)")
	wantCode(t, r, 137)
	wantReason(t, r, "oom")
	// time_limit (1 s here instead of the seed's 6 s).
	r = run(seedWith(t, d, "time_limit: 6", "time_limit: 1"), "while True: pass")
	wantCode(t, r, 137)
	wantReason(t, r, "wall-timeout")
	if w := r.report["wall_time"].(float64); w < 1 || w > 1.2 {
		t.Fatalf("wall %v", w)
	}
	// Flags after --config override the file.
	r = nsjail(t, d, "", "--config", "seed.cfg", "--hostname", "other", "--", "python3", "-Sc", "import socket; print(socket.gethostname())")
	if r.stdout != "other\n" {
		t.Fatalf("override: %q %q", r.stdout, r.stderr)
	}
}

func TestSnekboxConfig(t *testing.T) {
	d := examplesDir(t)
	r := nsjail(t, d, "print(6 * 7)\n", "--config", "snekbox.cfg")
	wantCode(t, r, 0)
	if r.stdout != "42\n" {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
	r = nsjail(t, d, "", "--config", "snekbox.cfg", "--", "python", "-c", `
import os, socket
open("/home/x", "w").write("ok")
print(os.getuid(), os.getcwd(), open("/home/x").read())
try:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
    socket.create_connection(s.getsockname(), timeout=1); print("lo up")
except OSError as e: print("no lo")
`)
	if r.stdout != "65534 /home ok\nno lo\n" {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
}

func TestNsjailBadInput(t *testing.T) {
	d := examplesDir(t)
	bad := filepath.Join(t.TempDir(), "bad.cfg")
	os.WriteFile(bad, []byte("name: \"x\"\nbogus_field: 1\n"), 0o644)
	r := nsjail(t, d, "", "--config", bad, "--", "true")
	wantCode(t, r, 125)
	if !strings.Contains(r.stderr, "bad.cfg:2:") {
		t.Fatalf("want file:line:col, got %q", r.stderr)
	}
	lst := filepath.Join(t.TempDir(), "listen.cfg")
	os.WriteFile(lst, []byte("mode: LISTEN\n"), 0o644)
	r = nsjail(t, d, "", "--config", lst, "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "mode") {
		t.Fatalf("LISTEN: %d %q", r.code, r.stderr)
	}
	r = nsjail(t, d, "", "--no_such_nsjail_flag", "--", "true")
	if r.code != 125 {
		t.Fatalf("unknown flag: %d %q", r.code, r.stderr)
	}
}

func TestNsjailSeccompPolicies(t *testing.T) {
	d := examplesDir(t)
	// A kafel policy from the command line (nsjail's --seccomp_string) and
	// from a config field (seccomp_string): uname fails with EPERM,
	// sched_getscheduler is killed (SIGSYS), everything else is allowed.
	policy := "POLICY p { ERRNO(1) { uname }, KILL { sched_getscheduler } } USE p DEFAULT ALLOW"
	code := `
import os
try: os.uname(); print("uname allowed", flush=True)
except OSError as e: print("uname", e.errno, flush=True)
os.sched_getscheduler(0)
print("not reached")
`
	r := nsjail(t, d, "", "--config", "seed.cfg", "--seccomp_string", policy, "--", "python3", "-Sc", code)
	if r.stdout != "uname 1\n" || r.code != 128+31 {
		t.Fatalf("--seccomp_string: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	cfg := seedWith(t, d, "rlimit_as: 700", "rlimit_as: 700\nseccomp_string: \""+policy+"\"")
	r = nsjail(t, d, "", "--config", cfg, "--", "python3", "-Sc", code)
	if r.stdout != "uname 1\n" || r.code != 128+31 {
		t.Fatalf("seccomp_string field: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	// Unsupported kafel syntax fails with file:line:col.
	bad := filepath.Join(t.TempDir(), "bad.policy")
	os.WriteFile(bad, []byte("POLICY p {\n  FROBNICATE { read }\n}\nUSE p DEFAULT KILL\n"), 0o644)
	r = nsjail(t, d, "", "--config", "seed.cfg", "--seccomp_policy", bad, "--", "python3", "-Sc", "pass")
	if r.code != 125 || !strings.Contains(r.stderr, "bad.policy:2:") {
		t.Fatalf("bad policy: code %d stderr %q", r.code, r.stderr)
	}
}

func TestNsjailKeepCapsBothPaths(t *testing.T) {
	d := examplesDir(t)
	code := "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1); print('raw socket ok')"
	for _, sp := range []string{"go", "raw"} {
		t.Run(sp, func(t *testing.T) {
			t.Setenv("PYCAGE_SPAWN", sp)
			r := nsjail(t, d, "", "--config", "seed.cfg", "--keep_caps", "--cap", "CAP_NET_RAW", "--", "python3", "-Sc", code)
			if r.stdout != "raw socket ok\n" {
				t.Fatalf("kept CAP_NET_RAW: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			r = nsjail(t, d, "", "--config", "seed.cfg", "--", "python3", "-Sc", code)
			if r.code != 1 || !strings.Contains(r.stderr, "PermissionError") {
				t.Fatalf("without kept caps: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestNsjailNiceLevel(t *testing.T) {
	d := examplesDir(t)
	for _, sp := range []string{"go", "raw"} {
		t.Run(sp, func(t *testing.T) {
			t.Setenv("PYCAGE_SPAWN", sp)
			// nsjail's default nice_level is 19; the flag overrides it.
			r := nsjail(t, d, "", "--config", "seed.cfg", "--", "python3", "-Sc", "import os; print(os.nice(0))")
			if r.stdout != "19\n" {
				t.Fatalf("default nice_level: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			r = nsjail(t, d, "", "--config", "seed.cfg", "--nice_level", "5", "--", "python3", "-Sc", "import os; print(os.nice(0))")
			if r.stdout != "5\n" {
				t.Fatalf("--nice_level 5: code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
	r := nsjail(t, d, "", "--config", "seed.cfg", "--nice_level", "-5", "--", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "nice_level") {
		t.Fatalf("negative nice_level: code %d stderr %q", r.code, r.stderr)
	}
}

// TestNsjailLandlockFlag: nsjail configs get Landlock where the kernel has
// it; pycage's own --landlock (nsjail has no such option) overrides it,
// and a bad value is an error naming the flag.
func TestNsjailLandlockFlag(t *testing.T) {
	d := examplesDir(t)
	r := nsjail(t, d, "", "--config", "seed.cfg", "--", "python", "-Su", "./hello.py")
	wantCode(t, r, 0)
	if got := r.report["landlock"]; got != "applied" && got != "unavailable" {
		t.Fatalf("default: report landlock %v", got)
	}
	r = nsjail(t, d, "", "--config", "seed.cfg", "--landlock", "off", "--", "python", "-Su", "./hello.py")
	wantCode(t, r, 0)
	if got := r.report["landlock"]; got != "off" || r.stdout != "Hello from nsjail!\n" {
		t.Fatalf("--landlock off: report landlock %v, stdout %q", got, r.stdout)
	}
	r = nsjail(t, d, "", "--config", "seed.cfg", "--landlock=sometimes", "--", "python", "-Su", "./hello.py")
	wantCode(t, r, 125)
	if !strings.Contains(r.stderr, `--landlock "sometimes"`) {
		t.Fatalf("bad value: stderr %q", r.stderr)
	}
}
