package oneshot

import (
	"context"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	"github.com/conductorone/baton-sdk/pkg/types"
	"github.com/conductorone/baton-sdk/pkg/ugrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// inProcess is a grpc.ClientConnInterface whose calls run the connector's
// handlers directly: no listener, no serialization, no child process. The
// handlers go through baton-sdk's server interceptors (request validation,
// panic recovery, per-call logging), as they do in the _connector-service
// child. Only unary calls exist: the syncer streams nothing from a
// connector without assets.
type inProcess struct {
	handlers     map[string]inProcessMethod // by full method name, "/pkg.Service/Method"
	intercept    grpc.UnaryServerInterceptor
	afterCleanup func() // after the syncer's Cleanup, its last call of a sync; nil = nothing
	observe      func(reply any)
}

type inProcessMethod struct {
	srv     any
	handler func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error)
}

// newInProcessClient serves every connector service of srv in process;
// observe sees every answer (nil: nothing does).
func newInProcessClient(ctx context.Context, srv types.ConnectorServer, afterCleanup func(), observe func(reply any)) types.ConnectorClient {
	c := &inProcess{
		handlers:     map[string]inProcessMethod{},
		intercept:    ugrpc.ChainUnaryInterceptors(ugrpc.UnaryServerInterceptor(ctx)...),
		afterCleanup: afterCleanup,
		observe:      observe,
	}
	v2.RegisterConnectorServiceServer(c, srv)
	v2.RegisterGrantsServiceServer(c, srv)
	v2.RegisterEntitlementsServiceServer(c, srv)
	v2.RegisterResourcesServiceServer(c, srv)
	v2.RegisterResourceTypesServiceServer(c, srv)
	v2.RegisterAssetServiceServer(c, srv)
	v2.RegisterEventServiceServer(c, srv)
	v2.RegisterResourceGetterServiceServer(c, srv)
	v2.RegisterTicketsServiceServer(c, srv)
	v2.RegisterActionServiceServer(c, srv)
	v2.RegisterGrantManagerServiceServer(c, srv)
	v2.RegisterResourceManagerServiceServer(c, srv)
	v2.RegisterResourceDeleterServiceServer(c, srv)
	v2.RegisterAccountManagerServiceServer(c, srv)
	v2.RegisterCredentialManagerServiceServer(c, srv)
	return struct {
		v2.ResourceTypesServiceClient
		v2.ResourcesServiceClient
		v2.EntitlementsServiceClient
		v2.GrantsServiceClient
		v2.ConnectorServiceClient
		v2.AssetServiceClient
		v2.GrantManagerServiceClient
		v2.ResourceManagerServiceClient
		v2.ResourceDeleterServiceClient
		v2.AccountManagerServiceClient
		v2.CredentialManagerServiceClient
		v2.EventServiceClient
		v2.TicketsServiceClient
		v2.ActionServiceClient
		v2.ResourceGetterServiceClient
	}{
		v2.NewResourceTypesServiceClient(c), v2.NewResourcesServiceClient(c), v2.NewEntitlementsServiceClient(c),
		v2.NewGrantsServiceClient(c), v2.NewConnectorServiceClient(c), v2.NewAssetServiceClient(c),
		v2.NewGrantManagerServiceClient(c), v2.NewResourceManagerServiceClient(c), v2.NewResourceDeleterServiceClient(c),
		v2.NewAccountManagerServiceClient(c), v2.NewCredentialManagerServiceClient(c), v2.NewEventServiceClient(c),
		v2.NewTicketsServiceClient(c), v2.NewActionServiceClient(c), v2.NewResourceGetterServiceClient(c),
	}
}

// RegisterService records a service's unary handlers (grpc.ServiceRegistrar).
func (c *inProcess) RegisterService(desc *grpc.ServiceDesc, impl any) {
	for _, m := range desc.Methods {
		c.handlers["/"+desc.ServiceName+"/"+m.MethodName] = inProcessMethod{srv: impl, handler: m.Handler}
	}
}

// Invoke runs the handler of method. The request is handed over as is; the
// answer's fields are moved into reply, which the generated client allocated.
func (c *inProcess) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	m, ok := c.handlers[method]
	if !ok {
		return status.Errorf(codes.Unimplemented, "method %s not implemented", method)
	}
	hold(ctx, method)
	dec := func(in any) error {
		proto.Merge(in.(proto.Message), args.(proto.Message))
		return nil
	}
	out, err := m.handler(m.srv, ctx, dec, c.intercept)
	if err != nil {
		return err
	}
	moveFields(reply.(proto.Message), out.(proto.Message))
	if c.observe != nil {
		c.observe(out)
	}
	if method == v2.ConnectorService_Cleanup_FullMethodName && c.afterCleanup != nil {
		c.afterCleanup()
	}
	return nil
}

// moveFields sets every populated field of from on to, sharing the values.
// The connector builds every resource, entitlement and grant per call (those
// baton-sdk's syncer annotates); only the resource types are package
// variables, which the syncer stores without changing, and a one-shot run is
// one sync. proto.Merge would copy every resource of the page once more
// (about a tenth of the host's CPU in a 10,000-member sync).
func moveFields(to, from proto.Message) {
	dst := to.ProtoReflect()
	from.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
}

// NewStream: no connector service baton-cursor serves streams.
func (c *inProcess) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unimplemented, "streaming method %s is not served in process", method)
}
