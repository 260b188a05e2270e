// Package fake is an in-memory postgres.Client for unit tests of the code
// that drives PostgreSQL (pkg/cluster).
//
// A Fake holds one Server per host (Endpoint.Host; ports are ignored). Tests
// add servers, call the code under test, and then inspect servers and the
// recorded calls:
//
//	f := fake.New()
//	f.Add("10.0.0.1", fake.Server{Status: postgres.Status{CurrentLSN: 100}})
//	f.Add("10.0.0.2", fake.Server{Status: postgres.Status{InRecovery: true, ReplayedLSN: 90}})
//	f.Update("10.0.0.1", func(s *fake.Server) { s.Down = true })
//	... run the failover ...
//	assert.False(t, f.Server("10.0.0.2").Status.InRecovery)
//
// An unknown host behaves like nothing listening: every call fails with an
// error for which postgres.IsUnreachable is true. A Fake is safe for
// concurrent use.
package fake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Server is the state of one fake instance. Tests set it with Add and
// Update and read it back with Server.
type Server struct {
	// Down makes every call fail as unreachable, like a stopped server.
	Down bool
	// Status is what Probe returns. Promote and SetParameters update it.
	Status postgres.Status
	// Replicas is what Replication returns.
	Replicas []postgres.ReplicaStat
	// Slots by name; EnsureSlot and DropSlot maintain it.
	Slots map[string]postgres.Slot
	// Archiver is what Archiver reports.
	Archiver postgres.ArchiverStatus
	// Stats is what Stats reports (InRecovery comes from Status), and
	// Custom the rows CustomQueries returns, by query name (stats.go).
	Stats  postgres.MemberStats
	Custom map[string][]postgres.CustomRow
	// Parameters is postgresql.auto.conf: what SetParameters wrote.
	Parameters map[string]string
	// Rejects makes SetParameters refuse a setting, as the server refuses a
	// bad value: the key is "name" (any value) or "name=value", the value
	// is the server's message. The other settings are still written.
	Rejects map[string]string
	// Roles by name; EnsureRole and SetPassword maintain it.
	Roles map[string]Role
	// Databases by name, and the scripts RunScript committed (managed.go).
	Databases map[string]Database
	Scripts   []string
	// PromoteErr, if set, is returned by Promote on a standby, which then
	// stays a standby.
	PromoteErr error
	// Errors makes the named method ("Probe", "DropSlot", ...) fail with the
	// given error until the entry is removed.
	Errors map[string]error
}

// Role is a fake role.
type Role struct {
	Login, Replication bool
	Password           string // plaintext, for assertions only
	// The attributes of declared roles (managed.go). ConnectionLimit -1
	// is none, as in pg_roles.
	CreateDB, CreateRole, Superuser bool
	ConnectionLimit                 int32
	InRoles                         []string
}

// Call records one method call; Args holds names (slot, role, parameters),
// never passwords.
type Call struct {
	Method string
	Host   string
	Args   []string
}

// restartParams are the settings a real server only applies on restart
// (context "postmaster"), the ones the operator is likely to touch.
var restartParams = map[string]bool{
	"max_connections": true, "shared_buffers": true, "max_wal_senders": true,
	"max_replication_slots": true, "max_worker_processes": true, "wal_level": true,
	"shared_preload_libraries": true, "max_locks_per_transaction": true,
	"max_prepared_transactions": true, "hot_standby": true, "wal_log_hints": true,
	"port": true, "listen_addresses": true,
}

// errReadOnly mimics the SQL error a standby returns for catalog writes.
var errReadOnly = errors.New("pq: cannot execute in a read-only transaction (25006)")

// Fake implements postgres.Client in memory.
type Fake struct {
	mu      sync.Mutex
	servers map[string]*Server
	calls   []Call
}

var _ postgres.Client = (*Fake)(nil)

// New returns a Fake with no servers.
func New() *Fake { return &Fake{servers: map[string]*Server{}} }

// Add creates or replaces the server on host.
func (f *Fake) Add(host string, s Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := clone(s)
	f.servers[host] = &c
}

// Update changes the server on host in place; it panics on an unknown host,
// which is a bug in the test.
func (f *Fake) Update(host string, fn func(*Server)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.servers[host]
	if !ok {
		panic("fake: no server " + host)
	}
	fn(s)
	*s = clone(*s) // keeps maps non-nil whatever fn did
}

// Server returns a copy of the server on host (the zero Server if unknown).
func (f *Fake) Server(host string) Server {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.servers[host]; ok {
		return clone(*s)
	}
	return Server{}
}

// Calls returns every call so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// CallsTo returns the calls of one method, in order.
func (f *Fake) CallsTo(method string) []Call {
	var out []Call
	for _, c := range f.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// do records the call and runs fn on the host's server under the lock,
// unless the server is missing, down, or set to fail this method.
func (f *Fake) do(ctx context.Context, method string, ep postgres.Endpoint, args []string, fn func(*Server) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: method, Host: ep.Host, Args: args})
	if err := ctx.Err(); err != nil {
		return err
	}
	s, ok := f.servers[ep.Host]
	if !ok || s.Down {
		return fmt.Errorf("fake %s %s: connection refused: %w", method, ep.Address(), postgres.ErrUnreachable)
	}
	if err := s.Errors[method]; err != nil {
		return err
	}
	if err := s.authenticate(method, ep); err != nil {
		return err
	}
	return fn(s)
}

func (f *Fake) Probe(ctx context.Context, ep postgres.Endpoint) (postgres.Status, error) {
	var st postgres.Status
	err := f.do(ctx, "Probe", ep, nil, func(s *Server) error {
		st = s.Status
		st.PendingRestart = slices.Clone(st.PendingRestart)
		st.History = slices.Clone(st.History)
		st.SlotWALStatus = maps.Clone(st.SlotWALStatus)
		if !st.InRecovery && st.SlotWALStatus == nil {
			// A primary reports its slots' wal_status, as the real probe does.
			st.SlotWALStatus = map[string]string{}
			for name, sl := range s.Slots {
				st.SlotWALStatus[name] = sl.WALStatus
			}
		}
		return nil
	})
	return st, err
}

func (f *Fake) Replication(ctx context.Context, ep postgres.Endpoint) ([]postgres.ReplicaStat, error) {
	var out []postgres.ReplicaStat
	err := f.do(ctx, "Replication", ep, nil, func(s *Server) error {
		out = slices.Clone(s.Replicas)
		return nil
	})
	return out, err
}

func (f *Fake) EnsureSlot(ctx context.Context, ep postgres.Endpoint, name string) error {
	return f.do(ctx, "EnsureSlot", ep, []string{name}, func(s *Server) error {
		if _, ok := s.Slots[name]; !ok {
			s.Slots[name] = postgres.Slot{Name: name, Type: "physical", RestartLSN: s.Status.Position(), WALStatus: "reserved"}
		}
		return nil
	})
}

func (f *Fake) DropSlot(ctx context.Context, ep postgres.Endpoint, name string) error {
	return f.do(ctx, "DropSlot", ep, []string{name}, func(s *Server) error {
		delete(s.Slots, name)
		return nil
	})
}

func (f *Fake) Archiver(ctx context.Context, ep postgres.Endpoint, statusDir string) (postgres.ArchiverStatus, error) {
	var out postgres.ArchiverStatus
	err := f.do(ctx, "Archiver", ep, nil, func(s *Server) error {
		out = s.Archiver
		return nil
	})
	return out, err
}

func (f *Fake) Slots(ctx context.Context, ep postgres.Endpoint) ([]postgres.Slot, error) {
	var out []postgres.Slot
	err := f.do(ctx, "Slots", ep, nil, func(s *Server) error {
		for _, name := range slices.Sorted(maps.Keys(s.Slots)) {
			out = append(out, s.Slots[name])
		}
		return nil
	})
	return out, err
}

// SetParameters reports changed only when Parameters actually changes, like
// the real client; restart-only settings are added to PendingRestart, and
// the settings in Rejects come back in a *postgres.RejectedError.
func (f *Fake) SetParameters(ctx context.Context, ep postgres.Endpoint, set map[string]string, reset []string) (bool, error) {
	args := append(slices.Sorted(maps.Keys(set)), reset...)
	changed := false
	err := f.do(ctx, "SetParameters", ep, args, func(s *Server) error {
		var rejected []postgres.Rejection
		for _, name := range slices.Sorted(maps.Keys(set)) {
			v := set[name]
			if msg, ok := s.rejects(name, v); ok {
				rejected = append(rejected, postgres.Rejection{Name: name, Value: v, SQLState: "22023", Message: msg})
				continue
			}
			if old, ok := s.Parameters[name]; !ok || old != v {
				s.Parameters[name] = v
				changed = true
				s.markPendingRestart(name)
			}
		}
		for _, name := range reset {
			if _, ok := s.Parameters[name]; ok {
				delete(s.Parameters, name)
				changed = true
				s.markPendingRestart(name)
			}
		}
		if len(rejected) > 0 {
			return &postgres.RejectedError{Rejected: rejected}
		}
		return nil
	})
	return changed, err
}

func (s *Server) rejects(name, value string) (string, bool) {
	if msg, ok := s.Rejects[name+"="+value]; ok {
		return msg, true
	}
	msg, ok := s.Rejects[name]
	return msg, ok
}

func (s *Server) markPendingRestart(name string) {
	if restartParams[name] && !slices.Contains(s.Status.PendingRestart, name) {
		s.Status.PendingRestart = append(s.Status.PendingRestart, name)
		slices.Sort(s.Status.PendingRestart)
	}
}

// AutoConf returns a copy of Parameters.
func (f *Fake) AutoConf(ctx context.Context, ep postgres.Endpoint) (map[string]string, error) {
	var out map[string]string
	err := f.do(ctx, "AutoConf", ep, nil, func(s *Server) error {
		out = cloneMap(s.Parameters)
		return nil
	})
	return out, err
}

func (f *Fake) Reload(ctx context.Context, ep postgres.Endpoint) error {
	return f.do(ctx, "Reload", ep, nil, func(*Server) error { return nil })
}

func (f *Fake) PendingRestart(ctx context.Context, ep postgres.Endpoint) ([]string, error) {
	var out []string
	err := f.do(ctx, "PendingRestart", ep, nil, func(s *Server) error {
		out = slices.Clone(s.Status.PendingRestart)
		return nil
	})
	return out, err
}

func (f *Fake) SetSynchronousStandbyNames(ctx context.Context, ep postgres.Endpoint, value string) error {
	return f.do(ctx, "SetSynchronousStandbyNames", ep, []string{value}, func(s *Server) error {
		s.Parameters["synchronous_standby_names"] = value
		return nil
	})
}

// Promote mirrors the real client: a no-op on a primary; on a standby it
// fails with PromoteErr, or ends recovery on a new timeline at the WAL
// position the standby had reached.
func (f *Fake) Promote(ctx context.Context, ep postgres.Endpoint, wait time.Duration) error {
	return f.do(ctx, "Promote", ep, []string{wait.String()}, func(s *Server) error {
		switch {
		case !s.Status.InRecovery:
			return nil
		case s.PromoteErr != nil:
			return s.PromoteErr
		}
		st := &s.Status
		st.CurrentLSN = st.Position()
		st.InRecovery, st.ReceivedLSN, st.ReplayedLSN = false, 0, 0
		// The old timeline ends where the new one begins, in the history.
		st.History = append(slices.Clone(st.History), postgres.TimelinePoint{Timeline: st.Timeline, LSN: st.CurrentLSN})
		st.HistoryKnown = true
		st.Timeline++
		st.ReceiverStatus, st.UpstreamHost, st.UpstreamPort, st.UpstreamSlot = "", "", 0, ""
		st.ReceiverTimeline, st.ReceiverHeard, st.ReceiverMessageAge = 0, false, 0
		return nil
	})
}

func (f *Fake) Checkpoint(ctx context.Context, ep postgres.Endpoint) error {
	return f.do(ctx, "Checkpoint", ep, nil, func(*Server) error { return nil })
}

func (f *Fake) EnsureRole(ctx context.Context, ep postgres.Endpoint, role string, login, replication bool) error {
	return f.do(ctx, "EnsureRole", ep, []string{role}, func(s *Server) error {
		r := s.Roles[role]
		if r.Login == login && r.Replication == replication && s.hasRole(role) {
			return nil
		}
		if s.Status.InRecovery {
			return errReadOnly
		}
		r.Login, r.Replication = login, replication
		s.Roles[role] = r
		return nil
	})
}

func (f *Fake) SetPassword(ctx context.Context, ep postgres.Endpoint, role, password string) error {
	return f.do(ctx, "SetPassword", ep, []string{role}, func(s *Server) error {
		switch {
		case s.Status.InRecovery:
			return errReadOnly
		case !s.hasRole(role):
			return fmt.Errorf("pq: role %q does not exist (42704)", role)
		}
		r := s.Roles[role]
		r.Password = password
		s.Roles[role] = r
		return nil
	})
}

func (s *Server) hasRole(name string) bool {
	_, ok := s.Roles[name]
	return ok
}

// clone deep-copies s so that callers never share maps or slices with the
// Fake's own state, and makes the maps non-nil.
func clone(s Server) Server {
	s.Status.PendingRestart = slices.Clone(s.Status.PendingRestart)
	s.Status.History = slices.Clone(s.Status.History)
	s.Status.SlotWALStatus = maps.Clone(s.Status.SlotWALStatus) // nil stays nil: Probe derives it
	s.Replicas = slices.Clone(s.Replicas)
	s.Slots = cloneMap(s.Slots)
	s.Parameters = cloneMap(s.Parameters)
	s.Rejects = cloneMap(s.Rejects)
	s.Roles = cloneMap(s.Roles)
	s.Databases = cloneMap(s.Databases)
	s.Scripts = slices.Clone(s.Scripts)
	s.Errors = cloneMap(s.Errors)
	s.Stats.Connections = maps.Clone(s.Stats.Connections)
	s.Stats.SlotRetainedWAL = maps.Clone(s.Stats.SlotRetainedWAL)
	s.Custom = cloneMap(s.Custom)
	return s
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return maps.Clone(m)
}
