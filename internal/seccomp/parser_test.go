package seccomp

import (
	"strings"
	"testing"
)

// Policies in the forms people use with nsjail and kafel.
func TestParseGood(t *testing.T) {
	good := []string{
		``,
		`DEFAULT ALLOW`,
		`POLICY a { ALLOW { read, write } } USE a DEFAULT KILL`,
		`POLICY a { ALLOW { write, execve, brk, access, mmap, open, newfstat, close, read, mprotect, arch_prctl, munmap, getuid, getgid, getpid, rt_sigaction, geteuid, getppid, getcwd, getegid, ioctl, fcntl, newstat, clone, wait4, rt_sigreturn, exit_group } } USE a DEFAULT KILL`,
		"// comment\n/* block\ncomment */ # shell comment\nALLOW { read } // trailing\n#! also a comment\nDEFAULT ERRNO(1)",
		`#define MYCONST 123
		 #define OTHER MYCONST
		 #define MYCONST 123
		 ERRNO(MYCONST) { read { fd == OTHER } }`,
		`POLICY p {} USE p DEFAULT LOG`,
		`POLICY p { ALLOW {} } USE p`,
		`ALLOW { read, } DEFAULT KILL_PROCESS`,
		`ALLOW { read {} } DEFAULT KILL_THREAD`,
		`ALLOW { write(fd, buf, count) { fd == 1 } }`,
		`ALLOW { write() }`,
		`ALLOW { write { fd == 1, fd == 2 } }`,
		`ALLOW { clone { (clone_flags & CLONE_NEWUSER) == 0 } }`,
		`ALLOW { clone { (flags & (CLONE_NEWUSER | CLONE_NEWNS)) == 0 && !(flags & CLONE_NEWPID != 0) } }`,
		`ALLOW { mmap { (prot & PROT_EXEC) == 0 }, mprotect { (prot & PROT_EXEC) == 0 } }`,
		`ALLOW { socket { family == AF_UNIX || (family == AF_INET && type == SOCK_STREAM) } }`,
		`ALLOW { ioctl { cmd != TIOCSTI } }`,
		`ALLOW { SYSCALL[1], SYSCALL[0x2] { arg0 < 3 } }`,
		`#define mysyscall 500
		 ALLOW { mysyscall }`,
		`ALLOW { read { fd <= 0b11 && fd >= 00 && fd > -1 || fd < 0777 } }`,
		`ALLOW { kill(pid, sig) { pid == sig } }`,
		`ALLOW { write { ((fd)) == (1) } }`,
		`ALLOW { write { (fd == 1, fd == 2) && count < 10 } }`,
		`ALLOW { umount, newuname, newlstat, sendfile64, sysctl }`,
		"# define X 1\n#\tdefine Y 2\nERRNO(X) { read { fd == Y } }",
		`TRAP(0) { ptrace } LOG { read } DENY { mount } ERRNO(EPERM) { umount2 }, ALLOW { write }`,
	}
	for _, src := range good {
		for _, a := range Arches() {
			if _, err := CompileArch("good.kafel", src, a, Options{}); err != nil {
				t.Errorf("%s: %q: %v", a, src, err)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"ALLOW { foo }", `bad.kafel:1:9: unknown syscall "foo"`},
		{"ALLOW {\n  read,\n  foo_bar\n}", `bad.kafel:3:3: unknown syscall "foo_bar"`},
		{"ALLOW { read\n  write }", `bad.kafel:2:3: expected "," or "}" after a syscall rule, found "write"`},
		{"ALLOW { read }\nUSE nothere", `bad.kafel:2:5: undefined policy "nothere" (a policy must be defined before it is used)`},
		{"POLICY a { USE b }\nPOLICY b {}", `bad.kafel:1:16: undefined policy "b" (a policy must be defined before it is used)`},
		{"POLICY a { USE a }", `bad.kafel:1:16: undefined policy "a" (a policy must be defined before it is used)`},
		{"POLICY a {}\nPOLICY a {}", `bad.kafel:2:8: redefinition of policy "a"`},
		{"DEFAULT KILL\nDEFAULT ALLOW", `bad.kafel:2:9: DEFAULT is given twice`},
		{"DEFAULT FOO", `bad.kafel:1:9: unknown action "FOO" (expected ALLOW, LOG, ERRNO(n), KILL, KILL_PROCESS, KILL_THREAD, TRAP(n))`},
		{"TRACE(1) { read }", `bad.kafel:1:1: TRACE is not supported: pycage runs no tracer, so a traced syscall would only fail with ENOSYS (use ERRNO(38))`},
		{"USER_NOTIF { read }", `bad.kafel:1:1: USER_NOTIF is not supported: pycage runs no seccomp supervisor`},
		{"ERRNO(4096) { read }", `bad.kafel:1:1: ERRNO value 4096 out of range (0-4095)`},
		{"TRAP(65536) { read }", `bad.kafel:1:1: TRAP value 65536 out of range (0-65535)`},
		{"ERRNO(NOPE) { read }", `bad.kafel:1:7: unknown constant "NOPE"`},
		{"ERRNO 1 { read }", `bad.kafel:1:7: expected "(" after ERRNO, found number 1`},
		{"ALLOW { write { fd = 1 } }", `bad.kafel:1:20: unexpected "=" (use "==" to compare)`},
		{"ALLOW { write { fd == 1 }", `bad.kafel:1:26: expected "," or "}" after a syscall rule, found end of input`},
		{"ALLOW { write { fd } }", `bad.kafel:1:17: expected a comparison (==, !=, <, <=, >, >=), found a value`},
		{"ALLOW { write { fdd == 1 } }", `bad.kafel:1:17: unknown argument or constant "fdd" for syscall write (arguments: fd, buf, count)`},
		{"ALLOW { write(a, b) { fd == 1 } }", `bad.kafel:1:23: unknown argument or constant "fd" for syscall write (arguments: a, b)`},
		{"ALLOW { write(a, a) }", `bad.kafel:1:18: redefinition of argument "a"`},
		{"ALLOW { write(a, b, c, d, e, f, g) }", `bad.kafel:1:33: too many arguments for syscall write (at most 6)`},
		{"ALLOW { getpid { x == 1 } }", `bad.kafel:1:18: unknown argument or constant "x": syscall getpid has no known argument names; declare them as getpid(a, b, ...) or use arg0..arg5`},
		{"ALLOW { write { fd == 1 == 2 } }", `bad.kafel:1:25: comparisons cannot be chained; use && between them`},
		{"ALLOW { write { (fd == 1) & 2 == 0 } }", `bad.kafel:1:17: expected a value, found a condition`},
		{"ALLOW { write { fd == 1 && } }", `bad.kafel:1:28: expected an argument name, a constant, a number or "(", found "}"`},
		{"ALLOW { write { (fd == 1 } }", `bad.kafel:1:26: expected ")", found "}"`},
		{"ALLOW { write { fd == 0x } }", `bad.kafel:1:23: invalid number "0x"`},
		{"ALLOW { write { fd == 99999999999999999999 } }", `bad.kafel:1:23: number "99999999999999999999" out of range (64 bits)`},
		{"ALLOW { write { fd == 09 } }", `bad.kafel:1:23: invalid number "09"`},
		{"ALLOW { read } /* never closed", `bad.kafel:1:16: unterminated comment`},
		{"#include \"x.policy\"", `bad.kafel:1:1: #include is not supported: put the included policy into the same text`},
		{"#defne X 1", `bad.kafel:1:1: unknown directive "#defne" (only #define is supported; use // for comments)`},
		{"#define X 1\n#define X 2", `bad.kafel:2:1: redefinition of constant "X" with a different value (was 0x1, now 0x2)`},
		{"#define X", `bad.kafel:1:10: expected a number after #define X, found end of input`},
		{"#define ALLOW 1", `bad.kafel:1:9: cannot #define keyword ALLOW`},
		{"read", `bad.kafel:1:1: expected POLICY, USE, DEFAULT, #define or an action (ALLOW, ERRNO(n), KILL, ...), found "read"`},
		{"POLICY a { read }", `bad.kafel:1:12: expected USE, an action (ALLOW, ERRNO(n), KILL, ...) or "}" in policy a, found "read"`},
		{"ALLOW { SYSCALL[0x100000000] }", `bad.kafel:1:9: syscall number 4294967296 out of range`},
		{"ALLOW { SYSCALL[0x40000001] }", `bad.kafel:1:9: syscall number 0x40000001 has the x32 bit set; x32 syscalls are always refused`},
		{"ALLOW { SYSCALL(1) }", `bad.kafel:1:16: expected "[" after SYSCALL, found "("`},
		{"ALLOW { ALLOW }", `bad.kafel:1:9: expected a syscall name, found keyword ALLOW`},
		{"ALLOW { read ~ }", `bad.kafel:1:14: unexpected character '~'`},
		{"ALLOW { read }\n\tÄ", `bad.kafel:2:2: unexpected character 'Ä'`},
	}
	for _, c := range cases {
		_, err := CompileArch("bad.kafel", c.src, AMD64, Options{})
		if err == nil {
			t.Errorf("%q: compiled, want error %s", c.src, c.want)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("%q:\n got: %v\nwant: %s", c.src, err, c.want)
		}
	}
}

func TestErrorPosition(t *testing.T) {
	src := strings.Repeat("// line\n", 11) + "ALLOW {\n    foo }"
	_, err := Compile("policy.kafel", src, Options{})
	if err == nil || err.Error() != `policy.kafel:13:5: unknown syscall "foo"` {
		t.Fatalf("got %v", err)
	}
	var pe *Error
	if e, ok := err.(*Error); ok {
		pe = e
	}
	if pe == nil || pe.Line != 13 || pe.Col != 5 {
		t.Fatalf("error is not a positioned *Error: %#v", err)
	}
}

// A syscall that only exists on another architecture is skipped, not an
// error: the same policy compiles for amd64 and arm64.
func TestPortableNames(t *testing.T) {
	src := `ERRNO(5) { open, stat, arch_prctl } ALLOW { openat } DEFAULT KILL`
	prog, err := parse("p", src, ARM64)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(prog.skipped, ","); got != "arch_prctl,open,stat" {
		t.Errorf("skipped on arm64: %s", got)
	}
	if len(prog.rules) != 1 {
		t.Errorf("rules on arm64: %d", len(prog.rules))
	}
	prog, err = parse("p", src, AMD64)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.skipped) != 0 || len(prog.rules) != 4 {
		t.Errorf("amd64: skipped %v, %d rules", prog.skipped, len(prog.rules))
	}
}

func TestArgSizes(t *testing.T) {
	prog, err := parse("p", `ALLOW { ioctl { cmd == 1 }, lseek { offset == 1 }, clone { flags == 1 }, ioctl(a, b) { b == 1 }, SYSCALL[16] { arg1 == 1 }, SYSCALL[999] { arg1 == 1 } }`, AMD64)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, true, true, false}
	for i, r := range prog.rules {
		if r.cond.width32 != want[i] {
			t.Errorf("rule %d: width32 = %v, want %v", i, r.cond.width32, want[i])
		}
	}
}
