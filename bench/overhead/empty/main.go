// Command empty is the baseline of a Go process start: the runtime and no
// package of ours (bench/overhead's "empty Go binary" row).
package main

func main() {}
