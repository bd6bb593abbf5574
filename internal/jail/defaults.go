package jail

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Documented defaults of `pycage run -- python3 -` (README, "Defaults").
const (
	DefaultWall          = 10 * time.Second
	DefaultCPU           = 10 * time.Second
	DefaultMemory        = 256 << 20
	DefaultPids          = 64
	DefaultNoFile        = 256
	DefaultFSize         = 64 << 20
	DefaultWorkspaceSize = 64 << 20
	DefaultTmpSize       = 64 << 20
	DefaultStack         = 8 << 20
	DefaultSigPending    = 1024
	DefaultOutput        = 1 << 20
	DefaultHostname      = "pycage"
	DefaultWorkspace     = "/sandbox"
	SandboxUID           = 65534
	DefaultPATH          = "/usr/local/bin:/usr/bin:/bin"
)

// systemDirs are bound read-only when they exist; when the host has them as
// symlinks (Debian: /bin -> usr/bin), the same symlink is made instead.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// systemFiles are single files of the host's /etc the jail needs.
var systemFiles = []string{"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime", "/etc/matplotlibrc", "/etc/fonts"}

// DefaultEnv is the clean environment of a jail.
func DefaultEnv() []string {
	return []string{
		"PATH=" + DefaultPATH,
		"LANG=C.UTF-8",
		"HOME=" + DefaultWorkspace,
		"TMPDIR=/tmp",
		"OMP_NUM_THREADS=1",
		"OPENBLAS_NUM_THREADS=1",
		"MKL_NUM_THREADS=1",
		"MPLBACKEND=Agg",
	}
}

// DefaultSpec is the default policy for untrusted Python (DESIGN.md):
// every namespace, uid/gid 65534, no network, read-only system dirs, a fresh
// writable workspace and /tmp, minimal /dev and /etc, the default seccomp
// allowlist, Landlock where the kernel has it, and the documented limits.
func DefaultSpec(args []string) *Spec {
	s := &Spec{
		Args:       args,
		Env:        DefaultEnv(),
		Cwd:        DefaultWorkspace,
		Hostname:   DefaultHostname,
		UID:        SandboxUID,
		GID:        SandboxUID,
		Namespaces: Namespaces{User: true, Mount: true, PID: true, Net: true, IPC: true, UTS: true, Cgroup: true},
		Net:        NetNone,
		Proc:       true,
		Dev:        true,
		Seccomp:    &Seccomp{},
		Landlock:   LandlockAuto,
		Limits: Limits{
			Wall:   DefaultWall,
			CPU:    DefaultCPU,
			Memory: DefaultMemory,
			Pids:   DefaultPids,
			Output: DefaultOutput,
			Rlimits: []Rlimit{
				{Resource: "nofile", Soft: DefaultNoFile, Hard: DefaultNoFile},
				{Resource: "fsize", Soft: DefaultFSize, Hard: DefaultFSize},
				{Resource: "core", Soft: 0, Hard: 0},
				{Resource: "stack", Soft: DefaultStack, Hard: DefaultStack},
				// POSIX message queue bytes and queued signals are counted
				// per host user across user namespaces, and every run is
				// the same host uid: no run may hold them (msgqueue) or
				// more than a small share (sigpending).
				{Resource: "msgqueue", Soft: 0, Hard: 0},
				{Resource: "sigpending", Soft: DefaultSigPending, Hard: DefaultSigPending},
			},
		},
	}
	s.Mounts = SystemMounts()
	s.Mounts = append(s.Mounts,
		Mount{Kind: MountTmpfs, Dst: DefaultWorkspace, Size: DefaultWorkspaceSize, Mode: 0o755, RW: true, Owned: true},
		Mount{Kind: MountTmpfs, Dst: "/tmp", Size: DefaultTmpSize, Mode: 0o1777, RW: true},
	)
	s.EtcFiles = EtcFiles(SandboxUID, SandboxUID, DefaultWorkspace, DefaultHostname)
	return s
}

// sysMounts caches SystemMounts for a second: a long-lived caller (pycage
// daemon builds a Spec per request) then does not lstat the system
// directories again for every run.
var sysMounts struct {
	sync.Mutex
	at time.Time
	ms []Mount
}

// SystemMounts returns the read-only binds (and symlinks) of the host's
// system directories (looked up at most once a second).
func SystemMounts() []Mount {
	sysMounts.Lock()
	defer sysMounts.Unlock()
	if sysMounts.ms != nil && time.Since(sysMounts.at) < time.Second {
		return slices.Clone(sysMounts.ms)
	}
	sysMounts.ms, sysMounts.at = systemMounts(), time.Now()
	return slices.Clone(sysMounts.ms)
}

func systemMounts() []Mount {
	var ms []Mount
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(d)
			if err == nil {
				ms = append(ms, Mount{Kind: MountSymlink, Src: target, Dst: d})
			}
			continue
		}
		ms = append(ms, Mount{Kind: MountBind, Src: d, Dst: d, NoDev: true, Mandatory: d == "/usr"})
	}
	for _, f := range systemFiles {
		ms = append(ms, Mount{Kind: MountBind, Src: f, Dst: f, NoDev: true})
	}
	return ms
}

// EtcFiles are the generated /etc files: without passwd and group entries
// for the sandbox user, getpass, pwd lookups and ~ expansion break.
func EtcFiles(uid, gid uint32, home, hostname string) map[string]string {
	u, g := itoa(uid), itoa(gid)
	return map[string]string{
		"/etc/passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n" +
			"sandbox:x:" + u + ":" + g + ":sandbox:" + home + ":/usr/sbin/nologin\n",
		"/etc/group":         "root:x:0:\nsandbox:x:" + g + ":\n",
		"/etc/hosts":         "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t" + hostname + "\n",
		"/etc/hostname":      hostname + "\n",
		"/etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
	}
}

func itoa(n uint32) string {
	if n == 0 {
		return "0"
	}
	var b [10]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// AddInterpreter binds the prefix of an interpreter that lives outside the
// system dirs (e.g. a pyenv Python under ~/.pyenv/versions/3.12.1) read-only
// at the same path, so it works inside the jail. exe is a host path.
func (s *Spec) AddInterpreter(exe string) {
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return
	}
	for _, d := range systemDirs {
		if real == d || strings.HasPrefix(real, d+"/") {
			return
		}
	}
	prefix := filepath.Dir(filepath.Dir(real)) // <prefix>/bin/python3.x
	for _, m := range s.Mounts {
		if m.Kind == MountBind && (prefix == m.Dst || strings.HasPrefix(prefix, m.Dst+"/")) {
			return
		}
	}
	s.Mounts = append(s.Mounts, Mount{Kind: MountBind, Src: prefix, Dst: prefix, NoDev: true, Mandatory: true})
}
