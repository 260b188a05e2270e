package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/lib/pq"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Database is a fake database.
type Database struct {
	Owner      string
	Extensions []string
	// Tables counts its user tables: DropDatabase without data refuses
	// while there are some.
	Tables int
}

// The fake's declared roles and databases behave as the real calls do
// where pkg/cluster depends on it: a grant of a missing role, an owner
// that does not exist, a role that owns a database and a database with
// tables fail as on a server. Errors["Method name"] makes the call fail
// for that one role, database or extension (Errors["Method"] for all).

// verifiers caches a real SCRAM verifier per plaintext, so ReadCatalog
// returns the same verifier each time, as a server does.
var verifiers sync.Map

func verifierOf(password string) string {
	if password == "" {
		return ""
	}
	if v, ok := verifiers.Load(password); ok {
		return v.(string)
	}
	v, err := postgres.SCRAMVerifier(password)
	if err != nil {
		return "" // not ASCII: the real SetPassword refuses it too
	}
	v2, _ := verifiers.LoadOrStore(password, v)
	return v2.(string)
}

func (f *Fake) ReadCatalog(ctx context.Context, ep postgres.Endpoint, roles, databases []string) (postgres.Catalog, error) {
	out := postgres.Catalog{Roles: map[string]postgres.RoleInfo{}, Databases: map[string]postgres.DatabaseInfo{}}
	err := f.do(ctx, "ReadCatalog", ep, nil, func(s *Server) error {
		for _, name := range roles {
			if r, ok := s.Roles[name]; ok {
				in := slices.Sorted(slices.Values(r.InRoles))
				out.Roles[name] = postgres.RoleInfo{
					ManagedRole: postgres.ManagedRole{Name: name, Login: r.Login, CreateDB: r.CreateDB, CreateRole: r.CreateRole,
						ConnectionLimit: r.ConnectionLimit, InRoles: in},
					Superuser: r.Superuser, Replication: r.Replication, Verifier: verifierOf(r.Password),
				}
			}
		}
		for _, name := range databases {
			if d, ok := s.Databases[name]; ok {
				out.Databases[name] = postgres.DatabaseInfo{Name: name, Owner: d.Owner}
			}
		}
		return nil
	})
	return out, err
}

// EnsureManagedRole sets a non-empty password, as the real call does.
func (f *Fake) EnsureManagedRole(ctx context.Context, ep postgres.Endpoint, r postgres.ManagedRole, password string) error {
	return f.do(ctx, "EnsureManagedRole", ep, []string{r.Name}, func(s *Server) error {
		if err := s.failing("EnsureManagedRole", r.Name); err != nil {
			return err
		}
		if s.Status.InRecovery {
			return errReadOnly
		}
		for _, g := range r.InRoles {
			if !s.hasRole(g) && !strings.HasPrefix(g, "pg_") {
				return fmt.Errorf("granting %s: %w", g, noSuchRole(g))
			}
		}
		have := s.Roles[r.Name]
		have.Login, have.CreateDB, have.CreateRole, have.ConnectionLimit = r.Login, r.CreateDB, r.CreateRole, r.ConnectionLimit
		have.Superuser, have.Replication = false, false
		have.InRoles = slices.Clone(r.InRoles)
		if password != "" {
			have.Password = password
		}
		s.Roles[r.Name] = have
		return nil
	})
}

func (f *Fake) DropManagedRole(ctx context.Context, ep postgres.Endpoint, role string) error {
	return f.do(ctx, "DropManagedRole", ep, []string{role}, func(s *Server) error {
		if err := s.failing("DropManagedRole", role); err != nil {
			return err
		}
		for name, d := range s.Databases {
			if d.Owner == role {
				return fmt.Errorf("role %q owns 1 objects (in database %s): it is kept", role, name)
			}
		}
		delete(s.Roles, role)
		for name, r := range s.Roles {
			if slices.Contains(r.InRoles, role) {
				r.InRoles = slices.DeleteFunc(slices.Clone(r.InRoles), func(g string) bool { return g == role })
				s.Roles[name] = r
			}
		}
		return nil
	})
}

func (f *Fake) EnsureDatabase(ctx context.Context, ep postgres.Endpoint, name, owner string) error {
	return f.do(ctx, "EnsureDatabase", ep, []string{name}, func(s *Server) error {
		if err := s.failing("EnsureDatabase", name); err != nil {
			return err
		}
		if owner != "postgres" && !s.hasRole(owner) {
			return noSuchRole(owner)
		}
		d := s.Databases[name]
		d.Owner = owner
		s.Databases[name] = d
		return nil
	})
}

func (f *Fake) EnsureExtensions(ctx context.Context, ep postgres.Endpoint, database string, extensions []string) error {
	return f.do(ctx, "EnsureExtensions", ep, append([]string{database}, extensions...), func(s *Server) error {
		d, ok := s.Databases[database]
		if !ok {
			return &pq.Error{Severity: "FATAL", Code: "3D000", Message: fmt.Sprintf("database %q does not exist", database)}
		}
		var failed []string
		for _, ext := range extensions {
			if err := s.failing("EnsureExtensions", ext); err != nil {
				failed = append(failed, fmt.Sprintf("extension %s: %v", ext, err))
			} else if !slices.Contains(d.Extensions, ext) {
				d.Extensions = append(slices.Clone(d.Extensions), ext)
			}
		}
		s.Databases[database] = d
		if len(failed) > 0 {
			return fmt.Errorf("%s", strings.Join(failed, "\n"))
		}
		return nil
	})
}

func (f *Fake) DropDatabase(ctx context.Context, ep postgres.Endpoint, name string, withData bool) error {
	return f.do(ctx, "DropDatabase", ep, []string{name}, func(s *Server) error {
		if err := s.failing("DropDatabase", name); err != nil {
			return err
		}
		if d, ok := s.Databases[name]; ok && d.Tables > 0 && !withData {
			return fmt.Errorf("database %q has %d tables: it is kept; set reclaim: delete to drop it with its data", name, d.Tables)
		}
		delete(s.Databases, name)
		return nil
	})
}

// RunScript records the script; Errors["RunScript"] makes it fail.
func (f *Fake) RunScript(ctx context.Context, ep postgres.Endpoint, database, script string) error {
	return f.do(ctx, "RunScript", ep, []string{database}, func(s *Server) error {
		if _, ok := s.Databases[database]; !ok {
			return &pq.Error{Severity: "FATAL", Code: "3D000", Message: fmt.Sprintf("database %q does not exist", database)}
		}
		s.Scripts = append(s.Scripts, script)
		return nil
	})
}

func (s *Server) failing(method, name string) error {
	return s.Errors[method+" "+name]
}

func noSuchRole(name string) error {
	return &pq.Error{Severity: "ERROR", Code: "42704", Message: fmt.Sprintf("role %q does not exist", name)}
}
