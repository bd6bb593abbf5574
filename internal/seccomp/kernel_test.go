package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel tests run the test binary again as a child (see TestMain)
// that installs a filter exactly as the jail's init does, right before
// execve: lock the thread, prepare, set no_new_privs, InstallPrepared,
// execve, with no allocation in between.

const (
	childFilterEnv = "PYCAGE_SECCOMP_TEST_FILTER"
	childUIDEnv    = "PYCAGE_SECCOMP_TEST_UID" // run the program as this uid and gid
)

func TestMain(m *testing.M) {
	if js, ok := os.LookupEnv(childFilterEnv); ok {
		os.Exit(seccompChild(js, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func seccompChild(js string, args []string) int {
	var f Filter
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		fmt.Fprintln(os.Stderr, "child: filter:", err)
		return 120
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 120
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, childFilterEnv+"=") && !strings.HasPrefix(e, childUIDEnv+"=") {
			env = append(env, e)
		}
	}
	if s := os.Getenv(childUIDEnv); s != "" {
		var id int
		fmt.Sscan(s, &id)
		if err := syscall.Setgroups(nil); err != nil {
			return 124
		}
		if err := syscall.Setgid(id); err != nil {
			return 124
		}
		if err := syscall.Setuid(id); err != nil { // drops every capability
			return 124
		}
	}
	path, err := syscall.BytePtrFromString(args[0])
	if err != nil {
		return 120
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return 120
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 120
	}
	prog := f.Prepare()
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		fmt.Fprintln(os.Stderr, "child: no_new_privs:", e)
		return 121
	}
	if e := InstallPrepared(prog, f.Flags); e != 0 {
		fmt.Fprintln(os.Stderr, "child: seccomp:", e)
		return 122
	}
	_, _, e := syscall.RawSyscall(syscall.SYS_EXECVE, ptr(path), ptr(&argv[0]), ptr(&envv[0]))
	fmt.Fprintln(os.Stderr, "child: execve:", e)
	return 123
}

type result struct {
	stdout, stderr string
	status         syscall.WaitStatus
}

func (r result) String() string {
	return fmt.Sprintf("status %v\nstdout:\n%s\nstderr:\n%s", describe(r.status), r.stdout, r.stderr)
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ws.ExitStatus())
}

// runFiltered runs argv under f (nil: no filter at all).
func runFiltered(t *testing.T, f *Filter, argv ...string) result {
	t.Helper()
	return runAs(t, -1, f, argv...)
}

// runAs runs argv under f as uid and gid (-1: unchanged).
func runAs(t *testing.T, uid int, f *Filter, argv ...string) result {
	t.Helper()
	var js string
	if f != nil {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		js = string(b)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if f != nil {
		cmd = exec.Command(os.Args[0], argv...)
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", childFilterEnv+"="+js, "GODEBUG=asyncpreemptoff=1")
	}
	dir := t.TempDir()
	if uid >= 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", childUIDEnv, uid), "HOME=/tmp", "TMPDIR=/tmp")
		dir = "/"
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Dir = dir
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			if cmd.Process != nil {
				cmd.Process.Kill()
			}
		}
	}()
	err := cmd.Run()
	close(done)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %v: %v", argv, err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.Sys().(syscall.WaitStatus)}
}

const python = "/usr/bin/python3"

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("%s not found: %v", python, err)
	}
	if NativeArch() == "" {
		t.Skip("no seccomp support for this architecture")
	}
}

// pyPrelude gives scripts the native syscall numbers and a raw syscall().
func pyPrelude(t *testing.T) string {
	names := []string{"unshare", "setns", "mount", "umount2", "fsopen", "open_tree", "pivot_root", "chroot",
		"ptrace", "process_vm_readv", "keyctl", "add_key", "bpf", "perf_event_open", "userfaultfd",
		"io_uring_setup", "clone", "clone3", "kexec_file_load", "init_module", "finit_module",
		"open_by_handle_at", "name_to_handle_at", "pidfd_getfd", "pidfd_open", "quotactl", "syslog",
		"personality", "ioctl", "getpid", "acct", "swapoff", "iopl"}
	nrs := map[string]uint32{}
	for _, n := range names {
		if v, ok := SyscallNumber(NativeArch(), n); ok {
			nrs[n] = v
		}
	}
	js, _ := json.Marshal(nrs)
	return fmt.Sprintf(`
import ctypes, errno, json, os, sys
NR = json.loads(%q)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(name, *args):
    if name not in NR:
        return "absent"
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(a) for a in args])
    return 0 if r != -1 else ctypes.get_errno()
`, string(js))
}

func writeScript(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "script.py")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func defaultFilter(t *testing.T, opt Options) *Filter {
	t.Helper()
	f, err := Compile("", "", opt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const workloadScript = `
import asyncio, hashlib, json, mmap, multiprocessing as mp, os, random, resource, secrets
import select, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time

def square(x):
    return x * x

def check_threads():
    out = []
    ts = [threading.Thread(target=lambda i=i: out.append(sum(range(i * 1000)))) for i in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    assert len(out) == 8

def check_subprocess():
    assert subprocess.run(["/bin/echo", "hi"], capture_output=True, check=True).stdout == b"hi\n"
    r = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    assert int(r.stdout) > 0
    p = subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.communicate(b"data", timeout=10)[0] == b"data"

def check_fork():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    assert os.waitpid(pid, 0)[1] >> 8 == 7
    pid = os.posix_spawn("/bin/true", ["true"], dict(os.environ))
    assert os.waitpid(pid, 0)[1] == 0

def check_mp_fork():
    with mp.get_context("fork").Pool(2) as pool:
        assert pool.map(square, range(10)) == [x * x for x in range(10)]

def check_mp_spawn():
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        assert pool.map(square, range(5)) == [0, 1, 4, 9, 16]
    q = ctx.Queue()
    sem = ctx.Semaphore(1)
    with sem:
        q.put(5)
    assert q.get(timeout=10) == 5

def check_mp_forkserver():
    with mp.get_context("forkserver").Pool(1) as pool:
        assert pool.map(square, [3]) == [9]

def check_asyncio():
    async def handle(r, w):
        w.write(await r.readline()); await w.drain(); w.close()
    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"ping\n"); await w.drain()
        assert await r.readline() == b"ping\n"
        w.close(); srv.close(); await srv.wait_closed()
        p = await asyncio.create_subprocess_exec("/bin/echo", "x", stdout=asyncio.subprocess.PIPE)
        assert (await p.communicate())[0] == b"x\n"
        await asyncio.sleep(0.01)
        await asyncio.wait_for(asyncio.sleep(0.01), 1)
    asyncio.run(main())

def check_sqlite():
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)"); db.executemany("insert into t values (?)", [(i,) for i in range(100)])
    assert db.execute("select sum(x) from t").fetchone()[0] == 4950
    path = os.path.join(tempfile.mkdtemp(), "f.db")
    db = sqlite3.connect(path); db.execute("pragma journal_mode=wal")
    db.execute("create table t (x)"); db.execute("insert into t values (1)"); db.commit()
    assert sqlite3.connect(path).execute("select x from t").fetchone()[0] == 1

def check_ctypes():
    import ctypes, ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    assert libc.getpid() == os.getpid()
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    arr = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
    libc.qsort(arr, 5, ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
    assert list(arr) == [1, 2, 3, 4, 5]

def check_select():
    r, w = os.pipe()
    os.write(w, b"x")
    assert select.select([r], [], [], 1)[0] == [r]
    p = select.poll(); p.register(r, select.POLLIN); assert p.poll(1000)
    e = select.epoll(); e.register(r, select.EPOLLIN); assert e.poll(1)
    s1, s2 = socket.socketpair(); s1.send(b"y"); assert s2.recv(1) == b"y"

def check_mmap():
    m = mmap.mmap(-1, 1 << 20); m[:5] = b"hello"; m.resize(2 << 20); assert m[:5] == b"hello"
    with tempfile.TemporaryFile() as f:
        f.write(b"abc" * 1000); f.flush()
        fm = mmap.mmap(f.fileno(), 0); assert fm[:3] == b"abc"
    fd = os.memfd_create("x"); os.ftruncate(fd, 4096)
    mmap.mmap(fd, 4096)[:2] = b"ok"

def check_random():
    assert len(os.urandom(32)) == 32 and len(secrets.token_bytes(8)) == 8
    random.SystemRandom().random(); hashlib.sha256(b"x").hexdigest()

def check_signals():
    got = []
    signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
    os.kill(os.getpid(), signal.SIGUSR1)
    signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
    signal.signal(signal.SIGALRM, lambda s, f: got.append(s))
    signal.setitimer(signal.ITIMER_REAL, 0.01); time.sleep(0.2)
    assert got == [signal.SIGUSR1, signal.SIGUSR1, signal.SIGALRM], got
    fd = os.eventfd(0); os.eventfd_write(fd, 3); assert os.eventfd_read(fd) == 3
    pfd = os.pidfd_open(os.getpid()); os.close(pfd)

def check_files():
    d = tempfile.mkdtemp()
    p = os.path.join(d, "a")
    with open(p, "w") as f: f.write("x" * 10000)
    shutil.copy(p, p + "2"); os.rename(p + "2", p + "3"); os.link(p, p + "4"); os.symlink(p, p + "5")
    os.chmod(p, 0o600); os.truncate(p, 10); os.utime(p); os.mkdir(p + "d"); os.rmdir(p + "d")
    assert os.stat(p).st_size == 10 and os.readlink(p + "5") == p and len(os.listdir(d)) == 4
    os.mkfifo(p + "fifo"); os.unlink(p + "fifo")
    with open(p, "r+") as f:
        import fcntl; fcntl.flock(f, fcntl.LOCK_EX); fcntl.lockf(f, fcntl.LOCK_UN); os.fsync(f.fileno())
    shutil.rmtree(d); os.getcwd(); os.umask(0o22)

def check_system():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    assert os.sched_getaffinity(0) and os.cpu_count() and os.uname().sysname == "Linux"
    os.getloadavg(); time.monotonic(); time.process_time(); time.clock_gettime(time.CLOCK_BOOTTIME)
    import platform, getpass, locale; platform.platform(); locale.setlocale(locale.LC_ALL, "")
    os.sched_yield(); os.nice(0); os.getpriority(os.PRIO_PROCESS, 0)

def check_inet():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.close()
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.close()
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); u.close()

def check_numpy():
    try:
        import numpy
    except ImportError:
        return "skipped"
    a = numpy.random.rand(200, 200); assert (a @ a).shape == (200, 200)

if __name__ == "__main__":
    results = {}
    for name, fn in sorted(globals().items()):
        if name.startswith("check_"):
            try:
                results[name[6:]] = fn() or "ok"
            except BaseException as e:
                import traceback; traceback.print_exc()
                results[name[6:]] = repr(e)
    print(json.dumps(results))
`

// Normal Python must work under the default policy.
func TestKernelDefaultPolicyPythonWorks(t *testing.T) {
	needPython(t)
	script := writeScript(t, workloadScript)
	for _, opt := range []Options{{}, {Log: true}} {
		r := runFiltered(t, defaultFilter(t, opt), python, script)
		if r.status != 0 {
			t.Fatalf("log=%v: %v", opt.Log, r)
		}
		var results map[string]string
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &results); err != nil {
			t.Fatalf("%v\n%v", err, r)
		}
		t.Logf("log=%v: %s", opt.Log, r.stdout)
		if len(results) < 15 {
			t.Errorf("only %d checks ran", len(results))
		}
		for name, res := range results {
			if res != "ok" && res != "skipped" {
				t.Errorf("log=%v: %s: %s", opt.Log, name, res)
			}
		}
		if t.Failed() {
			t.Logf("%v", r)
		}
		if testing.Short() {
			break
		}
	}
}

// As an unprivileged user (the jail's uid 65534, no capabilities) Python
// works the same, and raising a hard rlimit (allowed by the policy) is
// still refused by the kernel.
func TestKernelDefaultPolicyUnprivileged(t *testing.T) {
	needPython(t)
	if os.Getuid() != 0 {
		t.Skip("needs root to switch to uid 65534")
	}
	dir, err := os.MkdirTemp("", "pycage-seccomp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "workload.py")
	if err := os.WriteFile(script, []byte(strings.Replace(workloadScript, "def check_numpy", `def check_rlimit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard + 1))
    except (ValueError, PermissionError):
        pass
    else:
        raise AssertionError("raised the hard limit")
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard - 1), hard - 1))
    assert os.getuid() == 65534

def check_numpy`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runAs(t, 65534, defaultFilter(t, Options{}), python, script)
	if r.status != 0 {
		t.Fatalf("%v", r)
	}
	var results map[string]string
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &results); err != nil {
		t.Fatalf("%v\n%v", err, r)
	}
	if results["rlimit"] != "ok" || len(results) < 16 {
		t.Errorf("results: %v", results)
	}
	for name, res := range results {
		if res != "ok" && res != "skipped" {
			t.Errorf("%s: %s", name, res)
		}
	}
}

const attackScript = `
import socket, mmap
res = {}
res["unshare(CLONE_NEWUSER)"] = sc("unshare", 0x10000000)
res["unshare(CLONE_NEWNS)"] = sc("unshare", 0x20000)
res["setns"] = sc("setns", 0, 0)
res["mount"] = 0 if libc.mount(b"none", b"/nonexistent-pycage", b"tmpfs", 0, None) == 0 else ctypes.get_errno()
res["umount2"] = sc("umount2", 0, 0)
res["fsopen"] = sc("fsopen", 0, 0)
res["open_tree"] = sc("open_tree", -100, 0, 0)
res["pivot_root"] = sc("pivot_root", 0, 0)
res["chroot"] = sc("chroot", 0)
res["ptrace(TRACEME)"] = sc("ptrace", 0, 0, 0, 0)
res["process_vm_readv"] = sc("process_vm_readv", os.getpid(), 0, 0, 0, 0, 0)
res["keyctl"] = sc("keyctl", 0, -3, 0)
res["add_key"] = sc("add_key", 0, 0, 0, 0, 0)
res["bpf"] = sc("bpf", 0, 0, 0)
res["perf_event_open"] = sc("perf_event_open", 0, 0, -1, -1, 0)
res["userfaultfd"] = sc("userfaultfd", 0)
res["io_uring_setup"] = sc("io_uring_setup", 1, 0)
res["clone(CLONE_NEWUSER)"] = sc("clone", 0x10000000 | 17, 0, 0, 0, 0)
res["clone(CLONE_NEWNET)"] = sc("clone", 0x40000000 | 17, 0, 0, 0, 0)
res["clone3"] = sc("clone3", 0, 0)
res["kexec_file_load"] = sc("kexec_file_load", -1, -1, 0, 0, 0)
res["init_module"] = sc("init_module", 0, 0, 0)
res["finit_module"] = sc("finit_module", -1, 0, 0)
res["open_by_handle_at"] = sc("open_by_handle_at", -1, 0, 0)
res["name_to_handle_at"] = sc("name_to_handle_at", -100, 0, 0, 0, 0)
res["pidfd_getfd"] = sc("pidfd_getfd", -1, 0, 0)
res["quotactl"] = sc("quotactl", 0, 0, 0, 0)
res["syslog(SIZE_BUFFER)"] = sc("syslog", 10, 0, 0)
res["acct"] = sc("acct", 0)
res["swapoff"] = sc("swapoff", 0)
res["iopl(0)"] = sc("iopl", 0)
res["personality(PER_LINUX32)"] = 0 if libc.personality(8) != -1 else ctypes.get_errno()
res["ioctl(TIOCSTI)"] = sc("ioctl", 0, 0x5412, 0)
res["ioctl(TIOCSTI|1<<32)"] = sc("ioctl", 0, 0x100005412, 0)
res["ioctl(TIOCLINUX)"] = sc("ioctl", 0, 0x541c, 0)
for fam in ("AF_NETLINK", "AF_PACKET", "AF_KEY", "AF_ALG", "AF_VSOCK"):
    try:
        socket.socket(getattr(socket, fam), socket.SOCK_RAW if fam != "AF_ALG" else socket.SOCK_SEQPACKET).close()
        res["socket(" + fam + ")"] = 0
    except PermissionError as e:
        res["socket(" + fam + ")"] = "PermissionError"
    except OSError as e:
        res["socket(" + fam + ")"] = e.errno
# still allowed:
res["personality(query)"] = 0 if libc.personality(0xffffffff) != -1 else ctypes.get_errno()
res["ioctl(FIONREAD)"] = sc("ioctl", 0, 0x541b, ctypes.addressof(ctypes.c_int()))
res["pidfd_open"] = sc("pidfd_open", os.getpid(), 0)
print(json.dumps(res))
`

// Attacks must be refused with the documented errno.
func TestKernelDefaultPolicyRefuses(t *testing.T) {
	needPython(t)
	script := writeScript(t, pyPrelude(t)+attackScript)
	r := runFiltered(t, defaultFilter(t, Options{}), python, script)
	if r.status != 0 {
		t.Fatalf("%v", r)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &res); err != nil {
		t.Fatalf("%v\n%v", err, r)
	}
	t.Logf("%s", r.stdout)
	eperm, enosys := float64(syscall.EPERM), float64(syscall.ENOSYS)
	for name, got := range res {
		want := any(eperm)
		switch {
		case got == "absent":
			continue
		case name == "clone3":
			want = enosys
		case strings.HasPrefix(name, "socket("):
			want = "PermissionError"
		case name == "personality(query)" || name == "pidfd_open":
			want = float64(0)
		case name == "ioctl(FIONREAD)":
			if got == eperm {
				t.Errorf("%s: refused with EPERM, want allowed", name)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if len(res) < 40 {
		t.Errorf("only %d results: %v", len(res), r)
	}
}

// The same probes without a filter (as root) are not refused with EPERM,
// which shows the test above measures the filter. Only probes that are
// harmless when they succeed are run here.
func TestKernelProbesWithoutFilter(t *testing.T) {
	needPython(t)
	script := writeScript(t, pyPrelude(t)+`
import socket
res = {}
try:
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close(); res["netlink"] = 0
except OSError as e:
    res["netlink"] = e.errno
res["bpf"] = sc("bpf", 0, 0, 0)
res["keyctl"] = sc("keyctl", 0, -3, 0)
res["clone3"] = sc("clone3", 0, 0)
res["io_uring_setup"] = sc("io_uring_setup", 1, 0)
print(json.dumps(res))
`)
	r := runFiltered(t, nil, python, script)
	if r.status != 0 {
		t.Fatalf("%v", r)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &res); err != nil {
		t.Fatalf("%v\n%v", err, r)
	}
	if res["netlink"] != float64(0) {
		t.Errorf("netlink socket without filter: %v", res["netlink"])
	}
	if res["clone3"] == float64(syscall.ENOSYS) {
		t.Errorf("clone3 without filter: ENOSYS (kernel too old for this test?)")
	}
	if res["bpf"] == float64(syscall.EPERM) && res["keyctl"] == float64(syscall.EPERM) {
		t.Errorf("bpf and keyctl fail with EPERM without a filter: %v", res)
	}
}

// A syscall through the i386 entry point (int 0x80) or the x32 ABI must
// never reach the native table: the filter kills the process.
func TestKernelForeignArch(t *testing.T) {
	needPython(t)
	if NativeArch() != AMD64 {
		t.Skip("int 0x80 and x32 exist only on x86_64")
	}
	int80 := writeScript(t, `
import ctypes, mmap
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20 (i386 getpid); int 0x80; ret
buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
fn = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
print("int80 returned", fn(), flush=True)
`)
	x32 := writeScript(t, `
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print("x32 returned", libc.syscall(ctypes.c_long(0x40000000 | 39)), ctypes.get_errno(), flush=True)
`)
	f := defaultFilter(t, Options{})
	allow, err := Compile("allow.kafel", "DEFAULT ALLOW", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, script string }{{"int 0x80", int80}, {"x32", x32}} {
		t.Run(p.name, func(t *testing.T) {
			// Without a filter the probe must get through to the kernel's
			// syscall entry; some kernels refuse int 0x80 themselves (IA32
			// emulation disabled at boot: a general protection fault,
			// SIGSEGV), and then seccomp never sees the syscall.
			r := runFiltered(t, nil, python, p.script)
			if r.status.Signaled() {
				if r.status.Signal() == syscall.SIGSEGV && p.name == "int 0x80" {
					t.Skipf("this kernel refuses int 0x80 before seccomp (IA32 emulation disabled): %v", r)
				}
				t.Fatalf("without filter: %v", r)
			}
			// Under the default policy and even under DEFAULT ALLOW the
			// arch check kills the process.
			for _, f := range []*Filter{f, allow} {
				r := runFiltered(t, f, python, p.script)
				if !r.status.Signaled() || r.status.Signal() != syscall.SIGSYS {
					t.Errorf("%s syscall under a filter: %v", p.name, r)
				}
			}
		})
	}
}

// withRules returns the default policy with rules placed before it, so
// they take precedence, and optionally another DEFAULT.
func withRules(rules, def string) string {
	p := strings.Replace(DefaultPolicy(), "USE pycage_python", rules+"\nUSE pycage_python", 1)
	if def != "" {
		p = strings.Replace(p, "DEFAULT ERRNO(EPERM)", "DEFAULT "+def, 1)
	}
	return p
}

func TestKernelDefaultKill(t *testing.T) {
	needPython(t)
	f, err := Compile("kill.kafel", withRules("", "KILL"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ok := runFiltered(t, f, python, "-c", "import threading, os; t = threading.Thread(target=print, args=('ok',)); t.start(); t.join()")
	if ok.status != 0 || strings.TrimSpace(ok.stdout) != "ok" {
		t.Fatalf("allowed work under DEFAULT KILL: %v", ok)
	}
	script := writeScript(t, pyPrelude(t)+`
print("before", flush=True)
sc("bpf", 0, 0, 0)
print("after", flush=True)
`)
	r := runFiltered(t, f, python, script)
	if !r.status.Signaled() || r.status.Signal() != syscall.SIGSYS || strings.Contains(r.stdout, "after") || !strings.Contains(r.stdout, "before") {
		t.Errorf("bpf under DEFAULT KILL: %v", r)
	}
	// KILL kills the whole process, also from a thread.
	thread := writeScript(t, pyPrelude(t)+`
import threading, time
threading.Thread(target=lambda: sc("bpf", 0, 0, 0)).start()
time.sleep(5)
print("survived", flush=True)
`)
	r = runFiltered(t, f, python, thread)
	if !r.status.Signaled() || r.status.Signal() != syscall.SIGSYS {
		t.Errorf("bpf from a thread under DEFAULT KILL: %v", r)
	}
}

// Explicit actions and argument conditions, enforced by the real kernel.
func TestKernelRulesAndArguments(t *testing.T) {
	needPython(t)
	rules := `
ERRNO(42) { fchmod }
ERRNO(33) { lseek { offset == 0x100000005 } }
ERRNO(34) { write { fd == 100 && count > 3 } }
ERRNO(35) { fchown(fd, owner, group) { owner == group && owner != 0 } }
ERRNO(36) { getpriority { which == 1 || who == 77 } }
TRAP(0) { acct }`
	f, err := Compile("rules.kafel", withRules(rules, ""), Options{})
	if err != nil {
		t.Fatal(err)
	}
	script := writeScript(t, pyPrelude(t)+`
import tempfile
def err(fn, *a):
    try:
        r = fn(*a)
        return "ok" if r is None else r
    except OSError as e:
        return e.errno
fd, _ = tempfile.mkstemp()
r, w = os.pipe(); os.dup2(w, 100)
res = {
  "fchmod": err(os.fchmod, fd, 0o600),
  "lseek 5": err(os.lseek, fd, 5, 0),
  "lseek 0x100000005": err(os.lseek, fd, 0x100000005, 0),
  "lseek 0x200000005": err(os.lseek, fd, 0x200000005, 0),
  "write 2 bytes": err(os.write, 100, b"ab"),
  "write 4 bytes": err(os.write, 100, b"abcd"),
  "write 4 bytes to w": err(os.write, w, b"abcd"),
  "fchown same": err(os.fchown, fd, 5, 5),
  "fchown differ": err(os.fchown, fd, 5, 6),
  "fchown root": err(os.fchown, fd, 0, 0),
  "getpriority pgrp": err(os.getpriority, 1, 0),
  "getpriority who 77": err(os.getpriority, 0, 77),
  "getpriority self": err(os.getpriority, 0, 0),
}
print(json.dumps(res), flush=True)
sc("acct", 0)
print("not trapped")
`)
	res := runFiltered(t, f, python, script)
	if !res.status.Signaled() || res.status.Signal() != syscall.SIGSYS || strings.Contains(res.stdout, "not trapped") {
		t.Errorf("TRAP(0) { acct } did not deliver SIGSYS: %v", res)
	}
	line, _, _ := strings.Cut(res.stdout, "\n")
	var got map[string]any
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("%v\n%v", err, res)
	}
	want := map[string]any{
		"fchmod": 42.0, "lseek 5": 5.0, "lseek 0x100000005": 33.0, "lseek 0x200000005": float64(0x200000005),
		"write 2 bytes": 2.0, "write 4 bytes": 34.0, "write 4 bytes to w": 4.0,
		"fchown same": 35.0, "fchown differ": "ok", "fchown root": "ok",
		"getpriority pgrp": 36.0, "getpriority who 77": 36.0,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %v, want %v", k, got[k], w)
		}
	}
	if v, ok := got["getpriority self"].(float64); !ok || v > 40 && v != 0 {
		t.Errorf("getpriority self: %v", got["getpriority self"])
	}
}

func TestValidateAndInstallErrors(t *testing.T) {
	bad := &Filter{Insns: []Insn{{Code: 0x06, K: retAllow}}, Flags: 1 << 30}
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepts unknown flags")
	}
	jump := &Filter{Insns: []Insn{{Code: 0x15, Jt: 5}, {Code: 0x06, K: retAllow}}}
	if err := jump.Validate(); err == nil {
		t.Error("Validate accepts a jump out of the program")
	}
	if err := jump.Install(); err == nil {
		t.Error("Install accepts a jump out of the program")
	}
	noret := &Filter{Insns: []Insn{{Code: 0x20, K: 0}}}
	if err := noret.Validate(); err == nil {
		t.Error("Validate accepts a program without a final return")
	}
	if err := (&Filter{}).Validate(); err == nil {
		t.Error("Validate accepts an empty program")
	}
	// The kernel refuses an invalid program (so nothing is installed on
	// this test process): EINVAL, or EACCES without no_new_privs.
	if e := InstallPrepared(jump.Prepare(), 0); e != syscall.EINVAL && e != syscall.EACCES {
		t.Errorf("kernel accepted an invalid program: %v", e)
	}
	f := defaultFilter(t, Options{Log: true})
	if err := f.Validate(); err != nil {
		t.Error(err)
	}
	var back Filter
	js, _ := json.Marshal(f)
	if err := json.Unmarshal(js, &back); err != nil || len(back.Insns) != len(f.Insns) || back.Flags != f.Flags || back.Insns[1] != f.Insns[1] {
		t.Errorf("JSON round trip: %v", err)
	}
	if !strings.Contains(string(js), `"insns":[{"code":32,"jt":0,"jf":0,"k":4}`) {
		t.Errorf("unexpected JSON: %.80s", js)
	}
}

func ptr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }
