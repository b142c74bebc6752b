package reconcile

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestQueueNeverRunsAKeyTwiceAtOnceAndMissesNoAdd(t *testing.T) {
	q := newQueue()
	var running, maxRunning, runs int32
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, ok := q.get()
				if !ok {
					return
				}
				n := atomic.AddInt32(&running, 1)
				for {
					m := atomic.LoadInt32(&maxRunning)
					if n <= m || atomic.CompareAndSwapInt32(&maxRunning, m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				atomic.AddInt32(&runs, 1)
				atomic.AddInt32(&running, -1)
				q.done(k)
			}
		}()
	}
	for i := 0; i < 50; i++ {
		q.add("a")
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	q.close()
	wg.Wait()
	if maxRunning != 1 {
		t.Fatalf("key ran %d times in parallel", maxRunning)
	}
	if runs < 2 {
		t.Fatalf("adds during processing were lost: %d runs", runs)
	}
}
