package cgroup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseFlatKeyed parses "key value" lines: cpu.stat, memory.events,
// pids.events, memory.oom_control, memory.stat. Lines whose value is not an
// integer are skipped.
func parseFlatKeyed(s string) map[string]int64 {
	out := make(map[string]int64)
	for line := range strings.SplitSeq(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		out[k] = n
	}
	return out
}

// flatKey returns one key of a flat keyed file without building a map (the
// CPU poll path).
func flatKey(s, key string) (int64, bool) {
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if len(line) > len(key) && line[len(key)] == ' ' && line[:len(key)] == key {
			n, err := strconv.ParseInt(strings.TrimSpace(line[len(key)+1:]), 10, 64)
			if err != nil {
				return 0, false
			}
			return n, true
		}
	}
	return 0, false
}

// parseCPUStatUsage returns usage_usec of a v2 cpu.stat.
func parseCPUStatUsage(s string) (time.Duration, error) {
	v, ok := flatKey(s, "usage_usec")
	if !ok {
		return 0, errors.New("no usage_usec in cpu.stat")
	}
	return time.Duration(v) * time.Microsecond, nil
}

// parseMemoryEvents returns the oom_kill and max counters of a v2
// memory.events (or the oom_kill counter of a v1 memory.oom_control).
func parseMemoryEvents(s string) (oomKills, maxHits int64) {
	kv := parseFlatKeyed(s)
	return kv["oom_kill"], kv["max"]
}

// parsePidsEvents returns the "max" counter of pids.events (v1 and v2): how
// many forks failed because of pids.max.
func parsePidsEvents(s string) int64 {
	return parseFlatKeyed(s)["max"]
}

// parseSingleInt parses a one-value file; "max" is -1.
func parseSingleInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// parseProcs parses cgroup.procs.
func parseProcs(s string) []int {
	var pids []int
	for f := range strings.FieldsSeq(s) {
		if p, err := strconv.Atoi(f); err == nil && p > 0 {
			pids = append(pids, p)
		}
	}
	return pids
}

// parseStatStartTime returns field 22 of a /proc/PID/stat line. The command
// name (field 2) may hold spaces and parentheses, so fields are counted after
// the last ')'.
func parseStatStartTime(s string) (uint64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, errors.New("short stat")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// runName is the directory name of a run group.
func runName(tag string, seq uint64) string {
	return "run-" + tag + "-" + strconv.FormatUint(seq, 10)
}

// runOwner is the owner of a run group, parsed from its name.
type runOwner struct {
	pidns     uint64
	pid       int
	starttime uint64
}

func ownerTag(o runOwner) string {
	return fmt.Sprintf("%d-%d-%d", o.pidns, o.pid, o.starttime)
}

// parseRunName parses run-<pidns>-<pid>-<starttime>-<seq>.
func parseRunName(name string) (runOwner, bool) {
	rest, ok := strings.CutPrefix(name, "run-")
	if !ok {
		return runOwner{}, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 4 {
		return runOwner{}, false
	}
	var o runOwner
	var err [4]error
	o.pidns, err[0] = strconv.ParseUint(f[0], 10, 64)
	var pid uint64
	pid, err[1] = strconv.ParseUint(f[1], 10, 31)
	o.pid = int(pid)
	o.starttime, err[2] = strconv.ParseUint(f[2], 10, 64)
	_, err[3] = strconv.ParseUint(f[3], 10, 64)
	for _, e := range err {
		if e != nil {
			return runOwner{}, false
		}
	}
	return o, o.pid > 0
}
