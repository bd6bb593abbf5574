package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/pycage/pycage/cmd/pycage/internal/runcmd"
	"github.com/pycage/pycage/internal/daemon"
	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/units"
)

const daemonUsage = `pycage daemon: run the pycage run of clients in prepared jails

  pycage daemon --socket PATH [flags]
  PYCAGE_DAEMON=PATH pycage run [flags] -- CMD ARGS...

pycage run with PYCAGE_DAEMON set hands its whole invocation (arguments,
environment, stdio, working directory, signals) to the daemon at that socket
and exits with the code a cold pycage run would have. The daemon keeps
prepared, single-use jails for the specs it saw last. It serves its own uid
only; the socket is created mode 0600. SIGTERM or SIGINT: stop accepting, let
runs finish (--shutdown-grace), destroy the prepared jails, remove the socket.
SIGUSR1 logs the counts. See docs/daemon.md.

Flags:
`

func cmdDaemon(args []string) int {
	fs := flag.NewFlagSet("pycage daemon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		socket                      string
		prepared, maxRuns, maxSpecs int
		grace                       = 5 * time.Second
	)
	fs.StringVar(&socket, "socket", "", "path of the unix socket to serve (required)")
	fs.IntVar(&prepared, "prepared", 2, "prepared jails kept ready per spec (0 = none: every run is cold)")
	fs.IntVar(&maxRuns, "max-runs", 32, "runs at once; further clients wait")
	fs.IntVar(&maxSpecs, "max-specs", 4, "specs (flag sets) with prepared jails; the least recently used is dropped")
	fs.Func("shutdown-grace", "time running runs get to finish after SIGTERM before they are cancelled (5s)", func(v string) error {
		d, err := units.ParseDuration(v)
		grace = d
		return err
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, daemonUsage)
			fs.SetOutput(os.Stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(os.Stderr, "pycage daemon: %v (see pycage daemon --help)\n", err)
		return 2
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "pycage daemon: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q", fs.Arg(0))
	case socket == "":
		return bad("--socket PATH is required")
	case prepared < 0:
		return bad("--prepared %d: must be >= 0", prepared)
	case maxRuns < 1:
		return bad("--max-runs %d: must be at least 1", maxRuns)
	case maxSpecs < 1:
		return bad("--max-specs %d: must be at least 1", maxSpecs)
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "pycage daemon: "+format+"\n", a...)
	}

	// The live heap is small (a few MB) while every prepared jail
	// allocates its program and request region (~0.5 MB): at the default
	// GOGC a collection ran every 2-3 runs. Unless GOGC is set, collect
	// at 5x the live heap instead.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	cache, err := daemon.NewCache(prepared, maxSpecs, logf)
	if err != nil {
		return bad("%v", err)
	}
	flags := runcmd.NewFlagCache()
	handle := func(ctx context.Context, r *daemon.Request) int {
		if runcmd.IsNsjail(r.Args) {
			fmt.Fprintln(r.Stderr, "pycage run: nsjail configs (--config) are not run by pycage daemon; unset PYCAGE_DAEMON for them")
			return jail.ExitSetup
		}
		return runcmd.RunWith(runcmd.Invocation{
			Args: r.Args, Environ: r.Env, Dir: r.Dir,
			Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr,
			Signals: r.Signals, Context: ctx, Runner: cache.Run, Flags: flags,
		})
	}
	// Signals are caught before the socket exists: a client can count on
	// a daemon that answers to stop cleanly.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)

	srv, err := daemon.Listen(daemon.Config{Socket: socket, MaxRuns: maxRuns, Handler: handle, Logf: logf})
	if err != nil {
		logf("cannot start: %v", err)
		return 1
	}
	logf("listening on %s (uid %d; %d prepared jails per spec, at most %d specs, %d runs at once)",
		socket, os.Geteuid(), prepared, maxSpecs, maxRuns)
	stats := func() string {
		st := srv.Stats()
		return fmt.Sprintf("runs %d, refused %d, cancelled %d; %v", st.Runs, st.Refused, st.Canceled, cache.Stats())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve() }()

	code := 0
wait:
	for {
		select {
		case <-usr1:
			logf("%s", stats())
			if specs := cache.Specs(); len(specs) > 0 {
				logf("specs: %s", strings.Join(specs, "; "))
			}
		case s := <-sigs:
			logf("%v: shutting down (runs get %v to finish)", s, grace)
			break wait
		case err := <-serveErr:
			logf("%v", err)
			code = 1
			break wait
		}
	}
	// A second signal cancels the runs at once.
	force := make(chan struct{})
	go func() {
		s := <-sigs
		logf("%v again: cancelling the runs now", s)
		close(force)
	}()
	srv.Shutdown(grace, force)
	cache.Close()
	logf("stopped: %s", stats())
	return code
}
