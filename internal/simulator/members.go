package simulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
)

func (t *Tenant) serveMembers(w http.ResponseWriter, r *http.Request, f Faults) {
	page, size := 0, 0 // page 0: not paged
	if t.pageSize > 0 {
		var ok bool
		// A larger pageSize is clamped, as /organizations/members does (docs/cursor-api.md §6.1).
		if page, size, ok = pageParams(r.URL.Query(), t.pageSize, math.MaxInt); !ok {
			badRequest(w, "page and pageSize must be positive integers")
			return
		}
		size = min(size, t.pageSize)
	}
	t.mu.Lock()
	var body []byte
	var bodyLen []string
	if page == 0 {
		body, bodyLen = t.membersBodyLocked()
	} else {
		if page > 1 && t.joinsLeft != 0 {
			t.joinsLeft = max(t.joinsLeft-1, -1)
			t.joinLocked()
		}
		body = t.membersPageLocked(page, size)
		bodyLen = []string{strconv.Itoa(len(body))}
	}
	malformed := (f.InvalidJSON || f.Truncate) && t.takeMalformedLocked()
	t.mu.Unlock()

	h := w.Header()
	h["Content-Type"] = headerJSON
	switch {
	case malformed && f.InvalidJSON:
		writeJSON(w, http.StatusOK, bodyNotJSON)
	case malformed:
		// Declaring the full length and writing half makes net/http close
		// the connection: the client sees an unexpected EOF mid-body.
		h["Content-Length"] = bodyLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	default:
		h["Content-Length"] = bodyLen
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// takeMalformedLocked reports whether this members answer is one of the
// malformed ones.
func (t *Tenant) takeMalformedLocked() bool {
	switch {
	case t.faults.MalformedRequests == 0:
		return true
	case t.malformedLeft > 0:
		t.malformedLeft--
		return true
	}
	return false
}

// membersPageLocked encodes one page of the rows the answer shows (removed
// ones left out with OmitRemoved), with Cursor's pagination object.
func (t *Tenant) membersPageLocked(page, size int) []byte {
	total := len(t.members)
	if t.omitRemoved {
		total = 0
		for i := range t.members {
			if !t.members[i].IsRemoved {
				total++
			}
		}
	}
	pages := (total + size - 1) / size
	buf := make([]byte, 0, 200+size*150)
	buf = append(buf, `{"teamMembers":[`...)
	skip, n := (page-1)*size, 0
	for i := range t.members {
		m := &t.members[i]
		if t.omitRemoved && m.IsRemoved {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if n == size {
			break
		}
		if n > 0 {
			buf = append(buf, ',')
		}
		buf = appendMember(buf, m)
		n++
	}
	return fmt.Appendf(buf, `],"pagination":{"page":%d,"pageSize":%d,"totalCount":%d,"totalPages":%d,"hasNextPage":%t,"hasPreviousPage":%t}}`,
		page, size, total, pages, page < pages, page > 1)
}

// joinLocked adds a new active member at the end of the roster.
func (t *Tenant) joinLocked() {
	m := t.gen.member(len(t.members)) // the row index keeps its email unique
	m.Role, m.IsRemoved = "member", false
	t.members = append(t.members, m)
	t.invalidateLocked()
}
