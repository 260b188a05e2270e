package pgsim

import (
	"maps"
	"slices"
)

// catalog is a member's roles, memberships and databases: the part of its
// state that transactions change. A transaction works on a copy and
// COMMIT puts the copy in place (see session.go); the catalog is small, so
// copying beats undo logs in simplicity.
type catalog struct {
	roles     map[string]*role
	grants    []grant
	databases map[string]*database
}

type role struct {
	name                                     string
	superuser, login, replication, bypassRLS bool
	createDB, createRole, inherit            bool
	connLimit                                int64
	verifier                                 *string // pg_authid.rolpassword; nil is NULL
}

// grant is one row of pg_auth_members: member is in group, granted by
// grantor.
type grant struct {
	group, member, grantor string
}

type database struct {
	name, owner string
	allowConn   bool
	extensions  []string
}

// initdbCatalog is what initdb leaves: the bootstrap superuser and the
// three databases.
func initdbCatalog() *catalog {
	return &catalog{
		roles: map[string]*role{"postgres": {name: "postgres", superuser: true, login: true, replication: true,
			bypassRLS: true, createDB: true, createRole: true, inherit: true, connLimit: -1}},
		databases: map[string]*database{
			"postgres":  {name: "postgres", owner: "postgres", allowConn: true, extensions: []string{"plpgsql"}},
			"template1": {name: "template1", owner: "postgres", allowConn: true, extensions: []string{"plpgsql"}},
			"template0": {name: "template0", owner: "postgres", extensions: []string{"plpgsql"}},
		},
	}
}

func (c *catalog) clone() *catalog {
	out := &catalog{roles: make(map[string]*role, len(c.roles)), grants: slices.Clone(c.grants),
		databases: make(map[string]*database, len(c.databases))}
	for k, r := range c.roles {
		cp := *r
		out.roles[k] = &cp
	}
	for k, d := range c.databases {
		cp := *d
		cp.extensions = slices.Clone(d.extensions)
		out.databases[k] = &cp
	}
	return out
}

// groupsOf lists the grants that make member a member of a group.
func (c *catalog) groupsOf(member string) []grant {
	var out []grant
	for _, g := range c.grants {
		if g.member == member {
			out = append(out, g)
		}
	}
	return out
}

// ownedDatabases counts the databases the role owns.
func (c *catalog) ownedDatabases(name string) int {
	n := 0
	for _, d := range c.databases {
		if d.owner == name {
			n++
		}
	}
	return n
}

// dropRole removes the role and every membership it is part of.
func (c *catalog) dropRole(name string) {
	delete(c.roles, name)
	c.grants = slices.DeleteFunc(c.grants, func(g grant) bool { return g.member == name || g.group == name })
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
