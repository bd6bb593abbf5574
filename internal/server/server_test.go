package server

// Unit tests of the pieces that need no jail. The service end to end is
// tested black-box in cmd/pycage/serve_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
)

func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		`400`:                   `400`,
		`-3`:                    `-3`,
		`1.5`:                   `1.5`,
		`1e3`:                   `1000.0`,
		`1e16`:                  `1e+16`,
		`1e-5`:                  `1e-05`,
		`null`:                  `None`,
		`true`:                  `True`,
		`"a"`:                   `'a'`,
		`"it's"`:                `"it's"`,
		`"it's \"q\""`:          `'it\'s "q"'`,
		`"tab\tnl\n\u0001"`:     `'tab\tnl\n\x01'`,
		`"é"`:                   `'é'`,
		`[1, "a", null, false]`: `[1, 'a', None, False]`,
		`{"b": 1, "a": [2]}`:    `{'b': 1, 'a': [2]}`,
		`{"k": 1, "k": 2}`:      `{'k': 2}`,
	} {
		v, err := decodeOrdered([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := pyRepr(v); got != want {
			t.Errorf("pyRepr(%s) = %s, want %s", in, got, want)
		}
	}
	v, _ := decodeOrdered([]byte(`"` + strings.Repeat("x", 10000) + `"`))
	if got := pyRepr(v); len(got) > maxRepr+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("long repr not cut: %d bytes", len(got))
	}
	if _, err := decodeOrdered([]byte(`{"a":1} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
	if _, err := decodeOrdered([]byte(strings.Repeat("[", 100) + strings.Repeat("]", 100))); err == nil {
		t.Error("deep nesting accepted")
	}
}

func TestParseEvalBody(t *testing.T) {
	for in, want := range map[string]string{
		`{"stuff": "foo"}`:                      `'args' is a required property`,
		`{}`:                                    `'args' is a required property`,
		`{"args": 400}`:                         `400 is not of type 'array'`,
		`{"args": [], "files": [215]}`:          `215 is not of type 'object'`,
		`{"input": 5}`:                          `5 is not of type 'string'`,
		`{"input": "x", "files": [{}]}`:         `'path' is a required property`,
		`{"input": "x", "files": [{"path":1}]}`: `1 is not of type 'string'`,
		`{"input": "x", "files": [{"path":"a", "content": 1}]}`: `1 is not of type 'string'`,
		`{"args": ["a", 2]}`:                   `2 is not of type 'string'`,
		`{"input": "x", "executable_path": 3}`: `3 is not of type 'string'`,
		`"x"`:                                  `'x' is not of type 'object'`,
		// The shallowest error wins: a missing input/args beats a bad file.
		`{"files": 5}`:              `'args' is a required property`,
		`{"args": 1, "files": [1]}`: `1 is not of type 'array'`,
	} {
		v, err := decodeOrdered([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		_, msg := parseEvalBody(v)
		if msg != want {
			t.Errorf("%s: %q, want %q", in, msg, want)
		}
	}
	v, _ := decodeOrdered([]byte(`{"input": "print(1)", "args": ["-c"], "files": [{"path": "a", "content": "eA=="}, {"path": "b"}], "executable_path": "/usr/bin/python3", "extra": 1}`))
	b, msg := parseEvalBody(v)
	if msg != "" || *b.input != "print(1)" || len(b.args) != 1 || len(b.files) != 2 || b.files[1].content != nil || *b.executablePath != "/usr/bin/python3" {
		t.Fatalf("%q %+v", msg, b)
	}
}

func TestCleanFilePath(t *testing.T) {
	ok := map[string]string{
		"file.txt": "file.txt", "./file.jpg": "file.jpg", "path/to/file": "path/to/file", "folder/../hm": "hm",
		"folder/./to/./somewhere": "folder/to/somewhere", "traversal/but/../not/beyond/../root": "traversal/not/root",
		"a//b/": "a/b", ".hidden": ".hidden",
	}
	for in, want := range ok {
		if got, why := cleanFilePath(in); why != "" || got != want {
			t.Errorf("%q: %q %q, want %q", in, got, why, want)
		}
	}
	bad := map[string]string{
		"../secrets": pathTraverses, "../../dir": pathTraverses, "dir/../../secrets": pathTraverses,
		"dir/var/../../../file": pathTraverses, "..": pathTraverses, "/etc/passwd": pathAbsolute, "/": pathAbsolute,
		"a\x00b": pathNUL, "": pathNoName, ".": pathNoName, "a/..": pathNoName,
	}
	for in, want := range bad {
		if _, why := cleanFilePath(in); why != want {
			t.Errorf("%q: %q, want %q", in, why, want)
		}
	}
}

func TestDecodeLenientBase64(t *testing.T) {
	for in, want := range map[string]string{"aGVsbG8=": "hello", "aGVs\nbG8=": "hello", " aGVs bG8= ": "hello", "": "", "YQ==": "a"} {
		got, err := decodeLenientBase64(in)
		if err != nil || string(got) != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"YQ", "Y", "YQ=", "not base64!"} {
		if _, err := decodeLenientBase64(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestPlaceFiles(t *testing.T) {
	fs, msg := placeFiles([]jail.File{{Path: "a", Content: []byte("1")}, {Path: "d/x"}, {Path: "a", Content: []byte("2")}})
	if msg != "" || len(fs) != 2 || fs[0].Path != "a" || string(fs[0].Content) != "2" || fs[1].Path != "d/x" {
		t.Fatalf("%q %+v", msg, fs)
	}
	if _, msg := placeFiles([]jail.File{{Path: "a"}, {Path: "a/b"}}); msg != "FileExistsError: Failed to create file 'a/b'." {
		t.Errorf("file then dir: %q", msg)
	}
	if _, msg := placeFiles([]jail.File{{Path: "a/b"}, {Path: "a"}}); msg != "IsADirectoryError: Failed to create file 'a'." {
		t.Errorf("dir then file: %q", msg)
	}
}

func TestOutputEncoding(t *testing.T) {
	if got := string(cutPartialRune([]byte("ab\xc3"))); got != "ab" {
		t.Errorf("cut 1 of 2: %q", got)
	}
	if got := string(cutPartialRune([]byte("ab\xe2\x82"))); got != "ab" {
		t.Errorf("cut 2 of 3: %q", got)
	}
	if got := string(cutPartialRune([]byte("ab\xe2\x82\xac"))); got != "ab€" {
		t.Errorf("whole rune cut: %q", got)
	}
	if got := string(cutPartialRune([]byte("ab\xff"))); got != "ab\xff" {
		t.Errorf("invalid byte cut: %q", got)
	}
	if got := universalNewlines("a\r\nb\rc\n\r"); got != "a\nb\nc\n\n" {
		t.Errorf("newlines: %q", got)
	}
	for _, c := range []struct {
		in         string
		mode       string
		trunc      bool
		text, want string
	}{
		{"héllo", "auto", false, "héllo", encUTF8},
		{"ok\xff", "auto", false, "b2v/", encBase64},
		{"ok\xe2\x82", "auto", true, "ok", encUTF8},
		{"ok\xe2\x82", "auto", false, "b2vigg==", encBase64},
		{"ok\xff\xfe", "replace", false, "ok\uFFFD\uFFFD", encUTF8},
		{"ok", "base64", false, "b2s=", encBase64},
	} {
		text, enc := encodeOutput([]byte(c.in), c.mode, c.trunc)
		if text != c.text || enc != c.want {
			t.Errorf("encodeOutput(%q, %s, %v) = %q %s", c.in, c.mode, c.trunc, text, enc)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(1, 2)
	for i := 0; i < 3; i++ {
		if !l.admit() {
			t.Fatalf("ticket %d refused", i)
		}
	}
	if l.admit() {
		t.Fatal("fourth ticket admitted beyond 1 slot + 2 queued")
	}
	if err := l.acquire(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if q := l.queued(); q != 2 {
		t.Fatalf("queued %d", q)
	}
	if err := l.acquire(context.Background(), 20*time.Millisecond); err != errQueueTimeout {
		t.Fatalf("busy slot: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.acquire(ctx, time.Second); err != context.Canceled {
		t.Fatalf("canceled: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- l.acquire(context.Background(), 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	l.release()
	if err := <-got; err != nil {
		t.Fatalf("after release: %v", err)
	}
	go func() { got <- l.acquire(context.Background(), 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	l.close()
	if err := <-got; err != errShuttingDown {
		t.Fatalf("close: %v", err)
	}
	l.release()
	l.leave()
	if l.admit() {
		t.Fatal("admitted after close")
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"max_body": "1M", "defaults": {"wall": 2, "cpu": "1500ms", "memory": 1048576, "pids": 8, "output": "64k"},
		"runtimes": [{"name": "x", "path": "/usr/bin/python3"}]}`), 0o644)
	if err := LoadConfigFile(&c, p); err != nil {
		t.Fatal(err)
	}
	if err := c.Normalize(); err != nil {
		t.Fatal(err)
	}
	if c.MaxBody != 1<<20 || c.Defaults.Wall != Duration(2*time.Second) || c.Defaults.CPU != Duration(1500*time.Millisecond) ||
		c.Defaults.Memory != 1<<20 || c.Defaults.Output != 64<<10 || len(c.Runtimes) != 1 || c.MaxConcurrent < 1 || c.MaxQueue != 4*c.MaxConcurrent {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{`{"listne": "x"}`, `{"max_body": "lots"}`, `{"max_body": -1}`, `{"defaults": {"wall": "-1s"}}`, `{} {}`} {
		c := DefaultConfig()
		os.WriteFile(p, []byte(bad), 0o644)
		if err := LoadConfigFile(&c, p); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	c = DefaultConfig()
	c.Defaults.Wall = Duration(time.Hour)
	if err := c.Normalize(); err == nil {
		t.Error("a default above its maximum accepted")
	}
	c = DefaultConfig()
	c.Eval.InvalidUTF8 = "ignore"
	if err := c.Normalize(); err == nil {
		t.Error("bad eval.invalid_utf8 accepted")
	}
	// The example config in the tree parses and is the defaults.
	ex := DefaultConfig()
	if err := LoadConfigFile(&ex, "../../examples/serve.json"); err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	ex.Normalize()
	d.Normalize()
	a, _ := json.Marshal(ex)
	b, _ := json.Marshal(d)
	if !bytes.Equal(a, b) {
		t.Errorf("examples/serve.json differs from the defaults:\n%s\n%s", a, b)
	}
}

func TestResolveLimits(t *testing.T) {
	s := &Server{cfg: DefaultConfig()}
	s.cfg.Normalize()
	n := func(v int64) *int64 { return &v }
	l, err := s.resolveLimits(runLimits{WallMs: n(2000), MemoryBytes: n(1 << 40), Pids: n(3)})
	if err != nil {
		t.Fatal(err)
	}
	if l.Wall != Duration(2*time.Second) || l.Memory != s.cfg.Maxima.Memory || l.Pids != 3 || l.CPU != s.cfg.Defaults.CPU || l.Output != s.cfg.Defaults.Output {
		t.Fatalf("%+v", l)
	}
	for _, bad := range []runLimits{{WallMs: n(0)}, {Pids: n(-1)}, {WallMs: n(1 << 62)}} {
		if _, err := s.resolveLimits(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestOpenAPIInSync(t *testing.T) {
	docs, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, openapiYAML) {
		t.Fatal("docs/openapi.yaml differs from internal/server/openapi.yaml: run go generate ./internal/server")
	}
	for _, p := range []string{"/eval:", "/v1/run:", "/v1/runtimes:", "/healthz:", "/readyz:", "/metrics:"} {
		if !bytes.Contains(openapiYAML, []byte("\n  "+p+"\n")) {
			t.Errorf("openapi.yaml lacks path %s", p)
		}
	}
	if bytes.Contains(openapiYAML, []byte("\t")) {
		t.Error("openapi.yaml has a tab (not valid YAML indentation)")
	}
}

func TestEvalFlagsPython2(t *testing.T) {
	py3 := &runtimes.Runtime{Version: "3.11.2"}
	py2 := &runtimes.Runtime{Version: "2.7.18"}
	for _, c := range []struct {
		in   []string
		rt   *runtimes.Runtime
		want string
	}{
		{[]string{"-Bqu"}, py3, "-Bqu"},
		{[]string{"-Bqu"}, py2, "-Bu"},
		{[]string{"-q", "-B"}, py2, "-B"},
		{[]string{"-W", "ignore", "-qB"}, py2, "-W ignore -B"},
		{[]string{"--quiet"}, py2, "--quiet"},
	} {
		if got := strings.Join(evalFlags(c.in, c.rt), " "); got != c.want {
			t.Errorf("%v %s: %q, want %q", c.in, c.rt.Version, got, c.want)
		}
	}
}
