package runcmd

import (
	"strings"
	"sync"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

// FlagCache keeps what `pycage run`'s flags made of a spec, for a caller
// that runs many invocations (pycage daemon: its clients repeat the same
// flags). A hit skips the flag parsing and the spec's PrepareKey (about
// 0.1 ms of each run through the daemon). Only flags whose meaning depends
// on nothing but their text are kept: not --bind/--bind-rw (their sources
// are checked), --seccomp-policy, --runtime and the runtimes flags (they
// read files), --keep-env (the caller's environment) or --list-runtimes.
// An entry lives as long as SystemMounts' look-up of the system
// directories it holds (a second).
type FlagCache struct {
	mu sync.Mutex
	m  map[string]*parsedFlags
}

// parsedFlags is one entry: the spec the flags made (no Args; never
// changed: each run gets a clone), its PrepareKey ("": not preparable) and
// the flags that are not spec fields.
type parsedFlags struct {
	spec   *jail.Spec
	key    string
	report string
	quiet  bool
	at     time.Time
}

const (
	flagCacheTTL = time.Second // jail.SystemMounts' look-up lives as long
	flagCacheMax = 64
)

// NewFlagCache returns an empty cache.
func NewFlagCache() *FlagCache { return &FlagCache{m: map[string]*parsedFlags{}} }

// flagsKey splits args after their first "--": the flags (with the "--")
// joined as the cache's key, and where the command starts (0: no "--").
func flagsKey(args []string) (key string, cmdStart int) {
	for i, a := range args {
		if a == "--" {
			return strings.Join(args[:i+1], "\x00"), i + 1
		}
	}
	return "", 0
}

// lookup returns the entry of args' flags and the command, or nil.
func (c *FlagCache) lookup(args []string) (*parsedFlags, []string) {
	key, cmdStart := flagsKey(args)
	if cmdStart == 0 {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[key]
	if p == nil || time.Since(p.at) >= flagCacheTTL {
		return nil, nil
	}
	return p, args[cmdStart:]
}

// store keeps spec (args' flags parsed; the cache takes a clone) when the
// flags end at args' first "--" (its terminator, not a flag's value:
// the parse then stops there for every args that begins the same) and o
// says they may be kept.
func (c *FlagCache) store(args []string, cmdStart int, spec *jail.Spec, o *runOptions) {
	key, first := flagsKey(args)
	if first == 0 || cmdStart != first || o.uncacheable {
		return
	}
	t := spec.Clone()
	t.Args = nil
	k, _ := t.PrepareKey()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= flagCacheMax {
		clear(c.m)
	}
	c.m[key] = &parsedFlags{spec: t, key: k, report: o.report, quiet: o.quiet, at: time.Now()}
}
