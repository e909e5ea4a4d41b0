package service

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// baton-sdk's credential failures become one line naming the setting;
// anything else passes unchanged.
func TestExplainErrorNamesTheSettingToFix(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code codes.Code
		says string
	}{
		{"bad secret", fmt.Errorf("hello: %w", crypto.ErrInvalidClientSecret), codes.InvalidArgument, "BATON_CLIENT_SECRET (--client-secret) is not a ConductorOne client secret"},
		{"bad id", fmt.Errorf("hello: %w", ugrpc.ErrInvalidClientID), codes.InvalidArgument, "BATON_CLIENT_ID (--client-id) is not a ConductorOne client id"},
		{"refused", status.Error(codes.Unauthenticated, "failed to get token: 401 Unauthorized"), codes.Unauthenticated, "ConductorOne refused the client credentials (failed to get token: 401 Unauthorized): check BATON_CLIENT_ID and BATON_CLIENT_SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := explainError("baton-cursor", tc.err)
			if status.Code(got) != tc.code || !strings.Contains(got.Error(), tc.says) {
				t.Errorf("got %v (%s), want %s saying %q", got, status.Code(got), tc.code, tc.says)
			}
		})
	}
	other := errors.New("connection reset")
	if got := explainError("baton-cursor", other); got != other {
		t.Errorf("another error became %v, want it unchanged", got)
	}
	if got := explainError("baton-cursor", nil); got != nil {
		t.Errorf("nil became %v", got)
	}
}
