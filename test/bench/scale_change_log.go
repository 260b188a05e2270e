package main

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The operator logs every action the moment it is done ("Action applied",
// apply.go), with microseconds; its Event takes another write through the
// API server, which a hundred changes at once keep busy. The log is the
// action's own time: the bench reads the leader's log (the pod runs on this
// machine, on the same clock) for each cluster's first ApplyParameters.

var actionLine = regexp.MustCompile(`^I(\d{4}) (\d\d:\d\d:\d\d\.\d{6})\s.*"Action applied" cluster="([^"]+)" action="ApplyParameters"`)

// actionLogTimes returns, per "namespace/name", the first ApplyParameters
// the leading operator logged at or after since.
func (e *env) actionLogTimes(ctx context.Context, since time.Time) (map[string]time.Time, error) {
	leader := e.leaseHolder(ctx)
	if leader == "" {
		return nil, fmt.Errorf("no operator holds the Lease")
	}
	from := metav1.NewTime(since.Add(-time.Second)) // the API's resolution is the second
	stream, err := e.kube.CoreV1().Pods(operatorNamespace).GetLogs(leader, &corev1.PodLogOptions{SinceTime: &from}).Stream(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.Close() }()
	out := map[string]time.Time{}
	sc := bufio.NewScanner(stream)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		at, cluster, ok := parseActionLine(sc.Text(), since)
		if ok && !at.Before(since) {
			if _, seen := out[cluster]; !seen {
				out[cluster] = at
			}
		}
	}
	return out, sc.Err()
}

// parseActionLine reads a klog header's month, day and time (UTC, the
// operator image's zone) in the year of ref.
func parseActionLine(line string, ref time.Time) (time.Time, string, bool) {
	m := actionLine.FindStringSubmatch(line)
	if m == nil {
		return time.Time{}, "", false
	}
	at, err := time.ParseInLocation("2006 0102 15:04:05.000000", fmt.Sprintf("%d %s %s", ref.UTC().Year(), m[1], m[2]), time.UTC)
	if err != nil {
		return time.Time{}, "", false
	}
	return at, m[3], true
}
