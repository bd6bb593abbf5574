package main

// The warm pool through the real service: a warm run answers exactly as a
// cold one, its clocks start with the program, and nothing of a sandbox
// survives its run or the service.

import (
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
)

// poolIdle reads pycage_pool_idle from /metrics.
func poolIdle(t *testing.T, s *serveProc) int {
	for _, l := range strings.Split(string(s.get(t, "/metrics").body), "\n") {
		if v, ok := strings.CutPrefix(l, "pycage_pool_idle "); ok {
			var n float64
			fmt.Sscan(v, &n)
			return int(n)
		}
	}
	return -1
}

func metric(t *testing.T, s *serveProc, prefix string) float64 {
	var sum float64
	for _, l := range strings.Split(string(s.get(t, "/metrics").body), "\n") {
		if strings.HasPrefix(l, prefix) {
			var n float64
			fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &n)
			sum += n
		}
	}
	return sum
}

func waitIdle(t *testing.T, s *serveProc, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for poolIdle(t, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the pool did not fill (idle %d, want %d)\n%s", poolIdle(t, s), n, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServePool(t *testing.T) {
	warm := startServe(t, testConfig(map[string]any{"pool": map[string]any{"size": 1}}))
	defer warm.stop()
	cold := startServe(t, testConfig(nil))
	defer cold.stop()

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []map[string]any{
		{"input": "import sys; print(sys.argv, __name__, sorted(k for k in globals() if not k.startswith('__')))"},
		{"args": []string{"main.py", "a"}, "files": []map[string]any{
			{"path": "main.py", "content": b64("import sys, os\nprint(__file__, sys.argv, sys.path[0] == os.getcwd())\nopen('out.txt', 'w').write(open('lib/in.txt').read() * 2)\n")},
			{"path": "lib/in.txt", "content": b64("ab")}}},
		{"input": "raise SystemExit(3)"},
		{"input": "1/0"},
		{"input": "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"},
		{"input": "print('x' * 2000000)"},
		{"input": "import time; time.sleep(10)"}, // the 3 s wall limit, counted from the program's start
		{"input": "b = bytearray(400 << 20)"},
		{"args": []string{"-m", "json.tool", "data.json"}, "files": []map[string]any{{"path": "data.json", "content": b64(`{"k": [1, 2]}`)}}},
	}
	hits0 := metric(t, warm, "pycage_pool_hits_total")
	for i, c := range cases {
		waitIdle(t, warm, 2) // one for /eval, one for /v1/run
		w := warm.eval(t, c)
		k := cold.eval(t, c)
		w.took, k.took = 0, 0
		if !reflect.DeepEqual(w, k) {
			t.Errorf("case %d %v:\nwarm %+v\ncold %+v", i, c, w, k)
		}
	}
	if hits := metric(t, warm, "pycage_pool_hits_total") - hits0; hits < float64(len(cases)) {
		t.Fatalf("%v pool hits for %d requests", hits, len(cases))
	}

	// /v1/run: stdin, separate streams, times of the program only.
	waitIdle(t, warm, 2)
	time.Sleep(time.Second) // an idle sandbox's age must not count
	r := warm.run(t, map[string]any{"code": "import sys, time; time.sleep(0.3); print(input()); print('e', file=sys.stderr)", "stdin": "hi\n"})
	if r.str("stdout") != "hi\n" || r.str("stderr") != "e\n" || r.str("reason") != "exited" {
		t.Fatalf("%v", r.m)
	}
	if wall := r.num("wall_ms"); wall < 300 || wall > 900 {
		t.Fatalf("wall %v ms: the clock must start with the program", wall)
	}
	if cpu := r.num("cpu_ms"); cpu > 150 {
		t.Fatalf("cpu %v ms includes the interpreter's start-up", cpu)
	}

	// Nothing of a used sandbox survives: only the idle ones hold cgroups.
	waitIdle(t, warm, 2)
	time.Sleep(200 * time.Millisecond)
	if n := len(runCgroupRoots(warm.pid)); n != 2 {
		t.Fatalf("%d run cgroups with 2 idle sandboxes: %v", n, testkit.RunCgroups(warm.pid))
	}
}

// runCgroupRoots lists the run groups of pid in the unified hierarchy (one
// per jail).
func runCgroupRoots(pid int) []string {
	var roots []string
	for _, p := range testkit.RunCgroups(pid) {
		if strings.Contains(p, "/unified/") && !strings.HasSuffix(p, "/init") && !strings.HasSuffix(p, "/cmd") {
			roots = append(roots, p)
		}
	}
	return roots
}
