package scim

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// User is a SCIM User as far as the connector needs it.
type User struct {
	ID         string
	UserName   string // Cursor uses the email
	ExternalID string
	Active     bool // an answer without "active" counts as active (RFC 7643 sets no default)
	GivenName  string
	FamilyName string
	Emails     []Email
}

// Email is one entry of a User's "emails".
type Email struct {
	Value   string
	Primary bool
	Type    string
}

// Holds reports whether the user's userName or any of its emails is email,
// ignoring case (RFC 7643: userName is caseExact=false; email addresses are
// matched by people without regard to case).
func (u User) Holds(email string) bool {
	email = strings.TrimSpace(email)
	if strings.EqualFold(strings.TrimSpace(u.UserName), email) {
		return true
	}
	return slices.ContainsFunc(u.Emails, func(e Email) bool { return strings.EqualFold(strings.TrimSpace(e.Value), email) })
}

// FindByUserName returns every user whose userName equals userName
// case-insensitively (RFC 7643: userName is caseExact=false). It asks the
// server with filter=userName eq "…", follows paging, and also drops users
// that do not match, in case the server ignores the filter. Callers should
// refuse to act on more than one match.
func (c *Client) FindByUserName(ctx context.Context, userName string) ([]User, error) {
	if err := checkUserName(userName); err != nil {
		return nil, err
	}
	all, err := c.list(ctx, `userName eq "`+escapeFilterValue(userName)+`"`)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, u := range all {
		if strings.EqualFold(u.UserName, userName) {
			out = append(out, u)
		}
	}
	return out, nil
}

// ListUsers returns every user in the server's order (see list).
func (c *Client) ListUsers(ctx context.Context) ([]User, error) {
	return c.list(ctx, "")
}

// FirstUsers returns the first page of the directory, asking for n users
// (the server may return fewer).
func (c *Client) FirstUsers(ctx context.Context, n int) ([]User, error) {
	p, err := c.getPage(ctx, "", 1, n)
	return p.users, err
}

// Create POSTs a new, active user: schemas, userName, name (when given),
// emails and externalId (when set). Without Emails it sends userName as the
// primary work email; with Emails but none primary, the first becomes
// primary. u.ID and u.Active are ignored. It returns the server's user.
func (c *Client) Create(ctx context.Context, u User) (User, error) {
	if err := checkUserName(u.UserName); err != nil {
		return User{}, err
	}
	body := createBody{Schemas: []string{userSchema}, UserName: u.UserName, ExternalID: u.ExternalID, Active: true}
	if u.GivenName != "" || u.FamilyName != "" {
		body.Name = &wireName{GivenName: u.GivenName, FamilyName: u.FamilyName}
	}
	for _, e := range u.Emails {
		body.Emails = append(body.Emails, emailOut(e))
	}
	if len(body.Emails) == 0 {
		body.Emails = []emailOut{{Value: u.UserName, Primary: true, Type: "work"}}
	} else if !slices.ContainsFunc(body.Emails, func(e emailOut) bool { return e.Primary }) {
		body.Emails[0].Primary = true
	}
	b, err := json.Marshal(body)
	if err != nil {
		return User{}, internalf("encoding the SCIM user: %w", err)
	}
	resp, err := c.call(ctx, http.MethodPost, usersPath, "", b)
	if err != nil {
		return User{}, err
	}
	got, err := decodeUser(resp.Header, resp.Body, "POST "+usersPath)
	if err != nil {
		return User{}, err
	}
	if got.ID == "" {
		return User{}, internalf("Cursor's SCIM endpoint answered POST %s with HTTP %d but no user id", usersPath, resp.Status)
	}
	return got, nil
}

// Delete deletes one user (the server answers 204). A missing user is an
// error for which IsNotFound is true.
func (c *Client) Delete(ctx context.Context, id string) error {
	path, err := userPath(id)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, http.MethodDelete, path, "", nil)
	return err
}

// escapeFilterValue escapes a value for a quoted SCIM filter string
// (RFC 7644 §3.4.2.2: JSON string rules; userName has no control characters).
func escapeFilterValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// queryEscape encodes spaces as %20: "+" is form encoding, which not every
// SCIM server decodes in a query.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func checkUserName(userName string) error {
	switch {
	case strings.TrimSpace(userName) == "":
		return invalidf("SCIM userName is empty")
	case strings.IndexFunc(userName, unicode.IsControl) >= 0:
		return invalidf("SCIM userName contains control characters")
	}
	return nil
}

// userPath is /Users/{id} with id path-escaped.
func userPath(id string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", invalidf("SCIM user id %q is not usable in a URL path", id)
	}
	return usersPath + "/" + url.PathEscape(id), nil
}

// Wire types. encoding/json matches names case-insensitively, so
// "resources" fills Resources and "username" fills UserName.

type listResponse struct {
	TotalResults *int       `json:"totalResults"`
	Resources    []wireUser `json:"Resources"`
}

type wireName struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

type wireUser struct {
	ID         string      `json:"id"`
	UserName   string      `json:"userName"`
	ExternalID string      `json:"externalId"`
	Active     *flexBool   `json:"active"`
	Name       wireName    `json:"name"`
	Emails     []wireEmail `json:"emails"`
}

type wireEmail struct {
	Value   string   `json:"value"`
	Primary flexBool `json:"primary"`
	Type    string   `json:"type"`
}

func (w wireUser) user() User {
	u := User{ID: w.ID, UserName: w.UserName, ExternalID: w.ExternalID, Active: w.Active == nil || bool(*w.Active),
		GivenName: w.Name.GivenName, FamilyName: w.Name.FamilyName}
	for _, e := range w.Emails {
		u.Emails = append(u.Emails, Email{Value: e.Value, Primary: bool(e.Primary), Type: e.Type})
	}
	return u
}

type createBody struct {
	Schemas    []string   `json:"schemas"`
	UserName   string     `json:"userName"`
	ExternalID string     `json:"externalId,omitempty"`
	Name       *wireName  `json:"name,omitempty"`
	Emails     []emailOut `json:"emails"`
	Active     bool       `json:"active"`
}

type emailOut struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Type    string `json:"type,omitempty"`
}

// flexBool accepts true/false, null (false) and the strings "true"/"false" in any case.
// (A pointer to it is left nil by null: wireUser.Active then reads as absent.)
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true":
		*b = true
	case "false", "null":
		*b = false
	default:
		return errors.New("not a boolean")
	}
	return nil
}

// Decoding. Errors give offsets and sizes but never body content, which is personal data.

func decodeUser(h http.Header, body []byte, what string) (User, error) {
	if err := checkContentType(h, what); err != nil {
		return User{}, err
	}
	var w wireUser
	if err := json.Unmarshal(body, &w); err != nil {
		return User{}, decodeError(err, what, len(body))
	}
	return w.user(), nil
}

func decodeList(h http.Header, body []byte) (*listResponse, error) {
	what := "GET " + usersPath
	if err := checkContentType(h, what); err != nil {
		return nil, err
	}
	var lr listResponse
	if err := json.Unmarshal(body, &lr); err != nil {
		return nil, decodeError(err, what, len(body))
	}
	return &lr, nil
}

// checkContentType accepts application/scim+json, application/json or none.
func checkContentType(h http.Header, what string) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == mediaType || mt == "application/json") {
		return nil
	}
	if err != nil {
		mt = "unparsable"
	}
	if len(mt) > 64 { // the server chooses it; keep the line short (found by FuzzDecodeResponses)
		mt = mt[:64] + "…"
	}
	return internalf("Cursor's SCIM endpoint answered %s with Content-Type %s, not JSON; check cursor-scim-url (BATON_CURSOR_SCIM_URL)", what, mt)
}

func decodeError(err error, what string, size int) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn): // its text can quote a body character, so only the offset is kept
		return internalf("Cursor's SCIM endpoint answered %s with invalid JSON (syntax error at offset %d of %d bytes)", what, syn.Offset, size)
	case errors.As(err, &typ):
		return internalf("Cursor's SCIM endpoint answered %s with an unexpected shape (%s is a JSON %s, expected %s, at offset %d of %d bytes)", what, typ.Field, typ.Value, typ.Type, typ.Offset, size)
	}
	return internalf("Cursor's SCIM endpoint answered %s with an unexpected shape (%v; %d bytes)", what, err, size)
}
