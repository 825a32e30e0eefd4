package main

import (
	"bytes"
	"os"
	"testing"
)

func TestGeneratedFileIsUpToDate(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../wrap_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("store/wrap_gen.go is out of date: run go generate in store/")
	}
}
