// Command overhead measures the time `pycage run` adds to a command: it runs
// each command bare and under pycage (once per spawn path, PYCAGE_SPAWN=raw,
// rawfork and go), interleaved (so noise hits all alike), and prints median
// and p90 of each and of the difference to bare. It also measures process
// start alone (an empty Go binary, `pycage version`) and, with PYCAGE_T0
// set, the timeline of pycage's own process around jail.Run.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func pct(d []time.Duration, p float64) time.Duration {
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
	if marks {
		cmd.Env = append(append([]string(nil), env...), "PYCAGE_T0=1")
		cmd.Stderr = &stderr
	}
	t0, m0 := time.Now(), mono()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n%s", args, err, stderr.Bytes())
		os.Exit(1)
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

var ms = func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func main() {
	runs := flag.Int("runs", 200, "runs per command")
	bin := flag.String("pycage", "./pycage", "pycage binary")
	modes := flag.String("spawn", "raw,go", "spawn paths to measure (PYCAGE_SPAWN values, comma-separated)")
	jailrun := flag.String("jailrun", "", "also measure this engine-only driver (bench/jailrun) on the first spawn path")
	empty := flag.String("empty", "", "also measure process start: this empty Go binary and `pycage version`")
	flag.Parse()
	paths := strings.Split(*modes, ",")

	if *empty != "" {
		startup(*runs, *bin, *empty)
	}

	cases := [][]string{{"/bin/true"}, {"/usr/bin/python3", "-S", "-c", "pass"}}
	fmt.Printf("\n%-32s %-20s %10s %10s %10s %10s %12s %12s\n", "command", "spawn", "bare p50", "bare p90", "jail p50", "jail p90", "added p50", "added p90")
	for _, c := range cases {
		var bare []time.Duration
		names := append([]string(nil), paths...)
		var argvs, envs [][]string
		for _, m := range paths {
			envs = append(envs, append(os.Environ(), "PYCAGE_SPAWN="+m))
			argvs = append(argvs, append([]string{*bin, "run", "--"}, c...))
		}
		if *jailrun != "" {
			names = append(names, "engine-only("+paths[0]+")")
			envs = append(envs, envs[0])
			argvs = append(argvs, append([]string{*jailrun}, c...))
		}
		jailed := make([][]time.Duration, len(names))
		for i := 0; i < 5; i++ { // warm-up
			timeRun(c, nil, false)
			for k := range names {
				timeRun(argvs[k], envs[k], false)
			}
		}
		for i := 0; i < *runs; i++ {
			d, _ := timeRun(c, nil, false)
			bare = append(bare, d)
			for k := range names {
				d, _ := timeRun(argvs[k], envs[k], false)
				jailed[k] = append(jailed[k], d)
			}
		}
		for k, m := range names {
			fmt.Printf("%-32s %-20s %10s %10s %10s %10s %12s %12s\n", fmt.Sprint(c), m, ms(pct(bare, .5)), ms(pct(bare, .9)),
				ms(pct(jailed[k], .5)), ms(pct(jailed[k], .9)), ms(pct(jailed[k], .5)-pct(bare, .5)), ms(pct(jailed[k], .9)-pct(bare, .9)))
		}
	}

	timeline(*runs, *bin, paths[0], *jailrun)
}

// startup measures process start alone, interleaved: bare /bin/true, an
// empty Go binary (the Go runtime's own start), `pycage version` (pycage's
// binary with every package initialised, as `pycage serve` and the nsjail
// mode start) and `pycage run --help` (the run path's start: the packages
// initialised before runcmd's init, then flag parsing; no jail).
func startup(runs int, bin, empty string) {
	cmds := []struct {
		name string
		argv []string
	}{
		{"/bin/true", []string{"/bin/true"}},
		{"empty Go binary", []string{empty}},
		{"pycage version", []string{bin, "version"}},
		{"pycage run --help", []string{bin, "run", "--help"}},
	}
	ts := make([][]time.Duration, len(cmds))
	for i := 0; i < runs+5; i++ {
		for k, c := range cmds {
			d, _ := timeRun(c.argv, nil, false)
			if i >= 5 {
				ts[k] = append(ts[k], d)
			}
		}
	}
	fmt.Printf("%-32s %10s %10s %18s\n", "process start (no jail)", "p50", "p90", "added p50 vs true")
	for k, c := range cmds {
		fmt.Printf("%-32s %10s %10s %18s\n", c.name, ms(pct(ts[k], .5)), ms(pct(ts[k], .9)), ms(pct(ts[k], .5)-pct(ts[0], .5)))
	}
}

// timeline splits `pycage run -- /bin/true` (and bench/jailrun) into the
// phases of pycage's own process, from the marks it prints with PYCAGE_T0:
// medians of each phase over the runs.
func timeline(runs int, bin, spawn, jailrun string) {
	type phase struct{ name, from, to string }
	type subject struct {
		name   string
		argv   []string
		phases []phase
	}
	subjects := []subject{{"pycage run -- /bin/true", []string{bin, "run", "--", "/bin/true"}, []phase{
		{"spawn -> run package init (exec, Go runtime, earlier package inits)", "", "run package init"},
		{"run package init -> jail.Run (flags, spec)", "run package init", "jail.Run"},
		{"jail.Run", "jail.Run", "jail.Run returned"},
		{"jail.Run returned -> exit reaped", "jail.Run returned", "exited"},
		{"total", "", "exited"},
	}}}
	if jailrun != "" {
		subjects = append(subjects, subject{"jailrun /bin/true (engine only)", []string{jailrun, "/bin/true"}, []phase{
			{"spawn -> main (exec, Go runtime, package inits)", "", "main entered"},
			{"main -> jail.Run returned", "main entered", "jail.Run returned"},
			{"jail.Run returned -> exit reaped", "jail.Run returned", "exited"},
			{"total", "", "exited"},
		}})
	}
	env := append(os.Environ(), "PYCAGE_SPAWN="+spawn)
	evs := make([][]map[string]time.Duration, len(subjects))
	for i := 0; i < runs+5; i++ {
		for k, s := range subjects {
			_, ev := timeRun(s.argv, env, true)
			if i >= 5 {
				evs[k] = append(evs[k], ev)
			}
		}
	}
	fmt.Printf("\ntimeline of pycage's process (PYCAGE_T0 marks, spawn path %s; medians of each phase)\n", spawn)
	for k, s := range subjects {
		fmt.Printf("%s\n", s.name)
		for _, p := range s.phases {
			var d []time.Duration
			for _, ev := range evs[k] {
				to, ok := ev[p.to]
				from, ok2 := ev[p.from]
				if !ok || (!ok2 && p.from != "") {
					continue
				}
				d = append(d, to-from)
			}
			if len(d) == 0 {
				fmt.Printf("  %-72s %10s\n", p.name, "(no marks)")
				continue
			}
			fmt.Printf("  %-72s %10s\n", p.name, ms(pct(d, .5)))
		}
	}
}
