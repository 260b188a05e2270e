package cluster

// actIssueCertificates creates the CA, or issues (renews) the server and
// client certificates; one action does all that is due, in that order.
const actIssueCertificates actionKind = "IssueCertificates"

// planCertificates keeps the certificates present and fresh. It runs right
// after the passwords: member pods mount both and cannot start without
// them. A CA that cannot issue blocks nothing here: the status reports it
// (CertificatesReady) and the members keep what they serve.
func planCertificates(in planInput) (action, bool) {
	t := in.obs.tls
	var reason string
	switch {
	case t.caProblem != "":
		return action{}, false
	case t.caMissing:
		reason = "creating the cluster's CA (Secret " + CASecretName(in.cluster.Name) + ") and its certificates"
	case t.renewServer != "":
		reason = t.renewServer
	case t.renewClient != "":
		reason = t.renewClient
	default:
		return action{}, false
	}
	return action{kind: actIssueCertificates, phase: keptPhase(in.cluster), reason: reason}, true
}
