package main

// Black-box tests of `pycage serve`: the real binary (built once by
// TestMain), started as a subprocess on a free 127.0.0.1 port, spoken to
// over real HTTP.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/testkit"
)

type serveProc struct {
	t    *testing.T
	url  string
	cmd  *exec.Cmd
	pid  int
	logs *testkit.LockedBuffer
	done chan struct{}
	err  error // Wait's result, after done
}

var httpc = &http.Client{Timeout: 90 * time.Second}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// testConfig is a config for test servers: short default limits so that
// timeouts are quick.
func testConfig(over map[string]any) map[string]any {
	cfg := map[string]any{
		"defaults":       map[string]any{"wall": "3s", "cpu": "3s", "memory": "256M", "pids": 64, "output": "1M"},
		"maxima":         map[string]any{"wall": "10s", "cpu": "10s", "memory": "512M", "pids": 128, "output": "4M"},
		"shutdown_grace": "20s",
		// The warm pool has its own test (TestServePool); here every run is
		// cold, so that counts of jails, processes and cgroups are exact.
		"pool": map[string]any{"size": 0},
	}
	for k, v := range over {
		cfg[k] = v
	}
	return cfg
}

// startServe starts `pycage serve --config <cfg> --listen 127.0.0.1:<free
// port>`. wrap, if set, is a command line the pycage command is appended to.
func startServe(t *testing.T, cfg map[string]any, wrap ...string) *serveProc {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "serve.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		args := append(append([]string{}, wrap...), pycageBin, "serve", "--config", cfgPath, "--listen", addr)
		cmd := exec.Command(args[0], args[1:]...)
		logs := &testkit.LockedBuffer{}
		cmd.Stderr = logs
		cmd.Stdout = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &serveProc{t: t, url: "http://" + addr, cmd: cmd, pid: cmd.Process.Pid, logs: logs, done: make(chan struct{})}
		go func() { s.err = cmd.Wait(); close(s.done) }()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-s.done:
				if attempt < 3 && strings.Contains(logs.String(), "address already in use") {
					goto retry
				}
				t.Fatalf("pycage serve exited at start: %v\n%s", s.err, logs.String())
			default:
			}
			if resp, err := http.Get(s.url + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Cleanup(s.stop)
					return s
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.cmd.Process.Kill()
		t.Fatalf("pycage serve did not become healthy\n%s", logs.String())
	retry:
	}
}

// stop ends the server with SIGTERM (it must exit 0) and checks that no run
// cgroup of it is left.
func (s *serveProc) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
			s.t.Errorf("pycage serve did not stop within 60s of SIGTERM\n%s", s.logs.String())
		}
	}
	if left := testkit.RunCgroups(s.pid); len(left) > 0 {
		s.t.Errorf("run cgroups left after the server (pid %d) exited: %v", s.pid, left)
	}
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body is not JSON: %v\n%.2000s", r.status, err, r.body)
	}
	return m
}

func (s *serveProc) do(t *testing.T, ctx context.Context, method, path, ctype string, body []byte) (httpResult, error) {
	t.Helper()
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	t0 := time.Now()
	resp, err := httpc.Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b, took: time.Since(t0)}, err
}

func (s *serveProc) post(t *testing.T, path string, v any) httpResult {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.do(t, nil, "POST", path, "application/json", b)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return r
}

func (s *serveProc) get(t *testing.T, path string) httpResult {
	t.Helper()
	r, err := s.do(t, nil, "GET", path, "", nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return r
}

type evalFileOut struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Content string `json:"content"`
}

type evalOut struct {
	Stdout     string        `json:"stdout"`
	ReturnCode *int          `json:"returncode"`
	Files      []evalFileOut `json:"files"`
	took       time.Duration
}

// eval posts to /eval and wants 200.
func (s *serveProc) eval(t *testing.T, body any) evalOut {
	t.Helper()
	r := s.post(t, "/eval", body)
	if r.status != 200 {
		t.Fatalf("/eval: status %d: %s", r.status, r.body)
	}
	var e evalOut
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("/eval body: %v: %s", err, r.body)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(r.body, &raw)
	for _, k := range []string{"stdout", "returncode", "files"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("/eval answer has no %q: %s", k, r.body)
		}
	}
	e.took = r.took
	return e
}

func wantRC(t *testing.T, e evalOut, code int) {
	t.Helper()
	if e.ReturnCode == nil || *e.ReturnCode != code {
		rc := "null"
		if e.ReturnCode != nil {
			rc = strconv.Itoa(*e.ReturnCode)
		}
		t.Fatalf("returncode %s, want %d; stdout %.1000q", rc, code, e.Stdout)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func fileNames(fs []evalFileOut) []string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Path)
	}
	return n
}

// pgrep returns the pids of processes whose command line contains marker.
func pgrep(marker string) []string {
	out, _ := exec.Command("pgrep", "-f", marker).Output()
	return strings.Fields(string(out))
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func marker(t *testing.T) string {
	return fmt.Sprintf("pycage-marker-%d-%d", os.Getpid(), time.Now().UnixNano())
}

// TestServeEval covers the snekbox-compatible POST /eval end to end.
func TestServeEval(t *testing.T) {
	s := startServe(t, testConfig(nil))

	t.Run("hello and merged order", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": "import sys\nprint('out 1')\nprint('err 2', file=sys.stderr)\nprint('out 3')"})
		wantRC(t, e, 0)
		if e.Stdout != "out 1\nerr 2\nout 3\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
		if len(e.Files) != 0 {
			t.Fatalf("files %v", fileNames(e.Files))
		}
	})
	t.Run("args, input appended, leading empty args dropped", func(t *testing.T) {
		e := s.eval(t, map[string]any{"args": []string{"", "", "-c", "import sys; print(sys.argv[1:])", "a", "b"}})
		wantRC(t, e, 0)
		if e.Stdout != "['a', 'b']\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
		e = s.eval(t, map[string]any{"args": []string{"-c"}, "input": "print(6 * 7)"})
		if e.Stdout != "42\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
		e = s.eval(t, map[string]any{"args": []string{"main.py", "x"}, "files": []any{
			map[string]any{"path": "main.py", "content": b64("import sys; print('main', sys.argv[1])")}}})
		wantRC(t, e, 0)
		if e.Stdout != "main x\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
	})
	t.Run("return codes", func(t *testing.T) {
		wantRC(t, s.eval(t, map[string]any{"input": "raise SystemExit(3)"}), 3)
		wantRC(t, s.eval(t, map[string]any{"input": "import os, signal; os.kill(os.getpid(), signal.SIGUSR1)"}), 128+10)
		e := s.eval(t, map[string]any{"input": "while True: pass"})
		wantRC(t, e, 137)
		e = s.eval(t, map[string]any{"input": "b = b'x' * (600 << 20)"})
		wantRC(t, e, 137)
		e = s.eval(t, map[string]any{"input": "print('ok')", "executable_path": "/usr/bin/python3"})
		wantRC(t, e, 0)
	})
	t.Run("output flood is cut at 1 MiB with 143", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": "import sys\nwhile True: sys.stdout.write('é' * 999 + '\\n')"})
		wantRC(t, e, 143)
		n := len(e.Stdout)
		if n > 1<<20 || n < 1<<20-4096 {
			t.Fatalf("stdout is %d bytes, want just under 1 MiB", n)
		}
		if e.took > 8*time.Second {
			t.Fatalf("flood took %v", e.took)
		}
	})
	t.Run("invalid UTF-8 output", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe\\n')"})
		if e.ReturnCode != nil || e.Stdout != "UnicodeDecodeError: invalid Unicode in output pipe" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("schema errors are snekbox's", func(t *testing.T) {
		cases := []struct {
			body any
			desc string
		}{
			{map[string]any{"stuff": "foo"}, "'args' is a required property"},
			{map[string]any{}, "'args' is a required property"},
			{map[string]any{"args": 400}, "400 is not of type 'array'"},
			{map[string]any{"args": []any{}, "files": []any{215}}, "215 is not of type 'object'"},
			{map[string]any{"input": 5}, "5 is not of type 'string'"},
			{map[string]any{"input": "x", "files": []any{map[string]any{"content": "eA=="}}}, "'path' is a required property"},
			{[]any{1, "a", nil, true}, "[1, 'a', None, True] is not of type 'object'"},
			{map[string]any{"args": []any{"a", 1.5}}, "1.5 is not of type 'string'"},
		}
		for _, c := range cases {
			r := s.post(t, "/eval", c.body)
			m := r.json(t)
			if r.status != 400 || m["title"] != "Request data failed validation" || m["description"] != c.desc {
				t.Errorf("body %v: got %d %s, want 400 %q", c.body, r.status, r.body, c.desc)
			}
		}
		r, _ := s.do(t, nil, "POST", "/eval", "application/json", []byte(`{"input": `))
		if m := r.json(t); r.status != 400 || m["title"] != "Invalid JSON" {
			t.Errorf("broken JSON: %d %s", r.status, r.body)
		}
	})
	t.Run("file paths", func(t *testing.T) {
		for _, p := range []string{"../secrets", "../../dir", "dir/../../secrets", "dir/var/../../../file", "..", "a/../.."} {
			r := s.post(t, "/eval", map[string]any{"input": "1", "files": []any{map[string]any{"path": p}}})
			m := r.json(t)
			if r.status != 400 || m["title"] != "Request file path failed validation" ||
				m["description"] != fmt.Sprintf("File path '%s' may not traverse beyond root", p) {
				t.Errorf("path %q: %d %s", p, r.status, r.body)
			}
		}
		for _, p := range []string{"/etc/vars/secrets", "/absolute", "/file.bin", "//x"} {
			r := s.post(t, "/eval", map[string]any{"input": "1", "files": []any{map[string]any{"path": p}}})
			m := r.json(t)
			if r.status != 400 || m["description"] != fmt.Sprintf("File path '%s' must be relative", p) {
				t.Errorf("path %q: %d %s", p, r.status, r.body)
			}
		}
		r := s.post(t, "/eval", map[string]any{"input": "1", "files": []any{map[string]any{"path": "a\x00b"}}})
		if r.status != 400 {
			t.Errorf("NUL path: %d %s", r.status, r.body)
		}
		// Paths that stay inside are fine, and land where they say.
		var files []any
		for _, p := range []string{"file.txt", "./file.jpg", "path/to/file", "folder/../hm", "folder/./to/./somewhere", "traversal/but/../not/beyond/../root"} {
			files = append(files, map[string]any{"path": p, "content": b64(p)})
		}
		e := s.eval(t, map[string]any{"input": `
import os
for d, _, fs in sorted(os.walk(".")):
    for f in sorted(fs):
        p = os.path.join(d, f)[2:]
        print(p, open(p).read())`, "files": files})
		wantRC(t, e, 0)
		want := "file.jpg ./file.jpg\nfile.txt file.txt\nhm folder/../hm\npath/to/file path/to/file\ntraversal/not/root traversal/but/../not/beyond/../root\nfolder/to/somewhere folder/./to/./somewhere\n"
		got := strings.Split(strings.TrimSpace(e.Stdout), "\n")
		wl := strings.Split(strings.TrimSpace(want), "\n")
		sort.Strings(got)
		sort.Strings(wl)
		if strings.Join(got, "|") != strings.Join(wl, "|") {
			t.Fatalf("files inside:\n%s\nwant (any order):\n%s", e.Stdout, want)
		}
	})
	t.Run("invalid base64", func(t *testing.T) {
		for _, c := range []string{"not base64!", "YQ", "Y", "YQ="} {
			r := s.post(t, "/eval", map[string]any{"input": "1", "files": []any{map[string]any{"path": "x.bin", "content": c}}})
			m := r.json(t)
			if r.status != 400 || m["title"] != "Request file is invalid" || m["description"] != "Invalid base64 encoding for file 'x.bin'" {
				t.Errorf("content %q: %d %s", c, r.status, r.body)
			}
		}
		// Python's decoder drops characters outside the alphabet first.
		e := s.eval(t, map[string]any{"input": "print(open('x.bin').read())", "files": []any{map[string]any{"path": "x.bin", "content": "aGVs\nbG8="}}})
		if e.Stdout != "hello\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
	})
	t.Run("status codes", func(t *testing.T) {
		r, _ := s.do(t, nil, "POST", "/eval", "application/xml", []byte("{'input': 'foo'}"))
		if m := r.json(t); r.status != 415 || m["title"] != "415 Unsupported Media Type" || m["description"] != "application/xml is an unsupported media type." {
			t.Errorf("415: %d %s", r.status, r.body)
		}
		r = s.get(t, "/eval")
		if r.status != 405 || r.header.Get("Allow") != "POST" {
			t.Errorf("GET: %d %v", r.status, r.header)
		}
		r, _ = s.do(t, nil, "PUT", "/eval", "application/json", []byte(`{"input":"1"}`))
		if r.status != 405 {
			t.Errorf("PUT: %d", r.status)
		}
		r, _ = s.do(t, nil, "OPTIONS", "/eval", "", nil)
		if r.status != 200 || r.header.Get("Allow") != "POST" {
			t.Errorf("OPTIONS: %d %v", r.status, r.header)
		}
		big := append([]byte(`{"input": "`), bytes.Repeat([]byte("x"), 11<<20)...)
		big = append(big, `"}`...)
		r, err := s.do(t, nil, "POST", "/eval", "application/json", big)
		if err != nil || r.status != 413 {
			t.Errorf("11 MiB body: %v %d %s", err, r.status, r.body)
		}
		// No Content-Type: JSON is assumed (as falcon does).
		r, _ = s.do(t, nil, "POST", "/eval", "", []byte(`{"input":"print(1)"}`))
		if r.status != 200 {
			t.Errorf("no content type: %d %s", r.status, r.body)
		}
		r = s.post(t, "/eval", map[string]any{"input": "1", "executable_path": "/usr/bin/perl"})
		if r.status != 400 {
			t.Errorf("unknown executable_path: %d %s", r.status, r.body)
		}
		r = s.post(t, "/eval", map[string]any{"input": "1", "executable_path": "python3"})
		if r.status != 400 {
			t.Errorf("relative executable_path: %d %s", r.status, r.body)
		}
	})
	t.Run("files out", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": `
import os
open("b.txt", "w").write("bee")
os.makedirs("sub/dir")
open("sub/dir/a.bin", "wb").write(bytes(range(256)))
open(".hidden", "w").write("h")
open("_private", "w").write("p")
os.makedirs(".git"); open(".git/x", "w").write("x")
open("in_changed.txt", "a").write(" more")
`, "files": []any{
			map[string]any{"path": "in_same.txt", "content": b64("same")},
			map[string]any{"path": "in_changed.txt", "content": b64("changed")},
		}})
		wantRC(t, e, 0)
		got := strings.Join(fileNames(e.Files), ",")
		if got != "b.txt,in_changed.txt,sub/dir/a.bin" {
			t.Fatalf("files %s", got)
		}
		for _, f := range e.Files {
			c, err := base64.StdEncoding.DecodeString(f.Content)
			if err != nil || int64(len(c)) != f.Size {
				t.Fatalf("file %s: size %d, content %d bytes, %v", f.Path, f.Size, len(c), err)
			}
			if f.Path == "in_changed.txt" && string(c) != "changed more" || f.Path == "sub/dir/a.bin" && len(c) != 256 {
				t.Fatalf("file %s: %q", f.Path, c)
			}
		}
	})
	t.Run("at most 100 files", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": "for i in range(150): open('f%03d' % i, 'w').write(str(i))"})
		wantRC(t, e, 0)
		if len(e.Files) != 100 || e.Files[0].Path != "f000" || e.Files[99].Path != "f099" {
			t.Fatalf("%d files: %v", len(e.Files), fileNames(e.Files))
		}
	})
	t.Run("10000 tiny input files", func(t *testing.T) {
		var files []any
		for i := 0; i < 10000; i++ {
			files = append(files, map[string]any{"path": fmt.Sprintf("d%02d/f%05d.txt", i%50, i), "content": b64("x")})
		}
		e := s.eval(t, map[string]any{"input": "import os\nprint(sum(len(f) for _, _, f in os.walk('.')))", "files": files})
		if strings.Contains(e.Stdout, "bad file descriptor") {
			// internal/jail/collect.go wraps a borrowed directory fd in
			// os.NewFile; its finalizer closes the fd number again later.
			t.Fatalf("engine bug (file collection closes a reused fd): %q", e.Stdout)
		}
		wantRC(t, e, 0)
		if e.Stdout != "10000\n" || len(e.Files) != 0 {
			t.Fatalf("stdout %q, %d files back", e.Stdout, len(e.Files))
		}
	})
	t.Run("symlinks, fifos and deep trees are not followed", func(t *testing.T) {
		passwd, _ := os.ReadFile("/etc/passwd")
		e := s.eval(t, map[string]any{"input": `
import os
os.symlink("/etc/passwd", "passwd")
os.symlink("/proc/self/environ", "environ")
os.symlink("/proc/1/environ", "environ1")
os.symlink("/etc", "etc")
os.symlink("ok.txt", "link_to_ok")
os.mkfifo("fifo")
os.makedirs("sub"); os.mkfifo("sub/fifo2")
d = "deep"
for i in range(100):
    d = os.path.join(d, "d")
os.makedirs(d)
open(os.path.join(d, "bottom.txt"), "w").write("bottom")
open("ok.txt", "w").write("ok")
print("made")
`})
		wantRC(t, e, 0)
		if got := strings.Join(fileNames(e.Files), ","); got != "ok.txt" {
			t.Fatalf("files %s", got)
		}
		for _, f := range e.Files {
			c, _ := base64.StdEncoding.DecodeString(f.Content)
			if bytes.Contains(c, []byte("root:x:0:0")) || len(passwd) > 0 && bytes.Contains(c, passwd[:20]) || bytes.Contains(c, []byte("PATH=")) {
				t.Fatalf("host content came back in %s: %q", f.Path, c)
			}
		}
		if e.took > 8*time.Second {
			t.Fatalf("took %v", e.took)
		}
	})
	t.Run("sparse 1 TB file is refused by the file size limit", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": `
try:
    with open("bomb.bin", "wb") as f:
        f.truncate(1 << 40)
    print("created")
except OSError as e:
    print("refused", e.errno)
`})
		wantRC(t, e, 0)
		if e.Stdout != "refused 27\n" || len(e.Files) > 1 {
			t.Fatalf("stdout %q files %v", e.Stdout, fileNames(e.Files))
		}
	})
	t.Run("preinstalled packages import", func(t *testing.T) {
		if exec.Command("/usr/bin/python3", "-c", "import numpy").Run() != nil {
			t.Skip("no numpy for the system Python on this host")
		}
		e := s.eval(t, map[string]any{"input": "import numpy; print(int(numpy.arange(10).sum()))"})
		wantRC(t, e, 0)
		if e.Stdout != "45\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
	})
	t.Run("NUL in args", func(t *testing.T) {
		e := s.eval(t, map[string]any{"input": "print('a\x00b')"})
		if e.ReturnCode != nil || e.Stdout != "ValueError: embedded null byte" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("logs carry no code and no output", func(t *testing.T) {
		secret := "SECRET-" + marker(t)
		e := s.eval(t, map[string]any{"input": "print('" + secret + "-out')  # " + secret + "-code"})
		wantRC(t, e, 0)
		logs := s.logs.String()
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains user code or output:\n%s", logs)
		}
		var sawRequest bool
		for _, line := range strings.Split(logs, "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "request" || m["path"] != "/eval" || m["reason"] != "exited" {
				continue
			}
			for _, k := range []string{"id", "status", "queue_ms", "run_ms", "total_ms", "runtime"} {
				if _, ok := m[k]; !ok {
					t.Fatalf("request log line without %q: %s", k, line)
				}
			}
			sawRequest = true
		}
		if !sawRequest {
			t.Fatalf("no request log line:\n%s", logs)
		}
	})
}

type nativeOut struct {
	m    map[string]any
	took time.Duration
}

func (s *serveProc) run(t *testing.T, body map[string]any) nativeOut {
	t.Helper()
	r := s.post(t, "/v1/run", body)
	if r.status != 200 {
		t.Fatalf("/v1/run: %d %s", r.status, r.body)
	}
	return nativeOut{r.json(t), r.took}
}

func (r nativeOut) str(k string) string {
	s, _ := r.m[k].(string)
	return s
}

func (r nativeOut) num(k string) float64 {
	f, _ := r.m[k].(float64)
	return f
}

func wantRunReason(t *testing.T, r nativeOut, reason string, code int) {
	t.Helper()
	if r.str("reason") != reason || int(r.num("exit_code")) != code {
		t.Fatalf("reason %q exit %v, want %s %d\n%v", r.str("reason"), r.m["exit_code"], reason, code, r.m)
	}
}

// TestServeNative covers POST /v1/run, GET /v1/runtimes, the OpenAPI
// document, health, readiness and metrics.
func TestServeNative(t *testing.T) {
	s := startServe(t, testConfig(nil))

	t.Run("separate streams, stdin, timings", func(t *testing.T) {
		r := s.run(t, map[string]any{"code": "import sys; print(sys.stdin.read().upper()); print('warn', file=sys.stderr); sys.exit(4)", "stdin": "abc"})
		wantRunReason(t, r, "exited", 4)
		if r.str("stdout") != "ABC\n" || r.str("stderr") != "warn\n" || r.str("stdout_encoding") != "utf-8" {
			t.Fatalf("%v", r.m)
		}
		if _, ok := r.m["output"]; ok {
			t.Fatalf("merged output without asking: %v", r.m)
		}
		if r.num("wall_ms") <= 0 || r.num("cpu_ms") <= 0 || r.num("peak_memory_bytes") <= 0 || r.num("run_ms") <= 0 {
			t.Fatalf("timings: %v", r.m)
		}
		if !strings.HasPrefix(r.str("runtime"), "python3.") || r.str("runtime_version") == "" {
			t.Fatalf("runtime: %v", r.m)
		}
	})
	t.Run("merged output keeps the write order", func(t *testing.T) {
		r := s.run(t, map[string]any{"code": "import sys\nfor i in range(5):\n    print(i, file=sys.stderr if i % 2 else sys.stdout)", "merge_output": true})
		wantRunReason(t, r, "exited", 0)
		if r.str("output") != "0\n1\n2\n3\n4\n" || r.m["stdout"] != nil || r.m["stderr"] != nil {
			t.Fatalf("%v", r.m)
		}
	})
	t.Run("invalid UTF-8 is never lost", func(t *testing.T) {
		code := "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe\\n'); sys.stderr.write('fine')"
		r := s.run(t, map[string]any{"code": code})
		if r.str("stdout_encoding") != "base64" || r.str("stderr_encoding") != "utf-8" || r.str("stderr") != "fine" {
			t.Fatalf("%v", r.m)
		}
		if b, _ := base64.StdEncoding.DecodeString(r.str("stdout")); string(b) != "ok \xff\xfe\n" {
			t.Fatalf("stdout bytes %q", b)
		}
		r = s.run(t, map[string]any{"code": code, "output_encoding": "replace"})
		if r.str("stdout") != "ok \uFFFD\uFFFD\n" || r.str("stdout_encoding") != "utf-8" {
			t.Fatalf("%v", r.m)
		}
		r = s.run(t, map[string]any{"code": code, "output_encoding": "base64"})
		if r.str("stderr_encoding") != "base64" || r.str("stderr") != b64("fine") {
			t.Fatalf("%v", r.m)
		}
	})
	t.Run("reasons", func(t *testing.T) {
		r := s.run(t, map[string]any{"code": "while True: pass", "limits": map[string]any{"wall_ms": 700}})
		wantRunReason(t, r, "wall-timeout", 137)
		r = s.run(t, map[string]any{"code": "while True: pass", "limits": map[string]any{"cpu_ms": 400, "wall_ms": 5000}})
		wantRunReason(t, r, "cpu-timeout", 137)
		r = s.run(t, map[string]any{"code": "b = b'x' * (200 << 20)", "limits": map[string]any{"memory_bytes": 64 << 20}})
		wantRunReason(t, r, "oom", 137)
		r = s.run(t, map[string]any{"code": "import os; os.kill(os.getpid(), 15)"})
		wantRunReason(t, r, "signaled", 143)
		if r.num("signal") != 15 {
			t.Fatalf("signal %v", r.m["signal"])
		}
		r = s.run(t, map[string]any{"code": `
import os, sys, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(5); os._exit(0)
        n += 1
except OSError:
    sys.exit(3)`, "limits": map[string]any{"pids": 16}})
		wantRunReason(t, r, "pids-limit-hit", 3)
		r = s.run(t, map[string]any{"code": "while True: print('y' * 100)", "limits": map[string]any{"output_bytes": 10000}})
		if r.str("reason") != "output-limit" || r.m["stdout_truncated"] != true || len(r.str("stdout")) != 10000 || r.num("stdout_bytes") != 10000 {
			t.Fatalf("%.500v", r.m)
		}
	})
	t.Run("limits are capped by the maxima", func(t *testing.T) {
		r := s.run(t, map[string]any{"code": "pass", "limits": map[string]any{"wall_ms": 1e9, "memory_bytes": 1 << 40, "pids": 1 << 20, "output_bytes": 1 << 40, "cpu_ms": 1}})
		l, _ := r.m["limits"].(map[string]any)
		if l["wall_ms"] != float64(10000) || l["memory_bytes"] != float64(512<<20) || l["pids"] != float64(128) || l["output_bytes"] != float64(4<<20) || l["cpu_ms"] != float64(1) {
			t.Fatalf("limits %v", l)
		}
		r2 := s.post(t, "/v1/run", map[string]any{"code": "pass", "limits": map[string]any{"wall_ms": -1}})
		if r2.status != 400 {
			t.Fatalf("negative limit: %d %s", r2.status, r2.body)
		}
	})
	t.Run("files in and out", func(t *testing.T) {
		r := s.run(t, map[string]any{
			"args": []string{"main.py"},
			"files": []any{
				map[string]any{"path": "main.py", "content": "import shutil; shutil.copy('data/in.bin', 'out/copy.bin'); open('.h', 'w').write('h')"},
				map[string]any{"path": "data/in.bin", "content_base64": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})},
				map[string]any{"path": "out/keep", "content": ""},
			}})
		wantRunReason(t, r, "exited", 0)
		fs, _ := r.m["files"].([]any)
		if len(fs) != 1 {
			t.Fatalf("files %v", r.m["files"])
		}
		f := fs[0].(map[string]any)
		if f["path"] != "out/copy.bin" || f["content"] != base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}) || f["size"] != float64(4) {
			t.Fatalf("file %v", f)
		}
		for _, bad := range []map[string]any{
			{"code": "1", "files": []any{map[string]any{"path": "../x", "content": ""}}},
			{"code": "1", "files": []any{map[string]any{"path": "/x", "content": ""}}},
			{"code": "1", "files": []any{map[string]any{"path": "x", "content_base64": "!!"}}},
			{"code": "1", "files": []any{map[string]any{"path": "a", "content": ""}, map[string]any{"path": "a/b", "content": ""}}},
			{"code": "1", "runtime": "cobol"},
			{"code": "1", "limtis": map[string]any{}},
			{},
		} {
			r := s.post(t, "/v1/run", bad)
			m := r.json(t)
			if r.status != 400 || m["title"] == nil || m["description"] == nil {
				t.Errorf("%v: %d %s", bad, r.status, r.body)
			}
		}
	})
	t.Run("runtimes", func(t *testing.T) {
		r := s.get(t, "/v1/runtimes")
		m := r.json(t)
		rts, _ := m["runtimes"].([]any)
		if r.status != 200 || len(rts) == 0 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		first := rts[0].(map[string]any)
		if first["path"] != "/usr/bin/python3" || first["default"] != true || first["usable"] != true || !strings.HasPrefix(first["version"].(string), "3.") {
			t.Fatalf("%v", first)
		}
		run := s.run(t, map[string]any{"runtime": first["name"], "code": "import sys; print('%d.%d.%d' % sys.version_info[:3])"})
		if run.str("stdout") != first["version"].(string)+"\n" {
			t.Fatalf("%v", run.m)
		}
	})
	t.Run("openapi, health, readiness, metrics", func(t *testing.T) {
		r := s.get(t, "/openapi.yaml")
		if r.status != 200 || !bytes.Contains(r.body, []byte("/v1/run:")) || !bytes.Contains(r.body, []byte("/eval:")) {
			t.Fatalf("openapi: %d %.200s", r.status, r.body)
		}
		if r := s.get(t, "/healthz"); r.status != 200 {
			t.Fatalf("healthz %d", r.status)
		}
		r = s.get(t, "/readyz")
		if m := r.json(t); r.status != 200 || m["status"] != "ready" {
			t.Fatalf("readyz %d %s", r.status, r.body)
		}
		r = s.get(t, "/metrics")
		for _, name := range []string{
			`pycage_http_requests_total{code="200",endpoint="run",reason="exited"}`,
			`pycage_http_requests_total{code="400",endpoint="run",reason="bad-request"}`,
			`pycage_run_duration_seconds_bucket{endpoint="run",reason="oom"`,
			`pycage_queue_wait_seconds_bucket{endpoint="run"`,
			"pycage_runs_in_flight 0", "pycage_queue_length 0", "pycage_setup_failures_total 0",
			`pycage_output_truncations_total{stream="stdout"} 1`,
		} {
			if !bytes.Contains(r.body, []byte(name)) {
				t.Errorf("metrics lack %s", name)
			}
		}
	})
}

// TestServeFileBomb: with a file size limit that allows it, a sparse 1 TB
// file is made; it must not come back and collection must not hang.
func TestServeFileBomb(t *testing.T) {
	s := startServe(t, testConfig(map[string]any{"file_size": "2T"}))
	e := s.eval(t, map[string]any{"input": `
open("a_small.txt", "w").write("small")
with open("bomb.bin", "wb") as f:
    f.truncate(1 << 40)
import os
print(os.stat("bomb.bin").st_size)
`})
	wantRC(t, e, 0)
	if e.Stdout != "1099511627776\n" {
		t.Fatalf("stdout %q", e.Stdout)
	}
	if got := strings.Join(fileNames(e.Files), ","); got != "a_small.txt" {
		t.Fatalf("files %s", got)
	}
	if e.took > 10*time.Second {
		t.Fatalf("took %v", e.took)
	}
	r := s.run(t, map[string]any{"code": "f = open('bomb.bin', 'wb'); f.truncate(1 << 40)"})
	if r.m["files_truncated"] != true || len(r.m["files"].([]any)) != 0 || r.str("files_error") == "" {
		t.Fatalf("%v", r.m)
	}
}

// TestServeQueueAndDisconnect: beyond slots+queue a request gets 503 with
// Retry-After at once; a client that goes away kills its jail and frees
// its slot; nothing leaks.
func TestServeQueueAndDisconnect(t *testing.T) {
	s := startServe(t, testConfig(map[string]any{"max_concurrent": 1, "max_queue": 2}))
	mk := marker(t)

	t.Run("beyond the queue: 503 at once", func(t *testing.T) {
		const n = 8
		type answer struct {
			status int
			retry  string
			took   time.Duration
			err    error
		}
		answers := make(chan answer, n)
		body, _ := json.Marshal(map[string]any{"input": "import time; time.sleep(1.5)  # " + mk})
		for i := 0; i < n; i++ {
			go func() {
				r, err := s.do(t, nil, "POST", "/eval", "application/json", body)
				answers <- answer{r.status, r.header.Get("Retry-After"), r.took, err}
			}()
		}
		var ok, busy int
		for i := 0; i < n; i++ {
			a := <-answers
			switch {
			case a.err != nil:
				t.Errorf("request error: %v", a.err)
			case a.status == 200:
				ok++
			case a.status == 503:
				busy++
				if a.retry == "" || a.took > time.Second {
					t.Errorf("503 without Retry-After or slow (%v)", a.took)
				}
			default:
				t.Errorf("status %d", a.status)
			}
		}
		if ok != 3 || busy != 5 {
			t.Fatalf("%d answered 200, %d 503; want 3 and 5 (1 slot + 2 queued)", ok, busy)
		}
		if p := pgrep(mk); len(p) > 0 {
			t.Fatalf("jail processes left: %v", p)
		}
		m := s.get(t, "/metrics").body
		for _, want := range []string{`pycage_http_requests_total{code="503",endpoint="eval",reason="queue-full"} 5`, "pycage_runs_in_flight 0", "pycage_queue_length 0"} {
			if !bytes.Contains(m, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if left := testkit.RunCgroups(s.pid); len(left) > 0 {
			t.Fatalf("run cgroups left: %v", left)
		}
	})

	t.Run("client disconnect kills the jail", func(t *testing.T) {
		mk2 := mk + "-disconnect"
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		body, _ := json.Marshal(map[string]any{"input": "import time; time.sleep(60)  # " + mk2})
		go func() {
			_, err := s.do(t, ctx, "POST", "/eval", "application/json", body)
			done <- err
		}()
		waitFor(t, "the jail's python to run", 10*time.Second, func() bool { return len(pgrep(mk2)) > 0 })
		t0 := time.Now()
		cancel()
		<-done
		waitFor(t, "the jail's python to be gone", 5*time.Second, func() bool { return len(pgrep(mk2)) == 0 })
		t.Logf("jail gone %v after the client went away", time.Since(t0))
		// The slot is free: the next run starts at once.
		e := s.eval(t, map[string]any{"input": "print('next')"})
		if e.Stdout != "next\n" || e.took > 5*time.Second {
			t.Fatalf("next run: %+v", e)
		}
		waitFor(t, "no run cgroups", 5*time.Second, func() bool { return len(testkit.RunCgroups(s.pid)) == 0 })
		if m := s.get(t, "/metrics").body; !bytes.Contains(m, []byte(`reason="client-gone"`)) {
			t.Errorf("metrics lack the client-gone request")
		}
	})
}

// TestServeGracefulShutdown: on SIGTERM the service stops accepting, lets
// the running jail finish, exits 0 and leaves no cgroup; past the grace
// period it kills what still runs.
func TestServeGracefulShutdown(t *testing.T) {
	mk := marker(t)
	t.Run("in-flight run completes", func(t *testing.T) {
		s := startServe(t, testConfig(map[string]any{"shutdown_grace": "20s"}))
		type answer struct {
			r   httpResult
			err error
		}
		done := make(chan answer, 1)
		body, _ := json.Marshal(map[string]any{"input": "import time; time.sleep(2); print('finished')  # " + mk})
		go func() {
			r, err := s.do(t, nil, "POST", "/eval", "application/json", body)
			done <- answer{r, err}
		}()
		waitFor(t, "the jail's python to run", 10*time.Second, func() bool { return len(pgrep(mk)) > 0 })
		s.cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(300 * time.Millisecond)
		if _, err := s.do(t, nil, "POST", "/eval", "application/json", []byte(`{"input":"1"}`)); err == nil {
			t.Errorf("a new request was accepted after SIGTERM")
		}
		a := <-done
		if a.err != nil || a.r.status != 200 || !bytes.Contains(a.r.body, []byte(`"stdout":"finished\n","returncode":0`)) {
			t.Fatalf("in-flight run: %v %d %s", a.err, a.r.status, a.r.body)
		}
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Fatal("the service did not exit after its last run")
		}
		if s.err != nil {
			t.Fatalf("exit: %v\n%s", s.err, s.logs.String())
		}
		if left := testkit.RunCgroups(s.pid); len(left) > 0 {
			t.Fatalf("run cgroups left: %v", left)
		}
		out, _ := exec.Command("sh", "-c", "find /sys/fs/cgroup -path '*pycage*' -mindepth 2 -type d -name 'run-*' 2>/dev/null").Output()
		t.Logf("run cgroups of any pycage on the host now (other tests may run): %q", out)
	})
	t.Run("past the grace period the rest is killed", func(t *testing.T) {
		s := startServe(t, testConfig(map[string]any{"shutdown_grace": "1s"}))
		mk2 := mk + "-killed"
		done := make(chan httpResult, 1)
		body, _ := json.Marshal(map[string]any{"input": "import time; time.sleep(60)  # " + mk2})
		go func() {
			r, _ := s.do(t, nil, "POST", "/eval", "application/json", body)
			done <- r
		}()
		waitFor(t, "the jail's python to run", 10*time.Second, func() bool { return len(pgrep(mk2)) > 0 })
		t0 := time.Now()
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			t.Fatal("the service did not exit")
		}
		t.Logf("exited %v after SIGTERM", time.Since(t0))
		if s.err != nil {
			t.Fatalf("exit: %v\n%s", s.err, s.logs.String())
		}
		if r := <-done; r.status != 503 {
			t.Errorf("killed run answered %d %s, want 503", r.status, r.body)
		}
		if p := pgrep(mk2); len(p) > 0 {
			t.Fatalf("jail processes left: %v", p)
		}
		if left := testkit.RunCgroups(s.pid); len(left) > 0 {
			t.Fatalf("run cgroups left: %v", left)
		}
	})
}

// TestServeRuntimeOutsideUsr: an interpreter whose prefix lives outside
// /usr (a pyenv build under /root/.pyenv) is bound read-only into the jail
// at the same path, and requests can choose it by name and by path.
//
// /root is mode 0700 on this host and, where the engine opens bind sources
// in the jail's init (a user namespace mapped to uid 65534), a bind source
// below it fails with EACCES (see docs/runtimes.md). The service therefore
// runs in a private mount namespace where /root is a world-traversable tmpfs
// holding just the pyenv prefix, at its own path (pyenv builds have their
// prefix as rpath). cmd/pycage/runtimes_test.go covers every pyenv version.
func TestServeRuntimeOutsideUsr(t *testing.T) {
	var prefix string
	for _, v := range []string{"3.13.0", "3.12.1"} {
		p := "/root/.pyenv/versions/" + v
		if _, err := os.Stat(p + "/bin/python3"); err == nil {
			prefix = p
			break
		}
	}
	if prefix == "" {
		t.Skip("no pyenv Python on this host")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	stash, err := os.MkdirTemp("", "pycage-rt-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(stash)
	exe := prefix + "/bin/python3"
	script := `set -e
P=$0; S=$1; shift
mount --bind "$P" "$S"
mount -t tmpfs -o mode=755 pycage-test-root /root
mkdir -p "$P"
mount --bind "$S" "$P"
exec "$@"`
	s := startServe(t, testConfig(map[string]any{"runtimes": []any{map[string]any{"name": "pyenv", "path": exe}}}),
		"unshare", "-m", "--propagation", "private", "sh", "-c", script, prefix, stash)
	m := s.get(t, "/v1/runtimes").json(t)
	var found map[string]any
	for _, rt := range m["runtimes"].([]any) {
		if rt.(map[string]any)["name"] == "pyenv" {
			found = rt.(map[string]any)
		}
	}
	if found == nil || found["usable"] != true || found["path"] != exe {
		t.Fatalf("runtimes: %v", m)
	}
	want := found["version"].(string) + " " + prefix
	e := s.eval(t, map[string]any{"input": "import sys; print('%d.%d.%d' % sys.version_info[:3], sys.prefix)", "executable_path": exe})
	if e.Stdout != want+"\n" {
		t.Fatalf("stdout %q, want %q", e.Stdout, want)
	}
	r := s.run(t, map[string]any{"runtime": "pyenv", "code": "import json, sqlite3, ssl; print('ok')"})
	if r.str("stdout") != "ok\n" {
		t.Fatalf("%v", r.m)
	}
	// The prefix is read-only inside.
	r = s.run(t, map[string]any{"runtime": "pyenv", "code": "import sys\ntry:\n    open(sys.prefix + '/x', 'w')\nexcept OSError as e:\n    print(e.errno)"})
	if r.str("stdout") != "30\n" {
		t.Fatalf("write into the prefix: %v", r.m)
	}
}

// TestServeConfig: the documented example config works, flags override it,
// and mistakes are refused with exit code 2.
func TestServeConfig(t *testing.T) {
	out, err := exec.Command(pycageBin, "serve", "--config", "../../examples/serve.json", "--max-queue", "3", "--print-config").Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var cfg map[string]any
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if cfg["max_queue"] != float64(3) || cfg["listen"] != "127.0.0.1:8060" {
		t.Fatalf("config %v", cfg)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"listne": "x"}`), 0o644)
	cmd := exec.Command(pycageBin, "serve", "--config", bad)
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), "listne") {
		t.Fatalf("bad config: %v %s", err, b)
	}
}
