package cluster

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// tlsDir is where a member finds its certificates (member.sh reads these
// paths): server.crt/server.key to serve, client.crt/client.key (the
// superuser's) for pg_rewind and psql, ca.crt to verify a server with and
// client-ca.crt to verify client certificates with.
const (
	tlsDir       = "/etc/postgres-tls"
	tlsVolume    = "tls"
	tlsFilesMode = 0o440 // root-owned, group postgres (fsGroup): PostgreSQL and libpq accept keys so
)

// tlsPodVolume projects the server and client certificate Secrets into one
// directory. The kubelet refreshes it when a Secret changes, and member.sh
// then reloads PostgreSQL: a renewal never restarts a member.
func tlsPodVolume(pgc *v1alpha1.PostgresCluster) corev1.Volume {
	secret := func(name string, items ...corev1.KeyToPath) corev1.VolumeProjection {
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items}}
	}
	return corev1.Volume{Name: tlsVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](tlsFilesMode),
		Sources: []corev1.VolumeProjection{
			secret(serverSecretName(pgc),
				corev1.KeyToPath{Key: tlsCertKey, Path: "server.crt"},
				corev1.KeyToPath{Key: tlsKeyKey, Path: "server.key"}),
			secret(ClientTLSSecretName(pgc.Name),
				corev1.KeyToPath{Key: tlsCertKey, Path: "client.crt"},
				corev1.KeyToPath{Key: tlsKeyKey, Path: "client.key"},
				corev1.KeyToPath{Key: caCertKey, Path: "ca.crt"},
				corev1.KeyToPath{Key: clientCACertKey, Path: "client-ca.crt"}),
		},
	}}}
}

func tlsPodMount() corev1.VolumeMount {
	return corev1.VolumeMount{Name: tlsVolume, MountPath: tlsDir, ReadOnly: true}
}

// tlsEnv tells member.sh whether the superuser may log in over TCP with
// its password alone.
func tlsEnv(pgc *v1alpha1.PostgresCluster) []corev1.EnvVar {
	return []corev1.EnvVar{{Name: "SUPERUSER_ACCESS", Value: strconv.FormatBool(pgc.Spec.SuperuserAccess)}}
}

// podHasTLS: pods made before TLS existed serve plain text until they roll.
func podHasTLS(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == tlsVolume {
			return true
		}
	}
	return false
}
