package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/units"
)

// Size is a byte count in a config file: a JSON number (bytes) or a string
// with a unit ("256M", "1.5GiB", "64k").
type Size int64

// UnmarshalJSON accepts 1048576 or "1M".
func (s *Size) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		n, err := units.ParseSize(str)
		if err != nil {
			return err
		}
		if n < 0 {
			return fmt.Errorf("size %q: must be a finite size", str)
		}
		*s = Size(n)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %s: want bytes (a whole number >= 0) or a string like \"256M\"", b)
	}
	*s = Size(n)
	return nil
}

// MarshalJSON writes the byte count as a number.
func (s Size) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }

// Duration is a duration in a config file: a string ("10s", "250ms") or a
// JSON number of seconds.
type Duration time.Duration

// UnmarshalJSON accepts "10s" or 10 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	str := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
	}
	v, err := units.ParseDuration(str)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Limits are the resource limits of one run as the service sees them.
type Limits struct {
	Wall   Duration `json:"wall"`   // wall-clock time
	CPU    Duration `json:"cpu"`    // CPU time of all processes of the run
	Memory Size     `json:"memory"` // memory (cgroup), no swap
	Pids   int64    `json:"pids"`   // tasks at once
	Output Size     `json:"output"` // bytes kept per output stream
}

// FilesConfig bounds the files returned from the workspace after a run.
type FilesConfig struct {
	MaxFiles int      `json:"max_files"`
	MaxBytes Size     `json:"max_bytes"`
	MaxDepth int      `json:"max_depth"`
	Timeout  Duration `json:"timeout"`
}

// EvalConfig tunes the snekbox-compatible POST /eval.
type EvalConfig struct {
	// PythonFlags come right after the interpreter, before the request's
	// args (snekbox's exec_bin args). Default "-Bqu": no .pyc files, no
	// banner, unbuffered (stdout and stderr interleave in write order).
	// snekbox also passes -S and adds its packages with PYTHONPATH; pycage
	// keeps site so that the runtime's installed packages import.
	PythonFlags []string `json:"python_flags"`
	// InvalidUTF8 says what /eval does with output that is not valid
	// UTF-8: "error" (snekbox: returncode null, stdout names the error) or
	// "replace" (U+FFFD for each invalid byte sequence).
	InvalidUTF8 string `json:"invalid_utf8"`
}

// Config is the whole configuration of `pycage serve`. Every field has a
// default that works on a fresh Debian machine; a JSON config file and then
// flags override them.
type Config struct {
	Listen string `json:"listen"`
	// MaxConcurrent jails run at once; 0 means the number of CPUs.
	MaxConcurrent int `json:"max_concurrent"`
	// MaxQueue requests may wait for a free jail slot; beyond that a request
	// is answered 503 at once.
	MaxQueue int `json:"max_queue"`
	// QueueTimeout is the longest a request waits for a slot (503 after).
	QueueTimeout Duration `json:"queue_timeout"`
	// MaxBody is the largest request body (413 beyond).
	MaxBody Size `json:"max_body"`
	// BodyTimeout bounds the time to receive a request body.
	BodyTimeout Duration `json:"body_timeout"`
	// ShutdownGrace is how long in-flight runs may finish after SIGTERM
	// before they are killed.
	ShutdownGrace Duration `json:"shutdown_grace"`

	// Defaults are the limits of a run that asks for none (and of /eval).
	Defaults Limits `json:"defaults"`
	// Maxima cap what a /v1/run request may ask for.
	Maxima Limits `json:"maxima"`
	// FileSize is the largest file a process of the run may write (RLIMIT_FSIZE).
	FileSize Size `json:"file_size"`
	// WorkspaceSize is the size of the writable workspace tmpfs (/sandbox).
	WorkspaceSize Size `json:"workspace_size"`
	// Files bounds the files returned after a run.
	Files FilesConfig `json:"files"`
	// CgroupParent is the parent cgroup of the runs ("" = pycage/ under the
	// service's own cgroup).
	CgroupParent string `json:"cgroup_parent"`

	Eval EvalConfig `json:"eval"`

	// Runtimes are extra interpreters with their lib dirs; the system
	// /usr/bin/python3 is always there (unless NoSystemPython).
	Runtimes []RuntimeConfig `json:"runtimes"`
	// DiscoverPyenv, when set, is a pyenv root: each of its versions/*
	// interpreters becomes a runtime (python3.X, or python3.X.Y when the
	// short name is taken).
	DiscoverPyenv string `json:"discover_pyenv"`
	// DefaultRuntime is the runtime used when a request names none
	// (default: the system Python).
	DefaultRuntime string `json:"default_runtime"`
	NoSystemPython bool   `json:"no_system_python"`
	// NoFontCache turns off the matplotlib font cache built once per
	// runtime at start-up and copied into each run.
	NoFontCache bool `json:"no_font_cache"`

	// ReadyCache is how long a /readyz probe result is reused.
	ReadyCache Duration `json:"ready_cache"`

	// LogFormat is "json" (default) or "text"; LogLevel "debug", "info",
	// "warn" or "error".
	LogFormat string `json:"log_format"`
	LogLevel  string `json:"log_level"`
	// Pool is the warm pool of ready sandboxes (see PoolConfig).
	Pool PoolConfig `json:"pool"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:8060",
		MaxConcurrent: 0,
		MaxQueue:      0, // 0: 4 x MaxConcurrent, filled in by Normalize
		QueueTimeout:  Duration(60 * time.Second),
		MaxBody:       10 << 20,
		BodyTimeout:   Duration(30 * time.Second),
		ShutdownGrace: Duration(30 * time.Second),
		Defaults: Limits{
			Wall:   Duration(jail.DefaultWall),
			CPU:    Duration(jail.DefaultCPU),
			Memory: jail.DefaultMemory,
			Pids:   jail.DefaultPids,
			Output: jail.DefaultOutput,
		},
		Maxima: Limits{
			Wall:   Duration(60 * time.Second),
			CPU:    Duration(60 * time.Second),
			Memory: 1 << 30,
			Pids:   256,
			Output: 16 << 20,
		},
		FileSize:      jail.DefaultFSize,
		WorkspaceSize: jail.DefaultWorkspaceSize,
		Files: FilesConfig{
			MaxFiles: 100,
			MaxBytes: 48 << 20,
			MaxDepth: 32,
			Timeout:  Duration(5 * time.Second),
		},
		Eval: EvalConfig{
			PythonFlags: []string{"-Bqu"},
			InvalidUTF8: "error",
		},
		Runtimes:   []RuntimeConfig{},
		ReadyCache: Duration(5 * time.Second),
		LogFormat:  "json",
		LogLevel:   "info",
		Pool:       PoolConfig{Size: 2, Runtimes: []string{}, Preload: map[string][]string{}},
	}
}

// LoadConfigFile reads a JSON config file over c. Unknown keys are an
// error (a typo must not silently keep a default).
func LoadConfigFile(c *Config, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: trailing data after the JSON object", path)
	}
	return nil
}

// Normalize fills in derived defaults and checks the configuration.
func (c *Config) Normalize() error {
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = runtime.NumCPU()
	}
	if c.MaxQueue < 0 {
		return fmt.Errorf("max_queue must be >= 0")
	}
	if c.MaxQueue == 0 {
		c.MaxQueue = 4 * c.MaxConcurrent
	}
	if c.MaxBody <= 0 {
		return fmt.Errorf("max_body must be > 0")
	}
	if c.QueueTimeout <= 0 {
		c.QueueTimeout = Duration(60 * time.Second)
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = Duration(30 * time.Second)
	}
	// A maximum of 0 means "no cap"; a default above its maximum is an error.
	type pair struct {
		name     string
		def, max int64
	}
	for _, p := range []pair{
		{"wall", int64(c.Defaults.Wall), int64(c.Maxima.Wall)},
		{"cpu", int64(c.Defaults.CPU), int64(c.Maxima.CPU)},
		{"memory", int64(c.Defaults.Memory), int64(c.Maxima.Memory)},
		{"pids", c.Defaults.Pids, c.Maxima.Pids},
		{"output", int64(c.Defaults.Output), int64(c.Maxima.Output)},
	} {
		if p.def < 0 || p.max < 0 {
			return fmt.Errorf("limit %s: negative value", p.name)
		}
		if p.max > 0 && (p.def > p.max || p.def == 0) {
			return fmt.Errorf("limit %s: default %d (0 = none) exceeds the maximum %d", p.name, p.def, p.max)
		}
	}
	if c.Defaults.Output == 0 {
		return fmt.Errorf("defaults.output must be > 0 (the service buffers output in memory)")
	}
	if c.Maxima.Output == 0 {
		c.Maxima.Output = c.Defaults.Output
	}
	if c.Files.MaxFiles < 0 || c.Files.MaxBytes < 0 || c.Files.MaxDepth < 0 || c.Files.Timeout < 0 {
		return fmt.Errorf("files: negative value")
	}
	if c.Files.Timeout == 0 {
		c.Files.Timeout = Duration(5 * time.Second)
	}
	switch c.Eval.InvalidUTF8 {
	case "":
		c.Eval.InvalidUTF8 = "error"
	case "error", "replace":
	default:
		return fmt.Errorf("eval.invalid_utf8 %q: want \"error\" or \"replace\"", c.Eval.InvalidUTF8)
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		return fmt.Errorf("log_format %q: want json or text", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.CgroupParent != "" && strings.Contains(c.CgroupParent, "..") {
		return fmt.Errorf("cgroup_parent %q: may not contain ..", c.CgroupParent)
	}
	return nil
}
