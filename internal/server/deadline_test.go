package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

// TestLazyDeadline checks that the maxTimeMS context behaves like
// context.WithDeadline: Err, Done, Deadline and Value, with the deadline
// passed, pending, or overtaken by the parent's cancellation.
func TestLazyDeadline(t *testing.T) {
	wait := func(t *testing.T, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("Done never closed")
		}
	}
	t.Run("passed", func(t *testing.T) {
		ctx, cancel := withLazyDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		defer cancel()
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err before Done = %v", err)
		}
		wait(t, ctx.Done())
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err after Done = %v", err)
		}
	})
	t.Run("pending", func(t *testing.T) {
		d := time.Now().Add(time.Hour)
		parent := context.WithValue(context.Background(), ctxKey{}, "v")
		ctx, cancel := withLazyDeadline(parent, d)
		if err := ctx.Err(); err != nil {
			t.Fatalf("Err = %v", err)
		}
		if got, ok := ctx.Deadline(); !ok || !got.Equal(d) {
			t.Fatalf("Deadline = %v %v", got, ok)
		}
		if ctx.Value(ctxKey{}) != "v" {
			t.Fatal("Value not passed through")
		}
		done := ctx.Done()
		select {
		case <-done:
			t.Fatal("Done closed an hour early")
		default:
		}
		cancel()
		wait(t, done)
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after release = %v", err)
		}
	})
	t.Run("short", func(t *testing.T) {
		ctx, cancel := withLazyDeadline(context.Background(), time.Now().Add(5*time.Millisecond))
		defer cancel()
		wait(t, ctx.Done())
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err = %v", err)
		}
	})
	t.Run("parent cancelled", func(t *testing.T) {
		parent, pcancel := context.WithCancel(context.Background())
		ctx, cancel := withLazyDeadline(parent, time.Now().Add(time.Hour))
		defer cancel()
		pcancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err before Done = %v", err)
		}
		wait(t, ctx.Done())
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		pd := time.Now().Add(time.Minute)
		parent, pcancel := context.WithDeadline(context.Background(), pd)
		defer pcancel()
		ctx, cancel := withLazyDeadline(parent, time.Now().Add(time.Hour))
		defer cancel()
		if got, _ := ctx.Deadline(); !got.Equal(pd) {
			t.Fatalf("Deadline = %v, want the parent's %v", got, pd)
		}
	})
}
