package server

import (
	"context"
	_ "embed"
	"net/http"
	"sync"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

// readiness caches the result of the last probe jail.
type readiness struct {
	ttl time.Duration

	mu      sync.Mutex // held during a probe: concurrent checks share it
	checked time.Time
	err     string
	took    time.Duration
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed("GET"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// probe runs a trivial jail (/bin/true under the default policy, with the
// service's cgroup parent) to prove a jail can start right now: namespaces,
// mounts, cgroups and seccomp all work.
func (s *Server) probe() (string, time.Duration) {
	spec := jail.DefaultSpec([]string{"/bin/true"})
	spec.Limits.Wall = 5 * time.Second
	spec.Cgroup.Parent = s.cfg.CgroupParent
	ctx, cancel := context.WithTimeout(s.killCtx, 15*time.Second)
	defer cancel()
	t0 := time.Now()
	res, err := jail.Run(ctx, spec, jail.IO{})
	took := time.Since(t0)
	switch {
	case err != nil:
		return err.Error(), took
	case res.Reason != jail.ReasonExited || res.ExitCode != 0:
		return "probe jail ended with reason " + string(res.Reason), took
	}
	return "", took
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed("GET"))
		return
	}
	notReady := func(why string) {
		info(r).reason = "not-ready"
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": why})
	}
	rd := &s.ready
	rd.mu.Lock()
	if rd.checked.IsZero() || time.Since(rd.checked) > rd.ttl {
		if !s.startRun() { // Shutdown waits for the probe jail too
			rd.mu.Unlock()
			notReady("shutting down")
			return
		}
		rd.err, rd.took = s.probe()
		s.runs.Done()
		rd.checked = time.Now()
		if rd.err != "" {
			s.met.probeFailures.Inc()
			s.log.Warn("readiness probe failed", "error", rd.err)
		}
	}
	perr, took, at := rd.err, rd.took, rd.checked
	rd.mu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		notReady("shutting down")
		return
	}
	if perr != "" {
		notReady("probe jail failed: " + perr)
		return
	}
	if s.lim.admitted.Load() >= s.lim.capacity {
		notReady("all jail slots are busy and the queue is full")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":       "ready",
		"probe_ms":     ms(took),
		"probed_at":    at.UTC().Format(time.RFC3339Nano),
		"running":      s.lim.running.Load(),
		"queued":       s.lim.queued(),
		"slots":        s.cfg.MaxConcurrent,
		"queue_limit":  s.cfg.MaxQueue,
		"runtimes_num": len(s.runtimes.List()),
	})
}

//go:generate cp openapi.yaml ../../docs/openapi.yaml

//go:embed openapi.yaml
var openapiYAML []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, r, methodNotAllowed("GET"))
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openapiYAML)
}
