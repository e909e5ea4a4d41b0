package c1sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v2 "github.com/conductorone/baton-sdk/pb/c1/connector/v2"
	v1 "github.com/conductorone/baton-sdk/pb/c1/connectorapi/baton/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Hello is one Hello call.
type Hello struct {
	HostID    string
	Connector string // the connector metadata's display name
}

// Heartbeat is one Heartbeat call.
type Heartbeat struct {
	HostID, TaskID string
	Cancelled      bool // what the server answered
}

// Upload is one complete UploadAsset stream whose checksum matched.
type Upload struct {
	HostID, TaskID string
	Path           string // the uploaded bytes, a file in Start's dir
	Size           int64
}

// Outcome is what a connector reported for a task with FinishTask.
type Outcome struct {
	HostID, TaskID string
	Success        bool
	Response       *anypb.Any // success: the task's response, e.g. a CreateAccountResponse
	NonRetryable   bool       // failure: error.non_retryable
	Code           codes.Code // failure: status code
	Message        string     // failure: status message
}

// batonService implements c1.connectorapi.baton.v1.BatonService on s.
type batonService struct {
	v1.UnimplementedBatonServiceServer
	s *Server
}

func registerBatonService(s *Server) {
	v1.RegisterBatonServiceServer(s.grpc, &batonService{s: s})
}

func (b *batonService) Hello(_ context.Context, req *v1.BatonServiceHelloRequest) (*v1.BatonServiceHelloResponse, error) {
	if req.GetHostId() == "" {
		return nil, status.Error(codes.InvalidArgument, "c1sim: hello without host_id")
	}
	s := b.s
	s.mu.Lock()
	s.hellos = append(s.hellos, Hello{HostID: req.GetHostId(), Connector: req.GetConnectorMetadata().GetDisplayName()})
	s.changedLocked()
	s.mu.Unlock()
	return &v1.BatonServiceHelloResponse{}, nil
}

func (b *batonService) GetTask(_ context.Context, _ *v1.BatonServiceGetTaskRequest) (*v1.BatonServiceGetTaskResponse, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls++
	if len(s.queue) == 0 {
		return v1.BatonServiceGetTaskResponse_builder{NextPoll: durationpb.New(s.idlePoll)}.Build(), nil
	}
	task := s.queue[0]
	s.queue = s.queue[1:]
	s.changedLocked()
	return v1.BatonServiceGetTaskResponse_builder{
		Task:          task,
		NextPoll:      durationpb.New(0),
		NextHeartbeat: durationpb.New(s.heartbeatEvery),
	}.Build(), nil
}

func (b *batonService) Heartbeat(_ context.Context, req *v1.BatonServiceHeartbeatRequest) (*v1.BatonServiceHeartbeatResponse, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	cancelled := s.cancelled[req.GetTaskId()]
	s.heartbeats = append(s.heartbeats, Heartbeat{HostID: req.GetHostId(), TaskID: req.GetTaskId(), Cancelled: cancelled})
	s.changedLocked()
	return v1.BatonServiceHeartbeatResponse_builder{
		NextHeartbeat: durationpb.New(s.heartbeatEvery),
		Cancelled:     cancelled,
	}.Build(), nil
}

// UploadAsset takes metadata, data chunks and an EOF carrying the sha256 of
// the data, in that order, and keeps the bytes only when the checksum matches.
func (b *batonService) UploadAsset(stream grpc.ClientStreamingServer[v1.BatonServiceUploadAssetRequest, v1.BatonServiceUploadAssetResponse]) error {
	s := b.s
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	meta := first.GetMetadata()
	if meta == nil || meta.GetTaskId() == "" {
		return status.Error(codes.InvalidArgument, "c1sim: an upload must start with metadata naming the task")
	}
	s.mu.Lock()
	s.uploadSeq++
	path := filepath.Join(s.dir, fmt.Sprintf("upload-%03d-%s.c1z", s.uploadSeq, meta.GetTaskId()))
	s.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	defer f.Close()
	hash := sha256.New()
	w := io.MultiWriter(f, hash)
	var size int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			_ = os.Remove(path)
			return status.Error(codes.InvalidArgument, "c1sim: upload ended without an eof message")
		}
		if err != nil {
			_ = os.Remove(path)
			return err
		}
		if data := msg.GetData(); data != nil {
			n, err := w.Write(data.GetData())
			size += int64(n)
			if err != nil {
				_ = os.Remove(path)
				return status.Error(codes.Internal, err.Error())
			}
			continue
		}
		if eof := msg.GetEof(); eof != nil {
			if !bytes.Equal(eof.GetSha256Checksum(), hash.Sum(nil)) {
				_ = os.Remove(path)
				return status.Error(codes.DataLoss, "c1sim: upload sha256 does not match its data")
			}
			break
		}
		_ = os.Remove(path)
		return status.Error(codes.InvalidArgument, "c1sim: upload message is neither data nor eof")
	}
	if err := f.Close(); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	s.mu.Lock()
	s.uploads = append(s.uploads, Upload{HostID: meta.GetHostId(), TaskID: meta.GetTaskId(), Path: path, Size: size})
	s.changedLocked()
	s.mu.Unlock()
	return stream.SendAndClose(&v1.BatonServiceUploadAssetResponse{})
}

func (b *batonService) FinishTask(_ context.Context, req *v1.BatonServiceFinishTaskRequest) (*v1.BatonServiceFinishTaskResponse, error) {
	out := Outcome{HostID: req.GetHostId(), TaskID: req.GetTaskId()}
	switch {
	case req.HasSuccess():
		out.Success = true
		out.Response = req.GetSuccess().GetResponse()
	case req.HasError():
		out.NonRetryable = req.GetError().GetNonRetryable()
		out.Code = codes.Code(req.GetStatus().GetCode())
		out.Message = req.GetStatus().GetMessage()
	default:
		return nil, status.Error(codes.InvalidArgument, "c1sim: FinishTask with neither success nor error")
	}
	s := b.s
	s.mu.Lock()
	s.outcomes = append(s.outcomes, out)
	s.changedLocked()
	s.mu.Unlock()
	return &v1.BatonServiceFinishTaskResponse{}, nil
}

// --- the task queue ---

// newTaskID makes an id of 27 alphanumerics, the shape of C1's task ids.
func newTaskID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	buf := make([]byte, 27)
	_, _ = rand.Read(buf)
	for i, c := range buf {
		buf[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(buf)
}

// Enqueue adds a task for the next GetTask and returns its id (a new one
// when the task has none).
func (s *Server) Enqueue(task *v1.Task) string {
	if task.GetId() == "" {
		task.SetId(newTaskID())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, task)
	s.changedLocked()
	return task.GetId()
}

// EnqueueSync adds a full sync task.
func (s *Server) EnqueueSync() string {
	return s.Enqueue(v1.Task_builder{SyncFull: &v1.Task_SyncFullTask{}}.Build())
}

// EnqueueCreateAccount adds a create-account task for the user resource
// type, with no password, as C1 sends it for SSO-only apps.
func (s *Server) EnqueueCreateAccount(info *v2.AccountInfo) string {
	return s.Enqueue(v1.Task_builder{CreateAccount: v1.Task_CreateAccountTask_builder{
		AccountInfo:       info,
		ResourceTypeId:    "user",
		CredentialOptions: v2.CredentialOptions_builder{NoPassword: &v2.CredentialOptions_NoPassword{}}.Build(),
	}.Build()}.Build())
}

// EnqueueDelete adds a delete-resource task.
func (s *Server) EnqueueDelete(resourceType, id string) string {
	return s.Enqueue(v1.Task_builder{DeleteResource: v1.Task_DeleteResourceTask_builder{
		ResourceId: v2.ResourceId_builder{ResourceType: resourceType, Resource: id}.Build(),
	}.Build()}.Build())
}

// EnqueueGrant adds a grant task: C1 sends the entitlement (with its
// resource) and the principal as its own sync recorded them.
func (s *Server) EnqueueGrant(ent *v2.Entitlement, principal *v2.Resource) string {
	return s.Enqueue(v1.Task_builder{Grant: v1.Task_GrantTask_builder{Entitlement: ent, Principal: principal}.Build()}.Build())
}

// EnqueueRevoke adds a revoke task for one grant.
func (s *Server) EnqueueRevoke(g *v2.Grant) string {
	return s.Enqueue(v1.Task_builder{Revoke: v1.Task_RevokeTask_builder{Grant: g}.Build()}.Build())
}

// Pending is the number of queued tasks no GetTask has taken yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// --- records ---

// Hellos lists the Hello calls so far.
func (s *Server) Hellos() []Hello {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hello(nil), s.hellos...)
}

// Heartbeats lists the heartbeats of one task ("" = of every task).
func (s *Server) Heartbeats(taskID string) []Heartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Heartbeat
	for _, h := range s.heartbeats {
		if taskID == "" || h.TaskID == taskID {
			out = append(out, h)
		}
	}
	return out
}

// Uploads lists the complete uploads of one task ("" = of every task).
func (s *Server) Uploads(taskID string) []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Upload
	for _, u := range s.uploads {
		if taskID == "" || u.TaskID == taskID {
			out = append(out, u)
		}
	}
	return out
}

// Outcomes lists every FinishTask so far.
func (s *Server) Outcomes() []Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Outcome(nil), s.outcomes...)
}

// Outcome is the first FinishTask of a task, if there was one.
func (s *Server) Outcome(taskID string) (Outcome, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.outcomeLocked(taskID)
}

func (s *Server) outcomeLocked(taskID string) (Outcome, bool) {
	for _, o := range s.outcomes {
		if o.TaskID == taskID {
			return o, true
		}
	}
	return Outcome{}, false
}

// TokenRejections lists why token requests were refused.
func (s *Server) TokenRejections() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokenRejections...)
}

// TokensIssued counts the access tokens the token endpoint handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// UnauthenticatedCalls counts gRPC calls refused for want of a valid token.
func (s *Server) UnauthenticatedCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unauthenticatedCalls
}

// WaitOutcome waits for the task's FinishTask.
func (s *Server) WaitOutcome(ctx context.Context, taskID string) (Outcome, error) {
	var out Outcome
	err := s.waitFor(ctx, func() bool {
		var ok bool
		out, ok = s.outcomeLocked(taskID)
		return ok
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("%w %s: %v", ErrNoOutcome, taskID, err)
	}
	return out, nil
}

// WaitHello waits for the first Hello.
func (s *Server) WaitHello(ctx context.Context) (Hello, error) {
	var h Hello
	err := s.waitFor(ctx, func() bool {
		if len(s.hellos) == 0 {
			return false
		}
		h = s.hellos[0]
		return true
	})
	return h, err
}

// WaitHeartbeat waits for the task's first heartbeat: the sync is running.
func (s *Server) WaitHeartbeat(ctx context.Context, taskID string) error {
	return s.waitFor(ctx, func() bool {
		for _, h := range s.heartbeats {
			if h.TaskID == taskID {
				return true
			}
		}
		return false
	})
}

// WaitTaken waits until a GetTask has taken the task off the queue.
func (s *Server) WaitTaken(ctx context.Context, taskID string) error {
	return s.waitFor(ctx, func() bool {
		for _, t := range s.queue {
			if t.GetId() == taskID {
				return false
			}
		}
		return true
	})
}
