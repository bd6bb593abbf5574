// Package testkit holds what the tests of several packages share: a log
// buffer for the processes they start, and the run cgroups a pycage
// process holds (or left behind). Only tests import it.
package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// LockedBuffer is a bytes.Buffer that a process's stdout and stderr may
// write while a test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var runGroup = regexp.MustCompile(`^run-\d+-(\d+)-\d+-\d+$`)

// RunCgroups lists the run cgroups (run-<pidns>-<pid>-<start>-<seq>, under
// a pycage parent, in every hierarchy) of the given pycage pids, or all
// run cgroups when pids is empty: one path per run and hierarchy.
func RunCgroups(pids ...int) []string {
	want := map[string]bool{}
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	var found []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if depth > 7 {
			return
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if m := runGroup.FindStringSubmatch(e.Name()); m != nil && strings.Contains(p, "pycage") {
				if len(want) == 0 || want[m[1]] {
					found = append(found, p)
				}
				continue
			}
			walk(p, depth+1)
		}
	}
	walk("/sys/fs/cgroup", 1)
	return found
}

// Runs is RunCgroups by run: one name (run-...) per run, whatever the
// number of hierarchies.
func Runs(pids ...int) []string {
	seen := map[string]bool{}
	var names []string
	for _, p := range RunCgroups(pids...) {
		if n := filepath.Base(p); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}
