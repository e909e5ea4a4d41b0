package cursorapi

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FuzzDecodeMembers: any body either decodes or fails with Internal, and a
// failure never quotes the body (it holds people's names and emails).
func FuzzDecodeMembers(f *testing.F) {
	for _, seed := range []string{
		oneMember,
		`{"teamMembers":[]}`,
		`[{"name":"A","email":"a@x.test","role":"owner"}]`,
		`{"teamMembers":[{"id":12345,"email":"n@x.test","role":"member","isRemoved":true,"user_id":"u"}]}`,
		`{"teamMembers":[{"id":null,"email":"Zo\u00eb@X.test","name":"Zo\u00eb \"Z\" \ud83d\ude80","role":"billing-admin"}]}`,
		`{"teamMembers":null}`, `{"teamMembers":{}}`, `{"teamMembers":[{"id":true}]}`, `{"teamMembers":[{"role":7}]}`,
		`{"teamMembers":[{"id":"user_1","email":"a@x`, `<html>oops</html>`, ``, `[`, `{"teamMembers":[{"id":-1.5e3}]}`,
		// Paged, as Cursor's own client reads it: a numeric-string id beside a publicId.
		`{"teamMembers":[{"id":"42","publicId":"user_alice","email":"a@x.test","role":"Org Admin"}],"pagination":{"page":1,"pageSize":500,"totalCount":1,"hasNextPage":false}}`,
		`{"teamMembers":[],"pagination":{"hasNextPage":"yes"}}`, `{"teamMembers":[],"pagination":null}`, `{"teamMembers":[{"publicId":7}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		members, _, err := decodeMembers(body)
		if err != nil {
			if status.Code(err) != codes.Internal {
				t.Fatalf("code %v, want Internal: %v", status.Code(err), err)
			}
			msg := err.Error()
			if len(msg) > 300 {
				t.Fatalf("error message of %d bytes may quote the body: %q", len(msg), msg)
			}
			if len(body) >= 12 && strings.Contains(msg, string(body)) {
				t.Fatalf("error quotes the body: %q", msg)
			}
			return
		}
		// Only valid JSON decodes. (Not json.Unmarshal into any: that also
		// rejects numbers beyond float64, such as 1e700, in fields we ignore.)
		if !json.Valid(body) {
			t.Fatalf("decoded %d members from a body that is not valid JSON", len(members))
		}
	})
}

// FuzzMembersRoundTrip: whatever field values Cursor sends come back verbatim.
func FuzzMembersRoundTrip(f *testing.F) {
	f.Add("user_abc", "Dana.Levi@Example.com", "Dana Levi", "member", false, false)
	f.Add("12345", "n@x.test", "", "free-owner", true, true)
	f.Add("", "zoë@x.test", "Zoë \"Z\" 🚀", "billing-admin", false, false)
	f.Fuzz(func(t *testing.T, id, email, name, role string, removed, numericID bool) {
		row := map[string]any{"email": email, "name": name, "role": role, "isRemoved": removed}
		wantID, wantPublicID := id, ""
		switch {
		case numericID: // as Cursor's own client expects: a number beside the user_ publicId
			row["id"] = json.Number("98765")
			wantID = "98765"
			if id != "" {
				row["publicId"], wantPublicID = id, id
			}
		case id != "":
			row["id"] = id
		}
		body, err := json.Marshal(map[string]any{"teamMembers": []any{row}})
		if err != nil {
			t.Skip() // not representable as JSON text: nothing to decode
		}
		got, _, err := decodeMembers(body)
		if err != nil {
			t.Fatalf("decodeMembers(%s): %v", body, err)
		}
		// encoding/json replaces each invalid UTF-8 byte with U+FFFD on the way out.
		norm := func(s string) string {
			b, _ := json.Marshal(s)
			var out string
			_ = json.Unmarshal(b, &out)
			return out
		}
		want := Member{ID: norm(wantID), PublicID: norm(wantPublicID), Email: norm(email), Name: norm(name), Role: norm(role), IsRemoved: removed}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	})
}
