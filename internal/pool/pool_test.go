package pool

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

func TestMain(m *testing.M) {
	jail.Main() // the jail's init re-executes this test binary
	os.Exit(m.Run())
}

func newTestPool(t *testing.T, opt Options) *Pool {
	t.Helper()
	build := func() *jail.Spec {
		s := jail.DefaultSpec(nil)
		s.Collect = &jail.CollectSpec{MaxFiles: 10, MaxBytes: 1 << 20, MaxDepth: 4, Timeout: 2 * time.Second, SkipHidden: true, OnlyChanged: true}
		return s
	}
	p := New("test", "/usr/bin/python3", []string{"-Bu"}, build, opt)
	t.Cleanup(p.Close)
	return p
}

// take waits until the pool has a sandbox ready.
func take(t *testing.T, p *Pool) *Sandbox {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if sb := p.Take(); sb != nil {
			return sb
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no sandbox ready: %+v", p.Stats())
	return nil
}

func TestWarmRunSemantics(t *testing.T) {
	p := newTestPool(t, Options{Size: 1, Merged: true})
	cases := []struct {
		name string
		req  Request
		want string
		code int
	}{
		{"-c argv and main", Request{Args: []string{"-c", "import sys; print(sys.argv, __name__, 'os' in dir())", "a", "b"}}, "['-c', 'a', 'b'] __main__ False\n", 0},
		{"file with __file__ and files in", Request{Args: []string{"main.py", "x"}, Files: []jail.File{{Path: "main.py", Content: []byte("import sys, os\nprint(__file__, sys.argv, sys.path[0], open('data/in.txt').read())\nopen('out.txt','w').write('o')\n")}, {Path: "data/in.txt", Content: []byte("hi")}}}, "/sandbox/main.py ['main.py', 'x'] /sandbox hi\n", 0},
		{"stdin", Request{Args: []string{"-c", "print(input()[::-1])"}, Stdin: []byte("olleh\n")}, "hello\n", 0},
		{"exit code", Request{Args: []string{"-c", "raise SystemExit(7)"}}, "", 7},
		{"traceback like a cold run", Request{Args: []string{"-c", "1/0"}}, "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero\n", 1},
		{"syntax error", Request{Args: []string{"-c", "print("}}, "SyntaxError", 1},
		{"-m", Request{Args: []string{"-m", "json.tool"}, Stdin: []byte(`{"a":1}`)}, "{\n    \"a\": 1\n}\n", 0},
		{"env", Request{Args: []string{"-c", "import os; print('PYCAGE_READY_FD' in os.environ, sorted(os.listdir('/proc/self/fd')))"}}, "False ['0', '1', '2', '3']\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sb := take(t, p)
			var out bytes.Buffer
			res, err := sb.Run(context.Background(), c.req, &out, &out)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != c.code || !strings.Contains(out.String(), c.want) {
				t.Fatalf("exit %d (%s), output %q; want %d, %q", res.ExitCode, res.Reason, out.String(), c.code, c.want)
			}
			if c.name == "file with __file__ and files in" {
				var names []string
				for _, f := range res.Files {
					names = append(names, f.Path)
				}
				if strings.Join(names, ",") != "out.txt" {
					t.Fatalf("collected %v, want only the file the program wrote", names)
				}
			}
		})
	}
	if st := p.Stats(); st.Hits < int64(len(cases)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestWarmClocksStartWithTheProgram(t *testing.T) {
	p := newTestPool(t, Options{Size: 1, Merged: true})
	sb := take(t, p)
	time.Sleep(1500 * time.Millisecond) // idle time must not count
	var out bytes.Buffer
	res, err := sb.Run(context.Background(), Request{Args: []string{"-c", "import time; time.sleep(0.2)"}}, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Wall < 200*time.Millisecond || res.Wall > time.Second {
		t.Fatalf("wall %v: the clock must start with the program", res.Wall)
	}
	if res.CPU > 300*time.Millisecond {
		t.Fatalf("cpu %v includes the interpreter's start-up", res.CPU)
	}
}
