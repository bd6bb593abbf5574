package main

import (
	"fmt"
	"os"
)

func cmdServe(args []string) int {
	fmt.Fprintln(os.Stderr, "pycage serve: not built yet")
	return 125
}
