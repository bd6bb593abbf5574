package jail

import (
	"context"
	"encoding/json"
	"errors"
)

// Prepared is a single-use jail built ahead of its command: namespaces,
// file tree, cgroups, PID 1 and the command's process, which waits for its
// argv, environment and stdio. Run hands them over; the rest of the run is
// exactly a cold Run's (same limits, measured from the command's execve,
// same Result). A Prepared is used once: Run or Close, never both.
type Prepared struct {
	spec *Spec
	used bool
}

// ErrNotPreparable: the spec needs something a prepared jail cannot give
// (see PrepareKey).
var ErrNotPreparable = errors.New("this spec cannot be prepared ahead")

// PrepareKey returns a key that is equal for two specs exactly when they
// differ at most in Args, Env and ExecPath (what Prepared.Run supplies),
// and ok=false when the spec cannot be prepared: it takes the Go spawn
// path, writes input files, collects output files or passes host fds.
func (s *Spec) PrepareKey() (key string, ok bool) {
	if s.Files != nil || s.Collect != nil || len(s.PassFDs) > 0 || !spawnRaw(s) {
		return "", false
	}
	c := *s
	c.Args, c.Env, c.ExecPath = nil, nil, ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Prepare builds a jail for spec (its Args, Env and ExecPath are ignored:
// Run supplies them). The error is a *SetupError.
func Prepare(spec *Spec) (*Prepared, error) {
	if _, ok := spec.PrepareKey(); !ok {
		return nil, ErrNotPreparable
	}
	c := *spec
	return &Prepared{spec: &c}, nil
}

// Run runs args in the prepared jail with env (the complete environment,
// as Spec.Env) and stdio; execPath is Spec.ExecPath. It behaves as
// Run(ctx, spec with Args, Env and ExecPath set, stdio).
func (p *Prepared) Run(ctx context.Context, args, env []string, execPath string, stdio IO) (*Result, error) {
	if p.used {
		return nil, errors.New("prepared jail: already used")
	}
	p.used = true
	s := *p.spec
	s.Args, s.Env, s.ExecPath = args, env, execPath
	return Run(ctx, &s, stdio)
}

// Close destroys a prepared jail that was not run (a no-op after Run).
func (p *Prepared) Close() { p.used = true }
