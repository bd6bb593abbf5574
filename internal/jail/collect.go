package jail

// Output files are read by init from inside the jail's own view, after every
// other process of the run is dead: symlinks are never followed, only
// regular files are read (a fifo or device cannot block or leak), and the
// walk is bounded in files, bytes, depth and time.

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func collectFiles(spec *Spec, started time.Time) ([]OutFile, string) {
	root, err := unix.Open(spec.Cwd, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Sprintf("open workspace %s: %s", spec.Cwd, errText(err))
	}
	defer unix.Close(root)
	return collectFrom(root, spec.Collect, started, nil)
}

// collectFrom walks the directory root. access, when set, says whether the
// jail's user may read a file (or list a directory): the walker may run
// with more privilege than the jail had (the raw path's parent, as root).
func collectFrom(root int, c *CollectSpec, since time.Time, access func(st *unix.Stat_t, dir bool) bool) ([]OutFile, string) {
	deadline := time.Now().Add(c.Timeout)
	if c.Timeout <= 0 {
		deadline = time.Now().Add(5 * time.Second)
	}
	w := &walker{c: c, since: since, deadline: deadline, access: access}
	w.walk(root, "", 0)
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	return w.files, w.err
}

// jailCanRead is the kernel's permission check for a user with ids uid and
// gid and no capability: read for a file, read and search for a directory.
func jailCanRead(st *unix.Stat_t, dir bool, uid, gid uint32) bool {
	need := uint32(4)
	if dir {
		need = 5
	}
	shift := uint32(0)
	switch {
	case st.Uid == uid:
		shift = 6
	case st.Gid == gid:
		shift = 3
	}
	return (st.Mode>>shift)&need == need
}

// maxDirEntries bounds the names read from one directory: the walk holds
// them in memory (on the raw path, in pycage's own process).
const maxDirEntries = 100000

type walker struct {
	c        *CollectSpec
	since    time.Time
	deadline time.Time
	files    []OutFile
	total    int64
	err      string
	access   func(st *unix.Stat_t, dir bool) bool
}

func (w *walker) setErr(format string, a ...any) {
	if w.err == "" {
		w.err = fmt.Sprintf(format, a...)
	}
}

func (w *walker) walk(dirfd int, rel string, depth int) {
	// Read the names through a dup: the *os.File owns (and closes) its fd,
	// while dirfd stays the caller's.
	dup, err := unix.Dup(dirfd)
	if err != nil {
		w.setErr("read directory %q: %v", rel, err)
		return
	}
	d := os.NewFile(uintptr(dup), rel)
	var names []string
	for {
		chunk, err := d.Readdirnames(1024)
		names = append(names, chunk...)
		if err == io.EOF || len(chunk) == 0 {
			break
		}
		if err != nil {
			d.Close()
			w.setErr("read directory %q: %v", rel, err)
			return
		}
		if len(names) > maxDirEntries {
			d.Close()
			w.setErr("directory %q: more than %d entries", rel, maxDirEntries)
			return
		}
	}
	d.Close()
	sort.Strings(names)
	for _, name := range names {
		if w.err != "" {
			return
		}
		if time.Now().After(w.deadline) {
			w.setErr("collecting files timed out after %v", w.c.Timeout)
			return
		}
		if w.c.SkipHidden && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			continue
		}
		p := path.Join(rel, name)
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if w.c.MaxDepth > 0 && depth+1 >= w.c.MaxDepth {
				continue
			}
			if w.access != nil && !w.access(&st, true) {
				continue
			}
			fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			w.walk(fd, p, depth+1)
			unix.Close(fd)
		case unix.S_IFREG:
			if w.c.OnlyChanged && time.Unix(st.Mtim.Sec, st.Mtim.Nsec).Before(w.since) {
				continue
			}
			if w.access != nil && !w.access(&st, false) {
				continue
			}
			w.readFile(dirfd, name, p)
		}
	}
}

func (w *walker) readFile(dirfd int, name, p string) {
	if w.c.MaxFiles > 0 && len(w.files) >= w.c.MaxFiles {
		w.setErr("too many files: more than %d", w.c.MaxFiles)
		return
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return // unreadable (mode 000): skipped
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return
	}
	if w.c.MaxBytes > 0 && w.total+st.Size > w.c.MaxBytes {
		w.setErr("files too large: more than %d bytes in total", w.c.MaxBytes)
		return
	}
	// Read at most what stat said (+1 to notice growth); a sparse 1 TB
	// file was already refused by the size check above.
	b, err := io.ReadAll(io.LimitReader(f, st.Size+1))
	if err != nil {
		w.setErr("read %q: %v", p, err)
		return
	}
	if int64(len(b)) > st.Size {
		b = b[:st.Size]
	}
	w.total += int64(len(b))
	w.files = append(w.files, OutFile{Path: p, Size: int64(len(b)), Content: b})
}
