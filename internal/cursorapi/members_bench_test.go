package cursorapi

import (
	"bytes"
	"fmt"
	"testing"
)

// roster builds a realistic {"teamMembers":[…]} body: mixed id shapes, an
// unknown field, escapes in a few names.
func roster(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"teamMembers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		id := fmt.Sprintf(`"user_%026d"`, i)
		if i%10 == 0 {
			id = fmt.Sprint(1_000_000 + i)
		}
		name := fmt.Sprintf("Member Number %d", i)
		if i%100 == 0 {
			name = fmt.Sprintf(`Ren\u00e9e \"R\" %d`, i)
		}
		role := []string{"member", "member", "member", "owner", "free-owner"}[i%5]
		fmt.Fprintf(&b, `{"id":%s,"name":"%s","email":"member%d@example.com","role":"%s","isRemoved":%t,"user_id":%d}`,
			id, name, i, role, i%50 == 0, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestDecodeLargeRoster(t *testing.T) {
	got, _, err := decodeMembers(roster(100_000))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100_000 {
		t.Fatalf("decoded %d members, want 100000", len(got))
	}
	for i, want := range map[int]Member{
		0:     {ID: "1000000", Name: `Renée "R" 0`, Email: "member0@example.com", Role: "member", IsRemoved: true},
		3:     {ID: "user_00000000000000000000000003", Name: "Member Number 3", Email: "member3@example.com", Role: "owner"},
		99999: {ID: "user_00000000000000000000099999", Name: "Member Number 99999", Email: "member99999@example.com", Role: "free-owner"},
	} {
		if got[i] != want {
			t.Errorf("member %d = %+v, want %+v", i, got[i], want)
		}
	}
}

func BenchmarkDecodeMembers100k(b *testing.B) {
	body := roster(100_000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := decodeMembers(body); err != nil {
			b.Fatal(err)
		}
	}
}
