package cursorapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/conductorone/baton-cursor/internal/webapi"
)

// Member is one row of GET /teams/members.
type Member struct {
	ID        string // "user_…", or a decimal number as text in early-2026 answers; "" when absent
	Email     string // as Cursor returned it
	Name      string
	Role      string // "owner", "member", "free-owner", or whatever else Cursor sends
	IsRemoved bool
}

const membersPath = "/teams/members"

// ListMembers returns the whole roster; the endpoint has no pagination.
func (c *Client) ListMembers(ctx context.Context) ([]Member, error) {
	resp, err := c.do(ctx, http.MethodGet, membersPath, nil)
	if err != nil {
		return nil, err
	}
	return decodeMembers(resp.Body)
}

type wireMember struct {
	ID        memberID `json:"id"`
	Email     string   `json:"email"`
	Name      string   `json:"name"`
	Role      role     `json:"role"`
	IsRemoved bool     `json:"isRemoved"`
}

// decodeMembers accepts {"teamMembers":[…]} and the 2025 bare array. Errors
// give offsets and sizes but never body content, which is personal data.
func decodeMembers(body []byte) ([]Member, error) {
	// Size the slice up front: a 100k roster otherwise grows through ~17 copies.
	wire := make([]wireMember, 0, bytes.Count(body, []byte(`"email"`)))
	var err error
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(body, &wire)
	} else {
		env := struct {
			TeamMembers *[]wireMember `json:"teamMembers"`
		}{&wire}
		err = json.Unmarshal(body, &env)
		if err == nil && len(wire) == 0 && !hasMemberList(body) {
			return nil, webapi.Errorf(codes.Internal, "Cursor returned a members response without a teamMembers list (%d bytes)", len(body))
		}
	}
	if err != nil {
		return nil, &webapi.Error{Code: codes.Internal, Err: describeDecodeError(err, len(body))}
	}
	out := make([]Member, len(wire))
	for i, w := range wire {
		out[i] = Member{ID: string(w.ID), Email: w.Email, Name: w.Name, Role: string(w.Role), IsRemoved: w.IsRemoved}
	}
	return out, nil
}

// hasMemberList tells an honest empty list from a missing or null one.
func hasMemberList(body []byte) bool {
	var probe struct {
		TeamMembers json.RawMessage `json:"teamMembers"`
	}
	return json.Unmarshal(body, &probe) == nil && len(probe.TeamMembers) > 0 && probe.TeamMembers[0] == '['
}

func describeDecodeError(err error, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn): // its text can quote a body character, so only the offset is kept
		return fmt.Errorf("Cursor returned a members response that is not valid JSON (syntax error at offset %d of %d bytes)", syn.Offset, size)
	case errors.As(err, &typ):
		return fmt.Errorf("Cursor returned a members response of an unexpected shape (%s is a JSON %s, expected %s, at offset %d of %d bytes)", typ.Field, typ.Value, typ.Type, typ.Offset, size)
	}
	return fmt.Errorf("Cursor returned a members response of an unexpected shape (%w; %d bytes)", err, size)
}

// memberID accepts a JSON string, a JSON number (digits kept verbatim) or null.
type memberID string

func (id *memberID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*id = ""
	case b[0] == '"':
		s, err := unquote(b)
		*id = memberID(s)
		return err
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*id = memberID(b) // encoding/json has already checked it is a valid number
	default:
		return errors.New("a member id is neither a string nor a number")
	}
	return nil
}

// role interns Cursor's three documented roles: one allocation fewer per member.
type role string

func (r *role) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"member"`:
		*r = "member"
	case `"owner"`:
		*r = "owner"
	case `"free-owner"`:
		*r = "free-owner"
	case "null":
		*r = ""
	default:
		if b[0] != '"' {
			return errors.New("a member role is not a string")
		}
		s, err := unquote(b)
		*r = role(s)
		return err
	}
	return nil
}

// unquote decodes a JSON string literal, skipping the generic decoder when
// there is nothing to unescape or repair.
func unquote(b []byte) (string, error) {
	if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	err := json.Unmarshal(b, &s)
	return s, err
}
