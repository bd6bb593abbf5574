package server

// The native API (v1): POST /v1/run, GET /v1/runtimes.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
)

type runFileIn struct {
	Path          string  `json:"path"`
	Content       *string `json:"content"`        // UTF-8 text
	ContentBase64 *string `json:"content_base64"` // or bytes, base64
}

type runLimits struct {
	WallMs      *int64 `json:"wall_ms,omitempty"`
	CPUMs       *int64 `json:"cpu_ms,omitempty"`
	MemoryBytes *int64 `json:"memory_bytes,omitempty"`
	Pids        *int64 `json:"pids,omitempty"`
	OutputBytes *int64 `json:"output_bytes,omitempty"`
}

type runRequest struct {
	Runtime        string      `json:"runtime"`
	Code           *string     `json:"code"`
	Args           []string    `json:"args"`
	Stdin          *string     `json:"stdin"`
	StdinBase64    *string     `json:"stdin_base64"`
	Files          []runFileIn `json:"files"`
	Limits         runLimits   `json:"limits"`
	MergeOutput    bool        `json:"merge_output"`
	OutputEncoding string      `json:"output_encoding"`
	CollectFiles   *bool       `json:"collect_files"`
	// Figures makes plt.show() save every open figure as PNG; they come
	// back as `figures` (see runtimes.EnableFigures).
	Figures bool `json:"figures"`
}

// effectiveLimits are the limits a run really had.
type effectiveLimits struct {
	WallMs      int64 `json:"wall_ms"`
	CPUMs       int64 `json:"cpu_ms"`
	MemoryBytes int64 `json:"memory_bytes"`
	Pids        int64 `json:"pids"`
	OutputBytes int64 `json:"output_bytes"`
}

type runResponse struct {
	ID             string `json:"id"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	Reason         string `json:"reason"`
	ExitCode       int    `json:"exit_code"`
	Signal         int    `json:"signal"`
	Error          string `json:"error,omitempty"`

	Stdout          *string `json:"stdout,omitempty"`
	StdoutEncoding  string  `json:"stdout_encoding,omitempty"`
	StdoutBytes     *int64  `json:"stdout_bytes,omitempty"`
	StdoutTruncated *bool   `json:"stdout_truncated,omitempty"`
	Stderr          *string `json:"stderr,omitempty"`
	StderrEncoding  string  `json:"stderr_encoding,omitempty"`
	StderrBytes     *int64  `json:"stderr_bytes,omitempty"`
	StderrTruncated *bool   `json:"stderr_truncated,omitempty"`
	Output          *string `json:"output,omitempty"`
	OutputEncoding  string  `json:"output_encoding,omitempty"`
	OutputBytes     *int64  `json:"output_bytes,omitempty"`
	OutputTruncated *bool   `json:"output_truncated,omitempty"`

	WallMs          float64 `json:"wall_ms"`
	CPUMs           float64 `json:"cpu_ms"`
	PeakMemoryBytes int64   `json:"peak_memory_bytes"`
	QueueMs         float64 `json:"queue_ms"`
	RunMs           float64 `json:"run_ms"`

	Files          []outFile       `json:"files"`
	Figures        []figureOut     `json:"figures,omitempty"`
	FilesError     string          `json:"files_error,omitempty"`
	FilesTruncated bool            `json:"files_truncated"`
	Limits         effectiveLimits `json:"limits"`
}

// resolveLimits applies the request's limits over the defaults, each
// capped at the server's maximum (0 = no cap).
func (s *Server) resolveLimits(rl runLimits) (Limits, error) {
	l := s.cfg.Defaults
	mx := s.cfg.Maxima
	pick := func(name string, req *int64, unit int64, def *int64, max int64) error {
		if req == nil {
			return nil
		}
		if *req <= 0 {
			return fmt.Errorf("limits.%s must be > 0", name)
		}
		if *req > (1<<62)/unit {
			return fmt.Errorf("limits.%s is too large", name)
		}
		v := *req * unit
		if max > 0 && v > max {
			v = max
		}
		*def = v
		return nil
	}
	wall, cpu, mem, pids, out := int64(l.Wall), int64(l.CPU), int64(l.Memory), l.Pids, int64(l.Output)
	for _, e := range []error{
		pick("wall_ms", rl.WallMs, int64(time.Millisecond), &wall, int64(mx.Wall)),
		pick("cpu_ms", rl.CPUMs, int64(time.Millisecond), &cpu, int64(mx.CPU)),
		pick("memory_bytes", rl.MemoryBytes, 1, &mem, int64(mx.Memory)),
		pick("pids", rl.Pids, 1, &pids, mx.Pids),
		pick("output_bytes", rl.OutputBytes, 1, &out, int64(mx.Output)),
	} {
		if e != nil {
			return l, e
		}
	}
	return Limits{Wall: Duration(wall), CPU: Duration(cpu), Memory: Size(mem), Pids: pids, Output: Size(out)}, nil
}

func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	raw, leave, ok := s.postBody(w, r, "run")
	if !ok {
		return
	}
	defer leave()
	bad := func(title, format string, a ...any) {
		writeError(w, r, &apiError{Status: http.StatusBadRequest, Title: title, Description: fmt.Sprintf(format, a...), reason: "bad-request"})
	}
	var req runRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if errors.Is(err, io.EOF) {
			bad("Invalid JSON", "the request body is empty")
			return
		}
		bad("Invalid request", "%v", err)
		return
	}
	if dec.More() {
		bad("Invalid JSON", "extra data after the JSON document")
		return
	}

	rt, ok := s.runtimes.Lookup(req.Runtime)
	if !ok {
		bad("Invalid request", "runtime %q: no such runtime (have %s; see GET /v1/runtimes)", req.Runtime, strings.Join(s.runtimes.Names(), ", "))
		return
	}
	ri.runtime = rt.Name
	if !rt.Usable() {
		bad("Invalid request", "runtime %q is not usable: %s (see GET /v1/runtimes)", rt.Name, rt.Problem)
		return
	}
	if req.Code == nil && len(req.Args) == 0 {
		bad("Invalid request", "give code or args")
		return
	}
	var argv []string
	if req.MergeOutput {
		argv = append(argv, "-u") // unbuffered: the merged order is the write order
	}
	if req.Code != nil {
		argv = append(argv, "-c", *req.Code)
	}
	argv = append(argv, req.Args...)
	for _, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			bad("Invalid request", "code and args may not contain NUL bytes")
			return
		}
	}
	var stdin []byte
	switch {
	case req.Stdin != nil && req.StdinBase64 != nil:
		bad("Invalid request", "give stdin or stdin_base64, not both")
		return
	case req.Stdin != nil:
		stdin = []byte(*req.Stdin)
	case req.StdinBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*req.StdinBase64)
		if err != nil {
			bad("Invalid request", "stdin_base64: invalid base64: %v", err)
			return
		}
		stdin = b
	}
	switch req.OutputEncoding {
	case "":
		req.OutputEncoding = "auto"
	case "auto", "base64", "replace":
	default:
		bad("Invalid request", "output_encoding %q: want auto, base64 or replace", req.OutputEncoding)
		return
	}
	var files []jail.File
	for _, f := range req.Files {
		clean, why := cleanFilePath(f.Path)
		if why != "" {
			bad("Invalid file", "file path %q %s", f.Path, why)
			return
		}
		var content []byte
		switch {
		case f.Content != nil && f.ContentBase64 != nil:
			bad("Invalid file", "file %q: give content or content_base64, not both", f.Path)
			return
		case f.Content != nil:
			content = []byte(*f.Content)
		case f.ContentBase64 != nil:
			b, err := base64.StdEncoding.DecodeString(*f.ContentBase64)
			if err != nil {
				bad("Invalid file", "file %q: invalid base64: %v", f.Path, err)
				return
			}
			content = b
		}
		files = append(files, jail.File{Path: clean, Content: content})
	}
	files, msg := placeFiles(files)
	if msg != "" {
		bad("Invalid file", "%s", msg)
		return
	}
	ri.filesIn = len(files)
	lim, err := s.resolveLimits(req.Limits)
	if err != nil {
		bad("Invalid request", "%v", err)
		return
	}
	collect := req.CollectFiles == nil || *req.CollectFiles
	if req.Figures && !collect {
		bad("Invalid request", "figures need collect_files (they come back with the files)")
		return
	}
	spec := s.baseSpec(rt, argv, lim, files, collect)
	if req.Figures {
		runtimes.EnableFigures(spec)
	}
	job := &runJob{endpoint: "run", spec: spec, stdin: stdin, merged: req.MergeOutput}
	if !req.MergeOutput { // merged runs add -u: the pool's sandboxes have no flags
		job.warm = s.warmFor(rt, nil, false, argv, lim, files, req.Figures, collect)
	}
	out, apiErr, err := s.execute(r, job)
	if err != nil {
		return
	}
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	resp := s.runResult(ri.id, rt, lim, &req, out)
	ri.exitCode = &resp.ExitCode
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) runResult(id string, rt *runtimes.Runtime, lim Limits, req *runRequest, out *runOutcome) *runResponse {
	res := out.res
	files, figures := res.Files, []jail.OutFile(nil)
	if req.Figures {
		files, figures = runtimes.SplitFigures(files)
	}
	resp := &runResponse{
		ID:              id,
		Runtime:         rt.Name,
		RuntimeVersion:  rt.Version,
		Reason:          string(res.Reason),
		ExitCode:        res.ExitCode,
		Signal:          res.Signal,
		Error:           res.Error,
		WallMs:          ms(res.Wall),
		CPUMs:           ms(res.CPU),
		PeakMemoryBytes: res.PeakMemory,
		QueueMs:         ms(out.queueWait),
		RunMs:           ms(out.runTime),
		Files:           outFiles(files),
		FilesError:      res.FilesError,
		FilesTruncated:  filesErrorIsLimit(res.FilesError),
		Limits: effectiveLimits{
			WallMs:      time.Duration(lim.Wall).Milliseconds(),
			CPUMs:       time.Duration(lim.CPU).Milliseconds(),
			MemoryBytes: int64(lim.Memory),
			Pids:        lim.Pids,
			OutputBytes: int64(lim.Output),
		},
	}
	if req.Figures {
		resp.Figures = figuresOut(figures)
	}
	enc := func(b []byte, n int64, trunc bool) (*string, string, *int64, *bool) {
		text, e := encodeOutput(b, req.OutputEncoding, trunc)
		return &text, e, &n, &trunc
	}
	if req.MergeOutput {
		resp.Output, resp.OutputEncoding, resp.OutputBytes, resp.OutputTruncated = enc(out.stdout, res.StdoutBytes, res.StdoutTruncated)
	} else {
		resp.Stdout, resp.StdoutEncoding, resp.StdoutBytes, resp.StdoutTruncated = enc(out.stdout, res.StdoutBytes, res.StdoutTruncated)
		resp.Stderr, resp.StderrEncoding, resp.StderrBytes, resp.StderrTruncated = enc(out.stderr, res.StderrBytes, res.StderrTruncated)
	}
	return resp
}

func (s *Server) handleRuntimes(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed("GET"))
		return
	}
	type rtJSON struct {
		Name      string            `json:"name"`
		Path      string            `json:"path"`
		Version   string            `json:"version"`
		Default   bool              `json:"default"`
		Usable    bool              `json:"usable"`
		Problem   string            `json:"problem,omitempty"`
		Source    string            `json:"source"`
		Prefix    string            `json:"prefix,omitempty"`
		LibDirs   []string          `json:"lib_dirs"`
		Packages  map[string]string `json:"packages"`
		FontCache bool              `json:"font_cache"`
	}
	list := []rtJSON{}
	for _, rt := range s.runtimes.List() {
		libs := rt.LibDirs
		if libs == nil {
			libs = []string{}
		}
		pk := rt.Packages
		if pk == nil {
			pk = map[string]string{}
		}
		list = append(list, rtJSON{Name: rt.Name, Path: rt.Path, Version: rt.Version, Default: rt.Default,
			Usable: rt.Usable(), Problem: rt.Problem, Source: rt.Source, Prefix: rt.Prefix, LibDirs: libs,
			Packages: pk, FontCache: rt.FontCache != nil})
	}
	writeJSON(w, http.StatusOK, map[string]any{"runtimes": list})
}
