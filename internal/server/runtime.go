package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

// Runtime is one interpreter a request can choose: by name in /v1/run, by
// path (executable_path) in /eval. It is plain data, so that later kinds of
// runtimes (package sets, virtualenvs) only add fields and extend Apply.
type Runtime struct {
	Name    string   `json:"name"`    // "python3.11"
	Path    string   `json:"path"`    // absolute host path, the same inside the jail
	Version string   `json:"version"` // "3.11.2"
	Default bool     `json:"default"`
	Env     []string `json:"env,omitempty"` // added to the jail's environment
	// Problem is why the runtime failed its start-up check in a jail ("" =
	// it works). Requests may still use it.
	Problem string `json:"problem,omitempty"`

	real string // Path with symlinks resolved
}

// Apply makes the runtime usable in spec: its prefix is bound read-only
// when it lives outside the system dirs, and its environment is added.
func (rt *Runtime) Apply(spec *jail.Spec) {
	spec.AddInterpreter(rt.Path)
	for _, e := range rt.Env {
		spec.Env = setEnv(spec.Env, e)
	}
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// Runtimes is the set of configured runtimes.
type Runtimes struct {
	list   []*Runtime
	byName map[string]*Runtime
	byPath map[string]*Runtime
	def    *Runtime
}

var runtimeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

// LoadRuntimes resolves the configured interpreters and their versions: the
// system /usr/bin/python3 (unless disabled) and every runtime of the config.
// A configured interpreter that does not work is an error at start-up.
func LoadRuntimes(cfg *Config) (*Runtimes, error) {
	rs := &Runtimes{byName: map[string]*Runtime{}, byPath: map[string]*Runtime{}}
	var confs []RuntimeConfig
	if !cfg.NoSystemPython {
		confs = append(confs, RuntimeConfig{Path: SystemPython})
	}
	confs = append(confs, cfg.Runtimes...)
	if len(confs) == 0 {
		return nil, fmt.Errorf("no runtimes: the system Python is disabled and none is configured")
	}
	for _, c := range confs {
		rt, err := newRuntime(c)
		if err != nil {
			return nil, err
		}
		if _, dup := rs.byName[rt.Name]; dup {
			return nil, fmt.Errorf("runtime %q (%s): the name is used twice", rt.Name, rt.Path)
		}
		rs.list = append(rs.list, rt)
		rs.byName[rt.Name] = rt
		if _, dup := rs.byPath[rt.Path]; !dup {
			rs.byPath[rt.Path] = rt
		}
	}
	rs.def = rs.list[0]
	if cfg.DefaultRuntime != "" {
		d, ok := rs.byName[cfg.DefaultRuntime]
		if !ok {
			return nil, fmt.Errorf("default_runtime %q: no such runtime (have %s)", cfg.DefaultRuntime, strings.Join(rs.Names(), ", "))
		}
		rs.def = d
	}
	rs.def.Default = true
	return rs, nil
}

func newRuntime(c RuntimeConfig) (*Runtime, error) {
	if !filepath.IsAbs(c.Path) || filepath.Clean(c.Path) != c.Path {
		return nil, fmt.Errorf("runtime %q: path %q must be a clean absolute path", c.Name, c.Path)
	}
	real, err := filepath.EvalSymlinks(c.Path)
	if err != nil {
		return nil, fmt.Errorf("runtime %q: %v", c.Name, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("runtime %q: %v", c.Name, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("runtime %q: %s is not an executable file", c.Name, c.Path)
	}
	for _, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return nil, fmt.Errorf("runtime %q: env %q: want K=V", c.Name, e)
		}
	}
	ver, err := probeVersion(c.Path)
	if err != nil {
		return nil, fmt.Errorf("runtime %q (%s): cannot get its version: %v", c.Name, c.Path, err)
	}
	name := c.Name
	if name == "" {
		name = "python" + majorMinor(ver)
	}
	if !runtimeName.MatchString(name) {
		return nil, fmt.Errorf("runtime name %q: use letters, digits and . _ + - (at most 64)", name)
	}
	return &Runtime{Name: name, Path: c.Path, Version: ver, Env: c.Env, real: real}, nil
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

var versionRe = regexp.MustCompile(`^\d+\.\d+\.\d+\S*$`)

// probeVersion asks the interpreter (on the host, outside any jail; it is
// the operator's own configured binary) for its version.
func probeVersion(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-c", "import sys; v = sys.version_info; print('%d.%d.%d%s' % (v[0], v[1], v[2], '' if v[3] == 'final' else v[3][0] + str(v[4])))")
	cmd.Env = []string{"PATH=" + jail.DefaultPATH, "LANG=C.UTF-8"}
	cmd.Dir = "/"
	out, err := cmd.Output()
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(out))
	if !versionRe.MatchString(v) {
		return "", fmt.Errorf("unexpected version output %q", v)
	}
	return v, nil
}

// Default is the runtime of a request that names none.
func (rs *Runtimes) Default() *Runtime { return rs.def }

// ByName finds a runtime by name; "" and "python3" (unless a runtime has
// that name) are the default.
func (rs *Runtimes) ByName(name string) (*Runtime, bool) {
	if rt, ok := rs.byName[name]; ok {
		return rt, true
	}
	if name == "" || name == "python3" || name == "python" {
		return rs.def, true
	}
	return nil, false
}

// ByPath finds a runtime by its interpreter path (snekbox's
// executable_path): the configured path or the file it resolves to.
func (rs *Runtimes) ByPath(p string) (*Runtime, bool) {
	if rt, ok := rs.byPath[p]; ok {
		return rt, true
	}
	if !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return nil, false
	}
	for _, rt := range rs.list {
		if rt.real == p {
			return rt, true
		}
	}
	return nil, false
}

// List returns the runtimes in configuration order.
func (rs *Runtimes) List() []*Runtime { return rs.list }

// Names returns the runtime names, sorted.
func (rs *Runtimes) Names() []string {
	var n []string
	for _, rt := range rs.list {
		n = append(n, rt.Name)
	}
	sort.Strings(n)
	return n
}

// Paths returns the interpreter paths, in configuration order.
func (rs *Runtimes) Paths() []string {
	var p []string
	for _, rt := range rs.list {
		p = append(p, rt.Path)
	}
	return p
}
