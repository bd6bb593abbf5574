package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// hierarchy is one hierarchy pycage uses, with pycage's parent group in it.
type hierarchy struct {
	hierInfo
	base    string   // existing group the parent was created in
	parent  string   // directory of pycage's parent group
	created []string // directories Open created, top-down
	err     error    // why the hierarchy is unusable; nil when usable
	ctrls   []string // v2: controllers run groups get (the parent's subtree_control)
}

// where describes the hierarchy for messages: "v1 /sys/fs/cgroup/memory/pycage".
func (h *hierarchy) where() string {
	v, d := "v1", h.parent
	if h.v2 {
		v = "v2"
	}
	if d == "" {
		d = h.mount
	}
	return v + " " + d
}

// Manager knows where every controller lives and owns pycage's parent
// groups. Open it once per process; it is safe for concurrent use.
type Manager struct {
	parentArg  string
	all        []*hierarchy          // every hierarchy considered, in detection order
	hiers      []*hierarchy          // the usable ones, unified first
	ctrl       map[string]*hierarchy // usable controller -> hierarchy
	why        map[string]string     // controller -> why it is not usable
	unified    *hierarchy            // nil when not mounted or not writable
	unifiedWhy string                // why the unified hierarchy is not used
	cgroupKill bool                  // the unified hierarchy has cgroup.kill
	swapCtl    bool                  // memory.memsw.* (v1) or memory.swap.max (v2) exists
	swapOn     bool                  // the host has swap enabled
	cpusetMems string                // v1 cpuset.mems to copy into run groups (when clone_children is off)
	// splitSubtree is what a split run group writes to its v2
	// cgroup.subtree_control: "+pids" when pids is on v2, else "".
	splitSubtree string
	memFlat      bool // v1 memory.use_hierarchy is 0 in the parent (old kernels)
	owner        runOwner
	tag          string
	seq          atomic.Uint64
	warnMu       sync.Mutex
	warnings     []string
}

// Open detects where each controller lives, creates the parent group in
// every hierarchy used and removes stale run groups of dead pycage processes.
//
// parent "" means "pycage" nested under the cgroup this process runs in, in
// each hierarchy (pycage never moves itself). A relative parent is nested the
// same way; an absolute parent ("/x") is taken from each hierarchy's root (as
// far as it is mounted visibly).
func Open(parent string) (*Manager, error) {
	return open(parent, openOptions{})
}

// openOptions change detection for tests.
type openOptions struct {
	noUnified bool // ignore the unified hierarchy (behave like a v1-only host)
}

func open(parent string, o openOptions) (*Manager, error) {
	if err := validParent(parent); err != nil {
		return nil, err
	}
	mi, err := readFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	sc, err := readFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	v1, v2 := detect(mi, sc)
	if o.noUnified {
		v2 = nil
	}
	ns, err := pidNamespace()
	if err != nil {
		return nil, err
	}
	st, ok := procStartTime(os.Getpid())
	if !ok {
		return nil, errors.New("cgroup: cannot read /proc/self/stat")
	}
	m := &Manager{
		parentArg: parent,
		ctrl:      make(map[string]*hierarchy),
		why:       make(map[string]string),
		owner:     runOwner{pidns: ns, pid: os.Getpid(), starttime: st},
	}
	m.tag = ownerTag(m.owner)

	onV1 := make(map[string]bool)
	for _, hi := range v1 {
		for _, c := range hi.controllers {
			onV1[c] = true
		}
	}
	var want []string
	for _, c := range v2Wanted {
		if !onV1[c] {
			want = append(want, c)
		}
	}
	// The unified hierarchy first: when it works (with cgroup.kill), v1
	// hierarchies holding only cpuacct or freezer are not needed.
	if v2 == nil {
		m.unifiedWhy = "not mounted"
		if o.noUnified {
			m.unifiedWhy = "disabled"
		}
	} else {
		h := &hierarchy{hierInfo: *v2}
		m.all = append(m.all, h)
		h.err = m.setupParent(h)
		if h.err != nil {
			m.unifiedWhy = h.err.Error()
			for _, c := range want {
				m.why[c] = "v2 " + h.err.Error()
			}
		} else {
			m.unified = h
			m.hiers = append(m.hiers, h)
			m.cgroupKill = exists(h.parent + "/cgroup.kill")
			m.enableV2(h, want)
			for _, c := range h.ctrls {
				if slices.Contains(want, c) {
					m.ctrl[c] = h
				}
			}
		}
	}
	for _, hi := range v1 {
		if m.unified != nil && m.cgroupKill && !slices.ContainsFunc(hi.controllers, func(c string) bool {
			return c != "cpuacct" && c != "freezer"
		}) {
			continue // v2 core: cpu.stat and cgroup.kill
		}
		h := &hierarchy{hierInfo: hi}
		m.all = append(m.all, h)
		h.err = m.setupParent(h)
		if h.err == nil && slices.Contains(h.controllers, "cpuset") {
			if err := m.setupCpusetV1(h); err != nil {
				// Only cpuset is lost; a co-mounted controller stays usable.
				m.why["cpuset"] = "v1 " + err.Error()
			}
		}
		for _, c := range h.controllers {
			switch {
			case h.err != nil:
				m.why[c] = "v1 " + h.err.Error()
			case m.why[c] == "":
				m.ctrl[c] = h
			}
		}
		if h.err == nil {
			m.hiers = append(m.hiers, h)
		}
	}
	for _, c := range managedControllers {
		if m.ctrl[c] == nil && m.why[c] == "" {
			switch {
			case c == "cpuacct" || c == "freezer":
				// v2 has them in its core (cpu.stat, cgroup.kill/freeze).
			case m.unified != nil:
				m.why[c] = "not mounted on v1 and not available in the unified hierarchy"
			default:
				m.why[c] = "not mounted"
			}
		}
	}
	if mem := m.ctrl["memory"]; mem != nil {
		if mem.v2 {
			m.swapCtl = exists(mem.parent + "/memory.swap.max")
		} else {
			m.swapCtl = exists(mem.parent + "/memory.memsw.limit_in_bytes")
		}
	}
	m.swapOn = swapActive()
	if u := m.unified; u != nil && m.ctrl["pids"] == u {
		m.splitSubtree = "+pids"
	}
	if mem := m.ctrl["memory"]; mem != nil && !mem.v2 {
		if v, err := readFile(mem.parent + "/memory.use_hierarchy"); err == nil && strings.TrimSpace(v) == "0" {
			m.memFlat = true
		}
	}
	if len(m.hiers) == 0 {
		var reasons []string
		for _, h := range m.all {
			reasons = append(reasons, h.where()+": "+errName(h.err))
		}
		if v2 == nil && len(m.all) == 0 {
			reasons = append(reasons, "no cgroup hierarchy is mounted")
		}
		return nil, fmt.Errorf("cgroup: no usable hierarchy (%s)", strings.Join(reasons, "; "))
	}
	if _, err := m.CleanStale(); err != nil {
		m.warn(err.Error())
	}
	return m, nil
}

func (m *Manager) warn(s string) {
	m.warnMu.Lock()
	m.warnings = append(m.warnings, s)
	m.warnMu.Unlock()
}

// Warnings returns problems Open and CleanStale met that did not stop them.
func (m *Manager) Warnings() []string {
	m.warnMu.Lock()
	defer m.warnMu.Unlock()
	return slices.Clone(m.warnings)
}

// setupParent creates the missing directories of pycage's parent group.
func (m *Manager) setupParent(h *hierarchy) error {
	base, rel, err := h.parentPlan(m.parentArg)
	if err != nil {
		return err
	}
	dir := base
	for _, c := range rel {
		dir = dir + "/" + c
		err := unix.Mkdir(dir, 0o755)
		switch err {
		case nil:
			h.created = append(h.created, dir)
		case unix.EEXIST:
		default:
			return &opError{"mkdir", dir, err}
		}
	}
	h.base, h.parent = base, dir
	return nil
}

// ownedDirs are the directories of the parent chain pycage may configure:
// the ones Open created, and the default parent, which is pycage's by name.
func (m *Manager) ownedDirs(h *hierarchy) []string {
	dirs := slices.Clone(h.created)
	if m.parentArg == "" && !slices.Contains(dirs, h.parent) {
		dirs = append(dirs, h.parent)
	}
	return dirs
}

// setupCpusetV1 gives the owned groups of the parent chain the cpus and mems
// of their parents (v1 leaves them empty, and an empty cpuset takes no
// tasks) and sets cgroup.clone_children in the parent, so that run groups
// inherit them without writes on the hot path.
func (m *Manager) setupCpusetV1(h *hierarchy) error {
	owned := m.ownedDirs(h)
	// The parent's values as read or written here, so that they are not
	// read twice when the parent is one of the owned groups.
	known := map[string]string{}
	for _, dir := range owned {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := readFile(dir + "/" + f)
			if err != nil {
				return err
			}
			if strings.TrimSpace(v) == "" {
				pv, err := readFile(path.Dir(dir) + "/" + f)
				if err != nil {
					return err
				}
				v = strings.TrimSpace(pv)
				if err := writeFile(dir+"/"+f, v); err != nil {
					return err
				}
			}
			if dir == h.parent {
				known[f] = v
			}
		}
	}
	read := func(f string) (string, error) {
		if v, ok := known[f]; ok {
			return v, nil
		}
		return readFile(h.parent + "/" + f)
	}
	mems, err := read("cpuset.mems")
	if err != nil {
		return err
	}
	cpus, err := read("cpuset.cpus")
	if err != nil {
		return err
	}
	if strings.TrimSpace(mems) == "" || strings.TrimSpace(cpus) == "" {
		return fmt.Errorf("%s: cpuset.cpus or cpuset.mems is empty and pycage did not create the group", h.parent)
	}
	clone, err := readFile(h.parent + "/cgroup.clone_children")
	if err != nil {
		return err
	}
	if strings.TrimSpace(clone) != "1" {
		if slices.Contains(owned, h.parent) {
			if err := writeFile(h.parent+"/cgroup.clone_children", "1"); err != nil {
				return err
			}
		} else {
			m.cpusetMems = strings.TrimSpace(mems)
		}
	}
	return nil
}

// enableV2 enables the wanted controllers top-down in the owned groups of the
// parent chain, then records what run groups get and why the rest is missing.
func (m *Manager) enableV2(h *hierarchy, want []string) {
	owned := m.ownedDirs(h)
	// The parent's files as read here when nothing was written to them:
	// not read twice (Open runs in every pycage process).
	var parentAvail, parentSub string
	parentKnown := false
	for _, dir := range owned {
		avail, err := readFile(dir + "/cgroup.controllers")
		if err != nil {
			m.warn(err.Error())
			break
		}
		cur, err := readFile(dir + "/cgroup.subtree_control")
		if err != nil {
			m.warn(err.Error())
			break
		}
		var add []string
		for _, c := range want {
			if slices.Contains(strings.Fields(avail), c) && !slices.Contains(strings.Fields(cur), c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) == 0 {
			if dir == h.parent {
				parentAvail, parentSub, parentKnown = avail, cur, true
			}
			continue
		}
		f := dir + "/cgroup.subtree_control"
		if writeFile(f, strings.Join(add, " ")) != nil {
			// Find out which one fails, keep the others.
			for _, a := range add {
				if err := writeFile(f, a); err != nil {
					m.why[a[1:]] = "v2 " + err.Error()
				}
			}
		}
	}
	sub, avail := parentSub, parentAvail
	if !parentKnown {
		var err error
		if sub, err = readFile(h.parent + "/cgroup.subtree_control"); err != nil {
			m.warn(err.Error())
		}
		avail, _ = readFile(h.parent + "/cgroup.controllers")
	}
	h.ctrls = strings.Fields(sub)
	delegator := path.Dir(h.parent)
	if len(owned) > 0 {
		delegator = path.Dir(owned[0])
	}
	// The delegator's controllers only explain a missing controller.
	delegated := sync.OnceValue(func() string {
		s, _ := readFile(delegator + "/cgroup.controllers")
		return s
	})
	for _, c := range want {
		if slices.Contains(h.ctrls, c) || m.why[c] != "" {
			continue
		}
		switch {
		case slices.Contains(strings.Fields(avail), c):
			m.why[c] = fmt.Sprintf("v2 %s: %s is not enabled in its cgroup.subtree_control, and pycage does not change a group it did not create", h.parent, c)
		case !slices.Contains(strings.Fields(delegated()), c):
			m.why[c] = fmt.Sprintf("v2 %s: %s is not available in %s (not in its cgroup.controllers)", h.parent, c, delegator)
		default:
			m.why[c] = fmt.Sprintf("v2 %s: %s is not delegated by %s: it must be enabled in %s/cgroup.subtree_control, "+
				"which requires that group to hold no processes; delegate a process-free group and pass it with --cgroup-parent",
				h.parent, c, delegator, delegator)
		}
	}
}

// Describe says which controller is used on which version and path.
func (m *Manager) Describe() string {
	var b strings.Builder
	p := m.parentArg
	if p == "" {
		p = defaultParent + " (nested in this process's cgroups)"
	}
	fmt.Fprintf(&b, "cgroup parent: %s\n", p)
	for _, c := range managedControllers {
		h := m.ctrl[c]
		switch {
		case c == "cpuacct" && m.unified != nil:
			fmt.Fprintf(&b, "  %-8s v2 core cpu.stat in %s\n", c, m.unified.parent)
		case c == "freezer" && m.unified != nil && m.cgroupKill:
			fmt.Fprintf(&b, "  %-8s not needed (v2 cgroup.kill)\n", c)
		case h != nil:
			fmt.Fprintf(&b, "  %-8s %s\n", c, h.where())
		default:
			fmt.Fprintf(&b, "  %-8s unavailable: %s\n", c, m.why[c])
		}
	}
	switch {
	case m.ctrl["memory"] == nil:
	case m.swapCtl:
		fmt.Fprintf(&b, "  swap     limited with memory (swap on host: %v)\n", m.swapOn)
	default:
		fmt.Fprintf(&b, "  swap     cannot be limited (no memsw/swap.max; swap on host: %v)\n", m.swapOn)
	}
	if u := m.unified; u != nil {
		ctrls := strings.Join(u.ctrls, " ")
		if ctrls == "" {
			ctrls = "none"
		}
		fmt.Fprintf(&b, "  unified  v2 %s (controllers for runs: %s; cgroup.kill: %v; CLONE_INTO_CGROUP)\n", u.parent, ctrls, m.cgroupKill)
	} else {
		fmt.Fprintf(&b, "  unified  unused: %s\n", m.unifiedWhy)
	}
	fmt.Fprintf(&b, "  teardown %s\n", m.teardown())
	return b.String()
}

func (m *Manager) teardown() string {
	switch {
	case m.unified != nil && m.cgroupKill:
		return "v2 cgroup.kill"
	case m.ctrl["freezer"] != nil:
		return "v1 freezer (freeze, SIGKILL, thaw)"
	default:
		return "kill loop over cgroup.procs"
	}
}

// Supports reports whether a limit or feature can be enforced: "memory",
// "memory.swap", "pids", "cpu" (bandwidth), "cpuacct" (usage accounting),
// "cpuset", "unified" (a v2 group: CLONE_INTO_CGROUP), "kill" (exact
// teardown with cgroup.kill or the v1 freezer).
func (m *Manager) Supports(what string) bool {
	switch what {
	case "memory", "pids", "cpu", "cpuset":
		return m.ctrl[what] != nil
	case "memory.swap":
		return m.ctrl["memory"] != nil && m.swapCtl
	case "cpuacct":
		return m.unified != nil || m.ctrl["cpuacct"] != nil
	case "unified":
		return m.unified != nil
	case "kill", "freezer":
		return (m.unified != nil && m.cgroupKill) || m.ctrl["freezer"] != nil
	}
	return false
}

// Why says why Supports(what) is false ("" when it is true or unknown).
func (m *Manager) Why(what string) string {
	if what == "memory.swap" && m.ctrl["memory"] != nil && !m.swapCtl {
		return "no memory.memsw.limit_in_bytes / memory.swap.max (swap accounting is off)"
	}
	if what == "memory.swap" {
		what = "memory"
	}
	if m.Supports(what) {
		return ""
	}
	return m.why[what]
}

// Parents returns the directories of pycage's parent group, one per usable
// hierarchy.
func (m *Manager) Parents() []string {
	var out []string
	for _, h := range m.hiers {
		out = append(out, h.parent)
	}
	return out
}

// Close releases the Manager. Groups it made stay valid until removed.
// The parent groups are kept (other pycage processes may share them); see
// RemoveParents.
func (m *Manager) Close() error { return nil }

// RemoveParents removes the parent-group directories this Manager created
// (deepest first). It fails with EBUSY while they hold run groups.
func (m *Manager) RemoveParents() error {
	var errs []error
	for _, h := range m.all {
		for i := len(h.created) - 1; i >= 0; i-- {
			if err := unix.Rmdir(h.created[i]); err != nil && err != unix.ENOENT {
				errs = append(errs, &opError{"rmdir", h.created[i], err})
				break
			}
		}
	}
	return errors.Join(errs...)
}

// CleanStale kills and removes run groups in the parent groups whose owner
// (a pycage process of this pid namespace, identified by pid and start time)
// no longer exists. Groups of live pycage processes and of other pid
// namespaces are left alone. Open calls it; the service may call it again.
func (m *Manager) CleanStale() ([]string, error) {
	var names []string
	// A live run's group is in every hierarchy: its owner is looked up
	// once (a /proc read each), not once per hierarchy.
	stale := map[runOwner]bool{}
	for _, h := range m.hiers {
		ents, err := os.ReadDir(h.parent)
		if err != nil {
			m.warn(fmt.Sprintf("read %s: %v", h.parent, err))
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || slices.Contains(names, e.Name()) {
				continue
			}
			o, ok := parseRunName(e.Name())
			if !ok {
				continue
			}
			st, seen := stale[o]
			if !seen {
				st = m.stale(o)
				stale[o] = st
			}
			if st {
				names = append(names, e.Name())
			}
		}
	}
	var errs []error
	for _, n := range names {
		if err := m.attach(n).Remove(); err != nil {
			errs = append(errs, fmt.Errorf("stale cgroup %s: %w", n, err))
		}
	}
	return names, errors.Join(errs...)
}

func (m *Manager) stale(o runOwner) bool {
	if o.pidns != m.owner.pidns || o == m.owner {
		return false
	}
	st, alive := procStartTime(o.pid)
	return !alive || st != o.starttime
}

// attach builds a Group of the existing directories named name.
func (m *Manager) attach(name string) *Group {
	g := newGroupValue(m, name)
	for _, h := range m.hiers {
		if dir := h.parent + "/" + name; exists(dir) {
			p := g.addPart(h, dir)
			p.sub = subgroups(dir)
			if slices.Contains(p.sub, dir+"/"+initLeaf) && slices.Contains(p.sub, dir+"/"+cmdLeaf) {
				p.init, p.cmd = dir+"/"+initLeaf, dir+"/"+cmdLeaf
				g.split = true
			}
		}
	}
	return g
}

// subgroups lists the groups below dir, deepest first (the order rmdir
// needs). A split run group has two leaves; any other nesting found in a
// stale group is removed as well.
func subgroups(dir string) []string {
	var out []string
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range ents {
		if e.IsDir() {
			sub := dir + "/" + e.Name()
			out = append(out, subgroups(sub)...)
			out = append(out, sub)
		}
	}
	return out
}
