// Command overhead measures the time `pycage run` adds to a command: it runs
// each command bare and under pycage (once per spawn path, PYCAGE_SPAWN=raw
// and go), interleaved (so noise hits all alike), and prints median and p90
// of each and of the difference to bare.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func timeRun(args []string, env []string) time.Duration {
	t := time.Now()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n", args, err)
		os.Exit(1)
	}
	return time.Since(t)
}

func main() {
	runs := flag.Int("runs", 200, "runs per command")
	bin := flag.String("pycage", "./pycage", "pycage binary")
	modes := flag.String("spawn", "raw,go", "spawn paths to measure (PYCAGE_SPAWN values, comma-separated)")
	jailrun := flag.String("jailrun", "", "also measure this engine-only driver (bench/jailrun) on the first spawn path")
	flag.Parse()
	cases := [][]string{{"/bin/true"}, {"/usr/bin/python3", "-S", "-c", "pass"}}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
	fmt.Printf("%-32s %-20s %10s %10s %10s %10s %12s %12s\n", "command", "spawn", "bare p50", "bare p90", "jail p50", "jail p90", "added p50", "added p90")
	for _, c := range cases {
		var bare []time.Duration
		paths := strings.Split(*modes, ",")
		var argvs [][]string
		var envs [][]string
		for _, m := range paths {
			envs = append(envs, append(os.Environ(), "PYCAGE_SPAWN="+m))
			argvs = append(argvs, append([]string{*bin, "run", "--"}, c...))
		}
		if *jailrun != "" {
			paths = append(paths, "engine-only("+paths[0]+")")
			envs = append(envs, envs[0])
			argvs = append(argvs, append([]string{*jailrun}, c...))
		}
		jailed := make([][]time.Duration, len(paths))
		for i := 0; i < 5; i++ { // warm-up
			timeRun(c, nil)
			for k := range paths {
				timeRun(argvs[k], envs[k])
			}
		}
		for i := 0; i < *runs; i++ {
			bare = append(bare, timeRun(c, nil))
			for k := range paths {
				jailed[k] = append(jailed[k], timeRun(argvs[k], envs[k]))
			}
		}
		for k, m := range paths {
			fmt.Printf("%-32s %-20s %10s %10s %10s %10s %12s %12s\n", fmt.Sprint(c), m, ms(pct(bare, .5)), ms(pct(bare, .9)),
				ms(pct(jailed[k], .5)), ms(pct(jailed[k], .9)), ms(pct(jailed[k], .5)-pct(bare, .5)), ms(pct(jailed[k], .9)-pct(bare, .9)))
		}
	}
}
