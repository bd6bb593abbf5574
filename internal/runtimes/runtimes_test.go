package runtimes

// Unit tests that need no jail: naming, discovery, configuration mistakes,
// what Apply, AddFontCache and EnableFigures put into a Spec. The runtimes
// end to end (probes, packages, figures, read-only lib dirs) are tested
// black-box in cmd/pycage/runtimes_test.go.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pycage/pycage/internal/jail"
)

// fakePython makes an executable file at p (and its dirs).
func fakePython(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeSystem makes <dir>/bin/python3 -> python3.11, as Debian has it.
func fakeSystem(t *testing.T, dir string) string {
	t.Helper()
	fakePython(t, filepath.Join(dir, "bin/python3.11"))
	p := filepath.Join(dir, "bin/python3")
	if err := os.Symlink("python3.11", p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadNamesAndPyenv(t *testing.T) {
	dir := t.TempDir()
	sys := fakeSystem(t, filepath.Join(dir, "sys"))
	root := filepath.Join(dir, "pyenv")
	for _, v := range []string{"3.11.7", "3.12.1", "3.12.0", "3.13.0", "3.13.0t"} {
		fakePython(t, filepath.Join(root, "versions", v, "bin/python3"))
	}
	fakePython(t, filepath.Join(root, "versions/2.7.18/bin/python")) // Python 2: no python3
	fakePython(t, filepath.Join(root, "versions/pypy3.10-7.3.12/bin/python3"))
	os.MkdirAll(filepath.Join(root, "versions/3.10.0"), 0o755) // no interpreter
	os.Symlink(filepath.Join(root, "versions/3.12.1"), filepath.Join(root, "versions/myenv"))

	s, err := Load(Options{System: sys, PyenvRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rt := range s.List() {
		got = append(got, rt.Name+"="+rt.Version+"@"+rt.Source)
		if !rt.Usable() {
			t.Errorf("%s: %s", rt.Name, rt.Problem)
		}
	}
	want := "python3.11=3.11@system python2.7=2.7.18@pyenv python3.11.7=3.11.7@pyenv python3.12=3.12.1@pyenv " +
		"python3.12.0=3.12.0@pyenv python3.13=3.13.0@pyenv python3.13.0t=3.13.0t@pyenv"
	if strings.Join(got, " ") != want {
		t.Fatalf("runtimes:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if rt, _ := s.Lookup("python2.7"); rt.Path != filepath.Join(root, "versions/2.7.18/bin/python") {
		t.Fatalf("python2.7 path %s", rt.Path)
	}
	notes := strings.Join(s.Notes, "\n")
	for _, n := range []string{"pypy3.10-7.3.12", "myenv", "3.10.0"} {
		if !strings.Contains(notes, n) {
			t.Errorf("no note about %s:\n%s", n, notes)
		}
	}
	// The default, and its aliases.
	for _, n := range []string{"", "python3", "python", "python3.11"} {
		if rt, ok := s.Lookup(n); !ok || rt.Path != sys || !rt.Default {
			t.Errorf("Lookup(%q) = %v %v", n, rt, ok)
		}
	}
	if _, ok := s.Lookup("python3.99"); ok {
		t.Error("python3.99 found")
	}
	// By path: the configured path and the file it resolves to.
	for _, p := range []string{sys, filepath.Join(dir, "sys/bin/python3.11")} {
		if rt, ok := s.ByPath(p); !ok || rt.Name != "python3.11" {
			t.Errorf("ByPath(%s) = %v %v", p, rt, ok)
		}
	}
	if _, ok := s.ByPath("python3"); ok {
		t.Error("relative path accepted")
	}
	if s2, err := Load(Options{System: sys, PyenvRoot: root, Default: "python3.13"}); err != nil || s2.Default().Name != "python3.13" {
		t.Fatalf("default: %v", err)
	}
	if _, err := Load(Options{System: sys, Default: "nope"}); err == nil || !strings.Contains(err.Error(), "python3.11") {
		t.Fatalf("unknown default: %v", err)
	}
	if _, err := Load(Options{System: sys, PyenvRoot: filepath.Join(dir, "nothing")}); err == nil {
		t.Fatal("a missing pyenv root is accepted")
	}
}

func TestLoadConfigs(t *testing.T) {
	dir := t.TempDir()
	sys := fakeSystem(t, filepath.Join(dir, "sys"))
	libs := filepath.Join(dir, "libs")
	os.MkdirAll(libs, 0o755)
	opt := func(c ...Config) Options { return Options{System: sys, Configs: c} }

	s, err := Load(opt(
		Config{Name: "sci", Path: sys, LibDirs: []string{libs}, Env: []string{"A=1"}},
		Config{Path: filepath.Join(dir, "sys/bin/python3.11")}, // named after its file: taken
	))
	if err == nil || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("duplicate name: %v %v", s, err)
	}
	s, err = Load(opt(
		Config{Name: "sci", Path: sys, LibDirs: []string{libs}},
		Config{Name: "gone", Path: filepath.Join(dir, "none/bin/python3")},
		Config{Name: "nolib", Path: sys, LibDirs: []string{filepath.Join(dir, "nolib")}},
	))
	if err != nil {
		t.Fatal(err)
	}
	if rt, _ := s.Lookup("sci"); !rt.Usable() || rt.Source != SourceConfig || rt.LibDirs[0] != libs {
		t.Fatalf("sci: %+v", rt)
	}
	if rt, _ := s.Lookup("gone"); rt.Usable() || !strings.Contains(rt.Problem, "no such file") {
		t.Fatalf("gone: %+v", rt)
	}
	if rt, _ := s.Lookup("nolib"); rt.Usable() || !strings.Contains(rt.Problem, "lib dir") {
		t.Fatalf("nolib: %+v", rt)
	}
	// The system Python comes first and stays the default.
	if s.Default().Name != "python3.11" || s.List()[0].Source != SourceSystem {
		t.Fatalf("default %s", s.Default().Name)
	}
	for _, c := range []Config{
		{Name: "rel", Path: "bin/python3"},
		{Name: "dirty", Path: "/usr/bin/../bin/python3"},
		{Name: "bad name!", Path: sys},
		{Name: "env", Path: sys, Env: []string{"NOEQUALS"}},
		{Name: "libs", Path: sys, LibDirs: []string{"relative"}},
		{Name: "libs2", Path: sys, LibDirs: []string{"/a:b"}},
		{Path: filepath.Join(dir, "sys/bin/custom")}, // no name, none from the file
	} {
		if _, err := Load(opt(c)); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := Load(Options{NoSystem: true}); err == nil {
		t.Error("no runtimes at all accepted")
	}
}

func TestApply(t *testing.T) {
	spec := jail.DefaultSpec(nil)
	rt := &Runtime{Name: "x", Path: "/usr/bin/python3", LibDirs: []string{"/srv/libs/a", "/usr/lib/python3/dist-packages"}, Env: []string{"PYTHONPATH=/opt/extra", "X=1"}}
	rt.Apply(spec)
	env := strings.Join(spec.Env, "\n")
	if !strings.Contains(env, "\nPYTHONPATH=/srv/libs/a:/usr/lib/python3/dist-packages:/opt/extra\n") || !strings.Contains(env, "\nX=1") {
		t.Fatalf("env:\n%s", env)
	}
	if p, _ := GetEnv(spec.Env, "PATH"); p != jail.DefaultPATH {
		t.Fatalf("PATH %s (a system interpreter adds nothing)", p)
	}
	var binds []string
	for _, m := range spec.Mounts {
		if m.Kind == jail.MountBind && strings.HasPrefix(m.Src, "/srv") {
			binds = append(binds, m.Src)
			if m.RW || !m.Mandatory || m.Dst != m.Src {
				t.Fatalf("lib dir bind %+v: want read-only, mandatory, same path", m)
			}
		}
		if m.Kind == jail.MountBind && m.Src == "/usr/lib/python3/dist-packages" {
			t.Fatalf("a lib dir under /usr (bound read-only already) is bound again")
		}
	}
	if len(binds) != 1 {
		t.Fatalf("lib dir binds %v", binds)
	}

	// An interpreter outside the system dirs: its bin dir goes first on PATH.
	dir := t.TempDir()
	exe := filepath.Join(dir, "py/bin/python3.12")
	fakePython(t, exe)
	spec = jail.DefaultSpec(nil)
	(&Runtime{Path: exe}).Apply(spec)
	if p, _ := GetEnv(spec.Env, "PATH"); p != filepath.Join(dir, "py/bin")+":"+jail.DefaultPATH {
		t.Fatalf("PATH %s", p)
	}
	if _, ok := GetEnv(spec.Env, "PYTHONPATH"); ok {
		t.Fatal("PYTHONPATH without lib dirs")
	}
}

func TestIsPythonCommand(t *testing.T) {
	for c, want := range map[string]bool{"python": true, "python3": true, "python3.12": true, "python2.7": true, "python2": true,
		"/usr/bin/python3": false, "python3-config": false, "ipython": false, "sh": false, "python3.": false} {
		if IsPythonCommand(c) != want {
			t.Errorf("%q: %v", c, !want)
		}
	}
}

func TestFontCacheAndFigures(t *testing.T) {
	rt := &Runtime{Name: "py", FontCache: &FontCache{Name: "fontlist-v330.json", Content: []byte("{}")}}
	spec := jail.DefaultSpec(nil)
	n := len(spec.Mounts)
	rt.AddFontCache(spec)
	if len(spec.Mounts) != n {
		t.Fatal("a font cache that was not saved is used")
	}
	set := &Set{list: []*Runtime{rt, {Name: "nompl"}}}
	dir := t.TempDir()
	if err := set.SaveFontCaches(dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "py/fontlist-v330.json")); err != nil || string(b) != "{}" || rt.FontCache.HostPath != filepath.Join(dir, "py/fontlist-v330.json") {
		t.Fatalf("saved: %q %v %s", b, err, rt.FontCache.HostPath)
	}
	rt.AddFontCache(spec)
	ms := spec.Mounts[n:]
	if len(ms) != 2 || ms[0].Kind != jail.MountTmpfs || ms[0].Dst != FontCacheDir || !ms[0].Owned || !ms[0].RW ||
		ms[1].Kind != jail.MountBind || ms[1].RW || ms[1].Src != rt.FontCache.HostPath || ms[1].Dst != FontCacheDir+"/fontlist-v330.json" {
		t.Fatalf("mounts %+v", ms)
	}
	if d, _ := GetEnv(spec.Env, "MPLCONFIGDIR"); d != FontCacheDir {
		t.Fatalf("MPLCONFIGDIR %q", d)
	}
	spec = jail.DefaultSpec(nil)
	spec.Env = SetEnv(spec.Env, "MPLCONFIGDIR=/mine")
	n = len(spec.Mounts)
	rt.AddFontCache(spec)
	if len(spec.Mounts) != n {
		t.Fatal("font cache added over the run's own MPLCONFIGDIR")
	}

	spec = jail.DefaultSpec(nil)
	spec.Env = SetEnv(spec.Env, "PYTHONPATH=/libs")
	EnableFigures(spec)
	if p, _ := GetEnv(spec.Env, "PYTHONPATH"); p != "/libs:"+FiguresModuleDir {
		t.Fatalf("PYTHONPATH %s", p)
	}
	if b, _ := GetEnv(spec.Env, "MPLBACKEND"); b != "module://pycage_figures" {
		t.Fatalf("MPLBACKEND %s", b)
	}
	if d, _ := GetEnv(spec.Env, "PYCAGE_FIGURES_DIR"); d != jail.DefaultWorkspace+"/"+FiguresDir {
		t.Fatalf("PYCAGE_FIGURES_DIR %s", d)
	}
	m := spec.Mounts[len(spec.Mounts)-1]
	if m.Kind != jail.MountFile || m.RW || m.Dst != FiguresModuleDir+"/pycage_figures.py" || !strings.Contains(string(m.Content), "def show(") {
		t.Fatalf("module mount %+v", m.Dst)
	}
	others, figs := SplitFigures([]jail.OutFile{{Path: "a.png"}, {Path: FiguresDir + "/figure-001.png"}, {Path: FiguresDir + "x.png"}})
	if len(others) != 2 || len(figs) != 1 || figs[0].Path != "figure-001.png" {
		t.Fatalf("split %v %v", others, figs)
	}
}
