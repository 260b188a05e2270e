package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The API server's request metrics carry verb and resource but not the
// user, and the cluster is shared, so a before/after difference of
// apiserver_request_total would count everyone's writes. API Priority and
// Fairness classifies every request by user, verb, resource and namespace
// before it runs, and counts each FlowSchema's dispatched requests in
// apiserver_flowcontrol_dispatched_requests_total. So the benchmark adds
// FlowSchemas that match exactly the operator's ServiceAccount and
// (a) write verbs in the benchmark's namespace, (b) read verbs there, (c)
// its leader-election Lease. They send those requests to the priority
// level the operator's requests go to anyway (workload-low, from the
// built-in service-accounts FlowSchema; leader-election for the Lease, from
// the install's own FlowSchema, which the Lease counter precedes), so the
// operator is not treated differently. Unlike watching objects, this
// counts writes that change nothing (no-op patches, conflicts, refused
// requests) too.

const (
	apfPriorityLevel = "workload-low"
	apfPrecedence    = 1000 // after the system schemas, before service-accounts (9000)
	// The Lease counter comes before the install's FlowSchema for the
	// operator's Lease (manifests/rbac/lease_flow_schema.yaml, 300) and
	// sends the requests where it does.
	apfLeaseLevel      = "leader-election"
	apfLeasePrecedence = 250
	apfMetric          = "apiserver_flowcontrol_dispatched_requests_total{"
)

// apfCounter is one FlowSchema the benchmark owns.
type apfCounter struct{ name string }

// operatorAccount is the operator's ServiceAccount, from its Deployment.
func (e *env) operatorAccount(ctx context.Context) (ns, name string, err error) {
	d, err := e.kube.AppsV1().Deployments(operatorNamespace).Get(ctx, "postgres-operator", metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("reading the operator's Deployment: %w", err)
	}
	name = d.Spec.Template.Spec.ServiceAccountName
	if name == "" {
		name = "default"
	}
	return operatorNamespace, name, nil
}

// newAPFCounter creates a FlowSchema for the operator's requests with the
// given verbs, resources and namespace.
func (e *env) newAPFCounter(ctx context.Context, name string, verbs, groups, resources []string, namespace string) (*apfCounter, error) {
	return e.newAPFCounterAt(ctx, name, apfPriorityLevel, apfPrecedence, verbs, groups, resources, namespace)
}

// newAPFCounterAt is newAPFCounter with the priority level and precedence.
func (e *env) newAPFCounterAt(ctx context.Context, name, level string, precedence int32, verbs, groups, resources []string, namespace string) (*apfCounter, error) {
	saNS, saName, err := e.operatorAccount(ctx)
	if err != nil {
		return nil, err
	}
	fs := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"postgres-operator.dev/bench": "true"}},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: level},
			MatchingPrecedence:         precedence,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{
					Kind:           flowcontrolv1.SubjectKindServiceAccount,
					ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: saNS, Name: saName},
				}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: verbs, APIGroups: groups, Resources: resources, Namespaces: []string{namespace},
				}},
			}},
		},
	}
	api := e.kube.FlowcontrolV1().FlowSchemas()
	if err := api.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if _, err := api.Create(ctx, fs, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating FlowSchema %s: %w", name, err)
	}
	return &apfCounter{name: name}, nil
}

func (c *apfCounter) delete(e *env) {
	_ = e.kube.FlowcontrolV1().FlowSchemas().Delete(context.Background(), c.name, metav1.DeleteOptions{})
}

// apfCounts reads every FlowSchema's dispatched requests from /metrics.
func (e *env) apfCounts(ctx context.Context) (map[string]float64, error) {
	raw, err := e.kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(l, apfMetric) {
			continue
		}
		i := strings.Index(l, `flow_schema="`)
		j := strings.LastIndexByte(l, ' ')
		if i < 0 || j < 0 {
			continue
		}
		name := l[i+len(`flow_schema="`):]
		name = name[:strings.IndexByte(name, '"')]
		v, err := strconv.ParseFloat(l[j+1:], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out, nil
}

// apfSet is the three counters of one measurement.
type apfSet struct {
	writes, reads, lease *apfCounter
}

func (e *env) newAPFSet(ctx context.Context, ns string) (*apfSet, error) {
	writes, err := e.newAPFCounter(ctx, "bench-pgo-writes-"+ns, []string{"create", "update", "patch", "delete", "deletecollection"},
		[]string{"*"}, []string{"*"}, ns)
	if err != nil {
		return nil, err
	}
	reads, err := e.newAPFCounter(ctx, "bench-pgo-reads-"+ns, []string{"get", "list", "watch"}, []string{"*"}, []string{"*"}, ns)
	if err != nil {
		writes.delete(e)
		return nil, err
	}
	lease, err := e.newAPFCounterAt(ctx, "bench-pgo-lease-"+ns, apfLeaseLevel, apfLeasePrecedence, []string{"*"}, []string{"coordination.k8s.io"}, []string{"leases"}, operatorNamespace)
	if err != nil {
		writes.delete(e)
		reads.delete(e)
		return nil, err
	}
	return &apfSet{writes: writes, reads: reads, lease: lease}, nil
}

func (s *apfSet) delete(e *env) {
	s.writes.delete(e)
	s.reads.delete(e)
	s.lease.delete(e)
}

// apfSample is the three counters at one instant.
type apfSample struct{ writes, reads, lease float64 }

func (e *env) sampleAPF(ctx context.Context, s *apfSet) (apfSample, error) {
	c, err := e.apfCounts(ctx)
	if err != nil {
		return apfSample{}, err
	}
	return apfSample{writes: c[s.writes.name], reads: c[s.reads.name], lease: c[s.lease.name]}, nil
}

func (a apfSample) minus(b apfSample) apfSample {
	return apfSample{writes: a.writes - b.writes, reads: a.reads - b.reads, lease: a.lease - b.lease}
}
