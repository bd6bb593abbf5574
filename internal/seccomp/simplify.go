package seccomp

// foldValue folds the constant parts of a value expression.
func foldValue(v *vexpr) *vexpr {
	if v.kind != vAnd && v.kind != vOr {
		return v
	}
	l, r := foldValue(v.l), foldValue(v.r)
	if l.kind == vConst && r.kind == vConst {
		if v.kind == vAnd {
			return &vexpr{kind: vConst, c: l.c & r.c}
		}
		return &vexpr{kind: vConst, c: l.c | r.c}
	}
	return &vexpr{kind: v.kind, l: l, r: r}
}

func compareConst(op cmpOp, a, b uint64) bool {
	switch op {
	case opEq:
		return a == b
	case opNe:
		return a != b
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	panic("bad comparison")
}

var (
	condTrue  = &cexpr{kind: cTrue}
	condFalse = &cexpr{kind: cFalse}
)

func boolCond(b bool) *cexpr {
	if b {
		return condTrue
	}
	return condFalse
}

// simplify folds constant comparisons and the boolean operators around
// them. nil (no condition) stays nil.
func simplify(c *cexpr) *cexpr {
	if c == nil {
		return nil
	}
	switch c.kind {
	case cCmp:
		a, b := foldValue(c.a), foldValue(c.b)
		if a.kind == vConst && b.kind == vConst {
			return boolCond(compareConst(c.op, a.c, b.c))
		}
		return &cexpr{kind: cCmp, op: c.op, a: a, b: b, width32: c.width32}
	case cNot:
		l := simplify(c.l)
		switch l.kind {
		case cTrue:
			return condFalse
		case cFalse:
			return condTrue
		case cNot:
			return l.l
		}
		return &cexpr{kind: cNot, l: l}
	case cAnd, cOr:
		l, r := simplify(c.l), simplify(c.r)
		absorb, neutral := cFalse, cTrue // for &&
		if c.kind == cOr {
			absorb, neutral = cTrue, cFalse
		}
		switch {
		case l.kind == absorb || r.kind == absorb:
			return boolCond(absorb == cTrue)
		case l.kind == neutral:
			return r
		case r.kind == neutral:
			return l
		}
		return &cexpr{kind: c.kind, l: l, r: r}
	}
	return c
}
