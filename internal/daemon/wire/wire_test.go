package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRequestRoundTrip(t *testing.T) {
	cases := []struct{ args, env []string }{
		{[]string{"--", "python3", "-c", "print(1)"}, []string{"PATH=/bin", "HOME=/root"}},
		{nil, nil},
		{[]string{""}, []string{"A=", ""}},
		{[]string{"--help"}, nil},
		{nil, []string{"ONLY=env"}},
	}
	for _, c := range cases {
		b, err := EncodeRequest(c.args, c.env)
		if err != nil {
			t.Fatalf("encode %q %q: %v", c.args, c.env, err)
		}
		args, env, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if len(args)+len(c.args) > 0 && !reflect.DeepEqual(args, c.args) || len(env)+len(c.env) > 0 && !reflect.DeepEqual(env, c.env) {
			t.Fatalf("round trip %q %q -> %q %q", c.args, c.env, args, env)
		}
	}
}

// TestRequestBytes pins the layout byte for byte (docs/daemon.md): another
// client writes it with raw syscalls.
func TestRequestBytes(t *testing.T) {
	b, err := EncodeRequest([]string{"--", "true"}, []string{"A=1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("PCR2\x02\x00\x00\x00\x01\x00\x00\x00--\x00true\x00A=1\x00")
	if !bytes.Equal(b, want) {
		t.Fatalf("got  %q\nwant %q", b, want)
	}
	if s := Signal(15); !bytes.Equal(s, []byte("S\x0f")) {
		t.Fatalf("Signal(15) = %q", s)
	}
	if x := Exit(137); !bytes.Equal(x, []byte("X\x89")) {
		t.Fatalf("Exit(137) = %q", x)
	}
}

func TestRequestLimits(t *testing.T) {
	big := strings.Repeat("x", MaxRequest)
	_, err := EncodeRequest([]string{"--", "true"}, []string{"BIG=" + big})
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size <= MaxRequest {
		t.Fatalf("too large: %v", err)
	}
	// Exactly MaxRequest bytes is allowed.
	fill := MaxRequest - headerLen - len("--\x00true\x00") - len("F=\x00")
	b, err := EncodeRequest([]string{"--", "true"}, []string{"F=" + strings.Repeat("y", fill)})
	if err != nil || len(b) != MaxRequest {
		t.Fatalf("exactly MaxRequest: len %d err %v", len(b), err)
	}
	if _, err := EncodeRequest([]string{"a\x00b"}, nil); err == nil {
		t.Fatal("a NUL in an argument was encoded")
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string]string{
		"short":          "PCR2\x01\x00",
		"magic":          "PCR1\x00\x00\x00\x00\x00\x00\x00\x00",
		"unterminated":   "PCR2\x01\x00\x00\x00\x00\x00\x00\x00abc",
		"too few":        "PCR2\x02\x00\x00\x00\x00\x00\x00\x00a\x00",
		"too many":       "PCR2\x01\x00\x00\x00\x00\x00\x00\x00a\x00b\x00",
		"huge counts":    "PCR2\xff\xff\xff\xff\xff\xff\xff\xffa\x00",
		"counts, no str": "PCR2\x00\x00\x00\x00\x01\x00\x00\x00",
	}
	for name, in := range cases {
		if a, e, err := DecodeRequest([]byte(in)); err == nil {
			t.Errorf("%s: %q decoded as %q %q", name, in, a, e)
		}
	}
	for _, in := range []string{"", "S", "S\x00", "X\x01", "S\x01\x02"} {
		if _, err := DecodeSignal([]byte(in)); err == nil {
			t.Errorf("DecodeSignal(%q) accepted", in)
		}
	}
	for _, in := range []string{"", "X", "S\x01", "X\x01\x02"} {
		if _, err := DecodeExit([]byte(in)); err == nil {
			t.Errorf("DecodeExit(%q) accepted", in)
		}
	}
	if n, err := DecodeSignal([]byte("S\x02")); n != 2 || err != nil {
		t.Errorf("DecodeSignal(S 2) = %d %v", n, err)
	}
	if n, err := DecodeExit([]byte("X\x7d")); n != 125 || err != nil {
		t.Errorf("DecodeExit(X 125) = %d %v", n, err)
	}
}
