// Package wire is the byte encoding of the protocol between `pycage run`
// (the client) and `pycage daemon`, version 2 (docs/daemon.md). Both sides
// use it. It imports only the standard library: it is linked into every
// `pycage run`.
//
// The request is one datagram to the daemon's SOCK_DGRAM socket; the rest
// goes over the reply socket, a SOCK_SEQPACKET socketpair whose one end the
// request carries:
//
//	request  client -> daemon  "PCR2" argc:u32le envc:u32le (argc+envc strings, each NUL-terminated)
//	         (datagram)        + SCM_RIGHTS: stdin, stdout, stderr, cwd (O_PATH), reply
//	signal   client -> daemon  'S' signo:u8       (2 bytes, on the reply socket)
//	exit     daemon -> client  'X' code:u8        (2 bytes, on the reply socket)
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

const (
	// Magic starts every request: the protocol and its version.
	Magic = "PCR2"
	// MaxRequest is the largest request payload, header included.
	MaxRequest = 196608
	// SndBuf is the SO_SNDBUF the client sets so that a MaxRequest
	// datagram fits in one sendmsg.
	SndBuf = 262144
	// NumFDs is the number of fds of a request, in the order FDStdin,
	// FDStdout, FDStderr, FDCwd, FDReply.
	NumFDs = 5

	// MsgSignal and MsgExit are the first bytes of the 2-byte messages.
	MsgSignal = 'S'
	MsgExit   = 'X'

	headerLen = len(Magic) + 8
)

// The fds of a request, by index.
const (
	FDStdin = iota
	FDStdout
	FDStderr
	FDCwd
	FDReply // one end of the client's socketpair(AF_UNIX, SOCK_SEQPACKET)
)

// TooLargeError is a request above MaxRequest bytes.
type TooLargeError struct{ Size int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the request (arguments and environment) is %d bytes, more than the protocol's %d", e.Size, MaxRequest)
}

// EncodeRequest returns the payload of a request: args are the arguments
// of `pycage run` (without "run"), env the client's environment. A string
// with a NUL byte or a payload above MaxRequest is an error.
func EncodeRequest(args, env []string) ([]byte, error) {
	n := headerLen
	for _, l := range [][]string{args, env} {
		for _, s := range l {
			if strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("%.40q contains a NUL byte", s)
			}
			n += len(s) + 1
		}
	}
	if n > MaxRequest {
		return nil, &TooLargeError{Size: n}
	}
	b := make([]byte, 0, n)
	b = append(b, Magic...)
	b = appendU32(b, uint32(len(args)))
	b = appendU32(b, uint32(len(env)))
	for _, l := range [][]string{args, env} {
		for _, s := range l {
			b = append(b, s...)
			b = append(b, 0)
		}
	}
	return b, nil
}

// DecodeRequest parses a request payload. It is strict: the magic, the
// counts and the number of NUL-terminated strings must agree exactly.
func DecodeRequest(b []byte) (args, env []string, err error) {
	if len(b) > MaxRequest {
		return nil, nil, &TooLargeError{Size: len(b)}
	}
	if len(b) < headerLen {
		return nil, nil, fmt.Errorf("request of %d bytes: shorter than its %d-byte header", len(b), headerLen)
	}
	if string(b[:len(Magic)]) != Magic {
		return nil, nil, fmt.Errorf("request starts with %q, not %q (another protocol or version)", b[:len(Magic)], Magic)
	}
	argc, envc := u32(b[len(Magic):]), u32(b[len(Magic)+4:])
	rest := b[headerLen:]
	// Every string takes at least its NUL: this bounds the counts before
	// anything is allocated.
	if uint64(argc)+uint64(envc) > uint64(len(rest)) {
		return nil, nil, fmt.Errorf("request claims %d arguments and %d environment strings but has %d bytes of strings", argc, envc, len(rest))
	}
	strs := make([]string, 0, argc+envc)
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, nil, errors.New("request: the last string is not NUL-terminated")
		}
		strs = append(strs, string(rest[:i]))
		rest = rest[i+1:]
	}
	if len(strs) != int(argc)+int(envc) {
		return nil, nil, fmt.Errorf("request claims %d arguments and %d environment strings but holds %d strings", argc, envc, len(strs))
	}
	return strs[:argc:argc], strs[argc:], nil
}

// Signal is the message relaying signal signo (1..255).
func Signal(signo int) []byte { return []byte{MsgSignal, byte(signo)} }

// Exit is the message carrying the exit code (0..255).
func Exit(code int) []byte { return []byte{MsgExit, byte(code)} }

// DecodeSignal parses a signal message.
func DecodeSignal(b []byte) (int, error) {
	if len(b) != 2 || b[0] != MsgSignal {
		return 0, fmt.Errorf("unexpected message %q (want 'S' and a signal number)", b)
	}
	if b[1] == 0 {
		return 0, errors.New("signal message with signal number 0")
	}
	return int(b[1]), nil
}

// DecodeExit parses an exit message.
func DecodeExit(b []byte) (int, error) {
	if len(b) != 2 || b[0] != MsgExit {
		return 0, fmt.Errorf("unexpected message %q (want 'X' and an exit code)", b)
	}
	return int(b[1]), nil
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

func u32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
