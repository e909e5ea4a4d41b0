package pluginproc

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/conductorone/baton-cursor/gen/cursor/plugin/v1"
	"github.com/conductorone/baton-cursor/internal/sidecarauth"
	"github.com/conductorone/baton-cursor/plugin/handshake"
)

// Remote uses a running sidecar (`baton-cursor-plugin serve`) instead of a
// subprocess. The Cursor credentials then live only in the sidecar.
type Remote struct {
	address string
	target  string
	opts    []grpc.DialOption

	mu  sync.Mutex
	svc pluginv1.PluginServiceClient

	rateLimited rateLimits
}

// NewRemote checks the address and reads the token file; it connects nothing.
// A token travels in clear text only to a loopback address.
func NewRemote(address, tokenFile string, logger *zap.Logger) (*Remote, error) {
	bad := func(format string, a ...any) error {
		return status.Errorf(codes.InvalidArgument, "baton-cursor: plugin-address "+format, a...)
	}
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, bad("%q must look like http://127.0.0.1:8080 or https://sidecar.example:8443", address)
	}
	r := &Remote{address: address, target: u.Host}
	if u.Port() == "" {
		r.target = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	// Pages are as large as the plugin's: the same limit as under go-plugin.
	r.opts = append(r.opts, grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(handshake.MaxMessageBytes), grpc.MaxCallSendMsgSize(handshake.MaxMessageBytes)))
	if u.Scheme == "https" {
		r.opts = append(r.opts, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})))
	} else {
		r.opts = append(r.opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if tokenFile != "" {
		token, openToOthers, err := sidecarauth.ReadTokenFile(tokenFile)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "baton-cursor: plugin-token-file: %v", err)
		}
		if openToOthers && logger != nil {
			logger.Warn("the plugin-token-file can be read by other users of this machine; chmod 600 it", zap.String("path", tokenFile))
		}
		if u.Scheme != "https" && !sidecarauth.IsLoopback(u.Hostname()) {
			return nil, bad("%s is not loopback: use https:// so the token is not sent in clear text", address)
		}
		r.opts = append(r.opts, grpc.WithPerRPCCredentials(bearer{token: token, secure: u.Scheme == "https"}))
	}
	r.opts = append(r.opts, grpc.WithChainUnaryInterceptor(r.abortUnavailable))
	return r, nil
}

// Get connects on first use and checks that the sidecar speaks this
// contract.
func (r *Remote) Get(ctx context.Context) (pluginv1.PluginServiceClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.svc != nil {
		return r.svc, nil
	}
	conn, err := grpc.NewClient(r.target, r.opts...)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "baton-cursor: plugin-address %s: %v", r.address, err)
	}
	svc := pluginv1.NewPluginServiceClient(conn)
	// Versions only: a create or delete must not make the sidecar read the team.
	info, err := svc.GetInfo(ctx, &pluginv1.GetInfoRequest{VersionsOnly: true})
	if err != nil {
		conn.Close()
		return nil, err
	}
	if info.GetProtocolVersion() != handshake.ProtocolVersion {
		conn.Close()
		return nil, status.Errorf(codes.FailedPrecondition, "baton-cursor: the plugin at %s speaks protocol version %d; this host speaks %d",
			r.address, info.GetProtocolVersion(), handshake.ProtocolVersion)
	}
	r.svc = svc
	return svc, nil
}

// abortUnavailable: a sidecar that cannot be reached, or that reports Cursor
// still failing after its retries, ends the sync (baton-sdk would retry
// Unavailable list calls without limit), unless Cursor's rate limit may be
// waited out (rateLimits.final).
func (r *Remote) abortUnavailable(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil {
		r.rateLimited.succeeded()
	}
	if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
		return err
	}
	return r.rateLimited.final(err, fmt.Sprintf("baton-cursor: plugin at %s: ", r.address))
}

// bearer sends the sidecar's token with every call.
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": sidecarauth.Header(b.token)}, nil
}

// RequireTransportSecurity is false only for plain http, which NewRemote
// allows with a token only on loopback.
func (b bearer) RequireTransportSecurity() bool { return b.secure }
