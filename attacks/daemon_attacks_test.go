package attacks

// Attacks that exist only on the daemon path: state passed from one run to
// the next through the daemon's prepared jails, and a jail reaching the
// daemon, its other jails or another run. (A client of another uid is
// refused: cmd/pycage TestDaemonOtherUID.)

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// nsLines collects the "NS name link" lines a program printed.
func nsLines(stdout string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "NS" {
			m[f[1]] = f[2]
		}
	}
	return m
}

// jailNS are the namespaces a jail's PID 1 is in (the command adds a
// cgroup namespace of its own).
var jailNS = []string{"mnt", "pid", "net", "ipc", "uts", "user"}

// preparedJails lists the daemon's children (the PID 1 of each jail it
// holds, prepared or running) with their namespace links and their own
// children (a prepared jail's waiting command).
func preparedJails(t *testing.T, daemon int) map[int]map[string]string {
	t.Helper()
	out := map[int]map[string]string{}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", daemon))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", daemon, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			ns := map[string]string{}
			for _, n := range jailNS {
				if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n)); err == nil {
					ns[n] = l
				}
			}
			out[pid] = ns
		}
	}
	return out
}

// children lists the children of pid.
func children(pid int) []int {
	var out []int
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// TestDaemonNoState (66_daemon_state): a run through a daemon leaves files,
// SysV objects, abstract sockets and a background process, and holds them
// while a second run takes the spec's other prepared jail (prepared before
// the holder started) and, after the holder ended, a third takes one that
// was prepared while the holder ran. Neither finds anything, and each of
// the three ran in namespaces of its own (ids compared, also with the
// jails the daemon holds, seen from the host).
func TestDaemonNoState(t *testing.T) {
	parallelPair(t) // the holder and the check run at once
	v := &via{name: "daemon", daemon: true, prepared: 2}
	host := map[string]string{}
	for _, n := range append(jailNS, "cgroup") {
		host[n], _ = os.Readlink("/proc/self/ns/" + n)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var check1 *outcome
	var jails map[int]map[string]string
	hold := run(t, attack{via: v, prog: "66_daemon_state", args: []string{"hold"}, stdin: inR,
		started: func(cmd *exec.Cmd, stdout *lineReader) {
			defer inW.Close()
			if !stdout.waitFor("READY") {
				t.Errorf("the holding run did not get ready")
				return
			}
			jails = preparedJails(t, v.d.pid)
			check1 = run(t, attack{via: v, prog: "66_daemon_state", args: []string{"check"}})
		}})
	hold.exited(t, 0, 0)
	if check1 == nil {
		t.Fatal("no check run while the holder ran")
	}
	check1.exited(t, 0, 8)
	// The holder's jail is gone, a jail prepared meanwhile is taken.
	check2 := run(t, attack{via: v, prog: "66_daemon_state", args: []string{"check"}})
	check2.exited(t, 0, 8)

	runs := []struct {
		name string
		ns   map[string]string
	}{{"holder", nsLines(hold.stdout)}, {"check while the holder ran", nsLines(check1.stdout)}, {"check after it", nsLines(check2.stdout)}}
	for _, r := range runs {
		if len(r.ns) < 7 {
			t.Fatalf("%s printed %d namespace ids, want all 7+: %v", r.name, len(r.ns), r.ns)
		}
		for _, n := range append(jailNS, "cgroup") {
			if r.ns[n] == host[n] {
				t.Errorf("%s: namespace %s is the host's: %s", r.name, n, r.ns[n])
			}
		}
	}
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			for _, n := range append(jailNS, "cgroup") {
				if runs[i].ns[n] == runs[j].ns[n] {
					t.Errorf("namespace %s shared by the %s and the %s: %s", n, runs[i].name, runs[j].name, runs[i].ns[n])
				}
			}
		}
	}
	// Seen from the host while the holder ran: the daemon held the
	// holder's jail and the prepared one the check then took, each in
	// namespaces of its own.
	match := func(ns map[string]string) []int {
		var pids []int
		for pid, j := range jails {
			same := 0
			for _, n := range jailNS {
				if j[n] != "" && j[n] == ns[n] {
					same++
				}
			}
			if same == len(jailNS) {
				pids = append(pids, pid)
			} else if same > 0 {
				t.Errorf("jail of PID 1 %d shares %d of its namespaces with a run that is not its own: %v vs %v", pid, same, j, ns)
			}
		}
		return pids
	}
	if h, c := match(runs[0].ns), match(runs[1].ns); len(h) != 1 || len(c) != 1 {
		t.Errorf("the daemon's jails while the holder ran: %v; the holder's is %v, the check's %v (want one each)", jails, h, c)
	}
}

// parallelPair marks t parallel and takes both jail slots (the test runs
// two jails at once). One test at a time takes its pair, so that two of
// them cannot each hold one slot and wait for the other.
func parallelPair(t *testing.T) {
	t.Parallel()
	pairMu.Lock()
	slots <- struct{}{}
	slots <- struct{}{}
	pairMu.Unlock()
	t.Cleanup(func() { <-slots; <-slots })
}

var pairMu sync.Mutex

// TestDaemonReach (67_daemon_reach): while another run goes on in the same
// daemon and prepared jails wait, a run tries the daemon's socket by path,
// guessable abstract socket names (on which the test listens on the host),
// signals to the daemon, to every PID 1 and waiting command of the
// daemon's jails and to the other run's processes (by host pid), and
// /proc. Nothing is reached: the daemon answers, the other run ends
// normally, the waiting jails are alive (the next run takes one: a hit).
func TestDaemonReach(t *testing.T) {
	parallelPair(t) // the other run and the attacker run at once
	v := &via{name: "daemon", daemon: true, prepared: 3}
	d := v.start(t)

	var conns atomic.Int64
	names := []string{d.sock, strings.TrimPrefix(d.sock, "/"), filepath.Base(d.sock), "pycage", "pycage-daemon", "pycage.sock",
		"pycage-daemon-" + strconv.Itoa(d.pid)}
	for _, n := range names {
		ln, err := net.Listen("unix", "@"+n)
		if err != nil {
			t.Fatalf("listen on the host's abstract @%s: %v", n, err)
		}
		defer ln.Close()
		go countConns(ln, &conns)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	var attacker *outcome
	var waiting map[int]int // PID 1 of a jail not taken -> its waiting command
	victim := run(t, attack{via: v, prog: "67_daemon_reach", args: []string{"victim"}, stdin: inR,
		started: func(cmd *exec.Cmd, stdout *lineReader) {
			defer inW.Close()
			if !stdout.waitFor("READY") {
				t.Errorf("the other run did not get ready")
				return
			}
			// Host pids: the daemon, this test, every jail's PID 1 and
			// its children (the waiting commands, the other run's).
			pids := []int{d.pid, os.Getpid()}
			jails := preparedJails(t, d.pid)
			waiting = map[int]int{}
			for pid1 := range jails {
				pids = append(pids, pid1)
				kids := children(pid1)
				pids = append(pids, kids...)
				for _, k := range kids {
					if !strings.Contains(cmdline(k), "67_daemon_reach") {
						waiting[pid1] = k
					}
				}
			}
			pids = append(pids, pgrep("pycage-attack-67-daemon-reach")...)
			sort.Ints(pids)
			if len(waiting) < 2 {
				t.Errorf("want at least 2 prepared jails waiting beside the other run, have %v (jails %v)", waiting, jails)
			}
			var ps []string
			for _, p := range pids {
				ps = append(ps, strconv.Itoa(p))
			}
			victimMarker := ""
			for _, w := range strings.Fields(cmdline(cmd.Process.Pid)) {
				if strings.HasPrefix(w, "pycage-attack-") {
					victimMarker = w
				}
			}
			attacker = run(t, attack{via: v, prog: "67_daemon_reach", args: []string{d.sock, "pids=" + strings.Join(ps, ","),
				"abstract=" + strings.Join(names, ","), "victim=" + victimMarker}})
			// The other run and the waiting jails are still there.
			if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
				t.Errorf("the other run's client is gone: %v", err)
			}
			for pid1, cmdPid := range waiting {
				if attacker != nil && pidAlive(cmdPid) != nil {
					// The attacker took one of them: that one is gone.
					continue
				}
				if err := pidAlive(pid1); err != nil {
					t.Errorf("PID 1 %d of a jail is gone while its command %d lives: %v", pid1, cmdPid, err)
				}
			}
		}})
	victim.exited(t, 0, 0)
	if !strings.Contains(victim.stdout, "INFO still here") {
		t.Errorf("the other run did not live on: %q", victim.stdout)
	}
	if attacker == nil {
		t.Fatal("no attacking run")
	}
	attacker.exited(t, 0, 20)
	left := 0
	for _, cmdPid := range waiting {
		if pidAlive(cmdPid) == nil {
			left++
		}
	}
	if left < 1 {
		t.Errorf("no prepared jail that waited during the attack is still waiting (%v)", waiting)
	}
	// The next run takes a jail that waited through the attack (a hit,
	// checked when the daemon stops).
	after := run(t, attack{via: v, prog: "67_daemon_reach", args: []string{"victim"}})
	after.exited(t, 0, 0)
	if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the daemon is gone: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := conns.Load(); n != 0 {
		t.Errorf("the host's abstract sockets got %d connections from the jail", n)
	}
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

func pidAlive(pid int) error { return syscall.Kill(pid, 0) }
