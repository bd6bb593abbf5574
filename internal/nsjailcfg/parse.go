// Package nsjailcfg reads nsjail configurations (text or JSON protobuf, with
// nsjail's own field names, see config.proto) and nsjail's command-line
// flags, and turns them into a jail.Spec.
//
// Only ToSpec decides what pycage can honour: a feature pycage cannot provide
// is an error naming the field, never silently dropped. docs/nsjail-compat.md
// lists every field and flag with its status.
package nsjailcfg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/prototext"
)

// Load reads a config file (text or JSON) and returns the parsed message.
func Load(path string) (*NsJailConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nsjail config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses a config held in memory; name is used in error messages and
// to pick the format (".json" means JSON). Otherwise a config whose first
// non-space character is '{' is JSON, anything else is protobuf text format.
// Unknown fields are errors that carry name:line:column.
func Parse(name string, data []byte) (*NsJailConfig, error) {
	cfg := &NsJailConfig{}
	var err error
	if isJSON(name, data) {
		err = protojson.UnmarshalOptions{}.Unmarshal(data, cfg)
	} else {
		err = prototext.UnmarshalOptions{}.Unmarshal(data, cfg)
	}
	if err != nil {
		return nil, positionError(name, err)
	}
	return cfg, nil
}

func isJSON(name string, data []byte) bool {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return true
	}
	s := strings.TrimLeft(string(data), " \t\r\n\ufeff")
	return strings.HasPrefix(s, "{")
}

// The protobuf decoders report positions as "(line L:C)"; some messages
// (missing required fields) have none.
var posRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(line (\d+):(\d+)\):?\s*`) })

// ParseError is a config syntax or schema error.
type ParseError struct {
	File         string
	Line, Column int // 0 when the decoder gave no position
	Msg          string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func positionError(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "proto:")
	msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), "syntax error:"))
	pe := &ParseError{File: name}
	if m := posRE().FindStringSubmatchIndex(msg); m != nil {
		pe.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		pe.Column, _ = strconv.Atoi(msg[m[4]:m[5]])
		msg = msg[:m[0]] + msg[m[1]:]
	}
	pe.Msg = strings.TrimSpace(msg)
	if pe.Msg == "" {
		pe.Msg = err.Error()
	}
	return pe
}

// errorList joins errors one per line, or returns nil.
func errorList(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
