package seccomp

import (
	"fmt"
	"sort"

	"golang.org/x/net/bpf"
)

// Layout of struct seccomp_data (linux/seccomp.h); both supported
// architectures are little-endian, so an argument's low word comes first.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16

	maxInsns   = 4096 // BPF_MAXINSNS
	numScratch = 16   // BPF_MEMWORDS
)

func argOffset(arg int, hi bool) uint32 {
	off := uint32(offArgs + 8*arg)
	if hi {
		off += 4
	}
	return off
}

// builder emits a BPF program backwards, from its last instruction to its
// first. Classic BPF only jumps forward, so every jump target already
// exists when the jump is emitted and its distance is known; a conditional
// jump farther than 255 instructions goes through an unconditional "ja"
// trampoline (32-bit offset) emitted right after it.
//
// A label is an index into rev, the reversed program.
type builder struct {
	rev  []bpf.RawInstruction
	rets map[uint32]int
	err  error
}

func (b *builder) emit(ins bpf.Instruction) int {
	raw, err := ins.Assemble()
	if err != nil && b.err == nil {
		b.err = err
	}
	b.rev = append(b.rev, raw)
	return len(b.rev) - 1
}

// dist is the forward distance from the next emitted instruction to label.
func (b *builder) dist(label int) int { return len(b.rev) - label - 1 }

// ret returns a label of "ret action", reusing a nearby one.
func (b *builder) ret(action uint32) int {
	if l, ok := b.rets[action]; ok && b.dist(l) < 200 {
		return l
	}
	l := b.emit(bpf.RetConstant{Val: action})
	b.rets[action] = l
	return l
}

func (b *builder) reach(label int) int {
	if b.dist(label) > 255 {
		return b.emit(bpf.Jump{Skip: uint32(b.dist(label))})
	}
	return label
}

// jump emits a conditional jump on A against k (or X when useX).
func (b *builder) jump(cond bpf.JumpTest, k uint32, useX bool, t, f int) int {
	if t == f {
		return t
	}
	t = b.reach(t)
	f = b.reach(f)
	t = b.reach(t) // f's trampoline may have pushed t out of range
	if useX {
		return b.emit(bpf.JumpIfX{Cond: cond, SkipTrue: uint8(b.dist(t)), SkipFalse: uint8(b.dist(f))})
	}
	return b.emit(bpf.JumpIf{Cond: cond, Val: k, SkipTrue: uint8(b.dist(t)), SkipFalse: uint8(b.dist(f))})
}

// seq emits straight-line code that continues at next and returns the
// label of its first instruction.
func (b *builder) seq(code []bpf.Instruction, next int) int {
	if len(code) == 0 {
		return next
	}
	if b.dist(next) != 0 {
		b.emit(bpf.Jump{Skip: uint32(b.dist(next))})
	}
	l := next
	for i := len(code) - 1; i >= 0; i-- {
		l = b.emit(code[i])
	}
	return l
}

// A word is one 32-bit half of a value expression.
type wordKind int

const (
	wConst wordKind = iota
	wLoad
	wAnd
	wOr
)

type word struct {
	kind wordKind
	c    uint32
	off  uint32
	l, r *word
}

func constWord(c uint32) *word { return &word{kind: wConst, c: c} }

// wordOf returns the high or low word of v, folding constants.
func wordOf(v *vexpr, hi bool) *word {
	switch v.kind {
	case vConst:
		if hi {
			return constWord(uint32(v.c >> 32))
		}
		return constWord(uint32(v.c))
	case vArg:
		if hi && v.size == 4 {
			return constWord(0)
		}
		return &word{kind: wLoad, off: argOffset(v.arg, hi)}
	}
	l, r := wordOf(v.l, hi), wordOf(v.r, hi)
	if l.kind == wConst && r.kind != wConst {
		l, r = r, l
	}
	if r.kind == wConst {
		switch {
		case l.kind == wConst && v.kind == vAnd:
			return constWord(l.c & r.c)
		case l.kind == wConst:
			return constWord(l.c | r.c)
		case v.kind == vAnd && r.c == 0, v.kind == vOr && r.c == 0xffffffff:
			return r
		case v.kind == vAnd && r.c == 0xffffffff, v.kind == vOr && r.c == 0:
			return l
		}
	}
	if v.kind == vAnd {
		return &word{kind: wAnd, l: l, r: r}
	}
	return &word{kind: wOr, l: l, r: r}
}

// usesX reports whether evaluating w clobbers X.
func (w *word) usesX() bool {
	return (w.kind == wAnd || w.kind == wOr) && (w.r.kind != wConst || w.l.usesX())
}

// eval returns straight-line code leaving w in A, using scratch memory
// from slot s on.
func (c *codegen) eval(w *word, s int) []bpf.Instruction {
	switch w.kind {
	case wConst:
		return []bpf.Instruction{bpf.LoadConstant{Dst: bpf.RegA, Val: w.c}}
	case wLoad:
		return []bpf.Instruction{bpf.LoadAbsolute{Off: w.off, Size: 4}}
	}
	op := bpf.ALUOpAnd
	if w.kind == wOr {
		op = bpf.ALUOpOr
	}
	if w.r.kind == wConst {
		return append(c.eval(w.l, s), bpf.ALUOpConstant{Op: op, Val: w.r.c})
	}
	if s >= numScratch {
		c.tooComplex = true
		return nil
	}
	code := c.eval(w.r, s)
	code = append(code, bpf.StoreScratch{Src: bpf.RegA, N: s})
	code = append(code, c.eval(w.l, s+1)...)
	return append(code, bpf.LoadScratch{Dst: bpf.RegX, N: s}, bpf.ALUOpX{Op: op})
}

type codegen struct {
	b          *builder
	tooComplex bool
}

// cmpWord emits "if A-side <cond> B-side goto t else f" for one word pair
// and returns the entry label and the label of the jump instruction itself,
// where A (and X) already hold the two words; jmp is -1 when there is no
// such instruction to reuse (the comparison folded away, or became a
// "jset" that looks at a different A).
func (c *codegen) cmpWord(cond bpf.JumpTest, a, bw *word, t, f int) (entry, jmp int) {
	if a.kind == wConst && bw.kind == wConst {
		var r bool
		switch cond {
		case bpf.JumpEqual:
			r = a.c == bw.c
		case bpf.JumpGreaterThan:
			r = a.c > bw.c
		case bpf.JumpGreaterOrEqual:
			r = a.c >= bw.c
		}
		if r {
			return t, -1
		}
		return f, -1
	}
	if a.kind == wConst { // keep the constant on the right
		a, bw = bw, a
		switch cond {
		case bpf.JumpGreaterThan: // c > x  <=>  !(x >= c)
			cond, t, f = bpf.JumpGreaterOrEqual, f, t
		case bpf.JumpGreaterOrEqual: // c >= x  <=>  !(x > c)
			cond, t, f = bpf.JumpGreaterThan, f, t
		}
	}
	if bw.kind == wConst {
		// (x & m) == 0 is one "jset m".
		if cond == bpf.JumpEqual && bw.c == 0 && a.kind == wAnd && a.r.kind == wConst {
			code := c.eval(a.l, 0)
			j := c.b.jump(bpf.JumpBitsSet, a.r.c, false, c.skipLoad(code, f), c.skipLoad(code, t))
			return c.b.seq(code, j), -1
		}
		code := c.eval(a, 0)
		t, f = c.skipLoad(code, t), c.skipLoad(code, f)
		if t == f {
			return c.b.seq(code, t), -1
		}
		j := c.b.jump(cond, bw.c, false, t, f)
		return c.b.seq(code, j), j
	}
	if t == f {
		return t, -1
	}
	j := c.b.jump(cond, 0, true, t, f)
	var code []bpf.Instruction
	if !a.usesX() {
		code = append(c.eval(bw, 0), bpf.TAX{})
		code = append(code, c.eval(a, 0)...)
	} else {
		code = append(c.eval(bw, 0), bpf.StoreScratch{Src: bpf.RegA, N: 0})
		code = append(code, c.eval(a, 1)...)
		code = append(code, bpf.LoadScratch{Dst: bpf.RegX, N: 0})
	}
	return c.b.seq(code, j), j
}

// skipLoad returns the label after the load at label when code is that
// same single load: A already holds the word there (jumps leave A alone),
// so "fd == 1 || fd == 2" loads fd once.
func (c *codegen) skipLoad(code []bpf.Instruction, label int) int {
	if len(code) != 1 || label <= 0 {
		return label
	}
	ld, ok := code[0].(bpf.LoadAbsolute)
	if !ok {
		return label
	}
	raw, err := ld.Assemble()
	if err != nil || c.b.rev[label] != raw {
		return label
	}
	return label - 1
}

// cond emits code for e that continues at t when e holds and at f
// otherwise, and returns its entry label.
func (c *codegen) cond(e *cexpr, t, f int) int {
	switch e.kind {
	case cTrue:
		return t
	case cFalse:
		return f
	case cNot:
		return c.cond(e.l, f, t)
	case cAnd:
		return c.cond(e.l, c.cond(e.r, t, f), f)
	case cOr:
		return c.cond(e.l, t, c.cond(e.r, t, f))
	}
	// Comparison: reduce to ==, > and >= (unsigned, like kafel).
	var jt bpf.JumpTest
	switch e.op {
	case opEq:
		jt = bpf.JumpEqual
	case opNe:
		jt, t, f = bpf.JumpEqual, f, t
	case opGt:
		jt = bpf.JumpGreaterThan
	case opLe:
		jt, t, f = bpf.JumpGreaterThan, f, t
	case opGe:
		jt = bpf.JumpGreaterOrEqual
	case opLt:
		jt, t, f = bpf.JumpGreaterOrEqual, f, t
	}
	aLo, bLo := wordOf(e.a, false), wordOf(e.b, false)
	if e.width32 {
		entry, _ := c.cmpWord(jt, aLo, bLo, t, f)
		return entry
	}
	aHi, bHi := wordOf(e.a, true), wordOf(e.b, true)
	lo, _ := c.cmpWord(jt, aLo, bLo, t, f)
	if jt == bpf.JumpEqual {
		entry, _ := c.cmpWord(bpf.JumpEqual, aHi, bHi, lo, f)
		return entry
	}
	// a > b (a >= b): high words decide unless they are equal. The ">"
	// test on the high words evaluates them exactly like the "==" test
	// after it, so it may jump straight to that test's jump instruction.
	eqEntry, eqJmp := c.cmpWord(bpf.JumpEqual, aHi, bHi, lo, f)
	if eqJmp < 0 {
		eqJmp = eqEntry
	}
	entry, _ := c.cmpWord(bpf.JumpGreaterThan, aHi, bHi, t, eqJmp)
	return entry
}

// decision is what the filter does for a range of syscall numbers.
type decision struct {
	lo, hi uint32 // inclusive
	rules  []rule // conditional rules in order (only for a single nr)
	action uint32 // when no rule (or no condition) matches
}

// generate compiles a resolved program into a seccomp BPF program.
func generate(prog *program, ai *archInfo) ([]bpf.RawInstruction, error) {
	def := prog.def
	if !prog.defSet {
		def = retKillProcess // kafel's default
	}
	// Rules per syscall, in policy order; the first unconditional rule
	// ends the list (first match wins).
	bySys := map[uint32][]rule{}
	done := map[uint32]bool{}
	for _, r := range prog.rules {
		if done[r.nr] {
			continue
		}
		bySys[r.nr] = append(bySys[r.nr], r)
		if r.cond == nil {
			done[r.nr] = true
		}
	}
	nrs := make([]uint32, 0, len(bySys))
	for nr := range bySys {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })

	// Cut [0, 2^32) into ranges, merging neighbours with the same
	// unconditional action.
	var ds []decision
	add := func(d decision) {
		if n := len(ds); n > 0 && ds[n-1].rules == nil && d.rules == nil && ds[n-1].action == d.action && ds[n-1].hi+1 == d.lo {
			ds[n-1].hi = d.hi
			return
		}
		ds = append(ds, d)
	}
	next := uint64(0)
	for _, nr := range nrs {
		if uint64(nr) > next {
			add(decision{lo: uint32(next), hi: nr - 1, action: def})
		}
		rules := bySys[nr]
		d := decision{lo: nr, hi: nr, action: def}
		if last := rules[len(rules)-1]; last.cond == nil {
			d.action = last.action
			rules = rules[:len(rules)-1]
		}
		if len(rules) > 0 {
			d.rules = rules
		}
		add(d)
		next = uint64(nr) + 1
	}
	if next <= 0xffffffff {
		add(decision{lo: uint32(next), hi: 0xffffffff, action: def})
	}

	b := &builder{rets: map[uint32]int{}}
	c := &codegen{b: b}
	b.ret(def)
	var tree func(ds []decision) int
	tree = func(ds []decision) int {
		if len(ds) == 1 {
			d := ds[0]
			l := b.ret(d.action)
			for i := len(d.rules) - 1; i >= 0; i-- {
				l = c.cond(d.rules[i].cond, b.ret(d.rules[i].action), l)
			}
			return l
		}
		mid := len(ds) / 2
		right := tree(ds[mid:])
		left := tree(ds[:mid])
		return b.jump(bpf.JumpGreaterOrEqual, ds[mid].lo, false, right, left)
	}
	l := tree(ds)
	foreign := uint32(retKillProcess)
	if ai.x32Bit {
		l = b.jump(bpf.JumpBitsSet, x32SyscallBit, false, b.ret(foreign), l)
	}
	l = b.seq([]bpf.Instruction{bpf.LoadAbsolute{Off: offNr, Size: 4}}, l)
	l = b.jump(bpf.JumpEqual, ai.audit, false, l, b.ret(foreign))
	b.seq([]bpf.Instruction{bpf.LoadAbsolute{Off: offArch, Size: 4}}, l)

	if c.tooComplex {
		return nil, fmt.Errorf("a condition needs more than %d scratch words: simplify it", numScratch)
	}
	if b.err != nil {
		return nil, b.err
	}
	if len(b.rev) > maxInsns {
		return nil, fmt.Errorf("the compiled filter has %d instructions, more than the kernel's limit of %d", len(b.rev), maxInsns)
	}
	out := make([]bpf.RawInstruction, len(b.rev))
	for i, ins := range b.rev {
		out[len(out)-1-i] = ins
	}
	return out, nil
}
