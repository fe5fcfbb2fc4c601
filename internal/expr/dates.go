package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Olson time zones without system tzdata

	"github.com/cairndb/cairn/internal/bsonutil"
	"github.com/cairndb/cairn/internal/mongoerr"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- time zones ----

// parseTZ resolves a timezone argument: an Olson name, "UTC"/"GMT", or a
// UTC offset like "+04:45", "-0300", "+03".
func parseTZ(v any) (*time.Location, bool, error) {
	if bsonutil.IsMissing(v) {
		return time.UTC, false, nil
	}
	if nullish(v) {
		return nil, true, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, false, mongoerr.Newf(40517, "timezone must evaluate to a string, found %s", typeName(v))
	}
	if loc, ok := parseOffset(s); ok {
		return loc, false, nil
	}
	if s == "" || s == "Local" || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return nil, false, mongoerr.Newf(40485, "unrecognized time zone identifier: \"%s\"", s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, false, mongoerr.Newf(40485, "unrecognized time zone identifier: \"%s\"", s)
	}
	return loc, false, nil
}

// parseOffset parses "+hh", "+hhmm" or "+hh:mm" (or with '-').
func parseOffset(s string) (*time.Location, bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return nil, false
	}
	body := strings.Replace(s[1:], ":", "", 1)
	if len(body) != 2 && len(body) != 4 {
		return nil, false
	}
	for _, c := range body {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	h, _ := strconv.Atoi(body[:2])
	m := 0
	if len(body) == 4 {
		m, _ = strconv.Atoi(body[2:])
	}
	secs := (h*60 + m) * 60
	if s[0] == '-' {
		secs = -secs
	}
	return time.FixedZone(s, secs), true
}

// toTime converts a date-like value (date, timestamp, objectId) to a
// time. isNull reports null/missing input.
func toTime(name string, v any) (t time.Time, isNull bool, err error) {
	switch x := v.(type) {
	case bson.DateTime:
		return x.Time().UTC(), false, nil
	case bson.Timestamp:
		return time.Unix(int64(x.T), 0).UTC(), false, nil
	case bson.ObjectID:
		return x.Timestamp().UTC(), false, nil
	}
	if nullish(v) {
		return time.Time{}, true, nil
	}
	return time.Time{}, false, mongoerr.Newf(16006, "can't convert from BSON type %s to Date", typeName(v))
}

func toDateTime(t time.Time) bson.DateTime {
	return bson.DateTime(t.Unix()*1000 + int64(t.Nanosecond()/1e6))
}

// ---- $year, $month, ... ----

type datePartExpr struct {
	name     string
	date, tz Expr
	part     func(t time.Time) any
}

func (d datePartExpr) Eval(v *Vars) (any, error) {
	dv, err := d.date.Eval(v)
	if err != nil {
		return nil, err
	}
	tzv, err := evalOpt(d.tz, v)
	if err != nil {
		return nil, err
	}
	loc, null, err := parseTZ(tzv)
	if err != nil || null {
		return nil, err
	}
	t, null, err := toTime(d.name, dv)
	if err != nil || null {
		return nil, err
	}
	return d.part(t.In(loc)), nil
}

func datePart(part func(t time.Time) any) parseFunc {
	return func(name string, arg any) (Expr, error) {
		if d, ok := asDoc(arg); ok && len(d) > 0 && !strings.HasPrefix(d[0].Key, "$") {
			e := datePartExpr{name: name, part: part}
			for _, f := range d {
				x, err := Parse(f.Value)
				if err != nil {
					return nil, err
				}
				switch f.Key {
				case "date":
					e.date = x
				case "timezone":
					e.tz = x
				default:
					return nil, mongoerr.Newf(40535, "unrecognized option to %s: \"%s\"", name, f.Key)
				}
			}
			if e.date == nil {
				return nil, mongoerr.Newf(40539, "missing 'date' argument to %s, provided: %s", name, bsonutil.Format(d))
			}
			return e, nil
		}
		specs := argList(arg)
		if len(specs) != 1 {
			return nil, arityErr(name, 1, 1, len(specs))
		}
		x, err := Parse(specs[0])
		if err != nil {
			return nil, err
		}
		return datePartExpr{name: name, date: x, part: part}, nil
	}
}

func weekOfYear(t time.Time) int {
	return (t.YearDay() - 1 + 7 - int(t.Weekday())) / 7
}

func isoDayOfWeek(t time.Time) int {
	wd := int(t.Weekday())
	if wd == 0 {
		return 7
	}
	return wd
}

// ---- $dateToString ----

var monthAbbr = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func validateFormat(f string) error {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		if i+1 >= len(f) {
			return mongoerr.New(18535, "Unmatched '%' at end of format string")
		}
		i++
		if !strings.ContainsRune("dGHjLmMSwuUVYzZbB%", rune(f[i])) {
			return mongoerr.Newf(18536, "Invalid format character '%%%c' in format string", f[i])
		}
	}
	return nil
}

func formatDate(f string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'G':
			y, _ := t.ISOWeek()
			fmt.Fprintf(&b, "%04d", y)
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'L':
			fmt.Fprintf(&b, "%03d", t.Nanosecond()/1e6)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday())+1)
		case 'u':
			fmt.Fprintf(&b, "%d", isoDayOfWeek(t))
		case 'U':
			fmt.Fprintf(&b, "%02d", weekOfYear(t))
		case 'V':
			_, w := t.ISOWeek()
			fmt.Fprintf(&b, "%02d", w)
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'z':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			fmt.Fprintf(&b, "%c%02d%02d", sign, off/3600, off%3600/60)
		case 'Z':
			_, off := t.Zone()
			fmt.Fprintf(&b, "%d", off/60)
		case 'b':
			b.WriteString(monthAbbr[t.Month()-1])
		case 'B':
			b.WriteString(t.Month().String())
		case '%':
			b.WriteByte('%')
		}
	}
	return b.String()
}

const defaultDateFormat = "%Y-%m-%dT%H:%M:%S.%LZ"

func parseDateToString(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"date"}, []string{"format", "timezone", "onNull"})
	if err != nil {
		return nil, withCode(err, 18629)
	}
	if f, ok := a["format"].(literal); ok {
		s, isStr := f.v.(string)
		if !isStr && !nullish(f.v) {
			return nil, mongoerr.Newf(18533, "$dateToString requires that 'format' be a string, found: %s with value %s", typeName(f.v), bsonutil.Format(f.v))
		}
		if isStr {
			if err := validateFormat(s); err != nil {
				return nil, err
			}
		}
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		dv, err := a["date"].Eval(v)
		if err != nil {
			return nil, err
		}
		format := defaultDateFormat
		if a["format"] != nil {
			fv, err := a["format"].Eval(v)
			if err != nil {
				return nil, err
			}
			if nullish(fv) {
				return nil, nil
			}
			s, ok := fv.(string)
			if !ok {
				return nil, mongoerr.Newf(18533, "$dateToString requires that 'format' be a string, found: %s with value %s", typeName(fv), bsonutil.Format(fv))
			}
			if err := validateFormat(s); err != nil {
				return nil, err
			}
			format = s
		}
		tzv, err := evalOpt(a["timezone"], v)
		if err != nil {
			return nil, err
		}
		loc, null, err := parseTZ(tzv)
		if err != nil || null {
			return nil, err
		}
		if nullish(dv) {
			if a["onNull"] != nil {
				return a["onNull"].Eval(v)
			}
			return nil, nil
		}
		t, _, err := toTime(name, dv)
		if err != nil {
			return nil, err
		}
		return formatDate(format, t.In(loc)), nil
	}}, nil
}

// ---- date string parsing ----

// parseDateString parses s. With an empty format it accepts ISO 8601-like
// strings ("2017-02-08", "2017-02-08T12:10:40.787Z", "2017-02-08 12:10:40
// +0500", "2017-02-08T12:10:40 America/New_York"). loc is used when s has
// no zone of its own; explicitTZ reports a timezone argument was given
// (a string with its own zone then is an error).
func parseDateString(s string, loc *time.Location, format string) (time.Time, error) {
	return parseDateStringTZ(s, loc, format, false)
}

func parseDateStringTZ(s string, loc *time.Location, format string, explicitTZ bool) (time.Time, error) {
	if format != "" {
		return parseWithFormat(s, loc, format, explicitTZ)
	}
	p := &dateScanner{s: strings.TrimSpace(s)}
	year, ok1 := p.num(4, 4)
	sep := p.peek()
	if !ok1 || (sep != '-' && sep != '/') {
		return time.Time{}, fmt.Errorf("bad date")
	}
	p.i++
	month, ok2 := p.num(1, 2)
	if !ok2 || !p.eat(sep) {
		return time.Time{}, fmt.Errorf("bad date")
	}
	day, ok3 := p.num(1, 2)
	if !ok3 {
		return time.Time{}, fmt.Errorf("bad date")
	}
	var hour, minute, sec, ms int
	if p.peek() == 'T' || (p.peek() == ' ' && p.i+1 < len(p.s) && isDigit(p.s[p.i+1])) {
		p.i++
		var ok bool
		if hour, ok = p.num(2, 2); !ok || !p.eat(':') {
			return time.Time{}, fmt.Errorf("bad time")
		}
		if minute, ok = p.num(2, 2); !ok {
			return time.Time{}, fmt.Errorf("bad time")
		}
		if p.eat(':') {
			if sec, ok = p.num(2, 2); !ok {
				return time.Time{}, fmt.Errorf("bad time")
			}
			if p.eat('.') {
				start := p.i
				frac, ok := p.num(1, 9)
				if !ok {
					return time.Time{}, fmt.Errorf("bad time")
				}
				digits := p.i - start
				for ; digits < 3; digits++ {
					frac *= 10
				}
				for ; digits > 3; digits-- {
					frac /= 10
				}
				ms = frac
			}
		}
	}
	zone := strings.TrimSpace(p.s[p.i:])
	if zone != "" {
		if explicitTZ {
			return time.Time{}, fmt.Errorf("timezone given twice")
		}
		z, err := parseZoneSuffix(zone)
		if err != nil {
			return time.Time{}, err
		}
		loc = z
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("out of range")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, loc), nil
}

func parseZoneSuffix(zone string) (*time.Location, error) {
	switch zone {
	case "Z", "z", "UTC", "GMT":
		return time.UTC, nil
	}
	if l, ok := parseOffset(zone); ok {
		return l, nil
	}
	if strings.HasPrefix(zone, "UTC") || strings.HasPrefix(zone, "GMT") {
		if l, ok := parseOffset(zone[3:]); ok {
			return l, nil
		}
	}
	if strings.Contains(zone, "/") {
		if l, err := time.LoadLocation(zone); err == nil {
			return l, nil
		}
	}
	return nil, fmt.Errorf("bad zone %q", zone)
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type dateScanner struct {
	s string
	i int
}

func (p *dateScanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *dateScanner) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

// num reads between min and max digits.
func (p *dateScanner) num(min, max int) (int, bool) {
	start := p.i
	for p.i < len(p.s) && p.i-start < max && isDigit(p.s[p.i]) {
		p.i++
	}
	if p.i-start < min {
		return 0, false
	}
	n, err := strconv.Atoi(p.s[start:p.i])
	return n, err == nil
}

func parseWithFormat(s string, loc *time.Location, format string, explicitTZ bool) (time.Time, error) {
	p := &dateScanner{s: s}
	year, month, day := 1970, 1, 1
	var hour, minute, sec, ms int
	isoYear, isoWeek, isoDay, yday := -1, -1, -1, -1
	var zone *time.Location
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			if !p.eat(c) {
				return time.Time{}, fmt.Errorf("format mismatch")
			}
			continue
		}
		if i+1 >= len(format) {
			return time.Time{}, fmt.Errorf("bad format")
		}
		i++
		var ok bool
		switch format[i] {
		case 'Y':
			year, ok = p.num(4, 4)
		case 'm':
			month, ok = p.num(1, 2)
		case 'd':
			day, ok = p.num(1, 2)
		case 'H':
			hour, ok = p.num(1, 2)
		case 'M':
			minute, ok = p.num(1, 2)
		case 'S':
			sec, ok = p.num(1, 2)
		case 'L':
			ms, ok = p.num(1, 3)
		case 'j':
			yday, ok = p.num(1, 3)
		case 'G':
			isoYear, ok = p.num(4, 4)
		case 'V':
			isoWeek, ok = p.num(1, 2)
		case 'u':
			isoDay, ok = p.num(1, 1)
		case 'z', 'Z':
			start := p.i
			if p.peek() == '+' || p.peek() == '-' {
				p.i++
			}
			for p.i < len(p.s) && (isDigit(p.s[p.i]) || p.s[p.i] == ':') {
				p.i++
			}
			txt := p.s[start:p.i]
			if format[i] == 'Z' {
				m, err := strconv.Atoi(txt)
				if err != nil {
					return time.Time{}, err
				}
				zone, ok = time.FixedZone(txt, m*60), true
			} else {
				zone, ok = parseOffset(txt)
			}
		case 'b', 'B':
			ok = false
			for mi, name := range monthAbbr {
				full := time.Month(mi + 1).String()
				if format[i] == 'B' && strings.HasPrefix(strings.ToLower(p.s[p.i:]), strings.ToLower(full)) {
					month, p.i, ok = mi+1, p.i+len(full), true
					break
				}
				if format[i] == 'b' && strings.HasPrefix(strings.ToLower(p.s[p.i:]), strings.ToLower(name)) {
					month, p.i, ok = mi+1, p.i+3, true
					break
				}
			}
		case '%':
			ok = p.eat('%')
		default:
			return time.Time{}, fmt.Errorf("bad format")
		}
		if !ok {
			return time.Time{}, fmt.Errorf("format mismatch")
		}
	}
	if p.i != len(p.s) {
		return time.Time{}, fmt.Errorf("trailing data")
	}
	if zone != nil {
		if explicitTZ {
			return time.Time{}, fmt.Errorf("timezone given twice")
		}
		loc = zone
	}
	if isoYear >= 0 {
		if isoWeek < 0 {
			isoWeek = 1
		}
		if isoDay < 0 {
			isoDay = 1
		}
		return isoDate(isoYear, isoWeek, isoDay, hour, minute, sec, ms, loc), nil
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("out of range")
	}
	if yday > 0 {
		return time.Date(year, 1, yday, hour, minute, sec, ms*1e6, loc), nil
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, ms*1e6, loc), nil
}

// isoDate returns the time for an ISO week date.
func isoDate(isoYear, week, day, hour, minute, sec, ms int, loc *time.Location) time.Time {
	// ISO week 1 contains January 4th.
	jan4 := time.Date(isoYear, 1, 4, 0, 0, 0, 0, time.UTC)
	week1Monday := jan4.AddDate(0, 0, -(isoDayOfWeek(jan4) - 1))
	d := week1Monday.AddDate(0, 0, (week-1)*7+(day-1))
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, sec, ms*1e6, loc)
}

func parseDateFromString(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"dateString"}, []string{"format", "timezone", "onError", "onNull"})
	if err != nil {
		return nil, withCode(err, 40541)
	}
	if f, ok := a["format"].(literal); ok {
		if s, isStr := f.v.(string); isStr {
			if err := validateFormat(s); err != nil {
				return nil, err
			}
		}
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		sv, err := a["dateString"].Eval(v)
		if err != nil {
			return nil, err
		}
		format := ""
		if a["format"] != nil {
			fv, err := a["format"].Eval(v)
			if err != nil {
				return nil, err
			}
			if nullish(fv) {
				return nil, nil
			}
			s, ok := fv.(string)
			if !ok {
				return nil, mongoerr.Newf(40684, "$dateFromString requires that 'format' be a string, found: %s with value %s", typeName(fv), bsonutil.Format(fv))
			}
			if err := validateFormat(s); err != nil {
				return nil, err
			}
			format = s
		}
		tzv, err := evalOpt(a["timezone"], v)
		if err != nil {
			return nil, err
		}
		loc, null, err := parseTZ(tzv)
		if err != nil || null {
			return nil, err
		}
		if nullish(sv) {
			if a["onNull"] != nil {
				return a["onNull"].Eval(v)
			}
			return nil, nil
		}
		s, ok := sv.(string)
		if !ok {
			if a["onError"] != nil {
				return a["onError"].Eval(v)
			}
			return nil, mongoerr.Newf(ConversionFailure, "$dateFromString requires that 'dateString' be a string, found: %s with value %s", typeName(sv), bsonutil.Format(sv))
		}
		t, perr := parseDateStringTZ(s, loc, format, !bsonutil.IsMissing(tzv))
		if perr != nil {
			if a["onError"] != nil {
				return a["onError"].Eval(v)
			}
			return nil, mongoerr.Newf(ConversionFailure, "Error parsing date string '%s'", s)
		}
		return toDateTime(t), nil
	}}, nil
}

// ---- $dateFromParts / $dateToParts ----

var naturalParts = []string{"year", "month", "day", "hour", "minute", "second", "millisecond"}
var isoParts = []string{"isoWeekYear", "isoWeek", "isoDayOfWeek", "hour", "minute", "second", "millisecond"}

func parseDateFromParts(name string, arg any) (Expr, error) {
	d, ok := asDoc(arg)
	if !ok {
		return nil, mongoerr.Newf(40519, "$dateFromParts only supports an object as its argument")
	}
	a := map[string]Expr{}
	for _, e := range d {
		switch e.Key {
		case "year", "month", "day", "hour", "minute", "second", "millisecond", "isoWeekYear", "isoWeek", "isoDayOfWeek", "timezone":
		default:
			return nil, mongoerr.Newf(40518, "Unrecognized argument to $dateFromParts: %s", e.Key)
		}
		x, err := Parse(e.Value)
		if err != nil {
			return nil, err
		}
		a[e.Key] = x
	}
	natural := a["year"] != nil || a["month"] != nil || a["day"] != nil
	iso := a["isoWeekYear"] != nil || a["isoWeek"] != nil || a["isoDayOfWeek"] != nil
	if natural && iso {
		return nil, mongoerr.New(40489, "$dateFromParts does not allow mixing natural dates with ISO dates")
	}
	if a["year"] == nil && a["isoWeekYear"] == nil {
		return nil, mongoerr.New(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
	}
	parts := naturalParts
	if iso {
		parts = isoParts
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		vals := make([]int, len(parts))
		null := false
		for i, p := range parts {
			def := 0
			if i < 3 && i > 0 {
				def = 1
			}
			vals[i] = def
			if a[p] == nil {
				continue
			}
			r, err := a[p].Eval(v)
			if err != nil {
				return nil, err
			}
			if nullish(r) {
				null = true
				continue
			}
			n, ok := bsonutil.ToInt64(r)
			if !bsonutil.IsNumber(r) || !ok {
				return nil, mongoerr.Newf(40515, "'%s' must evaluate to an integer, found %s with value %s", p, typeName(r), bsonutil.Format(r))
			}
			if i == 0 {
				if n < 1 || n > 9999 {
					return nil, mongoerr.Newf(40523, "'%s' must evaluate to an integer in the range 1 to 9999, found %d", p, n)
				}
			} else if n < -32768 || n > 32767 {
				return nil, mongoerr.Newf(31034, "'%s' must evaluate to a value in the range [-32768, 32767]; value %d is not in range", p, n)
			}
			vals[i] = int(n)
		}
		tzv, err := evalOpt(a["timezone"], v)
		if err != nil {
			return nil, err
		}
		loc, tzNull, err := parseTZ(tzv)
		if err != nil {
			return nil, err
		}
		if null || tzNull {
			return nil, nil
		}
		var t time.Time
		if iso {
			t = isoDate(vals[0], vals[1], vals[2], 0, 0, 0, 0, loc)
			t = time.Date(t.Year(), t.Month(), t.Day(), vals[3], vals[4], vals[5], 0, loc).Add(time.Duration(vals[6]) * time.Millisecond)
		} else {
			t = time.Date(vals[0], time.Month(vals[1]), vals[2], vals[3], vals[4], vals[5], 0, loc).Add(time.Duration(vals[6]) * time.Millisecond)
		}
		return toDateTime(t), nil
	}}, nil
}

func parseDateToParts(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"date"}, []string{"timezone", "iso8601"})
	if err != nil {
		return nil, withCode(err, 40522)
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		dv, err := a["date"].Eval(v)
		if err != nil {
			return nil, err
		}
		tzv, err := evalOpt(a["timezone"], v)
		if err != nil {
			return nil, err
		}
		loc, null, err := parseTZ(tzv)
		if err != nil || null {
			return nil, err
		}
		iso := false
		if a["iso8601"] != nil {
			iv, err := a["iso8601"].Eval(v)
			if err != nil {
				return nil, err
			}
			if nullish(iv) {
				return nil, nil
			}
			b, ok := iv.(bool)
			if !ok {
				return nil, mongoerr.Newf(40521, "iso8601 must evaluate to a bool, found %s", typeName(iv))
			}
			iso = b
		}
		t, null, err := toTime(name, dv)
		if err != nil || null {
			return nil, err
		}
		t = t.In(loc)
		tail := bson.D{
			{Key: "hour", Value: int32(t.Hour())}, {Key: "minute", Value: int32(t.Minute())},
			{Key: "second", Value: int32(t.Second())}, {Key: "millisecond", Value: int32(t.Nanosecond() / 1e6)},
		}
		if iso {
			y, w := t.ISOWeek()
			return append(bson.D{{Key: "isoWeekYear", Value: int32(y)}, {Key: "isoWeek", Value: int32(w)}, {Key: "isoDayOfWeek", Value: int32(isoDayOfWeek(t))}}, tail...), nil
		}
		return append(bson.D{{Key: "year", Value: int32(t.Year())}, {Key: "month", Value: int32(t.Month())}, {Key: "day", Value: int32(t.Day())}}, tail...), nil
	}}, nil
}

// ---- $dateAdd, $dateSubtract, $dateDiff, $dateTrunc ----

var unitMillis = map[string]int64{
	"millisecond": 1, "second": 1000, "minute": 60000, "hour": 3600000,
	"day": 86400000, "week": 7 * 86400000,
}

func validUnit(u any, op string) (string, error) {
	s, ok := u.(string)
	if !ok {
		return "", mongoerr.Newf(5439013, "%s requires 'unit' to be a string, but got %s", op, typeName(u))
	}
	switch s {
	case "year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond":
		return s, nil
	}
	return "", mongoerr.Newf(mongoerr.FailedToParse, "%s parameter 'unit' value parsing failed :: caused by :: unknown time unit value: %s", op, s)
}

// addMonthsClamped adds n months keeping the day, clamped to the last day
// of the target month.
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := y*12 + int(m) - 1 + n
	ny, nm := total/12, total%12
	if nm < 0 {
		nm += 12
		ny--
	}
	if dm := daysIn(ny, nm+1); d > dm {
		d = dm
	}
	h, mi, s := t.Clock()
	return time.Date(ny, time.Month(nm+1), d, h, mi, s, t.Nanosecond(), t.Location())
}

func dateAdd(t time.Time, unit string, amount int64) time.Time {
	switch unit {
	case "year":
		return addMonthsClamped(t, int(amount*12))
	case "quarter":
		return addMonthsClamped(t, int(amount*3))
	case "month":
		return addMonthsClamped(t, int(amount))
	case "week":
		return t.AddDate(0, 0, int(amount*7))
	case "day":
		return t.AddDate(0, 0, int(amount))
	}
	return t.Add(time.Duration(amount*unitMillis[unit]) * time.Millisecond)
}

func parseDateArith(sign int64) parseFunc {
	return func(name string, arg any) (Expr, error) {
		a, err := namedArgs(name, arg, []string{"startDate", "unit", "amount"}, []string{"timezone"})
		if err != nil {
			return nil, withCode(err, 5166401)
		}
		return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
			sd, err := a["startDate"].Eval(v)
			if err != nil {
				return nil, err
			}
			uv, err := a["unit"].Eval(v)
			if err != nil {
				return nil, err
			}
			av, err := a["amount"].Eval(v)
			if err != nil {
				return nil, err
			}
			tzv, err := evalOpt(a["timezone"], v)
			if err != nil {
				return nil, err
			}
			if nullish(sd) || nullish(uv) || nullish(av) || (nullish(tzv) && !bsonutil.IsMissing(tzv)) {
				return nil, nil
			}
			t, _, err := toTime(name, sd)
			if err != nil {
				return nil, mongoerr.Newf(5166403, "%s requires startDate to be convertible to a date", name)
			}
			unit, err := validUnit(uv, name)
			if err != nil {
				return nil, err
			}
			n, ok := bsonutil.ToInt64(av)
			if !ok || !bsonutil.IsNumber(av) {
				return nil, mongoerr.Newf(5166405, "%s expects integer amount of time units", name)
			}
			loc, _, err := parseTZ(tzv)
			if err != nil {
				return nil, err
			}
			if n > 1e12 || n < -1e12 {
				return nil, mongoerr.Newf(5166406, "%s overflowed", name)
			}
			return toDateTime(dateAdd(t.In(loc), unit, n*sign)), nil
		}}, nil
	}
}

func parseStartOfWeek(v any) (time.Weekday, error) {
	if bsonutil.IsMissing(v) {
		return time.Sunday, nil
	}
	s, ok := v.(string)
	if !ok {
		return 0, mongoerr.Newf(5439015, "startOfWeek must be a string, found %s", typeName(v))
	}
	ls := strings.ToLower(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		full := strings.ToLower(d.String())
		if ls == full || ls == full[:3] {
			return d, nil
		}
	}
	return 0, mongoerr.Newf(5439016, "unknown day of week: %s", s)
}

// localDays returns the day number (days since 1970-01-01) of t's local
// calendar date.
func localDays(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func localMillis(t time.Time) int64 {
	_, off := t.Zone()
	return t.UnixMilli() + int64(off)*1000
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func dateDiff(t1, t2 time.Time, unit string, sow time.Weekday) int64 {
	switch unit {
	case "year":
		return int64(t2.Year() - t1.Year())
	case "quarter":
		return int64((t2.Year()*4 + (int(t2.Month())-1)/3) - (t1.Year()*4 + (int(t1.Month())-1)/3))
	case "month":
		return int64((t2.Year()*12 + int(t2.Month())) - (t1.Year()*12 + int(t1.Month())))
	case "week":
		// Shift so that sow becomes day 0 of the week; 1970-01-01 was a Thursday.
		shift := int64((int(time.Thursday) - int(sow) + 7) % 7)
		return floorDiv(localDays(t2)+shift, 7) - floorDiv(localDays(t1)+shift, 7)
	case "day":
		return localDays(t2) - localDays(t1)
	}
	u := unitMillis[unit]
	return floorDiv(localMillis(t2), u) - floorDiv(localMillis(t1), u)
}

func parseDateDiff(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"startDate", "endDate", "unit"}, []string{"timezone", "startOfWeek"})
	if err != nil {
		return nil, withCode(err, 5166301)
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		vals := map[string]any{}
		for _, k := range []string{"startDate", "endDate", "unit", "timezone", "startOfWeek"} {
			r, err := evalOpt(a[k], v)
			if err != nil {
				return nil, err
			}
			if nullish(r) && !bsonutil.IsMissing(r) || (bsonutil.IsMissing(r) && a[k] != nil) {
				return nil, nil
			}
			vals[k] = r
		}
		t1, _, err := toTime(name, vals["startDate"])
		if err != nil {
			return nil, mongoerr.Newf(5166307, "$dateDiff requires 'startDate' to be a date, but got %s", typeName(vals["startDate"]))
		}
		t2, _, err := toTime(name, vals["endDate"])
		if err != nil {
			return nil, mongoerr.Newf(5166307, "$dateDiff requires 'endDate' to be a date, but got %s", typeName(vals["endDate"]))
		}
		unit, err := validUnit(vals["unit"], name)
		if err != nil {
			return nil, err
		}
		loc, _, err := parseTZ(vals["timezone"])
		if err != nil {
			return nil, err
		}
		sow := time.Sunday
		if unit == "week" {
			if sow, err = parseStartOfWeek(vals["startOfWeek"]); err != nil {
				return nil, err
			}
		}
		return dateDiff(t1.In(loc), t2.In(loc), unit, sow), nil
	}}, nil
}

// refDate is the reference point for $dateTrunc bins: 2000-01-01.
func dateTrunc(t time.Time, unit string, bin int64, sow time.Weekday) time.Time {
	loc := t.Location()
	switch unit {
	case "year", "quarter", "month":
		per := map[string]int64{"year": 12, "quarter": 3, "month": 1}[unit] * bin
		months := int64(t.Year()-2000)*12 + int64(t.Month()-1)
		m := floorDiv(months, per) * per
		return time.Date(2000+int(floorDiv(m, 12)), time.Month(m-floorDiv(m, 12)*12+1), 1, 0, 0, 0, 0, loc)
	case "week", "day":
		ref := int64(10957) // 2000-01-01 in days since epoch (a Saturday)
		per := bin
		if unit == "week" {
			ref += int64((int(sow) - int(time.Saturday) + 7) % 7)
			per *= 7
		}
		days := ref + floorDiv(localDays(t)-ref, per)*per
		d := time.Unix(days*86400, 0).UTC()
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	}
	per := unitMillis[unit] * bin
	const ref = 946684800000 // 2000-01-01T00:00:00Z
	lm := localMillis(t)
	tr := ref + floorDiv(lm-ref, per)*per
	return t.Add(time.Duration(tr-lm) * time.Millisecond)
}

func parseDateTrunc(name string, arg any) (Expr, error) {
	a, err := namedArgs(name, arg, []string{"date", "unit"}, []string{"binSize", "timezone", "startOfWeek"})
	if err != nil {
		return nil, withCode(err, 5439007)
	}
	return lazyNode{fn: func(v *Vars, _ []Expr) (any, error) {
		vals := map[string]any{}
		for _, k := range []string{"date", "unit", "binSize", "timezone", "startOfWeek"} {
			r, err := evalOpt(a[k], v)
			if err != nil {
				return nil, err
			}
			if nullish(r) && (!bsonutil.IsMissing(r) || a[k] != nil) {
				return nil, nil
			}
			vals[k] = r
		}
		t, _, err := toTime(name, vals["date"])
		if err != nil {
			return nil, mongoerr.Newf(5439012, "$dateTrunc requires 'date' to be a date, but got %s", typeName(vals["date"]))
		}
		unit, err := validUnit(vals["unit"], name)
		if err != nil {
			return nil, err
		}
		bin := int64(1)
		if b := vals["binSize"]; !bsonutil.IsMissing(b) {
			n, ok := bsonutil.ToInt64(b)
			if !ok || !bsonutil.IsNumber(b) || n <= 0 {
				return nil, mongoerr.Newf(5439017, "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '%s' of type %s", bsonutil.Format(b), typeName(b))
			}
			bin = n
		}
		loc, _, err := parseTZ(vals["timezone"])
		if err != nil {
			return nil, err
		}
		sow := time.Sunday
		if unit == "week" {
			if sow, err = parseStartOfWeek(vals["startOfWeek"]); err != nil {
				return nil, err
			}
		}
		return toDateTime(dateTrunc(t.In(loc), unit, bin, sow)), nil
	}}, nil
}

func init() {
	i32 := func(f func(t time.Time) int) func(time.Time) any {
		return func(t time.Time) any { return int32(f(t)) }
	}
	register("$year", datePart(i32(func(t time.Time) int { return t.Year() })))
	register("$month", datePart(i32(func(t time.Time) int { return int(t.Month()) })))
	register("$dayOfMonth", datePart(i32(func(t time.Time) int { return t.Day() })))
	register("$dayOfWeek", datePart(i32(func(t time.Time) int { return int(t.Weekday()) + 1 })))
	register("$dayOfYear", datePart(i32(func(t time.Time) int { return t.YearDay() })))
	register("$hour", datePart(i32(func(t time.Time) int { return t.Hour() })))
	register("$minute", datePart(i32(func(t time.Time) int { return t.Minute() })))
	register("$second", datePart(i32(func(t time.Time) int { return t.Second() })))
	register("$millisecond", datePart(i32(func(t time.Time) int { return t.Nanosecond() / 1e6 })))
	register("$week", datePart(i32(weekOfYear)))
	register("$isoWeek", datePart(i32(func(t time.Time) int { _, w := t.ISOWeek(); return w })))
	register("$isoWeekYear", datePart(func(t time.Time) any { y, _ := t.ISOWeek(); return int64(y) }))
	register("$isoDayOfWeek", datePart(i32(isoDayOfWeek)))
	register("$dateToString", parseDateToString)
	register("$dateFromString", parseDateFromString)
	register("$dateFromParts", parseDateFromParts)
	register("$dateToParts", parseDateToParts)
	register("$dateAdd", parseDateArith(1))
	register("$dateSubtract", parseDateArith(-1))
	register("$dateDiff", parseDateDiff)
	register("$dateTrunc", parseDateTrunc)
}
