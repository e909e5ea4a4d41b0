package transport

import (
	"context"
	"fmt"
	"net/http"

	"connectrpc.com/connect"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
)

// health reports the process as serving, and the plugin service as serving
// when serving says so (a readiness probe asks for the service by name).
// It is served with grpc.health.v1's standard generated types, so that
// Connect JSON names a status as the standard proto does ("SERVING");
// connectrpc.com/grpchealth's own copy of the proto renames it
// "SERVING_STATUS_SERVING", which standard clients cannot decode. Watch is
// not served: it answers Unimplemented, as before.
type health func() bool

func (h health) status(service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	switch {
	case service == "":
		return healthpb.HealthCheckResponse_SERVING, nil
	case service != pluginv1connect.PluginServiceName:
		return 0, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %s", service))
	case h == nil || h():
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	return healthpb.HealthCheckResponse_NOT_SERVING, nil
}

func (h health) check(_ context.Context, req *connect.Request[healthpb.HealthCheckRequest]) (*connect.Response[healthpb.HealthCheckResponse], error) {
	st, err := h.status(req.Msg.GetService())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&healthpb.HealthCheckResponse{Status: st}), nil
}

func (h health) list(context.Context, *connect.Request[healthpb.HealthListRequest]) (*connect.Response[healthpb.HealthListResponse], error) {
	out := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{}}
	for _, svc := range []string{"", pluginv1connect.PluginServiceName} {
		st, _ := h.status(svc)
		out.Statuses[svc] = &healthpb.HealthCheckResponse{Status: st}
	}
	return connect.NewResponse(out), nil
}

// handlers are the health procedures by path.
func (h health) handlers(opts ...connect.HandlerOption) map[string]http.Handler {
	return map[string]http.Handler{
		healthpb.Health_Check_FullMethodName: connect.NewUnaryHandler(healthpb.Health_Check_FullMethodName, h.check, opts...),
		healthpb.Health_List_FullMethodName:  connect.NewUnaryHandler(healthpb.Health_List_FullMethodName, h.list, opts...),
	}
}
