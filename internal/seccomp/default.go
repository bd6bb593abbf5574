package seccomp

import _ "embed"

//go:embed default.kafel
var defaultPolicy string

// DefaultPolicyName is the name the default policy has in error messages.
const DefaultPolicyName = "default.kafel"

// DefaultPolicy returns the kafel text of pycage's default Python policy,
// the one an empty policy compiles to. Users can read it, copy it and
// extend it (`pycage seccomp --print-default`).
func DefaultPolicy() string { return defaultPolicy }
