// Package server is pycage's HTTP service: the snekbox-compatible POST /eval,
// the native versioned API (POST /v1/run, GET /v1/runtimes), health,
// readiness, Prometheus metrics and the OpenAPI document.
//
// Every request runs in a fresh jail built from jail.DefaultSpec; the
// service needs nothing else on the machine (no database, no broker).
// At most Config.MaxConcurrent jails run at once and at most
// Config.MaxQueue requests wait; beyond that a request is refused at once
// with 503 and Retry-After.
package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
)

// Server is the HTTP service. Create it with New, run it with Serve, stop
// it with Shutdown.
type Server struct {
	cfg      Config
	log      *slog.Logger
	runtimes *runtimes.Set
	lim      *limiter
	met      *metrics
	http     *http.Server
	handler  http.Handler

	// killCtx is canceled to kill every running jail (end of the shutdown
	// grace period).
	killCtx  context.Context
	killRuns context.CancelFunc

	// stateDir holds files every run binds read-only (the runtimes' font
	// caches); removed by Shutdown.
	stateDir string

	mu     sync.Mutex
	closed bool           // no new runs start
	runs   sync.WaitGroup // every jail.Run in progress

	ready readiness
	warm  *warmPools // nil: no warm pool
}

// New builds the service from a normalized config.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	rts, err := loadRuntimes(&cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, runtimes: rts}
	s.lim = newLimiter(cfg.MaxConcurrent, cfg.MaxQueue)
	s.met = newMetrics(s.lim, cfg.MaxConcurrent, cfg.MaxQueue)
	s.killCtx, s.killRuns = context.WithCancel(context.Background())
	s.ready.ttl = time.Duration(cfg.ReadyCache)
	s.probeRuntimes()
	s.startPools()

	mux := http.NewServeMux()
	mux.HandleFunc("/eval", s.handleEval)
	mux.HandleFunc("/v1/run", s.handleRun)
	mux.HandleFunc("/v1/runtimes", s.handleRuntimes)
	mux.HandleFunc("/healthz", s.handleHealthz)
	mux.HandleFunc("/readyz", s.handleReadyz)
	mux.Handle("/metrics", promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/openapi.yaml", s.handleOpenAPI)
	mux.HandleFunc("/v1/openapi.yaml", s.handleOpenAPI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, &apiError{Status: http.StatusNotFound, Title: "404 Not Found", reason: "not-found"})
	})
	s.handler = s.logRequests(mux)
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler is the service's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Runtimes returns the configured runtimes.
func (s *Server) Runtimes() *runtimes.Set { return s.runtimes }

// Config returns the effective (normalized) configuration.
func (s *Server) Config() Config { return s.cfg }

// Serve answers requests on ln until Shutdown. It returns
// http.ErrServerClosed after a Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops the service: it stops accepting connections, refuses
// queued requests (503), lets running jails finish for up to grace (or
// until force is closed), then kills the rest and waits until every run
// has returned and been torn down, so that no jail and no cgroup is left
// behind.
func (s *Server) Shutdown(grace time.Duration, force <-chan struct{}) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.lim.close()

	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.http.Shutdown(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-force:
		err = errors.New("forced")
	}
	if err != nil {
		s.log.Warn("shutdown: grace period over, killing running jails", "running", s.lim.running.Load(), "cause", err.Error())
	}
	s.killRuns()
	s.runs.Wait()
	s.closePools()
	jail.WaitTeardowns() // of the runs (RunBackground) and of the pools
	// The handlers of killed runs still answer (503); give them a moment.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	s.http.Shutdown(ctx2)
	s.http.Close()
	if s.stateDir != "" {
		os.RemoveAll(s.stateDir)
	}
	return nil
}

// startRun counts a jail.Run that Shutdown must wait for; false once the
// service is shutting down (no run may start then).
func (s *Server) startRun() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.runs.Add(1)
	return true
}

// reqInfo is what one request log line says; handlers fill it in.
type reqInfo struct {
	id       string
	endpoint string
	reason   string
	runtime  string
	exitCode *int
	queue    time.Duration
	run      time.Duration
	filesIn  int
	filesOut int
	detail   string
	warm     bool // served by a warm sandbox
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

var requestIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`) })

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id (X-Request-Id, taken from the
// request when well-formed) and writes one log line per request: never the
// code, the input or the output.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		ri := &reqInfo{id: r.Header.Get("X-Request-Id")}
		if !requestIDRe().MatchString(ri.id) {
			ri.id = newRequestID()
		}
		w.Header().Set("X-Request-Id", ri.id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		if r.Context().Err() != nil && ri.reason == "client-gone" {
			status = 499 // nginx's "client closed request", for the log only
		}
		attrs := []slog.Attr{
			slog.String("id", ri.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.String("remote", r.RemoteAddr),
			slog.Int64("in_bytes", r.ContentLength),
			slog.Int64("out_bytes", sw.bytes),
			slog.Float64("total_ms", ms(time.Since(t0))),
		}
		if ri.endpoint != "" {
			attrs = append(attrs, slog.String("reason", ri.reason))
			if ri.runtime != "" {
				attrs = append(attrs, slog.String("runtime", ri.runtime))
			}
			if ri.exitCode != nil {
				attrs = append(attrs, slog.Int("exit_code", *ri.exitCode))
			}
			attrs = append(attrs, slog.Float64("queue_ms", ms(ri.queue)), slog.Float64("run_ms", ms(ri.run)),
				slog.Int("files_in", ri.filesIn), slog.Int("files_out", ri.filesOut), slog.Bool("warm", ri.warm))
		}
		if ri.detail != "" {
			attrs = append(attrs, slog.String("detail", ri.detail))
		}
		s.met.requests.WithLabelValues(endpointLabel(r.URL.Path), strconv.Itoa(status), reasonLabel(ri.reason)).Inc()
		level := slog.LevelInfo
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			level = slog.LevelDebug
		}
		if status >= 500 {
			level = slog.LevelWarn
		}
		s.log.LogAttrs(context.Background(), level, "request", attrs...)
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// apiError is an error answer: {"title": ..., "description": ...} (the
// shape snekbox's falcon gives).
type apiError struct {
	Status      int    `json:"-"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	reason      string // for metrics and logs
	retryAfter  int
	allow       string
}

func (e *apiError) Error() string { return e.Title + ": " + e.Description }

func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	ri := info(r)
	if ri.reason == "" {
		ri.reason = e.reason
	}
	if ri.detail == "" && e.Status >= 500 {
		ri.detail = e.Description
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "->" stays "->" (as Python's json writes it)
	err := enc.Encode(v)
	b := buf.Bytes()
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"title":"500 Internal Server Error","description":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func methodNotAllowed(allow string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Title: "405 Method Not Allowed", allow: allow, reason: "method-not-allowed"}
}

// jsonContentType accepts a missing Content-Type (falcon assumes JSON) and
// application/json with any parameters.
func jsonContentType(r *http.Request) *apiError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		return nil
	}
	return &apiError{Status: http.StatusUnsupportedMediaType, Title: "415 Unsupported Media Type",
		Description: ct + " is an unsupported media type.", reason: "unsupported-media-type"}
}

// admit takes a place among the running and queued requests, or answers 503.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) bool {
	if s.lim.admit() {
		return true
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		writeError(w, r, errShutdown())
		return false
	}
	writeError(w, r, &apiError{Status: http.StatusServiceUnavailable, Title: "503 Service Unavailable",
		Description: fmt.Sprintf("all %d jail slots are busy and %d requests are queued; retry later", s.cfg.MaxConcurrent, s.cfg.MaxQueue),
		reason:      "queue-full", retryAfter: 1})
	return false
}

func errShutdown() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Title: "503 Service Unavailable",
		Description: "the service is shutting down", reason: "shutting-down", retryAfter: 1}
}

// readBody reads the whole request body, bounded in size and time.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	max := int64(s.cfg.MaxBody)
	tooLarge := &apiError{Status: http.StatusRequestEntityTooLarge, Title: "413 Payload Too Large",
		Description: fmt.Sprintf("the request body is larger than %d bytes", max), reason: "too-large"}
	if r.ContentLength > max {
		w.Header().Set("Connection", "close")
		return nil, tooLarge
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(time.Duration(s.cfg.BodyTimeout)))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	rc.SetReadDeadline(time.Time{})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.Header().Set("Connection", "close")
			return nil, &apiError{Status: http.StatusRequestTimeout, Title: "408 Request Timeout",
				Description: "the request body did not arrive in time", reason: "body-timeout"}
		}
		return nil, &apiError{Status: http.StatusBadRequest, Title: "400 Bad Request",
			Description: "cannot read the request body", reason: "client-gone"}
	}
	return b, nil
}

// runJob is one run to do.
type runJob struct {
	endpoint string
	spec     *jail.Spec
	stdin    []byte
	merged   bool
	warm     *warmJob // set when a warm sandbox may run it
}

// runOutcome is a finished run.
type runOutcome struct {
	res            *jail.Result
	setupErr       error
	stdout, stderr []byte // merged: both in stdout
	queueWait      time.Duration
	runTime        time.Duration
}

var errClientGone = errors.New("client gone")

// execute waits for a slot and runs job. A nil outcome comes with an
// apiError to answer (503) or errClientGone (nothing to answer).
func (s *Server) execute(r *http.Request, job *runJob) (*runOutcome, *apiError, error) {
	ri := info(r)
	ctx := r.Context()
	t0 := time.Now()
	err := s.lim.acquire(ctx, time.Duration(s.cfg.QueueTimeout))
	ri.queue = time.Since(t0)
	s.met.queueSeconds.WithLabelValues(job.endpoint).Observe(ri.queue.Seconds())
	switch {
	case err == errShuttingDown:
		return nil, errShutdown(), nil
	case err == errQueueTimeout:
		return nil, &apiError{Status: http.StatusServiceUnavailable, Title: "503 Service Unavailable",
			Description: fmt.Sprintf("no jail slot became free within %v; retry later", time.Duration(s.cfg.QueueTimeout)),
			reason:      "queue-timeout", retryAfter: 1}, nil
	case err != nil:
		ri.reason = "client-gone"
		return nil, nil, errClientGone
	}
	defer s.lim.release()

	if !s.startRun() {
		return nil, errShutdown(), nil
	}
	defer s.runs.Done()

	// The run dies with the client's connection or at the end of the
	// shutdown grace period, whichever comes first.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.killCtx, cancel)
	defer stop()

	out := &runOutcome{queueWait: ri.queue}
	var stdout, stderr bytes.Buffer
	stdio := jail.IO{Stdout: &stdout, Stderr: &stderr}
	if job.merged {
		stdio.Stderr = &stdout
	}
	if job.stdin != nil {
		stdio.Stdin = bytes.NewReader(job.stdin)
	}
	t1 := time.Now()
	var warm bool
	if out.res, out.setupErr, warm = s.runWarm(runCtx, job, stdio.Stdout, stdio.Stderr); !warm {
		// The answer goes at the outcome; the jail's teardown follows
		// in the background (Shutdown waits for it).
		out.res, out.setupErr = jail.RunBackground(runCtx, job.spec, stdio)
	}
	ri.warm = warm
	out.runTime = time.Since(t1)
	ri.run = out.runTime
	out.stdout, out.stderr = stdout.Bytes(), stderr.Bytes()
	res := out.res
	ri.reason = string(res.Reason)
	s.met.runSeconds.WithLabelValues(job.endpoint, string(res.Reason)).Observe(out.runTime.Seconds())
	if res.Reason == jail.ReasonSetupError {
		s.met.setupFailures.Inc()
		ri.detail = res.Error
		s.log.Warn("setup error", "id", ri.id, "error", res.Error)
	}
	switch {
	case job.merged && res.StdoutTruncated:
		s.met.truncations.WithLabelValues("merged").Inc()
	default:
		if res.StdoutTruncated {
			s.met.truncations.WithLabelValues("stdout").Inc()
		}
		if res.StderrTruncated {
			s.met.truncations.WithLabelValues("stderr").Inc()
		}
	}
	if res.FilesError != "" {
		s.met.filesErrors.Inc()
	}
	ri.filesOut = len(res.Files)
	if res.Reason == jail.ReasonCanceled {
		if ctx.Err() != nil {
			ri.reason = "client-gone"
			return nil, nil, errClientGone
		}
		return nil, &apiError{Status: http.StatusServiceUnavailable, Title: "503 Service Unavailable",
			Description: "the run was killed: the service is shutting down", reason: "shutting-down", retryAfter: 1}, nil
	}
	return out, nil, nil
}

func endpointLabel(p string) string {
	switch p {
	case "/eval":
		return "eval"
	case "/v1/run":
		return "run"
	case "/v1/runtimes":
		return "runtimes"
	case "/healthz":
		return "healthz"
	case "/readyz":
		return "readyz"
	case "/metrics":
		return "metrics"
	case "/openapi.yaml", "/v1/openapi.yaml":
		return "openapi"
	}
	return "other"
}

func reasonLabel(r string) string {
	if r == "" {
		return "none"
	}
	return r
}

// baseSpec is the default Python policy for rt with the service's limits:
// rt's prefix and lib dirs bound read-only, its font cache copied in.
func (s *Server) baseSpec(rt *runtimes.Runtime, args []string, lim Limits, files []jail.File, collect bool) *jail.Spec {
	spec := jail.DefaultSpec(append([]string{rt.Path}, args...))
	rt.Apply(spec)
	spec.Limits.Wall = time.Duration(lim.Wall)
	spec.Limits.CPU = time.Duration(lim.CPU)
	spec.Limits.Memory = int64(lim.Memory)
	spec.Limits.Pids = lim.Pids
	spec.Limits.Output = int64(lim.Output)
	for i := range spec.Limits.Rlimits {
		if spec.Limits.Rlimits[i].Resource == "fsize" && s.cfg.FileSize > 0 {
			spec.Limits.Rlimits[i].Soft = uint64(s.cfg.FileSize)
			spec.Limits.Rlimits[i].Hard = uint64(s.cfg.FileSize)
		}
	}
	for i := range spec.Mounts {
		if m := &spec.Mounts[i]; m.Kind == jail.MountTmpfs && m.Dst == spec.Cwd && s.cfg.WorkspaceSize > 0 {
			m.Size = int64(s.cfg.WorkspaceSize)
		}
	}
	spec.Files = files
	if !s.cfg.NoFontCache {
		rt.AddFontCache(spec)
	}
	if collect {
		spec.Collect = &jail.CollectSpec{
			MaxFiles:    s.cfg.Files.MaxFiles,
			MaxBytes:    int64(s.cfg.Files.MaxBytes),
			MaxDepth:    s.cfg.Files.MaxDepth,
			Timeout:     time.Duration(s.cfg.Files.Timeout),
			SkipHidden:  true,
			OnlyChanged: true,
		}
	}
	spec.Cgroup.Parent = s.cfg.CgroupParent
	return spec
}

// postBody is the common start of the POST endpoints: OPTIONS answers
// 200 with Allow, other methods 405, a non-JSON content type 415; then
// the request is admitted to the queue (503 beyond it) and its body read
// (413 over the limit). ok is false when the answer has been written;
// otherwise the caller must call leave when done.
func (s *Server) postBody(w http.ResponseWriter, r *http.Request, endpoint string) (raw []byte, leave func(), ok bool) {
	ri := info(r)
	ri.endpoint = endpoint
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		w.Header().Set("Allow", "POST")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		ri.reason = "options"
		return nil, nil, false
	default:
		writeError(w, r, methodNotAllowed("POST"))
		return nil, nil, false
	}
	if e := jsonContentType(r); e != nil {
		writeError(w, r, e)
		return nil, nil, false
	}
	if !s.admit(w, r) {
		return nil, nil, false
	}
	raw, e := s.readBody(w, r)
	if e != nil {
		s.lim.leave()
		writeError(w, r, e)
		return nil, nil, false
	}
	return raw, s.lim.leave, true
}
