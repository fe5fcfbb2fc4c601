package expr

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"github.com/dlclark/regexp2"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// coerceString converts a value to a string the way $substr, $toLower and
// friends do: null/missing become "", numbers and dates are rendered.
func coerceString(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bson.Symbol:
		return string(x), nil
	case int32, int64, float64, bson.Decimal128, bson.ObjectID, bson.DateTime:
		s, err := toStringValue(x)
		if err != nil {
			return "", err
		}
		return s.(string), nil
	case bson.Timestamp:
		return bsonutil.Format(x), nil
	}
	if nullish(v) {
		return "", nil
	}
	return "", mongoerr.Newf(16007, "can't convert from BSON type %s to String", typeName(v))
}

func evalConcat(_ string, vals []any) (any, error) {
	var b strings.Builder
	for _, v := range vals {
		if nullish(v) {
			return nil, nil
		}
	}
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			return nil, mongoerr.Newf(16702, "$concat only supports strings, not %s", typeName(v))
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func intArg(v any) (int64, bool) {
	if !bsonutil.IsNumber(v) {
		return 0, false
	}
	return bsonutil.ToInt64(v)
}

func evalSubstrBytes(name string, vals []any) (any, error) {
	s, err := coerceString(name, vals[0])
	if err != nil {
		return nil, err
	}
	if !bsonutil.IsNumber(vals[1]) {
		return nil, mongoerr.Newf(16034, "%s: starting index must be a numeric type (is BSON type %s)", name, typeName(vals[1]))
	}
	if !bsonutil.IsNumber(vals[2]) {
		return nil, mongoerr.Newf(16035, "%s: length must be a numeric type (is BSON type %s)", name, typeName(vals[2]))
	}
	startF, lenF := asFloat(vals[1]), asFloat(vals[2])
	if startF < 0 {
		return "", nil
	}
	start := int(startF)
	if start >= len(s) {
		return "", nil
	}
	end := len(s)
	if lenF >= 0 && float64(start)+lenF < float64(len(s)) {
		end = start + int(lenF)
	}
	if start < len(s) && !utf8.RuneStart(s[start]) {
		return nil, mongoerr.Newf(28656, "%s:  Invalid range, starting index is a UTF-8 continuation byte.", name)
	}
	if end < len(s) && !utf8.RuneStart(s[end]) {
		return nil, mongoerr.Newf(28657, "%s:  Invalid range, ending index is in the middle of a UTF-8 character.", name)
	}
	return s[start:end], nil
}

func evalSubstrCP(name string, vals []any) (any, error) {
	s, err := coerceString(name, vals[0])
	if err != nil {
		return nil, err
	}
	if !bsonutil.IsNumber(vals[1]) {
		return nil, mongoerr.Newf(34450, "%s: starting index must be a numeric type (is BSON type %s)", name, typeName(vals[1]))
	}
	if !bsonutil.IsNumber(vals[2]) {
		return nil, mongoerr.Newf(34452, "%s: length must be a numeric type (is BSON type %s)", name, typeName(vals[2]))
	}
	start, ok := bsonutil.ToInt64(vals[1])
	if !ok || start > 1<<31-1 {
		return nil, mongoerr.Newf(34451, "%s: starting index cannot be represented as a 32-bit integral value", name)
	}
	n, ok := bsonutil.ToInt64(vals[2])
	if !ok || n > 1<<31-1 {
		return nil, mongoerr.Newf(34453, "%s: length cannot be represented as a 32-bit integral value", name)
	}
	if start < 0 {
		return nil, mongoerr.Newf(34455, "%s: the starting index must be nonnegative integer.", name)
	}
	if n < 0 {
		return nil, mongoerr.Newf(34454, "%s: length must be a nonnegative integer.", name)
	}
	r := []rune(s)
	if start >= int64(len(r)) {
		return "", nil
	}
	end := start + n
	if end > int64(len(r)) {
		end = int64(len(r))
	}
	return string(r[start:end]), nil
}

func evalStrLen(cp bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		s, ok := vals[0].(string)
		if !ok {
			code := mongoerr.Code(34473)
			if cp {
				code = 34471
			}
			return nil, mongoerr.Newf(code, "%s requires a string argument, found: %s", name, typeName(vals[0]))
		}
		if cp {
			return int32(utf8.RuneCountInString(s)), nil
		}
		return int32(len(s)), nil
	}
}

func asciiCase(upper bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		s, err := coerceString(name, vals[0])
		if err != nil {
			return nil, err
		}
		b := []byte(s)
		for i, c := range b {
			if upper && c >= 'a' && c <= 'z' {
				b[i] = c - 32
			} else if !upper && c >= 'A' && c <= 'Z' {
				b[i] = c + 32
			}
		}
		return string(b), nil
	}
}

func evalStrcasecmp(name string, vals []any) (any, error) {
	a, err := coerceString(name, vals[0])
	if err != nil {
		return nil, err
	}
	b, err := coerceString(name, vals[1])
	if err != nil {
		return nil, err
	}
	a, b = strings.ToUpper(a), strings.ToUpper(b)
	switch {
	case a < b:
		return int32(-1), nil
	case a > b:
		return int32(1), nil
	}
	return int32(0), nil
}

// regexTimeout bounds a single regular expression match.
var regexTimeout = 10 * time.Second

// trimSpace holds the characters $trim removes by default.
const trimSpace = "\x00 \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"

func parseTrim(left, right bool) parseFunc {
	return func(name string, arg any) (Expr, error) {
		a, err := namedArgs(name, arg, []string{"input"}, []string{"chars"})
		if err != nil {
			code := mongoerr.Code(50696)
			if _, ok := asDoc(arg); ok {
				code = 50694
				if strings.HasPrefix(err.Error(), "Missing") {
					code = 50695
				}
			}
			return nil, withCode(err, code)
		}
		return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
			in, err := a["input"].Eval(v)
			if err != nil {
				return nil, err
			}
			chars := trimSpace
			if a["chars"] != nil {
				cv, err := a["chars"].Eval(v)
				if err != nil {
					return nil, err
				}
				if nullish(cv) {
					return nil, nil
				}
				cs, ok := cv.(string)
				if !ok {
					return nil, mongoerr.Newf(50700, "%s requires 'chars' to be a string, got %s (of type %s) instead.", name, bsonutil.Format(cv), typeName(cv))
				}
				chars = cs
			}
			if nullish(in) {
				return nil, nil
			}
			s, ok := in.(string)
			if !ok {
				return nil, mongoerr.Newf(50699, "%s requires its input to be a string, got %s (of type %s) instead.", name, bsonutil.Format(in), typeName(in))
			}
			if left {
				s = strings.TrimLeft(s, chars)
			}
			if right {
				s = strings.TrimRight(s, chars)
			}
			return s, nil
		}}, nil
	}
}

func evalSplit(_ string, vals []any) (any, error) {
	if nullish(vals[0]) || nullish(vals[1]) {
		return nil, nil
	}
	s, ok := vals[0].(string)
	if !ok {
		return nil, mongoerr.Newf(40085, "$split requires an expression that evaluates to a string as a first argument, found: %s", typeName(vals[0]))
	}
	d, ok := vals[1].(string)
	if !ok {
		return nil, mongoerr.Newf(40086, "$split requires an expression that evaluates to a string as a second argument, found: %s", typeName(vals[1]))
	}
	if d == "" {
		return nil, mongoerr.New(40087, "$split requires a non-empty separator")
	}
	parts := strings.Split(s, d)
	out := make(bson.A, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func evalIndexOfStr(cp bool) func(string, []any) (any, error) {
	return func(name string, vals []any) (any, error) {
		if nullish(vals[0]) {
			return nil, nil
		}
		s, ok := vals[0].(string)
		if !ok {
			return nil, mongoerr.Newf(map[bool]mongoerr.Code{false: 40091, true: 40093}[cp], "%s requires a string as the first argument, found: %s", name, typeName(vals[0]))
		}
		sub, ok := vals[1].(string)
		if !ok {
			return nil, mongoerr.Newf(map[bool]mongoerr.Code{false: 40092, true: 40094}[cp], "%s requires a string as the second argument, found: %s", name, typeName(vals[1]))
		}
		var units []string
		if cp {
			for _, r := range s {
				units = append(units, string(r))
			}
		}
		length := int64(len(s))
		if cp {
			length = int64(len(units))
		}
		start, end := int64(0), length
		for i, idx := range vals[2:] {
			n, ok := intArg(idx)
			if !ok {
				return nil, mongoerr.Newf(40096, "%s requires an integral %s index, found a value of type: %s, with value: %s", name, []string{"starting", "ending"}[i], typeName(idx), bsonutil.Format(idx))
			}
			if n < 0 {
				return nil, mongoerr.Newf(40097, "%s requires a nonnegative %s index, found: %d", name, []string{"start", "end"}[i], n)
			}
			if i == 0 {
				start = n
			} else {
				end = min(n, length)
			}
		}
		if start > length || start > end {
			return int32(-1), nil
		}
		var hay string
		if cp {
			hay = strings.Join(units[start:end], "")
		} else {
			hay = s[start:end]
		}
		i := strings.Index(hay, sub)
		if i < 0 {
			return int32(-1), nil
		}
		if cp {
			i = utf8.RuneCountInString(hay[:i])
		}
		return int32(int64(i) + start), nil
	}
}

// ---- regular expressions ----

type regexArgs struct {
	input, regex, options Expr
}

func parseRegexOp(name string, arg any) (regexArgs, error) {
	d, ok := asDoc(arg)
	if !ok {
		return regexArgs{}, mongoerr.Newf(51103, "%s expects an object of named arguments but found: %s", name, typeName(arg))
	}
	var r regexArgs
	for _, e := range d {
		x, err := Parse(e.Value)
		if err != nil {
			return r, err
		}
		switch e.Key {
		case "input":
			r.input = x
		case "regex":
			r.regex = x
		case "options":
			r.options = x
		default:
			return r, mongoerr.Newf(31024, "%s found an unknown argument: %s", name, e.Key)
		}
	}
	if r.input == nil {
		return r, mongoerr.Newf(31022, "%s requires 'input' parameter", name)
	}
	if r.regex == nil {
		return r, mongoerr.Newf(31023, "%s requires 'regex' parameter", name)
	}
	return r, nil
}

// compile evaluates the regex arguments; re is nil when the input or the
// regex is null (the caller returns its "no match" value).
func (r regexArgs) compile(name string, v *Vars) (re *regexp2.Regexp, input string, err error) {
	in, err := r.input.Eval(v)
	if err != nil {
		return nil, "", err
	}
	rv, err := r.regex.Eval(v)
	if err != nil {
		return nil, "", err
	}
	opts := ""
	if r.options != nil {
		ov, err := r.options.Eval(v)
		if err != nil {
			return nil, "", err
		}
		if !nullish(ov) {
			s, ok := ov.(string)
			if !ok {
				return nil, "", mongoerr.Newf(51106, "%s needs 'options' to be of type string", name)
			}
			opts = s
		}
	}
	var pattern string
	switch x := rv.(type) {
	case string:
		pattern = x
	case bson.Regex:
		pattern = x.Pattern
		if x.Options != "" && opts != "" {
			return nil, "", mongoerr.Newf(51075, "%s: regex option(s) specified in both 'regex' and 'option' fields", name)
		}
		if x.Options != "" {
			opts = x.Options
		}
	default:
		if !nullish(rv) {
			return nil, "", mongoerr.Newf(51105, "%s needs 'regex' to be of type string or regex", name)
		}
	}
	if strings.ContainsRune(pattern, 0) {
		return nil, "", mongoerr.Newf(51109, "%s: regular expression cannot contain an embedded null byte", name)
	}
	if nullish(in) || nullish(rv) {
		return nil, "", nil
	}
	s, ok := in.(string)
	if !ok {
		return nil, "", mongoerr.Newf(51104, "%s needs 'input' to be of type string", name)
	}
	re, err = compileRegex(name, pattern, opts)
	return re, s, err
}

func compileRegex(name, pattern, opts string) (*regexp2.Regexp, error) {
	var o regexp2.RegexOptions
	for _, c := range opts {
		switch c {
		case 'i':
			o |= regexp2.IgnoreCase
		case 'm':
			o |= regexp2.Multiline
		case 's':
			o |= regexp2.Singleline
		case 'x':
			o |= regexp2.IgnorePatternWhitespace
		case 'u':
		default:
			return nil, mongoerr.Newf(51108, "%s invalid flag in regex options: %c", name, c)
		}
	}
	re, err := regexp2.Compile(pattern, o)
	if err != nil {
		return nil, mongoerr.Newf(51111, "Invalid Regex in %s: %v", name, err)
	}
	re.MatchTimeout = regexTimeout
	return re, nil
}

func matchDoc(m *regexp2.Match) bson.D {
	groups := m.Groups()
	caps := bson.A{}
	for _, g := range groups[1:] {
		if len(g.Captures) == 0 {
			caps = append(caps, nil)
		} else {
			caps = append(caps, g.String())
		}
	}
	return bson.D{{Key: "match", Value: m.String()}, {Key: "idx", Value: int32(m.Index)}, {Key: "captures", Value: caps}}
}

func regexErr(name string, err error) error {
	return mongoerr.Newf(51156, "Error occurred while executing the regular expression in %s: %v", name, err)
}

func parseRegexMatch(name string, arg any) (Expr, error) {
	r, err := parseRegexOp(name, arg)
	if err != nil {
		return nil, err
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		re, s, err := r.compile(name, v)
		if err != nil || re == nil {
			return false, err
		}
		ok, err := re.MatchString(s)
		if err != nil {
			return nil, regexErr(name, err)
		}
		return ok, nil
	}}, nil
}

func parseRegexFind(name string, arg any) (Expr, error) {
	r, err := parseRegexOp(name, arg)
	if err != nil {
		return nil, err
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		re, s, err := r.compile(name, v)
		if err != nil || re == nil {
			return nil, err
		}
		m, err := re.FindStringMatch(s)
		if err != nil {
			return nil, regexErr(name, err)
		}
		if m == nil {
			return nil, nil
		}
		return matchDoc(m), nil
	}}, nil
}

func parseRegexFindAll(name string, arg any) (Expr, error) {
	r, err := parseRegexOp(name, arg)
	if err != nil {
		return nil, err
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		re, s, err := r.compile(name, v)
		if err != nil || re == nil {
			return bson.A{}, err
		}
		out := bson.A{}
		m, err := re.FindStringMatch(s)
		for m != nil && err == nil {
			out = append(out, matchDoc(m))
			m, err = re.FindNextMatch(m)
		}
		if err != nil {
			return nil, regexErr(name, err)
		}
		return out, nil
	}}, nil
}

func parseReplace(all bool) parseFunc {
	return func(name string, arg any) (Expr, error) {
		a, err := namedArgs(name, arg, []string{"input", "find", "replacement"}, nil)
		if err != nil {
			return nil, withCode(err, 51751)
		}
		return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
			var strs [3]string
			null := false
			for i, k := range []string{"input", "find", "replacement"} {
				r, err := a[k].Eval(v)
				if err != nil {
					return nil, err
				}
				if nullish(r) {
					null = true
					continue
				}
				s, ok := r.(string)
				if !ok {
					return nil, mongoerr.Newf(mongoerr.Code(51746-i), "%s requires that '%s' be a string, found: %s", name, k, bsonutil.Format(r))
				}
				strs[i] = s
			}
			if null {
				return nil, nil
			}
			if all {
				return strings.ReplaceAll(strs[0], strs[1], strs[2]), nil
			}
			return strings.Replace(strs[0], strs[1], strs[2], 1), nil
		}}, nil
	}
}

func init() {
	register("$concat", fixed(0, -1, evalConcat))
	register("$substr", fixed(3, 3, evalSubstrBytes))
	register("$substrBytes", fixed(3, 3, evalSubstrBytes))
	register("$substrCP", fixed(3, 3, evalSubstrCP))
	register("$strLenBytes", fixed(1, 1, evalStrLen(false)))
	register("$strLenCP", fixed(1, 1, evalStrLen(true)))
	register("$toLower", fixed(1, 1, asciiCase(false)))
	register("$toUpper", fixed(1, 1, asciiCase(true)))
	register("$strcasecmp", fixed(2, 2, evalStrcasecmp))
	register("$trim", parseTrim(true, true))
	register("$ltrim", parseTrim(true, false))
	register("$rtrim", parseTrim(false, true))
	register("$split", fixed(2, 2, evalSplit))
	register("$indexOfBytes", fixed(2, 4, evalIndexOfStr(false)))
	register("$indexOfCP", fixed(2, 4, evalIndexOfStr(true)))
	register("$regexMatch", parseRegexMatch)
	register("$regexFind", parseRegexFind)
	register("$regexFindAll", parseRegexFindAll)
	register("$replaceOne", parseReplace(false))
	register("$replaceAll", parseReplace(true))
}
