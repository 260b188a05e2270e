package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// A cluster's pods come from the index by namespace and cluster label:
// a namesake in another namespace, another cluster's pods and an
// unlabelled pod are not its own.
func TestClusterIndexListsOnlyTheClustersOwnObjects(t *testing.T) {
	pod := func(ns, name, cluster string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if cluster != "" {
			p.Labels = map[string]string{ClusterLabel: cluster}
		}
		return p
	}
	kube := kubefake.NewClientset(pod("a", "db-1", "db"), pod("a", "db-2", "db"), pod("b", "db-1", "db"),
		pod("a", "other-1", "other"), pod("a", "loose", ""),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db-tls", Labels: map[string]string{ClusterLabel: "db"}}})
	kf := kubeinformers.NewSharedInformerFactory(kube, 0)
	x, err := NewClusterIndex(kf.Core().V1().Pods().Informer(), kf.Core().V1().PersistentVolumeClaims().Informer(),
		kf.Core().V1().Secrets().Informer(), kf.Core().V1().Services().Informer(), kf.Policy().V1().PodDisruptionBudgets().Informer())
	require.NoError(t, err)
	stop := make(chan struct{})
	defer close(stop)
	kf.Start(stop)
	kf.WaitForCacheSync(stop)

	pods, err := x.podsOf("a", "db")
	require.NoError(t, err)
	var names []string
	for _, p := range pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	assert.ElementsMatch(t, []string{"a/db-1", "a/db-2"}, names)

	children, err := x.childrenOf("a", "db")
	require.NoError(t, err)
	assert.Len(t, children, 3, "two pods and the Secret")

	_, err = ClusterIndex{}.podsOf("a", "db")
	assert.Error(t, err, "an index never built is an error, not an empty cluster")
}
