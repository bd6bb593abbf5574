package cgroup

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The texts of this hybrid test machine.
const hybridMountinfo = `22 1 253:0 / / rw,relatime - ext4 /dev/vda rw
30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridCgroup = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/05f823e5
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`

// A systemd host on pure v2.
const pureV2Mountinfo = `21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
24 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`
const pureV2Cgroup = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/pycage.service\n"

// A v1 container (no cgroup namespace): the hierarchies are bind mounted
// from /docker/abc, read-only, with cpu and cpuacct co-mounted.
const containerMountinfo = `600 500 0:50 / / rw - overlay overlay rw
610 600 0:60 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
611 610 0:31 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory
612 610 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid,nodev,noexec,relatime master:16 - cgroup cgroup rw,cpu,cpuacct
613 610 0:35 /docker/abc /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime master:17 - cgroup cgroup rw,pids
`
const containerCgroup = `4:memory:/docker/abc
3:cpu,cpuacct:/docker/abc/sub
2:pids:/docker/abc
`

func hierKeys(v1 []hierInfo) []string {
	var k []string
	for _, h := range v1 {
		k = append(k, h.key())
	}
	return k
}

func TestDetectHybridSample(t *testing.T) {
	v1, v2 := detect(hybridMountinfo, hybridCgroup)
	want := []string{"pids", "freezer", "memory", "cpuset", "cpuacct", "cpu"}
	if got := hierKeys(v1); !slices.Equal(got, want) {
		t.Fatalf("v1 hierarchies %v, want %v", got, want)
	}
	if v2 == nil || v2.mount != "/sys/fs/cgroup/unified" || v2.own != "/" {
		t.Fatalf("unified = %+v", v2)
	}
	for _, h := range v1 {
		base, rel, err := h.parentPlan("")
		if err != nil {
			t.Fatal(err)
		}
		wantBase := "/sys/fs/cgroup/" + h.key()
		if h.key() == "memory" {
			wantBase += "/process_api/05f823e5"
		}
		if base != wantBase || !slices.Equal(rel, []string{"pycage"}) {
			t.Errorf("%s: parent plan %s %v, want %s [pycage]", h.key(), base, rel, wantBase)
		}
		base, rel, _ = h.parentPlan("/a/b")
		if base != "/sys/fs/cgroup/"+h.key() || !slices.Equal(rel, []string{"a", "b"}) {
			t.Errorf("%s: absolute plan %s %v", h.key(), base, rel)
		}
		base, rel, _ = h.parentPlan("x/y")
		if !strings.HasPrefix(base, wantBase) || !slices.Equal(rel, []string{"x", "y"}) {
			t.Errorf("%s: relative plan %s %v", h.key(), base, rel)
		}
	}
	base, rel, _ := v2.parentPlan("")
	if base != "/sys/fs/cgroup/unified" || !slices.Equal(rel, []string{"pycage"}) {
		t.Errorf("unified plan %s %v", base, rel)
	}
}

func TestDetectPureV2Sample(t *testing.T) {
	v1, v2 := detect(pureV2Mountinfo, pureV2Cgroup)
	if len(v1) != 0 {
		t.Fatalf("v1 on a pure v2 host: %v", hierKeys(v1))
	}
	if v2 == nil || v2.mount != "/sys/fs/cgroup" {
		t.Fatalf("unified = %+v", v2)
	}
	base, rel, err := v2.parentPlan("")
	if err != nil {
		t.Fatal(err)
	}
	if base != "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/pycage.service" || rel[0] != "pycage" {
		t.Errorf("plan %s %v", base, rel)
	}
	base, rel, _ = v2.parentPlan("/pycage.slice/runs")
	if base != "/sys/fs/cgroup" || !slices.Equal(rel, []string{"pycage.slice", "runs"}) {
		t.Errorf("absolute plan %s %v", base, rel)
	}
}

func TestDetectContainerSample(t *testing.T) {
	v1, v2 := detect(containerMountinfo, containerCgroup)
	if v2 != nil {
		t.Fatalf("unified found: %+v", v2)
	}
	if got := hierKeys(v1); !slices.Equal(got, []string{"memory", "cpu,cpuacct", "pids"}) {
		t.Fatalf("v1 = %v", got)
	}
	for _, h := range v1 {
		d, err := h.dirOf(h.own)
		if err != nil {
			t.Fatal(err)
		}
		want := h.mount
		if h.key() == "cpu,cpuacct" {
			want += "/sub"
		}
		if d != want {
			t.Errorf("%s: own dir %s, want %s", h.key(), d, want)
		}
		if ro := h.key() != "pids"; h.readOnly != ro {
			t.Errorf("%s: readOnly %v", h.key(), h.readOnly)
		}
		// An absolute parent inside the visible part is mapped.
		base, rel, _ := h.parentPlan("/docker/abc/pycage")
		if base != h.mount || !slices.Equal(rel, []string{"pycage"}) {
			t.Errorf("%s: absolute plan %s %v", h.key(), base, rel)
		}
	}
	if _, err := (&hierInfo{mount: "/m", mountRoot: "/docker/abc"}).dirOf("/other"); err == nil {
		t.Error("dirOf outside the mounted part did not fail")
	}
}

func TestMountinfoEscapes(t *testing.T) {
	me := parseMountinfo(`40 30 0:37 / /mnt/cg\040two rw - cgroup2 cgroup2 rw` + "\n")
	if len(me) != 1 || me[0].mountPoint != "/mnt/cg two" {
		t.Fatalf("%+v", me)
	}
}

func TestValidParent(t *testing.T) {
	for _, p := range []string{"", "pycage", "/pycage", "a/b", "/a/b"} {
		if err := validParent(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range []string{"/", "a/../b", "/a//b", "./a", "a/"} {
		if err := validParent(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestParseFiles(t *testing.T) {
	cpuStat := "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"
	if d, err := parseCPUStatUsage(cpuStat); err != nil || d != 1234567*time.Microsecond {
		t.Errorf("cpu.stat: %v %v", d, err)
	}
	if _, err := parseCPUStatUsage("user_usec 5\n"); err == nil {
		t.Error("cpu.stat without usage_usec accepted")
	}
	// A key that is a prefix of another must not match it.
	if v, ok := flatKey("usage_usec_x 1\nusage_usec 7\n", "usage_usec"); !ok || v != 7 {
		t.Errorf("flatKey: %d %v", v, ok)
	}
	memEvents := "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"
	if oom, max := parseMemoryEvents(memEvents); oom != 1 || max != 12 {
		t.Errorf("memory.events: %d %d", oom, max)
	}
	oomControl := "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"
	if oom, _ := parseMemoryEvents(oomControl); oom != 3 {
		t.Errorf("memory.oom_control: %d", oom)
	}
	if n := parsePidsEvents("max 5\n"); n != 5 {
		t.Errorf("pids.events: %d", n)
	}
	if n := parsePidsEvents("max 0\nmax.imposed 0\n"); n != 0 {
		t.Errorf("pids.events: %d", n)
	}
	if v, err := parseSingleInt("33554432\n"); err != nil || v != 33554432 {
		t.Errorf("memory.peak: %d %v", v, err)
	}
	if v, err := parseSingleInt("max\n"); err != nil || v != -1 {
		t.Errorf("max: %d %v", v, err)
	}
	if p := parseProcs("12\n345\n\n"); !slices.Equal(p, []int{12, 345}) {
		t.Errorf("procs: %v", p)
	}
	stat := "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615"
	if st, err := parseStatStartTime(stat); err != nil || st != 987654 {
		t.Errorf("stat starttime: %d %v", st, err)
	}
}

func TestRunNames(t *testing.T) {
	o := runOwner{pidns: 4026531836, pid: 4242, starttime: 987654}
	n := runName(ownerTag(o), 7)
	if n != "run-4026531836-4242-987654-7" {
		t.Fatal(n)
	}
	if got, ok := parseRunName(n); !ok || got != o {
		t.Fatalf("%+v %v", got, ok)
	}
	for _, bad := range []string{"run-1-2", "run-a-1-2-3", "runs-1-2-3-4", "run-1-0-3-4", "pycage"} {
		if _, ok := parseRunName(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestOpErrorFormat(t *testing.T) {
	err := error(&opError{"write", "/sys/fs/cgroup/pids/pycage/run-1/pids.max", syscall.EINVAL})
	if err.Error() != "write /sys/fs/cgroup/pids/pycage/run-1/pids.max: EINVAL" {
		t.Fatal(err)
	}
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatal("errors.Is lost the errno")
	}
}
