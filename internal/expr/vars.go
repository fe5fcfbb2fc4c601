package expr

import (
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Vars is an evaluation scope: the current document ($$ROOT and $$CURRENT),
// $$NOW, and user variables ($let, let options, $map's "as", ...). Scopes
// are immutable; With returns a child scope.
type Vars struct {
	parent *Vars
	name   string
	value  any
	root   any
	cur    any
	now    bson.DateTime
}

// NewVars returns a scope whose $$ROOT and $$CURRENT are root, with $$NOW
// fixed to now.
func NewVars(root any, now bson.DateTime) *Vars {
	return &Vars{root: root, cur: root, now: now}
}

// With returns a child scope in which variable name ("x" for $$x) is value.
func (v *Vars) With(name string, value any) *Vars {
	return &Vars{parent: v, name: name, value: value, root: v.root, cur: v.cur, now: v.now}
}

// WithRoot returns a scope with the same user variables whose $$ROOT and
// $$CURRENT are root.
func (v *Vars) WithRoot(root any) *Vars {
	c := *v
	c.root, c.cur = root, root
	return &c
}

// WithCurrent returns a scope whose $$CURRENT is cur.
func (v *Vars) WithCurrent(cur any) *Vars {
	c := *v
	c.cur = cur
	return &c
}

// Root returns $$ROOT.
func (v *Vars) Root() any { return v.root }

// Current returns $$CURRENT.
func (v *Vars) Current() any { return v.cur }

// Now returns $$NOW.
func (v *Vars) Now() bson.DateTime { return v.now }

// Lookup returns the user variable name, if defined.
func (v *Vars) Lookup(name string) (any, bool) {
	for s := v; s != nil; s = s.parent {
		if s.parent != nil && s.name == name {
			return s.value, true
		}
	}
	return nil, false
}
