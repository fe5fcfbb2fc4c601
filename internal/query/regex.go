package query

import (
	"strings"
	"time"

	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/dlclark/regexp2"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// compiledRegex is a query regex: its MongoDB pattern and options (for
// matching regex values by equality) and the compiled matcher.
type compiledRegex struct {
	pattern, options string
	re               *regexp2.Regexp
}

// Regex error codes as MongoDB reports them.
const (
	codeRegexInvalid     mongoerr.Code = 51091
	codeRegexBadFlag     mongoerr.Code = 51108
	codeRegexBothOptions mongoerr.Code = 51075
)

// translatePCRE rewrites the PCRE constructs that .NET syntax spells
// differently: named groups (?P<n>...), back-references (?P=n) and
// (?P>n) is not supported by regexp2 and is left to fail compilation.
func translatePCRE(p string) string {
	if !strings.Contains(p, "(?P") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			b.WriteByte(p[i])
			b.WriteByte(p[i+1])
			i++
			continue
		}
		if strings.HasPrefix(p[i:], "(?P<") {
			b.WriteString("(?<")
			i += 3
			continue
		}
		if strings.HasPrefix(p[i:], "(?P=") {
			end := strings.IndexByte(p[i:], ')')
			if end > 0 {
				b.WriteString(`\k<` + p[i+4:i+end] + `>`)
				i += end
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// compileRegex compiles a MongoDB (PCRE) regular expression with options
// from "imsxu".
func compileRegex(pattern, options string) (*compiledRegex, error) {
	if strings.IndexByte(pattern, 0) >= 0 {
		return nil, mongoerr.New(codeRegexInvalid, "Regular expression cannot contain an embedded null byte")
	}
	var opts regexp2.RegexOptions
	for _, c := range options {
		switch c {
		case 'i':
			opts |= regexp2.IgnoreCase
		case 'm':
			opts |= regexp2.Multiline
		case 's':
			opts |= regexp2.Singleline
		case 'x':
			opts |= regexp2.IgnorePatternWhitespace
		case 'u':
			// UTF-8 mode: regexp2 always works on runes.
		default:
			return nil, mongoerr.Newf(codeRegexBadFlag, "invalid flag in regex options: %c", c)
		}
	}
	re, err := regexp2.Compile(translatePCRE(pattern), opts)
	if err != nil {
		return nil, mongoerr.Newf(codeRegexInvalid, "Regular expression is invalid: %v", err)
	}
	// Bound catastrophic backtracking: a match that runs longer than this
	// fails (counts as no match) instead of tying up the server.
	re.MatchTimeout = regexMatchTimeout
	return &compiledRegex{pattern: pattern, options: options, re: re}, nil
}

// regexMatchTimeout bounds one regular-expression match.
const regexMatchTimeout = 10 * time.Second

// matchValue reports whether a document value matches: strings and symbols
// by regex match, regex values by equal pattern and options.
func (c *compiledRegex) matchValue(v any) bool {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case bson.Symbol:
		s = string(x)
	case bson.Regex:
		return x.Pattern == c.pattern && x.Options == c.options
	default:
		return false
	}
	ok, err := c.re.MatchString(s)
	return err == nil && ok
}

func regexTest(pattern, options string) (fieldTest, error) {
	c, err := compileRegex(pattern, options)
	if err != nil {
		return nil, err
	}
	return &leafTest{mode: modeMatch, pred: func(v any, _ *matchState) bool { return c.matchValue(v) }}, nil
}

// regexOp compiles {$regex: r, $options: o}.
func regexOp(regex, options any, hasOptions bool) (fieldTest, error) {
	opts := ""
	if hasOptions {
		s, ok := options.(string)
		if !ok {
			return nil, badValue("$options has to be a string")
		}
		opts = s
	}
	switch r := regex.(type) {
	case string:
		return regexTest(r, opts)
	case bson.Regex:
		if hasOptions && r.Options != "" {
			return nil, mongoerr.New(codeRegexBothOptions, "options set in both $regex and $options")
		}
		if !hasOptions {
			opts = r.Options
		}
		return regexTest(r.Pattern, opts)
	}
	return nil, badValue("$regex has to be a string")
}
