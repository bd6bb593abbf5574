package seccomp

import (
	"fmt"
	"sort"
	"strings"
)

// Seccomp return values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000

	maxErrno = 4095 // the kernel clamps larger values to MAX_ERRNO
)

// actionString renders a seccomp return value in kafel syntax.
func actionString(a uint32) string {
	switch {
	case a == retAllow:
		return "ALLOW"
	case a == retLog:
		return "LOG"
	case a == retKillProcess:
		return "KILL_PROCESS"
	case a == retKillThread:
		return "KILL_THREAD"
	case a&0xffff0000 == retErrno:
		return fmt.Sprintf("ERRNO(%d)", a&0xffff)
	case a&0xffff0000 == retTrap:
		return fmt.Sprintf("TRAP(%d)", a&0xffff)
	}
	return fmt.Sprintf("0x%08x", a)
}

// rule is one resolved syscall rule: when syscall nr is called and cond
// holds (nil: always), the filter returns action.
type rule struct {
	nr     uint32
	cond   *cexpr
	action uint32
}

// program is a parsed and resolved policy for one architecture.
type program struct {
	rules      []rule // the top-level policy, USE statements expanded, in order
	def        uint32 // DEFAULT action
	defSet     bool
	skipped    []string // syscalls named by the policy that do not exist on this arch
	policyDefs []string
}

type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpNames = map[cmpOp]string{opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">="}

type cexprKind int

const (
	cTrue cexprKind = iota
	cFalse
	cNot
	cAnd
	cOr
	cCmp
)

// cexpr is a resolved boolean condition on the syscall's arguments.
type cexpr struct {
	kind    cexprKind
	l, r    *cexpr
	op      cmpOp
	a, b    *vexpr
	width32 bool // compare the low 32 bits only (every argument involved is 32-bit)
}

type vexprKind int

const (
	vConst vexprKind = iota
	vArg
	vAnd
	vOr
)

// vexpr is a 64-bit value: a constant, a syscall argument or a bitwise
// combination of them.
type vexpr struct {
	kind vexprKind
	c    uint64
	arg  int // argument index, for vArg
	size int // 4 or 8, for vArg
	l, r *vexpr
}

// parser parses a kafel policy and resolves it for one architecture in a
// single pass (kafel's own grammar is also "define before use").
type parser struct {
	file   string
	arch   Arch
	ai     *archInfo
	toks   []token
	i      int
	consts map[string]uint64
	pols   map[string][]rule
	prog   program

	// the syscall whose condition is being parsed
	sysName  string
	sysArgs  []argSpec
	declared bool
	skipped  map[string]bool
}

type parseError struct{ err *Error }

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(at pos, format string, args ...any) {
	panic(parseError{&Error{File: p.file, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) expect(k tokKind, what string) token {
	t := p.next()
	if t.kind != k {
		p.fail(t.pos, "expected %s%s, found %s", tokNames[k], what, t)
	}
	return t
}

func isKeyword(s string) bool {
	switch s {
	case "POLICY", "USE", "DEFAULT", "SYSCALL":
		return true
	}
	return isActionWord(s)
}

func isActionWord(s string) bool {
	switch s {
	case "ALLOW", "LOG", "KILL", "DENY", "KILL_PROCESS", "KILL_THREAD", "ERRNO", "TRAP", "TRACE", "USER_NOTIF":
		return true
	}
	return false
}

// parse parses and resolves a whole policy text.
func parse(file, src string, arch Arch) (prog *program, err error) {
	ai, err := lookupArch(arch)
	if err != nil {
		return nil, err
	}
	toks, err := tokenize(file, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: file, arch: arch, ai: ai, toks: toks, consts: map[string]uint64{},
		pols: map[string][]rule{}, skipped: map[string]bool{}}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(parseError)
			if !ok {
				panic(r)
			}
			prog, err = nil, pe.err
		}
	}()
	p.parseFile()
	for s := range p.skipped {
		p.prog.skipped = append(p.prog.skipped, s)
	}
	sort.Strings(p.prog.skipped)
	return &p.prog, nil
}

func (p *parser) parseFile() {
	for {
		t := p.peek()
		switch {
		case t.kind == tEOF:
			return
		case t.kind == tDefine:
			p.parseDefine()
		case t.kind == tIdent && t.text == "POLICY":
			p.parsePolicy()
		case t.kind == tIdent && t.text == "DEFAULT":
			p.next()
			at := p.peek().pos
			a := p.parseAction()
			if p.prog.defSet {
				p.fail(at, "DEFAULT is given twice")
			}
			p.prog.def, p.prog.defSet = a, true
		case t.kind == tIdent && (t.text == "USE" || isActionWord(t.text)):
			p.prog.rules = append(p.prog.rules, p.parseEntry()...)
			if p.peek().kind == tComma {
				p.next()
			}
		default:
			p.fail(t.pos, "expected POLICY, USE, DEFAULT, #define or an action (ALLOW, ERRNO(n), KILL, ...), found %s", t)
		}
	}
}

func (p *parser) parseDefine() {
	d := p.next()
	name := p.expect(tIdent, " after #define")
	if isKeyword(name.text) {
		p.fail(name.pos, "cannot #define keyword %s", name.text)
	}
	val := p.next()
	var v uint64
	switch {
	case val.kind == tNumber:
		v = val.num
	case val.kind == tIdent:
		var ok bool
		if v, ok = p.lookupConst(val.text); !ok {
			p.fail(val.pos, "unknown constant %q in #define", val.text)
		}
	default:
		p.fail(val.pos, "expected a number after #define %s, found %s", name.text, val)
	}
	if old, ok := p.consts[name.text]; ok && old != v {
		p.fail(d.pos, "redefinition of constant %q with a different value (was %#x, now %#x)", name.text, old, v)
	}
	p.consts[name.text] = v
}

func (p *parser) lookupConst(name string) (uint64, bool) {
	if v, ok := p.consts[name]; ok {
		return v, true
	}
	return builtinConst(p.arch, name)
}

func (p *parser) parsePolicy() {
	p.next() // POLICY
	name := p.expect(tIdent, " (policy name) after POLICY")
	if isKeyword(name.text) {
		p.fail(name.pos, "keyword %s cannot name a policy", name.text)
	}
	if _, ok := p.pols[name.text]; ok {
		p.fail(name.pos, "redefinition of policy %q", name.text)
	}
	p.expect(tLBrace, " after POLICY "+name.text)
	var rules []rule
	for p.peek().kind != tRBrace {
		t := p.peek()
		if t.kind != tIdent || !(t.text == "USE" || isActionWord(t.text)) {
			p.fail(t.pos, "expected USE, an action (ALLOW, ERRNO(n), KILL, ...) or \"}\" in policy %s, found %s", name.text, t)
		}
		rules = append(rules, p.parseEntry()...)
		if p.peek().kind == tComma {
			p.next()
		}
	}
	p.next()
	p.pols[name.text] = rules
	p.prog.policyDefs = append(p.prog.policyDefs, name.text)
}

// parseEntry parses a USE statement or an action block.
func (p *parser) parseEntry() []rule {
	t := p.peek()
	if t.text == "USE" {
		p.next()
		name := p.expect(tIdent, " (policy name) after USE")
		rules, ok := p.pols[name.text]
		if !ok {
			p.fail(name.pos, "undefined policy %q (a policy must be defined before it is used)", name.text)
		}
		return append([]rule(nil), rules...)
	}
	action := p.parseAction()
	p.expect(tLBrace, " after action "+actionString(action))
	var rules []rule
	for p.peek().kind != tRBrace {
		rules = append(rules, p.parseFilter(action)...)
		switch n := p.peek(); n.kind {
		case tComma:
			p.next()
		case tRBrace:
		default:
			p.fail(n.pos, "expected \",\" or \"}\" after a syscall rule, found %s", n)
		}
	}
	p.next()
	return rules
}

func (p *parser) parseAction() uint32 {
	t := p.next()
	if t.kind != tIdent {
		p.fail(t.pos, "expected an action (ALLOW, LOG, ERRNO(n), KILL, KILL_PROCESS, KILL_THREAD, TRAP(n)), found %s", t)
	}
	switch t.text {
	case "ALLOW":
		return retAllow
	case "LOG":
		return retLog
	case "KILL", "DENY", "KILL_PROCESS":
		// kafel's KILL is SECCOMP_RET_KILL (the thread); pycage kills the
		// whole process, so a multi-threaded program cannot linger.
		return retKillProcess
	case "KILL_THREAD":
		return retKillThread
	case "ERRNO", "TRAP":
		v := p.parseActionArg(t.text)
		if t.text == "ERRNO" {
			if v > maxErrno {
				p.fail(t.pos, "ERRNO value %d out of range (0-%d)", v, maxErrno)
			}
			return retErrno | uint32(v)
		}
		if v > 0xffff {
			p.fail(t.pos, "TRAP value %d out of range (0-65535)", v)
		}
		return retTrap | uint32(v)
	case "TRACE":
		p.fail(t.pos, "TRACE is not supported: pycage runs no tracer, so a traced syscall would only fail with ENOSYS (use ERRNO(38))")
	case "USER_NOTIF":
		p.fail(t.pos, "USER_NOTIF is not supported: pycage runs no seccomp supervisor")
	}
	p.fail(t.pos, "unknown action %q (expected ALLOW, LOG, ERRNO(n), KILL, KILL_PROCESS, KILL_THREAD, TRAP(n))", t.text)
	return 0
}

func (p *parser) parseActionArg(action string) uint64 {
	p.expect(tLParen, " after "+action)
	t := p.next()
	var v uint64
	switch t.kind {
	case tNumber:
		v = t.num
	case tIdent:
		var ok bool
		if v, ok = p.lookupConst(t.text); !ok {
			p.fail(t.pos, "unknown constant %q", t.text)
		}
	default:
		p.fail(t.pos, "expected a number in %s(...), found %s", action, t)
	}
	p.expect(tRParen, " after "+action+"("+t.text)
	return v
}

// parseFilter parses `name`, `name(a, b)`, `name { cond }`,
// `SYSCALL[n] { cond }` and returns its rule (none when the syscall does
// not exist on this architecture).
func (p *parser) parseFilter(action uint32) []rule {
	t := p.next()
	if t.kind != tIdent {
		p.fail(t.pos, "expected a syscall name, found %s", t)
	}
	var nr uint64
	known := true
	name := t.text
	switch {
	case t.text == "SYSCALL":
		p.expect(tLBrack, " after SYSCALL")
		n := p.next()
		switch n.kind {
		case tNumber:
			nr = n.num
		case tIdent:
			var ok bool
			if nr, ok = p.lookupConst(n.text); !ok {
				p.fail(n.pos, "unknown constant %q", n.text)
			}
		default:
			p.fail(n.pos, "expected a syscall number in SYSCALL[...], found %s", n)
		}
		p.expect(tRBrack, " after SYSCALL["+n.text)
		name = fmt.Sprintf("SYSCALL[%d]", nr)
		if s := p.ai.names[uint32(nr)]; s != "" && nr <= 0xffffffff {
			name = s
		}
	case isKeyword(t.text):
		p.fail(t.pos, "expected a syscall name, found keyword %s", t.text)
	default:
		if v, ok := p.consts[t.text]; ok {
			nr = v // kafel: a #define'd constant names a custom syscall number
			break
		}
		n, ok := SyscallNumber(p.arch, t.text)
		if !ok {
			if !knownOnSomeArch(t.text) {
				p.fail(t.pos, "unknown syscall %q", t.text)
			}
			known = false
			p.skipped[t.text] = true
		}
		nr = uint64(n)
	}
	if nr > 0xffffffff {
		p.fail(t.pos, "syscall number %d out of range", nr)
	}
	if p.ai.x32Bit && nr&x32SyscallBit != 0 {
		p.fail(t.pos, "syscall number %#x has the x32 bit set; x32 syscalls are always refused", nr)
	}

	p.sysName = name
	p.sysArgs = syscallArgs(p.arch, name)
	p.declared = false
	if p.peek().kind == tLParen {
		p.parseArgDecls()
	}
	var cond *cexpr
	if p.peek().kind == tLBrace {
		p.next()
		if p.peek().kind != tRBrace {
			cond = p.parseCondList()
		}
		p.expect(tRBrace, " after the condition of "+name)
	}
	if !known {
		return nil
	}
	cond = simplify(cond)
	if cond != nil && cond.kind == cFalse {
		return nil // never matches
	}
	if cond != nil && cond.kind == cTrue {
		cond = nil
	}
	return []rule{{nr: uint32(nr), cond: cond, action: action}}
}

// parseArgDecls parses the argument names of `name(a, b, c)`. The sizes
// stay those of the syscall's known arguments (see argTable), so renaming
// an argument never widens a 32-bit comparison.
func (p *parser) parseArgDecls() {
	p.next() // (
	known := p.sysArgs
	var args []argSpec
	seen := map[string]bool{}
	for p.peek().kind != tRParen {
		if len(args) > 0 {
			p.expect(tComma, " between argument names")
		}
		n := p.expect(tIdent, " (argument name)")
		if seen[n.text] {
			p.fail(n.pos, "redefinition of argument %q", n.text)
		}
		if len(args) == 6 {
			p.fail(n.pos, "too many arguments for syscall %s (at most 6)", p.sysName)
		}
		seen[n.text] = true
		size := 8
		if len(args) < len(known) {
			size = known[len(args)].size
		}
		args = append(args, argSpec{names: []string{n.text}, size: size})
	}
	p.next()
	p.sysArgs = args
	p.declared = true
}

// parseCondList: or_expr ("," or_expr)* — a comma is a low-precedence "||".
func (p *parser) parseCondList() *cexpr {
	e := p.parseBool()
	for p.peek().kind == tComma {
		p.next()
		e = &cexpr{kind: cOr, l: e, r: p.parseBool()}
	}
	return e
}

// operand is what the expression parser produces before it knows whether
// a parenthesized expression is a condition or a value.
type operand struct {
	b   *cexpr
	v   *vexpr
	pos pos
}

func (p *parser) parseBool() *cexpr {
	o := p.parseOr()
	return p.asBool(o)
}

func (p *parser) asBool(o operand) *cexpr {
	if o.b == nil {
		p.fail(o.pos, "expected a comparison (==, !=, <, <=, >, >=), found a value")
	}
	return o.b
}

func (p *parser) asValue(o operand) *vexpr {
	if o.v == nil {
		p.fail(o.pos, "expected a value, found a condition")
	}
	return o.v
}

func (p *parser) parseOr() operand {
	l := p.parseAnd()
	for p.peek().kind == tLogOr {
		p.next()
		r := p.parseAnd()
		l = operand{b: &cexpr{kind: cOr, l: p.asBool(l), r: p.asBool(r)}, pos: l.pos}
	}
	return l
}

func (p *parser) parseAnd() operand {
	l := p.parseNot()
	for p.peek().kind == tLogAnd {
		p.next()
		r := p.parseNot()
		l = operand{b: &cexpr{kind: cAnd, l: p.asBool(l), r: p.asBool(r)}, pos: l.pos}
	}
	return l
}

func (p *parser) parseNot() operand {
	if t := p.peek(); t.kind == tNot {
		p.next()
		o := p.parseNot()
		return operand{b: &cexpr{kind: cNot, l: p.asBool(o)}, pos: t.pos}
	}
	return p.parseCmp()
}

func (p *parser) parseCmp() operand {
	l := p.parseBitOr()
	var op cmpOp
	switch p.peek().kind {
	case tEq:
		op = opEq
	case tNe:
		op = opNe
	case tLt:
		op = opLt
	case tLe:
		op = opLe
	case tGt:
		op = opGt
	case tGe:
		op = opGe
	default:
		return l
	}
	p.next()
	r := p.parseBitOr()
	a, b := p.asValue(l), p.asValue(r)
	if n := p.peek(); n.kind >= tEq && n.kind <= tGe {
		p.fail(n.pos, "comparisons cannot be chained; use && between them")
	}
	return operand{b: &cexpr{kind: cCmp, op: op, a: a, b: b, width32: width32(a, b)}, pos: l.pos}
}

func (p *parser) parseBitOr() operand {
	l := p.parseBitAnd()
	for p.peek().kind == tOr {
		p.next()
		r := p.parseBitAnd()
		l = operand{v: &vexpr{kind: vOr, l: p.asValue(l), r: p.asValue(r)}, pos: l.pos}
	}
	return l
}

func (p *parser) parseBitAnd() operand {
	l := p.parsePrimary()
	for p.peek().kind == tAnd {
		p.next()
		r := p.parsePrimary()
		l = operand{v: &vexpr{kind: vAnd, l: p.asValue(l), r: p.asValue(r)}, pos: l.pos}
	}
	return l
}

func (p *parser) parsePrimary() operand {
	t := p.next()
	switch t.kind {
	case tNumber:
		return operand{v: &vexpr{kind: vConst, c: t.num}, pos: t.pos}
	case tIdent:
		return operand{v: p.resolveIdent(t), pos: t.pos}
	case tLParen:
		// Either a parenthesized condition (which may use "," as "||")
		// or a parenthesized value such as (flags & CLONE_NEWUSER).
		o := p.parseOr()
		if o.b != nil {
			for p.peek().kind == tComma {
				p.next()
				o.b = &cexpr{kind: cOr, l: o.b, r: p.parseBool()}
			}
		}
		p.expect(tRParen, "")
		o.pos = t.pos
		return o
	}
	p.fail(t.pos, "expected an argument name, a constant, a number or \"(\", found %s", t)
	return operand{}
}

// resolveIdent resolves a name in a condition: a #define'd constant, an
// argument of the syscall (declared in the rule or known for it), a
// builtin constant (AF_INET, CLONE_NEWUSER, ...) or arg0..arg5.
func (p *parser) resolveIdent(t token) *vexpr {
	if v, ok := p.consts[t.text]; ok {
		return &vexpr{kind: vConst, c: v}
	}
	for i, a := range p.sysArgs {
		for _, n := range a.names {
			if n == t.text {
				return &vexpr{kind: vArg, arg: i, size: a.size}
			}
		}
	}
	if v, ok := builtinConst(p.arch, t.text); ok {
		return &vexpr{kind: vConst, c: v}
	}
	if len(t.text) == 4 && strings.HasPrefix(t.text, "arg") && t.text[3] >= '0' && t.text[3] <= '5' {
		i := int(t.text[3] - '0')
		size := 8
		if known := syscallArgs(p.arch, p.sysName); i < len(known) {
			size = known[i].size
		}
		return &vexpr{kind: vArg, arg: i, size: size}
	}
	if p.declared || len(p.sysArgs) > 0 {
		p.fail(t.pos, "unknown argument or constant %q for syscall %s (arguments: %s)", t.text, p.sysName, argList(p.sysArgs))
	}
	p.fail(t.pos, "unknown argument or constant %q: syscall %s has no known argument names; declare them as %s(a, b, ...) or use arg0..arg5", t.text, p.sysName, p.sysName)
	return nil
}

func argList(args []argSpec) string {
	var s []string
	for _, a := range args {
		s = append(s, strings.Join(a.names, "|"))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// width32 reports whether a comparison involves only 32-bit arguments.
func width32(a, b *vexpr) bool {
	n4, n8 := 0, 0
	var walk func(v *vexpr)
	walk = func(v *vexpr) {
		switch v.kind {
		case vArg:
			if v.size == 4 {
				n4++
			} else {
				n8++
			}
		case vAnd, vOr:
			walk(v.l)
			walk(v.r)
		}
	}
	walk(a)
	walk(b)
	return n4 > 0 && n8 == 0
}
