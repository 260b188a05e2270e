package pgsim

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// What pkg/cluster names the CA Secret and its keys, and labels its
// Secrets with (tls.go CASecretName, caCertKey, caKeyKey; labels.go
// ClusterLabel). Copied rather than imported: pgsim stays buildable
// whatever state pkg/cluster is in, and the scale bench fails loudly
// (TLS handshakes) if they ever disagree.
const (
	caSecretSuffix = "-ca"
	caCertKey      = "ca.crt"
	caKeyKey       = "ca.key"
	clusterLabel   = "postgres-operator.dev/cluster"
)

// KubeCASource reads each cluster's CA from Secret <cluster>-ca, the
// operator's (a user's CA named in spec.tls.ca is not supported). It
// watches the operator's Secrets (those labelled with the cluster label)
// and keeps only the CAs' data in memory: thousands of clusters hold
// several Secrets each, and only one of them matters here.
type KubeCASource struct {
	kube   kubernetes.Interface
	lister corelisters.SecretLister
}

// NewKubeCASource starts the watch and waits for its first list.
func NewKubeCASource(ctx context.Context, kube kubernetes.Interface) (*KubeCASource, error) {
	f := informers.NewSharedInformerFactoryWithOptions(kube, 0,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = clusterLabel }),
		informers.WithTransform(keepCAsOnly))
	lister := f.Core().V1().Secrets().Lister()
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("pgsim: the %v informer did not sync", typ)
		}
	}
	return &KubeCASource{kube: kube, lister: lister}, nil
}

// keepCAsOnly drops what the cache does not need: every Secret's managed
// fields, and the data of those that are not a CA.
func keepCAsOnly(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	s.ManagedFields = nil
	if !strings.HasSuffix(s.Name, caSecretSuffix) {
		s.Data = nil
	}
	return s, nil
}

// CA returns the cluster's CA. A Secret not yet in the cache (the watch
// lags its creation by a moment) is read from the API.
func (k *KubeCASource) CA(ctx context.Context, namespace, name string) (pki.Pair, error) {
	secretName := name + caSecretSuffix
	s, err := k.lister.Secrets(namespace).Get(secretName)
	if apierrors.IsNotFound(err) {
		s, err = k.kube.CoreV1().Secrets(namespace).Get(ctx, secretName, metav1.GetOptions{})
	}
	if err != nil {
		return pki.Pair{}, err
	}
	p := pki.Pair{Cert: s.Data[caCertKey], Key: s.Data[caKeyKey]}
	if len(p.Cert) == 0 || len(p.Key) == 0 {
		return pki.Pair{}, fmt.Errorf("secret %s/%s has no %s and %s", namespace, secretName, caCertKey, caKeyKey)
	}
	return p, nil
}
