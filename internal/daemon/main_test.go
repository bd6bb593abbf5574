package daemon

import (
	"os"
	"testing"

	"github.com/pycage/pycage/internal/jail"
)

func TestMain(m *testing.M) {
	jail.Main() // a jail on the Go spawn path re-executes this test binary
	os.Exit(m.Run())
}
