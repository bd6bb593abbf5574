package runcmd

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pycage/pycage/internal/jail"
)

// ran is what a recording Runner saw of one RunWith.
type ran struct {
	spec *jail.Spec
	key  string
}

// runRecorded is RunWith of args with flags (nil: no cache) and a Runner
// that records the spec and key it is given (and then changes the spec, as
// a run may: nothing of it may reach the cache). It returns the exit code
// and what the Runner saw (nil: not called).
func runRecorded(t *testing.T, flags *FlagCache, args ...string) (int, *ran) {
	t.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var got *ran
	code := RunWith(Invocation{Args: args, Environ: []string{"A=1"}, Dir: t.TempDir(), Stdin: null, Stdout: null, Stderr: null, Flags: flags,
		Runner: func(ctx context.Context, spec *jail.Spec, key string, stdio jail.IO) (*jail.Result, error) {
			got = &ran{spec: spec.Clone(), key: key}
			spec.Mounts = append(spec.Mounts, jail.Mount{Kind: jail.MountTmpfs, Dst: "/changed"})
			spec.Limits.Memory++
			if spec.Seccomp != nil {
				spec.Seccomp.Log = !spec.Seccomp.Log
			}
			spec.EtcFiles["changed"] = "x"
			return &jail.Result{Reason: jail.ReasonExited}, nil
		}})
	return code, got
}

// TestFlagCache: a second invocation with the same flags (up to "--") is a
// hit: the Runner gets the spec a fresh parse makes, with the command of
// this invocation, and its PrepareKey; the run's changes to its spec do not
// reach the cache.
func TestFlagCache(t *testing.T) {
	for _, flags := range [][]string{
		{"--"},
		{"--memory", "100M", "--time-limit", "3s", "--"},
		{"--net", "loopback", "--env", "X=1", "--tmpfs", "/scratch:1M", "--cwd", "/work", "--quiet", "--"},
		{"--no-seccomp", "--no-proc", "--report", "r.json", "--"},
		{"--seccomp-log", "--landlock", "off", "--rlimit-as", "1G", "--output-limit", "1K", "--"},
	} {
		c := NewFlagCache()
		for i, cmd := range [][]string{{"/bin/true"}, {"/bin/echo", "a", "b"}, {"python3", "-c", "pass"}} {
			args := append(append([]string(nil), flags...), cmd...)
			_, want := runRecorded(t, nil, args...)
			_, got := runRecorded(t, c, args...)
			if want == nil || got == nil {
				t.Fatalf("%q: the runner was not called", args)
			}
			if !reflect.DeepEqual(got.spec, want.spec) {
				t.Errorf("%q (run %d with the cache): spec\n%+v\nwant (no cache)\n%+v", args, i, got.spec, want.spec)
			}
			wantKey, _ := want.spec.PrepareKey()
			switch {
			case i == 0 && got.key != "":
				t.Errorf("%q: the first run (a miss) got key %q", args, got.key)
			case i > 0 && got.key != wantKey:
				t.Errorf("%q (run %d): key\n%q\nwant\n%q", args, i, got.key, wantKey)
			}
		}
	}
}

// TestFlagCacheNotKept: flags that read files or the environment, and a
// "--" that is a flag's value, are parsed anew every time.
func TestFlagCacheNotKept(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "p.kafel")
	if err := os.WriteFile(policy, []byte("DEFAULT ALLOW"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--keep-env", "--", "/bin/true"},
		{"--bind", dir, "--", "/bin/true"},
		{"--bind-rw", dir + ":/data", "--", "/bin/true"},
		{"--seccomp-policy", policy, "--", "/bin/true"},
		{"--runtime", "python3", "--", "python3", "-c", "pass"},
		{"--hostname", "--", "--", "/bin/true"}, // the first "--" is the hostname
		{"/bin/true"},                           // no "--"
	} {
		c := NewFlagCache()
		for i := 0; i < 2; i++ {
			code, got := runRecorded(t, c, args...)
			if got == nil {
				t.Fatalf("%q: exit %d, the runner was not called", args, code)
			}
			if got.key != "" {
				t.Errorf("%q (run %d): a hit (key %q)", args, i, got.key)
			}
		}
		if len(c.m) != 0 {
			t.Errorf("%q: kept in the cache", args)
		}
		if args[0] == "--hostname" {
			if _, got := runRecorded(t, c, args...); got.spec.Hostname != "--" || !reflect.DeepEqual(got.spec.Args, []string{"/bin/true"}) {
				t.Errorf("%q: hostname %q args %q", args, got.spec.Hostname, got.spec.Args)
			}
		}
	}
}

// TestFlagCacheInterpreter: a command outside the system directories gets
// its prefix bound (AddInterpreter) on a hit as on a miss, and then no key
// (the mount makes another one).
func TestFlagCacheInterpreter(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "py")
	exe := filepath.Join(prefix, "bin", "prog")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	c := NewFlagCache()
	runRecorded(t, c, "--", "/bin/true")
	_, got := runRecorded(t, c, "--", exe)
	_, want := runRecorded(t, nil, "--", exe)
	if got.key != "" || !reflect.DeepEqual(got.spec, want.spec) {
		t.Errorf("key %q, spec\n%+v\nwant\n%+v", got.key, got.spec, want.spec)
	}
	if m := got.spec.Mounts[len(got.spec.Mounts)-1]; m.Src != prefix {
		t.Errorf("last mount %+v, want a bind of %s", m, prefix)
	}
}

// TestFlagCacheExpires: an entry is used for flagCacheTTL (the system
// directories' look-up lives as long), then parsed anew.
func TestFlagCacheExpires(t *testing.T) {
	c := NewFlagCache()
	runRecorded(t, c, "--", "/bin/true")
	if _, got := runRecorded(t, c, "--", "/bin/true"); got.key == "" {
		t.Fatal("no hit")
	}
	for _, p := range c.m {
		p.at = p.at.Add(-flagCacheTTL)
	}
	if _, got := runRecorded(t, c, "--", "/bin/true"); got.key != "" {
		t.Error("a hit on an expired entry")
	}
	if _, got := runRecorded(t, c, "--", "/bin/true"); got.key == "" {
		t.Error("no hit after the entry was renewed")
	}
}
