package spectest

import (
	"bytes"
	"strings"
	"testing"
)

func TestExpectedFailures(t *testing.T) {
	in := "# header comment\n\n" +
		"crud/tests/unified/a.json\ttest one\tserver lacks X\n" +
		"# a comment in the middle\n" +
		"crud/tests/unified/b.json\ttest two\t\n" +
		"gridfs/tests/c.json\tother area\tkept\n"
	ef, err := parseExpectedFailures(strings.NewReader(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	if len(ef.Entries) != 3 || !ef.Has("crud/tests/unified/a.json", "test one") || ef.Has("crud/tests/unified/a.json", "test two") {
		t.Fatalf("parsed %v", ef.Entries)
	}
	if ef.Entries["crud/tests/unified/a.json\ttest one"].Reason != "server lacks X" {
		t.Fatalf("reason not parsed: %v", ef.Entries)
	}
	// a.json still fails (reason kept), b.json passes now (dropped), d.json is new;
	// gridfs did not run, so its entry stays.
	ran := map[string]bool{"crud/tests/unified/a.json\ttest one": true, "crud/tests/unified/b.json\ttest two": true, "crud/tests/unified/d.json\tnew": true}
	up := ef.Updated([]ExpectedFailure{
		{File: "crud/tests/unified/a.json", Test: "test one", Reason: "new message"},
		{File: "crud/tests/unified/d.json", Test: "new", Reason: "fresh\treason"},
	}, func(k string) bool { return ran[k] })
	var buf bytes.Buffer
	if err := up.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "# header comment\n\n" +
		"crud/tests/unified/a.json\ttest one\tserver lacks X\n" +
		"crud/tests/unified/d.json\tnew\tfresh reason\n" +
		"gridfs/tests/c.json\tother area\tkept\n"
	if buf.String() != want {
		t.Fatalf("Write:\n%s\nwant:\n%s", buf.String(), want)
	}
	if _, err := parseExpectedFailures(strings.NewReader("no tabs here\n"), "x"); err == nil {
		t.Fatal("malformed line accepted")
	}
}
