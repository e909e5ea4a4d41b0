package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/hashicorp/go-hclog"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/conductorone/baton-cursor/gen/cursor/plugin/v1/pluginv1connect"
	"github.com/conductorone/baton-cursor/internal/sidecarauth"
)

// SidecarOptions say where and how the sidecar listens.
type SidecarOptions struct {
	Listen    string // host:port; loopback unless AuthToken is set
	AuthToken string // bearer token every call but health must carry; "" for none (loopback only)
	// AllowWrites accepts Provision, Deprovision and the group membership
	// writes (--allow-provisioning);
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
	mux, err := routes(impl, o.Serving)
	if err != nil {
		return err
	}

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

// routes serves each procedure at its own path: the plugin service, health,
// and gRPC reflection v1 and v1alpha (the reflector lists all four, so
// `grpcurl list` shows them). Any other path gets Unimplemented in the
// caller's protocol, as gRPC and Connect clients expect, where a bare
// http.ServeMux would answer a text/plain 404.
func routes(impl pluginv1connect.PluginServiceHandler, serving func() bool) (*http.ServeMux, error) {
	capped := connect.WithReadMaxBytes(maxRequestBytes)
	reflector := grpcreflect.NewStaticReflector(pluginv1connect.PluginServiceName, healthpb.Health_ServiceDesc.ServiceName,
		grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
	mux := http.NewServeMux()
	var missing []string
	exact := func(prefix string, handler http.Handler) {
		name := protoreflect.FullName(strings.Trim(prefix, "/"))
		d, _ := protoregistry.GlobalFiles.FindDescriptorByName(name)
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			missing = append(missing, string(name))
			return
		}
		for i := range sd.Methods().Len() {
			mux.Handle(prefix+string(sd.Methods().Get(i).Name()), handler)
		}
	}
	exact(pluginv1connect.NewPluginServiceHandler(impl, capped, connect.WithInterceptors(statusErrors())))
	exact(grpcreflect.NewHandlerV1(reflector, capped))
	exact(grpcreflect.NewHandlerV1Alpha(reflector, capped))
	if missing != nil {
		return nil, fmt.Errorf("serve %s: descriptors not linked in", strings.Join(missing, ", "))
	}
	for path, handler := range health(serving).handlers(capped) {
		mux.Handle(path, handler)
	}
	mux.Handle("/", unimplemented(connect.NewErrorWriter()))
	return mux, nil
}

// unimplemented answers an RPC to a procedure not served here in the
// caller's protocol: grpc-status 12 for gRPC and gRPC-Web, a Connect error
// body with code "unimplemented" for Connect. Anything else (a browser's GET)
// gets a plain 404.
func unimplemented(errs *connect.ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A GET is a Connect call only with its ?connect=v1 marker.
		if !errs.IsSupported(r) || r.Method == http.MethodGet && r.URL.Query().Get("connect") == "" {
			http.NotFound(w, r)
			return
		}
		_ = errs.Write(w, r, connect.NewError(connect.CodeUnimplemented, fmt.Errorf(
			"unknown method %s: this sidecar serves %s, %s (Check, List) and gRPC reflection; `grpcurl -plaintext HOST:PORT list` shows them",
			r.URL.Path, pluginv1connect.PluginServiceName, healthpb.Health_ServiceDesc.ServiceName)))
	})
}

// guard decides from the headers alone, before any body is read, who may
// call what. Without a token, only requests addressed to loopback and not
// sent by another site's web page are answered at all (see fromThisMachine).
// Health is open (probes cannot send a token, and it says only whether the
// service is up); Provision, Deprovision and the group membership writes
// need AllowWrites and the token;
// everything else needs the token when one is set. A refusal is written in
// the caller's protocol (gRPC, gRPC-Web or Connect; else Connect JSON).
func guard(next http.Handler, o SidecarOptions) http.Handler {
	errs := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch {
		case o.AuthToken == "" && !fromThisMachine(r):
			err = connect.NewError(connect.CodePermissionDenied, errors.New("this sidecar has no token, so it answers only "+
				"requests addressed to loopback (Host 127.0.0.1, [::1] or localhost) that no other site's web page sent; "+
				"call it at http://127.0.0.1:PORT, or start it with --auth-token-file"))
		case strings.HasPrefix(r.URL.Path, "/"+healthpb.Health_ServiceDesc.ServiceName+"/"):
		case writeProcedures[r.URL.Path] && !o.AllowWrites:
			err = connect.NewError(connect.CodePermissionDenied, errors.New("this sidecar was started without --allow-provisioning: "+
				"it lists the team but never creates or removes accounts or changes group memberships; restart it with --allow-provisioning and --auth-token-file to allow that"))
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

// fromThisMachine reports whether a tokenless sidecar may answer r. Its Host
// must be a loopback name or address: a web page that rebinds its own name
// to 127.0.0.1 (DNS rebinding) sends its own name. And no browser may have
// sent it for a page of another site: Origin, when present, is a loopback
// origin, and Sec-Fetch-Site is not cross-site. No CORS header is ever
// granted, so a preflight earns nothing either.
func fromThisMachine(r *http.Request) bool {
	if !isLoopbackHost(r.Host) || r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && isLoopbackHost(u.Host)
}

// isLoopbackHost reports whether a Host value (host[:port]) names loopback.
func isLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	return host != "" && sidecarauth.IsLoopback(strings.ToLower(host))
}

// writeProcedures change Cursor accounts or group memberships.
var writeProcedures = map[string]bool{
	pluginv1connect.PluginServiceProvisionProcedure:            true,
	pluginv1connect.PluginServiceDeprovisionProcedure:          true,
	pluginv1connect.PluginServiceAddOrgGroupMemberProcedure:    true,
	pluginv1connect.PluginServiceRemoveOrgGroupMemberProcedure: true,
	pluginv1connect.PluginServiceAddOrgTeamMemberProcedure:     true,
	pluginv1connect.PluginServiceRemoveOrgTeamMemberProcedure:  true,
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
