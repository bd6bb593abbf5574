package cgroup

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Controllers pycage manages, in the order they are described.
var managedControllers = []string{"memory", "pids", "cpu", "cpuacct", "cpuset", "freezer"}

// v2Wanted are the controllers pycage enables in a v2 parent's
// cgroup.subtree_control when they are not provided by a v1 hierarchy.
var v2Wanted = []string{"memory", "pids", "cpu", "cpuset"}

// defaultParent is the parent group's name when Open is given "".
const defaultParent = "pycage"

// mountEntry is one cgroup or cgroup2 line of /proc/self/mountinfo.
type mountEntry struct {
	root       string // the hierarchy path mounted at mountPoint
	mountPoint string
	fsType     string // "cgroup" or "cgroup2"
	opts       []string
	superOpts  []string
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a mountinfo text.
func parseMountinfo(text string) []mountEntry {
	var out []mountEntry
	for line := range strings.SplitSeq(text, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		// Most lines are other file systems: skip them before splitting.
		if fs, _, _ := strings.Cut(strings.TrimLeft(post, " "), " "); fs != "cgroup" && fs != "cgroup2" {
			continue
		}
		pf := strings.Fields(pre)
		sf := strings.Fields(post)
		if len(pf) < 6 || len(sf) < 3 {
			continue
		}
		if sf[0] != "cgroup" && sf[0] != "cgroup2" {
			continue
		}
		out = append(out, mountEntry{
			root:       unescapeMount(pf[3]),
			mountPoint: unescapeMount(pf[4]),
			fsType:     sf[0],
			opts:       strings.Split(pf[5], ","),
			superOpts:  strings.Split(sf[2], ","),
		})
	}
	return out
}

// cgroupLine is one line of /proc/self/cgroup.
type cgroupLine struct {
	v2          bool     // the "0::" line
	controllers []string // v1: the hierarchy's controllers and name= options
	path        string
}

func parseProcCgroup(text string) []cgroupLine {
	var out []cgroupLine
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			out = append(out, cgroupLine{v2: true, path: f[2]})
			continue
		}
		if f[1] == "" {
			continue
		}
		out = append(out, cgroupLine{controllers: strings.Split(f[1], ","), path: f[2]})
	}
	return out
}

// hierInfo is one hierarchy as this process sees it.
type hierInfo struct {
	v2          bool
	controllers []string // v1: the managed controllers mounted in it
	mount       string   // mount point
	mountRoot   string   // hierarchy path shown at the mount point
	own         string   // this process's cgroup, as in /proc/self/cgroup
	readOnly    bool
}

// key names the hierarchy: "unified" or its v1 controllers ("cpu,cpuacct").
func (h *hierInfo) key() string {
	if h.v2 {
		return "unified"
	}
	return strings.Join(h.controllers, ",")
}

// dirOf maps a cgroup path of this hierarchy to a directory below the mount.
func (h *hierInfo) dirOf(p string) (string, error) {
	p = path.Clean("/" + p)
	root := path.Clean("/" + h.mountRoot)
	var rel string
	switch {
	case root == "/":
		rel = p
	case p == root:
		rel = "/"
	case strings.HasPrefix(p, root+"/"):
		rel = p[len(root):]
	default:
		return "", fmt.Errorf("cgroup %s is outside the part %s of the hierarchy mounted at %s", p, root, h.mount)
	}
	return path.Join(h.mount, rel), nil
}

// parentPlan computes where pycage's parent group lives in h: base is the
// existing directory it is created in, rel the components created below it.
func (h *hierInfo) parentPlan(parent string) (base string, rel []string, err error) {
	switch {
	case parent == "":
		base, err = h.dirOf(h.own)
		rel = []string{defaultParent}
	case strings.HasPrefix(parent, "/"):
		// Absolute: from the hierarchy's root. Only the mounted part is
		// visible; a path inside it is mapped, any other path is taken as
		// relative to the mount.
		p := path.Clean(parent)
		root := path.Clean("/" + h.mountRoot)
		if root != "/" && strings.HasPrefix(p, root+"/") {
			p = p[len(root):]
		}
		base = h.mount
		rel = strings.Split(strings.TrimPrefix(p, "/"), "/")
	default:
		base, err = h.dirOf(h.own)
		rel = strings.Split(path.Clean(parent), "/")
	}
	return base, rel, err
}

// validParent checks a parent argument: no "..", no empty path.
func validParent(parent string) error {
	if parent == "" {
		return nil
	}
	p := strings.TrimPrefix(parent, "/")
	if p == "" {
		return fmt.Errorf("cgroup parent %q: the hierarchy root cannot be pycage's parent", parent)
	}
	for c := range strings.SplitSeq(p, "/") {
		if c == "" || c == "." || c == ".." {
			return fmt.Errorf("cgroup parent %q: empty, . or .. component", parent)
		}
	}
	return nil
}

// detect finds the v1 hierarchies that hold managed controllers and the
// unified hierarchy (nil when not mounted) from the texts of
// /proc/self/mountinfo and /proc/self/cgroup.
func detect(mountinfo, selfCgroup string) (v1 []hierInfo, v2 *hierInfo) {
	mounts := parseMountinfo(mountinfo)
	// Prefer mounts under /sys/fs/cgroup, then mount order.
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.HasPrefix(mounts[i].mountPoint, "/sys/fs/cgroup") &&
			!strings.HasPrefix(mounts[j].mountPoint, "/sys/fs/cgroup")
	})
	for _, cl := range parseProcCgroup(selfCgroup) {
		if cl.v2 {
			for _, me := range mounts {
				if me.fsType != "cgroup2" {
					continue
				}
				h := hierInfo{v2: true, mount: me.mountPoint, mountRoot: me.root, own: cl.path,
					readOnly: slices.Contains(me.opts, "ro")}
				if _, err := h.dirOf(cl.path); err == nil {
					v2 = &h
					break
				}
			}
			continue
		}
		var ours []string
		for _, c := range cl.controllers {
			if slices.Contains(managedControllers, c) {
				ours = append(ours, c)
			}
		}
		if len(ours) == 0 {
			continue
		}
		for _, me := range mounts {
			if me.fsType != "cgroup" || !sameSet(v1Controllers(me.superOpts), cl.controllers) {
				continue
			}
			h := hierInfo{controllers: ours, mount: me.mountPoint, mountRoot: me.root, own: cl.path,
				readOnly: slices.Contains(me.opts, "ro")}
			if _, err := h.dirOf(cl.path); err == nil {
				v1 = append(v1, h)
				break
			}
		}
	}
	return v1, v2
}

// v1Controllers returns the controllers and name= options of a v1 mount's
// super options (dropping rw, ro and other flags).
func v1Controllers(superOpts []string) []string {
	var out []string
	for _, o := range superOpts {
		switch {
		case strings.HasPrefix(o, "name="):
			out = append(out, o)
		case o == "rw" || o == "ro" || strings.Contains(o, "=") ||
			o == "noprefix" || o == "clone_children" || o == "xattr" || o == "cpuset_v2_mode" ||
			o == "all" || o == "none" || o == "favordynmods":
		default:
			out = append(out, o)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
