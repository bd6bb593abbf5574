package attacks

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRefused runs the programs whose whole outcome is "every attempt is
// refused and the program runs to its end": their verdicts, exit 0 and the
// host checks say it all. The number is the least count of BLOCKED lines.
func TestRefused(t *testing.T) {
	for _, c := range []struct {
		prog string
		min  int
		args []string
	}{
		{"01_host_secrets", 22, nil},
		{"05_proc_root_escape", 20, nil},
		{"06_unshare", 11, nil},
		{"07_mount", 15, nil},
		{"08_setns", 17, nil},
		{"09_clone_newuser", 10, nil},
		{"10_ptrace", 14, nil},
		{"11_keyctl", 6, nil},
		{"12_bpf", 4, nil},
		{"13_io_uring", 3, nil},
		{"14_perf_event", 4, nil},
		{"15_userfaultfd", 4, nil},
		{"16_raw_netlink_sockets", 28, nil},
		{"19_setuid_root", 12, nil},
		{"20_caps_nnp", 10, nil},
		{"21_setuid_binary", 12, nil},
		{"35_x32", 2, nil},
		{"36_personality", 8, nil},
		{"38_chroot", 5, nil},
		{"39_kill_init", 2, nil},
		{"40_proc_masked", 26, nil},
		{"41_sysfs", 8, nil},
		{"43_clock", 4, nil},
		{"44_reboot_machine", 12, nil},
		{"45_kernel_modules", 11, nil},
		{"46_open_by_handle", 3, nil},
		{"47_symlinks", 14, []string{canaryPlaceholder}},
		{"50_rlimit_raise", 11, nil},
		{"51_devices", 28, nil},
		{"52_init_memory", 15, nil},
		{"58_seccomp_self", 2, nil},
		{"59_cgroup_escape", 9, nil},
		{"26_disk_fill_workspace", 1, nil},
		{"27_disk_fill_tmp", 3, nil},
		{"25_fd_exhaustion", 5, nil},
	} {
		t.Run(c.prog, func(t *testing.T) {
			onPaths(t, func(t *testing.T, v *via) {
				parallel(t)
				args := append([]string(nil), c.args...)
				for i, a := range args {
					if a == canaryPlaceholder {
						args[i] = canaryPath
					}
				}
				run(t, attack{via: v, prog: c.prog, args: args}).exited(t, 0, c.min)
			})
		})
	}
}

const canaryPlaceholder = "<canary>"

func TestCanaryFile(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "02_canary_file", args: []string{canaryPath, canarySecret}})
		o.exited(t, 0, 22)
	})
}

func TestWriteOutside(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		watch := []string{"/usr/bin/python3.11", "/usr/bin/env", "/etc/passwd", "/etc/hosts", "/etc/ld.so.cache"}
		before := map[string]string{}
		for _, p := range watch {
			before[p] = hashFile(p)
		}
		o := run(t, attack{via: v, prog: "03_write_outside"})
		o.exited(t, 0, 28)
		for _, p := range watch {
			if hashFile(p) != before[p] {
				t.Errorf("host file changed: %s", p)
			}
		}
		for _, d := range []string{"/", "/usr", "/usr/bin", "/usr/local", "/etc", "/lib", "/bin"} {
			if _, err := os.Lstat(filepath.Join(d, "pycage-attack-write")); err == nil {
				t.Errorf("the jail created %s/pycage-attack-write on the host", d)
			}
		}
	})
}

func TestProcSelfExe(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		bin, py := hashFile(pycageBin), hashFile("/usr/bin/python3.11")
		o := run(t, attack{via: v, prog: "04_proc_self_exe"})
		o.exited(t, 0, 6)
		if hashFile(pycageBin) != bin {
			t.Error("the pycage binary changed")
		}
		if hashFile("/usr/bin/python3.11") != py {
			t.Error("the host's python3.11 changed")
		}
	})
}

func TestHostNetwork(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		var conns, grams atomic.Int64
		ln, err := net.Listen("tcp", ":0") // every address, v4 and v6
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go countConns(ln, &conns)
		udp, err := net.ListenPacket("udp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer udp.Close()
		go func() {
			buf := make([]byte, 512)
			for {
				if _, _, err := udp.ReadFrom(buf); err != nil {
					return
				}
				grams.Add(1)
			}
		}()
		abstract := "pycage-attack-" + nonce()
		uln, err := net.Listen("unix", "@"+abstract)
		if err != nil {
			t.Fatal(err)
		}
		defer uln.Close()
		go countConns(uln, &conns)
		args := []string{strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port), abstract}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
					args = append(args, ipn.IP.String())
				}
			}
		}
		o := run(t, attack{via: v, prog: "17_host_network", args: args})
		o.exited(t, 0, 10)
		// Make sure the listeners work at all: the host can reach them.
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("host self-check: %v", err)
		}
		c.Close()
		time.Sleep(100 * time.Millisecond)
		if n := conns.Load(); n != 1 {
			t.Errorf("host listeners saw %d connections from the jail", n-1)
		}
		if n := grams.Load(); n != 0 {
			t.Errorf("host UDP socket got %d datagrams from the jail", n)
		}
	})
}

func TestKillHostProcess(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		victim := exec.Command("sleep", "60")
		if err := victim.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { victim.Process.Kill(); victim.Wait() }()
		pids := []string{strconv.Itoa(victim.Process.Pid), strconv.Itoa(os.Getpid())}
		if v.daemon {
			pids = append(pids, strconv.Itoa(v.start(t).pid)) // and the daemon's
		}
		o := run(t, attack{via: v, prog: "18_kill_host_pid", args: pids})
		o.exited(t, 0, 4)
		if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("the host process died: %v", err)
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", victim.Process.Pid)); strings.Contains(string(st), ") Z") {
			t.Fatal("the host process is a zombie")
		}
	})
}

func TestForkBombBounded(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "22_fork_bomb_bounded"})
		o.exited(t, 0, 1)
		if o.report["pids_limit_hit"] != true {
			t.Errorf("pids_limit_hit not reported: %v", o.report)
		}
	})
}

func TestForkBomb(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "23_fork_bomb", flags: []string{"--time-limit", "2s"}})
		o.stopped(t, "wall-timeout")
		if o.report["pids_limit_hit"] != true {
			t.Errorf("pids_limit_hit not reported: %v", o.report)
		}
		if w := o.num("wall_time"); w < 2 || w > 2.5 {
			t.Errorf("wall time %.3fs, want 2s", w)
		}
		if err := exec.Command("true").Run(); err != nil {
			t.Errorf("the host cannot fork after the bomb: %v", err)
		}
	})
}

func TestMemoryBomb(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "24_memory_bomb"})
		o.stopped(t, "oom")
		if peak := o.num("peak_memory"); peak < 200<<20 || peak > 257<<20 {
			t.Errorf("peak memory %.0f MiB, want about the 256 MiB limit", peak/(1<<20))
		}
	})
}

func TestShmFill(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "28_shm_fill"})
		switch o.report["reason"] {
		case "oom":
			o.stopped(t, "oom")
		case "exited":
			o.exited(t, 0, 1) // ENOSPC before the OOM killer
		default:
			t.Errorf("reason %v, want oom (or ENOSPC and exit 0)", o.report["reason"])
		}
		if peak := o.num("peak_memory"); peak > 257<<20 {
			t.Errorf("peak memory %.0f MiB above the 256 MiB limit", peak/(1<<20))
		}
		if m, _ := filepath.Glob("/dev/shm/pycage-attack-*"); len(m) > 0 {
			t.Errorf("files in the host's /dev/shm: %v", m)
		}
	})
}

func TestOutputFlood(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "29_output_flood"})
		o.stopped(t, "output-limit")
		if len(o.stdout) != 1<<20 || o.num("stdout_bytes") != 1<<20 || o.report["stdout_truncated"] != true {
			t.Errorf("stdout %d bytes (report %v, truncated %v), want exactly 1 MiB", len(o.stdout), o.report["stdout_bytes"], o.report["stdout_truncated"])
		}
	})
}

func TestHugeLine(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "30_huge_line"})
		o.stopped(t, "output-limit")
		if len(o.stdout) != 1<<20 || strings.Trim(o.stdout, "x") != "" {
			t.Errorf("stdout %d bytes, want exactly 1 MiB of the line", len(o.stdout))
		}
		if n := strings.Count(o.stderr, "y"); n > 1<<20 {
			t.Errorf("stderr %d bytes of the line, above the 1 MiB limit", n)
		}
	})
}

func TestDaemon(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "31_daemon"})
		o.exited(t, 0, 0)
		if o.wall > 5*time.Second {
			t.Errorf("the run waited for the daemon: %v", o.wall)
		}
		// run's host check already failed the test if the daemon (its command
		// line carries the marker) survived.
	})
}

func TestEnvCanary(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		s1, s2 := "env-canary-"+nonce(), "aws-canary-"+nonce()
		o := run(t, attack{via: v, prog: "32_env_canary", env: []string{"PYCAGE_ATTACK_SECRET=" + s1, "AWS_SECRET_ACCESS_KEY=" + s2}})
		o.exited(t, 0, 2)
		for _, s := range []string{s1, s2, "PYCAGE_ATTACK_SECRET", "AWS_SECRET"} {
			if strings.Contains(o.stdout+o.stderr, s) {
				t.Errorf("host environment visible in the jail: %q", s)
			}
		}
	})
}

func TestNothingPersists(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		w := run(t, attack{via: v, prog: "33_persist", args: []string{"write"}})
		w.exited(t, 0, 0)
		c := run(t, attack{via: v, prog: "33_persist", args: []string{"check"}})
		c.exited(t, 0, 8)
		for _, p := range []string{"/tmp/pycage-attack-persist", "/dev/shm/pycage-attack-persist", "/tmp/pycage-attack-fifo"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("the jail's file appeared on the host: %s", p)
			}
		}
		if id, err := unix.SysvShmGet(0x7eca9e, 0, 0); err == nil {
			t.Errorf("the jail's SysV segment appeared on the host: id %d", id)
		}
	})
}

func TestI386ABI(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		// Does this kernel deliver int 0x80 at all? Ask the host (the shellcode
		// only calls getpid and unshare(CLONE_NEWUSER) of the test's own
		// process, which is harmless).
		probe, _ := exec.Command("/usr/bin/python3", "-B", filepath.Join(progsDir, "34_int80.py"), "probe-marker", "probe").Output()
		hostDelivers := strings.Contains(string(probe), "PROBE getpid signal 0")
		t.Logf("host probe: %q", probe)
		o := run(t, attack{via: v, prog: "34_int80"})
		o.exited(t, 0, 2)
		for _, b := range o.blocked {
			if hostDelivers && !strings.Contains(b, "SIGSYS") {
				t.Errorf("int 0x80 works on this host, so the filter must kill with SIGSYS: %s", b)
			}
		}
		if !hostDelivers {
			t.Logf("this kernel has no int 0x80 entry (SIGSEGV outside the jail too); the architecture check is proven by 35_x32")
		}
	})
}

func TestTIOCSTI(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		master, slave, err := openPty()
		if err != nil {
			t.Skipf("no pty: %v", err)
		}
		defer master.Close()
		defer slave.Close()
		o := run(t, attack{via: v, prog: "37_tiocsti", stdin: slave})
		o.exited(t, 0, 8)
		n, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatalf("TIOCINQ: %v", err)
		}
		if n != 0 {
			t.Errorf("%d bytes were pushed into the terminal's input queue", n)
		}
	})
}

// openPty opens a pseudo-terminal pair without cgo.
func openPty() (*os.File, *os.File, error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, err
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

func TestHostname(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		before, _ := os.Hostname()
		o := run(t, attack{via: v, prog: "42_hostname"})
		o.exited(t, 0, 5)
		if after, _ := os.Hostname(); after != before {
			t.Errorf("host name changed: %q -> %q", before, after)
		}
	})
}

func TestLargeArgvEnv(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		// The daemon's protocol carries at most 192 KiB of arguments and
		// environment (docs/daemon.md): smaller, but still large, there.
		n, long := 100, 120000
		if v.daemon {
			n, long = 40, 100000
		}
		var flags []string
		for i := 0; i < n; i++ {
			flags = append(flags, "--env", fmt.Sprintf("PYCAGE_ATTACK_E%d=%s", i, strings.Repeat("v", 1000)))
		}
		o := run(t, attack{via: v, prog: "48_large_argv_env", flags: flags, args: []string{strconv.Itoa(n), strings.Repeat("a", long)}})
		o.exited(t, 0, 5)
		if v.daemon {
			// A request over the limit is the client's error, not a run.
			cmd := exec.Command(pycageBin, "run", "--", "true", strings.Repeat("a", 100000), strings.Repeat("b", 100000))
			cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+v.start(t).sock)
			out, err := cmd.CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 125 || !strings.Contains(string(out), "more than the protocol's") {
				t.Errorf("a request over the protocol's limit: %v %s", err, out)
			}
		}
	})
}

func TestCoreDump(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		start := time.Now()
		o := run(t, attack{via: v, prog: "49_core_dump"})
		o.clean(t)
		if !o.done || len(o.blocked) < 4 {
			t.Errorf("the program did not finish its checks: %s", o.stdout)
		}
		o.reason(t, "signaled", 139)
		if o.num("signal") != 11 {
			t.Errorf("signal %v, want 11", o.report["signal"])
		}
		wd, _ := os.Getwd()
		for _, d := range []string{wd, progsDir, "/", os.TempDir()} {
			ents, _ := os.ReadDir(d)
			for _, e := range ents {
				if !strings.HasPrefix(e.Name(), "core") {
					continue
				}
				if info, err := e.Info(); err == nil && info.ModTime().After(start) {
					t.Errorf("core file on the host: %s", filepath.Join(d, e.Name()))
				}
			}
		}
	})
}

func TestNamespaces(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		var args []string
		for _, ns := range []string{"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"} {
			link, err := os.Readlink("/proc/self/ns/" + ns)
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, ns+"="+link)
		}
		o := run(t, attack{via: v, prog: "53_namespaces", args: args})
		o.exited(t, 0, 14)
	})
}

// startPaths are the two ways init starts the command: through a stage
// process (the default: the pids limit puts the command in its own cgroup
// leaf) and directly, the fast path used without a pids limit. Isolation is
// the default policy in both.
var startPaths = []struct {
	name  string
	flags []string
}{
	{"stage", nil},
	{"direct", []string{"--pids", "0"}},
}

func TestInheritedFDs(t *testing.T) {
	for _, path := range startPaths {
		t.Run(path.name, func(t *testing.T) {
			onPaths(t, func(t *testing.T, v *via) {
				parallel(t)
				// A careless caller's open descriptor on a host file, at fd 11
				// of pycage (above the descriptors pycage hands to init).
				p := filepath.Join(t.TempDir(), "caller-secret.txt")
				secret := "caller-secret-" + nonce()
				if err := os.WriteFile(p, []byte(secret), 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(p, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				extra := make([]*os.File, 9)
				extra[8] = f
				o := run(t, attack{via: v, prog: "54_inherited_fds", flags: path.flags, extra: extra})
				if len(o.unexpected) > 0 || !o.done {
					t.Fatalf("program failed: %s %s", o.stdout, o.stderr)
				}
				o.reason(t, "exited", 0)
				b, _ := os.ReadFile(p)
				changed := string(b) != secret
				leaked := strings.Contains(o.stdout, secret)
				if len(o.escaped) > 0 || changed || leaked {
					hole(t, "descriptors leak into the command (%s start): %s; the caller's file was read: %v, modified: %v",
						path.name, strings.Join(o.escaped, "; "), leaked, changed)
				}
			})
		})
	}
}

func TestForgedReport(t *testing.T) {
	for _, path := range startPaths {
		t.Run(path.name, func(t *testing.T) {
			onPaths(t, func(t *testing.T, v *via) {
				parallel(t)
				o := run(t, attack{via: v, prog: "55_forge_report", flags: path.flags})
				if len(o.unexpected) > 0 || !o.done {
					t.Fatalf("program failed: %s %s", o.stdout, o.stderr)
				}
				if o.report["reason"] != "exited" || o.num("exit_code") != 3 || o.code != 3 || len(o.escaped) > 0 {
					hole(t, "the command forged its result through init's report pipe (fd 4, %s start): it exited 3, "+
						"the report says reason %v, exit code %v, pycage exited %d",
						path.name, o.report["reason"], o.report["exit_code"], o.code)
				}
			})
		})
	}
}

func TestWallLimitBypass(t *testing.T) {
	for _, path := range startPaths {
		t.Run(path.name, func(t *testing.T) {
			onPaths(t, func(t *testing.T, v *via) {
				parallel(t)
				flags := append([]string{"--time-limit", "1s"}, path.flags...)
				o := run(t, attack{via: v, prog: "56_wall_bypass", flags: flags, timeout: 20 * time.Second})
				if len(o.unexpected) > 0 {
					t.Fatalf("program failed: %s %s", o.stdout, o.stderr)
				}
				if o.report["reason"] != "wall-timeout" || o.num("wall_time") > 1.5 || len(o.escaped) > 0 {
					hole(t, "garbage written to init's report pipe (fd 4, %s start) stops pycage's event loop and "+
						"with it the wall-clock limit: under --time-limit 1s the run lasted %.1fs, reason %v",
						path.name, o.num("wall_time"), o.report["reason"])
				}
				o.stopped(t, "wall-timeout")
			})
		})
	}
}

func TestSharedUIDQuota(t *testing.T) {
	// Two runs at once: not parallel with the rest (it needs both slots),
	// nor its two paths with each other. Both runs have the same flags:
	// on the daemon path they take the spec's two prepared jails.
	flags := []string{"--time-limit", "8s"}
	for _, name := range pathNames() {
		t.Run(name, func(t *testing.T) {
			v := &via{name: name, daemon: name == "daemon"}
			var probe *outcome
			hold := run(t, attack{via: v, prog: "57_shared_uid_quota", args: []string{"hold"}, flags: flags,
				started: func(cmd *exec.Cmd, stdout *lineReader) {
					if !stdout.waitFor("READY") {
						t.Errorf("the holding run did not get ready")
						return
					}
					probe = run(t, attack{via: v, prog: "57_shared_uid_quota", args: []string{"probe"}, flags: flags})
				}})
			hold.clean(t)
			if probe == nil {
				t.Fatal("no probe run")
			}
			if len(probe.unexpected) > 0 || !probe.done {
				t.Fatalf("probe failed: %s %s", probe.stdout, probe.stderr)
			}
			if len(probe.escaped) > 0 {
				hole(t, "runs share per-user kernel quotas (every run is host uid 65534): while one run holds them, "+
					"another gets %s", strings.Join(probe.escaped, "; "))
			}
		})
	}
}

func TestCPUBurn(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "60_cpu_burn", flags: []string{"--cpu-limit", "1s"}})
		o.stopped(t, "cpu-timeout")
		if cpu := o.num("cpu_time"); cpu < 1 || cpu > 1.5 {
			t.Errorf("cpu time %.3fs, want just over 1s", cpu)
		}
	})
}

func TestSleepForever(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "61_sleep_forever", flags: []string{"--time-limit", "1s"}})
		o.stopped(t, "wall-timeout")
		if w := o.num("wall_time"); w < 1 || w > 1.3 {
			t.Errorf("wall time %.3fs, want 1s", w)
		}
	})
}

func TestPrlimitInit(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		o := run(t, attack{via: v, prog: "62_prlimit_init"})
		o.exited(t, 5, 3)
	})
}

func TestHostIPC(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		key := 0x70000000 | int(time.Now().UnixNano()&0xffffff)
		id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o666)
		if err != nil {
			t.Fatalf("host shmget: %v", err)
		}
		defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		shm := "/dev/shm/pycage-attack-host-" + nonce()
		if err := os.WriteFile(shm, []byte("host"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(shm)
		o := run(t, attack{via: v, prog: "63_host_ipc", args: []string{strconv.Itoa(key)}})
		o.exited(t, 0, 6)
	})
}

func TestStdinFile(t *testing.T) {
	onPaths(t, func(t *testing.T, v *via) {
		parallel(t)
		p := filepath.Join(t.TempDir(), "job.txt")
		if err := os.WriteFile(p, []byte("host input\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Dir(p), 0o755)
		before := hashFile(p)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		o := run(t, attack{via: v, prog: "64_stdin_file", stdin: f})
		o.exited(t, 0, 7)
		if hashFile(p) != before {
			t.Error("the host file given as stdin changed")
		}
	})
}

// countConns accepts on ln until it is closed, counting (and closing) the
// connections: a jail's connection to a host listener is an escape.
func countConns(ln net.Listener, n *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		n.Add(1)
		c.Close()
	}
}
