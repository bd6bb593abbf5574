// Command pool measures the warm pool against bare interpreter starts, in
// one run (absolute times on a shared machine vary 2-3x; the ratios are the
// result):
//
//  1. POST /eval {"input": "print(1)"} through a service with a warm pool,
//     median latency, against a bare `python3 -S -c 'print(1)'` process;
//  2. a program importing numpy and printing a sum, through a pool that
//     preloads numpy, against the same program run bare.
//
// Requests are spaced so that the pool has refilled (it measures a warm
// hit; bench/load measures throughput under back-to-back load).
//
//	go run ./bench/pool [-n 40]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// idle reads pycage_pool_idle from /metrics.
func idle(base string) int {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "pycage_pool_idle ") {
			var n float64
			fmt.Sscan(strings.TrimPrefix(l, "pycage_pool_idle "), &n)
			return int(n)
		}
	}
	return 0
}

func main() {
	n := flag.Int("n", 30, "requests per measurement")
	py := flag.String("python", "/usr/bin/python3", "interpreter (bare and in the service)")
	flag.Parse()

	dir, err := os.MkdirTemp("", "pycage-benchpool-")
	must(err)
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pycage")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pycage")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stderr = os.Stderr
	must(build.Run())

	rtName := "python3"
	cfg := map[string]any{
		"log_level": "warn",
		"pool":      map[string]any{"size": 2, "preload": map[string][]string{}},
	}
	// Preload numpy in the default runtime's pool (the runtime's name is
	// python3.X; resolve it from the interpreter).
	out, err := exec.Command(*py, "-c", "import sys; print('python%d.%d' % sys.version_info[:2])").Output()
	must(err)
	rtName = strings.TrimSpace(string(out))
	cfg["pool"].(map[string]any)["preload"] = map[string][]string{rtName: {"numpy"}}
	cfgPath := filepath.Join(dir, "serve.json")
	b, _ := json.Marshal(cfg)
	must(os.WriteFile(cfgPath, b, 0o644))
	addr := freePort()
	srv := exec.Command(bin, "serve", "--config", cfgPath, "--listen", addr)
	srv.Stderr = os.Stderr
	must(srv.Start())
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for idle(base) < 4 {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "pool did not fill")
			os.Exit(1)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Before every measurement, of either side, the pool has refilled and
	// the machine is quiet again.
	settle := func() {
		for i := 0; i < 250 && idle(base) < 4; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
	}
	eval := func(code string) time.Duration {
		settle()
		body, _ := json.Marshal(map[string]string{"input": code})
		t := time.Now()
		resp, err := http.Post(base+"/eval", "application/json", bytes.NewReader(body))
		must(err)
		var r struct {
			Stdout     string `json:"stdout"`
			ReturnCode *int   `json:"returncode"`
		}
		json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		d := time.Since(t)
		if r.ReturnCode == nil || *r.ReturnCode != 0 {
			fmt.Fprintf(os.Stderr, "eval %q failed: %+v\n", code, r)
			os.Exit(1)
		}
		return d
	}
	bare := func(args ...string) time.Duration {
		settle()
		t := time.Now()
		must(exec.Command(*py, args...).Run())
		return time.Since(t)
	}

	const numpyProg = "import numpy; print(numpy.arange(1000).sum())"
	var warmP, bareP, warmN, bareN []time.Duration
	for i := 0; i < *n; i++ { // interleaved: noise hits both sides alike
		warmP = append(warmP, eval("print(1)"))
		bareP = append(bareP, bare("-S", "-c", "print(1)"))
		warmN = append(warmN, eval(numpyProg))
		bareN = append(bareN, bare("-c", numpyProg))
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	fmt.Printf("| measurement | pycage (warm pool) p50 | bare p50 | ratio pycage/bare |\n|:--|--:|--:|--:|\n")
	fmt.Printf("| POST /eval print(1) vs python3 -S -c 'print(1)' | %s | %s | %.2f |\n", ms(median(warmP)), ms(median(bareP)), float64(median(warmP))/float64(median(bareP)))
	fmt.Printf("| numpy sum, preload [numpy] vs bare python3 | %s | %s | %.2f (%.1fx faster) |\n", ms(median(warmN)), ms(median(bareN)),
		float64(median(warmN))/float64(median(bareN)), float64(median(bareN))/float64(median(warmN)))
}
