package server

// POST /eval: snekbox's API, request and response shapes and status codes
// as snekbox (falcon + jsonschema) gives them.

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
)

type evalFile struct {
	path    string
	content *string
}

type evalBody struct {
	input          *string
	args           []string
	hasArgs        bool
	files          []evalFile
	executablePath *string
}

// schemaError is one jsonschema error: the depth of the offending value
// and the message. jsonschema's best_match reports the shallowest error,
// the first one in schema order among equals.
type schemaError struct {
	depth int
	msg   string
}

func notOfType(v any, typ string) string {
	return fmt.Sprintf("%s is not of type '%s'", pyRepr(v), typ)
}

// parseEvalBody validates a decoded body against snekbox's request schema.
func parseEvalBody(v any) (*evalBody, string) {
	var errs []schemaError
	add := func(depth int, msg string) { errs = append(errs, schemaError{depth, msg}) }
	obj, ok := v.(*jsonObject)
	if !ok {
		return nil, notOfType(v, "object")
	}
	b := &evalBody{}
	if iv, ok := obj.get("input"); ok {
		if s, ok := iv.(string); ok {
			b.input = &s
		} else {
			add(1, notOfType(iv, "string"))
		}
	}
	if av, ok := obj.get("args"); ok {
		b.hasArgs = true
		if arr, ok := av.([]any); ok {
			for _, a := range arr {
				if s, ok := a.(string); ok {
					b.args = append(b.args, s)
				} else {
					add(2, notOfType(a, "string"))
				}
			}
		} else {
			add(1, notOfType(av, "array"))
		}
	}
	if fv, ok := obj.get("files"); ok {
		if arr, ok := fv.([]any); ok {
			for _, item := range arr {
				fo, ok := item.(*jsonObject)
				if !ok {
					add(2, notOfType(item, "object"))
					continue
				}
				var f evalFile
				pv, hasPath := fo.get("path")
				if !hasPath {
					add(2, "'path' is a required property")
				} else if s, ok := pv.(string); ok {
					f.path = s
				} else {
					add(3, notOfType(pv, "string"))
				}
				if cv, ok := fo.get("content"); ok {
					if s, ok := cv.(string); ok {
						f.content = &s
					} else {
						add(3, notOfType(cv, "string"))
					}
				}
				b.files = append(b.files, f)
			}
		} else {
			add(1, notOfType(fv, "array"))
		}
	}
	if ev, ok := obj.get("executable_path"); ok {
		if s, ok := ev.(string); ok {
			b.executablePath = &s
		} else {
			add(1, notOfType(ev, "string"))
		}
	}
	_, hasInput := obj.get("input")
	if !hasInput && !b.hasArgs {
		add(0, "'args' is a required property")
	}
	if len(errs) > 0 {
		best := errs[0]
		for _, e := range errs[1:] {
			if e.depth < best.depth {
				best = e
			}
		}
		return nil, best.msg
	}
	return b, ""
}

// dropLeadingEmpty drops empty strings at the start of args (snekbox does:
// they confuse the Python command line).
func dropLeadingEmpty(args []string) []string {
	for len(args) > 0 && args[0] == "" {
		args = args[1:]
	}
	return args
}

type evalResponse struct {
	Stdout     string    `json:"stdout"`
	ReturnCode *int      `json:"returncode"`
	Files      []outFile `json:"files"`
}

func evalFailed(msg string) *evalResponse {
	return &evalResponse{Stdout: msg, Files: []outFile{}}
}

func (s *Server) handleEval(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	raw, leave, ok := s.postBody(w, r, "eval")
	if !ok {
		return
	}
	defer leave()
	badRequest := func(title, desc string) {
		writeError(w, r, &apiError{Status: http.StatusBadRequest, Title: title, Description: desc, reason: "bad-request"})
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		badRequest("Invalid JSON", "Could not parse an empty JSON body")
		return
	}
	v, err := decodeOrdered(raw)
	if err != nil {
		badRequest("Invalid JSON", "Could not parse JSON body - "+err.Error())
		return
	}
	body, msg := parseEvalBody(v)
	if msg != "" {
		badRequest("Request data failed validation", msg)
		return
	}

	// Files: path rules, then base64, file by file (as snekbox).
	var files []jail.File
	for _, f := range body.files {
		clean, why := cleanFilePath(f.path)
		if why != "" {
			badRequest("Request file path failed validation", fmt.Sprintf("File path '%s' %s", f.path, why))
			return
		}
		var content []byte
		if f.content != nil {
			content, err = decodeLenientBase64(*f.content)
			if err != nil {
				badRequest("Request file is invalid", fmt.Sprintf("Invalid base64 encoding for file '%s'", f.path))
				return
			}
		}
		files = append(files, jail.File{Path: clean, Content: content})
	}
	ri.filesIn = len(files)

	rt := s.runtimes.Default()
	if body.executablePath != nil && *body.executablePath != "" {
		var ok bool
		rt, ok = s.runtimes.ByPath(*body.executablePath)
		if !ok {
			badRequest("Request data failed validation", fmt.Sprintf("executable_path '%s' is not one of the configured runtimes: %s",
				*body.executablePath, strings.Join(s.runtimes.Paths(), ", ")))
			return
		}
	}
	ri.runtime = rt.Name
	if !rt.Usable() {
		badRequest("Request data failed validation", fmt.Sprintf("executable_path '%s' (runtime %s) is not usable: %s", rt.Path, rt.Name, rt.Problem))
		return
	}

	args := body.args
	if body.input != nil {
		if !body.hasArgs {
			args = []string{"-c"}
		}
		args = append(args[:len(args):len(args)], *body.input)
	}
	args = dropLeadingEmpty(args)
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			ri.reason = "bad-args"
			writeJSON(w, http.StatusOK, evalFailed("ValueError: embedded null byte"))
			return
		}
	}
	files, msg = placeFiles(files)
	if msg != "" {
		ri.reason = "bad-files"
		writeJSON(w, http.StatusOK, evalFailed(msg))
		return
	}

	flags := dropLeadingEmpty(evalFlags(s.cfg.Eval.PythonFlags, rt))
	argv := append(flags[:len(flags):len(flags)], args...)
	spec := s.baseSpec(rt, argv, s.cfg.Defaults, files, true)
	out, apiErr, err := s.execute(r, &runJob{endpoint: "eval", spec: spec, merged: true,
		warm: s.warmFor(rt, flags, true, args, s.cfg.Defaults, files, false, true)})
	if err != nil {
		return // client gone: nobody to answer
	}
	if apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	resp := s.evalResult(out)
	ri.exitCode = resp.ReturnCode
	writeJSON(w, http.StatusOK, resp)
}

// evalResult turns a run into snekbox's answer.
func (s *Server) evalResult(out *runOutcome) *evalResponse {
	res := out.res
	if res.Reason == jail.ReasonSetupError {
		return evalFailed("SetupError: " + res.Error)
	}
	b := out.stdout
	if res.StdoutTruncated {
		b = cutPartialRune(b)
	}
	var stdout string
	if utf8.Valid(b) {
		stdout = string(b)
	} else if s.cfg.Eval.InvalidUTF8 == "replace" {
		stdout = replaceInvalid(b)
	} else {
		return evalFailed("UnicodeDecodeError: invalid Unicode in output pipe")
	}
	stdout = universalNewlines(stdout)

	code := res.ExitCode
	if res.Reason == jail.ReasonOutputLimit {
		code = 128 + 15 // snekbox stops nsjail with SIGTERM when the output is too long
	}
	files := res.Files
	if res.FilesError != "" && !filesErrorIsLimit(res.FilesError) {
		m := "FileParsingError: " + res.FilesError
		if strings.Contains(res.FilesError, "timed out") {
			m = "TimeoutError: Exceeded time limit while parsing attachments"
		}
		return evalFailed(m)
	}
	return &evalResponse{Stdout: stdout, ReturnCode: &code, Files: outFiles(files)}
}

// evalFlags are the interpreter flags of /eval for rt. Python 2 has no -q
// (it only hides the interactive banner): it is left out of a Python 2
// runtime's flags ("-Bqu" becomes "-Bu").
func evalFlags(flags []string, rt *runtimes.Runtime) []string {
	out := append([]string(nil), flags...)
	if !strings.HasPrefix(rt.Version, "2.") {
		return out
	}
	var kept []string
	for _, f := range out {
		if len(f) > 1 && f[0] == '-' && f[1] != '-' && strings.Trim(f[1:], "BqudEsSOIRv") == "" {
			f = strings.ReplaceAll(f, "q", "")
			if f == "-" {
				continue
			}
		}
		kept = append(kept, f)
	}
	return kept
}
