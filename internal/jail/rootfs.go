package jail

// Child side: the jail's file tree. It is built with the kernel's fd-based
// mount API (open_tree, fsopen/fsmount, move_mount, mount_setattr; Linux
// 5.12+) so that no step resolves a path through a symlink we did not mean to
// follow: every path inside the new root is opened with openat2 and
// RESOLVE_IN_ROOT, so a symlink in the tree (e.g. /lib64 -> usr/lib64) is
// resolved as if the new root were already "/", never into the host.

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// stepError is a setup failure tied to its step and object.
type stepError struct {
	Step   string
	Object string
	Err    error
}

func (e *stepError) Error() string {
	if e.Object == "" {
		return fmt.Sprintf("%s: %s", e.Step, errText(e.Err))
	}
	return fmt.Sprintf("%s %s: %s", e.Step, e.Object, errText(e.Err))
}

func (e *stepError) Unwrap() error { return e.Err }

// errText prints errnos by name (ENOENT), which is what people search for.
func errText(err error) string {
	if en, ok := err.(unix.Errno); ok {
		if name := unix.ErrnoName(en); name != "" {
			return name
		}
	}
	return err.Error()
}

func fail(step, object string, err error) error {
	return &stepError{Step: step, Object: object, Err: err}
}

// rootfs builds the tree under a tmpfs mounted at base.
type rootfs struct {
	base   string // where the new root tmpfs is attached before pivot_root
	rootFD int    // O_PATH fd of the new root
	uid    uint32
	gid    uint32
	// trees are detached copies of host paths (open_tree), opened before
	// anything is mounted over the host paths they come from.
	trees map[int]int // index in Spec.Mounts -> tree fd
	dev   map[string]int
	// keepRootRW is set when a writable file lives directly in the root tmpfs.
	keepRootRW bool
}

const mountAttrLocked = unix.MOUNT_ATTR_NOSUID

// OpenBindTrees clones every bind source of spec as a detached mount tree
// (open_tree OPEN_TREE_CLONE), read-only, nosuid (nodev, noexec) as asked,
// recursively. It returns index in spec.Mounts -> fd; optional sources that
// do not exist are left out. The parent calls it when it runs as root, so
// that sources under directories the jail's user cannot enter (a pyenv
// Python under /root) still work: the trees are then moved into the jail's
// mount namespace by init. Otherwise init calls it itself.
func OpenBindTrees(spec *Spec) (map[int]int, error) {
	trees := map[int]int{}
	closeAll := func() {
		for _, fd := range trees {
			unix.Close(fd)
		}
	}
	for i, m := range spec.Mounts {
		if m.Kind != MountBind {
			continue
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, m.Src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
		if err != nil {
			if err == unix.ENOENT && !m.Mandatory {
				continue
			}
			closeAll()
			if err == unix.ENOENT {
				return nil, fail("bind", m.Src+" -> "+m.Dst, fmt.Errorf("source does not exist (ENOENT)"))
			}
			return nil, fail("bind", m.Src+" -> "+m.Dst, err)
		}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: bindAttr(m)}); err != nil {
			unix.Close(fd)
			closeAll()
			return nil, fail("bind (set read-only)", m.Src+" -> "+m.Dst, err)
		}
		trees[i] = fd
	}
	return trees, nil
}

// openHostTrees takes the bind trees (from the parent, or opens them now)
// and the /dev nodes, before the host tree is covered.
func (r *rootfs) openHostTrees(spec *Spec, given map[int]int) error {
	if given != nil {
		r.trees = given
	} else {
		t, err := OpenBindTrees(spec)
		if err != nil {
			return err
		}
		r.trees = t
	}
	if spec.Dev {
		r.dev = map[string]int{}
		for _, n := range devNodes {
			fd, err := unix.OpenTree(unix.AT_FDCWD, "/dev/"+n, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
			if err != nil {
				return fail("bind", "/dev/"+n, err)
			}
			if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC}); err != nil {
				return fail("bind (set nosuid)", "/dev/"+n, err)
			}
			r.dev[n] = fd
		}
	}
	return nil
}

var devNodes = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountRoot attaches a fresh tmpfs at base and opens it.
func (r *rootfs) mountRoot(size int64) error {
	fd, err := newTmpfs(size, 0o755, 0, 0, false)
	if err != nil {
		return fail("mount tmpfs", "(new root)", err)
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, r.base, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fail("mount tmpfs", "(new root) on "+r.base, err)
	}
	r.rootFD, err = unix.Open(r.base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open", "(new root) "+r.base, err)
	}
	return nil
}

// newTmpfs creates a detached tmpfs mount and returns its fd.
func newTmpfs(size int64, mode uint32, uid, gid uint32, owned bool) (int, error) {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	if size > 0 {
		if err := unix.FsconfigSetString(fs, "size", fmt.Sprint(size)); err != nil {
			return -1, err
		}
	}
	if err := unix.FsconfigSetString(fs, "mode", fmt.Sprintf("%o", mode)); err != nil {
		return -1, err
	}
	if owned {
		if err := unix.FsconfigSetString(fs, "uid", fmt.Sprint(uid)); err != nil {
			return -1, err
		}
		if err := unix.FsconfigSetString(fs, "gid", fmt.Sprint(gid)); err != nil {
			return -1, err
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
}

// newFS creates a detached mount of any filesystem type with "k=v,flag" options.
// bindAttr are the mount attributes of a bind or another file system
// mount, on both spawn paths: nosuid always, ro, nodev, noexec as asked.
func bindAttr(m Mount) uint64 {
	attr := uint64(unix.MOUNT_ATTR_NOSUID)
	if !m.RW {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if m.NoDev {
		attr |= unix.MOUNT_ATTR_NODEV
	}
	if m.NoExec {
		attr |= unix.MOUNT_ATTR_NOEXEC
	}
	return attr
}

func newFS(fstype, source, options string, attr int) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	if source != "" {
		if err := unix.FsconfigSetString(fs, "source", source); err != nil {
			return -1, err
		}
	}
	for _, o := range strings.Split(options, ",") {
		if o == "" {
			continue
		}
		k, v, hasV := strings.Cut(o, "=")
		if hasV {
			err = unix.FsconfigSetString(fs, k, v)
		} else {
			err = unix.FsconfigSetFlag(fs, k)
		}
		if err != nil {
			return -1, fmt.Errorf("option %q: %w", o, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attr)
}

// openIn opens p (absolute, inside the new root) with openat2 RESOLVE_IN_ROOT.
func (r *rootfs) openIn(p string, flags uint64) (int, error) {
	return unix.Openat2(r.rootFD, strings.TrimPrefix(p, "/"), &unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// mkdirAll creates p and its parents inside the new root and returns an
// O_PATH fd of it.
func (r *rootfs) mkdirAll(p string) (int, error) {
	p = path.Clean("/" + p)
	fd, err := unix.Dup(r.rootFD)
	if err != nil {
		return -1, err
	}
	if p == "/" {
		return fd, nil
	}
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		// Resolve each component relative to the previous one, still
		// confined to the new root.
		next, err := unix.Openat2(fd, part, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.ENOENT {
			if err := unix.Mkdirat(fd, part, 0o755); err != nil && err != unix.EEXIST {
				unix.Close(fd)
				return -1, err
			}
			next, err = unix.Openat2(fd, part, &unix.OpenHow{
				Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
				Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
			})
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// mountPoint creates (if needed) and opens the mount point p: a directory or
// an empty file.
func (r *rootfs) mountPoint(p string, dir bool) (int, error) {
	if dir {
		return r.mkdirAll(p)
	}
	parent, err := r.mkdirAll(path.Dir(p))
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	base := path.Base(p)
	fd, err := unix.Openat(parent, base, unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == unix.EISDIR || err == unix.ELOOP {
		return -1, fmt.Errorf("mount point is not a regular file: %w", err)
	}
	if err != nil && err != unix.ENXIO && err != unix.ENODEV {
		// The point may already be a device node bound earlier: open it as a path.
		fd, err = unix.Openat(parent, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return fd, err
}

// attach moves a detached mount onto p.
func (r *rootfs) attach(mfd int, p string, dir bool) error {
	target, err := r.mountPoint(p, dir)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	return unix.MoveMount(mfd, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// writeFile creates a file with content inside the new root.
func (r *rootfs) writeFile(p string, content []byte, mode uint32) error {
	parent, err := r.mkdirAll(path.Dir(p))
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	// O_PATH fds cannot be used with openat for creation; reopen the dir.
	dirfd, err := unix.Openat(parent, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, path.Base(p), unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if _, err := f.Write(content); err != nil {
		return err
	}
	return unix.Fchmod(fd, mode)
}

// build performs every mount of the spec inside the new root, in order.
func (r *rootfs) build(spec *Spec) error {
	if spec.Dev {
		if err := r.buildDev(spec); err != nil {
			return err
		}
	}
	if spec.Proc {
		fd, err := newFS("proc", "proc", "", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		if err != nil {
			return fail("mount proc", "/proc", err)
		}
		err = r.attach(fd, "/proc", true)
		unix.Close(fd)
		if err != nil {
			return fail("mount proc", "/proc", err)
		}
		if err := r.maskProc(); err != nil {
			return err
		}
	}
	for i, m := range spec.Mounts {
		if err := r.mountOne(spec, i, m); err != nil {
			return err
		}
	}
	// Generated /etc files, in a stable order.
	names := make([]string, 0, len(spec.EtcFiles))
	for n := range spec.EtcFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := r.writeFile(n, []byte(spec.EtcFiles[n]), 0o644); err != nil {
			return fail("write", n, err)
		}
	}
	return nil
}

func (r *rootfs) mountOne(spec *Spec, i int, m Mount) error {
	obj := m.Dst
	if m.Src != "" {
		obj = m.Src + " -> " + m.Dst
	}
	switch m.Kind {
	case MountBind:
		fd, ok := r.trees[i]
		if !ok {
			return nil // optional source that does not exist
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return fail("bind", obj, err)
		}
		dir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if m.IsDir != nil {
			dir = *m.IsDir
		}
		if err := r.attach(fd, m.Dst, dir); err != nil {
			return fail("bind", obj, err)
		}
		unix.Close(fd)
		delete(r.trees, i)
	case MountTmpfs:
		mode := m.Mode
		if mode == 0 {
			mode = 0o755
		}
		fd, err := newTmpfs(m.Size, mode, spec.UID, spec.GID, m.Owned)
		if err != nil {
			return fail("mount tmpfs", m.Dst, err)
		}
		if !m.RW {
			if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
				unix.Close(fd)
				return fail("mount tmpfs (read-only)", m.Dst, err)
			}
		}
		err = r.attach(fd, m.Dst, true)
		unix.Close(fd)
		if err != nil {
			return fail("mount tmpfs", m.Dst, err)
		}
	case MountProc:
		fd, err := newFS("proc", "proc", m.Options, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		if err != nil {
			return fail("mount proc", m.Dst, err)
		}
		err = r.attach(fd, m.Dst, true)
		unix.Close(fd)
		if err != nil {
			return fail("mount proc", m.Dst, err)
		}
	case MountOther:
		fd, err := newFS(m.FSType, m.Src, m.Options, int(bindAttr(m)))
		if err != nil {
			return fail("mount "+m.FSType, obj, err)
		}
		err = r.attach(fd, m.Dst, true)
		unix.Close(fd)
		if err != nil {
			return fail("mount "+m.FSType, obj, err)
		}
	case MountFile:
		mode := m.Mode
		if mode == 0 {
			mode = 0o444
			if m.RW {
				mode = 0o666
				r.keepRootRW = true
			}
		}
		if err := r.writeFile(m.Dst, m.Content, mode); err != nil {
			return fail("write", m.Dst, err)
		}
	case MountSymlink:
		parent, err := r.mkdirAll(path.Dir(m.Dst))
		if err != nil {
			return fail("symlink", obj, err)
		}
		err = unix.Symlinkat(m.Src, parent, path.Base(m.Dst))
		unix.Close(parent)
		if err != nil && err != unix.EEXIST {
			return fail("symlink", obj, err)
		}
	case MountDir:
		fd, err := r.mkdirAll(m.Dst)
		if err != nil {
			return fail("mkdir", m.Dst, err)
		}
		unix.Close(fd)
		if m.RW {
			r.keepRootRW = true
		}
	default:
		return fail("mount", obj, fmt.Errorf("unknown mount kind %q", m.Kind))
	}
	return nil
}

// buildDev makes a minimal /dev: a small tmpfs with bind-mounted nodes from
// the host (device nodes cannot be created in a user namespace), a shm
// tmpfs and the usual symlinks.
func (r *rootfs) buildDev(spec *Spec) error {
	fd, err := newTmpfs(64<<10, 0o755, 0, 0, false)
	if err != nil {
		return fail("mount tmpfs", "/dev", err)
	}
	// Device nodes must work, so this tmpfs must not be nodev; the binds
	// keep the host's devtmpfs superblock anyway.
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_NODEV}); err != nil {
		unix.Close(fd)
		return fail("mount tmpfs", "/dev", err)
	}
	err = r.attach(fd, "/dev", true)
	unix.Close(fd)
	if err != nil {
		return fail("mount tmpfs", "/dev", err)
	}
	for _, n := range devNodes {
		if err := r.attach(r.dev[n], "/dev/"+n, false); err != nil {
			return fail("bind", "/dev/"+n, err)
		}
		unix.Close(r.dev[n])
	}
	shmSize := spec.Limits.Memory
	if shmSize <= 0 {
		shmSize = 64 << 20
	}
	shm, err := newTmpfs(shmSize, 0o1777, 0, 0, false)
	if err != nil {
		return fail("mount tmpfs", "/dev/shm", err)
	}
	err = r.attach(shm, "/dev/shm", true)
	unix.Close(shm)
	if err != nil {
		return fail("mount tmpfs", "/dev/shm", err)
	}
	devfd, err := r.openIn("/dev", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fail("open", "/dev", err)
	}
	defer unix.Close(devfd)
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2",
	} {
		if err := unix.Symlinkat(target, devfd, name); err != nil {
			return fail("symlink", "/dev/"+name, err)
		}
	}
	return nil
}

// maskedProcFiles are hidden behind /dev/null (or an empty read-only tmpfs
// for directories): they leak host information or offer kernel knobs.
var maskedProcFiles = []string{
	"/proc/kcore", "/proc/sysrq-trigger", "/proc/keys", "/proc/timer_list",
	"/proc/kallsyms", "/proc/kmsg", "/proc/latency_stats", "/proc/sched_debug",
}
var maskedProcDirs = []string{"/proc/acpi", "/proc/scsi", "/proc/fs", "/proc/irq", "/proc/bus", "/proc/driver", "/proc/tty"}

func (r *rootfs) maskProc() error {
	for _, p := range maskedProcFiles {
		fd, err := r.openIn(p, unix.O_PATH|unix.O_NOFOLLOW)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return fail("mask", p, err)
		}
		unix.Close(fd)
		null, err := unix.OpenTree(unix.AT_FDCWD, "/dev/null", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fail("mask", p, err)
		}
		err = unix.MountSetattr(null, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC})
		if err == nil {
			err = r.attach(null, p, false)
		}
		unix.Close(null)
		if err != nil {
			return fail("mask", p, err)
		}
	}
	for _, p := range maskedProcDirs {
		fd, err := r.openIn(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			return fail("mask", p, err)
		}
		unix.Close(fd)
		t, err := newTmpfs(4096, 0o555, 0, 0, false)
		if err == nil {
			err = unix.MountSetattr(t, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOEXEC})
		}
		if err == nil {
			err = r.attach(t, p, true)
		}
		if t >= 0 {
			unix.Close(t)
		}
		if err != nil {
			return fail("mask", p, err)
		}
	}
	return nil
}
