package main

// Black-box tests of runtimes (issue 7), against the real binary and the
// real kernel: every runtime of this host (the system Python and the pyenv
// builds under /root/.pyenv, those absent are skipped) answers with its own
// version in both APIs and the CLI; the system Python's numpy, pandas and
// matplotlib compute and plot (a saved figure comes back in /eval's files,
// plt.show()'s figures in the native answer's figures); a runtime's lib dir
// imports and is read-only; a missing runtime is a clear 400 / exit 125.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

const pyenvRoot = "/root/.pyenv"

var pyenvVersionDir = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// pyenvVersions lists the pyenv versions of this host (none: an empty list).
func pyenvVersions() []string {
	ents, _ := os.ReadDir(pyenvRoot + "/versions")
	var vs []string
	for _, e := range ents {
		if e.IsDir() && pyenvVersionDir.MatchString(e.Name()) {
			vs = append(vs, e.Name())
		}
	}
	key := func(v string) (k [3]int) {
		fmt.Sscanf(v, "%d.%d.%d", &k[0], &k[1], &k[2])
		return k
	}
	sort.Slice(vs, func(i, j int) bool {
		a, b := key(vs[i]), key(vs[j])
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	return vs
}

func pyenvExe(v string) string {
	for _, b := range []string{"python3", "python"} {
		p := filepath.Join(pyenvRoot, "versions", v, "bin", b)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

var (
	pyenvWrapOnce sync.Once
	pyenvWrapArgs []string
	pyenvWrapWhy  string
)

// pyenvWrap returns the command line to run pycage under so that the jail
// can bind pyenv prefixes below /root (mode 0700). When pycage runs as root
// the engine should open bind sources in the parent, so nothing is needed;
// an engine that still opens them in the jail's init (a user namespace
// mapped to uid 65534) gets EACCES, and pycage then runs in a private mount
// namespace where /root is a world-traversable tmpfs holding only .pyenv, at
// its own path.
func pyenvWrap(t *testing.T) []string {
	t.Helper()
	pyenvWrapOnce.Do(func() {
		vs := pyenvVersions()
		if len(vs) == 0 {
			return
		}
		out, err := exec.Command(pycageBin, "run", "--", pyenvExe(vs[0]), "-c", "pass").CombinedOutput()
		if err == nil {
			return
		}
		if !bytes.Contains(out, []byte("EACCES")) {
			pyenvWrapWhy = fmt.Sprintf("a pyenv Python does not run in a jail: %v %s", err, out)
			return
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			pyenvWrapWhy = "the engine cannot bind below /root (EACCES) and there is no unshare"
			return
		}
		stash, err := os.MkdirTemp("", "pycage-pyenv-")
		if err != nil {
			pyenvWrapWhy = err.Error()
			return
		}
		pyenvWrapWhy = "engine: bind below /root fails with EACCES (bind sources are not opened by the parent); pyenv is made reachable by a private mount namespace"
		pyenvWrapArgs = []string{"unshare", "-m", "--propagation", "private", "sh", "-c", `set -e
S=$0
mount --bind /root/.pyenv "$S"
mount -t tmpfs -o mode=755 pycage-test-root /root
mkdir -p /root/.pyenv
mount --bind "$S" /root/.pyenv
exec "$@"`, stash}
	})
	if pyenvWrapWhy != "" {
		t.Log(pyenvWrapWhy)
	}
	return pyenvWrapArgs
}

// tinyLibDir makes a package dir as `pip install --target` leaves it: a
// package and its dist-info, world-readable (the jail's user reads it).
func tinyLibDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "libs")
	for p, c := range map[string]string{
		"tinypkg/__init__.py":              "VALUE = 42\ndef where():\n    return __file__\n",
		"tinypkg-1.2.3.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.2.3\n\n",
		"tinypkg-1.2.3.dist-info/RECORD":   "",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// t.TempDir's dirs are 0700: let the jail's user through.
	for d := dir; d != "/tmp" && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return dir
}

// hostHas says whether the system Python imports all of mods.
func hostHas(mods ...string) bool {
	return exec.Command("/usr/bin/python3", "-c", "import "+strings.Join(mods, ", ")).Run() == nil
}

func systemVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func isPNG(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }

// brokenPython is an "interpreter" that fails: its runtime must be listed
// unusable, not stop the service.
func brokenPython(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "broken")
	p := filepath.Join(dir, "bin", "python3.99")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho 'broken on purpose' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for d := dir; d != "/tmp" && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return p
}

func TestRuntimesServe(t *testing.T) {
	vs := pyenvVersions()
	libs := tinyLibDir(t)
	rtCfg := []any{
		map[string]any{"name": "syslibs", "path": "/usr/bin/python3", "lib_dirs": []string{libs}, "env": []string{"PYCAGE_TEST_ENV=yes"}},
		map[string]any{"name": "broken", "path": brokenPython(t)},
	}
	// Generous clocks: matplotlib's first import takes seconds on a busy
	// machine (packages' tests run in parallel, compat/ among them), and
	// nothing here tests a limit.
	cfg := map[string]any{"runtimes": rtCfg,
		"defaults": map[string]any{"wall": "10s", "cpu": "10s", "memory": "256M", "pids": 64, "output": "1M"}}
	var wrap []string
	var libPyenv string
	if len(vs) > 0 {
		cfg["discover_pyenv"] = pyenvRoot
		wrap = pyenvWrap(t)
		libPyenv = vs[len(vs)-1]
		rtCfg = append(rtCfg, map[string]any{"name": "pyenvlibs", "path": pyenvExe(libPyenv), "lib_dirs": []string{libs}})
		cfg["runtimes"] = rtCfg
	} else {
		t.Log("no pyenv Pythons on this host: only the system Python is tested")
	}
	s := startServe(t, testConfig(cfg), wrap...)

	list := s.get(t, "/v1/runtimes").json(t)["runtimes"].([]any)
	rts := map[string]map[string]any{}
	for _, x := range list {
		rt := x.(map[string]any)
		rts[rt["name"].(string)] = rt
	}

	t.Run("listed with versions and packages", func(t *testing.T) {
		sysName := "python" + strings.Join(strings.Split(systemVersion(t), ".")[:2], ".")
		sys := rts[sysName]
		if sys == nil || sys["path"] != "/usr/bin/python3" || sys["version"] != systemVersion(t) || sys["usable"] != true ||
			sys["default"] != true || sys["source"] != "system" {
			t.Fatalf("system runtime %s: %v", sysName, sys)
		}
		pk := sys["packages"].(map[string]any)
		for _, m := range []string{"numpy", "pandas", "matplotlib", "scipy"} {
			if hostHas(m) && pk[m] == nil {
				t.Errorf("system runtime lacks %s in its packages: %v", m, pk)
			}
		}
		if hostHas("matplotlib") && sys["font_cache"] != true {
			t.Errorf("no font cache for the system runtime")
		}
		for _, v := range vs {
			var found map[string]any
			for _, rt := range rts {
				if rt["path"] == pyenvExe(v) && rt["source"] == "pyenv" {
					found = rt
				}
			}
			if found == nil || found["version"] != v || found["usable"] != true {
				t.Errorf("pyenv %s: %v", v, found)
				continue
			}
			// python3.X, or python3.X.Y when the short name is taken (the
			// system's python3.11 vs pyenv's 3.11.7).
			parts := strings.Split(v, ".")
			short := "python" + parts[0] + "." + parts[1]
			if n := found["name"]; n != short && n != "python"+v {
				t.Errorf("pyenv %s is named %v", v, n)
			}
			if short == sysName && found["name"] != "python"+v {
				t.Errorf("pyenv %s took the system's name", v)
			}
		}
		b := rts["broken"]
		if b == nil || b["usable"] != false || !strings.Contains(b["problem"].(string), "broken on purpose") {
			t.Errorf("broken runtime: %v", b)
		}
		sl := rts["syslibs"]
		if sl == nil || sl["usable"] != true || sl["packages"].(map[string]any)["tinypkg"] != "1.2.3" {
			t.Errorf("syslibs: %v", sl)
		}
		t.Logf("%d runtimes", len(rts))
	})

	t.Run("each runtime answers with its version", func(t *testing.T) {
		code := "import sys; print(sys.version)"
		for name, rt := range rts {
			if rt["usable"] != true {
				continue
			}
			want := rt["version"].(string) + " "
			r := s.run(t, map[string]any{"runtime": name, "code": code})
			if r.str("reason") != "exited" || !strings.HasPrefix(r.str("stdout"), want) || r.str("runtime_version") != rt["version"] {
				t.Errorf("%s: %v", name, r.m)
				continue
			}
			t.Logf("%-14s %s", name, strings.TrimSpace(r.str("stdout")))
			if rt["source"] == "config" {
				continue // shares its path with another runtime
			}
			e := s.eval(t, map[string]any{"input": code, "executable_path": rt["path"]})
			if e.ReturnCode == nil || *e.ReturnCode != 0 || !strings.HasPrefix(e.Stdout, want) {
				t.Errorf("/eval %s: %+v", rt["path"], e)
			}
		}
	})

	t.Run("lib dir imports and is read-only", func(t *testing.T) {
		code := `
import errno, os, sys, tinypkg
print(tinypkg.VALUE, tinypkg.where().startswith(` + fmt.Sprintf("%q", libs) + `), os.environ.get("PYCAGE_TEST_ENV"))
for attempt in (lambda: open(os.path.join(os.path.dirname(tinypkg.where()), "evil.py"), "w"),
                lambda: os.mkdir(` + fmt.Sprintf("%q", libs+"/newdir") + `),
                lambda: os.unlink(tinypkg.where())):
    try:
        attempt()
        print("WRITABLE")
    except OSError as e:
        print(errno.errorcode[e.errno])
`
		names := []string{"syslibs"}
		if libPyenv != "" {
			names = append(names, "pyenvlibs")
		}
		for _, n := range names {
			r := s.run(t, map[string]any{"runtime": n, "code": code})
			env := "yes"
			if n == "pyenvlibs" {
				env = "None"
			}
			if want := "42 True " + env + "\nEROFS\nEROFS\nEROFS\n"; r.str("stdout") != want {
				t.Errorf("%s: stdout %q, want %q\n%v", n, r.str("stdout"), want, r.m)
			}
		}
		// The default runtime does not see the lib dir.
		r := s.run(t, map[string]any{"code": "import tinypkg"})
		if r.num("exit_code") != 1 || !strings.Contains(r.str("stderr"), "No module named") {
			t.Errorf("tinypkg imports without its lib dir: %v", r.m)
		}
	})

	t.Run("a missing or unusable runtime is a 400", func(t *testing.T) {
		r := s.post(t, "/v1/run", map[string]any{"runtime": "python9.9", "code": "1"})
		m := r.json(t)
		d, _ := m["description"].(string)
		if r.status != 400 || !strings.Contains(d, `runtime "python9.9": no such runtime`) || !strings.Contains(d, "syslibs") {
			t.Errorf("missing runtime: %d %s", r.status, r.body)
		}
		r = s.post(t, "/eval", map[string]any{"input": "1", "executable_path": "/opt/python9.9/bin/python3"})
		m = r.json(t)
		d, _ = m["description"].(string)
		if r.status != 400 || m["title"] != "Request data failed validation" || !strings.Contains(d, "is not one of the configured runtimes") || !strings.Contains(d, "/usr/bin/python3") {
			t.Errorf("missing executable_path: %d %s", r.status, r.body)
		}
		r = s.post(t, "/v1/run", map[string]any{"runtime": "broken", "code": "1"})
		if d, _ := r.json(t)["description"].(string); r.status != 400 || !strings.Contains(d, "not usable") {
			t.Errorf("unusable runtime: %d %s", r.status, r.body)
		}
		r = s.post(t, "/eval", map[string]any{"input": "1", "executable_path": rts["broken"]["path"]})
		if d, _ := r.json(t)["description"].(string); r.status != 400 || !strings.Contains(d, "not usable") {
			t.Errorf("unusable executable_path: %d %s", r.status, r.body)
		}
	})

	t.Run("numpy pandas matplotlib: values and a saved figure (/eval files)", func(t *testing.T) {
		if !hostHas("numpy", "pandas", "matplotlib", "scipy") {
			t.Skip("the system Python lacks numpy/pandas/matplotlib/scipy (apt-get install python3-numpy python3-pandas python3-matplotlib python3-scipy)")
		}
		e := s.eval(t, map[string]any{"input": `
import numpy as np, pandas as pd, scipy.linalg
import matplotlib.pyplot as plt
a = np.array([[3.0, 1.0], [1.0, 2.0]])
print(np.round(scipy.linalg.solve(a, np.array([9.0, 8.0])), 6).tolist())
df = pd.DataFrame({"g": ["a", "b", "a", "b"], "v": [1, 2, 3, 4]})
print(df.groupby("g").v.mean().to_dict())
fig, ax = plt.subplots()
ax.plot(np.arange(10), np.arange(10) ** 2)
fig.savefig("plot.png")
print(plt.get_backend())
`})
		wantRC(t, e, 0)
		if e.Stdout != "[2.0, 3.0]\n{'a': 2.0, 'b': 3.0}\nagg\n" {
			t.Fatalf("stdout %q", e.Stdout)
		}
		if len(e.Files) != 1 || e.Files[0].Path != "plot.png" {
			t.Fatalf("files %v", fileNames(e.Files))
		}
		png, _ := base64.StdEncoding.DecodeString(e.Files[0].Content)
		if !isPNG(png) || len(png) < 5000 || len(png) > 1<<20 || int64(len(png)) != e.Files[0].Size {
			t.Fatalf("plot.png: %d bytes, header %q", len(png), png[:min(8, len(png))])
		}
		t.Logf("plot.png: %d bytes", len(png))
	})

	t.Run("plt.show() figures come back (native figures)", func(t *testing.T) {
		if !hostHas("numpy", "matplotlib") {
			t.Skip("no matplotlib for the system Python")
		}
		code := `
import numpy as np, matplotlib.pyplot as plt
plt.plot(np.arange(5), np.arange(5) * 2.5)
plt.title("first")
plt.show()
plt.figure(); plt.bar([1, 2, 3], [3, 1, 2])
plt.figure(); plt.scatter([1, 2], [2, 1])
plt.show()
plt.show()  # nothing open: nothing more
plt.figure(); plt.plot([1, 2]); plt.savefig("kept.png")
print(float(np.arange(5).mean()))
`
		r := s.run(t, map[string]any{"code": code, "figures": true})
		wantRunReason(t, r, "exited", 0)
		if r.str("stdout") != "2.0\n" {
			t.Fatalf("%v", r.m)
		}
		figs, _ := r.m["figures"].([]any)
		var names []string
		for _, f := range figs {
			f := f.(map[string]any)
			names = append(names, f["name"].(string))
			png, _ := base64.StdEncoding.DecodeString(f["content"].(string))
			if !isPNG(png) || len(png) < 3000 || len(png) > 1<<20 || float64(len(png)) != f["size"] {
				t.Fatalf("%s: %d bytes, header %q", f["name"], len(png), png[:min(8, len(png))])
			}
		}
		if strings.Join(names, ",") != "figure-001.png,figure-002.png,figure-003.png" {
			t.Fatalf("figures %v", names)
		}
		files, _ := r.m["files"].([]any)
		if len(files) != 1 || files[0].(map[string]any)["path"] != "kept.png" {
			t.Fatalf("files %v", r.m["files"])
		}
		// Without "figures", plt.show() shows nothing and nothing comes back.
		r = s.run(t, map[string]any{"code": code})
		wantRunReason(t, r, "exited", 0)
		if _, ok := r.m["figures"]; ok {
			t.Fatalf("figures without asking: %v", r.m["figures"])
		}
		if files, _ := r.m["files"].([]any); len(files) != 1 {
			t.Fatalf("files %v", r.m["files"])
		}
		// The backend module is read-only in the jail.
		r = s.run(t, map[string]any{"figures": true, "code": `
import errno, os, pycage_figures
for attempt in (lambda: open(pycage_figures.__file__, "a"), lambda: open(pycage_figures.__file__ + "x", "w")):
    try:
        attempt()
    except OSError as e:
        print(pycage_figures.__file__, errno.errorcode[e.errno])`})
		if r.str("stdout") != "/pycage/python/pycage_figures.py EACCES\n/pycage/python/pycage_figures.py EROFS\n" {
			t.Fatalf("%v", r.m)
		}
	})

	t.Run("imports fit the default limits; threads pinned; font cache used", func(t *testing.T) {
		if !hostHas("numpy", "pandas", "matplotlib") {
			t.Skip("no numpy/pandas/matplotlib for the system Python")
		}
		r := s.run(t, map[string]any{"code": `
import errno, logging, os, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
import numpy, pandas, matplotlib, matplotlib.pyplot
a = numpy.random.rand(300, 300)
(a @ a).sum()
print(len(os.listdir("/proc/self/task")), [os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND")])
# The font cache is read-only and cannot be removed; its dir is writable.
cache = [os.path.join(matplotlib.get_cachedir(), n) for n in os.listdir(matplotlib.get_cachedir()) if n.startswith("fontlist-")][0]
for attempt in (lambda: open(cache, "a"), lambda: os.unlink(cache)):
    try:
        attempt()
        print("changed")
    except OSError as e:
        print(errno.errorcode[e.errno])
open(os.path.join(matplotlib.get_cachedir(), "scratch"), "w").write("ok")
print(sorted(os.listdir(".")), [f for f in os.listdir("/tmp")])
`, "limits": map[string]any{"memory_bytes": 256 << 20}})
		wantRunReason(t, r, "exited", 0)
		out := r.str("stdout")
		if out != "1 ['1', '1', '1', 'Agg']\nEROFS\nEBUSY\n[] []\n" && out != "1 ['1', '1', '1', 'Agg']\nEACCES\nEBUSY\n[] []\n" {
			t.Fatalf("%v", r.m)
		}
		peak := r.num("peak_memory_bytes")
		t.Logf("import numpy, pandas, matplotlib.pyplot + a 300x300 matmul: peak memory %.1f MiB, wall %.0f ms", peak/(1<<20), r.num("wall_ms"))
		if peak <= 0 || peak > 200<<20 {
			t.Fatalf("peak memory %.0f", peak)
		}
		if !strings.Contains(r.str("stderr"), "Using fontManager instance from /pycage/matplotlib/fontlist-") {
			t.Fatalf("the pre-built font cache was not used:\n%.3000s", r.str("stderr"))
		}
	})
}

// cli runs pycage (under wrap) with stdin and args.
func cli(t *testing.T, wrap []string, stdin string, args ...string) runOut {
	t.Helper()
	full := append(append([]string{}, wrap...), pycageBin)
	full = append(full, args...)
	return capture(t, exec.Command(full[0], full[1:]...), stdin)
}

func TestRuntimesCLI(t *testing.T) {
	sysVer := systemVersion(t)
	sysName := "python" + strings.Join(strings.Split(sysVer, ".")[:2], ".")

	t.Run("system runtime: CMD python3 is its interpreter", func(t *testing.T) {
		r := cli(t, nil, "", "run", "--runtime", sysName, "--", "python", "-c", "import sys; print(sys.executable, sys.version.split()[0])")
		wantCode(t, r, 0)
		if r.stdout != "/usr/bin/python3 "+sysVer+"\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
	})
	t.Run("no CMD: the program comes on stdin", func(t *testing.T) {
		r := cli(t, nil, "import sys\nprint(6 * 7, sys.argv)\n", "run", "--runtime", "python3")
		wantCode(t, r, 0)
		if r.stdout != "42 ['-']\n" {
			t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
		}
	})
	t.Run("a missing runtime is exit 125 naming the available ones", func(t *testing.T) {
		r := cli(t, nil, "", "run", "--runtime", "python9.9", "--", "python3", "-c", "1")
		wantCode(t, r, 125)
		if !strings.Contains(r.stderr, `"python9.9": no such runtime`) || !strings.Contains(r.stderr, sysName) {
			t.Fatalf("stderr %q", r.stderr)
		}
		r = cli(t, nil, "", "run", "--runtimes-pyenv", "/nonexistent", "--runtime", "python3", "--", "true")
		wantCode(t, r, 125)
		if !strings.Contains(r.stderr, "/nonexistent") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})
	t.Run("lib dir from a serve config: imports, read-only", func(t *testing.T) {
		libs := tinyLibDir(t)
		cfg := filepath.Join(t.TempDir(), "serve.json")
		b, _ := json.Marshal(map[string]any{"listen": "127.0.0.1:1", "runtimes": []any{map[string]any{"name": "withlibs", "path": "/usr/bin/python3", "lib_dirs": []string{libs}}}})
		os.WriteFile(cfg, b, 0o644)
		r := cli(t, nil, "", "run", "--runtimes-config", cfg, "--runtime", "withlibs", "--", "python3", "-c", `
import errno, os, tinypkg
try:
    open(os.path.join(os.path.dirname(tinypkg.where()), "new.py"), "w")
except OSError as e:
    print(tinypkg.VALUE, errno.errorcode[e.errno])`)
		wantCode(t, r, 0)
		if r.stdout != "42 EROFS\n" {
			t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
		}
		r = cli(t, nil, "", "run", "--runtimes-config", cfg, "--list-runtimes")
		wantCode(t, r, 0)
		if !strings.Contains(r.stdout, "withlibs") || !strings.Contains(r.stdout, "lib_dirs="+libs) || !strings.Contains(r.stdout, sysName) {
			t.Fatalf("list %q", r.stdout)
		}
	})
	t.Run("pyenv runtimes", func(t *testing.T) {
		vs := pyenvVersions()
		if len(vs) == 0 {
			t.Skip("no pyenv Pythons on this host")
		}
		wrap := pyenvWrap(t)
		r := cli(t, wrap, "", "run", "--runtimes-pyenv", pyenvRoot, "--list-runtimes")
		wantCode(t, r, 0)
		t.Logf("runtimes:\n%s", r.stdout)
		names := map[string]string{} // version -> runtime name
		for _, line := range strings.Split(r.stdout, "\n") {
			for _, v := range vs {
				if f := strings.Fields(line); len(f) >= 3 && f[2] == pyenvExe(v) {
					names[v] = f[0]
				}
			}
		}
		for _, v := range vs {
			name := names[v]
			if name == "" {
				t.Errorf("pyenv %s not listed", v)
				continue
			}
			// Old syntax on purpose for 2.7: the statement form of print.
			prog := "import sys\nprint(sys.version.split()[0])\n"
			if strings.HasPrefix(v, "2.") {
				prog = "import sys\nprint sys.version.split()[0]\n"
			}
			r := cli(t, wrap, prog, "run", "--runtimes-pyenv", pyenvRoot, "--runtime", name)
			if r.code != 0 || r.stdout != v+"\n" {
				t.Errorf("%s: code %d stdout %q stderr %q", name, r.code, r.stdout, r.stderr)
			}
		}
		// CMD python3.X is replaced too; other commands find the runtime's
		// bin dir first on PATH.
		v := vs[len(vs)-1]
		for _, cmd := range [][]string{
			{"python3.1", "-c", "import sys; print(sys.version.split()[0])"},
			{"sh", "-c", "python3 -c 'import sys; print(sys.version.split()[0])'"},
		} {
			args := append([]string{"run", "--runtimes-pyenv", pyenvRoot, "--runtime", names[v], "--"}, cmd...)
			r := cli(t, wrap, "", args...)
			if r.code != 0 || r.stdout != v+"\n" {
				t.Errorf("%v: code %d stdout %q stderr %q", cmd, r.code, r.stdout, r.stderr)
			}
		}
	})
}
