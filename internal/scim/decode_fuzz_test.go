package scim

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FuzzDecodeResponses: any SCIM answer body either decodes or fails with
// Internal, and a failure never quotes the body (it holds personal data).
func FuzzDecodeResponses(f *testing.F) {
	for _, seed := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,` +
			`"Resources":[{"id":"u1","userName":"a@x.test","active":true,"name":{"givenName":"A","familyName":"B"},"emails":[{"value":"a@x.test","primary":true}]}]}`,
		`{"totalResults":0,"Resources":[]}`, `{"resources":[{"id":"u2","userName":"b@x.test","active":"False"}]}`,
		`{"id":"u3","userName":"c@x.test","active":null,"name":null,"emails":[{"value":"c@x.test","primary":"TRUE"}]}`,
		`{"Resources":{}}`, `{"active":"maybe"}`, `{"totalResults":"1"}`, `[]`, `{"id":`, `<html/>`, ``,
	} {
		f.Add([]byte(seed), "application/scim+json")
	}
	f.Add([]byte(`{"id":"u4"}`), "text/html")
	f.Add([]byte(`{"id":"u5"}`), "application/json; charset=utf-8")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		check := func(err error) {
			if err == nil {
				return
			}
			if status.Code(err) != codes.Internal {
				t.Fatalf("code %v, want Internal: %v", status.Code(err), err)
			}
			// A refused Content-Type is quoted on purpose (the body is not read then); a body never is.
			quotesBody := len(body) >= 12 && !strings.Contains(err.Error(), "Content-Type") && strings.Contains(err.Error(), string(body))
			if msg := err.Error(); len(msg) > 400 || quotesBody {
				t.Fatalf("error may quote the body: %q", msg)
			}
		}
		lr, err := decodeList(h, body)
		check(err)
		if err == nil {
			for _, w := range lr.Resources {
				_ = w.user()
			}
		}
		_, err = decodeUser(h, body, "GET /Users/u")
		check(err)
	})
}
