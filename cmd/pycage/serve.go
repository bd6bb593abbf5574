package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pycage/pycage/internal/server"
	"github.com/pycage/pycage/internal/units"
)

const serveUsage = `pycage serve: the HTTP evaluation service

  pycage serve [--config FILE] [flags]

Every request runs in a fresh jail with the default Python policy.
Endpoints: POST /eval (snekbox-compatible), POST /v1/run, GET /v1/runtimes,
GET /healthz, GET /readyz, GET /metrics, GET /openapi.yaml.

The configuration is the defaults, then the JSON config file (--config),
then the flags. --print-config shows the result. See docs/api.md.

Flags:
`

// setters collects flag values and applies them after the config file, so
// that flags override the file, which overrides the defaults.
type setters []func(*server.Config) error

type cfgFlag struct {
	list *setters
	set  func(*server.Config, string) error
}

func (f cfgFlag) String() string { return "" }
func (f cfgFlag) Set(v string) error {
	*f.list = append(*f.list, func(c *server.Config) error { return f.set(c, v) })
	return nil
}

func cmdServe(args []string) int {
	fs := flag.NewFlagSet("pycage serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		list        setters
		configPath  string
		printConfig bool
	)
	fs.StringVar(&configPath, "config", "", "JSON config file")
	fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration (JSON) and exit")
	def := func(name, usage string, set func(*server.Config, string) error) {
		fs.Var(cfgFlag{&list, set}, name, usage)
	}
	num := func(v string) (int64, error) {
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil || fmt.Sprint(n) != strings.TrimSpace(v) || n < 0 {
			return 0, fmt.Errorf("invalid number %q", v)
		}
		return n, nil
	}
	size := func(v string) (server.Size, error) {
		n, err := units.ParseSize(v)
		if err != nil {
			return 0, err
		}
		if n < 0 {
			return 0, fmt.Errorf("size %q: must be finite", v)
		}
		return server.Size(n), nil
	}
	dur := func(v string) (server.Duration, error) {
		d, err := units.ParseDuration(v)
		return server.Duration(d), err
	}
	def("listen", "address to listen on (127.0.0.1:8060)", func(c *server.Config, v string) error { c.Listen = v; return nil })
	def("max-concurrent", "jails running at once (0 = number of CPUs)", func(c *server.Config, v string) error {
		n, err := num(v)
		c.MaxConcurrent = int(n)
		return err
	})
	def("max-queue", "requests waiting for a jail slot; beyond: 503 (0 = 4 x max-concurrent)", func(c *server.Config, v string) error {
		n, err := num(v)
		c.MaxQueue = int(n)
		return err
	})
	def("queue-timeout", "longest wait for a jail slot (60s)", func(c *server.Config, v string) (err error) { c.QueueTimeout, err = dur(v); return })
	def("max-body", "largest request body (10M)", func(c *server.Config, v string) (err error) { c.MaxBody, err = size(v); return })
	def("shutdown-grace", "time running jails get to finish after SIGTERM (30s)", func(c *server.Config, v string) (err error) { c.ShutdownGrace, err = dur(v); return })
	def("time-limit", "default wall-clock limit of a run (10s)", func(c *server.Config, v string) (err error) { c.Defaults.Wall, err = dur(v); return })
	def("cpu-limit", "default CPU time limit of a run (10s)", func(c *server.Config, v string) (err error) { c.Defaults.CPU, err = dur(v); return })
	def("memory", "default memory limit of a run (256M)", func(c *server.Config, v string) (err error) { c.Defaults.Memory, err = size(v); return })
	def("pids", "default task limit of a run (64)", func(c *server.Config, v string) error {
		n, err := num(v)
		c.Defaults.Pids = n
		return err
	})
	def("output-limit", "default output kept per stream; /eval: stdout+stderr (1M)", func(c *server.Config, v string) (err error) { c.Defaults.Output, err = size(v); return })
	def("file-size", "largest file a run may write (64M)", func(c *server.Config, v string) (err error) { c.FileSize, err = size(v); return })
	def("workspace-size", "size of the workspace tmpfs (64M)", func(c *server.Config, v string) (err error) { c.WorkspaceSize, err = size(v); return })
	def("runtime", "NAME=PATH: an extra interpreter (repeatable)", func(c *server.Config, v string) error {
		name, path, ok := strings.Cut(v, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("--runtime %q: want NAME=PATH", v)
		}
		c.Runtimes = append(c.Runtimes, server.RuntimeConfig{Name: name, Path: path})
		return nil
	})
	def("default-runtime", "runtime of requests that name none (the system Python)", func(c *server.Config, v string) error { c.DefaultRuntime = v; return nil })
	def("discover-pyenv", "a pyenv root: each versions/*/bin/python3 becomes a runtime", func(c *server.Config, v string) error { c.DiscoverPyenv = v; return nil })
	def("cgroup-parent", "parent cgroup of the runs (default: pycage/ under the service's cgroup)", func(c *server.Config, v string) error { c.CgroupParent = v; return nil })
	def("log-format", "json or text (json)", func(c *server.Config, v string) error { c.LogFormat = v; return nil })
	def("log-level", "debug, info, warn or error (info)", func(c *server.Config, v string) error { c.LogLevel = v; return nil })

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, serveUsage)
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(os.Stderr, "pycage serve: %v (see pycage serve --help)\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "pycage serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := server.DefaultConfig()
	if configPath != "" {
		if err := server.LoadConfigFile(&cfg, configPath); err != nil {
			fmt.Fprintf(os.Stderr, "pycage serve: config: %v\n", err)
			return 2
		}
	}
	for _, set := range list {
		if err := set(&cfg); err != nil {
			fmt.Fprintf(os.Stderr, "pycage serve: %v\n", err)
			return 2
		}
	}
	if err := cfg.Normalize(); err != nil {
		fmt.Fprintf(os.Stderr, "pycage serve: config: %v\n", err)
		return 2
	}
	if printConfig {
		b, _ := json.MarshalIndent(cfg, "", "  ")
		fmt.Println(string(b))
		return 0
	}

	log := newLogger(cfg)
	srv, err := server.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err.Error())
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("cannot listen", "error", err.Error())
		return 1
	}
	var rts []string
	for _, rt := range srv.Runtimes().List() {
		rts = append(rts, rt.Name+"="+rt.Path)
	}
	log.Info("listening", "addr", ln.Addr().String(), "slots", srv.Config().MaxConcurrent,
		"queue", srv.Config().MaxQueue, "runtimes", strings.Join(rts, ","), "version", version)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	code := 0
	select {
	case s := <-sigs:
		log.Info("shutting down", "signal", s.String(), "grace", time.Duration(cfg.ShutdownGrace).String())
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "error", err.Error())
			code = 1
		}
	}
	// A second signal ends the grace period at once.
	force := make(chan struct{})
	go func() {
		s := <-sigs
		log.Warn("second signal: killing running jails now", "signal", s.String())
		close(force)
	}()
	srv.Shutdown(time.Duration(cfg.ShutdownGrace), force)
	log.Info("stopped")
	return code
}

func newLogger(cfg server.Config) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
