package main

import (
	"errors"
	"strings"

	"github.com/conductorone/baton-sdk/pkg/crypto"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// explainCredentials turns baton-sdk's service-mode credential failures into
// one line naming the setting to fix. baton-sdk gives up on them at once
// (its startup Hello does not retry Unauthenticated) but says only
// "invalid client secret" or "failed to get token: 401 Unauthorized".
// Other errors pass unchanged.
func explainCredentials(err error) error {
	switch {
	case errors.Is(err, crypto.ErrInvalidClientSecret):
		return status.Error(codes.InvalidArgument, "baton-cursor: BATON_CLIENT_SECRET (--client-secret) is not a ConductorOne client secret "+
			"(secret-token:…:v1:…): copy it again from the connector's credentials in ConductorOne")
	case errors.Is(err, ugrpc.ErrInvalidClientID):
		return status.Error(codes.InvalidArgument, "baton-cursor: BATON_CLIENT_ID (--client-id) is not a ConductorOne client id "+
			"(name@tenant.conductor.one/…): copy it again from the connector's credentials in ConductorOne")
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unauthenticated && strings.Contains(err.Error(), "failed to get token") {
		return status.Errorf(codes.Unauthenticated, "baton-cursor: ConductorOne refused the client credentials (%s): "+
			"check BATON_CLIENT_ID and BATON_CLIENT_SECRET, or rotate the credentials in ConductorOne and update both", st.Message())
	}
	return err
}

// refuseProvisioningWithoutFlag: in service mode, without BATON_PROVISIONING
// (--provisioning), baton-sdk's _connector-service child answers every
// provisioning task "provisioning is not enabled", which does not say what
// to set. So in that child, and only when the flag is off, the connector's
// provisioning is registered after all and refuses by itself (*off = true),
// with a message naming BATON_PROVISIONING. One-shot runs are untouched:
// baton-sdk turns provisioning on for its own --create-account and
// --delete-resource flags.
func refuseProvisioningWithoutFlag(root *cobra.Command, v *viper.Viper, off *bool) {
	child, _, err := root.Find([]string{"_connector-service"})
	if err != nil || child == root || child.RunE == nil {
		return
	}
	runE := child.RunE
	child.RunE = func(cmd *cobra.Command, args []string) error {
		if err := v.BindPFlags(cmd.Flags()); err != nil {
			return err
		}
		if v.GetString("client-id") != "" && !v.GetBool("provisioning") {
			v.Set("provisioning", true)
			*off = true
		}
		return runE(cmd, args)
	}
}
