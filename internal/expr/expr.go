package expr

import (
	"fmt"
	"strings"

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Expr is a parsed aggregation expression.
type Expr interface {
	// Eval evaluates the expression in scope v. A missing field evaluates
	// to bsonutil.Missing. The result may share memory with the parsed
	// spec or the input document: DeepCopy it before mutating.
	Eval(v *Vars) (any, error)
}

// Parse parses an expression: a literal, a "$path" string, a "$$var"
// string, an expression object ({$op: args}) or a document/array of
// expressions. Errors are *mongoerr.Error with MongoDB's codes.
func Parse(spec any) (Expr, error) {
	switch s := spec.(type) {
	case string:
		if strings.HasPrefix(s, "$") {
			return parsePathString(s)
		}
		return literal{s}, nil
	case bson.D:
		return parseObject(s)
	case bson.M:
		return parseObject(bsonutil.ToD(s))
	case bson.Raw:
		return parseObject(bsonutil.ToD(s))
	case bson.A:
		return parseArray(s)
	case []any:
		return parseArray(bson.A(s))
	case int:
		return literal{int64(s)}, nil
	}
	return literal{spec}, nil
}

// EvalToBool evaluates e and converts the result to a boolean with
// MongoDB's truthiness rules (false, null, undefined, missing and zero are
// false).
func EvalToBool(e Expr, v *Vars) (bool, error) {
	r, err := e.Eval(v)
	if err != nil {
		return false, err
	}
	return bsonutil.IsTruthy(r), nil
}

// IsFieldPath reports whether spec is a field path string like "$a.b"
// (and not a variable reference like "$$x").
func IsFieldPath(spec any) bool {
	s, ok := spec.(string)
	return ok && len(s) > 1 && s[0] == '$' && s[1] != '$'
}

// IsConstant reports whether e is a literal (its value does not depend on
// the scope), returning the value.
func IsConstant(e Expr) (any, bool) {
	if l, ok := e.(literal); ok {
		return l.v, true
	}
	return nil, false
}

// Literal returns an expression that evaluates to v.
func Literal(v any) Expr { return literal{v} }

type literal struct{ v any }

func (l literal) Eval(*Vars) (any, error) { return l.v, nil }

// ---- field paths and variables ----

type varPath struct {
	name string   // variable name without $$; "CURRENT" for plain field paths
	path []string // remaining path components
}

func parsePathString(s string) (Expr, error) {
	if s == "$" {
		return nil, mongoerr.New(16872, "'$' by itself is not a valid FieldPath")
	}
	if strings.HasPrefix(s, "$$") {
		rest := s[2:]
		parts := strings.Split(rest, ".")
		name := parts[0]
		if err := validateVarName(name, true); err != nil {
			return nil, err
		}
		if err := validatePath(parts[1:]); err != nil {
			return nil, err
		}
		return varPath{name: name, path: parts[1:]}, nil
	}
	parts := strings.Split(s[1:], ".")
	if err := validatePath(parts); err != nil {
		return nil, err
	}
	return varPath{name: "CURRENT", path: parts}, nil
}

func validatePath(parts []string) error {
	for _, p := range parts {
		if p == "" {
			return mongoerr.New(15998, "FieldPath field names may not be empty strings.")
		}
		if p[0] == '$' {
			return mongoerr.Newf(16410, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
		if strings.ContainsRune(p, 0) {
			return mongoerr.New(16411, "FieldPath field names may not contain '\\0'.")
		}
	}
	return nil
}

var builtinVars = map[string]bool{
	"ROOT": true, "CURRENT": true, "NOW": true, "REMOVE": true,
	"CLUSTER_TIME": true, "SEARCH_META": true, "USER_ROLES": true,
	// Bound by $redact.
	"KEEP": true, "PRUNE": true, "DESCEND": true,
}

// validateVarName checks a variable name; allowBuiltin permits the
// upper-case system variables (in references, not in definitions).
func validateVarName(name string, allowBuiltin bool) error {
	if name == "" {
		return mongoerr.New(16869, "empty variable names are not allowed")
	}
	if allowBuiltin && builtinVars[name] {
		return nil
	}
	c := name[0]
	if !(c >= 'a' && c <= 'z') && c < 0x80 {
		return mongoerr.Newf(16870, "'%s' starts with an invalid character for a user variable name", name)
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80) {
			return mongoerr.Newf(16871, "'%s' contains an invalid character for a variable name: '%c'", name, c)
		}
	}
	return nil
}

func (p varPath) Eval(v *Vars) (any, error) {
	var base any
	switch p.name {
	case "CURRENT":
		base = v.Current()
	case "ROOT":
		base = v.Root()
	case "NOW":
		base = v.Now()
	case "REMOVE":
		return bsonutil.Missing, nil
	default:
		val, ok := v.Lookup(p.name)
		if !ok {
			if builtinVars[p.name] {
				return nil, mongoerr.Newf(mongoerr.NotImplemented, "$$%s is not supported", p.name)
			}
			return nil, mongoerr.Newf(17276, "Use of undefined variable: %s", p.name)
		}
		base = val
	}
	if base == nil && (p.name == "CURRENT" || p.name == "ROOT") {
		base = bsonutil.Missing
	}
	return walkPath(base, p.path), nil
}

// walkPath follows an aggregation field path from v. Arrays are traversed:
// the result is the array of each element document's value, skipping
// missing values and non-document elements.
func walkPath(v any, path []string) any {
	if len(path) == 0 {
		return v
	}
	switch x := v.(type) {
	case bson.D:
		return walkPath(bsonutil.Get(x, path[0]), path[1:])
	case bson.M, bson.Raw:
		return walkPath(bsonutil.Get(bsonutil.ToD(x), path[0]), path[1:])
	case bson.A, []any:
		arr := bsonutil.ToA(x)
		out := bson.A{}
		for _, e := range arr {
			switch e.(type) {
			case bson.D, bson.M, bson.Raw:
				r := walkPath(e, path)
				if !bsonutil.IsMissing(r) {
					out = append(out, r)
				}
			}
		}
		return out
	}
	return bsonutil.Missing
}

// ---- documents and arrays of expressions ----

type docExpr struct {
	keys  []string
	exprs []Expr
}

func (d docExpr) Eval(v *Vars) (any, error) {
	out := make(bson.D, 0, len(d.keys))
	for i, e := range d.exprs {
		r, err := e.Eval(v)
		if err != nil {
			return nil, err
		}
		if bsonutil.IsMissing(r) {
			continue
		}
		out = append(out, bson.E{Key: d.keys[i], Value: r})
	}
	return out, nil
}

type arrayExpr []Expr

func (a arrayExpr) Eval(v *Vars) (any, error) {
	out := make(bson.A, len(a))
	for i, e := range a {
		r, err := e.Eval(v)
		if err != nil {
			return nil, err
		}
		if bsonutil.IsMissing(r) {
			r = nil
		}
		out[i] = r
	}
	return out, nil
}

func parseArray(a bson.A) (Expr, error) {
	out := make(arrayExpr, len(a))
	allConst := true
	for i, e := range a {
		x, err := Parse(e)
		if err != nil {
			return nil, err
		}
		out[i] = x
		if _, ok := x.(literal); !ok {
			allConst = false
		}
	}
	if allConst {
		// Evaluate once; an array of literals is a literal.
		v, _ := out.Eval(nil)
		return literal{v}, nil
	}
	return out, nil
}

func parseObject(d bson.D) (Expr, error) {
	if len(d) > 0 && strings.HasPrefix(d[0].Key, "$") {
		if len(d) > 1 {
			return nil, mongoerr.Newf(15983, "an expression specification must contain exactly one field, the name of the expression. Found %d fields in %s, while parsing object %s",
				len(d), bsonutil.Format(d), bsonutil.Format(d))
		}
		return parseOperator(d[0].Key, d[0].Value)
	}
	out := docExpr{}
	seen := map[string]bool{}
	allConst := true
	for _, e := range d {
		if strings.HasPrefix(e.Key, "$") {
			return nil, mongoerr.Newf(16404, "FieldPath field names may not start with '$'. Consider using $getField or $setField.")
		}
		if e.Key == "" {
			return nil, mongoerr.New(16410, "FieldPath field names may not be empty strings.")
		}
		if strings.Contains(e.Key, ".") {
			return nil, mongoerr.Newf(16412, "FieldPath field names may not contain '.'. Consider using $getField or $setField.")
		}
		if seen[e.Key] {
			return nil, mongoerr.Newf(16406, "duplicate field name specified in object literal: %s", bsonutil.Format(d))
		}
		seen[e.Key] = true
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		if _, ok := x.(literal); !ok {
			allConst = false
		}
		out.keys = append(out.keys, e.Key)
		out.exprs = append(out.exprs, x)
	}
	if allConst {
		v, _ := out.Eval(nil)
		return literal{v}, nil
	}
	return out, nil
}

// ---- operators ----

type parseFunc func(name string, arg any) (Expr, error)

// ops is the operator registry, filled by init functions in the
// operator files.
var ops = map[string]parseFunc{}

func register(name string, f parseFunc) { ops[name] = f }

func parseOperator(name string, arg any) (Expr, error) {
	f, ok := ops[name]
	if !ok {
		return nil, mongoerr.Newf(mongoerr.InvalidPipelineOperator, "Unrecognized expression '%s'", name)
	}
	return f(name, arg)
}

// IsOperator reports whether name (with its $) is a known expression
// operator.
func IsOperator(name string) bool { _, ok := ops[name]; return ok }

// argList splits an operator's argument into its argument specs: an array
// gives its elements, anything else is a single argument.
func argList(arg any) []any {
	switch a := arg.(type) {
	case bson.A:
		return a
	case []any:
		return a
	}
	return []any{arg}
}

func parseAll(specs []any) ([]Expr, error) {
	out := make([]Expr, len(specs))
	for i, s := range specs {
		e, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func evalAll(v *Vars, args []Expr) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		r, err := a.Eval(v)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// eagerNode evaluates all its arguments and hands the values to fn.
type eagerNode struct {
	args []Expr
	fn   func(vals []any) (any, error)
}

func (n eagerNode) Eval(v *Vars) (any, error) {
	vals, err := evalAll(v, n.args)
	if err != nil {
		return nil, err
	}
	return n.fn(vals)
}

// lazyNode hands its unevaluated arguments and the scope to fn.
type lazyNode struct {
	args []Expr
	fn   func(v *Vars, args []Expr) (any, error)
}

func (n lazyNode) Eval(v *Vars) (any, error) { return n.fn(v, n.args) }

func arityErr(name string, min, max, got int) error {
	switch {
	case min == max:
		return mongoerr.Newf(16020, "Expression %s takes exactly %d arguments. %d were passed in.", name, min, got)
	case max < 0:
		return mongoerr.Newf(16020, "Expression %s takes at least %d arguments, and %d were passed in.", name, min, got)
	}
	return mongoerr.Newf(28667, "Expression %s takes at least %d arguments, and at most %d, but %d were provided.", name, min, max, got)
}

// fixed registers an operator taking between min and max arguments
// (max < 0: unbounded) that evaluates all of them eagerly.
func fixed(min, max int, fn func(name string, vals []any) (any, error)) parseFunc {
	return func(name string, arg any) (Expr, error) {
		specs := argList(arg)
		if len(specs) < min || (max >= 0 && len(specs) > max) {
			return nil, arityErr(name, min, max, len(specs))
		}
		args, err := parseAll(specs)
		if err != nil {
			return nil, err
		}
		return eagerNode{args: args, fn: func(vals []any) (any, error) { return fn(name, vals) }}, nil
	}
}

// lazy registers an operator with an arity check whose arguments are
// evaluated by fn itself.
func lazy(min, max int, fn func(v *Vars, args []Expr) (any, error)) parseFunc {
	return func(name string, arg any) (Expr, error) {
		specs := argList(arg)
		if len(specs) < min || (max >= 0 && len(specs) > max) {
			return nil, arityErr(name, min, max, len(specs))
		}
		args, err := parseAll(specs)
		if err != nil {
			return nil, err
		}
		return lazyNode{args: args, fn: fn}, nil
	}
}

// argShapeErr marks a structural error in an operator's named arguments
// (not an object, unknown or missing field); callers give it their
// operator-specific code with withCode.
type argShapeErr struct{ msg string }

func (e *argShapeErr) Error() string { return e.msg }

// withCode converts a structural namedArgs error to a *mongoerr.Error with
// code; other errors (from parsing nested expressions) pass through.
func withCode(err error, code mongoerr.Code) error {
	if se, ok := err.(*argShapeErr); ok {
		return mongoerr.New(code, se.msg)
	}
	return err
}

// namedArgs parses the object form of an operator ({$op: {a: ..., b: ...}}).
// Every required field must be present; fields not listed are rejected.
// Absent optional fields are nil in the result. Structural errors are
// *argShapeErr: pass them through withCode.
func namedArgs(name string, arg any, required, optional []string) (map[string]Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, &argShapeErr{fmt.Sprintf("%s expects an object as its argument, found %s", name, bsonutil.TypeName(arg))}
	}
	allowed := map[string]bool{}
	for _, k := range required {
		allowed[k] = true
	}
	for _, k := range optional {
		allowed[k] = true
	}
	out := map[string]Expr{}
	for _, e := range d {
		if !allowed[e.Key] {
			return nil, &argShapeErr{fmt.Sprintf("Unrecognized argument to %s: %s", name, e.Key)}
		}
	}
	for _, k := range required {
		if bsonutil.IsMissing(bsonutil.Get(d, k)) {
			return nil, &argShapeErr{fmt.Sprintf("Missing '%s' parameter to %s", k, name)}
		}
	}
	for _, e := range d {
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		out[e.Key] = x
	}
	return out, nil
}

func asDoc(v any) (bson.D, bool) {
	switch v.(type) {
	case bson.D, bson.M, bson.Raw:
		return bsonutil.ToD(v), true
	}
	return nil, false
}

func asArray(v any) (bson.A, bool) {
	switch v.(type) {
	case bson.A, []any:
		return bsonutil.ToA(v), true
	}
	return nil, false
}

// evalOpt evaluates an optional argument (nil Expr gives Missing).
func evalOpt(e Expr, v *Vars) (any, error) {
	if e == nil {
		return bsonutil.Missing, nil
	}
	return e.Eval(v)
}

func nullish(v any) bool { return bsonutil.IsNullish(v) }

func typeName(v any) string { return bsonutil.TypeName(v) }

func init() {
	register("$literal", func(name string, arg any) (Expr, error) { return literal{arg}, nil })
}
