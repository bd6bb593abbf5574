// Command load measures `pycage serve` under load: throughput and latency
// percentiles at 1, 2, 4 and 8 concurrent clients posting print(1) to
// /eval, against running `python3 -c 'print(1)'` bare (no jail, no HTTP)
// at the same concurrency in the same run. The ratios are the result; the
// absolute numbers depend on the machine.
//
//	go run ./bench/load                      # builds pycage, starts it, measures
//	go run ./bench/load -url http://127.0.0.1:8060   # against a running service
//
// Flags: -duration per level (3s), -levels (1,2,4,8), -endpoint (eval|run),
// -slots (jail slots of the started service; default the highest level).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "", "base URL of a running pycage serve (default: build and start one)")
	duration := flag.Duration("duration", 3*time.Second, "measuring time per level and side")
	levelsFlag := flag.String("levels", "1,2,4,8", "concurrent clients, comma-separated")
	endpoint := flag.String("endpoint", "eval", "eval (POST /eval) or run (POST /v1/run)")
	python := flag.String("python", "/usr/bin/python3", "interpreter of the bare baseline")
	slots := flag.Int("slots", 0, "jail slots of the started service (default: the highest level)")
	flag.Parse()

	var levels []int
	for _, f := range strings.Split(*levelsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fatal("bad -levels %q", *levelsFlag)
		}
		levels = append(levels, n)
	}
	if *slots == 0 {
		for _, l := range levels {
			*slots = max(*slots, l)
		}
	}
	if *url == "" {
		cleanup = startService(*slots, url)
		defer cleanup()
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	var path string
	var body []byte
	switch *endpoint {
	case "eval":
		path, body = "/eval", []byte(`{"input": "print(1)"}`)
	case "run":
		path, body = "/v1/run", []byte(`{"code": "print(1)", "collect_files": false}`)
	default:
		fatal("bad -endpoint %q", *endpoint)
	}
	viaService := func() error {
		resp, err := client.Post(*url+path, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		if m["stdout"] != "1\n" {
			return fmt.Errorf("unexpected answer %.200s", b)
		}
		return nil
	}
	bare := func() error {
		out, err := exec.Command(*python, "-c", "print(1)").Output()
		if err != nil {
			return err
		}
		if string(out) != "1\n" {
			return fmt.Errorf("unexpected output %q", out)
		}
		return nil
	}

	// Warm up both sides (page cache, the service's first jails).
	for i := 0; i < 5; i++ {
		if err := viaService(); err != nil {
			fatal("warm-up request: %v", err)
		}
		bare()
	}

	fmt.Printf("# pycage serve load: %s print(1), %v per level, %d CPUs, %d jail slots\n\n", path, *duration, runtime.NumCPU(), *slots)
	fmt.Printf("| clients | side | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |\n")
	fmt.Printf("|--:|:--|--:|--:|--:|--:|--:|--:|\n")
	type pair struct{ svc, base stats }
	var results []pair
	for _, c := range levels {
		b := measure(c, *duration, bare)
		s := measure(c, *duration, viaService)
		results = append(results, pair{s, b})
		b.row(c, "bare python3")
		s.row(c, "pycage "+path)
	}
	fmt.Printf("\n| clients | throughput bare/pycage | p50 pycage/bare | p99 pycage/bare |\n|--:|--:|--:|--:|\n")
	for i, c := range levels {
		r := results[i]
		fmt.Printf("| %d | %.2f | %.2f | %.2f |\n", c, r.base.rps/r.svc.rps,
			r.svc.pct(50).Seconds()/r.base.pct(50).Seconds(), r.svc.pct(99).Seconds()/r.base.pct(99).Seconds())
	}
}

type stats struct {
	lat    []time.Duration
	errs   int
	rps    float64
	first  error
	wallOf time.Duration
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat)-1) * p / 100)
	return s.lat[i]
}

func (s *stats) row(c int, side string) {
	msf := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Printf("| %d | %s | %.1f | %s | %s | %s | %s | %d |\n", c, side, s.rps,
		msf(s.pct(50)), msf(s.pct(90)), msf(s.pct(99)), msf(s.pct(100)), s.errs)
	if s.first != nil {
		fmt.Fprintf(os.Stderr, "first error (%s, %d clients): %v\n", side, c, s.first)
	}
}

// measure runs c workers calling f for d and collects the latencies.
func measure(c int, d time.Duration, f func() error) stats {
	var mu sync.Mutex
	var st stats
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				t0 := time.Now()
				err := f()
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					st.errs++
					if st.first == nil {
						st.first = err
					}
				} else {
					st.lat = append(st.lat, lat)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	st.wallOf = time.Since(start)
	sort.Slice(st.lat, func(i, j int) bool { return st.lat[i] < st.lat[j] })
	st.rps = float64(len(st.lat)) / st.wallOf.Seconds()
	return st
}

// startService builds pycage (static) and starts `pycage serve` on a free
// port; it sets *url and returns a stop function.
func startService(slots int, url *string) func() {
	dir, err := os.MkdirTemp("", "pycage-bench-")
	if err != nil {
		fatal("%v", err)
	}
	bin := filepath.Join(dir, "pycage")
	build := exec.Command("go", "build", "-o", bin, "github.com/pycage/pycage/cmd/pycage")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fatal("build pycage: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal("%v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--max-concurrent", strconv.Itoa(slots),
		"--max-queue", strconv.Itoa(4*slots), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatal("start pycage serve: %v", err)
	}
	*url = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(*url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			fatal("pycage serve did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
}

// cleanup stops the service this program started, if any.
var cleanup = func() {}

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", a...)
	cleanup()
	os.Exit(1)
}
