// Package runtimes is pycage's model of the Pythons a run can use: a
// runtime is an interpreter plus its read-only library dirs. The server
// (`pycage serve`) and the CLI (`pycage run --runtime NAME`) share it.
//
// Runtimes come from three places, in this order: the system Python
// (/usr/bin/python3, named python3.X after the file it resolves to), the
// configuration (name, path, env, lib_dirs) and, optionally, a pyenv root
// (each DIR/versions/X.Y.Z becomes python3.X, or python3.X.Y when the short
// name is taken). Loading reads only the file system; Probe runs each
// interpreter once inside a jail to learn its version, prefix and packages.
package runtimes

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pycage/pycage/internal/jail"
)

// SystemPython is the interpreter every default configuration offers.
const SystemPython = "/usr/bin/python3"

// Config is one runtime of a configuration file (the server's `runtimes`).
type Config struct {
	// Name is how requests choose it; default: python3.X after the file
	// the path resolves to (python3 -> python3.12).
	Name string `json:"name"`
	// Path is the interpreter, an absolute host path; it is the same path
	// inside the jail (its prefix is bound read-only when it lives outside
	// the system dirs).
	Path string `json:"path"`
	// Env is added to the jail's environment for this runtime (K=V).
	Env []string `json:"env,omitempty"`
	// LibDirs are host directories bound read-only into the jail at the
	// same path and put on PYTHONPATH, in this order: the runtime's own
	// package set (e.g. filled with `pip install --target DIR`).
	LibDirs []string `json:"lib_dirs,omitempty"`
}

// Options say where the runtimes of a Set come from.
type Options struct {
	// NoSystem leaves out the system Python.
	NoSystem bool
	// System is the system Python's path (default SystemPython).
	System string
	// Configs are the configured runtimes.
	Configs []Config
	// PyenvRoot, when set, adds every PyenvRoot/versions/* interpreter.
	PyenvRoot string
	// Default names the runtime of a request that names none (default:
	// the first one).
	Default string
}

// Source says where a runtime came from.
const (
	SourceSystem = "system"
	SourceConfig = "config"
	SourcePyenv  = "pyenv"
)

// Runtime is one interpreter a run can choose.
type Runtime struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Source string `json:"source"`
	// Version is the interpreter's version ("3.11.2"): the probe's answer,
	// else what the file names say ("3.11", "3.12.1"), else "".
	Version string `json:"version"`
	// Prefix is sys.prefix as the probe saw it.
	Prefix  string   `json:"prefix,omitempty"`
	Env     []string `json:"env,omitempty"`
	LibDirs []string `json:"lib_dirs,omitempty"`
	// Packages maps each distribution found on the runtime's sys.path (its
	// lib dirs first, then its site dirs) to its version, by normalized
	// name (PEP 503: lower case, runs of -_. as -).
	Packages map[string]string `json:"packages"`
	Default  bool              `json:"default"`
	// Problem says why the runtime cannot be used ("" = it works): it
	// failed its probe, its interpreter or a lib dir is missing.
	Problem string `json:"problem,omitempty"`
	// FontCache is matplotlib's font list, built once in a jail by Probe
	// (nil: no matplotlib, or not asked for).
	FontCache *FontCache `json:"-"`

	real string // Path with symlinks resolved ("" when it does not resolve)
}

// FontCache is a pre-built matplotlib font list (fontlist-vNNN.json).
type FontCache struct {
	Name    string
	Content []byte
	// HostPath is where SaveFontCaches wrote it ("" = not saved: not used).
	HostPath string
}

// Usable says whether requests may use the runtime.
func (rt *Runtime) Usable() bool { return rt.Problem == "" }

// systemDirs are the host dirs the default jail binds anyway (see
// jail.DefaultSpec); an interpreter there needs no extra bind.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

func inSystemDirs(p string) bool {
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// Apply makes the runtime usable in spec: the interpreter's prefix and the
// lib dirs are bound read-only at their own paths, the lib dirs go first on
// PYTHONPATH, the interpreter's bin dir first on PATH (when outside the
// system dirs) and the runtime's env is added.
func (rt *Runtime) Apply(spec *jail.Spec) {
	spec.AddInterpreter(rt.Path)
	for _, d := range rt.LibDirs {
		if !coveredByBind(spec, d) {
			spec.Mounts = append(spec.Mounts, jail.Mount{Kind: jail.MountBind, Src: d, Dst: d, NoDev: true, Mandatory: true})
		}
	}
	for _, e := range rt.Env {
		spec.Env = SetEnv(spec.Env, e)
	}
	if len(rt.LibDirs) > 0 {
		PrependPath(spec, "PYTHONPATH", rt.LibDirs...)
	}
	if bin := filepath.Dir(rt.Path); !inSystemDirs(bin) {
		PrependPath(spec, "PATH", bin)
	}
}

// coveredByBind says whether d is already inside a read-only bind of spec
// (then it is visible, read-only, at its own path).
func coveredByBind(spec *jail.Spec, d string) bool {
	for _, m := range spec.Mounts {
		if m.Kind == jail.MountBind && !m.RW && m.Src == m.Dst && (d == m.Dst || strings.HasPrefix(d, m.Dst+"/")) {
			return true
		}
	}
	return false
}

// SetEnv sets K=V in env, replacing an earlier K.
func SetEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// GetEnv returns the value of k in env.
func GetEnv(env []string, k string) (string, bool) {
	for _, e := range env {
		if strings.HasPrefix(e, k+"=") {
			return e[len(k)+1:], true
		}
	}
	return "", false
}

// PrependPath puts dirs in front of the colon-separated list k of spec's
// environment (PATH, PYTHONPATH).
func PrependPath(spec *jail.Spec, k string, dirs ...string) {
	v := strings.Join(dirs, ":")
	if old, ok := GetEnv(spec.Env, k); ok && old != "" {
		v += ":" + old
	}
	spec.Env = SetEnv(spec.Env, k+"="+v)
}

// AppendPath puts dirs at the end of the colon-separated list k.
func AppendPath(spec *jail.Spec, k string, dirs ...string) {
	v := strings.Join(dirs, ":")
	if old, ok := GetEnv(spec.Env, k); ok && old != "" {
		v = old + ":" + v
	}
	spec.Env = SetEnv(spec.Env, k+"="+v)
}

// Set is the runtimes of a configuration.
type Set struct {
	list   []*Runtime
	byName map[string]*Runtime
	def    *Runtime
	// Notes are things worth logging that are not errors (a pyenv version
	// left out, a runtime that is missing).
	Notes []string
}

var nameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`) })

// pythonFile matches an interpreter file name that carries its version.
var pythonFile = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^python(\d+\.\d+)$`) })

// pyenvVersion matches a pyenv version dir: 3.12.1, 3.13.0rc2, 3.13.0t, 2.7.18.
var pyenvVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?([A-Za-z0-9]*)$`) })

// Load builds the Set from the file system: nothing is run. Structural
// mistakes (a relative path, a name used twice, a name that cannot be
// derived) are errors; an interpreter or lib dir that does not exist only
// makes that runtime unusable (Problem).
func Load(o Options) (*Set, error) {
	s := &Set{byName: map[string]*Runtime{}}
	add := func(rt *Runtime) error {
		if !nameRe().MatchString(rt.Name) {
			return fmt.Errorf("runtime name %q: use letters, digits and . _ + - (at most 64)", rt.Name)
		}
		if old, dup := s.byName[rt.Name]; dup {
			return fmt.Errorf("runtime %q (%s): the name is already used by %s", rt.Name, rt.Path, old.Path)
		}
		s.list = append(s.list, rt)
		s.byName[rt.Name] = rt
		return nil
	}
	if !o.NoSystem {
		p := o.System
		if p == "" {
			p = SystemPython
		}
		rt := newRuntime(Config{Path: p}, SourceSystem)
		if rt.Name == "" {
			rt.Name = "python3"
		}
		if rt.Problem != "" {
			s.Notes = append(s.Notes, fmt.Sprintf("system Python %s: %s", p, rt.Problem))
		}
		if err := add(rt); err != nil {
			return nil, err
		}
	}
	for _, c := range o.Configs {
		if err := checkConfig(c); err != nil {
			return nil, err
		}
		rt := newRuntime(c, SourceConfig)
		if rt.Name == "" {
			return nil, fmt.Errorf("runtime %s: give it a name (its file name does not say its version)", c.Path)
		}
		if err := add(rt); err != nil {
			return nil, err
		}
	}
	if o.PyenvRoot != "" {
		found, notes, err := discoverPyenv(o.PyenvRoot)
		if err != nil {
			return nil, err
		}
		s.Notes = append(s.Notes, notes...)
		for _, f := range found {
			rt := newRuntime(Config{Path: f.exe}, SourcePyenv)
			short, full := "python"+f.short, "python"+f.full
			switch {
			case s.byName[short] == nil:
				rt.Name = short
			case s.byName[full] == nil:
				rt.Name = full
			default:
				s.Notes = append(s.Notes, fmt.Sprintf("pyenv %s: left out, the names %s and %s are taken", f.exe, short, full))
				continue
			}
			rt.Version = f.full // until the probe says
			if err := add(rt); err != nil {
				return nil, err
			}
		}
	}
	if len(s.list) == 0 {
		return nil, fmt.Errorf("no runtimes: the system Python is disabled and none is configured")
	}
	s.def = s.list[0]
	if o.Default != "" {
		d, ok := s.byName[o.Default]
		if !ok {
			return nil, fmt.Errorf("default runtime %q: no such runtime (have %s)", o.Default, strings.Join(s.Names(), ", "))
		}
		s.def = d
	}
	s.def.Default = true
	return s, nil
}

func checkConfig(c Config) error {
	what := c.Name
	if what == "" {
		what = c.Path
	}
	if !filepath.IsAbs(c.Path) || filepath.Clean(c.Path) != c.Path {
		return fmt.Errorf("runtime %q: path %q must be a clean absolute path", what, c.Path)
	}
	for _, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("runtime %q: env %q: want K=V", what, e)
		}
	}
	for _, d := range c.LibDirs {
		if !filepath.IsAbs(d) || filepath.Clean(d) != d || d == "/" {
			return fmt.Errorf("runtime %q: lib dir %q must be a clean absolute path (not /)", what, d)
		}
		if strings.ContainsAny(d, ":\x00") {
			return fmt.Errorf("runtime %q: lib dir %q may not contain ':' (it goes on PYTHONPATH)", what, d)
		}
	}
	return nil
}

// newRuntime resolves a runtime's files; what is missing becomes Problem.
func newRuntime(c Config, source string) *Runtime {
	rt := &Runtime{Name: c.Name, Path: c.Path, Source: source, Env: c.Env, LibDirs: c.LibDirs, Packages: map[string]string{}}
	real, err := filepath.EvalSymlinks(c.Path)
	if err != nil {
		rt.Problem = fmt.Sprintf("interpreter %s: %v", c.Path, unwrapPathErr(err))
	} else {
		rt.real = real
		if st, err := os.Stat(real); err != nil {
			rt.Problem = fmt.Sprintf("interpreter %s: %v", c.Path, unwrapPathErr(err))
		} else if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			rt.Problem = fmt.Sprintf("interpreter %s is not an executable file", c.Path)
		}
	}
	// The version the file names say: python3 -> python3.11.
	for _, p := range []string{real, c.Path} {
		if m := pythonFile().FindStringSubmatch(filepath.Base(p)); m != nil {
			rt.Version = m[1]
			if rt.Name == "" {
				rt.Name = "python" + m[1]
			}
			break
		}
	}
	if rt.Problem == "" {
		for _, d := range c.LibDirs {
			st, err := os.Stat(d)
			if err != nil {
				rt.Problem = fmt.Sprintf("lib dir %s: %v", d, unwrapPathErr(err))
				break
			}
			if !st.IsDir() {
				rt.Problem = fmt.Sprintf("lib dir %s is not a directory", d)
				break
			}
		}
	}
	return rt
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

type pyenvFound struct {
	exe         string
	short, full string // "3.12", "3.12.1"
	key         [3]int
}

// discoverPyenv lists root/versions/*/bin/python3 (bin/python for Python 2),
// oldest minor version first (the newest patch release first within one). Symlinked entries (pyenv-virtualenv's envs) and
// names that are not versions (pypy, miniconda) are left out with a note.
func discoverPyenv(root string) ([]pyenvFound, []string, error) {
	if !filepath.IsAbs(root) {
		return nil, nil, fmt.Errorf("pyenv root %q: must be an absolute path", root)
	}
	dir := filepath.Join(filepath.Clean(root), "versions")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("pyenv root %s: %v", root, unwrapPathErr(err))
	}
	var found []pyenvFound
	var notes []string
	for _, e := range ents {
		name := e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			notes = append(notes, fmt.Sprintf("pyenv %s: left out (a symlink, e.g. a virtualenv)", name))
			continue
		}
		if !e.IsDir() {
			continue
		}
		m := pyenvVersion().FindStringSubmatch(name)
		if m == nil {
			notes = append(notes, fmt.Sprintf("pyenv %s: left out (not a CPython version name)", name))
			continue
		}
		var exe string
		for _, b := range []string{"python3", "python", "python" + m[1]} {
			p := filepath.Join(dir, name, "bin", b)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				exe = p
				break
			}
		}
		if exe == "" {
			notes = append(notes, fmt.Sprintf("pyenv %s: left out (no bin/python3 or bin/python)", name))
			continue
		}
		f := pyenvFound{exe: exe, short: m[1] + "." + m[2], full: name}
		f.key[0], _ = strconv.Atoi(m[1])
		f.key[1], _ = strconv.Atoi(m[2])
		f.key[2], _ = strconv.Atoi(m[3])
		found = append(found, f)
	}
	// Oldest minor version first; within a minor version the newest
	// first, so that it gets the short name (python3.12 = the newest 3.12).
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		for k := 0; k < 2; k++ {
			if a.key[k] != b.key[k] {
				return a.key[k] < b.key[k]
			}
		}
		if a.key[2] != b.key[2] {
			return a.key[2] > b.key[2]
		}
		return a.full < b.full
	})
	return found, notes, nil
}

// Default is the runtime of a request that names none.
func (s *Set) Default() *Runtime { return s.def }

// Lookup finds a runtime by name; "", "python3" and "python" (unless a
// runtime has that name) are the default runtime.
func (s *Set) Lookup(name string) (*Runtime, bool) {
	if rt, ok := s.byName[name]; ok {
		return rt, true
	}
	if name == "" || name == "python3" || name == "python" {
		return s.def, true
	}
	return nil, false
}

// ByPath finds a runtime by its interpreter path (snekbox's
// executable_path): the configured path, else the file it resolves to.
// The first runtime of that path wins.
func (s *Set) ByPath(p string) (*Runtime, bool) {
	if !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return nil, false
	}
	for _, rt := range s.list {
		if rt.Path == p {
			return rt, true
		}
	}
	for _, rt := range s.list {
		if rt.real != "" && rt.real == p {
			return rt, true
		}
	}
	return nil, false
}

// List returns the runtimes: the system Python, the configured ones, then
// pyenv's (oldest first).
func (s *Set) List() []*Runtime { return s.list }

// Names returns the runtime names, in List order.
func (s *Set) Names() []string {
	var n []string
	for _, rt := range s.list {
		n = append(n, rt.Name)
	}
	return n
}

// Paths returns the interpreter paths, in List order, without repeats.
func (s *Set) Paths() []string {
	var p []string
	seen := map[string]bool{}
	for _, rt := range s.list {
		if !seen[rt.Path] {
			seen[rt.Path] = true
			p = append(p, rt.Path)
		}
	}
	return p
}

// IsPythonCommand says whether a command name means "the Python
// interpreter" (python, python3, python3.12, python2.7): `pycage run
// --runtime NAME -- python3 ...` replaces it with the runtime's interpreter.
func IsPythonCommand(cmd string) bool { return pythonCommand().MatchString(cmd) }

var pythonCommand = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^python(\d+(\.\d+)?)?$`) })
