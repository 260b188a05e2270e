package main

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMeanAndHalfWidth(t *testing.T) {
	m, h := meanAndHalfWidth([]float64{1, 2, 3, 4})
	assert.InDelta(t, 2.5, m, 1e-9)
	// sd = 1.291, t(3) = 3.182: 3.182 * 1.291 / 2
	assert.InDelta(t, 2.054, h, 0.001)
	_, h = meanAndHalfWidth([]float64{1})
	assert.True(t, math.IsInf(h, 1), "one round says nothing about the noise")
	assert.InDelta(t, 2.0, tQuantile975(60), 0.01)
}

func TestMetricsTwinsTable(t *testing.T) {
	w := func(cpu float64) costWindow { return costWindow{cpuSeconds: cpu * 3, window: 300 * time.Second} }
	r := &metricsTwins{n: 10, rounds: []twinRound{
		{onIs: "postgres-operator", on: w(1.05), off: w(1.00)},
		{onIs: "postgres-operator-shard-b", on: w(1.03), off: w(1.00)},
	}}
	out := metricsTwinsTable(r).String()
	assert.Contains(t, out, "mean gap +0.040 points")
	assert.Contains(t, out, "+4.0 % of the operator's CPU without metrics (1.000 %)")
	assert.Contains(t, out, "postgres-operator-shard-b")
}
