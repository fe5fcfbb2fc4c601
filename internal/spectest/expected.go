package spectest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// ExpectedFailure is one line of the expected-failures file.
type ExpectedFailure struct {
	File   string // path relative to the spec directory, e.g. crud/tests/unified/find.json
	Test   string // test description
	Reason string
}

// Key identifies a test: file and description.
func (e ExpectedFailure) Key() string { return e.File + "\t" + e.Test }

// ExpectedFailures is the parsed expected-failures file, keyed by Key().
type ExpectedFailures struct {
	Header  []string // leading comment lines, kept on rewrite
	Entries map[string]ExpectedFailure
}

// ReadExpectedFailures reads the file at path; a missing file is empty.
// Format: one "file<TAB>test description<TAB>reason" per line; blank lines
// and lines starting with # are ignored.
func ReadExpectedFailures(path string) (*ExpectedFailures, error) {
	ef := &ExpectedFailures{Entries: map[string]ExpectedFailure{}}
	if path == "" {
		return ef, nil
	}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return ef, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open expected failures: %w", err)
	}
	defer f.Close()
	return parseExpectedFailures(f, path)
}

func parseExpectedFailures(r io.Reader, name string) (*ExpectedFailures, error) {
	ef := &ExpectedFailures{Entries: map[string]ExpectedFailure{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	inHeader := true
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			if inHeader {
				ef.Header = append(ef.Header, line)
			}
			continue
		}
		inHeader = false
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 2 {
			return nil, fmt.Errorf("%s:%d: want file<TAB>test<TAB>reason", name, n)
		}
		e := ExpectedFailure{File: parts[0], Test: parts[1]}
		if len(parts) == 3 {
			e.Reason = parts[2]
		}
		ef.Entries[e.Key()] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ef, nil
}

// Has reports whether file/test is listed.
func (ef *ExpectedFailures) Has(file, test string) bool {
	_, ok := ef.Entries[file+"\t"+test]
	return ok
}

// Write writes the header and entries, sorted by file and test.
func (ef *ExpectedFailures) Write(w io.Writer) error {
	for _, h := range ef.Header {
		if _, err := fmt.Fprintln(w, h); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(ef.Entries))
	for k := range ef.Entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := ef.Entries[k]
		reason := strings.NewReplacer("\t", " ", "\n", " ").Replace(e.Reason)
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\n", e.File, e.Test, reason); err != nil {
			return err
		}
	}
	return nil
}

// Updated returns a new list holding the given current failures, keeping
// the reasons already recorded for tests that were listed before. Entries
// for tests that did not run this time (ran reports false for their Key)
// are kept as they are.
func (ef *ExpectedFailures) Updated(current []ExpectedFailure, ran func(key string) bool) *ExpectedFailures {
	out := &ExpectedFailures{Header: ef.Header, Entries: map[string]ExpectedFailure{}}
	for k, e := range ef.Entries {
		if ran == nil || !ran(k) {
			out.Entries[k] = e
		}
	}
	for _, c := range current {
		if old, ok := ef.Entries[c.Key()]; ok && old.Reason != "" {
			c.Reason = old.Reason
		}
		out.Entries[c.Key()] = c
	}
	return out
}
