package server

import (
	"encoding/base64"
	"fmt"
	"path"
	"strings"

	"github.com/pycage/pycage/internal/jail"
)

// Why an input file path is refused.
const (
	pathAbsolute  = "must be relative"
	pathTraverses = "may not traverse beyond root"
	pathNUL       = "may not contain NUL bytes"
	pathNoName    = "does not name a file"
)

// cleanFilePath checks an input file path and returns it in clean form.
// Paths are relative to the workspace and may not climb out of it; a ".."
// that stays inside ("a/../b") is accepted, as snekbox does.
func cleanFilePath(p string) (string, string) {
	if strings.HasPrefix(p, "/") {
		return "", pathAbsolute
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", pathNUL
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", pathTraverses
	}
	if c == "." || p == "" {
		return "", pathNoName
	}
	return c, ""
}

// decodeLenientBase64 decodes base64 the way Python's base64.b64decode does
// by default (what snekbox uses): characters outside the alphabet are
// dropped first, then the padding must be right.
func decodeLenientBase64(s string) ([]byte, error) {
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			buf = append(buf, c)
		}
	}
	return base64.StdEncoding.DecodeString(string(buf))
}

// placeFiles orders the input files as they are written one after the
// other: a later file of the same path replaces an earlier one. It returns
// an error message, snekbox style, for a path that cannot be created
// because a file is where a directory must be or the reverse.
func placeFiles(files []jail.File) ([]jail.File, string) {
	index := map[string]int{}
	dirs := map[string]bool{}
	var out []jail.File
	for _, f := range files {
		parts := strings.Split(f.Path, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if _, isFile := index[d]; isFile {
				return nil, fmt.Sprintf("FileExistsError: Failed to create file '%s'.", f.Path)
			}
			dirs[d] = true
		}
		if dirs[f.Path] {
			return nil, fmt.Sprintf("IsADirectoryError: Failed to create file '%s'.", f.Path)
		}
		if i, ok := index[f.Path]; ok {
			out[i] = f
			continue
		}
		index[f.Path] = len(out)
		out = append(out, f)
	}
	return out, ""
}

// outFile is a file returned after a run (both APIs).
type outFile struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Content string `json:"content"` // base64
}

func outFiles(fs []jail.OutFile) []outFile {
	out := make([]outFile, 0, len(fs))
	for _, f := range fs {
		out = append(out, outFile{Path: f.Path, Size: f.Size, Content: base64.StdEncoding.EncodeToString(f.Content)})
	}
	return out
}

// filesErrorIsLimit says whether a collection error only means "more than
// the limits allow": the files up to the limit are still returned.
func filesErrorIsLimit(e string) bool {
	return strings.HasPrefix(e, "too many files") || strings.HasPrefix(e, "files too large")
}

// figureOut is a figure a run showed (plt.show() with "figures": true).
type figureOut struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Content string `json:"content"` // base64 PNG
}

func figuresOut(fs []jail.OutFile) []figureOut {
	out := make([]figureOut, 0, len(fs))
	for _, f := range fs {
		out = append(out, figureOut{Name: f.Path, Size: f.Size, Content: base64.StdEncoding.EncodeToString(f.Content)})
	}
	return out
}
