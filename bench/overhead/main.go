// Command overhead measures the time `pycage run` adds to a command: it runs
// each command bare and under pycage (once per spawn path, PYCAGE_SPAWN=raw,
// rawfork and go; with -daemon also through a `pycage daemon` it starts on
// a temporary socket), process start alone (an empty Go binary, `pycage
// version`, `pycage run --help`) and, with PYCAGE_T0 set, the timeline of
// pycage's own process around jail.Run. Every command runs once per round,
// in a fresh random order (-seed), so that the machine's noise and the
// after-effects of one run hit all of them alike; the tables print medians
// and p90 over the rounds.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func mono() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// timeRun runs args to completion and returns its wall time. With marks,
// the command gets PYCAGE_T0 and the "T0 <what> <ns>" lines it prints on
// stderr are returned as offsets from the spawn, plus "exited" (wait
// returned).
func timeRun(args []string, env []string, marks bool) (time.Duration, map[string]time.Duration) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if marks {
		cmd.Env = append(append([]string(nil), env...), "PYCAGE_T0=1")
	}
	t0, m0 := time.Now(), mono()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n%s", args, err, stderr.Bytes())
		exit(1)
	}
	d, m1 := time.Since(t0), mono()
	if !marks {
		return d, nil
	}
	ev := map[string]time.Duration{"exited": time.Duration(m1 - m0)}
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "T0" {
			continue
		}
		if ns, err := strconv.ParseInt(f[len(f)-1], 10, 64); err == nil {
			ev[strings.Join(f[1:len(f)-1], " ")] = time.Duration(ns - m0)
		}
	}
	return d, ev
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

// subject is one command measured in every round.
type subject struct {
	table string // "start", "overhead" or "timeline"
	name  string // row label
	spawn string // overhead: spawn path column
	bare  int    // overhead: index of the bare baseline; start: of /bin/true
	argv  []string
	env   []string
	marks bool
	times []time.Duration
	evs   []map[string]time.Duration
}

func main() {
	runs := flag.Int("runs", 200, "rounds (every command runs once per round)")
	bin := flag.String("pycage", "./pycage", "pycage binary")
	modes := flag.String("spawn", "raw,go", "spawn paths to measure (PYCAGE_SPAWN values, comma-separated)")
	jailrun := flag.String("jailrun", "", "also measure this engine-only driver (bench/jailrun) on the first spawn path")
	empty := flag.String("empty", "", "also measure process start: this empty Go binary, `pycage version`, `pycage run --help`")
	other := flag.String("compare", "", "also measure this second pycage binary (e.g. a build of an older commit) on the first spawn path, in the same rounds")
	daemon := flag.Bool("daemon", false, "also measure runs through a `pycage daemon` (started here, on the first spawn path)")
	goClient := flag.String("goclient", "", "with -daemon: also measure this build of pycage without the raw client (no -E) through the daemon")
	seed := flag.Int64("seed", 1, "seed of the order of the commands in each round")
	flag.Parse()
	// -spawn daemon: only the bare commands and the same through the
	// daemon (raw client, raw spawn path), the pair the warm-path target
	// is about, without cold jails in the same rounds (their network
	// namespaces are torn down by the kernel after each run, in a worker
	// that takes CPU from whatever runs next).
	daemonOnly := *modes == "daemon"
	if daemonOnly {
		*modes, *daemon, *goClient, *jailrun, *empty = "raw", true, "", "", ""
	}
	paths := strings.Split(*modes, ",")
	var base []string // the environment, without PYCAGE_DAEMON
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PYCAGE_DAEMON=") {
			base = append(base, e)
		}
	}
	env := func(spawn string) []string { return append(append([]string(nil), base...), "PYCAGE_SPAWN="+spawn) }
	var sock, otherSock, instant string
	if *daemon && *other != "" {
		// Before this build's daemon: its start cleans nothing of the
		// other's (run groups of live owners stay).
		otherSock = startDaemon(*other, env(paths[0]))
	}
	if *daemon {
		sock = startDaemon(*bin, env(paths[0]))
		defer stopDaemons()
		instant = instantDaemon()
		defer os.RemoveAll(filepath.Dir(instant))
	}

	var subs []*subject
	add := func(s *subject) int { subs = append(subs, s); return len(subs) - 1 }
	trueIdx := add(&subject{table: "start", name: "/bin/true", argv: []string{"/bin/true"}})
	if *empty != "" {
		add(&subject{table: "start", name: "empty Go binary", bare: trueIdx, argv: []string{*empty}})
		add(&subject{table: "start", name: "pycage version", bare: trueIdx, argv: []string{*bin, "version"}})
		add(&subject{table: "start", name: "pycage run --help", bare: trueIdx, argv: []string{*bin, "run", "--help"}})
	}
	if instant != "" {
		ienv := append(env(paths[0]), "PYCAGE_DAEMON="+instant)
		add(&subject{table: "start", name: "run, client only", bare: trueIdx, argv: []string{*bin, "run", "--", "/bin/true"}, env: ienv})
		if *goClient != "" {
			add(&subject{table: "start", name: "run, client only (Go client)", bare: trueIdx, argv: []string{*goClient, "run", "--", "/bin/true"}, env: ienv})
		}
	}
	for _, c := range [][]string{{"/bin/true"}, {"/usr/bin/python3", "-S", "-c", "pass"}} {
		bare := trueIdx
		if c[0] != "/bin/true" {
			bare = add(&subject{table: "bare", name: fmt.Sprint(c), argv: c})
		}
		for _, m := range paths {
			if daemonOnly {
				break
			}
			add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: m, bare: bare, argv: append([]string{*bin, "run", "--"}, c...), env: env(m)})
		}
		if *other != "" && !daemonOnly {
			add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: "compare(" + paths[0] + ")", bare: bare, argv: append([]string{*other, "run", "--"}, c...), env: env(paths[0])})
		}
		if *jailrun != "" {
			add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: "engine-only(" + paths[0] + ")", bare: bare, argv: append([]string{*jailrun}, c...), env: env(paths[0])})
		}
		if sock != "" {
			denv := append(env(paths[0]), "PYCAGE_DAEMON="+sock)
			add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: "daemon(" + paths[0] + ")", bare: bare, argv: append([]string{*bin, "run", "--"}, c...), env: denv})
			if *goClient != "" {
				add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: "daemon, Go client", bare: bare, argv: append([]string{*goClient, "run", "--"}, c...), env: denv})
			}
			if otherSock != "" {
				// The other build end to end: its client, its daemon.
				oenv := append(env(paths[0]), "PYCAGE_DAEMON="+otherSock)
				add(&subject{table: "overhead", name: fmt.Sprint(c), spawn: "daemon, compare", bare: bare, argv: append([]string{*other, "run", "--"}, c...), env: oenv})
			}
		}
	}
	if !daemonOnly {
		add(&subject{table: "timeline", name: "pycage run -- /bin/true", argv: []string{*bin, "run", "--", "/bin/true"}, env: env(paths[0]), marks: true})
	}
	if *other != "" && !daemonOnly {
		add(&subject{table: "timeline", name: "compare: pycage run -- /bin/true", argv: []string{*other, "run", "--", "/bin/true"}, env: env(paths[0]), marks: true})
	}
	if *jailrun != "" {
		add(&subject{table: "timeline", name: "jailrun /bin/true (engine only)", argv: []string{*jailrun, "/bin/true"}, env: env(paths[0]), marks: true})
	}

	// Every round runs every command once, in an order of its own: the
	// after-effects of a run (the kernel tears a jail's network namespace
	// down in a worker after the run; a daemon refills its prepared jails)
	// then fall on every row alike instead of on whichever comes next.
	rng := rand.New(rand.NewSource(*seed))
	order := make([]*subject, len(subs))
	copy(order, subs)
	for i := 0; i < *runs+5; i++ { // 5 warm-up rounds
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, s := range order {
			d, ev := timeRun(s.argv, s.env, s.marks)
			if i >= 5 {
				s.times = append(s.times, d)
				if ev != nil {
					s.evs = append(s.evs, ev)
				}
			}
		}
	}

	if *empty != "" || instant != "" {
		fmt.Printf("%-32s %10s %10s %18s\n", "process start (no jail)", "p50", "p90", "added p50 vs true")
		for _, s := range subs {
			if s.table == "start" {
				fmt.Printf("%-32s %10s %10s %18s\n", s.name, ms(pct(s.times, .5)), ms(pct(s.times, .9)), ms(pct(s.times, .5)-pct(subs[trueIdx].times, .5)))
			}
		}
		fmt.Println()
	}
	fmt.Printf("%-32s %-20s %10s %10s %10s %10s %12s %12s\n", "command", "spawn", "bare p50", "bare p90", "jail p50", "jail p90", "added p50", "added p90")
	for _, s := range subs {
		if s.table != "overhead" {
			continue
		}
		b := subs[s.bare].times
		fmt.Printf("%-32s %-20s %10s %10s %10s %10s %12s %12s\n", s.name, s.spawn, ms(pct(b, .5)), ms(pct(b, .9)),
			ms(pct(s.times, .5)), ms(pct(s.times, .9)), ms(pct(s.times, .5)-pct(b, .5)), ms(pct(s.times, .9)-pct(b, .9)))
	}
	timeline(subs, paths[0])
}

// daemons are the `pycage daemon`s startDaemon started, running.
var daemons []*runningDaemon

type runningDaemon struct {
	cmd *exec.Cmd
	log chan struct{} // closed when its log (copied to stderr) ends
}

// startDaemon starts `bin daemon` on a socket in a temporary directory and
// returns the socket once it listens.
func startDaemon(bin string, env []string) string {
	dir, err := os.MkdirTemp("", "pycage-overhead-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sock := filepath.Join(dir, "d.sock")
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	d := &runningDaemon{cmd: exec.Command(bin, "daemon", "--socket", sock), log: make(chan struct{})}
	d.cmd.Env, d.cmd.Stderr = env, w
	err = d.cmd.Start()
	w.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pycage daemon: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	listening := make(chan bool, 1)
	go func() {
		defer close(d.log)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				listening <- true
			}
		}
		listening <- false
	}()
	if !<-listening {
		fmt.Fprintln(os.Stderr, "pycage daemon exited before it listened")
		d.cmd.Wait()
		os.RemoveAll(dir)
		exit(1)
	}
	daemons = append(daemons, d)
	return sock
}

// instantDaemon serves a socket in a temporary directory, in this process,
// that answers every request with 'X' 0 at once: `pycage run` through it
// is the client's own cost (the "client only" rows).
func instantDaemon() string {
	dir, err := os.MkdirTemp("", "pycage-overhead-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		exit(1)
	}
	sock := filepath.Join(dir, "instant.sock")
	// Protocol v2 (docs/daemon.md): one datagram, whose 5th fd is the
	// reply socket.
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		exit(1)
	}
	go func() {
		buf, oob := make([]byte, 196608), make([]byte, 1024)
		for {
			_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
			if err != nil {
				continue
			}
			for _, m := range msgs {
				fds, _ := unix.ParseUnixRights(&m)
				if len(fds) == 5 {
					unix.Write(fds[4], []byte{'X', 0})
				}
				for _, fd := range fds {
					unix.Close(fd)
				}
			}
		}
	}()
	return sock
}

// stopDaemons stops the daemons of startDaemon (SIGTERM: each destroys its
// prepared jails and removes its socket) and removes their directories.
func stopDaemons() {
	for _, d := range daemons {
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
		<-d.log
		os.RemoveAll(filepath.Dir(d.cmd.Args[3]))
	}
	daemons = nil
}

// exit stops the daemons and exits.
func exit(code int) {
	stopDaemons()
	os.Exit(code)
}

// timeline splits `pycage run -- /bin/true` (and bench/jailrun) into the
// phases of pycage's own process, from the marks it prints with PYCAGE_T0:
// the median of each phase over the rounds.
func timeline(subs []*subject, spawn string) {
	type phase struct{ name, from, to string }
	phases := map[string][]phase{
		"pycage run": {
			{"spawn -> run package init (exec, Go runtime, earlier package inits)", "", "run package init"},
			{"run package init -> jail.Run (flags, spec, signal relay)", "run package init", "jail.Run"},
			{"jail.Run", "jail.Run", "jail.Run returned"},
			{"jail.Run returned -> exit reaped", "jail.Run returned", "exited"},
			{"total", "", "exited"},
		},
		"jailrun": {
			{"spawn -> main (exec, Go runtime, package inits)", "", "main entered"},
			{"main -> jail.Run returned (spec, jail.Run)", "main entered", "jail.Run returned"},
			{"jail.Run returned -> exit reaped", "jail.Run returned", "exited"},
			{"total", "", "exited"},
		},
	}
	if !slices.ContainsFunc(subs, func(s *subject) bool { return s.table == "timeline" }) {
		return
	}
	fmt.Printf("\ntimeline of pycage's process (PYCAGE_T0 marks, spawn path %s; median of each phase)\n", spawn)
	for _, s := range subs {
		if s.table != "timeline" {
			continue
		}
		fmt.Println(s.name)
		ph := phases["pycage run"]
		if strings.HasPrefix(s.name, "jailrun") {
			ph = phases["jailrun"]
		}
		for _, p := range ph {
			var d []time.Duration
			for _, ev := range s.evs {
				to, ok := ev[p.to]
				from, ok2 := ev[p.from]
				if ok && (ok2 || p.from == "") {
					d = append(d, to-from)
				}
			}
			v := "(no marks)"
			if len(d) > 0 {
				v = ms(pct(d, .5))
			}
			fmt.Printf("  %-72s %10s\n", p.name, v)
		}
	}
}
