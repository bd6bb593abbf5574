package cgroup

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Limits are the cgroup limits of one run. Zero means no limit.
type Limits struct {
	// Memory in bytes. Swap is disabled with it: v1
	// memory.memsw.limit_in_bytes = Memory, v2 memory.swap.max = 0.
	Memory int64
	// MemorySwap, if > 0, is the total of memory and swap (v1 memsw; v2
	// memory.swap.max = MemorySwap-Memory). Alone, it is also the memory limit.
	MemorySwap int64
	// Pids is the most tasks (threads) of the run; with SplitCommand, of
	// the command's subgroup only.
	Pids int64
	// CPUMsPerSec is CPU bandwidth: ms of CPU time per 1000 ms of wall time
	// (it may exceed 1000 on several CPUs). It is applied with a 100 ms
	// period (quota CPUMsPerSec*100 us), or a 1 s period below 10 ms/s,
	// which the kernel's 1 ms minimum quota requires.
	CPUMsPerSec int64
	// CPUs is a cpuset list like "0-1" or "0"; "" inherits the parent's.
	CPUs string
	// AllowWeaker skips limits this host cannot enforce instead of failing;
	// Group.Weakened lists them.
	AllowWeaker bool
	// SplitCommand gives the run two leaf subgroups in every hierarchy it
	// uses: <run>/init for the jail's init (UnifiedFD, Add) and <run>/cmd
	// for the user's command (CommandProcs). The memory, swap, CPU and
	// cpuset limits stay on <run> and cover both; the pids limit applies to
	// <run>/cmd only, so that init's threads do not count against it.
	SplitCommand bool
}

func (l *Limits) validate() error {
	if l.Memory < 0 || l.MemorySwap < 0 || l.Pids < 0 || l.CPUMsPerSec < 0 {
		return fmt.Errorf("cgroup: negative limit in %+v", *l)
	}
	if l.MemorySwap > 0 && l.Memory > 0 && l.MemorySwap < l.Memory {
		return fmt.Errorf("cgroup: memory+swap limit %d is below the memory limit %d", l.MemorySwap, l.Memory)
	}
	if l.Memory > 0 && l.Memory < 4096 || l.MemorySwap > 0 && l.MemorySwap < 4096 {
		return fmt.Errorf("cgroup: memory limit below one page")
	}
	for _, r := range l.CPUs {
		if (r < '0' || r > '9') && r != ',' && r != '-' {
			return fmt.Errorf("cgroup: bad cpu list %q", l.CPUs)
		}
	}
	return nil
}

// part is the run's directory in one hierarchy.
type part struct {
	h    *hierarchy
	dir  string   // the run group
	init string   // split: the init leaf (dir+"/init"); "" otherwise
	cmd  string   // split: the command leaf (dir+"/cmd"); "" otherwise
	sub  []string // subgroups of dir, deepest first: removed before dir
	gone atomic.Bool
}

// entry is where Add and UnifiedFD place processes: the init leaf of a split
// group, else the run group.
func (p *part) entry() string {
	if p.init != "" {
		return p.init
	}
	return p.dir
}

// all returns every group of the part, subgroups first.
func (p *part) all() []string {
	if len(p.sub) == 0 {
		return []string{p.dir}
	}
	return append(slices.Clone(p.sub), p.dir)
}

// Subgroup names of a split run group.
const (
	initLeaf = "init"
	cmdLeaf  = "cmd"
)

// Group is one run's cgroup: a directory of the same name in every
// hierarchy it needs. Its methods are safe for concurrent use.
type Group struct {
	m        *Manager
	name     string
	parts    []*part // the unified part first
	uni      *part   // v2 part (core files; controllers on pure v2)
	mem      *part
	pids     *part
	cpu      *part
	cpuset   *part
	freezer  *part
	acct     *part // CPU usage: v2 cpu.stat or v1 cpuacct.usage
	split    bool  // every part has the init and cmd leaves
	weakened []string

	mu     sync.Mutex // guards the fds
	ufd    int
	fdUsed bool
	acctFd int
	// statFDs are the files Stats reads, kept open from its first call
	// (pread then gives the current values): a run's final Stats costs no
	// path lookups when Stats ran once before (a prepared jail's group).
	statFDs map[string]int
	rmMu    sync.Mutex // serialises Remove
	removed atomic.Bool
}

func newGroupValue(m *Manager, name string) *Group {
	return &Group{m: m, name: name, ufd: -1, acctFd: -1}
}

// addPart adds the directory of hierarchy h and gives it the roles of the
// controllers h provides.
func (g *Group) addPart(h *hierarchy, dir string) *part {
	p := &part{h: h, dir: dir}
	if h.v2 {
		g.parts = append([]*part{p}, g.parts...)
		g.uni = p
		g.acct = p
	} else {
		g.parts = append(g.parts, p)
		if g.acct == nil && g.m.ctrl["cpuacct"] == h {
			g.acct = p
		}
	}
	for c, hh := range g.m.ctrl {
		if hh != h {
			continue
		}
		switch c {
		case "memory":
			g.mem = p
		case "pids":
			g.pids = p
		case "cpu":
			g.cpu = p
		case "cpuset":
			g.cpuset = p
		case "freezer":
			g.freezer = p
		}
	}
	return p
}

// New creates one run's group in every hierarchy needed for the limits and
// for accounting, and applies the limits. A limit that cannot be enforced is
// an error naming the controller and why, unless l.AllowWeaker.
func (m *Manager) New(l Limits) (*Group, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	need, weak, err := m.needs(&l)
	if err != nil {
		return nil, err
	}
	g := newGroupValue(m, runName(m.tag, m.seq.Add(1)))
	g.weakened = weak
	g.split = l.SplitCommand
	for _, h := range need {
		dir := h.parent + "/" + g.name
		if err := unix.Mkdir(dir, 0o755); err != nil {
			g.Remove()
			return nil, &opError{"mkdir", dir, err}
		}
		g.addPart(h, dir)
	}
	if err := g.apply(&l); err != nil {
		g.Remove()
		return nil, err
	}
	return g, nil
}

// prepareSplit readies the run group of p for its leaves, before they are
// created. On v2 it enables pids in the run group's cgroup.subtree_control
// (pycage created the group, and it holds no processes), for the cmd leaf's
// pids.max. Memory, cpu and cpuset are deliberately not enabled there: their
// limits on the run group cover its whole subtree anyway, the leaves' processes
// are then charged to the run group's own memcg and CPU group (so its
// memory.events counts their OOM kills even with memory_localevents), and
// each enabled domain controller would cost a css per leaf on every run.
// In a v1 memory hierarchy whose parent is not hierarchical
// (memory.use_hierarchy 0, possible before Linux 5.11) the run group is made
// hierarchical, so that its limit covers the leaves.
func (g *Group) prepareSplit(p *part) error {
	if p.h.v2 {
		if g.m.splitSubtree != "" {
			return writeFile(p.dir+"/cgroup.subtree_control", g.m.splitSubtree)
		}
		return nil
	}
	if p == g.mem && g.m.memFlat {
		return writeFile(p.dir+"/memory.use_hierarchy", "1")
	}
	return nil
}

// makeLeaves creates the init and cmd leaves of p. A v1 cpuset leaf
// inherits the run group's cpus and mems (cgroup.clone_children, inherited
// from pycage's parent) unless the parent lacks it; then they are copied.
func (g *Group) makeLeaves(p *part, l *Limits) error {
	for _, name := range []string{cmdLeaf, initLeaf} {
		dir := p.dir + "/" + name
		if err := unix.Mkdir(dir, 0o755); err != nil {
			return &opError{"mkdir", dir, err}
		}
		p.sub = append(p.sub, dir)
		if name == cmdLeaf {
			p.cmd = dir
		} else {
			p.init = dir
		}
		if p == g.cpuset && !p.h.v2 && g.m.cpusetMems != "" && l.CPUs != "" {
			if err := writeFile(dir+"/cpuset.cpus", l.CPUs); err != nil {
				return err
			}
			if err := writeFile(dir+"/cpuset.mems", g.m.cpusetMems); err != nil {
				return err
			}
		}
	}
	return nil
}

// needs returns the hierarchies a run with limits l needs, and the limits
// that are skipped (AllowWeaker) or the error for the first unenforceable one.
func (m *Manager) needs(l *Limits) ([]*hierarchy, []string, error) {
	var need []*hierarchy
	var weak []string
	add := func(h *hierarchy) {
		if h != nil && !slices.Contains(need, h) {
			need = append(need, h)
		}
	}
	require := func(c, desc string, clear func()) error {
		if m.ctrl[c] != nil {
			add(m.ctrl[c])
			return nil
		}
		msg := fmt.Sprintf("cgroup %s: no writable %s controller (%s)", c, desc, m.why[c])
		if !l.AllowWeaker {
			return errors.New(msg)
		}
		weak = append(weak, msg)
		clear()
		return nil
	}
	add(m.unified)
	if l.Memory > 0 || l.MemorySwap > 0 {
		if err := require("memory", "memory", func() { l.Memory, l.MemorySwap = 0, 0 }); err != nil {
			return nil, nil, err
		}
		if m.ctrl["memory"] != nil && !m.swapCtl && m.swapOn {
			msg := fmt.Sprintf("cgroup memory.swap: swap is enabled on this host but cannot be limited in %s (no memsw / memory.swap.max)", m.ctrl["memory"].where())
			if !l.AllowWeaker {
				return nil, nil, errors.New(msg)
			}
			weak = append(weak, msg)
		}
	} else {
		add(m.ctrl["memory"]) // peak and OOM accounting
	}
	if l.Pids > 0 {
		if err := require("pids", "pids", func() { l.Pids = 0 }); err != nil {
			return nil, nil, err
		}
	}
	if l.CPUMsPerSec > 0 {
		if err := require("cpu", "cpu bandwidth", func() { l.CPUMsPerSec = 0 }); err != nil {
			return nil, nil, err
		}
	}
	if l.CPUs != "" {
		if err := require("cpuset", "cpuset", func() { l.CPUs = "" }); err != nil {
			return nil, nil, err
		}
	}
	if m.unified == nil {
		add(m.ctrl["cpuacct"])
	}
	if m.unified == nil || !m.cgroupKill {
		add(m.ctrl["freezer"])
	}
	if len(need) == 0 {
		return nil, nil, errors.New("cgroup: no usable hierarchy for this run")
	}
	return need, weak, nil
}

// apply writes the limits, and creates the leaves of a split group (after
// the run group's own limits, before the pids limit of the cmd leaf). Only
// limits that are set are written.
func (g *Group) apply(l *Limits) error {
	if g.split {
		for _, p := range g.parts {
			if err := g.prepareSplit(p); err != nil {
				return err
			}
		}
	}
	if err := g.applyRun(l); err != nil {
		return err
	}
	if g.split {
		for _, p := range g.parts {
			if err := g.makeLeaves(p, l); err != nil {
				return err
			}
		}
	}
	if p := g.pids; p != nil && l.Pids > 0 {
		dir := p.dir
		if g.split {
			dir = p.cmd
		}
		if err := writeFile(dir+"/pids.max", strconv.FormatInt(l.Pids, 10)); err != nil {
			return err
		}
	}
	return nil
}

// applyRun writes the limits that belong on the run group itself: memory,
// swap, CPU bandwidth, cpuset.
func (g *Group) applyRun(l *Limits) error {
	mem, total := l.Memory, l.MemorySwap
	if mem == 0 {
		mem = total
	}
	if total == 0 {
		total = mem
	}
	if p := g.mem; p != nil && mem > 0 {
		if p.h.v2 {
			if err := writeFile(p.dir+"/memory.max", strconv.FormatInt(mem, 10)); err != nil {
				return err
			}
			if g.m.swapCtl {
				if err := writeFile(p.dir+"/memory.swap.max", strconv.FormatInt(total-mem, 10)); err != nil {
					return err
				}
			}
		} else {
			// The memory limit first: memsw may never be below it.
			if err := writeFile(p.dir+"/memory.limit_in_bytes", strconv.FormatInt(mem, 10)); err != nil {
				return err
			}
			if g.m.swapCtl {
				if err := writeFile(p.dir+"/memory.memsw.limit_in_bytes", strconv.FormatInt(total, 10)); err != nil {
					return err
				}
			}
		}
	}
	if p := g.cpu; p != nil && l.CPUMsPerSec > 0 {
		period, quota := int64(100000), l.CPUMsPerSec*100
		if l.CPUMsPerSec < 10 {
			period, quota = 1000000, l.CPUMsPerSec*1000
		}
		if p.h.v2 {
			if err := writeFile(p.dir+"/cpu.max", strconv.FormatInt(quota, 10)+" "+strconv.FormatInt(period, 10)); err != nil {
				return err
			}
		} else {
			if period != 100000 {
				if err := writeFile(p.dir+"/cpu.cfs_period_us", strconv.FormatInt(period, 10)); err != nil {
					return err
				}
			}
			if err := writeFile(p.dir+"/cpu.cfs_quota_us", strconv.FormatInt(quota, 10)); err != nil {
				return err
			}
		}
	}
	if p := g.cpuset; p != nil && l.CPUs != "" {
		if err := writeFile(p.dir+"/cpuset.cpus", l.CPUs); err != nil {
			return err
		}
		if !p.h.v2 && g.m.cpusetMems != "" {
			if err := writeFile(p.dir+"/cpuset.mems", g.m.cpusetMems); err != nil {
				return err
			}
		}
	}
	return nil
}

// Name is the run group's directory name (the same in every hierarchy).
func (g *Group) Name() string { return g.name }

// Dirs returns the run's directory in every hierarchy, the unified one first.
func (g *Group) Dirs() []string {
	var out []string
	for _, p := range g.parts {
		out = append(out, p.dir)
	}
	return out
}

// Weakened lists the limits that were skipped because of Limits.AllowWeaker.
func (g *Group) Weakened() []string { return slices.Clone(g.weakened) }

// UnifiedFD returns an O_PATH directory fd of the run's v2 group (its init
// leaf with SplitCommand) for CLONE_INTO_CGROUP
// (syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}); ok is false when
// the group has no v2 part. The fd belongs to the Group (closed by Remove).
// After UnifiedFD, Add skips the v2 part: the caller promises to start the
// process with the fd; if it cannot, use AddAll.
func (g *Group) UnifiedFD() (fd int, ok bool) {
	if g.uni == nil {
		return -1, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ufd < 0 {
		if g.removed.Load() {
			return -1, false
		}
		fd, err := openRetry(g.uni.entry(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
		if err != nil {
			return -1, false
		}
		g.ufd = fd
	}
	g.fdUsed = true
	return g.ufd, true
}

// Add puts pid (the whole process) into the group (its init leaf with
// SplitCommand) in every hierarchy where CLONE_INTO_CGROUP did not place it:
// all v1 parts, and the v2 part unless UnifiedFD was called. Call it before
// the process may allocate memory or fork (for example before sending it its
// work over a pipe).
func (g *Group) Add(pid int) error {
	g.mu.Lock()
	skipUni := g.fdUsed
	g.mu.Unlock()
	return g.add(pid, skipUni)
}

// AddAll puts pid into the group (its init leaf with SplitCommand) in every
// hierarchy, the v2 part included.
func (g *Group) AddAll(pid int) error { return g.add(pid, false) }

func (g *Group) add(pid int, skipUni bool) error {
	s := strconv.Itoa(pid)
	for _, p := range g.parts {
		if p == g.uni && skipUni {
			continue
		}
		if err := writeFile(p.entry()+"/cgroup.procs", s); err != nil {
			return err
		}
	}
	return nil
}

// CommandProcs opens the cgroup.procs file of the cmd leaf in every
// hierarchy of a SplitCommand group, write-only and close-on-exec. The file
// of the hierarchy holding the pids limit comes last. The caller owns (and
// closes) the files.
//
// They let the command's stage process, whatever its uid, join the cmd leaf
// by writing "0" (itself, with all its threads) to each of them, in order,
// right before execve. Migration is not limited by pids.max, and execve ends
// the other threads, so the cmd leaf then holds exactly the command. Between
// the last write and execve the stage is over the pids limit: it must not
// create a thread or process there (a Go runtime that needs a new M then
// dies), hence raw syscalls on a locked thread, pids file last.
//
// Since Linux 5.16 the kernel checks migration permission with the
// credentials (and, on v2, the cgroup namespace) of the file's opener, so a
// root opener lets any uid move itself. Older kernels check the writer: v1
// still lets a process move itself (its euid equals its own uid), but v2
// requires the writer to be allowed to write cgroup.procs of the common
// ancestor (the run group, owned by root) and to see both groups in its
// cgroup namespace, so there the v2 write fails with EACCES or ENOENT (and
// the process would stay in the init leaf).
//
// The files grant migration with root's rights to whoever holds them: a
// holder can move any process it can name (in its pid namespace) into the
// cmd leaf. They must never reach the command: keep them close-on-exec in
// the stage and close them in init as soon as the stage has them.
func (g *Group) CommandProcs() ([]*os.File, error) {
	if !g.split {
		return nil, fmt.Errorf("cgroup %s: no command subgroup (created without SplitCommand)", g.name)
	}
	if g.removed.Load() {
		return nil, fmt.Errorf("cgroup %s: removed", g.name)
	}
	parts := slices.Clone(g.parts)
	if i := slices.Index(parts, g.pids); i >= 0 {
		parts = append(slices.Delete(parts, i, i+1), g.pids)
	}
	var files []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for _, p := range parts {
		if p.cmd == "" {
			return fail(fmt.Errorf("cgroup %s: no command subgroup in %s", g.name, p.dir))
		}
		file := p.cmd + "/cgroup.procs"
		fd, err := openRetry(file, unix.O_WRONLY|unix.O_CLOEXEC)
		if err != nil {
			return fail(&opError{"open", file, err})
		}
		files = append(files, os.NewFile(uintptr(fd), file))
	}
	return files, nil
}

// Procs returns the pids in the group, its leaves included (the union over
// its hierarchies).
func (g *Group) Procs() ([]int, error) {
	var all []int
	for _, p := range g.parts {
		for _, dir := range p.all() {
			s, err := readFile(dir + "/cgroup.procs")
			if err != nil {
				return all, err
			}
			for _, pid := range parseProcs(s) {
				if !slices.Contains(all, pid) {
					all = append(all, pid)
				}
			}
		}
	}
	return all, nil
}

// CPUUsage is the total user+sys CPU time of every process that ran in the
// group, its leaves included (v2 cpu.stat usage_usec, which needs no
// controller; v1 cpuacct.usage; both hierarchical). It keeps the file open
// and costs one pread.
func (g *Group) CPUUsage() (time.Duration, error) {
	p := g.acct
	if p == nil {
		return 0, fmt.Errorf("cgroup %s: no CPU accounting (no unified hierarchy, no cpuacct)", g.name)
	}
	file := p.dir + "/cpuacct.usage"
	if p.h.v2 {
		file = p.dir + "/cpu.stat"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.acctFd < 0 {
		if g.removed.Load() {
			return 0, fmt.Errorf("cgroup %s: removed", g.name)
		}
		fd, err := openRetry(file, unix.O_RDONLY|unix.O_CLOEXEC)
		if err != nil {
			return 0, &opError{"read", file, err}
		}
		g.acctFd = fd
	}
	var buf [2048]byte
	n, err := unix.Pread(g.acctFd, buf[:], 0)
	for err == unix.EINTR {
		n, err = unix.Pread(g.acctFd, buf[:], 0)
	}
	if err != nil {
		return 0, &opError{"read", file, err}
	}
	s := string(buf[:n])
	if p.h.v2 {
		d, err := parseCPUStatUsage(s)
		if err != nil {
			return 0, &opError{"parse", file, err}
		}
		return d, nil
	}
	v, err := parseSingleInt(s)
	if err != nil {
		return 0, &opError{"parse", file, err}
	}
	return time.Duration(v), nil
}

// readStat reads a file of Stats through an fd kept open (statFDs).
func (g *Group) readStat(path string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fd, ok := g.statFDs[path]
	if !ok {
		if g.removed.Load() {
			return "", &opError{"read", path, unix.ENOENT}
		}
		var err error
		if fd, err = openRetry(path, unix.O_RDONLY|unix.O_CLOEXEC); err != nil {
			return "", &opError{"read", path, err}
		}
		if g.statFDs == nil {
			g.statFDs = map[string]int{}
		}
		g.statFDs[path] = fd
	}
	var buf [4096]byte
	n, err := unix.Pread(fd, buf[:], 0)
	for err == unix.EINTR {
		n, err = unix.Pread(fd, buf[:], 0)
	}
	if err != nil {
		return "", &opError{"read", path, err}
	}
	return string(buf[:n]), nil
}

func (g *Group) readStatInt(path string) (int64, error) {
	s, err := g.readStat(path)
	return intOf(path, s, err)
}

// Stats are the counters of a run.
type Stats struct {
	CPU            time.Duration
	MemoryPeak     int64 // bytes; 0 when unknown
	OOMKills       int64
	PidsLimitHit   bool // a fork failed because of the pids limit
	MemoryLimitHit bool // the memory limit was reached (v1 failcnt, v2 memory.events max)
}

// Stats reads the run's counters: v1 memory.max_usage_in_bytes, memory.failcnt,
// memory.oom_control oom_kill, pids.events; v2 memory.peak, memory.events,
// pids.events. With SplitCommand the memory counters cover the whole run and
// PidsLimitHit is the cmd leaf's.
func (g *Group) Stats() (Stats, error) {
	var s Stats
	var errs []error
	if g.acct != nil {
		d, err := g.CPUUsage()
		s.CPU = d
		if err != nil {
			errs = append(errs, err)
		}
	}
	if p := g.mem; p != nil {
		if p.h.v2 {
			if v, err := g.readStatInt(p.dir + "/memory.peak"); err == nil {
				s.MemoryPeak = v
			} else if !errors.Is(err, unix.ENOENT) { // memory.peak needs Linux 5.19
				errs = append(errs, err)
			}
			// The leaves have no memcg of their own (prepareSplit): the
			// run group's memory.events counts everything.
			ev, err := g.readStat(p.dir + "/memory.events")
			if err != nil {
				errs = append(errs, err)
			}
			oom, max := parseMemoryEvents(ev)
			s.OOMKills, s.MemoryLimitHit = oom, max > 0 || oom > 0
		} else {
			v, err := g.readStatInt(p.dir + "/memory.max_usage_in_bytes")
			if err != nil {
				errs = append(errs, err)
			}
			s.MemoryPeak = v
			// v1 counts an OOM kill only in the victim's own group (not
			// in its ancestors): add up the leaves.
			for _, dir := range p.all() {
				oc, err := g.readStat(dir + "/memory.oom_control")
				if err != nil {
					errs = append(errs, err)
				}
				n, _ := parseMemoryEvents(oc)
				s.OOMKills += n
			}
			fc, err := g.readStatInt(p.dir + "/memory.failcnt")
			if err != nil {
				errs = append(errs, err)
			}
			s.MemoryLimitHit = fc > 0 || s.OOMKills > 0
		}
	}
	if p := g.pids; p != nil {
		dir := p.dir
		if p.cmd != "" {
			dir = p.cmd
		}
		ev, err := g.readStat(dir + "/pids.events")
		if err != nil {
			errs = append(errs, err)
		}
		s.PidsLimitHit = parsePidsEvents(ev) > 0
	}
	return s, errors.Join(errs...)
}

// Kill sends SIGKILL to every process of the group, its leaves included: v2
// cgroup.kill (of the whole subtree) when available, else the v1 freezer
// (freeze, SIGKILL each, thaw), else a kill loop until every cgroup.procs is
// empty. With cgroup.kill and the freezer the
// processes are signalled atomically; they exit asynchronously.
func (g *Group) Kill() error {
	if g.removed.Load() {
		return nil
	}
	if g.uni != nil && !g.uni.gone.Load() && g.m.cgroupKill {
		return writeFile(g.uni.dir+"/cgroup.kill", "1")
	}
	if g.freezer != nil && !g.freezer.gone.Load() {
		return g.freezeKill()
	}
	return g.killLoop(2 * time.Second)
}

func (g *Group) freezeKill() error {
	st := g.freezer.dir + "/freezer.state"
	if err := writeFile(st, "FROZEN"); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Second)
	for d := 20 * time.Microsecond; ; {
		s, err := readFile(st)
		if err != nil {
			return err
		}
		if strings.TrimSpace(s) == "FROZEN" || time.Now().After(deadline) {
			break
		}
		d = sleepBackoff(d, 5*time.Millisecond)
	}
	// Freezing the run group froze its leaves; their processes are listed
	// in their own cgroup.procs.
	var err error
	for _, dir := range g.freezer.all() {
		procs, rerr := readFile(dir + "/cgroup.procs")
		if rerr != nil {
			err = rerr
			continue
		}
		for _, pid := range parseProcs(procs) {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	if err2 := writeFile(st, "THAWED"); err == nil {
		err = err2
	}
	return err
}

// killLoop kills what cgroup.procs lists until every part is empty. (A pid
// read from cgroup.procs could in theory exit and be reused before the
// signal: the freezer and cgroup.kill paths have no such window.)
func (g *Group) killLoop(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for d := 20 * time.Microsecond; ; {
		left := 0
		for _, p := range g.parts {
			if p.gone.Load() {
				continue
			}
			for _, dir := range p.all() {
				s, err := readFile(dir + "/cgroup.procs")
				if err != nil {
					if errors.Is(err, unix.ENOENT) {
						continue
					}
					return err
				}
				for _, pid := range parseProcs(s) {
					left++
					unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: %d processes left after %v of SIGKILL", g.name, left, timeout)
		}
		d = sleepBackoff(d, 5*time.Millisecond)
	}
}

// Remove kills what is left and removes the group in every hierarchy (its
// leaves first), retrying rmdir while the killed processes exit. It is
// idempotent and closes the group's fds.
func (g *Group) Remove() error {
	g.rmMu.Lock()
	defer g.rmMu.Unlock()
	if g.removed.Load() {
		return nil
	}
	var errs []error
	killed := false
	start := time.Now()
	rmdir := func(dir string) error {
		d := 20 * time.Microsecond
		for {
			err := unix.Rmdir(dir)
			if err == nil || err == unix.ENOENT {
				return nil
			}
			if err != unix.EBUSY && err != unix.EINTR {
				return &opError{"rmdir", dir, err}
			}
			if !killed {
				killed = true
				if err := g.Kill(); err != nil {
					g.killLoop(100 * time.Millisecond)
				}
				continue
			}
			elapsed := time.Since(start)
			if elapsed > 3*time.Second {
				return &opError{"rmdir", dir, err}
			}
			if elapsed > 200*time.Millisecond {
				g.killLoop(0)
			}
			d = sleepBackoff(d, 5*time.Millisecond)
		}
	}
	for _, p := range g.parts {
		if p.gone.Load() {
			continue
		}
		var err error
		for _, dir := range p.all() {
			if err = rmdir(dir); err != nil {
				errs = append(errs, err)
				break
			}
		}
		if err == nil {
			p.gone.Store(true)
		}
	}
	g.mu.Lock()
	if g.ufd >= 0 {
		unix.Close(g.ufd)
		g.ufd = -1
	}
	if g.acctFd >= 0 {
		unix.Close(g.acctFd)
		g.acctFd = -1
	}
	for path, fd := range g.statFDs {
		unix.Close(fd)
		delete(g.statFDs, path)
	}
	if len(errs) == 0 {
		g.removed.Store(true)
	}
	g.mu.Unlock()
	return errors.Join(errs...)
}
