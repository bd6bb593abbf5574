package main

import (
	"fmt"
	"os"
)

func cmdNsjail(args []string) int {
	fmt.Fprintln(os.Stderr, "pycage: nsjail mode not built yet")
	return 125
}
