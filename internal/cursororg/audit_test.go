package cursororg

import (
	"encoding/json"
	"testing"
)

// The organization audit log's field names are undocumented: the team
// route's snake_case and the Organization API's camelCase both decode, and
// a team id as a number or a string.
func TestAuditEventDecodesEitherFieldStyle(t *testing.T) {
	for name, raw := range map[string]string{
		"snake_case": `{"event_id":"evt_1","timestamp":"2026-12-01T10:00:00.000Z","user_email":"it@example.com","event_type":"add_user_to_group","teamId":7,"event_data":{"email":"a@example.com"}}`,
		"camelCase":  `{"eventId":"evt_1","timestamp":"2026-12-01T10:00:00.000Z","userEmail":"it@example.com","eventType":"add_user_to_group","teamId":"7","eventData":{"email":"a@example.com"}}`,
	} {
		var e AuditEvent
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e.ID != "evt_1" || e.UserEmail != "it@example.com" || e.Type != "add_user_to_group" || e.TeamID != "7" || string(e.Data) != `{"email":"a@example.com"}` || e.Timestamp.IsZero() {
			t.Errorf("%s decoded as %+v", name, e)
		}
	}
}
