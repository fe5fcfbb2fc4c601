package expr

import (
	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
)

func cmpOp(test func(int) bool) func(string, []any) (any, error) {
	return func(_ string, vals []any) (any, error) {
		return test(bsonutil.Compare(vals[0], vals[1])), nil
	}
}

func evalAnd(v *Vars, args []Expr) (any, error) {
	for _, a := range args {
		b, err := EvalToBool(a, v)
		if err != nil || !b {
			return false, err
		}
	}
	return true, nil
}

func evalOr(v *Vars, args []Expr) (any, error) {
	for _, a := range args {
		b, err := EvalToBool(a, v)
		if err != nil || b {
			return b, err
		}
	}
	return false, nil
}

type condExpr struct{ cond, then, els Expr }

func (c condExpr) Eval(v *Vars) (any, error) {
	b, err := EvalToBool(c.cond, v)
	if err != nil {
		return nil, err
	}
	if b {
		return c.then.Eval(v)
	}
	return c.els.Eval(v)
}

func parseCond(name string, arg any) (Expr, error) {
	if d, ok := asDoc(arg); ok {
		var c condExpr
		for _, e := range d {
			x, err := Parse(e.Value)
			if err != nil {
				return nil, err
			}
			switch e.Key {
			case "if":
				c.cond = x
			case "then":
				c.then = x
			case "else":
				c.els = x
			default:
				return nil, mongoerr.Newf(17083, "Unrecognized parameter to $cond: %s", e.Key)
			}
		}
		switch {
		case c.cond == nil:
			return nil, mongoerr.New(17080, "Missing 'if' parameter to $cond")
		case c.then == nil:
			return nil, mongoerr.New(17081, "Missing 'then' parameter to $cond")
		case c.els == nil:
			return nil, mongoerr.New(17082, "Missing 'else' parameter to $cond")
		}
		return c, nil
	}
	specs := argList(arg)
	if len(specs) != 3 {
		return nil, arityErr(name, 3, 3, len(specs))
	}
	args, err := parseAll(specs)
	if err != nil {
		return nil, err
	}
	return condExpr{args[0], args[1], args[2]}, nil
}

func evalIfNull(v *Vars, args []Expr) (any, error) {
	for i, a := range args {
		r, err := a.Eval(v)
		if err != nil {
			return nil, err
		}
		if !nullish(r) || i == len(args)-1 {
			return r, nil
		}
	}
	return nil, nil
}

type switchExpr struct {
	cases, thens []Expr
	def          Expr
}

func (s switchExpr) Eval(v *Vars) (any, error) {
	for i, c := range s.cases {
		b, err := EvalToBool(c, v)
		if err != nil {
			return nil, err
		}
		if b {
			return s.thens[i].Eval(v)
		}
	}
	if s.def == nil {
		return nil, mongoerr.New(40066, "$switch could not find a matching branch for an input, and no default was specified.")
	}
	return s.def.Eval(v)
}

func parseSwitch(_ string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(40060, "$switch requires an object as an argument, found: %s", typeName(arg))
	}
	var s switchExpr
	for _, e := range d {
		switch e.Key {
		case "branches":
			branches, ok := asArray(e.Value)
			if !ok {
				return nil, mongoerr.Newf(40061, "$switch expected an array for 'branches', found: %s", typeName(e.Value))
			}
			for _, b := range branches {
				bd, ok := asDoc(b)
				if !ok {
					return nil, mongoerr.Newf(40062, "$switch expected each branch to be an object, found: %s", typeName(b))
				}
				var c, t Expr
				for _, be := range bd {
					x, err := Parse(be.Value)
					if err != nil {
						return nil, err
					}
					switch be.Key {
					case "case":
						c = x
					case "then":
						t = x
					default:
						return nil, mongoerr.Newf(40063, "$switch found an unknown argument to a branch: %s", be.Key)
					}
				}
				if c == nil {
					return nil, mongoerr.New(40064, "$switch requires each branch have a 'case' expression")
				}
				if t == nil {
					return nil, mongoerr.New(40065, "$switch requires each branch have a 'then' expression.")
				}
				s.cases = append(s.cases, c)
				s.thens = append(s.thens, t)
			}
		case "default":
			x, err := Parse(e.Value)
			if err != nil {
				return nil, err
			}
			s.def = x
		default:
			return nil, mongoerr.Newf(40067, "$switch found an unknown argument: %s", e.Key)
		}
	}
	if len(s.cases) == 0 {
		return nil, mongoerr.New(40068, "$switch requires at least one branch.")
	}
	return s, nil
}

type letExpr struct {
	names []string
	vals  []Expr
	in    Expr
}

func (l letExpr) Eval(v *Vars) (any, error) {
	inner := v
	for i, n := range l.names {
		r, err := l.vals[i].Eval(v)
		if err != nil {
			return nil, err
		}
		inner = inner.With(n, r)
	}
	return l.in.Eval(inner)
}

func parseLet(_ string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(16874, "$let only supports an object as its argument")
	}
	var l letExpr
	var haveVars bool
	for _, e := range d {
		switch e.Key {
		case "vars":
			vd, ok := asDoc(e.Value)
			if !ok {
				return nil, mongoerr.Newf(10065, "invalid parameter: expected an object (vars)")
			}
			haveVars = true
			for _, ve := range vd {
				if err := validateVarName(ve.Key, false); err != nil {
					return nil, err
				}
				x, err := Parse(ve.Value)
				if err != nil {
					return nil, err
				}
				l.names = append(l.names, ve.Key)
				l.vals = append(l.vals, x)
			}
		case "in":
			x, err := Parse(e.Value)
			if err != nil {
				return nil, err
			}
			l.in = x
		default:
			return nil, mongoerr.Newf(16875, "Unrecognized parameter to $let: %s", e.Key)
		}
	}
	if !haveVars {
		return nil, mongoerr.New(16876, "Missing 'vars' parameter to $let")
	}
	if l.in == nil {
		return nil, mongoerr.New(16877, "Missing 'in' parameter to $let")
	}
	return l, nil
}

func init() {
	register("$eq", fixed(2, 2, cmpOp(func(c int) bool { return c == 0 })))
	register("$ne", fixed(2, 2, cmpOp(func(c int) bool { return c != 0 })))
	register("$gt", fixed(2, 2, cmpOp(func(c int) bool { return c > 0 })))
	register("$gte", fixed(2, 2, cmpOp(func(c int) bool { return c >= 0 })))
	register("$lt", fixed(2, 2, cmpOp(func(c int) bool { return c < 0 })))
	register("$lte", fixed(2, 2, cmpOp(func(c int) bool { return c <= 0 })))
	register("$cmp", fixed(2, 2, func(_ string, vals []any) (any, error) {
		return int32(bsonutil.Compare(vals[0], vals[1])), nil
	}))
	register("$and", lazy(0, -1, evalAnd))
	register("$or", lazy(0, -1, evalOr))
	register("$not", fixed(1, 1, func(_ string, vals []any) (any, error) {
		return !bsonutil.IsTruthy(vals[0]), nil
	}))
	register("$cond", parseCond)
	register("$ifNull", lazy(2, -1, evalIfNull))
	register("$switch", parseSwitch)
	register("$let", parseLet)
}
