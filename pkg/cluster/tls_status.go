package cluster

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Reasons of the CertificatesReady condition.
const (
	reasonCertificatesValid   = "CertificatesValid"
	reasonCAUnusable          = "CAUnusable"
	reasonServerCertUnusable  = "ServerCertificateUnusable"
	reasonCertificatesPending = "CertificatesPending"
)

// setTLSStatus fills status.tls and the CertificatesReady condition.
func setTLSStatus(st *v1alpha1.PostgresClusterStatus, pgc *v1alpha1.PostgresCluster, obs *observation) {
	t := obs.tls
	st.TLS = &v1alpha1.TLSStatus{ServerCertificateExpiry: timeOrNil(t.serverExpiry), CAExpiry: timeOrNil(t.caExpiry)}
	status, reason, msg := metav1.ConditionTrue, reasonCertificatesValid,
		fmt.Sprintf("members serve a certificate valid for %s, verified by the operator", memberServerName(pgc))
	switch {
	case t.caProblem != "":
		status, reason, msg = metav1.ConditionFalse, reasonCAUnusable, t.caProblem
	case t.serverProblem != "" && pgc.Spec.TLS.ServerCertificate != nil:
		status, reason, msg = metav1.ConditionFalse, reasonServerCertUnusable, t.serverProblem+
			": clients that verify the server (sslmode=verify-full) will refuse it; the operator connects without verifying until it is fixed"
	case t.serverProblem != "" || t.renewClient != "":
		status, reason, msg = metav1.ConditionFalse, reasonCertificatesPending, "issuing the cluster's certificates"
	}
	cond(st, pgc, v1alpha1.ConditionCertificatesReady)(status, reason, msg)
}

// announceCertificates sends a Warning Event when the certificates become
// unusable, once per reason.
func (c *Cluster) announceCertificates(pgc *v1alpha1.PostgresCluster, before, after []metav1.Condition) {
	now := meta.FindStatusCondition(after, v1alpha1.ConditionCertificatesReady)
	if now == nil || now.Status != metav1.ConditionFalse || now.Reason == reasonCertificatesPending {
		return
	}
	if was := meta.FindStatusCondition(before, v1alpha1.ConditionCertificatesReady); was != nil && was.Reason == now.Reason && was.Message == now.Message {
		return
	}
	c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, now.Reason, now.Message)
}
