package runtimes

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

//go:embed probe.py
var probeScript string

// SpecFunc builds the jail that runs rt with args (interpreter first): the
// caller's policy (limits, cgroup parent) with rt applied.
type SpecFunc func(rt *Runtime, args []string) *jail.Spec

// ProbeOptions tune Probe.
type ProbeOptions struct {
	// FontCache builds matplotlib's font cache once, in the probe's jail,
	// when the runtime has matplotlib (see AddFontCache).
	FontCache bool
	// Timeout bounds one probe (default 60s).
	Timeout time.Duration
}

// probeInfo is what probe.py prints.
type probeInfo struct {
	Version        string            `json:"version"`
	Implementation string            `json:"implementation"`
	Prefix         string            `json:"prefix"`
	Executable     string            `json:"executable"`
	Path           []string          `json:"path"`
	Packages       map[string]string `json:"packages"`
}

type fontsInfo struct {
	Dir   string   `json:"dir"`
	Files []string `json:"files"`
	Error string   `json:"error"`
}

// mplProbeDir is where the probe's matplotlib writes its cache (under the
// workspace, not hidden, so that the run's file collection returns it).
const mplProbeDir = "pycage-mplcache"

// Probe runs the interpreter once inside a jail built by mk, under the same
// policy as a request (its lib dirs bound and on PYTHONPATH): the answer is
// what a request sees, and a runtime the jail cannot run (an unreachable
// prefix, a missing library) is found now. It fills Version, Prefix,
// Packages and FontCache, or Problem. Running it inside the jail, not on the
// host, also means that code a package set runs at start-up (.pth files)
// never runs outside a jail. A runtime that already has a Problem is not run.
func (rt *Runtime) Probe(ctx context.Context, mk SpecFunc, o ProbeOptions) {
	if rt.Problem != "" {
		return
	}
	args := []string{rt.Path, "-B", "-c", probeScript}
	if o.FontCache {
		args = append(args, "fonts")
	}
	spec := mk(rt, args)
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	spec.Limits.Wall = timeout
	spec.Limits.CPU = timeout
	if o.FontCache {
		spec.Env = SetEnv(spec.Env, "MPLCONFIGDIR="+path.Join(spec.Cwd, mplProbeDir))
		spec.Collect = &jail.CollectSpec{MaxFiles: 16, MaxBytes: 16 << 20, MaxDepth: 2, Timeout: 5 * time.Second, SkipHidden: true, OnlyChanged: true}
	} else {
		spec.Collect = nil
	}
	spec.Files = nil
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	res, err := jail.Run(ctx, spec, jail.IO{Stdout: &stdout, Stderr: &stderr})
	var info *probeInfo
	var fonts *fontsInfo
	for _, line := range strings.Split(stdout.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "PYCAGE-PROBE "); ok && info == nil {
			var pi probeInfo
			if json.Unmarshal([]byte(j), &pi) == nil {
				info = &pi
			}
		}
		if j, ok := strings.CutPrefix(line, "PYCAGE-FONTS "); ok && fonts == nil {
			var fi fontsInfo
			if json.Unmarshal([]byte(j), &fi) == nil {
				fonts = &fi
			}
		}
	}
	switch {
	case err != nil && res == nil:
		rt.Problem = "probe: " + err.Error()
		return
	case res.Reason == jail.ReasonSetupError:
		rt.Problem = "probe: " + res.Error
		return
	case info == nil:
		rt.Problem = fmt.Sprintf("probe: %s -c <probe> ended with reason %s, exit code %d%s", rt.Path, res.Reason, res.ExitCode, tail(stderr.Bytes()))
		return
	case info.Version == "":
		rt.Problem = "probe: no version in the answer"
		return
	}
	rt.Version = info.Version
	rt.Prefix = info.Prefix
	if info.Packages != nil {
		rt.Packages = info.Packages
	}
	if fonts != nil && fonts.Error == "" {
		for _, f := range res.Files {
			dir, name := path.Split(f.Path)
			if dir == mplProbeDir+"/" && strings.HasPrefix(name, "fontlist-") && strings.HasSuffix(name, ".json") && len(f.Content) > 0 {
				rt.FontCache = &FontCache{Name: name, Content: f.Content}
				break
			}
		}
	}
}

// FontCacheNote says what became of the font cache, for the log.
func (rt *Runtime) FontCacheNote() string {
	switch {
	case rt.FontCache != nil:
		return fmt.Sprintf("%s (%d bytes)", rt.FontCache.Name, len(rt.FontCache.Content))
	case rt.Packages["matplotlib"] != "":
		return "not built"
	}
	return "no matplotlib"
}

func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return ": " + strings.ToValidUTF8(string(b), "?")
}

// ProbeAll probes every runtime of s, at most parallel at once.
func ProbeAll(ctx context.Context, s *Set, mk SpecFunc, o ProbeOptions, parallel int) {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, rt := range s.list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rt.Probe(ctx, mk, o)
		}()
	}
	wg.Wait()
}

// FontCacheDir is matplotlib's config and cache dir in a run that gets a
// pre-built font cache (MPLCONFIGDIR): a small tmpfs owned by the jail's
// user, outside the workspace, holding the font list as a read-only bind.
const FontCacheDir = "/pycage/matplotlib"

// SaveFontCaches writes each runtime's font cache to dir/<runtime>/<file>
// (world-readable: it is bound into every run of the runtime) and
// remembers the path. dir must exist.
func (s *Set) SaveFontCaches(dir string) error {
	for _, rt := range s.list {
		fc := rt.FontCache
		if fc == nil {
			continue
		}
		d := filepath.Join(dir, rt.Name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		p := filepath.Join(d, fc.Name)
		if err := os.WriteFile(p, fc.Content, 0o644); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return err
		}
		fc.HostPath = p
	}
	return nil
}

// AddFontCache gives a run the runtime's pre-built matplotlib font cache,
// read-only: MPLCONFIGDIR is FontCacheDir, a fresh small tmpfs owned by the
// jail's user, and the font list is bound read-only into it. matplotlib
// insists on a writable config/cache directory (a read-only one makes it
// warn, use a temporary directory and build the cache again, ~0.14 s), but
// only reads the font list: a run can neither change it (EROFS) nor remove
// it (EBUSY). Nothing is added when the runtime has no saved cache or the
// run chose its own MPLCONFIGDIR.
func (rt *Runtime) AddFontCache(spec *jail.Spec) {
	if rt.FontCache == nil || rt.FontCache.HostPath == "" {
		return
	}
	if _, ok := GetEnv(spec.Env, "MPLCONFIGDIR"); ok {
		return
	}
	spec.Mounts = append(spec.Mounts,
		jail.Mount{Kind: jail.MountTmpfs, Dst: FontCacheDir, Size: 1 << 20, Mode: 0o755, RW: true, Owned: true, NoDev: true, NoSuid: true},
		jail.Mount{Kind: jail.MountBind, Src: rt.FontCache.HostPath, Dst: FontCacheDir + "/" + rt.FontCache.Name, NoDev: true},
	)
	spec.Env = SetEnv(spec.Env, "MPLCONFIGDIR="+FontCacheDir)
}
