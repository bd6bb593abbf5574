// Package cgroup places pycage runs in cgroups, on cgroup v1, v2 and hybrid
// hosts, behind one interface.
//
// # Per-controller model
//
// Open reads /proc/self/mountinfo and /proc/self/cgroup once and decides, for
// every controller pycage uses (memory, pids, cpu, cpuacct, cpuset, freezer),
// which hierarchy provides it: a v1 hierarchy when the controller is mounted
// there (possibly co-mounted, like "cpu,cpuacct"), otherwise the unified v2
// hierarchy when the controller is available to pycage's parent group there.
// The unified hierarchy is used whenever it is mounted and writable, even
// with no controller at all (a hybrid host): its core files give exact
// teardown (cgroup.kill), race-free placement (CLONE_INTO_CGROUP through
// Group.UnifiedFD) and CPU accounting (cpu.stat usage_usec).
//
// A run's Group therefore has one directory per hierarchy it needs, all with
// the same name. A v1-only host gets the v1 freezer (or a kill loop) for
// teardown and cpuacct for CPU accounting instead.
//
// # Delegation rule
//
// pycage never moves itself, and never writes to a cgroup it did not create.
// By default its parent group is "pycage" nested under the cgroup this process
// runs in, in each hierarchy; a relative parent is nested the same way, an
// absolute one ("/x") starts at each hierarchy's (visible) root. Open creates
// the missing directories of the parent and only writes configuration into
// directories it created itself, or into the default "pycage" parent, which by
// definition belongs to pycage: on v2 that is cgroup.subtree_control
// (+memory +pids +cpu +cpuset, as far as available), on v1 cpuset the
// inherited cpuset.cpus/mems and cgroup.clone_children.
//
// On pure v2 a controller is only usable when the caller's cgroup delegates
// it: it must be enabled in the cgroup.subtree_control of the group pycage's
// parent is created in. Because of the "no internal processes" rule, that group
// cannot hold processes itself, so a process running in a leaf cgroup cannot
// get controllers for children nested under it. Then either the caller
// delegates a subtree (for example systemd Delegate=yes with pycage started in
// a child of it) or points pycage at a delegated, process-free group with
// --cgroup-parent. Errors say which controller is missing where.
//
// Run groups are named run-<pidns>-<pid>-<starttime>-<seq>: Open removes those
// whose owner (same pid namespace, pid and start time) no longer exists,
// after killing what is left in them.
//
// # Use by the engine, in this order
//
//	g, err := m.New(limits)               // mkdirs + limit writes (~0.2 ms here)
//	fd, ok := g.UnifiedFD()               // if ok: SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
//	cmd.Start()
//	g.Add(cmd.Process.Pid)                // v1 parts; BEFORE the child may allocate or fork
//	...release the child (send the Spec), poll g.CPUUsage()...
//	g.Kill()                              // on timeout/limit: the jail's init dies too
//	cmd.Wait()
//	st, _ := g.Stats()                    // before Remove: the counters go with the group
//	g.Remove()
//
// # Split runs (Limits.SplitCommand)
//
// A pids limit meant for the user's command must not count the jail's init
// (a Go process with several threads). With SplitCommand, every hierarchy
// of the run gets <run> plus two leaves, <run>/init and <run>/cmd:
//
//   - memory (and swap), cpu bandwidth and cpuset are limited on <run>, so
//     they cover init and the command together; the pids limit is on
//     <run>/cmd only. On v2 only pids is enabled in <run>'s
//     cgroup.subtree_control: the leaves' processes are charged to <run>'s
//     own memcg and CPU group. <run> itself never holds a process.
//   - UnifiedFD is <run>/init's fd; Add and AddAll place into <run>/init.
//   - CommandProcs opens <run>/cmd/cgroup.procs in every hierarchy (the pids
//     one last). The command's stage process, multi-threaded and of any uid,
//     writes "0" to each right before execve: migration ignores pids.max,
//     and execve leaves one task, the command. The kernel (5.16+) checks the
//     opener's credentials, so the files are root's power: they must not
//     reach the command (see CommandProcs).
//   - CPUUsage, Stats (memory at <run>; v1 OOM kills added up over the
//     leaves, as v1 counts them only in the victim's group; PidsLimitHit
//     from <run>/cmd), Kill (cgroup.kill of <run> takes the subtree; the
//     freezer and kill loop read every leaf), Remove (leaves first) and
//     stale cleanup (any subgroups, deepest first) cover the whole subtree.
//
// The engine's order then becomes: New(limits with SplitCommand),
// UnifiedFD, CommandProcs (files passed down to the stage only), Start,
// Add, ...; in the jail the stage writes "0" to each file, closes them and
// execs.
//
// With CLONE_NEWCGROUP at clone time, the v2 view of the jail is rooted at
// the run group (CLONE_INTO_CGROUP), but v1 hierarchies are rooted at
// pycage's own cgroups, because their parts are joined only after the clone:
// inside, /proc/self/cgroup then shows ".../pycage/run-..." for them. Init can
// unshare(CLONE_NEWCGROUP) after Add (after it got the Spec) to root all of
// them at the run group. With SplitCommand those roots are <run>/init, and
// the command, in <run>/cmd, sees "/../cmd" (the CommandProcs writes do not
// depend on the writer's cgroup namespace since Linux 5.16).
package cgroup
