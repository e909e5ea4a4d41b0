package cursorapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// The daily usage answer holds a row per active member-day with some twenty
// fields (lines, requests, models, versions), of which enrichment uses three:
// email, day and isActive. At 10,000 members it is ~17 MB, and encoding/json
// (which checks the whole body, then matches every key against the struct,
// ignoring case) spent most of a sync's enrichment CPU on it. usageScanner
// walks the body once, decodes those three fields and skips the rest,
// checking that what it skips is well-formed JSON.

// usageShapeError says where the answer left the documented shape; it never
// quotes the body.
type usageShapeError struct{ why string }

func (e *usageShapeError) Error() string { return e.why }

// usageRowBytes is about what an active row takes (~480 at Cursor's and the
// simulator's fields): enough to size the list once, without a pass to count.
const usageRowBytes = 400

// maxSkipDepth bounds how deeply nested a skipped value may be.
const maxSkipDepth = 64

type usageScanner struct {
	b    []byte
	i    int
	days map[string]string // a window has 30 distinct days: one string each
}

// decodeUsage returns the rows of {"data":[…], …}; ok false when the body
// has no data list.
func decodeUsage(body []byte) (rows []UsageDay, ok bool, err error) {
	s := &usageScanner{b: body, days: map[string]string{}}
	defer func() {
		if r := recover(); r != nil {
			e, isShape := r.(*usageShapeError)
			if !isShape {
				panic(r)
			}
			rows, ok, err = nil, false, e
		}
	}()
	s.expect('{')
	for first := true; ; first = false {
		if s.peek() == '}' && first {
			s.i++
			break
		}
		if string(s.key()) == "data" {
			rows, ok = s.data()
		} else {
			s.skip(0)
		}
		if s.next() == '}' {
			break
		}
		s.back(',')
	}
	if s.ws(); s.i != len(s.b) {
		s.fail("syntax error at offset %d", s.i+1)
	}
	return rows, ok, nil
}

func (s *usageScanner) fail(format string, args ...any) {
	panic(&usageShapeError{why: fmt.Sprintf(format, args...)})
}

func (s *usageScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *usageScanner) peek() byte {
	s.ws()
	if s.i == len(s.b) {
		s.fail("syntax error at offset %d", s.i+1)
	}
	return s.b[s.i]
}

// next consumes and returns the next byte after whitespace.
func (s *usageScanner) next() byte {
	c := s.peek()
	s.i++
	return c
}

// back checks that the byte just consumed was c.
func (s *usageScanner) back(c byte) {
	if s.b[s.i-1] != c {
		s.fail("syntax error at offset %d", s.i)
	}
}

func (s *usageScanner) expect(c byte) {
	if s.next() != c {
		s.fail("syntax error at offset %d", s.i)
	}
}

// key reads an object key and its colon; the bytes are the body's own when
// the key has no escapes (no copy: rows have some twenty keys).
func (s *usageScanner) key() []byte {
	if s.peek() != '"' {
		s.fail("syntax error at offset %d", s.i+1)
	}
	k := s.strBytes()
	s.expect(':')
	return k
}

// str reads a string literal at s.i, unescaping as encoding/json does.
func (s *usageScanner) str() string { return string(s.strBytes()) }

func (s *usageScanner) strBytes() []byte {
	start := s.i
	s.i++
	escaped := false
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i++
		case c == '"':
			s.i++
			lit := s.b[start:s.i]
			if !escaped && utf8.Valid(lit) {
				return lit[1 : len(lit)-1]
			}
			var out string
			if err := json.Unmarshal(lit, &out); err != nil {
				s.fail("syntax error at offset %d", start+1)
			}
			return []byte(out)
		case c < 0x20:
			s.fail("syntax error at offset %d", s.i+1)
		}
	}
	s.fail("syntax error at offset %d", s.i+1)
	return nil
}

// data reads the value of "data": a list of rows (false when null).
// Inactive rows (isActive false) are left out, as ActiveDays promises.
func (s *usageScanner) data() ([]UsageDay, bool) {
	if s.literal() == "null" {
		return nil, false
	}
	if s.peek() != '[' {
		s.fail("data is not a JSON array")
	}
	s.i++
	out := make([]UsageDay, 0, (len(s.b)-s.i)/usageRowBytes)
	if s.peek() == ']' {
		s.i++
		return out, true
	}
	for n := 0; ; n++ {
		if r, active := s.row(n); active {
			out = append(out, r)
		}
		if s.next() == ']' {
			return out, true
		}
		s.back(',')
	}
}

// literal returns "null" and consumes it when the next value is null.
func (s *usageScanner) literal() string {
	if s.peek() == 'n' {
		s.word("null")
		return "null"
	}
	return ""
}

func (s *usageScanner) word(w string) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.fail("syntax error at offset %d", s.i+1)
	}
	s.i += len(w)
}

// row reads data[n]: an object (null is an empty row, as encoding/json has it).
func (s *usageScanner) row(n int) (UsageDay, bool) {
	var r UsageDay
	if s.literal() == "null" {
		return r, true
	}
	if s.peek() != '{' {
		s.fail("data[%d] is not a JSON object", n)
	}
	s.i++
	active := true
	if s.peek() == '}' {
		s.i++
		return r, true
	}
	for {
		switch k := s.key(); string(k) {
		case "email":
			r.Email = s.nullableString("email")
		case "day":
			d := s.nullableString("day")
			if known, ok := s.days[d]; ok {
				d = known
			} else {
				s.days[d] = d
			}
			r.Day = d
		case "isActive":
			switch s.peek() {
			case 't':
				s.word("true")
			case 'f':
				s.word("false")
				active = false
			case 'n':
				s.word("null")
			default:
				s.fail("data.isActive is not a JSON boolean")
			}
		default:
			s.skip(0)
		}
		if s.next() == '}' {
			return r, active
		}
		s.back(',')
	}
}

// nullableString reads a string or null ("") as field name's value.
func (s *usageScanner) nullableString(name string) string {
	switch s.peek() {
	case '"':
		return s.str()
	case 'n':
		s.word("null")
		return ""
	}
	s.fail("data.%s is not a JSON string", name)
	return ""
}

// skip checks and passes over one value.
func (s *usageScanner) skip(depth int) {
	if depth > maxSkipDepth {
		s.fail("values nested more than %d deep at offset %d", maxSkipDepth, s.i+1)
	}
	switch c := s.peek(); {
	case c == '"':
		s.skipString()
	case c == '{', c == '[':
		s.i++
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		if s.peek() == end {
			s.i++
			return
		}
		for {
			if c == '{' {
				if s.peek() != '"' {
					s.fail("syntax error at offset %d", s.i+1)
				}
				s.skipString()
				s.expect(':')
			}
			s.skip(depth + 1)
			if s.next() == end {
				return
			}
			s.back(',')
		}
	case c == 't':
		s.word("true")
	case c == 'f':
		s.word("false")
	case c == 'n':
		s.word("null")
	case c == '-' || c >= '0' && c <= '9':
		s.skipNumber()
	default:
		s.fail("syntax error at offset %d", s.i+1)
	}
}

// skipNumber passes over -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *usageScanner) skipNumber() {
	start := s.i
	digits := func() int {
		n := 0
		for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
			n++
		}
		return n
	}
	at := func(a, b byte) bool {
		if s.i < len(s.b) && (s.b[s.i] == a || s.b[s.i] == b) {
			s.i++
			return true
		}
		return false
	}
	at('-', '-')
	lead := s.i
	if n := digits(); n == 0 || n > 1 && s.b[lead] == '0' {
		s.fail("syntax error at offset %d", start+1)
	}
	if at('.', '.') && digits() == 0 {
		s.fail("syntax error at offset %d", start+1)
	}
	if at('e', 'E') {
		at('+', '-')
		if digits() == 0 {
			s.fail("syntax error at offset %d", start+1)
		}
	}
}

// skipString passes over a string literal without decoding it, checking
// its escapes.
func (s *usageScanner) skipString() {
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			s.i++
			switch {
			case s.i < len(s.b) && bytes.IndexByte([]byte(`"\\/bfnrt`), s.b[s.i]) >= 0:
			case s.i+4 < len(s.b) && s.b[s.i] == 'u' && isHex4(s.b[s.i+1:s.i+5]):
				s.i += 4
			default:
				s.fail("syntax error at offset %d", s.i+1)
			}
		case c == '"':
			s.i++
			return
		case c < 0x20:
			s.fail("syntax error at offset %d", s.i+1)
		}
	}
	s.fail("syntax error at offset %d", s.i+1)
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
