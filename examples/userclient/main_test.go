package main

import (
	"os"
	"regexp"
	"testing"
)

// TestREADMEShowsThisProgram keeps the README's library example and this
// program the same, so that the README's compiles.
func TestREADMEShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Using the services as a library.*?```go\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no Go block under \"Using the services as a library\"")
	}
	prog, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(m[1]) != string(prog) {
		t.Errorf("README's library example differs from examples/userclient/main.go:\n%s", m[1])
	}
}
