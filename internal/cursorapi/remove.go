package cursorapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const removePath = "/teams/remove-member"

// RemoveResult is Cursor's answer to a successful removal.
type RemoveResult struct {
	UserID string // Cursor's id of the removed member
	// HasBillingCycleUsage is true when the member used Cursor this billing
	// cycle; the seat then stays billable until the cycle ends.
	HasBillingCycleUsage bool
}

// RemoveMember removes a member by email with POST /teams/remove-member
// (Enterprise only). Cursor refuses when the last admin or the last paid
// member would go; that answer is an *APIError whose text is Cursor's own.
func (c *Client) RemoveMember(ctx context.Context, email string) (RemoveResult, error) {
	if strings.TrimSpace(email) == "" {
		return RemoveResult{}, status.Error(codes.InvalidArgument, "remove member: the email is empty")
	}
	body, err := json.Marshal(map[string]string{"email": email})
	if err != nil {
		return RemoveResult{}, err
	}
	resp, err := c.do(ctx, http.MethodPost, removePath, body)
	if err != nil {
		return RemoveResult{}, err
	}
	var out struct {
		Success              bool     `json:"success"`
		UserID               memberID `json:"userId"`
		HasBillingCycleUsage bool     `json:"hasBillingCycleUsage"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || !out.Success {
		return RemoveResult{}, status.Errorf(codes.Internal,
			"Cursor answered %s with HTTP %d but no success (a %d-byte body)", removePath, resp.Status, len(resp.Body))
	}
	return RemoveResult{UserID: string(out.UserID), HasBillingCycleUsage: out.HasBillingCycleUsage}, nil
}

// RefusedReason returns Cursor's own words when err is Cursor refusing a
// request (HTTP 400), such as "At least one admin (owner or free-owner) must
// remain on the team after removal".
func RefusedReason(err error) (string, bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		return "", false
	}
	if apiErr.Message != "" {
		return apiErr.Message, true
	}
	return apiErr.Reason, apiErr.Reason != ""
}
