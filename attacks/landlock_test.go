package attacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// landlockPaths are the spawn paths (and, on the Go path, both ways init
// starts the command) the leaked-descriptor test runs on.
var landlockPaths = []struct {
	name  string
	env   []string
	flags []string
}{
	{"raw", []string{"PYCAGE_SPAWN=raw"}, nil},
	{"go-stage", []string{"PYCAGE_SPAWN=go"}, nil},
	{"go-direct", []string{"PYCAGE_SPAWN=go"}, []string{"--pids", "0"}},
}

// leakedDirOps is how many attempts 65_leaked_dir_fd makes.
const leakedDirOps = 13

// hostDir makes the host directory whose descriptor leaks into the jail:
// world-writable, with a canary, a victim to unlink, a file to rename, a
// subdirectory and an executable script, so that nothing but Landlock
// stands between the jail's uid and them.
func hostDir(t *testing.T, secret string) string {
	t.Helper()
	// Modes are set with chmod: the umask is the process's, and the
	// tests run in parallel.
	dir := filepath.Join(t.TempDir(), "leaked")
	for _, d := range []string{dir, filepath.Join(dir, "sub")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]string{
		"canary":    secret + "\n",
		"victim":    "victim\n",
		"movable":   "movable\n",
		"sub/inner": secret + " (inner)\n",
		"tool.sh":   "#!/bin/sh\necho tool-ran\n",
	} {
		mode := os.FileMode(0o666)
		if name == "tool.sh" {
			mode = 0o777
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// snapshot lists the directory's entries with each file's hash.
func snapshot(dir string) map[string]string {
	m := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.Mode().IsRegular() {
			m[rel] = hashFile(p)
		} else {
			m[rel] = fi.Mode().String()
		}
		return nil
	})
	return m
}

// TestLeakedDirFD: a descriptor of a host directory reaches the command
// (handed in as stdin, moved to fd 3 by a shell inside the jail). Under
// Landlock (the default, auto) nothing can be opened, created, removed or
// executed through it; with --landlock off, the same program does all of
// it (the control: this test fails if Landlock is not applied).
func TestLeakedDirFD(t *testing.T) {
	wrap := []string{"/bin/sh", "-c", `exec 3<&0 </dev/null; exec "$@"`, "sh"}
	for _, path := range landlockPaths {
		t.Run(path.name, func(t *testing.T) {
			onPaths(t, func(t *testing.T, v *via) {
				if path.name != "raw" {
					skipDaemon(t, v, "PYCAGE_SPAWN is the daemon's own setting (a client's is ignored); a Go-path spec is not preparable")
				}
				parallel(t)
				secret := "leaked-dir-canary-" + nonce()
				dir := hostDir(t, secret)
				before := snapshot(dir)
				open := func() *os.File {
					f, err := os.Open(dir)
					if err != nil {
						t.Fatal(err)
					}
					return f
				}

				// Landlock applied: everything refused, the directory intact.
				f := open()
				o := run(t, attack{via: v, prog: "65_leaked_dir_fd", args: []string{"landlock", secret}, env: path.env,
					flags: path.flags, stdin: f, wrap: wrap})
				f.Close()
				o.exited(t, 0, leakedDirOps)
				if got := o.report["landlock"]; got != "applied" {
					t.Errorf("report landlock %v, want applied", got)
				}
				after := snapshot(dir)
				for k, v := range before {
					if after[k] != v {
						t.Errorf("host directory changed: %s: %s -> %s", k, v, after[k])
					}
				}
				for k := range after {
					if _, ok := before[k]; !ok {
						t.Errorf("host directory changed: %s created", k)
					}
				}
				if strings.Contains(o.stdout, secret) || strings.Contains(o.stderr, secret) {
					t.Errorf("the leaked directory's canary appeared in the output")
				}

				// The control, --landlock off: the same attempts all work.
				f = open()
				c := run(t, attack{via: v, prog: "65_leaked_dir_fd", args: []string{"control", secret}, env: path.env,
					flags: append([]string{"--landlock", "off"}, path.flags...), stdin: f, wrap: wrap})
				f.Close()
				c.clean(t)
				c.reason(t, "exited", 0)
				n := 0
				for _, line := range strings.Split(c.stdout, "\n") {
					if strings.HasPrefix(line, "REACHED ") {
						n++
					}
				}
				if n != leakedDirOps || !c.done {
					t.Errorf("control: %d attempts reached, want %d (done %v)\nstdout: %s\nstderr: %s",
						n, leakedDirOps, c.done, tail(c.stdout, 2000), tail(c.stderr, 1000))
				}
				if got := c.report["landlock"]; got != "off" {
					t.Errorf("control: report landlock %v, want off", got)
				}
				b, _ := os.ReadFile(filepath.Join(dir, "canary"))
				if !strings.HasSuffix(string(b), "pwned\n") {
					t.Errorf("control: the canary was not appended to: %q", b)
				}
				for _, name := range []string{"pwned-new", "pwned-dir", "pwned-link", "pwned-moved"} {
					if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
						t.Errorf("control: %s not created: %v", name, err)
					}
				}
				if _, err := os.Lstat(filepath.Join(dir, "victim")); err == nil {
					t.Errorf("control: victim not unlinked")
				}
			})
		})
	}
}
