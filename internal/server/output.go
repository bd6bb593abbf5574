package server

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// cutPartialRune drops an incomplete UTF-8 sequence at the very end of b:
// when output is cut at a byte limit, the last character may be cut in
// half, which must not turn valid text into "invalid UTF-8".
func cutPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c&0xC0 == 0x80 { // continuation byte: keep looking for the start
			continue
		}
		if c >= 0xC0 && !utf8.FullRune(b[len(b)-i:]) {
			return b[:len(b)-i]
		}
		return b
	}
	return b
}

// universalNewlines translates "\r\n" and a lone "\r" to "\n", as Python's
// text mode (which snekbox reads its pipe in) does.
func universalNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			b.WriteByte('\n')
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Output encodings of the native API.
const (
	encUTF8   = "utf-8"
	encBase64 = "base64"
)

// encodeOutput returns output bytes for JSON under the requested mode:
// "auto" (text when valid UTF-8, else base64: never lossy), "base64"
// (always), "replace" (always text, U+FFFD for invalid sequences: lossy,
// only on request).
func encodeOutput(b []byte, mode string, truncated bool) (string, string) {
	switch mode {
	case "base64":
		return base64.StdEncoding.EncodeToString(b), encBase64
	case "replace":
		if truncated {
			b = cutPartialRune(b)
		}
		return replaceInvalid(b), encUTF8
	default:
		if truncated {
			if c := cutPartialRune(b); utf8.Valid(c) {
				return string(c), encUTF8
			}
		}
		if utf8.Valid(b) {
			return string(b), encUTF8
		}
		return base64.StdEncoding.EncodeToString(b), encBase64
	}
}

// replaceInvalid maps each byte that is not part of a valid UTF-8 sequence
// to U+FFFD.
func replaceInvalid(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}
