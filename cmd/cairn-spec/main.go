// Command cairn-spec runs MongoDB's unified-format specification tests
// against a server and compares the failures with an expected-failures
// list. See docs/spec-tests.md.
//
//	cairn-spec --uri mongodb://127.0.0.1:27017 --spec-dir ../shared/spec-tests \
//	    --expected-failures spectest-expected-failures.txt crud gridfs
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/spectest"
)

// defaultAreas are the areas run when none is named.
var defaultAreas = []string{
	"crud", "gridfs", "collection-management", "index-management", "run-command",
	"command-logging-and-monitoring/tests/monitoring", "versioned-api",
	"read-write-concern/tests/operation", "retryable-reads", "unified-test-format/tests/valid-pass",
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	uri, specDir, expected string
	update, verbose        bool
	serverless             bool
	runRe                  *regexp.Regexp
	timeout                time.Duration
	areas                  []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fset := flag.NewFlagSet("cairn-spec", flag.ContinueOnError)
	fset.SetOutput(stderr)
	c := &config{}
	fset.StringVar(&c.uri, "uri", "mongodb://127.0.0.1:27017", "connection string of the server under test")
	fset.StringVar(&c.specDir, "spec-dir", "../shared/spec-tests", "root of the specification tests (the spec repo's source/ layout)")
	fset.StringVar(&c.expected, "expected-failures", "", "expected-failures file (file<TAB>test<TAB>reason per line)")
	fset.BoolVar(&c.update, "update-expected", false, "rewrite the expected-failures file with the current failures")
	fset.BoolVar(&c.verbose, "v", false, "verbose: also print passing tests")
	fset.BoolVar(&c.serverless, "serverless", false, "the deployment is Atlas Serverless (for runOnRequirements)")
	fset.DurationVar(&c.timeout, "test-timeout", 60*time.Second, "time limit for each test")
	runExpr := fset.String("run", "", "only run tests whose description matches this regular expression")
	if err := fset.Parse(args); err != nil {
		return nil, err
	}
	if *runExpr != "" {
		re, err := regexp.Compile(*runExpr)
		if err != nil {
			return nil, fmt.Errorf("--run: %w", err)
		}
		c.runRe = re
	}
	if c.update && c.expected == "" {
		return nil, fmt.Errorf("--update-expected needs --expected-failures")
	}
	c.areas = fset.Args()
	if len(c.areas) == 0 {
		c.areas = defaultAreas
	}
	return c, nil
}

// areaFiles lists the .json test files under an area, sorted.
func areaFiles(specDir, area string) ([]string, error) {
	root := filepath.Join(specDir, filepath.FromSlash(area))
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("area %s: %w", area, err)
	}
	if !st.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Runner self-tests that must not pass, and legacy formats, are
			// only run when named explicitly.
			if p != root && (d.Name() == "invalid" || d.Name() == "legacy") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func isUnifiedFile(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return true // let the runner report it
	}
	return bytes.Contains(data, []byte(`"schemaVersion"`))
}

type counts struct{ pass, fail, skip int }

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	expected, err := spectest.ReadExpectedFailures(cfg.expected)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	runner, err := spectest.NewRunner(cctx, spectest.Config{URI: cfg.uri, Serverless: cfg.serverless, TestTimeout: cfg.timeout})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "cairn-spec: %v\n", err)
		return 2
	}
	defer func() { _ = runner.Close(context.Background()) }()
	info := runner.Info()
	fmt.Fprintf(stdout, "server %s, topology %s\n", info.Version, info.Topology)

	var selected func(string) bool
	if cfg.runRe != nil {
		selected = cfg.runRe.MatchString
	}
	var (
		total         counts
		unexpected    int
		nowPassing    []string
		failures      []spectest.ExpectedFailure
		ran           = map[string]bool{}
		areaSummaries []string
	)
	for _, area := range cfg.areas {
		files, err := areaFiles(cfg.specDir, area)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		var c counts
		for _, path := range files {
			if !isUnifiedFile(path) {
				continue
			}
			rel, err := filepath.Rel(cfg.specDir, path)
			if err != nil {
				rel = path
			}
			rel = filepath.ToSlash(rel)
			for _, res := range runner.RunFile(ctx, path, selected) {
				key := rel + "\t" + res.Test
				ran[key] = true
				listed := expected.Has(rel, res.Test)
				switch res.Status {
				case spectest.Pass:
					c.pass++
					if listed {
						nowPassing = append(nowPassing, fmt.Sprintf("%s %q", rel, res.Test))
					}
					if cfg.verbose {
						fmt.Fprintf(stdout, "PASS %s %q\n", rel, res.Test)
					}
				case spectest.Fail:
					c.fail++
					failures = append(failures, spectest.ExpectedFailure{File: rel, Test: res.Test, Reason: res.Reason})
					line := spectest.FormatResult(rel, res)
					if listed {
						line += " (expected failure)"
					} else {
						unexpected++
					}
					fmt.Fprintln(stdout, line)
				case spectest.Skip:
					c.skip++
					fmt.Fprintln(stdout, spectest.FormatResult(rel, res))
				}
			}
		}
		areaSummaries = append(areaSummaries, fmt.Sprintf("%s: %d passed, %d failed, %d skipped", area, c.pass, c.fail, c.skip))
		total.pass += c.pass
		total.fail += c.fail
		total.skip += c.skip
	}
	for _, s := range areaSummaries {
		fmt.Fprintln(stdout, s)
	}
	if len(nowPassing) > 0 {
		fmt.Fprintf(stdout, "%d tests listed in %s now pass; remove them (or run with --update-expected):\n", len(nowPassing), cfg.expected)
		for _, s := range nowPassing {
			fmt.Fprintln(stdout, "  "+s)
		}
	}
	if cfg.update {
		updated := expected.Updated(failures, func(k string) bool { return ran[k] })
		var buf bytes.Buffer
		if err := updated.Write(&buf); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		if err := os.WriteFile(cfg.expected, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		fmt.Fprintf(stdout, "wrote %d expected failures to %s\n", len(updated.Entries), cfg.expected)
		unexpected = 0
	}
	if unexpected > 0 {
		fmt.Fprintf(stdout, "%d unexpected failures\n", unexpected)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", total.pass, total.fail, total.skip)
	if unexpected > 0 {
		return 1
	}
	return 0
}
