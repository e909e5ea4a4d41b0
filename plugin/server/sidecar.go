package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/sidecarauth"
)

// SidecarOptions say where and how the sidecar listens.
type SidecarOptions struct {
	Listen    string // host:port; loopback unless AuthToken is set
	AuthToken string // bearer token every call but health must carry; "" for none (loopback only)
	// AllowWrites accepts Provision and Deprovision (--allow-provisioning);
	// they then need AuthToken on every address, loopback included.
	AllowWrites bool
	TLSCert     string // PEM files; both or neither
	TLSKey      string
	Logger      hclog.Logger
	// Ready, when set, receives the base URL once the port is open.
	Ready func(baseURL string)
	// Serving, when set, is the plugin service's health: false while the
	// plugin has no roster or Cursor rejects its key. nil: always serving.
	Serving func() bool
}

// CheckExposure refuses a listen address other than loopback, and writes on
// any address, unless callers must carry a token. TLS protects the wire; it
// does not tell who the caller is.
func (o SidecarOptions) CheckExposure() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both, or neither")
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", o.Listen, err)
	}
	switch {
	case o.AllowWrites && o.AuthToken == "":
		return errors.New("--allow-provisioning needs --auth-token-file: whoever creates or removes Cursor accounts " +
			"must carry the bearer token, on loopback too")
	case !sidecarauth.IsLoopback(host) && o.AuthToken == "":
		return fmt.Errorf("refusing to listen on %s without a token: anyone who reaches it could read the Cursor team; "+
			"listen on 127.0.0.1, or give --auth-token-file (a bearer token), with --tls-cert and --tls-key so that it travels encrypted", o.Listen)
	}
	return nil
}

// maxRequestBytes caps a request body, on the wire and once decompressed.
// The largest legitimate request is a Provision (an email and two names) or a
// ListMembers page token (one email): well under 4 KiB. Reflection requests
// name a service or a file. 64 KiB leaves room for all of them and for
// gRPC-Web's base64, and keeps an unauthenticated body from costing memory.
const maxRequestBytes = 64 << 10

// ServeSidecar serves impl over Connect (gRPC over h2c or TLS, gRPC-Web,
// Connect JSON and proto), with gRPC reflection and health, on one port,
// until ctx ends; then it drains in-flight calls for up to 5 s.
func ServeSidecar(ctx context.Context, impl pluginv1connect.PluginServiceHandler, o SidecarOptions) error {
	if err := o.CheckExposure(); err != nil {
		return err
	}
	capped := connect.WithReadMaxBytes(maxRequestBytes)
	mux := http.NewServeMux()
	mux.Handle(pluginv1connect.NewPluginServiceHandler(impl, capped, connect.WithInterceptors(statusErrors())))
	// The reflector lists only the names given: all four, so `grpcurl list` shows them.
	reflector := grpcreflect.NewStaticReflector(pluginv1connect.PluginServiceName, grpchealth.HealthV1ServiceName,
		grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, capped))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, capped))
	mux.Handle(grpchealth.NewHandler(health(o.Serving), capped))

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(o.TLSCert == "") // h2c: gRPC without TLS
	// Calls run on a context the drain can cancel: one waiting for Cursor
	// (a roster fetch in its 429 backoff) would otherwise outlast it.
	calls, cancelCalls := context.WithCancel(context.Background())
	defer cancelCalls()
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(guard(mux, o), maxRequestBytes),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return calls },
	}

	lis, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Listen, err)
	}
	scheme := "http"
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			lis.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		lis = tls.NewListener(lis, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		scheme = "https"
	}
	base := scheme + "://" + lis.Addr().String()
	o.Logger.Info("serving cursor.plugin.v1 (gRPC, gRPC-Web, Connect; reflection; health)", "address", base,
		"auth", o.AuthToken != "", "tls", o.TLSCert != "", "provisioning", o.AllowWrites)
	if o.Ready != nil {
		o.Ready(base)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	o.Logger.Info("shutting down: draining calls in flight")
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); errors.Is(err, context.DeadlineExceeded) {
		o.Logger.Warn("calls still waiting for Cursor after 5 s; cancelling them")
		cancelCalls()
		final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(final)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// health reports the process as serving, and the plugin service as serving
// when serving says so (a readiness probe asks for the service by name).
type health func() bool

func (h health) Check(_ context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch {
	case req.Service == "":
		return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
	case req.Service != pluginv1connect.PluginServiceName:
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("unknown service %s", req.Service))
	case h == nil || h():
		return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
}

// guard decides from the headers alone, before any body is read, who may
// call what: health is open (probes cannot send a token, and it says only
// whether the service is up); Provision and Deprovision need AllowWrites and
// the token; everything else needs the token when one is set. A refusal is
// written in the caller's protocol (gRPC, gRPC-Web or Connect).
func guard(next http.Handler, o SidecarOptions) http.Handler {
	errs := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch {
		case strings.HasPrefix(r.URL.Path, "/"+grpchealth.HealthV1ServiceName+"/"):
		case writeProcedures[r.URL.Path] && !o.AllowWrites:
			err = connect.NewError(connect.CodePermissionDenied, errors.New("this sidecar was started without --allow-provisioning: "+
				"it lists the team but never creates or removes accounts; restart it with --allow-provisioning and --auth-token-file to allow that"))
		case o.AuthToken != "" && !sidecarauth.Matches(r.Header.Get("Authorization"), o.AuthToken):
			err = connect.NewError(connect.CodeUnauthenticated,
				errors.New("this sidecar needs the bearer token from its --auth-token-file (header Authorization: Bearer …)"))
		}
		if err != nil {
			_ = errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeProcedures change Cursor accounts.
var writeProcedures = map[string]bool{
	pluginv1connect.PluginServiceProvisionProcedure:   true,
	pluginv1connect.PluginServiceDeprovisionProcedure: true,
}

// statusErrors turns the gRPC status errors the service returns into Connect
// errors with the same code and message (the codes are numerically equal), so
// every protocol sees what go-plugin hosts see.
func statusErrors() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			if err == nil {
				return res, nil
			}
			var ce *connect.Error
			if errors.As(err, &ce) {
				return nil, err
			}
			st, ok := status.FromError(err)
			if !ok {
				return nil, err
			}
			out := connect.NewError(connect.Code(st.Code()), errors.New(st.Message()))
			for _, d := range st.Proto().GetDetails() {
				if ed, derr := connect.NewErrorDetail(d); derr == nil {
					out.AddDetail(ed)
				}
			}
			return nil, out
		}
	}
}
