package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pycage/pycage/cmd/pycage/internal/runcmd"
	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/nsjailcfg"
)

// cmdNsjail runs nsjail's command line: `pycage --config sandbox.cfg [flags]
// -- CMD` (also reachable as `pycage run --config ...`). nsjail's flags and
// config fields are mapped onto a Spec by internal/nsjailcfg.
func cmdNsjail(args []string) int {
	var report, landlock string
	var rest []string
	// pycage's own --report and --landlock work here too (nsjail has
	// neither); the rest is nsjail's.
	own := map[string]*string{"--report": &report, "--landlock": &landlock}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if dst, ok := own[a]; ok && i+1 < len(args) {
			*dst = args[i+1]
			i++
			continue
		}
		if k, v, ok := strings.Cut(a, "="); ok && own[k] != nil {
			*own[k] = v
			continue
		}
		rest = append(rest, a)
	}
	cfg, command, err := nsjailcfg.ParseArgs(rest)
	if errors.Is(err, nsjailcfg.ErrHelp) {
		nsjailcfg.Usage(os.Stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pycage: %v\n", err)
		return jail.ExitSetup
	}
	spec, err := nsjailcfg.ToSpec(cfg, command)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pycage: %v\n", err)
		return jail.ExitSetup
	}
	switch m := jail.LandlockMode(landlock); m {
	case "":
	case jail.LandlockAuto, jail.LandlockOn, jail.LandlockOff:
		spec.Landlock = m
	default:
		fmt.Fprintf(os.Stderr, "pycage: --landlock %q: want auto, on or off\n", landlock)
		return jail.ExitSetup
	}
	st := nsjailcfg.StdioOf(cfg)
	io := jail.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if st.Silent {
		io.Stdin, io.Stdout, io.Stderr = nil, nil, nil
	}
	if st.StderrToNull {
		io.Stderr = nil
	}
	return runcmd.RunSpecIO(spec, io, report, cfg.GetLogLevel() >= nsjailcfg.LogLevel_ERROR)
}
