package server

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/status"

	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
)

// SidecarOptions say where and how the sidecar listens.
type SidecarOptions struct {
	Listen    string // host:port; loopback unless AuthToken or TLS is set
	AuthToken string // bearer token every call but health must carry; "" for none
	TLSCert   string // PEM files; both or neither
	TLSKey    string
	Logger    hclog.Logger
	// Ready, when set, receives the base URL once the port is open.
	Ready func(baseURL string)
	// Serving, when set, is the plugin service's health: false while the
	// plugin has no roster or Cursor rejects its key. nil: always serving.
	Serving func() bool
}

// CheckExposure refuses a listen address other than loopback unless callers
// must authenticate (a token) or the channel is private (TLS).
func (o SidecarOptions) CheckExposure() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both, or neither")
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", o.Listen, err)
	}
	if isLoopback(host) || o.AuthToken != "" || o.TLSCert != "" {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without protection: anyone who reaches it could read the Cursor team; "+
		"listen on 127.0.0.1, or give --auth-token-file (bearer token) or --tls-cert and --tls-key", o.Listen)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeSidecar serves impl over Connect (gRPC over h2c or TLS, gRPC-Web,
// Connect JSON and proto), with gRPC reflection and health, on one port,
// until ctx ends; then it drains in-flight calls for up to 5 s.
func ServeSidecar(ctx context.Context, impl pluginv1connect.PluginServiceHandler, o SidecarOptions) error {
	if err := o.CheckExposure(); err != nil {
		return err
	}
	protected := []connect.HandlerOption{connect.WithInterceptors(bearerAuth(o.AuthToken), statusErrors())}
	mux := http.NewServeMux()
	mux.Handle(pluginv1connect.NewPluginServiceHandler(impl, protected...))
	// The reflector lists only the names given: all four, so `grpcurl list` shows them.
	reflector := grpcreflect.NewStaticReflector(pluginv1connect.PluginServiceName, grpchealth.HealthV1ServiceName,
		grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector, protected...))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector, protected...))
	// Health stays open so that probes, which cannot send a token, work; it
	// says only whether the service is up.
	mux.Handle(grpchealth.NewHandler(health(o.Serving)))

	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	protocols.SetUnencryptedHTTP2(o.TLSCert == "") // h2c: gRPC without TLS
	// Calls run on a context the drain can cancel: one waiting for Cursor
	// (a roster fetch in its 429 backoff) would otherwise outlast it.
	calls, cancelCalls := context.WithCancel(context.Background())
	defer cancelCalls()
	srv := &http.Server{Handler: mux, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return calls }}

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
		"auth", o.AuthToken != "", "tls", o.TLSCert != "")
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

// bearerAuth requires "Authorization: Bearer <token>", compared in constant
// time, on unary and streaming calls (reflection is a stream). With no token
// configured it lets everything through.
type bearerAuth string

func (t bearerAuth) check(h http.Header) error {
	if t == "" || subtle.ConstantTimeCompare([]byte(h.Get("Authorization")), []byte("Bearer "+string(t))) == 1 {
		return nil
	}
	return connect.NewError(connect.CodeUnauthenticated,
		errors.New("this sidecar needs the bearer token from its --auth-token-file (header Authorization: Bearer …)"))
}

func (t bearerAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := t.check(req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (t bearerAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (t bearerAuth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := t.check(conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, conn)
	}
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

// ReadTokenFile reads a bearer token file: one token on one line.
func ReadTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--auth-token-file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("--auth-token-file %s must hold one token on one line", path)
	}
	return tok, nil
}
