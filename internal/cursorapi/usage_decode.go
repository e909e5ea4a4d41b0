package cursorapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// The daily usage answer holds a row per active member-day with some twenty
// fields (lines, requests, models, versions), of which enrichment uses three:
// email, day and isActive. At 10,000 members it is ~17 MB, and encoding/json
// (which checks the whole body, then matches every key against the struct,
// ignoring case) spent most of a sync's enrichment CPU on it. usageScanner
// walks the body once, decodes those three fields and skips the rest,
// checking that what it skips is well-formed JSON. It reads the body as it
// arrives (a 50,000-member team's is ~85 MB) and hands each row on at once,
// so memory holds a chunk of the body, not all of it, and decoding overlaps
// the transfer.

// usageShapeError says where the answer left the documented shape; it never
// quotes the body.
type usageShapeError struct{ why string }

func (e *usageShapeError) Error() string { return e.why }

// usageStop carries an error of the body's reader or of each out of the scan.
type usageStop struct{ err error }

// usageChunk is how much of the body is read at a time.
const usageChunk = 64 << 10

// maxSkipDepth bounds how deeply nested a skipped value may be.
const maxSkipDepth = 64

type usageScanner struct {
	r    io.Reader
	b    []byte // the part of the body in memory
	i    int    // the next byte to scan, in b
	base int64  // the body offset of b[0]
	mark int    // b[mark:] is kept by fill (a string being read); -1: none
	eof  bool
	days map[string]string // a window has 30 distinct days: one string each
	each func(UsageDay) error
}

// decodeUsage scans {"data":[…], …} from r and hands each active row to
// each; ok false when the body has no data list. An error of r or of each
// ends the scan and is returned as it is.
func decodeUsage(r io.Reader, each func(UsageDay) error) (ok bool, err error) {
	s := &usageScanner{r: r, b: make([]byte, 0, usageChunk), mark: -1, days: map[string]string{}, each: each}
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case *usageShapeError:
				ok, err = false, e
			case usageStop:
				ok, err = false, e.err
			default:
				panic(r)
			}
		}
	}()
	s.expect('{')
	for first := true; ; first = false {
		if s.peek() == '}' && first {
			s.i++
			break
		}
		if s.key() == "data" {
			ok = s.data()
		} else {
			s.skip(0)
		}
		if s.next() == '}' {
			break
		}
		s.back(',')
	}
	if s.ws(); s.more() {
		s.fail("syntax error at offset %d", s.off()+1)
	}
	return ok, nil
}

// off is the body offset of the next byte to scan.
func (s *usageScanner) off() int64 { return s.base + int64(s.i) }

// more says whether a byte is there to scan at s.i, reading more of the body
// when the chunk in memory is used up (s.i may be past it, after an escape).
func (s *usageScanner) more() bool { return s.i < len(s.b) || s.refill() }

// refill is more's slow path, kept out of line so that more inlines.
//
//go:noinline
func (s *usageScanner) refill() bool {
	for s.i >= len(s.b) {
		if !s.fill() {
			return false
		}
	}
	return true
}

// need reads until n bytes from s.i are in memory or the body ends.
func (s *usageScanner) need(n int) bool {
	for len(s.b)-s.i < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// fill reads more of the body, dropping what was scanned before s.i (or
// s.mark); false when the body has ended.
func (s *usageScanner) fill() bool {
	if s.eof {
		return false
	}
	keep := s.i
	if s.mark >= 0 {
		keep = min(keep, s.mark)
		s.mark -= keep
	}
	s.b = s.b[:copy(s.b, s.b[keep:])]
	s.i -= keep
	s.base += int64(keep)
	if len(s.b) == cap(s.b) { // one string longer than a chunk
		s.b = slices.Grow(s.b, cap(s.b))
	}
	for {
		n, err := s.r.Read(s.b[len(s.b):cap(s.b)])
		s.b = s.b[:len(s.b)+n]
		switch {
		case err == io.EOF:
			s.eof = true
			return n > 0
		case err != nil:
			panic(usageStop{err})
		case n > 0:
			return true
		}
	}
}

func (s *usageScanner) fail(format string, args ...any) {
	panic(&usageShapeError{why: fmt.Sprintf(format, args...)})
}

func (s *usageScanner) ws() {
	for s.more() {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *usageScanner) peek() byte {
	if s.i < len(s.b) && s.b[s.i] > ' ' { // compact JSON: no whitespace to pass
		return s.b[s.i]
	}
	if s.ws(); !s.more() {
		s.fail("syntax error at offset %d", s.off()+1)
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
		s.fail("syntax error at offset %d", s.off())
	}
}

func (s *usageScanner) expect(c byte) {
	if s.next() != c {
		s.fail("syntax error at offset %d", s.off())
	}
}

// usageKeys are the keys the scan reads the values of.
var usageKeys = [...]string{"data", "email", "day", "isActive"}

// key reads an object key and its colon and returns it if it is one of
// usageKeys, "" if not (no copy: rows have some twenty keys).
func (s *usageScanner) key() string {
	if s.peek() != '"' {
		s.fail("syntax error at offset %d", s.off()+1)
	}
	k, known := s.strBytes(), ""
	for _, w := range usageKeys {
		if string(k) == w {
			known = w
		}
	}
	s.expect(':') // may read on, over the chunk k is in
	return known
}

// str reads a string literal at s.i, unescaping as encoding/json does.
func (s *usageScanner) str() string { return string(s.strBytes()) }

func (s *usageScanner) strBytes() []byte {
	at := s.off()
	s.mark = s.i // the literal stays in memory while it is read
	s.i++
	escaped := false
	for ; ; s.i++ {
		if s.i = plainRun(s.b, s.i); !s.more() {
			break
		}
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i++
		case c == '"':
			s.i++
			lit := s.b[s.mark:s.i]
			s.mark = -1
			if !escaped && utf8.Valid(lit) {
				return lit[1 : len(lit)-1]
			}
			var out string
			if err := json.Unmarshal(lit, &out); err != nil {
				s.fail("syntax error at offset %d", at+1)
			}
			return []byte(out)
		case c < 0x20:
			s.fail("syntax error at offset %d", s.off()+1)
		}
	}
	s.fail("syntax error at offset %d", s.off()+1)
	return nil
}

// data reads the value of "data": a list of rows (false when null), each
// handed to s.each. Inactive rows (isActive false) are left out, as
// ActiveDays promises.
func (s *usageScanner) data() bool {
	if s.literal() == "null" {
		return false
	}
	if s.peek() != '[' {
		s.fail("data is not a JSON array")
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return true
	}
	for n := 0; ; n++ {
		if r, active := s.row(n); active {
			if err := s.each(r); err != nil {
				panic(usageStop{err})
			}
		}
		if s.next() == ']' {
			return true
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
	if !s.need(len(w)) || !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		s.fail("syntax error at offset %d", s.off()+1)
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
		switch s.key() {
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
		s.fail("values nested more than %d deep at offset %d", maxSkipDepth, s.off()+1)
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
					s.fail("syntax error at offset %d", s.off()+1)
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
		s.fail("syntax error at offset %d", s.off()+1)
	}
}

// skipNumber passes over -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *usageScanner) skipNumber() {
	start := s.off()
	digits := func() (n int, first byte) {
		for ; s.more() && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
			if n++; n == 1 {
				first = s.b[s.i]
			}
		}
		return n, first
	}
	at := func(a, b byte) bool {
		if s.more() && (s.b[s.i] == a || s.b[s.i] == b) {
			s.i++
			return true
		}
		return false
	}
	at('-', '-')
	if n, first := digits(); n == 0 || n > 1 && first == '0' {
		s.fail("syntax error at offset %d", start+1)
	}
	if at('.', '.') {
		if n, _ := digits(); n == 0 {
			s.fail("syntax error at offset %d", start+1)
		}
	}
	if at('e', 'E') {
		at('+', '-')
		if n, _ := digits(); n == 0 {
			s.fail("syntax error at offset %d", start+1)
		}
	}
}

// skipString passes over a string literal without decoding it, checking
// its escapes.
func (s *usageScanner) skipString() {
	for s.i++; ; s.i++ {
		s.i = plainRun(s.b, s.i)
		if !s.more() {
			break
		}
		switch c := s.b[s.i]; {
		case c == '\\':
			s.i++
			switch {
			case s.more() && bytes.IndexByte([]byte(`"\\/bfnrt`), s.b[s.i]) >= 0:
			case s.need(5) && s.b[s.i] == 'u' && isHex4(s.b[s.i+1:s.i+5]):
				s.i += 4
			default:
				s.fail("syntax error at offset %d", s.off()+1)
			}
		case c == '"':
			s.i++
			return
		case c < 0x20:
			s.fail("syntax error at offset %d", s.off()+1)
		}
	}
	s.fail("syntax error at offset %d", s.off()+1)
}

// plainRun returns the index of the first byte from b[i] on that ends or
// escapes a string, or is a control character (len(b) if none).
func plainRun(b []byte, i int) int {
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
