package backup

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// LogReader returns the end of a container's log.
type LogReader func(ctx context.Context, namespace, pod, container string) (string, error)

const (
	// logTailLines is generous for two report lines: the kubelet counts the
	// 16 KiB pieces the runtime cuts a long line into, and the engine's
	// info grows with the number of backups.
	logTailLines = 200
	// logLimitBytes bounds what one read may bring back.
	logLimitBytes = 4 << 20
)

// APILogReader reads logs with the pods/log API.
func APILogReader(kube kubernetes.Interface) LogReader {
	return func(ctx context.Context, namespace, pod, container string) (string, error) {
		raw, err := kube.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{
			Container:  container,
			TailLines:  ptr.To[int64](logTailLines),
			LimitBytes: ptr.To[int64](logLimitBytes),
		}).DoRaw(ctx)
		return string(raw), err
	}
}
