package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"
)

// barePodScript is all a bare PostgreSQL pod does: initdb with the
// member's flags, then postgres in the foreground.
const barePodScript = `initdb -D "$PGDATA/pgdata" -U postgres --auth=trust --data-checksums --encoding=UTF8 --no-locale >/dev/null &&
exec postgres -D "$PGDATA/pgdata" -c listen_addresses='*'`

// barePod is a plain Pod running the PostgreSQL image with a pg_isready
// readiness probe every second (the shortest period Kubernetes allows).
// With a volume claim it also pays for provisioning, as members do.
func barePod(ns, name, image string, withPVC bool) *corev1.Pod {
	data := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	if withPVC {
		data = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsUser: ptr.To[int64](999), RunAsGroup: ptr.To[int64](999), FSGroup: ptr.To[int64](999),
				FSGroupChangePolicy: ptr.To(corev1.FSGroupChangeOnRootMismatch),
			},
			Containers: []corev1.Container{{
				Name: "postgres", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/bin/sh", "-c", barePodScript},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"pg_isready", "-q", "-h", "/var/run/postgresql"}}},
					PeriodSeconds: 1, TimeoutSeconds: 1,
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: data}},
		},
	}
}

func barePVC(ns, name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

// timeBarePod creates a bare pod (and its claim) and times it to Ready.
func (e *env) timeBarePod(ctx context.Context, ns, name string, withPVC bool) (time.Duration, error) {
	pods := e.kube.CoreV1().Pods(ns)
	defer func() {
		_ = pods.Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
		_ = e.kube.CoreV1().PersistentVolumeClaims(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	}()
	start := time.Now()
	if withPVC {
		if _, err := e.kube.CoreV1().PersistentVolumeClaims(ns).Create(ctx, barePVC(ns, name), metav1.CreateOptions{}); err != nil {
			return 0, err
		}
	}
	if _, err := pods.Create(ctx, barePod(ns, name, e.opts.image, withPVC), metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	at, err := e.waitPod(ctx, ns, name, e.opts.timeout, podReady)
	if err != nil {
		return 0, err
	}
	return at.Sub(start), nil
}

// waitPod watches one pod until cond holds; it returns when the event
// that satisfied it arrived.
func (e *env) waitPod(ctx context.Context, ns, name string, timeout time.Duration, cond func(*corev1.Pod) bool) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := e.kube.CoreV1().Pods(ns)
	sel := "metadata.name=" + name
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return api.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return api.Watch(ctx, o)
		},
	}
	var at time.Time
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		p, ok := ev.Object.(*corev1.Pod)
		if ok && ev.Type != watch.Deleted && cond(p) {
			at = time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return at, fmt.Errorf("waiting for pod %s/%s: %w", ns, name, err)
	}
	return at, nil
}

// floors are the medians of the host and bare-pod measurements.
type floors struct {
	host                []hostFloor
	barePod, barePodPVC durations
}

func (e *env) runFloors(ctx context.Context) (*floors, error) {
	f := &floors{}
	for i := 1; i <= e.opts.lifecycleRuns; i++ {
		h, err := measureHostFloor(ctx, e.opts.pgBin)
		if err != nil {
			return f, fmt.Errorf("host floor: %w", err)
		}
		f.host = append(f.host, h)
		logf("host floor run %d: initdb %s, start %s, pg_basebackup %s, standby to streaming %s, fast stop %s, pg_promote %s",
			i, secs(h.initdb), secs(h.start), secs(h.basebackup), secs(h.standbyStart), secs(h.stop), secs(h.promote))
	}
	ns, err := e.namespace(ctx, "floor")
	if err != nil {
		return f, err
	}
	for i := 1; i <= e.opts.lifecycleRuns; i++ {
		for _, withPVC := range []bool{false, true} {
			d, err := e.timeBarePod(ctx, ns, fmt.Sprintf("bare-%d-%t", i, withPVC), withPVC)
			if err != nil {
				return f, fmt.Errorf("bare pod: %w", err)
			}
			if withPVC {
				f.barePodPVC = append(f.barePodPVC, d)
			} else {
				f.barePod = append(f.barePod, d)
			}
			logf("bare pod run %d (volume claim: %t): Ready after %s", i, withPVC, secs(d))
		}
	}
	return f, nil
}

// hostMedian returns the median of one host step.
func (f *floors) hostMedian(step func(hostFloor) time.Duration) time.Duration {
	var d durations
	for _, h := range f.host {
		d = append(d, step(h))
	}
	return d.median()
}
