package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TLSSpec chooses where the cluster's certificates come from. TLS itself
// is always on: members accept TCP connections over TLS only.
type TLSSpec struct {
	// CA names a Secret with the keys ca.crt and ca.key: the CA the operator
	// issues the cluster's certificates with. Empty: the operator makes one
	// for the cluster (Secret <cluster>-ca).
	// +optional
	CA *SecretName `json:"ca,omitempty"`

	// ServerCertificate names a kubernetes.io/tls Secret (tls.crt, tls.key,
	// and ca.crt unless spec.tls.ca is set), for example one cert-manager
	// keeps renewed. It must be valid for the -rw and -ro Services' names
	// (<cluster>-rw.<namespace>.svc ...). Changes reach the members without
	// a restart. Empty: the operator issues and renews one.
	// +optional
	ServerCertificate *SecretName `json:"serverCertificate,omitempty"`

	// CertificateLifetime is how long the certificates the operator issues
	// are valid; each is renewed when a third of it is left (PostgreSQL
	// reloads it without a restart). Default 2160h (90 days).
	// +optional
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m')",message="certificateLifetime must be at least 1m: the kubelet needs up to a minute to hand a renewed certificate to the members"
	CertificateLifetime *metav1.Duration `json:"certificateLifetime,omitempty"`
}

// TLSStatus reports the certificates in use.
type TLSStatus struct {
	// ServerCertificateExpiry is when the members' server certificate
	// expires (the operator renews its own well before).
	// +optional
	ServerCertificateExpiry *metav1.Time `json:"serverCertificateExpiry,omitempty"`
	// CAExpiry is when the cluster's CA expires. The operator does not
	// renew a CA: replace spec.tls.ca, or the Secret <cluster>-ca, before.
	// +optional
	CAExpiry *metav1.Time `json:"caExpiry,omitempty"`
}
