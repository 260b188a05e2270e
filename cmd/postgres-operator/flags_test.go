package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagDefaultsAreSizedForManyClusters(t *testing.T) {
	o, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Empty(t, o.namespaces, "all namespaces by default")
	assert.Equal(t, 200.0, o.qps)
	assert.Equal(t, 400, o.burst)
	assert.True(t, o.leaderElect)
	assert.Equal(t, 15*time.Second, o.leaseDuration)
	assert.Equal(t, 10*time.Second, o.renewDeadline)
	assert.Equal(t, 2*time.Second, o.retryPeriod)
	assert.Equal(t, ":8080", o.metricsAddr)
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(*testing.T, *options)
	}{
		{name: "namespaces are a trimmed comma list", args: []string{"--namespaces", " a, b ,,c"},
			check: func(t *testing.T, o *options) { assert.Equal(t, []string{"a", "b", "c"}, o.namespaces) }},
		{name: "a faster takeover after a crash", args: []string{"--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s"},
			check: func(t *testing.T, o *options) { assert.Equal(t, 6*time.Second, o.leaseDuration) }},
		{name: "renew deadline must be shorter than the lease", args: []string{"--leader-elect-lease-duration=5s"},
			wantErr: "--leader-elect-renew-deadline (10s) < --leader-elect-lease-duration (5s)"},
		{name: "lease timings do not matter without leader election", args: []string{"--leader-elect=false", "--leader-elect-lease-duration=1s"},
			check: func(t *testing.T, o *options) { assert.False(t, o.leaderElect) }},
		{name: "at least one worker", args: []string{"--workers=0"}, wantErr: "--workers must be at least 1"},
		{name: "a reconcile interval of at least a second", args: []string{"--reconcile-interval=10ms"}, wantErr: "--reconcile-interval must be at least 1s"},
		{name: "metrics can be turned off", args: []string{"--metrics-addr="},
			check: func(t *testing.T, o *options) { assert.Empty(t, o.metricsAddr) }},
		{name: "metrics on another address", args: []string{"--metrics-addr=127.0.0.1:9090"},
			check: func(t *testing.T, o *options) { assert.Equal(t, "127.0.0.1:9090", o.metricsAddr) }},
		{name: "metrics and health cannot share an address", args: []string{"--metrics-addr=:8081"},
			wantErr: "--metrics-addr and --health-addr must differ"},
		{name: "profiles are off unless asked for", args: nil,
			check: func(t *testing.T, o *options) { assert.Empty(t, o.pprofAddr) }},
		{name: "profiles cannot share the metrics' address", args: []string{"--pprof-addr=:8080"},
			wantErr: "--pprof-addr must differ"},
		{name: "an image template", args: []string{"--postgres-image-template="}, wantErr: "--postgres-image-template must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}
