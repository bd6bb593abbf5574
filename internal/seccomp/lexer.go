package seccomp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tDefine // "#define"
	tLBrace // {
	tRBrace // }
	tLParen // (
	tRParen // )
	tLBrack // [
	tRBrack // ]
	tComma  // ,
	tNot    // !
	tAnd    // &
	tOr     // |
	tLogAnd // &&
	tLogOr  // ||
	tEq     // ==
	tNe     // !=
	tLt     // <
	tLe     // <=
	tGt     // >
	tGe     // >=
)

var tokNames = map[tokKind]string{
	tEOF: "end of input", tIdent: "identifier", tNumber: "number", tDefine: "#define",
	tLBrace: `"{"`, tRBrace: `"}"`, tLParen: `"("`, tRParen: `")"`, tLBrack: `"["`, tRBrack: `"]"`,
	tComma: `","`, tNot: `"!"`, tAnd: `"&"`, tOr: `"|"`, tLogAnd: `"&&"`, tLogOr: `"||"`,
	tEq: `"=="`, tNe: `"!="`, tLt: `"<"`, tLe: `"<="`, tGt: `">"`, tGe: `">="`,
}

// pos is a 1-based line and column (columns count characters).
type pos struct{ line, col int }

type token struct {
	kind tokKind
	pos  pos
	text string
	num  uint64
}

func (t token) String() string {
	switch t.kind {
	case tIdent:
		return fmt.Sprintf("%q", t.text)
	case tNumber:
		return "number " + t.text
	}
	return tokNames[t.kind]
}

// Error is a policy error at a position of the policy text.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

type lexer struct {
	file string
	src  string
	off  int
	line int
	col  int
}

func (l *lexer) errf(p pos, format string, args ...any) *Error {
	return &Error{File: l.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)}
}

func (l *lexer) peekByte(n int) byte {
	if l.off+n < len(l.src) {
		return l.src[l.off+n]
	}
	return 0
}

// advance moves over n bytes, keeping line and column current.
func (l *lexer) advance(n int) {
	for n > 0 && l.off < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		n -= size
		if r == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// tokenize splits the whole policy into tokens.
func tokenize(file, src string) ([]token, error) {
	l := &lexer{file: file, src: src, line: 1, col: 1}
	var toks []token
	for {
		// Skip white space and comments.
		for l.off < len(l.src) {
			c := l.src[l.off]
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				l.advance(1)
				continue
			case c == '/' && l.peekByte(1) == '/':
				l.skipLine()
				continue
			case c == '/' && l.peekByte(1) == '*':
				start := pos{l.line, l.col}
				end := strings.Index(l.src[l.off+2:], "*/")
				if end < 0 {
					return nil, l.errf(start, "unterminated comment")
				}
				l.advance(2 + end + 2)
				continue
			case c == '#':
				// "#define" (also "# define", as kafel lexes "#" and
				// "define" apart) is a directive; otherwise "#" followed by
				// a blank, a "!" or the end of the line starts a
				// shell-style comment.
				n := l.peekByte(1)
				if (n == 0 || n == ' ' || n == '\t' || n == '\n' || n == '\r' || n == '!' || n == '#') && !l.directiveAhead() {
					l.skipLine()
					continue
				}
			}
			break
		}
		p := pos{l.line, l.col}
		if l.off >= len(l.src) {
			toks = append(toks, token{kind: tEOF, pos: p})
			return toks, nil
		}
		c := l.src[l.off]
		switch {
		case c == '#':
			k := l.off + 1
			for k < len(l.src) && (l.src[k] == ' ' || l.src[k] == '\t') {
				k++
			}
			j := k
			for j < len(l.src) && isIdentChar(l.src[j]) {
				j++
			}
			word := l.src[k:j]
			switch word {
			case "define":
				toks = append(toks, token{kind: tDefine, pos: p, text: "#define"})
				l.advance(j - l.off)
				continue
			case "include":
				return nil, l.errf(p, "#include is not supported: put the included policy into the same text")
			}
			return nil, l.errf(p, "unknown directive \"#%s\" (only #define is supported; use // for comments)", word)
		case isIdentStart(c):
			j := l.off
			for j < len(l.src) && isIdentChar(l.src[j]) {
				j++
			}
			toks = append(toks, token{kind: tIdent, pos: p, text: l.src[l.off:j]})
			l.advance(j - l.off)
			continue
		case c >= '0' && c <= '9' || (c == '-' && l.peekByte(1) >= '0' && l.peekByte(1) <= '9'):
			j := l.off + 1
			for j < len(l.src) && isIdentChar(l.src[j]) {
				j++
			}
			text := l.src[l.off:j]
			v, err := parseNumber(text)
			if err != nil {
				return nil, l.errf(p, "%v", err)
			}
			toks = append(toks, token{kind: tNumber, pos: p, text: text, num: v})
			l.advance(j - l.off)
			continue
		}
		two := ""
		if l.off+1 < len(l.src) {
			two = l.src[l.off : l.off+2]
		}
		kind := tEOF
		n := 2
		switch two {
		case "&&":
			kind = tLogAnd
		case "||":
			kind = tLogOr
		case "==":
			kind = tEq
		case "!=":
			kind = tNe
		case "<=":
			kind = tLe
		case ">=":
			kind = tGe
		}
		if kind == tEOF {
			n = 1
			switch c {
			case '{':
				kind = tLBrace
			case '}':
				kind = tRBrace
			case '(':
				kind = tLParen
			case ')':
				kind = tRParen
			case '[':
				kind = tLBrack
			case ']':
				kind = tRBrack
			case ',':
				kind = tComma
			case '!':
				kind = tNot
			case '&':
				kind = tAnd
			case '|':
				kind = tOr
			case '<':
				kind = tLt
			case '>':
				kind = tGt
			case '=':
				return nil, l.errf(p, `unexpected "=" (use "==" to compare)`)
			default:
				r, _ := utf8.DecodeRuneInString(l.src[l.off:])
				return nil, l.errf(p, "unexpected character %q", r)
			}
		}
		toks = append(toks, token{kind: kind, pos: p, text: l.src[l.off : l.off+n]})
		l.advance(n)
	}
}

// directiveAhead reports whether the "#" at the current offset, after
// blanks, is followed by a directive word.
func (l *lexer) directiveAhead() bool {
	k := l.off + 1
	for k < len(l.src) && (l.src[k] == ' ' || l.src[k] == '\t') {
		k++
	}
	j := k
	for j < len(l.src) && isIdentChar(l.src[j]) {
		j++
	}
	w := l.src[k:j]
	return w == "define" || w == "include"
}

func (l *lexer) skipLine() {
	for l.off < len(l.src) && l.src[l.off] != '\n' {
		l.advance(1)
	}
}

// parseNumber parses kafel's number notations: decimal (optionally
// negative, stored as two's complement), 0x hexadecimal, 0b binary and
// 0-prefixed octal.
func parseNumber(text string) (uint64, error) {
	neg := strings.HasPrefix(text, "-")
	digits := strings.TrimPrefix(text, "-")
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x") || strings.HasPrefix(digits, "0X"):
		base, digits = 16, digits[2:]
	case strings.HasPrefix(digits, "0b") || strings.HasPrefix(digits, "0B"):
		base, digits = 2, digits[2:]
	case len(digits) > 1 && digits[0] == '0':
		base, digits = 8, digits[1:]
	}
	if neg && base != 10 {
		return 0, fmt.Errorf("invalid number %q (only decimal numbers can be negative)", text)
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("number %q out of range (64 bits)", text)
		}
		return 0, fmt.Errorf("invalid number %q", text)
	}
	if neg {
		if v > 1<<63 {
			return 0, fmt.Errorf("number %q out of range (64 bits)", text)
		}
		v = -v
	}
	return v, nil
}
