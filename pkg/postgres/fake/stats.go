package fake

import (
	"context"
	"maps"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Stats returns the server's Stats, its role as Status says.
func (f *Fake) Stats(ctx context.Context, ep postgres.Endpoint, _ int) (postgres.MemberStats, error) {
	var out postgres.MemberStats
	err := f.do(ctx, "Stats", ep, nil, func(s *Server) error {
		out = s.Stats
		out.InRecovery, out.ServerVersion = s.Status.InRecovery, s.Status.ServerVersion
		out.Connections = maps.Clone(out.Connections)
		out.SlotRetainedWAL = maps.Clone(out.SlotRetainedWAL)
		return nil
	})
	return out, err
}

// CustomQueries answers each query with the server's Custom rows of its
// name. Errors["CustomQueries"] fails the whole call (every query), and
// Errors["CustomQueries/<name>"] one query.
func (f *Fake) CustomQueries(ctx context.Context, ep postgres.Endpoint, qs []postgres.CustomQuery) []postgres.CustomResult {
	out := make([]postgres.CustomResult, len(qs))
	var names []string
	for i, q := range qs {
		out[i].Query = q
		names = append(names, q.Name)
	}
	err := f.do(ctx, "CustomQueries", ep, names, func(s *Server) error {
		for i, q := range qs {
			if out[i].Err = s.Errors["CustomQueries/"+q.Name]; out[i].Err == nil {
				out[i].Rows = cloneRows(s.Custom[q.Name])
			}
		}
		return nil
	})
	for i := range out {
		if err != nil {
			out[i].Err = err
		}
	}
	return out
}

func cloneRows(rows []postgres.CustomRow) []postgres.CustomRow {
	var out []postgres.CustomRow
	for _, r := range rows {
		out = append(out, postgres.CustomRow{Labels: append([]string{}, r.Labels...), Values: append([]float64{}, r.Values...)})
	}
	return out
}
