package main

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The controllers run side by side: one that fails stops the other, and
// the failure is what operate returns.
func TestRunAllStopsTheOthersOnTheFirstReturn(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := runAll(context.Background(),
		func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil },
		func(context.Context) error { return boom },
	)
	assert.ErrorIs(t, err, boom)
	<-stopped
}

func TestRunAllReturnsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := func(ctx context.Context) error { <-ctx.Done(); return nil }
	assert.NoError(t, runAll(ctx, wait, wait))
}
