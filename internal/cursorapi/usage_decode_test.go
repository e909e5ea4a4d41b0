package cursorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// reference is what encoding/json makes of a daily usage answer: the
// decoder this file's scanner replaced.
func reference(body []byte) ([]UsageDay, bool, error) {
	var v struct {
		Data *[]struct {
			Email    string `json:"email"`
			Day      string `json:"day"`
			IsActive *bool  `json:"isActive"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, false, err
	}
	if v.Data == nil {
		return nil, false, nil
	}
	out := []UsageDay{}
	for _, r := range *v.Data {
		if r.IsActive == nil || *r.IsActive {
			out = append(out, UsageDay{Email: r.Email, Day: r.Day})
		}
	}
	return out, true, nil
}

// simulatedUsage is the simulated tenant's answer for the last 30 days.
func simulatedUsage(t testing.TB, members int, paged bool) []byte {
	t.Helper()
	tenant, err := simulator.New(simulator.Config{Members: members, Seed: 7, APIKey: "crsr_k"})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	body := `{"startDate":` + jsonInt(end.Add(-MaxAuditWindow).UnixMilli()) + `,"endDate":` + jsonInt(end.UnixMilli())
	if paged {
		body += `,"page":1,"pageSize":50`
	}
	req := httptest.NewRequest(http.MethodPost, dailyUsagePath, strings.NewReader(body+"}"))
	req.SetBasicAuth("crsr_k", "")
	rec := httptest.NewRecorder()
	tenant.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("simulated daily usage: HTTP %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return b
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// collectUsage decodes body from r(body), collecting the rows.
func collectUsage(body []byte, r func([]byte) io.Reader) ([]UsageDay, bool, error) {
	rows := []UsageDay{}
	ok, err := decodeUsage(r(body), func(d UsageDay) error { rows = append(rows, d); return nil })
	if !ok {
		rows = nil
	}
	return rows, ok, err
}

// readers give the body whole, or a byte at a time so that every token
// meets the end of what was read somewhere.
var readers = map[string]func([]byte) io.Reader{
	"whole":            func(b []byte) io.Reader { return bytes.NewReader(b) },
	"a byte at a time": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
}

func TestDecodeUsageReadsWhatEncodingJSONReads(t *testing.T) {
	cases := map[string][]byte{
		"the simulated tenant":          simulatedUsage(t, 300, false),
		"the paged form (isActive set)": simulatedUsage(t, 300, true),
		"escapes, nulls, nesting, spacing": []byte(` { "period" : {"a":[1,-2.5e+3,{"b":null}],"c":"\"}\\"} , "data" : [ ` +
			`{"email":"Ren\u00e9e@x.example","day":"2026-03-01","extra":{"deep":[[["x"]]]},"isActive":true},` +
			`{"email":null,"day":"2026-03-02","n":0},` +
			`{"email":"b@x.example","day":"2026-03-01","isActive":false}, null, {} ,` +
			`{"isActive":null,"email":"\ud83d\ude80@x.example","day":"2026-03-03"} ] , "x": true }` + "\n"),
		"no data":       []byte(`{"period":{}}`),
		"data null":     []byte(`{"data":null}`),
		"data empty":    []byte(`{"data":[]}`),
		"invalid UTF-8": []byte("{\"data\":[{\"email\":\"a\xffb@x.example\",\"day\":\"2026-03-01\"}]}"),
	}
	for name, body := range cases {
		for how, r := range readers {
			t.Run(name+", "+how, func(t *testing.T) {
				want, wantOK, err := reference(body)
				if err != nil {
					t.Fatalf("encoding/json: %v", err)
				}
				got, ok, err := collectUsage(body, r)
				if err != nil || ok != wantOK || !slices.Equal(got, want) {
					t.Errorf("decodeUsage = %d rows, %v, %v; encoding/json read %d rows, %v (first differing rows: %v / %v)",
						len(got), ok, err, len(want), wantOK, firstDiff(got, want), firstDiff(want, got))
				}
			})
		}
	}
}

func firstDiff(a, b []UsageDay) any {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return a[i]
		}
	}
	return nil
}

func TestDecodeUsageRefusesWhatIsNotJSONOrNotTheShape(t *testing.T) {
	for _, body := range []string{
		``, `[]`, `{"data":[{"email":"a","day":"d"}]`, `{"data":[{"email":"a","day":"d"},]}`, `{"data":[{"email":1}]}`,
		`{"data":{"email":"a"}}`, `{"data":[{"isActive":"yes"}]}`, `{"data":[{"n":01}]}`, `{"data":[{"n":1.}]}`,
		`{"data":[{"s":"\x"}]}`, `{"data":[{"s":"\u12"}]}`, "{\"data\":[{\"s\":\"a\nb\"}]}", `{"data":[]} x`, `{"data":[[]]}`,
		`{"data":[{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`, `{"data":[], "x": tru}`, `{data:[]}`,
	} {
		for how, r := range readers {
			if _, _, err := collectUsage([]byte(body), r); err == nil {
				t.Errorf("decodeUsage(%q) read %s succeeded, want an error", body, how)
			}
		}
	}
	// Through the client: one line naming the shape, no body content.
	srv, _ := fake(t, reply(200, `{"data":[{"email":"secret@x.example","day":7}]}`))
	err := newClient(t, srv.URL, &recorder{}).ActiveDays(context.Background(), time.Now().Add(-time.Hour), time.Now(), func(UsageDay) error { return nil })
	requireCode(t, err, codes.Internal, "daily usage response of an unexpected shape")
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error quotes the body: %v", err)
	}
}

// A string longer than what is read at a time is read whole; an error of
// the body's reader or of the row's consumer ends the read and is returned.
func TestDecodeUsageReadsLongStringsAndStopsOnErrors(t *testing.T) {
	long := strings.Repeat("a", 3*usageChunk) + "@x.example"
	rows, ok, err := collectUsage([]byte(`{"data":[{"email":"`+long+`","day":"2026-03-01","note":"`+long+`"}]}`), readers["whole"])
	if err != nil || !ok || len(rows) != 1 || rows[0].Email != long {
		t.Errorf("a %d-byte email: %d rows, %v, %v", len(long), len(rows), ok, err)
	}

	body := []byte(`{"data":[{"email":"a@x.example","day":"2026-03-01"},{"email":"b@x.example","day":"2026-03-01"}]}`)
	enough := errors.New("enough")
	var seen int
	_, err = decodeUsage(bytes.NewReader(body), func(UsageDay) error { seen++; return enough })
	if err != enough || seen != 1 {
		t.Errorf("consumer's error: decodeUsage = %v after %d rows; want it returned after the first", err, seen)
	}

	cut := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(body[:40]), iotest.ErrReader(cut))
	if _, err = decodeUsage(r, func(UsageDay) error { return nil }); err != cut {
		t.Errorf("reader's error: decodeUsage = %v; want %v", err, cut)
	}
}

func FuzzDecodeUsage(f *testing.F) {
	f.Add([]byte(`{"data":[{"email":"a@x.example","day":"2026-03-01","isActive":true,"n":[1,{"x":"\u00e9"}]}]}`))
	f.Add([]byte(`{"data":null,"period":{"startDate":1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok, err := collectUsage(body, readers["a byte at a time"])
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("decodeUsage accepted invalid JSON %q", body)
		}
		// encoding/json matches keys ignoring case; the scanner, as Cursor
		// spells them. Compare where the body has no other spelling.
		if bytes.Contains(bytes.ToLower(body), []byte(`"email"`)) != bytes.Contains(body, []byte(`"email"`)) ||
			bytes.Contains(bytes.ToLower(body), []byte(`"day"`)) != bytes.Contains(body, []byte(`"day"`)) ||
			bytes.Contains(bytes.ToLower(body), []byte(`"data"`)) != bytes.Contains(body, []byte(`"data"`)) ||
			bytes.Contains(bytes.ToLower(body), []byte(`"isactive"`)) != bytes.Contains(body, []byte(`"isActive"`)) ||
			bytes.Contains(body, []byte(`\`)) {
			return
		}
		want, wantOK, refErr := reference(body)
		if refErr == nil && (ok != wantOK || !slices.Equal(got, want)) {
			t.Fatalf("decodeUsage(%q) = %v, %v; encoding/json %v, %v", body, got, ok, want, wantOK)
		}
	})
}

// BenchmarkDecodeUsage10k decodes a 10,000-member team's 30 days (~17 MB):
// the scanner handing rows on (what the plugin's aggregation sees), and
// encoding/json building the list.
func BenchmarkDecodeUsage10k(b *testing.B) {
	body := simulatedUsage(b, 10000, false)
	for _, d := range []struct {
		name string
		fn   func([]byte) error
	}{
		{"scanner", func(body []byte) error {
			_, err := decodeUsage(bytes.NewReader(body), func(UsageDay) error { return nil })
			return err
		}},
		{"encoding-json", func(body []byte) error { _, _, err := reference(body); return err }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := d.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
