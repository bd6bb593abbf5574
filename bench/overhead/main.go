// Command overhead measures the time `pycage run` adds to a command: it runs
// each command bare and under pycage, interleaved (so noise hits both
// alike), and prints median and p90 of both and of the difference.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

func pct(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func timeRun(args []string) time.Duration {
	t := time.Now()
	cmd := exec.Command(args[0], args[1:]...)
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%v: %v\n", args, err)
		os.Exit(1)
	}
	return time.Since(t)
}

func main() {
	runs := flag.Int("runs", 200, "runs per command")
	bin := flag.String("pycage", "./pycage", "pycage binary")
	flag.Parse()
	cases := [][]string{{"/bin/true"}, {"/usr/bin/python3", "-S", "-c", "pass"}}
	fmt.Printf("%-32s %10s %10s %10s %10s %12s %12s\n", "command", "bare p50", "bare p90", "jail p50", "jail p90", "added p50", "added p90")
	for _, c := range cases {
		var bare, jailed []time.Duration
		jargs := append([]string{*bin, "run", "--"}, c...)
		for i := 0; i < 5; i++ { // warm-up
			timeRun(c)
			timeRun(jargs)
		}
		for i := 0; i < *runs; i++ {
			bare = append(bare, timeRun(c))
			jailed = append(jailed, timeRun(jargs))
		}
		ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
		fmt.Printf("%-32s %10s %10s %10s %10s %12s %12s\n", fmt.Sprint(c), ms(pct(bare, .5)), ms(pct(bare, .9)),
			ms(pct(jailed, .5)), ms(pct(jailed, .9)), ms(pct(jailed, .5)-pct(bare, .5)), ms(pct(jailed, .9)-pct(bare, .9)))
	}
}
