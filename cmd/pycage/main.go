// Command pycage runs untrusted code, Python first, in a fresh isolated jail.
//
//	pycage run [flags] -- CMD ARGS...     run one command (see `pycage run --help`)
//	pycage --config sandbox.cfg -- CMD    run an nsjail config (nsjail-compatible flags)
//	pycage serve [flags]                  the HTTP evaluation service
//	pycage daemon --socket PATH           prepared jails for pycage run (PYCAGE_DAEMON=PATH)
//	pycage version
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/pycage/pycage/cmd/pycage/internal/runcmd"
	"github.com/pycage/pycage/internal/jail"
)

var version = "dev"

func main() {
	// A jail's init and stage are this same binary re-executed.
	jail.Main()
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	if len(args) == 0 {
		usage()
		return jail.ExitSetup
	}
	switch args[0] {
	case "run":
		// `pycage run` normally runs and exits in runcmd's init, before
		// the service's packages are initialised (see runcmd/start.go).
		if runcmd.IsNsjail(args[1:]) {
			return cmdNsjail(args[1:]) // an nsjail config: nsjail's flags apply
		}
		return runcmd.Run(args[1:])
	case "serve":
		return cmdServe(args[1:])
	case "daemon":
		return cmdDaemon(args[1:])
	case "version", "--version":
		fmt.Println("pycage", version)
		return 0
	case "help", "-h", "--help":
		usage()
		return 0
	}
	if strings.HasPrefix(args[0], "-") {
		// nsjail-style invocation: pycage --config sandbox.cfg -- cmd
		return cmdNsjail(args)
	}
	fmt.Fprintf(os.Stderr, "pycage: unknown command %q (try: pycage run -- CMD)\n", args[0])
	return jail.ExitSetup
}

func usage() {
	fmt.Fprint(os.Stderr, `pycage: run untrusted code in a fresh, isolated jail

  pycage run [flags] -- CMD ARGS...     run a command (pycage run --help for flags)
  pycage --config FILE [flags] -- CMD   run with an nsjail config and nsjail flags
  pycage serve [flags]                  HTTP evaluation service (snekbox-compatible /eval, /v1/run)
  pycage daemon --socket PATH [flags]   prepared jails for pycage run with PYCAGE_DAEMON=PATH
  pycage version

Exit codes: the command's own, 128+N when it was killed by signal N,
125 pycage/setup error, 126 command not executable, 127 command not found.
`)
}
