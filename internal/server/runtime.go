package server

import (
	"os"
	"runtime"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
)

// RuntimeConfig is one entry of the config's `runtimes`.
type RuntimeConfig = runtimes.Config

// SystemPython is the interpreter every default configuration has.
const SystemPython = runtimes.SystemPython

// loadRuntimes builds the runtime set of cfg (files only; nothing runs).
func loadRuntimes(cfg *Config) (*runtimes.Set, error) {
	return runtimes.Load(runtimes.Options{
		NoSystem:  cfg.NoSystemPython,
		Configs:   cfg.Runtimes,
		PyenvRoot: cfg.DiscoverPyenv,
		Default:   cfg.DefaultRuntime,
	})
}

// probeRuntimes runs each runtime once in a jail at start-up (see
// runtimes.Probe): version, packages, the matplotlib font cache, and
// whether the jail can run it at all. A runtime that fails is listed
// unusable with the reason (and logged); the service still starts.
func (s *Server) probeRuntimes() {
	for _, n := range s.runtimes.Notes {
		s.log.Info("runtimes", "note", n)
	}
	t0 := time.Now()
	mk := func(rt *runtimes.Runtime, args []string) *jail.Spec {
		return s.baseSpec(rt, args[1:], s.cfg.Defaults, nil, false)
	}
	parallel := runtime.NumCPU()
	if parallel > s.cfg.MaxConcurrent {
		parallel = s.cfg.MaxConcurrent
	}
	runtimes.ProbeAll(s.killCtx, s.runtimes, mk, runtimes.ProbeOptions{FontCache: !s.cfg.NoFontCache, Timeout: 60 * time.Second}, parallel)
	s.saveFontCaches()
	for _, rt := range s.runtimes.List() {
		if rt.Problem != "" {
			s.log.Warn("runtime is not usable", "runtime", rt.Name, "path", rt.Path, "problem", rt.Problem)
			continue
		}
		s.log.Info("runtime", "runtime", rt.Name, "path", rt.Path, "version", rt.Version, "source", rt.Source,
			"packages", len(rt.Packages), "lib_dirs", len(rt.LibDirs), "font_cache", rt.FontCacheNote())
	}
	s.log.Info("runtimes probed", "runtimes", len(s.runtimes.List()), "took_ms", ms(time.Since(t0)))
}

// saveFontCaches writes the runtimes' font caches into a fresh state dir
// (removed by Shutdown), from where every run binds its runtime's cache
// read-only. Without it runs build their own cache.
func (s *Server) saveFontCaches() {
	have := false
	for _, rt := range s.runtimes.List() {
		have = have || rt.FontCache != nil
	}
	if !have {
		return
	}
	dir, err := os.MkdirTemp("", "pycage-serve-")
	if err == nil {
		err = os.Chmod(dir, 0o755) // the jails read below it
	}
	if err == nil {
		s.stateDir = dir
		err = s.runtimes.SaveFontCaches(dir)
	}
	if err != nil {
		s.log.Warn("cannot save the matplotlib font caches; runs build their own", "error", err.Error())
		for _, rt := range s.runtimes.List() {
			rt.FontCache = nil
		}
	}
}
